//! Cryptographic constraints (ETSI EN 319 102-1 §5.2.8, ETSI TS 119 312):
//! which digests and key sizes the policy accepts.

use crate::crypto::DigestAlg;
use crate::report::{Check, Indication as I, Outcome, SignatureReport, SubIndication as S};

/// How SHA-1 is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sha1Policy {
    Accept,
    Warn,
    Reject,
}

/// Algorithm policy (configurable; defaults reject MD5 and RSA < 2048, flag SHA-1).
#[derive(Clone, Debug)]
pub struct AlgorithmPolicy {
    pub min_rsa_bits: u32,
    pub min_ec_bits: u32,
    pub sha1: Sha1Policy,
    pub reject_md5: bool,
    /// DSA keys anywhere (FIPS 186-5 no longer approves DSA signatures).
    pub allow_dsa: bool,
}

impl AlgorithmPolicy {
    /// The part that applies to every certificate of a path.
    pub fn key_policy(&self) -> crate::pki::KeyPolicy {
        crate::pki::KeyPolicy {
            min_rsa_bits: self.min_rsa_bits,
            min_ec_bits: self.min_ec_bits,
            allow_dsa: self.allow_dsa,
            rsa_whole_bytes: true,
        }
    }
}

impl Default for AlgorithmPolicy {
    fn default() -> Self {
        AlgorithmPolicy {
            min_rsa_bits: 2048,
            min_ec_bits: 256,
            sha1: Sha1Policy::Warn,
            reject_md5: true,
            allow_dsa: false,
        }
    }
}

/// A digest algorithm used for `what`, against the policy.
pub fn check_digest(p: &AlgorithmPolicy, d: DigestAlg, what: &str, rep: &mut SignatureReport) {
    match d {
        DigestAlg::Md5 if p.reject_md5 => rep.fail(
            I::Indeterminate,
            S::CryptoConstraintsFailure,
            Check::new(
                "ALG_DIGEST_REJECTED",
                Outcome::Failed,
                format!("Thuật toán băm MD5 ({what}) không còn an toàn và bị từ chối"),
                format!("MD5 ({what}) is broken and rejected by policy"),
            ),
        ),
        DigestAlg::Sha1 => match p.sha1 {
            Sha1Policy::Reject => rep.fail(
                I::Indeterminate,
                S::CryptoConstraintsFailure,
                Check::new(
                    "ALG_DIGEST_REJECTED",
                    Outcome::Failed,
                    format!("Thuật toán băm SHA-1 ({what}) bị chính sách từ chối"),
                    format!("SHA-1 ({what}) is rejected by policy"),
                ),
            ),
            Sha1Policy::Warn => rep.pass(Check::new(
                "ALG_DIGEST_WEAK",
                Outcome::Warning,
                format!("Thuật toán băm SHA-1 ({what}) đã lỗi thời"),
                format!("SHA-1 ({what}) is deprecated"),
            )),
            Sha1Policy::Accept => {}
        },
        _ => {}
    }
}

/// An algorithm kyso cannot run (`why` names it): INDETERMINATE /
/// CRYPTO_CONSTRAINTS_FAILURE, check ALG_UNSUPPORTED.
pub fn unsupported(why: &str, rep: &mut SignatureReport) {
    rep.fail(
        I::Indeterminate,
        S::CryptoConstraintsFailure,
        unsupported_check(why),
    );
}

/// The ALG_UNSUPPORTED check itself (to add evidence to).
pub fn unsupported_check(why: &str) -> Check {
    Check::new(
        "ALG_UNSUPPORTED",
        Outcome::Failed,
        format!("Thuật toán không được hỗ trợ: {why}"),
        format!("Unsupported algorithm: {why}"),
    )
}

/// The size of the signer's key against the policy.
pub fn check_key(
    p: &AlgorithmPolicy,
    key_type: &str,
    bits: u32,
    whose: (&str, &str),
    rep: &mut SignatureReport,
) {
    let min = if key_type == "RSA" || key_type == "DSA" {
        p.min_rsa_bits
    } else if key_type.starts_with("EC") {
        p.min_ec_bits
    } else {
        0
    };
    if bits < min {
        rep.fail(
            I::Indeterminate,
            S::CryptoConstraintsFailure,
            Check::new(
                "ALG_KEY_TOO_SHORT",
                Outcome::Failed,
                format!(
                    "Khóa {key_type} {bits} bit của {} ngắn hơn mức tối thiểu {min} bit",
                    whose.0
                ),
                format!(
                    "{key_type} {bits}-bit key of the {} is shorter than the {min}-bit minimum",
                    whose.1
                ),
            )
            .with("key_bits", bits)
            .with("min_bits", min),
        );
    }
}
