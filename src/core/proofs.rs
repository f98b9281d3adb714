//! What was positively proven about one signature, and the one function that
//! turns it, with the failures recorded, into an indication and
//! sub-indication (ETSI EN 319 102-1 §5.1.3, Table 5).

use serde::Serialize;

use crate::report::{Indication, SubIndication};

/// How the revocation requirement was met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevocationProof {
    /// Every certificate of the path but the anchor: not revoked at the
    /// time that mattered (or carries ocsp-nocheck).
    Checked,
    /// Some status unknown, and the policy does not require it.
    WaivedByPolicy,
}

/// The results every signature needs before it can pass. Each starts
/// unproven; only the check that establishes it sets it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Proofs {
    /// The signature's structure was read and follows its format's rules
    /// (a SignedData with one SignerInfo to check, a ByteRange that holds).
    pub format: bool,
    /// The signer's certificate was identified (§5.2.3).
    pub signer: bool,
    /// The digest of what is signed and the signature value verified (§5.2.7).
    pub integrity: bool,
    /// A path to a trust anchor, valid at the time used (§5.2.6).
    pub chain: bool,
    pub revocation: Option<RevocationProof>,
    /// What the signature covers is known and acceptable: the whole content,
    /// the whole file or a revision with only allowed changes after it, the
    /// data a timestamp's imprint matches.
    pub coverage: bool,
}

/// The indication of a signature: the most severe failure recorded (the
/// first among equals); else, when a check failed without saying what it
/// means, `INDETERMINATE/SIG_CONSTRAINTS_FAILURE`; else, when a required
/// result is missing, `INDETERMINATE` with the sub-indication that names it;
/// only then `TOTAL_PASSED`.
pub fn indication(
    proofs: &Proofs,
    failures: &[(Indication, SubIndication)],
    a_check_failed: bool,
) -> (Indication, Option<SubIndication>) {
    let mut worst: Option<(Indication, SubIndication)> = None;
    for (i, s) in failures {
        if worst.is_none_or(|(w, _)| *i > w) {
            worst = Some((*i, *s));
        }
    }
    if let Some((i, s)) = worst {
        return (i, Some(s));
    }
    let missing = if a_check_failed {
        Some(SubIndication::SigConstraintsFailure)
    } else if !proofs.format {
        Some(SubIndication::FormatFailure)
    } else if !proofs.signer {
        Some(SubIndication::NoSigningCertificateFound)
    } else if !proofs.integrity {
        Some(SubIndication::SignedDataNotFound)
    } else if !proofs.chain {
        Some(SubIndication::CertificateChainGeneralFailure)
    } else if proofs.revocation.is_none() {
        Some(SubIndication::TryLater)
    } else if !proofs.coverage {
        Some(SubIndication::SigConstraintsFailure)
    } else {
        None
    };
    match missing {
        Some(s) => (Indication::Indeterminate, Some(s)),
        None => (Indication::TotalPassed, None),
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::string_slice
)]
mod tests {
    use super::*;
    use Indication::*;
    use SubIndication::*;

    fn all() -> Proofs {
        Proofs {
            format: true,
            signer: true,
            integrity: true,
            chain: true,
            revocation: Some(RevocationProof::Checked),
            coverage: true,
        }
    }

    #[test]
    fn passes_only_with_every_result_proven() {
        assert_eq!(indication(&all(), &[], false), (TotalPassed, None));
        let waived = Proofs {
            revocation: Some(RevocationProof::WaivedByPolicy),
            ..all()
        };
        assert_eq!(indication(&waived, &[], false), (TotalPassed, None));
    }

    /// Nothing unknown passes: each missing result alone, no failure recorded.
    #[test]
    fn a_missing_result_never_passes() {
        type Unset = fn(&mut Proofs);
        let cases: [(Unset, SubIndication); 6] = [
            (|p| p.format = false, FormatFailure),
            (|p| p.signer = false, NoSigningCertificateFound),
            (|p| p.integrity = false, SignedDataNotFound),
            (|p| p.chain = false, CertificateChainGeneralFailure),
            (|p| p.revocation = None, TryLater),
            (|p| p.coverage = false, SigConstraintsFailure),
        ];
        for (unset, sub) in cases {
            let mut p = all();
            unset(&mut p);
            assert_eq!(indication(&p, &[], false), (Indeterminate, Some(sub)));
        }
        assert_eq!(
            indication(&Proofs::default(), &[], false),
            (Indeterminate, Some(FormatFailure))
        );
    }

    #[test]
    fn a_failed_check_without_consequence_does_not_pass() {
        assert_eq!(
            indication(&all(), &[], true),
            (Indeterminate, Some(SigConstraintsFailure))
        );
    }

    #[test]
    fn the_most_severe_failure_wins_first_among_equals() {
        let f = [
            (Indeterminate, TryLater),
            (TotalFailed, HashFailure),
            (TotalFailed, SigCryptoFailure),
        ];
        assert_eq!(
            indication(&all(), &f, false),
            (TotalFailed, Some(HashFailure))
        );
    }
}
