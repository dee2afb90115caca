//! Resident follow-up: the public tracking page behind a case's unguessable token.
//!
//! Whoever holds the token is treated as the reporter, because the token is shown only
//! to the reporter. The timeline therefore names stages and times but no actor, comment
//! or contact, since those may identify staff or other reporters. The page of a case
//! merged into another shows the surviving case's stage and timeline in the same way,
//! and lets its reporter rate the surviving case once it closed.

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use chrono_tz::Tz;

use super::{
    error::CaseError,
    followers::{SurvivorProgress, rate_surviving_case, survivor_progress},
    record::{Case, CaseEvent},
    stage::{Action, Stage},
    store::CaseStore,
    transition::{Actor, next_stage},
    transitions::{TransitionInput, parse_common, parse_rating},
};
use crate::{accounts::Role, cases::calendar::service::with_zone_offset, db::Db};

/// Length of a tracking token: 4 bytes of creation time and 16 random bytes in
/// lowercase hex.
const TOKEN_HEX_CHARS: usize = 40;
/// Length of a tracking token made before the time prefix: 16 random bytes in hex.
const UNPREFIXED_TOKEN_HEX_CHARS: usize = 32;

/// Generates a tracking token: the Unix time `now` in seconds (4 bytes, big-endian),
/// then 16 random bytes, as 40 lowercase hex digits. The 128 random bits keep a token
/// unguessable. The time prefix makes new tokens sort after older ones, so their
/// unique index grows at one end. With random tokens, a bulk import slowed once that
/// index outgrew SQLite's page cache.
pub fn new_tracking_token(now: DateTime<Utc>) -> String {
    let seconds = u32::try_from(now.timestamp()).unwrap_or(u32::MAX);
    let mut bytes = [0_u8; 20];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    bytes[4..].copy_from_slice(&rand::random::<[u8; 16]>());
    hex::encode(bytes)
}

/// A case as its tracking page shows it.
#[derive(Debug, Clone)]
pub struct TrackedCase {
    pub title: String,
    pub category_code: String,
    pub stage: Stage,
    /// The address the reporter gave, which they may want to check.
    pub address: Option<String>,
    pub created_at: DateTime<FixedOffset>,
    pub rating: Option<i32>,
    /// Stages the case went through, oldest first.
    pub steps: Vec<TrackStep>,
    /// True while the case is closed and not yet rated, or for a merged case, while its
    /// surviving case is closed and this reporter has not rated it yet.
    pub can_rate: bool,
    /// The case this one was merged into, for a merged case.
    pub survivor: Option<SurvivorProgress>,
}

/// One step of the public timeline.
#[derive(Debug, Clone)]
pub struct TrackStep {
    /// `None` for the report itself.
    pub action: Option<Action>,
    pub to_stage: Stage,
    pub occurred_at: DateTime<FixedOffset>,
}

/// Loads the case behind `token` with its public timeline.
///
/// # Errors
/// [`CaseError::TrackingNotFound`] for a malformed or unknown token.
#[tracing::instrument(skip_all)]
pub async fn track_case(db: &Db, tz: Tz, token: &str) -> Result<TrackedCase, CaseError> {
    let case = case_by_token(db, token).await?;
    let steps = public_steps(db, tz, case.case_id).await?;
    let survivor = match case.stage {
        Stage::Merged => Some(survivor_progress(db, tz, &case).await?),
        _ => None,
    };
    let can_rate = match &survivor {
        Some(survivor) => survivor.can_rate,
        None => next_stage(case.stage, Action::Rate, reporter()).is_ok(),
    };
    Ok(TrackedCase {
        can_rate,
        title: case.title,
        category_code: case.category_code,
        stage: case.stage,
        address: case.address,
        created_at: with_zone_offset(case.created_at, tz),
        rating: survivor.as_ref().map_or(case.rating, |survivor| survivor.rating),
        steps,
        survivor,
    })
}

