//! Reporters of merged cases: finding the surviving case, showing its progress on the
//! merged case's tracking page, and each reporter's own rating of it.
//!
//! Rating rule: every reporter rates once. The surviving case's own reporter rates it
//! with the `rate` action, which moves the case to [`Stage::Rated`]. Each reporter of a
//! merged case rates the surviving case from their own tracking link once it is closed
//! or rated. That rating is stored on their follower row and leaves the case's stage
//! alone, so no reporter's rating takes another's chance to rate away.
//!
//! NOTE: the satisfaction rate (满意率) counts only the case's own rating, so ratings
//! that reporters of merged cases give are stored but not yet counted there.

use chrono::{SubsecRound, Utc};
use chrono_tz::Tz;

use super::{
    error::CaseError,
    record::Case,
    stage::Stage,
    store::{CaseStore, StoreError, followers::FollowStore},
    tracking::{TrackStep, public_steps},
    transitions::{TransitionInput, parse_common, parse_rating},
};
use crate::{db::Db, http::UserMessage};

/// Maximum number of merges followed to reach the surviving case. A chain is one merge long
/// unless dispatchers merged a case that had itself absorbed others; a longer chain
/// points at corrupt data.
const MAX_MERGE_HOPS: usize = 16;

/// The surviving case of a merged case as its reporter's tracking page shows it.
#[derive(Debug, Clone)]
pub struct SurvivorProgress {
    pub stage: Stage,
    /// The surviving case's public timeline, oldest first.
    pub steps: Vec<TrackStep>,
    /// The rating this reporter gave the surviving case, if any.
    pub rating: Option<i32>,
    /// True once the surviving case closed and this reporter has not rated it yet.
    pub can_rate: bool,
}

/// Follows the merge chain from `case` to the case that absorbed it; a case that is
/// not merged is its own survivor.
///
/// # Errors
/// A storage failure, or [`StoreError::Corrupt`] for a chain that ends nowhere or is
/// longer than `MAX_MERGE_HOPS`.
pub async fn surviving_case(db: &Db, case: &Case) -> Result<Case, CaseError> {
    let corrupt =
        |reason: &str| StoreError::Corrupt { case_id: case.case_id, reason: reason.to_owned() };
    let mut current = case.clone();
    for _ in 0..MAX_MERGE_HOPS {
        let target = current.merged_into_case_id.filter(|_| current.stage == Stage::Merged);
        let Some(target) = target else {
            return Ok(current);
        };
        current = db.case_by_id(target).await?.ok_or_else(|| corrupt("merge target missing"))?;
    }
    Err(corrupt("merge chain too long").into())
}

/// Loads the progress of the case that `merged` was merged into, for `merged`'s
/// reporter.
///
/// # Errors
/// A storage failure or a corrupt merge chain.
pub async fn survivor_progress(
    db: &Db,
    tz: Tz,
    merged: &Case,
) -> Result<SurvivorProgress, CaseError> {
    let survivor = surviving_case(db, merged).await?;
    let steps = public_steps(db, tz, survivor.case_id).await?;
    let rating = db.follower_rating(survivor.case_id, merged.case_id).await?.flatten();
    Ok(SurvivorProgress {
        stage: survivor.stage,
        steps,
        rating,
        can_rate: rating.is_none() && is_finished(survivor.stage),
    })
}

fn is_finished(stage: Stage) -> bool {
    matches!(stage, Stage::Closed | Stage::Rated)
}

/// Records the rating that the reporter of the merged case `merged` gives its
/// surviving case.
///
/// # Errors
/// [`CaseError::Invalid`] naming `rating` when the surviving case is still open, when
/// this reporter rated it before or when the rating is outside 1–5, and naming
/// `comment` for a comment that is too long.
#[tracing::instrument(skip_all, fields(case.id = merged.case_id, case.survivor = tracing::field::Empty))]
pub async fn rate_surviving_case(
    db: &Db,
    merged: &Case,
    rating: Option<i64>,
    comment: Option<String>,
) -> Result<(), CaseError> {
    let survivor = surviving_case(db, merged).await?;
    tracing::Span::current().record("case.survivor", survivor.case_id);
    if !is_finished(survivor.stage) {
        let message = UserMessage::new("dup_rating_not_closed").field("rating");
        return Err(CaseError::Invalid(message));
    }
    let input = TransitionInput { rating, comment, ..TransitionInput::default() };
    let rating = parse_rating(&input)?;
    let (comment, _) = parse_common(&input)?;
    let now = Utc::now().trunc_subsecs(3);
    let stored =
        db.rate_as_follower(survivor.case_id, merged.case_id, rating, &comment, now).await?;
    if !stored {
        let message = UserMessage::new("dup_rating_already_given").field("rating");
        return Err(CaseError::Invalid(message));
    }
    tracing::info!(case.rating = rating, "merged case's reporter rated the surviving case");
    Ok(())
}
