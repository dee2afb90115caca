//! The resident portal (居民端): residents' sign-ups and their verification.
//!
//! - [`signup`]: sign-ups stored as pending, and the worker's approval (which links the
//!   account to its registry record through `resident_account`) or rejection.

pub mod signup;
