//! Failures of case operations and the HTTP status each becomes.

use super::{stage::Action, store::StoreError, transition::TransitionError};
use crate::{
    cases::{calendar, catalogue, routing},
    http::{AppError, UserMessage},
};

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// Input that breaks a rule, naming its field; becomes 422.
    #[error("invalid input: {0:?}")]
    Invalid(UserMessage),
    /// A query string parameter that cannot be used, naming it; becomes 400.
    #[error("invalid query parameter: {0:?}")]
    BadQuery(UserMessage),
    /// An action the stage or the actor does not allow; becomes 422 or 403.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The case changed since the caller read it; becomes 409.
    #[error("case {case_id} is at version {current}, not {expected}")]
    StaleVersion { case_id: i64, expected: i64, current: i64 },
    /// No such case, or one the user may not see; becomes 404 so that ids cannot be
    /// probed.
    #[error("case {0} not found")]
    NotFound(i64),
    /// No case has this tracking token; becomes 404.
    #[error("no case has this tracking token")]
    TrackingNotFound,
    /// A stored category or calendar cannot give a deadline; becomes 500.
    #[error(transparent)]
    Deadline(#[from] calendar::deadline::DeadlineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Catalogue(#[from] catalogue::store::StoreError),
    #[error(transparent)]
    Calendar(#[from] calendar::store::StoreError),
    /// An address the gazetteer cannot resolve (422 on `address`), or its failure.
    #[error(transparent)]
    Gazetteer(#[from] crate::places::PlaceError),
    #[error(transparent)]
    Routing(#[from] routing::store::StoreError),
}

fn action_list(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "-".to_owned();
    }
    actions.iter().map(|action| action.as_str()).collect::<Vec<_>>().join(", ")
}

impl From<CaseError> for AppError {
    fn from(error: CaseError) -> Self {
        match error {
            CaseError::Invalid(message) => AppError::Invalid(message),
            CaseError::BadQuery(message) => AppError::BadRequest(message),
            CaseError::Transition(TransitionError::NotAllowedInStage {
                stage,
                action,
                allowed,
            }) => AppError::Invalid(
                UserMessage::new("case_action_not_allowed")
                    .arg("action", action.as_str())
                    .arg("stage", stage.as_str())
                    .arg("allowed", action_list(&allowed))
                    .field("action"),
            ),
            CaseError::Transition(TransitionError::NotPermitted { .. }) => AppError::Forbidden,
            CaseError::StaleVersion { expected, current, .. }
            | CaseError::Store(StoreError::VersionConflict { expected, current, .. }) => {
                AppError::Conflict(
                    UserMessage::new("case_version_conflict")
                        .arg("expected", expected)
                        .arg("current", current)
                        .field("expected_version"),
                )
            }
            CaseError::NotFound(case_id) | CaseError::Store(StoreError::NotFound(case_id)) => {
                AppError::NotFound(UserMessage::new("case_not_found").arg("id", case_id))
            }
            CaseError::TrackingNotFound => {
                AppError::NotFound(UserMessage::new("case_tracking_not_found"))
            }
            CaseError::Deadline(error) => AppError::Internal(error.into()),
            CaseError::Store(error) => AppError::Internal(error.into()),
            CaseError::Catalogue(error) => AppError::Internal(error.into()),
            CaseError::Calendar(error) => AppError::Internal(error.into()),
            CaseError::Gazetteer(error) => error.into(),
            CaseError::Routing(error) => AppError::Internal(error.into()),
        }
    }
}
