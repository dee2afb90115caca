//! Cases of the closed loop (接诉即办): their stages, transitions and storage.
//!
//! A case moves through the stages of [`Stage`] by the actions of [`Action`]. The one
//! transition table lives in [`transition`] as a pure function of stage, action and
//! actor. Every transition is stored with its actor, UTC time, comment and attachment
//! ids, and guarded by the case's version so that concurrent changes cannot both win.
//! [`intake`] validates, locates, routes and times new reports, [`transitions`] applies
//! actions with their deadlines and counts, and [`http`] serves `/api/v1/cases`.
//!
//! [`duplicates`] suggests nearby open cases of the same category, and [`followers`]
//! keeps every reporter of merged cases informed on the surviving case.

pub mod access;
pub mod duplicates;
pub mod error;
pub mod followers;
pub mod http;
pub mod intake;
pub mod locate;
pub mod notes;
pub mod query;
mod reclassify;
pub mod record;
pub mod stage;
pub mod store;
pub mod tracking;
pub mod transition;
pub mod transitions;
pub mod view;

pub use error::CaseError;
pub use record::{Case, CaseEvent};
pub use stage::{Action, Channel, Stage};
pub use store::CaseStore;
pub use transition::{Actor, TransitionError, allowed_actions, next_stage};

/// Maximum description length, in characters (not bytes): a long hotline call
/// transcript fits, and the database enforces the same limit.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