/// Lists the public timeline of case `case_id`: stages and times, no actors.
pub(super) async fn public_steps(
    db: &Db,
    tz: Tz,
    case_id: i64,
) -> Result<Vec<TrackStep>, CaseError> {
    let events = db.case_events(case_id).await?;
    let steps = events
        .into_iter()
        .map(|event| TrackStep {
            action: event.action,
            to_stage: event.to_stage,
            occurred_at: with_zone_offset(event.occurred_at, tz),
        })
        .collect();
    Ok(steps)
}

/// Records the reporter's 1–5 rating of a closed case. A case is rated once, because
/// rating moves it to [`Stage::Rated`], where the table allows no second rating. For a
/// merged case the rating goes to its surviving case as this reporter's own, which
/// [`rate_surviving_case`] describes.
///
/// # Errors
/// [`CaseError::TrackingNotFound`] for an unknown token, [`CaseError::Invalid`] for a
/// rating outside 1–5 or a comment that is too long, [`CaseError::Transition`] when the
/// case is not closed or already rated, and a version conflict when it changed meanwhile.
#[tracing::instrument(skip_all, fields(case.id = tracing::field::Empty))]
pub async fn rate_tracked_case(
    db: &Db,
    token: &str,
    rating: Option<i64>,
    comment: Option<String>,
) -> Result<Case, CaseError> {
    let case = case_by_token(db, token).await?;
    tracing::Span::current().record("case.id", case.case_id);
    if case.stage == Stage::Merged {
        rate_surviving_case(db, &case, rating, comment).await?;
        return Ok(case);
    }
    let to_stage = next_stage(case.stage, Action::Rate, reporter())?;
    let input = TransitionInput { rating, comment, ..TransitionInput::default() };
    let rating = parse_rating(&input)?;
    let (comment, _) = parse_common(&input)?;

    let now = Utc::now().trunc_subsecs(3);
    let changed = Case { stage: to_stage, rating: Some(rating), updated_at: now, ..case.clone() };
    let event = CaseEvent {
        case_event_id: None,
        action: Some(Action::Rate),
        from_stage: Some(case.stage),
        to_stage,
        actor_user_id: case.reporter_user_id,
        actor_role: Some("tracking_page".to_owned()),
        comment,
        reason: None,
        attachment_ids: Vec::new(),
        details: serde_json::json!({ "rating": rating }),
        occurred_at: now,
    };
    let stored = db.update_case(&changed, case.version, &event).await?;
    tracing::info!(case.rating = rating, "case rated on its tracking page");
    Ok(stored)
}

/// The holder of a tracking token, who acts as the case's reporter.
fn reporter() -> Actor {
    Actor { role: Role::Resident, is_reporter: true }
}

/// Checks that `token` has the form of a tracking token, with or without a time prefix.
fn is_tracking_token(token: &str) -> bool {
    [TOKEN_HEX_CHARS, UNPREFIXED_TOKEN_HEX_CHARS].contains(&token.len())
        && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn case_by_token(db: &Db, token: &str) -> Result<Case, CaseError> {
    if !is_tracking_token(token) {
        return Err(CaseError::TrackingNotFound);
    }
    db.case_by_token(token).await?.ok_or(CaseError::TrackingNotFound)
}

#[cfg(test)]
mod token_tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn tokens_start_with_their_time_and_differ() {
        let earlier = Utc.with_ymd_and_hms(2026, 12, 5, 4, 0, 0).unwrap();
        let first = new_tracking_token(earlier);
        let second = new_tracking_token(earlier);
        assert_eq!(first.len(), TOKEN_HEX_CHARS);
        assert!(first.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(&first[..8], &format!("{:08x}", earlier.timestamp()), "time prefix");
        assert_ne!(first, second, "random part");
        let later = new_tracking_token(earlier + chrono::Duration::seconds(1));
        assert!(later > first, "a later token sorts after the first");
        assert!(later > second, "a later token sorts after the second");
    }

    #[test]
    fn tokens_with_and_without_time_prefix_are_accepted() {
        assert!(is_tracking_token(&new_tracking_token(Utc::now())));
        assert!(is_tracking_token(&"0a".repeat(16)), "a token made before the prefix");
        assert!(!is_tracking_token(&"0a".repeat(18)), "36 digits");
        assert!(!is_tracking_token(&"0A".repeat(20)), "upper case");
    }
}
