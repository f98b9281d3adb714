//! The format-independent validation core: the building blocks of ETSI
//! EN 319 102-1 §5 that every signature format shares. A format room (PDF,
//! CMS file, and the next ones: XML, packages) parses bytes, finds what is
//! signed and checks its own rules (ByteRange, DocMDP, coverage); the core
//! identifies nothing by bytes, it judges:
//!
//! | building block (EN 319 102-1) | here |
//! |---|---|
//! | §5.2.8 cryptographic constraints (algorithm policy) | [`algorithms`] |
//! | §5.2.6 X.509 certificate validation at a time, with revocation (§5.2.5) | [`x509`] |
//! | §5.6.2.2 / §5.6.3 proof of existence, timestamp order | [`poe`] |
//! | §5.1.3 / Table 5: indication and sub-indication from what was proven | [`proofs`] |
//!
//! The verdict rule is webpki's: `TOTAL_PASSED` only when every required
//! result was positively produced ([`proofs::Proofs`]) and no check failed —
//! never for the absence of a failure.
// Parsers of untrusted bytes and the checks on what they read: no slicing
// that can panic, no unchecked indexing, no arithmetic that can overflow.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

pub mod algorithms;
pub mod poe;
pub mod proofs;
pub mod x509;

use openssl::x509::X509;

use crate::error::Limits;
use crate::pki::TrustStore;

pub use algorithms::{AlgorithmPolicy, Sha1Policy};
pub use proofs::{Proofs, RevocationProof};

/// Everything the verifier depends on. No clock: `at` is the caller's.
#[derive(Clone)]
pub struct VerifyOptions {
    pub trust: TrustStore,
    /// Extra intermediate certificates supplied by the caller.
    pub intermediates: Vec<X509>,
    /// Validation time, Unix seconds.
    pub at: i64,
    pub algorithms: AlgorithmPolicy,
    pub limits: Limits,
    /// Revocation data supplied by the caller (embedded data is added per document).
    pub revocation: crate::revocation::RevocationData,
    /// Without usable revocation data for a certificate, the signature is
    /// `INDETERMINATE/TRY_LATER` (true, the default) or only warned about.
    pub require_revocation: bool,
    /// Revocation data from a local cache and, when allowed, the network.
    pub fetch: crate::revocation::fetch::FetchConfig,
    /// Annotations added to a PDF after a signature (comments, highlights,
    /// stamps) are accepted when they lie over no signed content and no
    /// DocMDP or lock permission P=1/P=2 forbids them (P=3 or an approval
    /// signature); false (the default) refuses them. One that lies over
    /// signed content is never accepted.
    pub allow_annotations: bool,
    /// Which profile signed XML documents are checked against.
    pub xml_profile: XmlProfileChoice,
}

/// The profile of a signed XML document ([`crate::xml::profile`]).
#[derive(Clone, Debug, Default)]
pub enum XmlProfileChoice {
    /// A built-in profile whose root the document has (an `HDon` is an
    /// e-invoice), else none.
    #[default]
    Auto,
    None,
    Given(std::sync::Arc<crate::xml::profile::XmlProfile>),
}

impl VerifyOptions {
    /// What a report records of these settings.
    pub fn policy_record(&self) -> crate::report::ValidationPolicy {
        let a = &self.algorithms;
        crate::report::ValidationPolicy {
            min_rsa_bits: a.min_rsa_bits,
            min_ec_bits: a.min_ec_bits,
            sha1: match a.sha1 {
                Sha1Policy::Accept => "ACCEPT",
                Sha1Policy::Warn => "WARN",
                Sha1Policy::Reject => "REJECT",
            },
            reject_md5: a.reject_md5,
            allow_dsa: a.allow_dsa,
            revocation_required: self.require_revocation,
            allow_annotations: self.allow_annotations,
            online_revocation: self.fetch.online,
            trust_anchors: self
                .trust
                .anchors
                .iter()
                .filter_map(|c| c.digest(openssl::hash::MessageDigest::sha256()).ok())
                .map(hex::encode)
                .collect(),
        }
    }

    pub fn new(trust: TrustStore, at: i64) -> Self {
        VerifyOptions {
            trust,
            intermediates: Vec::new(),
            at,
            algorithms: AlgorithmPolicy::default(),
            limits: Limits::default(),
            revocation: Default::default(),
            require_revocation: true,
            fetch: Default::default(),
            allow_annotations: false,
            xml_profile: XmlProfileChoice::Auto,
        }
    }
}

/// What one call knows about time beyond the options: per signature, so a
/// parameter, not an option.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timing {
    /// Proof of existence of the signed object from outside it (a later,
    /// valid document timestamp covering it), Unix seconds.
    pub external_poe: Option<i64>,
    /// The path's revocation is judged no later than this: a timestamp
    /// token's genTime, when the path is its TSA's.
    pub revocation_at_most: Option<i64>,
}
