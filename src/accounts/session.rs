//! Login sessions: the cookie token, its stored hash and the expiry rules.
//!
//! The browser keeps a random 32-byte token in the `citycore_session` cookie; the
//! database stores only its SHA-256, so a copy of the table cannot be replayed. A session
//! ends after `auth.session_idle_minutes` without requests or `auth.session_max_hours`
//! after login, whichever comes first.

use axum::http::{HeaderMap, HeaderValue, header};
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::{AccountError, CurrentUser, SessionStore, session_store::SessionRecord};
use crate::{config::AuthSettings, db::Db};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "citycore_session";
/// How stale `last_seen_at` may get before a request rewrites it. Touching at most once
/// a minute keeps reads from turning into writes while the idle timeout, counted in
/// minutes, loses at most one minute of precision.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

/// Generates a random token: 32 bytes as 64 hex digits.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// Hashes a session token into its stored form, SHA-256 as hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks whether `text` has the form of a [`new_token`] token; callers ignore anything else.
pub fn is_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads the session token sent by the browser, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    let jar = CookieJar::from_headers(headers);
    jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()).filter(|token| is_token(token))
}

/// Stores a new session for `user_id` and returns the cookie token.
///
/// # Errors
/// Fails when the database does.
pub async fn start_session(
    db: &Db,
    auth: &AuthSettings,
    user_id: i64,
) -> Result<String, AccountError> {
    let token = new_token();
    let now = Utc::now();
    let record = SessionRecord {
        session_id: hash_token(&token),
        user_id,
        csrf_token: new_token(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + Duration::hours(auth.session_max_hours),
    };
    db.insert_session(&record).await?;
    Ok(token)
}

/// Checks whether a session is still usable at `now`.
pub fn session_is_live(session: &SessionRecord, auth: &AuthSettings, now: DateTime<Utc>) -> bool {
    let idle_deadline = session.last_seen_at + Duration::minutes(auth.session_idle_minutes);
    now < session.expires_at && now < idle_deadline
}

/// Loads the user of a session token, or `None` when the session is unknown, expired,
/// or belongs to an inactive account. Expired sessions are deleted on the way.
///
/// # Errors
/// Fails when the database does.
pub async fn load_user(
    db: &Db,
    auth: &AuthSettings,
    token: &str,
) -> Result<Option<CurrentUser>, AccountError> {
    let session_id = hash_token(token);
    let Some((session, user)) = db.session_with_user(&session_id).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    if !session_is_live(&session, auth, now) {
        tracing::debug!(user.id = session.user_id, "session expired");
        db.delete_session(&session_id).await?;
        return Ok(None);
    }
    if !user.active {
        tracing::debug!(user.id = user.user_id, "session of an inactive account");
        return Ok(None);
    }
    if now - session.last_seen_at >= Duration::seconds(TOUCH_INTERVAL_SECONDS) {
        db.touch_session(&session_id, now).await?;
    }
    Ok(Some(CurrentUser {
        user_id: user.user_id,
        username: user.username,
        display_name: user.display_name,
        role: user.role,
        area_ids: user.area_ids,
        department_code: user.department_code,
        locale: user.locale,
        csrf_token: session.csrf_token,
    }))
}

/// Ends the session of `token`.
///
/// # Errors
/// Fails when the database does.
pub async fn end_session(db: &Db, token: &str) -> Result<(), AccountError> {
    db.delete_session(&hash_token(token)).await
}

/// Values of the cookie `SameSite` attribute that citycore uses.
#[derive(Debug, Clone, Copy)]
pub enum SameSite {
    Lax,
    Strict,
}

/// Builds a `Set-Cookie` value. Every citycore cookie is HttpOnly with `Path=/`; `max_age`
/// `None` makes a browser-session cookie and `Some(0)` removes it.
///
/// Values are hex tokens or language tags, which need no quoting.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_seconds: Option<i64>,
    same_site: SameSite,
    secure: bool,
) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly");
    if let Some(seconds) = max_age_seconds {
        text.push_str(&format!("; Max-Age={seconds}"));
    }
    text.push_str(match same_site {
        SameSite::Lax => "; SameSite=Lax",
        SameSite::Strict => "; SameSite=Strict",
    });
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Appends a `Set-Cookie` header to a response's headers.
pub fn append_cookie(headers: &mut HeaderMap, cookie: HeaderValue) {
    headers.append(header::SET_COOKIE, cookie);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_seen(last_seen_minutes_ago: i64, expires_in_minutes: i64) -> SessionRecord {
        let now = Utc::now();
        SessionRecord {
            session_id: String::new(),
            user_id: 1,
            csrf_token: String::new(),
            created_at: now - Duration::hours(1),
            last_seen_at: now - Duration::minutes(last_seen_minutes_ago),
            expires_at: now + Duration::minutes(expires_in_minutes),
        }
    }

    #[test]
    fn session_expires_after_idle_timeout() {
        let auth = AuthSettings::default();
        let now = Utc::now();
        assert!(session_is_live(&session_seen(29, 60), &auth, now));
        assert!(!session_is_live(&session_seen(31, 60), &auth, now));
    }

    #[test]
    fn session_expires_at_absolute_lifetime() {
        let auth = AuthSettings::default();
        assert!(!session_is_live(&session_seen(0, -1), &auth, Utc::now()));
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        let token = new_token();
        assert!(is_token(&token));
        assert_eq!(hash_token(&token).len(), 64);
        assert_ne!(hash_token(&token), token);
    }

    #[test]
    fn set_cookie_marks_secure_only_when_asked() {
        let plain = set_cookie("a", "b", None, SameSite::Lax, false);
        assert_eq!(plain, "a=b; Path=/; HttpOnly; SameSite=Lax");
        let secure = set_cookie("a", "b", Some(0), SameSite::Strict, true);
        assert_eq!(secure, "a=b; Path=/; HttpOnly; Max-Age=0; SameSite=Strict; Secure");
    }
}
