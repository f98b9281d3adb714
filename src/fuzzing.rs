//! Entry points shared by the cargo-fuzz targets and by the regression test
//! that replays saved fuzz inputs (`tests/fuzz_regressions.rs`).

use crate::Limits;
use crate::pdf::source::MemSource;
use crate::pdf::{Document, find_signatures};
use crate::pki::TrustStore;
use crate::validate::{VerifyOptions, verify_bytes};

/// Small limits so that a fuzz input cannot make a run slow.
fn limits() -> Limits {
    Limits {
        max_object_bytes: 1 << 20,
        max_stream_bytes: 1 << 20,
        max_xref_entries: 100_000,
        ..Limits::default()
    }
}

pub fn pdf_signatures(data: &[u8]) {
    let src = MemSource(data);
    if let Ok(doc) = Document::open(&src, limits()) {
        let _ = find_signatures(&doc);
    }
}

/// The revision chain and the analysis of changes after each `%%EOF`
/// (as if a signature ended there), at most 8 of them.
pub fn revisions(data: &[u8]) {
    let src = MemSource(data);
    let Ok(doc) = Document::open(&src, limits()) else {
        return;
    };
    let ends = data
        .windows(5)
        .enumerate()
        .filter(|(_, w)| w == b"%%EOF")
        .map(|(i, _)| (i + 5) as u64)
        .take(8);
    for end in ends {
        let _ = crate::pdf::changes::analyse(&doc, end);
    }
}

pub fn cms(data: &[u8]) {
    if let Ok((tlv, _)) = crate::cms::first_tlv(data) {
        if let Ok(sd) = crate::cms::parse_signed_data(tlv, 64) {
            for si in &sd.signer_infos {
                for a in si.signed_attr(crate::cms::oid::SIGNING_CERTIFICATE_V2) {
                    for v in &a.values {
                        let _ = crate::cms::parse_ess_cert_ids(v, true);
                    }
                }
            }
            if let Some(c) = &sd.econtent {
                let _ = crate::validate::parse_tst_info(c);
            }
        }
    }
}

pub fn verify(data: &[u8]) {
    let mut opts = VerifyOptions::new(TrustStore::new(), 1_790_000_000);
    opts.limits = limits();
    let _ = verify_bytes(data, None, "fuzz", &opts);
}
