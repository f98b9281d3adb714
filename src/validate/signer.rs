//! One CMS signature of a document — a PDF signature, a SignerInfo of a
//! .p7s/.p7m — through the core: what is CMS about it
//! ([`super::cmscheck`]), its signature timestamps ([`super::tsp`]), its
//! proof of existence and the X.509 validation of its signer
//! ([`crate::core`]).

use super::cmscheck::{self, Content, SignerOutcome};
use super::tsp;
use crate::cms::{SignedData, SignerInfo};
use crate::core::x509::Role;
use crate::core::{Timing, VerifyOptions, poe, x509};
use crate::report::{Check, Indication, Outcome, SignatureReport, SubIndication};

/// Check `si` over `content` as a document signature. `timing.external_poe`:
/// a later document timestamp that covers it.
pub fn check_signature(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content: &Content<'_>,
    timing: Timing,
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) -> SignerOutcome {
    let out = cmscheck::check_signer_info(sd, si, content, opts, rep);
    let Some(signer) = &out.signer else {
        return out;
    };
    let stamps = tsp::signature_timestamps(si, opts, &out.embedded, timing, rep);
    let best = poe::best(stamps.poe, timing, rep);
    x509::validate(
        signer,
        &out.certs,
        &out.embedded,
        Role::DocumentSigner,
        best,
        timing,
        opts,
        rep,
    );
    if !stamps.broken.is_empty() {
        // A timestamp over something else than this signature value, or
        // whose TSA signature does not verify: either the signature value
        // was replaced after it was stamped or the token was taken from
        // another signature. The signature's own mathematics may hold, but
        // the evidence attached to it is false: never TOTAL_PASSED
        // (docs/report.md, "Broken signature timestamps").
        let list = stamps
            .broken
            .iter()
            .map(|k| format!("#{k}"))
            .collect::<Vec<_>>()
            .join(", ");
        rep.fail(
            Indication::Indeterminate,
            SubIndication::SigConstraintsFailure,
            Check::new(
                "SIGNATURE_TIMESTAMP_BROKEN",
                Outcome::Failed,
                format!("Dấu thời gian {list} gắn với chữ ký bị hỏng (không khớp với giá trị chữ ký hoặc chữ ký của TSA sai): bằng chứng đi kèm chữ ký không đúng"),
                format!("Signature timestamp {list} is broken (it does not stamp this signature value, or the TSA's signature does not verify): the evidence attached to the signature is false"),
            )
            .with("timestamps", stamps.broken.clone()),
        );
    }
    out
}
