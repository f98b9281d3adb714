//! Trust anchors, certificate reading and path validation.
// Parsers of untrusted bytes and the checks on what they read: no slicing
// that can panic, no unchecked indexing, no arithmetic that can overflow.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

pub mod cert;
pub mod path;
pub mod policy;
pub mod profile;

pub use path::{
    PathFailure, PathOptions, PathOutcome, TrustStore, load_certificates, validate_path,
};
pub use profile::KeyPolicy;
