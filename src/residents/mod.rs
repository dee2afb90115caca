//! The resident registry (居民档案): households, residents and the tags administrators
//! define, with identity and phone numbers protected as PIPL expects.
//!
//! - [`identity`]: GB 11643 identity numbers, phone numbers and e-mail addresses,
//!   parsed and masked.
//! - [`crypto`] and [`keys`]: AES-256-GCM sealing under a data key from the settings,
//!   HMAC-SHA256 lookup hashes under a lookup key kept sealed in the database.
//! - [`service`] and [`store`]: validated writes in one transaction, area-scoped reads;
//!   [`contact`]: changes of a resident's phone number and e-mail address.
//! - [`http`]: `/api/v1/households`, `/api/v1/residents`, `/api/v1/resident-tags`,
//!   `/api/v1/organisations`.
//! - [`rotate`]: `citycore residents rotate-key`.
//!
//! Invariants: the clear identity number, phone number or e-mail address is never
//! stored or logged, and leaves citycore only towards the configured notice channels or
//! when a permitted role requests a reveal, which is audited. Every read is
//! limited to the grids under the viewer's areas. One resident per identity number.
//! - [`organisations`]: merchants and property companies, their contacts and premises.
//! - [`notices`]: targeted notices (政策触达), their inboxes, receipts, channels and
//!   follow-up.
//!
//! - [`import`] and [`export`]: households and residents from `.xlsx` and CSV files,
//!   and filtered, masked lists back out.
//!
//! - [`pages`]: the console pages of the registry, the import, notices and follow-up.
//!
//! Not done here: revealing a contact's phone.

pub mod contact;
pub mod crypto;
pub mod export;
pub mod http;
pub mod identity;
pub mod import;
pub mod keys;
pub mod notices;
pub mod organisations;
pub mod pages;
pub mod rotate;
pub mod service;
pub mod store;
pub mod tags;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::http::{AppError, UserMessage};

pub use crypto::Keyring;
pub use http::router;

/// Gender, read from the identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }

    pub fn parse(text: &str) -> Option<Gender> {
        [Gender::Male, Gender::Female].into_iter().find(|g| g.as_str() == text)
    }
}

/// Relation to the head of the household (与户主关系).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
    Sibling,
    Other,
}

impl Relation {
    pub const ALL: [Relation; 7] = [
        Relation::Head,
        Relation::Spouse,
        Relation::Child,
        Relation::Parent,
        Relation::Grandchild,
        Relation::Sibling,
        Relation::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Head => "head",
            Relation::Spouse => "spouse",
            Relation::Child => "child",
            Relation::Parent => "parent",
            Relation::Grandchild => "grandchild",
            Relation::Sibling => "sibling",
            Relation::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Relation> {
        Relation::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// One household: an address in a grid.
#[derive(Debug, Clone, Serialize)]
pub struct Household {
    pub household_id: i64,
    pub address: String,
    pub grid_id: i64,
    pub created_at: DateTime<Utc>,
}

/// One resident as stored, with numbers in their masked form only.
#[derive(Debug, Clone, Serialize)]
pub struct Resident {
    pub resident_id: i64,
    pub household_id: i64,
    pub grid_id: i64,
    pub name: String,
    pub gender: Gender,
    pub birth_date: NaiveDate,
    pub relation: Relation,
    pub identity_number: String,
    pub phone: Option<String>,
    /// The e-mail address, masked as `z***@example.com`.
    pub email: Option<String>,
    pub tags: Vec<tags::TagAssignment>,
    pub created_at: DateTime<Utc>,
}

/// Failures of the registry in its own terms.
#[derive(Debug, thiserror::Error)]
pub enum ResidentError {
    /// A malformed value such as an identity number with a wrong check digit; 400.
    #[error("bad request: {0:?}")]
    Malformed(UserMessage),
    /// Well-formed input that breaks a rule, such as an unknown grid or tag; 422.
    #[error("invalid input: {0:?}")]
    Invalid(UserMessage),
    /// A resident or tag that exists already; 409.
    #[error("duplicate: {0:?}")]
    Duplicate(UserMessage),
    /// A household or resident that does not exist or lies outside the scope; 404.
    #[error("not found: {0:?}")]
    NotFound(UserMessage),
    /// An area outside the user's scope, or a role that may not reveal; 403.
    #[error("forbidden")]
    Forbidden,
    /// A stored value the configured keys cannot open; 500.
    #[error(transparent)]
    Key(#[from] crypto::KeyError),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl ResidentError {
    pub fn not_found(what: &str, id: i64) -> ResidentError {
        ResidentError::NotFound(UserMessage::new("not_found").arg("what", what).arg("id", id))
    }
}

impl From<ResidentError> for AppError {
    fn from(error: ResidentError) -> Self {
        match error {
            ResidentError::Malformed(message) => AppError::BadRequest(message),
            ResidentError::Invalid(message) => AppError::Invalid(message),
            ResidentError::Duplicate(message) => AppError::Conflict(message),
            ResidentError::NotFound(message) => AppError::NotFound(message),
            ResidentError::Forbidden => AppError::Forbidden,
            ResidentError::Key(error) => AppError::Internal(error.into()),
            ResidentError::Store(error) => AppError::Internal(error.into()),
        }
    }
}
