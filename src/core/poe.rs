//! Proof of existence (ETSI EN 319 102-1 §5.6.2.2, §5.6.3): the time a
//! signature is proven to have existed, and the order of timestamps.

use super::Timing;
use crate::pki::cert;
use crate::report::{Check, Indication as I, Outcome, SignatureReport, SubIndication as S};

/// The best proof of existence of a signature: the earliest of its own valid
/// signature timestamps (`own`) and a proof from outside it (a later
/// document timestamp over it, `timing.external_poe`). Recorded in the report.
pub fn best(own: Option<i64>, timing: Timing, rep: &mut SignatureReport) -> Option<i64> {
    let poe = match (own, timing.external_poe) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(t) = timing.external_poe.filter(|t| own.is_none_or(|o| *t < o)) {
        rep.pass(
            Check::new(
                "POE_FROM_DOCUMENT_TIMESTAMP",
                Outcome::Info,
                format!(
                    "Một dấu thời gian tài liệu (hoặc lưu trữ) hợp lệ chứng minh chữ ký đã tồn tại lúc {}",
                    cert::fmt_unix(t)
                ),
                format!(
                    "A valid document (or archive) timestamp proves the signature existed at {}",
                    cert::fmt_unix(t)
                ),
            )
            .with("poe", cert::fmt_unix(t)),
        );
    }
    rep.poe = poe.map(cert::fmt_unix);
    poe
}

/// Timestamp order (§5.6.2.5): what a timestamp covers — a signature's
/// timestamp, an earlier document timestamp — must carry a time no later
/// than the covering timestamp's (`covering`).
pub fn check_order(own: i64, covering: i64, rep: &mut SignatureReport) {
    if covering >= own {
        return;
    }
    rep.fail(
        I::Indeterminate,
        S::TimestampOrderFailure,
        Check::new(
            "TIMESTAMP_ORDER_FAILURE",
            Outcome::Failed,
            format!(
                "Dấu thời gian {} muộn hơn dấu thời gian tài liệu (hoặc lưu trữ) bao phủ nó ({})",
                cert::fmt_unix(own),
                cert::fmt_unix(covering)
            ),
            format!(
                "A timestamp at {} is later than the document (or archive) timestamp covering it ({})",
                cert::fmt_unix(own),
                cert::fmt_unix(covering)
            ),
        )
        .with("timestamp", cert::fmt_unix(own))
        .with("covering_timestamp", cert::fmt_unix(covering)),
    );
}
