//! kyso — document signing and verification for Vietnamese online public services.
//!
//! The library verifies PDF (PAdES, PKCS#7 detached, document timestamps)
//! and CMS signatures. Everything it depends on is a parameter: bytes, trust
//! anchors, validation time, policy and limits.

pub mod archive;
pub mod certificate;
pub mod cms;
pub mod core;
pub mod crypto;
pub mod der;
pub mod error;
pub mod ers;
pub mod fuzzing;
pub mod memo;
pub mod package;
pub mod pdf;
pub mod pki;
pub mod report;
pub mod revocation;
pub mod server;
pub mod sign;
pub mod validate;
pub mod xml;

pub use error::{Error, Limits, Result};
pub use report::{Indication, Report, SubIndication};
pub use validate::{VerifyOptions, verify_bytes, verify_path};
