//! Trust anchors, certificate reading and path validation.

pub mod cert;
pub mod path;
pub mod policy;
pub mod profile;

pub use path::{
    PathFailure, PathOptions, PathOutcome, TrustStore, load_certificates, validate_path,
};
pub use profile::KeyPolicy;
