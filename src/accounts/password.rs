//! Passwords: the length rule, argon2id hashing and generated passwords.
//!
//! Hashing runs on the blocking thread pool because one argon2id hash with the
//! parameters below takes tens of milliseconds of CPU and 19 MiB of memory.

use std::sync::OnceLock;

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher, PasswordVerifier},
};
use rand::Rng;

use super::AccountError;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password, in characters; bounds the hashing work per request.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Length of generated passwords: 18 characters of a 54-symbol alphabet is about
/// 103 bits of entropy.
pub const GENERATED_PASSWORD_CHARS: usize = 18;
/// Letters and digits without the look-alikes 0/O/o, 1/l/I, so that a password read
/// aloud or copied from paper comes out right.
const GENERATED_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// argon2id with the OWASP-recommended minimum: 19 MiB memory, 2 passes, 1 lane,
/// 32-byte output. Stored hashes carry their own parameters, so raising these later
/// still verifies old hashes.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, Some(32)).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A password in memory; `Debug` hides it so that it cannot reach a log by accident.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Accepts a new password of 10 to 256 characters.
    ///
    /// # Errors
    /// [`AccountError::PasswordTooShort`] or [`AccountError::PasswordTooLong`].
    pub fn parse_new(text: String) -> Result<Self, AccountError> {
        let chars = text.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(AccountError::PasswordTooShort);
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(AccountError::PasswordTooLong);
        }
        Ok(Password(text))
    }

    /// Wraps a password typed at login, which is checked against the hash only.
    pub fn from_login(text: String) -> Self {
        Password(text)
    }

    /// Generates a random password from an alphabet without look-alike characters.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let text = (0..GENERATED_PASSWORD_CHARS)
            .map(|_| char::from(GENERATED_ALPHABET[rng.random_range(0..GENERATED_ALPHABET.len())]))
            .collect();
        Password(text)
    }

    /// Returns the password text, for hashing or showing once to the person it belongs to.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Hashes `password` into an argon2id PHC string with a random salt.
///
/// # Errors
/// Fails only when the hashing task cannot run.
pub async fn hash_password(password: &Password) -> anyhow::Result<String> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        hasher()
            .hash_password(password.expose().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("argon2 hashing failed: {error}"))
    })
    .await?
}

/// Checks `password` against a stored PHC string; a malformed hash never matches.
pub async fn verify_password(password: &Password, stored_hash: &str) -> bool {
    let password = password.clone();
    let stored_hash = stored_hash.to_owned();
    tokio::task::spawn_blocking(move || {
        hasher().verify_password(password.expose().as_bytes(), stored_hash.as_str()).is_ok()
    })
    .await
    .unwrap_or(false)
}

/// Spends the time of one verification when the username is unknown, so that response
/// time does not reveal which usernames exist.
pub async fn verify_against_dummy(password: &Password) {
    static DUMMY_HASH: OnceLock<String> = OnceLock::new();
    let hash = match DUMMY_HASH.get() {
        Some(hash) => hash.clone(),
        None => {
            let Ok(hash) = hash_password(&Password::generate()).await else { return };
            DUMMY_HASH.get_or_init(|| hash).clone()
        }
    };
    verify_password(password, &hash).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_new_rejects_nine_characters() {
        assert!(matches!(
            Password::parse_new("123456789".to_owned()),
            Err(AccountError::PasswordTooShort)
        ));
        assert!(Password::parse_new("1234567890".to_owned()).is_ok());
    }

    #[test]
    fn parse_new_counts_characters_not_bytes() {
        // Five Chinese characters are 15 bytes but only 5 characters.
        assert!(Password::parse_new("街道网格员".to_owned()).is_err());
    }

    #[test]
    fn generated_password_avoids_look_alikes() {
        let password = Password::generate();
        assert_eq!(password.expose().chars().count(), GENERATED_PASSWORD_CHARS);
        assert!(!password.expose().contains(['0', 'O', 'o', '1', 'l', 'I']));
    }

    #[test]
    fn debug_hides_password() {
        let password = Password::from_login("s3cret-value".to_owned());
        assert!(!format!("{password:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn hash_verifies_only_same_password() {
        let password = Password::parse_new("correct horse".to_owned()).unwrap();
        let hash = hash_password(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password(&password, &hash).await);
        assert!(!verify_password(&Password::from_login("wrong horse".to_owned()), &hash).await);
    }
}
