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
use crate::report::SignatureReport;

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
    tsp::fail_broken(&stamps.broken, rep);
    out
}
