//! Failures of rule and alarm operations and the HTTP status each becomes.

use crate::{
    cases::case::CaseError,
    http::{AppError, UserMessage},
};

#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    /// Rule input that breaks a rule, one message per field; becomes 422 naming the
    /// first field and listing all under `details`.
    #[error("invalid rule: {0:?}")]
    Invalid(Vec<UserMessage>),
    /// Becomes 404.
    #[error("rule {0} not found")]
    RuleNotFound(i64),
    /// No such alarm, or one outside the user's area scope; becomes 404.
    #[error("alarm {0} not found")]
    AlarmNotFound(i64),
    /// The alarm is not in a state that allows the action; becomes 409.
    #[error("alarm {alarm_id} is {state}")]
    WrongState { alarm_id: i64, state: &'static str },
    /// Deleting a rule with open alarms; becomes 409.
    #[error("rule {0} has open alarms")]
    RuleHasOpenAlarms(i64),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] super::store::StoreError),
    #[error(transparent)]
    Sensors(#[from] crate::sensors::store::StoreError),
    /// Opening or annotating the alarm's case failed.
    #[error(transparent)]
    Case(#[from] CaseError),
}

impl From<AlarmError> for AppError {
    fn from(error: AlarmError) -> Self {
        match error {
            AlarmError::Invalid(mut messages) => {
                let first = messages.remove(0);
                let mut all = vec![first.clone()];
                all.extend(messages);
                AppError::Invalid(first.details(all))
            }
            AlarmError::RuleNotFound(id) => {
                AppError::NotFound(UserMessage::new("sensor_rule_not_found").arg("id", id))
            }
            AlarmError::AlarmNotFound(id) => {
                AppError::NotFound(UserMessage::new("alarm_not_found").arg("id", id))
            }
            AlarmError::WrongState { alarm_id, state } => AppError::Conflict(
                UserMessage::new("alarm_state_conflict").arg("id", alarm_id).arg("state", state),
            ),
            AlarmError::RuleHasOpenAlarms(id) => {
                AppError::Conflict(UserMessage::new("sensor_rule_has_open_alarms").arg("id", id))
            }
            AlarmError::Database(error) => AppError::Internal(error.into()),
            AlarmError::Store(error) => AppError::Internal(error.into()),
            AlarmError::Sensors(error) => AppError::Internal(error.into()),
            AlarmError::Case(error) => error.into(),
        }
    }
}
