//! PDF signatures (ISO 32000-1 §12.8, ETSI EN 319 142-1 PAdES): ByteRange
//! rules, /Contents, coverage, then the CMS checks.

use super::cmscheck::Content;
use super::signer::check_signature;
use super::{VerifyOptions, document_error};
use crate::cms::{self, oid};
use crate::core::{RevocationProof, Timing, poe};
use crate::crypto::DigestAlg;
use crate::pdf::object::{Obj, is_white};
use crate::pdf::source::{Source, read_range};
use crate::pdf::{Document, PdfSignature, find_signatures};
use crate::pki::cert;
use crate::report::{
    Check, Coverage, CoverageKind, DocumentInfo, Indication as I, Level, Outcome, Report,
    SignatureKind, SignatureReport, SubIndication as S,
};

/// Verify every signature of a PDF.
pub fn verify_pdf(src: &dyn Source, name: &str, opts: &VerifyOptions) -> Report {
    let when = cert::fmt_unix(opts.at);
    let mut doc = DocumentInfo::new(name, src.len(), "PDF");
    let pdf = match Document::open(src, opts.limits.clone()) {
        Ok(d) => d,
        Err(e) => {
            doc.error = Some(document_error(&e));
            return Report::new(doc, when, Vec::new());
        }
    };
    // Validation data in the document security store (ETSI EN 319 142-1 §5.4).
    let dss = read_dss(&pdf);
    let local;
    let opts = match &dss {
        Some(d) if !d.certs.is_empty() || !d.data.is_empty() => {
            let mut o = opts.clone();
            o.intermediates.extend(d.certs.iter().cloned());
            o.revocation.extend(&d.data);
            local = o;
            &local
        }
        _ => opts,
    };
    if let Some(d) = dss.as_ref().filter(|d| d.unreadable_count > 0) {
        doc.notes.push(
            Check::new(
                "DSS_ITEMS_UNREADABLE",
                Outcome::Warning,
                format!(
                    "{} mục trong DSS không dùng được (quá lớn hoặc hỏng): {}",
                    d.unreadable_count,
                    d.unreadable.join("; ")
                ),
                format!(
                    "{} DSS item(s) cannot be used (too large or malformed): {}",
                    d.unreadable_count,
                    d.unreadable.join("; ")
                ),
            )
            .with("count", d.unreadable_count),
        );
    }
    if let Some(Dss { certs, data, .. }) = &dss {
        doc.notes.push(Check::new(
            "DSS_PRESENT",
            Outcome::Info,
            format!(
                "Kho dữ liệu xác thực (DSS): {} chứng thư, {} OCSP, {} CRL",
                certs.len(),
                data.ocsps.len(),
                data.crls.len()
            ),
            format!(
                "Document security store (DSS): {} certificates, {} OCSP responses, {} CRLs",
                certs.len(),
                data.ocsps.len(),
                data.crls.len()
            ),
        ));
    }
    let sigs = match find_signatures(&pdf) {
        Ok(s) => s,
        Err(e) => {
            doc.error = Some(document_error(&e));
            return Report::new(doc, when, Vec::new());
        }
    };
    doc.revisions = pdf
        .sections
        .iter()
        .rev()
        .enumerate()
        .map(|(i, s)| crate::report::Revision {
            number: i.saturating_add(1),
            xref_offset: s.offset,
            xref_kind: s.kind,
            objects: s.entries.len(),
        })
        .collect();
    if let Some(markers) = eof_markers(src) {
        let chain = pdf.sections.len();
        if markers != chain {
            doc.notes.push(
                Check::new(
                    "REVISION_MARKERS_MISMATCH",
                    Outcome::Warning,
                    format!("Tệp có {markers} dấu kết thúc %%EOF nhưng chuỗi tham chiếu chéo có {chain} phiên bản: có phần của tệp không thuộc phiên bản nào mà trình đọc sử dụng"),
                    format!("The file has {markers} %%EOF marker(s) but its cross-reference chain has {chain} revision(s): part of the file belongs to no revision a reader uses"),
                )
                .with("eof_markers", markers)
                .with("revisions", chain),
            );
        }
    }
    let dropped = signatures_dropped(&pdf, &sigs);
    if dropped > 0 {
        doc.notes.push(
            Check::new(
                "SIGNATURES_REMOVED_BY_LATER_REVISION",
                Outcome::Failed,
                format!("{dropped} chữ ký có trong một phiên bản trước của tệp nhưng không còn trong phiên bản hiện tại (bị gỡ bởi bản cập nhật sau)"),
                format!("{dropped} signature(s) present in an earlier revision of the file are no longer in the current one (removed by a later update)"),
            )
            .with("count", dropped),
        );
    }
    let dss_revocation = dss.as_ref().is_some_and(|d| !d.data.is_empty());
    let reports = check_all(&pdf, &sigs, opts, dss_revocation);
    for r in pdf.repairs.borrow().iter() {
        doc.notes.push(Check::new(
            "XREF_OFFSET_REPAIRED",
            Outcome::Warning,
            format!("Dữ liệu tham chiếu chéo ghi sai vị trí: {r}"),
            format!("The cross-reference data gives a wrong offset: {r}"),
        ));
    }
    if pdf.encrypted {
        doc.notes.push(Check::new(
            "PDF_ENCRYPTED",
            Outcome::Info,
            "Tệp PDF được mã hóa; chỉ đọc được phần không mã hóa",
            "The PDF is encrypted; only its unencrypted parts are read",
        ));
    }
    Report::new(doc, when, reports)
}

/// Files up to this size are scanned for `%%EOF` markers.
const EOF_SCAN_MAX: u64 = 16 << 20;

/// The number of `%%EOF` markers in the file (each revision ends with one,
/// ISO 32000-1 §7.5.5), or `None` for a file too large to scan.
fn eof_markers(src: &dyn Source) -> Option<usize> {
    if src.len() > EOF_SCAN_MAX {
        return None;
    }
    if let Some(all) = src.as_slice() {
        return Some(memchr::memmem::find_iter(all, b"%%EOF").count());
    }
    let mut buf = Vec::new();
    let mut count = 0usize;
    // The last 4 bytes of the previous chunk, for markers across chunks.
    let mut carry: Vec<u8> = Vec::new();
    crate::pdf::source::for_each_chunk(src, 0, src.len(), &mut buf, 1 << 16, |chunk| {
        let mut joined = std::mem::take(&mut carry);
        joined.extend_from_slice(chunk);
        count = count.saturating_add(memchr::memmem::find_iter(&joined, b"%%EOF").count());
        let keep = joined.len().saturating_sub(4);
        carry = joined.get(keep..).unwrap_or(&[]).to_vec();
    })
    .ok()?;
    Some(count)
}

/// Most earlier revisions looked at for signatures that later ones dropped.
const MAX_REVISIONS_SCANNED: usize = 64;

/// How many signature dictionaries of earlier revisions the current
/// revision no longer has: every signature field that a cross-reference
/// section lists (in the document as of that section) names its value; the
/// values the current fields do not name were dropped. Linear in the number
/// of entries: each listed object is read once, in its own revision.
fn signatures_dropped(pdf: &Document<'_>, current: &[PdfSignature]) -> usize {
    use std::collections::HashSet;
    let now: HashSet<_> = current.iter().filter_map(|s| s.dict_ref).collect();
    let mut gone = HashSet::new();
    // Every section but the newest (the current revision itself).
    for section in pdf.sections.iter().skip(1).take(MAX_REVISIONS_SCANNED) {
        for (_, o) in pdf.listed_objects(section).take(100_000) {
            let Some(d) = o.as_dict() else { continue };
            if d.name(b"FT") != Some(b"Sig") {
                continue;
            }
            if let Some(Obj::Ref(v)) = d.get(b"V") {
                if !now.contains(v) {
                    gone.insert(*v);
                }
            }
        }
    }
    gone.len()
}

/// The end of a signature's signed bytes, when its ByteRange can be read.
fn signed_end(sig: &PdfSignature) -> Option<u64> {
    match &sig.byte_range {
        Some(Obj::Array(a)) => match a.as_slice() {
            [_, _, Obj::Int(c), Obj::Int(d)] if *c >= 0 && *d >= 0 => {
                (*c as u64).checked_add(*d as u64)
            }
            _ => None,
        },
        _ => None,
    }
}

/// Check every signature, newest first: a valid document timestamp gives
/// proof of existence to everything it covers (the archive-timestamp chain,
/// ETSI EN 319 102-1 §5.6.3), so each earlier signature or timestamp is
/// validated with the earliest such time. Reports come back in document order.
fn check_all(
    pdf: &Document<'_>,
    sigs: &[PdfSignature],
    opts: &VerifyOptions,
    dss_revocation: bool,
) -> Vec<SignatureReport> {
    let ends: Vec<Option<u64>> = sigs.iter().map(signed_end).collect();
    let mut order: Vec<(usize, &PdfSignature, Option<u64>)> = sigs
        .iter()
        .zip(&ends)
        .enumerate()
        .map(|(i, (s, e))| (i, s, *e))
        .collect();
    order.sort_by_key(|(_, _, e)| std::cmp::Reverse(e.unwrap_or(0)));
    // (end of the timestamp's signed bytes, genTime) of valid document timestamps.
    let mut stamps: Vec<(u64, i64)> = Vec::new();
    // Ends of every document timestamp, valid or not (for the format level).
    let all_stamps: Vec<u64> = sigs
        .iter()
        .filter(|s| s.is_doc_timestamp())
        .filter_map(signed_end)
        .collect();
    let mut pre = shared_digests(pdf, sigs, opts);
    let mut memo = crate::pdf::changes::Memo::new(sigs.iter().find_map(|s| s.doc_mdp));
    memo.allow_annotations = opts.allow_annotations;
    memo.earliest_end = order.iter().filter_map(|(_, _, e)| *e).min();
    let mut out: Vec<Option<SignatureReport>> = vec![None; sigs.len()];
    for (i, sig, end) in order {
        let digest = pre.remove(&i);
        let poe = end.and_then(|e| {
            stamps
                .iter()
                .filter(|(te, _)| *te > e)
                .map(|(_, t)| *t)
                .min()
        });
        let timing = Timing {
            external_poe: poe,
            revocation_at_most: None,
        };
        let mut rep = check_pdf_signature(pdf, i, sig, digest, &memo, timing, opts);
        rep.conclude();
        if rep.kind == SignatureKind::PdfDocumentTimestamp && rep.indication == I::TotalPassed {
            if let (Some(e), Some(t)) = (end, rep.gen_time.as_deref().and_then(cert::parse_rfc3339))
            {
                stamps.push((e, t));
            }
        }
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(rep);
        }
    }
    let mut reports: Vec<SignatureReport> = out.into_iter().flatten().collect();
    for (r, end) in reports.iter_mut().zip(&ends) {
        let end = *end;
        check_timestamp_order(r, end, &stamps);
        r.revision = end
            .map(|e| pdf.sections.iter().filter(|s| s.offset < e).count())
            .filter(|k| *k > 0);
        if r.kind == SignatureKind::PdfSignature {
            let covered = end.is_some_and(|e| stamps.iter().any(|(te, _)| *te > e));
            r.level = baseline_level(r, covered);
            let end = end.unwrap_or(u64::MAX);
            r.format_level = Some(format_level(
                r,
                all_stamps.iter().any(|te| *te > end),
                dss_revocation,
            ));
        }
    }
    reports
}

/// Timestamp order (ETSI EN 319 102-1 §5.6.2.5): what a document timestamp
/// covers — a signature's timestamps, an earlier document timestamp — must
/// carry a time no later than the covering timestamp's.
fn check_timestamp_order(r: &mut SignatureReport, end: Option<u64>, stamps: &[(u64, i64)]) {
    let Some(end) = end else { return };
    let own = match r.kind {
        SignatureKind::PdfDocumentTimestamp if r.indication == I::TotalPassed => {
            r.gen_time.as_deref().and_then(cert::parse_rfc3339)
        }
        _ => r
            .timestamps
            .iter()
            .filter(|t| t.indication == I::TotalPassed)
            .filter_map(|t| t.gen_time.as_deref().and_then(cert::parse_rfc3339))
            .max(),
    };
    let Some(own) = own else { return };
    if let Some(cover) = stamps
        .iter()
        .filter(|(te, t)| *te > end && *t < own)
        .map(|(_, t)| *t)
        .min()
    {
        poe::check_order(own, cover, r);
    }
}

/// One signature's ranges [0, b) + [c, e) and the digest algorithm its SignerInfo names.
struct HashJob {
    index: usize,
    alg: DigestAlg,
    b: u64,
    c: u64,
    e: u64,
}

/// The ByteRange digests of several signatures in one pass over the file.
/// Serial signatures each cover everything before their /Contents: hashing
/// them one by one reads the file once per signature (quadratic in the
/// number of revisions). Here one running hash per algorithm reads it once;
/// at a signature's gap its state is copied, and the copy goes on from the
/// gap's end to the signature's end. Only for signatures with signed
/// attributes (the others need the bytes themselves); none when there is
/// only one signature. Anything unreadable is left to the normal path.
fn shared_digests(
    pdf: &Document<'_>,
    sigs: &[PdfSignature],
    opts: &VerifyOptions,
) -> std::collections::HashMap<usize, (DigestAlg, Vec<u8>)> {
    use std::collections::{BTreeSet, HashMap};
    let mut out = HashMap::new();
    if sigs.len() < 2 {
        return out;
    }
    let len = pdf.len();
    let mut jobs = Vec::new();
    for (index, sig) in sigs.iter().enumerate() {
        // The same ranges check_pdf_signature will hash: two, the first from 0.
        let Some(ranges) = readable_ranges(sig, len) else {
            continue;
        };
        let [(0, b), (c, d)] = ranges[..] else {
            continue;
        };
        let Some(e) = c.checked_add(d) else {
            continue;
        };
        if b > c {
            continue;
        }
        let Some(contents) = sig.contents_str() else {
            continue;
        };
        if contents.bytes.len() as u64 > opts.limits.max_signature_bytes {
            continue;
        }
        let Ok((der, _)) = cms::first_tlv(&contents.bytes) else {
            continue;
        };
        let Ok(sd) = cms::parse_signed_data(der, opts.limits.max_cms_certificates) else {
            continue;
        };
        let [si] = &sd.signer_infos[..] else { continue };
        if si.signed_attrs.is_none() {
            continue;
        }
        let Some(alg) = DigestAlg::from_oid(&si.digest_alg.oid) else {
            continue;
        };
        jobs.push(HashJob {
            index,
            alg,
            b,
            c,
            e,
        });
    }
    if jobs.len() < 2 {
        return out;
    }
    let mut points: BTreeSet<u64> = [0].into();
    for j in &jobs {
        points.extend([j.b, j.c, j.e]);
    }
    let mut running: HashMap<DigestAlg, crate::crypto::Digester> = HashMap::new();
    for j in &jobs {
        if let std::collections::hash_map::Entry::Vacant(v) = running.entry(j.alg) {
            match j.alg.hasher() {
                Ok(h) => {
                    v.insert(h);
                }
                Err(_) => return HashMap::new(),
            }
        }
    }
    let mut state: Vec<Option<crate::crypto::Digester>> = vec![None; jobs.len()];
    let points: Vec<u64> = points.into_iter().collect();
    let mut buf = Vec::new();
    for w in points.windows(2) {
        let [p, q] = *w else {
            continue;
        };
        for (slot, j) in state.iter_mut().zip(&jobs) {
            if j.b == p {
                *slot = running.get(&j.alg).cloned();
            }
        }
        let mut failed = false;
        let r = crate::pdf::source::for_each_chunk(
            pdf.source(),
            p,
            q.saturating_sub(p),
            &mut buf,
            1 << 20,
            |chunk| {
                for h in running.values_mut() {
                    failed |= h.update(chunk).is_err();
                }
                for (slot, j) in state.iter_mut().zip(&jobs) {
                    if j.c <= p && q <= j.e {
                        if let Some(h) = slot.as_mut() {
                            failed |= h.update(chunk).is_err();
                        }
                    }
                }
            },
        );
        if r.is_err() || failed {
            return HashMap::new();
        }
        for (slot, j) in state.iter_mut().zip(&jobs) {
            if j.e == q {
                if let Some(Ok(d)) = slot.take().map(|h| h.finish()) {
                    out.insert(j.index, (j.alg, d));
                }
            }
        }
    }
    out
}

/// The PAdES baseline level a signature reaches (ETSI EN 319 142-1 §6):
/// B-B for a signature that is not failed; B-T with a valid signature
/// timestamp or a valid document timestamp over it; B-LT when, on top, all
/// revocation data its verdict rests on is embedded in the document; B-LTA
/// when, on top, a valid document timestamp covers it.
pub fn baseline_level(r: &SignatureReport, covered_by_doc_ts: bool) -> Option<Level> {
    use crate::revocation::RevSource;
    if r.indication == I::TotalFailed {
        return None;
    }
    let t = r
        .timestamps
        .iter()
        .any(|ts| ts.indication == I::TotalPassed)
        || covered_by_doc_ts;
    if !t {
        return Some(Level::BB);
    }
    let used: Vec<_> = r.revocation.iter().filter(|e| e.used).collect();
    let lt = r.proven.revocation == Some(RevocationProof::Checked)
        && !used.is_empty()
        && used.iter().all(|e| {
            matches!(
                e.source,
                RevSource::Cms | RevSource::AdbeArchival | RevSource::Dss
            )
        });
    Some(match (lt, covered_by_doc_ts) {
        (false, _) => Level::BT,
        (true, false) => Level::BLT,
        (true, true) => Level::BLTA,
    })
}

/// The level the signature's form claims (ETSI EN 319 142-1 §6), without
/// validating: B-T with a signature timestamp or a later document timestamp;
/// B-LT when, on top, the document carries revocation data (`/DSS` or in the
/// CMS); B-LTA when, on top, a document timestamp follows it.
fn format_level(r: &SignatureReport, doc_ts_after: bool, dss_revocation: bool) -> Level {
    let t = !r.timestamps.is_empty() || doc_ts_after;
    let embedded = dss_revocation || r.facts.embedded_revocation;
    match (t, embedded, doc_ts_after) {
        (false, _, _) => Level::BB,
        (true, false, _) => Level::BT,
        (true, true, false) => Level::BLT,
        (true, true, true) => Level::BLTA,
    }
}

/// What the document security store holds.
struct Dss {
    certs: Vec<openssl::x509::X509>,
    data: crate::revocation::RevocationData,
    /// Items that could not be used, with why (at most 20 listed).
    unreadable: Vec<String>,
    unreadable_count: usize,
}

/// /DSS /Certs, /OCSPs and /CRLs (streams). Items too large or unreadable
/// are left out (and counted), never read whole beyond their limit.
fn read_dss(pdf: &Document<'_>) -> Option<Dss> {
    use crate::revocation::{MAX_CRL_BYTES, MAX_OCSP_BYTES, RevSource, RevocationData, unreadable};
    let catalog = pdf.catalog().ok()?;
    let dss = pdf.resolve_dict(catalog.get(b"DSS")?).ok()??;
    let mut out = Dss {
        certs: Vec::new(),
        data: RevocationData::default(),
        unreadable: Vec::new(),
        unreadable_count: 0,
    };
    let bad = |out: &mut Dss, why: String| {
        out.unreadable_count = out.unreadable_count.saturating_add(1);
        if out.unreadable.len() < 20 {
            out.unreadable.push(why);
        }
    };
    for (key, kind, max) in [
        (&b"Certs"[..], "certificate", 1u64 << 20),
        (b"OCSPs", "OCSP", MAX_OCSP_BYTES as u64),
        (b"CRLs", "CRL", MAX_CRL_BYTES as u64),
    ] {
        let Some(Ok(Obj::Array(items))) = dss.get(key).map(|a| pdf.resolve(a)) else {
            continue;
        };
        for (n, item) in items.iter().take(1000).enumerate() {
            let what = format!("/DSS /{} [{n}]", String::from_utf8_lossy(key));
            let st = match pdf.resolve(item) {
                Ok(Obj::Stream(st)) => st,
                Ok(o) => {
                    bad(
                        &mut out,
                        format!("{what}: a {}, not a stream", o.type_name()),
                    );
                    continue;
                }
                Err(e) => {
                    bad(&mut out, format!("{what}: {e}"));
                    continue;
                }
            };
            let d = match pdf.stream_data_max(&st, max) {
                Ok(d) => d,
                Err(e) => {
                    bad(&mut out, format!("{what}: {e}"));
                    continue;
                }
            };
            if kind == "certificate" {
                match crate::memo::x509(&d) {
                    Some(c) => out.certs.push(c),
                    None => bad(&mut out, format!("{what}: not a readable certificate")),
                }
                continue;
            }
            let raw: crate::revocation::Raw = d.into();
            if let Some(why) = unreadable(kind, &raw) {
                bad(&mut out, format!("{what}: {why}"));
                continue;
            }
            if kind == "OCSP" {
                out.data.ocsps.push((RevSource::Dss, raw));
            } else {
                out.data.crls.push((RevSource::Dss, raw));
            }
        }
    }
    Some(out)
}

fn structural(
    rep: &mut SignatureReport,
    code: &'static str,
    vi: impl Into<String>,
    en: impl Into<String>,
) {
    rep.fail(
        I::TotalFailed,
        S::FormatFailure,
        Check::new(code, Outcome::Failed, vi, en),
    );
}

/// Convert a PDF date (§7.9.4) to RFC 3339 when it parses; else keep the text.
pub fn pdf_date(s: &str) -> String {
    let t = s.strip_prefix("D:").unwrap_or(s);
    let num = |a: usize, b: usize, d: i64| -> Option<i64> {
        match t.get(a..b) {
            Some(x) if !x.is_empty() => x.parse().ok(),
            _ => Some(d),
        }
    };
    let parsed = (|| {
        let y = num(0, 4, -1)?;
        if y < 0 {
            return None;
        }
        let mo = num(4, 6, 1)?;
        let d = num(6, 8, 1)?;
        let h = num(8, 10, 0)?;
        let mi = num(10, 12, 0)?;
        let se = num(12, 14, 0)?;
        let rest = t.get(14..).unwrap_or("");
        let (sign, off): (i64, &str) = match rest.chars().next() {
            Some('+') => (1, rest.get(1..).unwrap_or("")),
            Some('-') => (-1, rest.get(1..).unwrap_or("")),
            _ => (1, ""),
        };
        let oh: i64 = off.get(0..2).and_then(|x| x.parse().ok()).unwrap_or(0);
        let om: i64 = off.get(3..5).and_then(|x| x.parse().ok()).unwrap_or(0);
        let date = time::Date::from_calendar_date(
            y as i32,
            time::Month::try_from(mo as u8).ok()?,
            d as u8,
        )
        .ok()?;
        let tm = time::Time::from_hms(h as u8, mi as u8, se as u8).ok()?;
        let offset = time::UtcOffset::from_whole_seconds(
            sign.saturating_mul(
                oh.clamp(0, 23)
                    .saturating_mul(3600)
                    .saturating_add(om.clamp(0, 59).saturating_mul(60)),
            ) as i32,
        )
        .ok()?;
        time::PrimitiveDateTime::new(date, tm)
            .assume_offset(offset)
            .format(&time::format_description::well_known::Rfc3339)
            .ok()
    })();
    parsed.unwrap_or_else(|| s.to_string())
}

/// ISO 32000-1 §12.8.1: /ByteRange is [0 b c d], the gap [b, c) is exactly
/// the /Contents hex string, and everything lies within the file.
fn check_byte_range(sig: &PdfSignature, len: u64, rep: &mut SignatureReport) -> Option<[u64; 4]> {
    let arr = match &sig.byte_range {
        Some(Obj::Array(a)) => a,
        Some(_) => {
            structural(
                rep,
                "BYTERANGE_INVALID",
                "/ByteRange không phải là mảng",
                "/ByteRange is not an array",
            );
            return None;
        }
        None => {
            structural(
                rep,
                "BYTERANGE_MISSING",
                "Chữ ký thiếu /ByteRange",
                "The signature has no /ByteRange",
            );
            return None;
        }
    };
    let nums: Option<Vec<i64>> = arr
        .iter()
        .map(|o| if let Obj::Int(i) = o { Some(*i) } else { None })
        .collect();
    let Some(nums) = nums.filter(|n| n.len() == 4 && n.iter().all(|x| *x >= 0)) else {
        structural(
            rep,
            "BYTERANGE_INVALID",
            "/ByteRange phải gồm đúng bốn số nguyên không âm",
            "/ByteRange must hold exactly four non-negative integers",
        );
        return None;
    };
    let [a, b, c, d] = [0, 1, 2, 3].map(|i| nums.get(i).map_or(0, |n| *n as u64));
    rep.coverage = Some(Coverage {
        kind: CoverageKind::Invalid,
        byte_range: nums.clone(),
        signed_end: c.saturating_add(d),
        file_size: len,
        bytes_after: len.saturating_sub(c.saturating_add(d)),
        modification_level: None,
        changes: Vec::new(),
    });
    if a != 0 {
        structural(
            rep,
            "BYTERANGE_NOT_FROM_START",
            "/ByteRange không bắt đầu từ byte 0",
            "/ByteRange does not start at byte 0",
        );
        return None;
    }
    let end = c.checked_add(d);
    if b == 0 || c <= b || end.is_none_or(|e| e > len) {
        structural(
            rep,
            "BYTERANGE_OUT_OF_BOUNDS",
            "/ByteRange chồng lấn hoặc vượt ra ngoài tệp",
            "/ByteRange overlaps or lies outside the file",
        );
        return None;
    }
    match &sig.contents {
        Some(Obj::Str(s)) if s.hex => {
            if s.start != b || s.end != c {
                structural(
                    rep,
                    "BYTERANGE_GAP_NOT_CONTENTS",
                    "Khoảng trống của /ByteRange không trùng đúng với /Contents của chữ ký",
                    "The /ByteRange gap is not exactly the signature's /Contents",
                );
                return None;
            }
        }
        Some(Obj::Str(_)) => {
            structural(
                rep,
                "CONTENTS_NOT_HEX",
                "/Contents phải là chuỗi hex",
                "/Contents must be a hexadecimal string",
            );
            return None;
        }
        _ => {
            structural(
                rep,
                "CONTENTS_MISSING",
                "Chữ ký thiếu /Contents",
                "The signature has no /Contents",
            );
            return None;
        }
    }
    rep.pass(
        Check::new(
            "BYTERANGE_VALID",
            Outcome::Passed,
            "/ByteRange hợp lệ: bắt đầu từ 0, trong tệp, khoảng trống đúng bằng /Contents",
            "/ByteRange is well-formed: from 0, within the file, gap exactly /Contents",
        )
        .with("byte_range", nums),
    );
    Some([a, b, c, d])
}

/// How much of the file the signature covers.
fn check_coverage(
    pdf: &Document<'_>,
    sig: &PdfSignature,
    br: [u64; 4],
    memo: &crate::pdf::changes::Memo,
    rep: &mut SignatureReport,
) {
    let len = pdf.len();
    let [_, _, c, d] = br;
    let end = c.saturating_add(d);
    let after = len.saturating_sub(end);
    let src = pdf.source();
    let mut kind = CoverageKind::Partial;
    let mut stray = None;
    if after == 0 {
        kind = CoverageKind::EntireFile;
    } else if after <= 16
        && read_range(src, end, after as usize).is_ok_and(|t| t.iter().all(|b| is_white(*b)))
    {
        kind = CoverageKind::EntireFile;
        rep.pass(Check::new(
            "COVERAGE_TRAILING_WHITESPACE",
            Outcome::Info,
            format!("{after} byte khoảng trắng cuối tệp nằm ngoài phạm vi ký"),
            format!("{after} trailing whitespace byte(s) are outside the signed range"),
        ));
    } else {
        let start = end.saturating_sub(8);
        let before = read_range(src, start, end.saturating_sub(start) as usize).unwrap_or_default();
        let trimmed: &[u8] = {
            let mut t = before.as_slice();
            while let [rest @ .., last] = t {
                if *last == b'\r' || *last == b'\n' {
                    t = rest;
                } else {
                    break;
                }
            }
            t
        };
        let at_eof_marker = trimmed.ends_with(b"%%EOF");
        let later_section = pdf.sections.iter().any(|s| s.offset >= end);
        if at_eof_marker && later_section {
            match memo.stray_after(pdf, end) {
                None => kind = CoverageKind::EntireRevision,
                Some(at) => stray = Some(at),
            }
        }
    }
    if let Some(c) = rep.coverage.as_mut() {
        c.kind = kind;
    }
    match kind {
        CoverageKind::EntireFile => {
            rep.proven.coverage = true;
            rep.pass(Check::new(
                "COVERAGE_ENTIRE_FILE",
                Outcome::Passed,
                "Chữ ký bao phủ toàn bộ tệp",
                "The signature covers the whole file",
            ))
        }
        CoverageKind::EntireRevision => check_later_changes(pdf, sig, end, after, memo, rep),
        _ => {
            let (vi, en) = match stray {
                Some(at) => (
                    format!(
                        "Có {after} byte sau phạm vi đã ký; từ vị trí {at} là dữ liệu không thuộc bản cập nhật nào (không bảng tham chiếu chéo nào liệt kê)"
                    ),
                    format!(
                        "{after} byte(s) follow the signed range; from offset {at} they belong to no incremental update (no cross-reference section lists them)"
                    ),
                ),
                None => (
                    format!(
                        "Có {after} byte sau phạm vi đã ký không thuộc một bản cập nhật hợp lệ"
                    ),
                    format!(
                        "{after} byte(s) after the signed range are not a valid incremental update"
                    ),
                ),
            };
            let mut check = Check::new(
                "UNEXPLAINED_BYTES_AFTER_SIGNED_RANGE",
                Outcome::Failed,
                vi,
                en,
            )
            .with("bytes_after", after);
            if let Some(at) = stray {
                check = check.with("stray_offset", at);
            }
            rep.fail(I::TotalFailed, S::FormatFailure, check)
        }
    }
}

/// Classify what the incremental updates after the signed revision changed.
fn check_later_changes(
    pdf: &Document<'_>,
    sig: &PdfSignature,
    end: u64,
    after: u64,
    memo: &crate::pdf::changes::Memo,
    rep: &mut SignatureReport,
) {
    use crate::pdf::changes::{self, ModLevel};
    let analysis = match changes::analyse_with(pdf, end, memo) {
        Ok(a) => a,
        Err(e) => {
            rep.fail(
                I::Indeterminate,
                S::SigConstraintsFailure,
                Check::new(
                    "CHANGES_NOT_ANALYSABLE",
                    Outcome::Failed,
                    format!("Không phân tích được các bản cập nhật sau khi ký ({after} byte): {e}"),
                    format!(
                        "The updates after signing ({after} byte(s)) could not be analysed: {e}"
                    ),
                )
                .with("bytes_after", after),
            );
            return;
        }
    };
    let level = analysis.level;
    let level_name = level.as_str();
    let bad: Vec<String> = analysis
        .disallowed()
        .take(10)
        .map(|c| format!("{} {}", c.object, c.what))
        .collect();
    if let Some(c) = rep.coverage.as_mut() {
        c.modification_level = Some(level);
        c.changes = analysis.changes.iter().take(200).cloned().collect();
    }
    let revisions = analysis.later_sections;
    let pages = &analysis.pages_changed;
    if !pages.is_empty() {
        let list = |w: &str| {
            pages
                .iter()
                .take(20)
                .map(|p| format!("{w} {p}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        rep.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "PAGES_CHANGED_AFTER_SIGNING",
                Outcome::Failed,
                format!("{}: nội dung bị thay đổi sau khi ký", list("trang")),
                format!("{}: content changed after signing", list("page")),
            )
            .with("pages", pages.clone()),
        );
    }
    if level == ModLevel::Other {
        rep.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "DISALLOWED_CHANGES_AFTER_SIGNING",
                Outcome::Failed,
                format!(
                    "Tài liệu bị thay đổi sau khi ký theo cách không được phép ({revisions} bản cập nhật): {}",
                    bad.join("; ")
                ),
                format!(
                    "The document was changed after signing in a way that is not allowed ({revisions} update(s)): {}",
                    bad.join("; ")
                ),
            )
            .with("modification_level", level_name)
            .with("disallowed", bad.clone()),
        );
        return;
    }
    // A certification signature's DocMDP permission (ISO 32000-1 §12.8.2.2):
    // P=1 allows no change but validation data and document timestamps.
    // A PDF 2.0 field lock with /P locks the document the same way once
    // its signature is applied (ISO 32000-2 §12.7.5.5); the stricter of the
    // two counts, so a later, looser lock cannot undo it.
    if sig.permission() == Some(1) && level >= ModLevel::FormFilling {
        let (vi, en) = if sig.doc_mdp == Some(1) {
            (
                "Chữ ký chứng nhận không cho phép thay đổi nào (DocMDP P=1), nhưng sau đó tài liệu đã được ký thêm, điền biểu mẫu hoặc thêm chú thích",
                "The certification signature allows no changes (DocMDP P=1), yet the document was signed again, its form filled or annotations added afterwards",
            )
        } else {
            (
                "Ô chữ ký này khóa tài liệu sau khi ký (khóa trường /P 1: không cho phép thay đổi), nhưng sau đó tài liệu đã được ký thêm, điền biểu mẫu hoặc thêm chú thích",
                "This signature's field lock allows no changes once signed (lock /P 1), yet the document was signed again, its form filled or annotations added afterwards",
            )
        };
        rep.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new("DOCMDP_VIOLATED", Outcome::Failed, vi, en)
                .with("modification_level", level_name),
        );
        return;
    }
    // Annotations added after signing: never over signed content; else as
    // the certification (P=3 allows them) or the acceptance policy says.
    if level == ModLevel::Annotations {
        let list = |a: &[&changes::AddedAnnotation], page: &str| {
            a.iter()
                .take(10)
                .map(|x| {
                    let rect = x.rect.map_or("?".to_string(), |r| {
                        format!("[{:.0} {:.0} {:.0} {:.0}]", r[0], r[1], r[2], r[3])
                    });
                    format!("/{} {page} {} {rect}", x.subtype, x.page)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let all: Vec<&changes::AddedAnnotation> = analysis.annotations.iter().collect();
        let over: Vec<&changes::AddedAnnotation> =
            all.iter().copied().filter(|a| a.overlaps_content).collect();
        let detail = serde_json::to_value(&analysis.annotations).unwrap_or_default();
        if !over.is_empty() {
            rep.fail(
                I::Indeterminate,
                S::SigConstraintsFailure,
                Check::new(
                    "ANNOTATION_OVER_SIGNED_CONTENT",
                    Outcome::Failed,
                    format!(
                        "Chú thích được thêm sau khi ký nằm đè lên nội dung đã ký: {}",
                        list(&over, "trang")
                    ),
                    format!(
                        "Annotations added after signing lie over signed content: {}",
                        list(&over, "page")
                    ),
                )
                .with("annotations", detail),
            );
            return;
        }
        // The document's permission: this signature's own (DocMDP or field
        // lock), else the certification's. P=1 and P=2 forbid annotations
        // (ISO 32000-1 Table 254); under P=3 or none, the policy decides.
        let permission = sig.permission().or(memo.certification);
        let allowed = memo.allow_annotations && matches!(permission, None | Some(3));
        if !allowed {
            let (why_vi, why_en) = match permission {
                Some(p @ (1 | 2)) => (
                    format!("quyền DocMDP/khóa P={p} của chữ ký không cho phép thêm chú thích"),
                    format!("the signature's DocMDP/lock permission P={p} does not allow annotations"),
                ),
                _ => (
                    "chính sách tiếp nhận không chấp nhận chú thích thêm sau khi ký (allow_annotations = false)".to_string(),
                    "the acceptance policy does not accept annotations added after signing (allow_annotations = false)".to_string(),
                ),
            };
            rep.fail(
                I::Indeterminate,
                S::SigConstraintsFailure,
                Check::new(
                    "ANNOTATIONS_ADDED_AFTER_SIGNING",
                    Outcome::Failed,
                    format!(
                        "Chú thích được thêm sau khi ký ({}); {why_vi}",
                        list(&all, "trang")
                    ),
                    format!(
                        "Annotations were added after signing ({}); {why_en}",
                        list(&all, "page")
                    ),
                )
                .with("annotations", detail),
            );
            return;
        }
        rep.pass(
            Check::new(
                "ANNOTATIONS_ADDED_AFTER_SIGNING",
                Outcome::Warning,
                format!(
                    "Chú thích được thêm sau khi ký, không đè lên nội dung đã ký: {}",
                    list(&all, "trang")
                ),
                format!(
                    "Annotations were added after signing, over no signed content: {}",
                    list(&all, "page")
                ),
            )
            .with("annotations", detail),
        );
    }
    // Fields this signature locked (FieldMDP) must not have been filled since.
    let locked: Vec<&String> = analysis
        .filled_fields
        .iter()
        .filter(|f| sig.locks.iter().any(|l| l.locks(f)))
        .collect();
    if !locked.is_empty() {
        let names = locked
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        rep.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "LOCKED_FIELD_CHANGED",
                Outcome::Failed,
                format!(
                    "Trường biểu mẫu bị khóa bởi chữ ký này đã bị thay đổi sau khi ký: {names}"
                ),
                format!("Form fields this signature locked were changed after signing: {names}"),
            )
            .with(
                "fields",
                locked.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ),
        );
        return;
    }
    // Filling form fields after signing changes what the page shows (the
    // "replace" shadow attack uses exactly this): allowed only where a
    // certification signature permits it (DocMDP /P 2 or 3).
    if !analysis.filled_fields.is_empty() && !matches!(memo.certification, Some(2 | 3)) {
        let names = analysis.filled_fields.join(", ");
        rep.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "FORM_FILLED_WITHOUT_PERMISSION",
                Outcome::Failed,
                format!("Biểu mẫu được điền sau khi ký ({names}) mà không có chữ ký chứng nhận nào cho phép (DocMDP P=2 hoặc 3)"),
                format!("Form fields were filled after signing ({names}) and no certification signature permits it (DocMDP P=2 or 3)"),
            )
            .with("fields", analysis.filled_fields.clone()),
        );
        return;
    }
    // A certification signature with P=2 or 3 allows signing, but a new
    // visible signature can draw over the certified content (the "sneaky
    // signature" attack): only fields the certifier prepared may be filled.
    if matches!(sig.permission(), Some(2 | 3)) && !analysis.new_visible_signatures.is_empty() {
        let names = analysis.new_visible_signatures.join(", ");
        rep.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "VISIBLE_SIGNATURE_ADDED_AFTER_CERTIFICATION",
                Outcome::Failed,
                format!("Sau chữ ký chứng nhận, một chữ ký hiển thị mới được thêm vào ô chữ ký không có sẵn ({names}); hình hiển thị của nó có thể che nội dung đã chứng nhận"),
                format!("After the certification signature, a new visible signature was added in a field the certifier did not prepare ({names}); its appearance may cover certified content"),
            )
            .with("fields", analysis.new_visible_signatures.clone()),
        );
        return;
    }
    let (vi, en) = match level {
        ModLevel::None => (
            "các đối tượng được ghi lại nhưng không thay đổi",
            "objects rewritten without change",
        ),
        ModLevel::LtaUpdates => (
            "chỉ thêm dữ liệu xác thực (DSS) và dấu thời gian tài liệu",
            "only validation data (DSS) and document timestamps were added",
        ),
        ModLevel::Annotations => (
            "chỉ thêm chú thích (không đè lên nội dung đã ký), chữ ký sau, dữ liệu xác thực",
            "only annotations (over no signed content), later signatures and validation data were added",
        ),
        _ => (
            "chỉ thêm chữ ký sau (và dữ liệu xác thực, dấu thời gian)",
            "only later signatures (and validation data, timestamps) were added",
        ),
    };
    rep.proven.coverage = true;
    rep.pass(
        Check::new(
            "CHANGES_AFTER_SIGNING_ALLOWED",
            Outcome::Passed,
            format!("Chữ ký bao phủ một phiên bản của tệp; {revisions} bản cập nhật sau đó: {vi}"),
            format!("The signature covers one revision; {revisions} later update(s): {en}"),
        )
        .with("modification_level", level_name)
        .with("bytes_after", after),
    );
}

/// The ranges of a ByteRange that can be read, even when the ByteRange
/// breaks the rules: used only to gather evidence for the report.
fn readable_ranges(sig: &PdfSignature, len: u64) -> Option<Vec<(u64, u64)>> {
    let Some(Obj::Array(a)) = &sig.byte_range else {
        return None;
    };
    if a.is_empty() || a.len() % 2 != 0 || a.len() > 16 {
        return None;
    }
    let mut out = Vec::new();
    for p in a.chunks(2) {
        match p {
            [Obj::Int(o), Obj::Int(l)] if *o >= 0 && *l >= 0 => {
                let (o, l) = (*o as u64, *l as u64);
                if o.checked_add(l).is_none_or(|e| e > len) {
                    return None;
                }
                out.push((o, l));
            }
            _ => return None,
        }
    }
    Some(out)
}

/// What the SubFilter says the /Contents holds.
#[derive(PartialEq, Eq)]
enum SubFilterKind {
    Detached,
    DocTimestamp,
    LegacySha1,
    LegacyX509,
    Unknown,
}

/// One PDF signature or document timestamp; its indication is concluded by the caller.
fn check_pdf_signature(
    pdf: &Document<'_>,
    index: usize,
    sig: &PdfSignature,
    digest: Option<(DigestAlg, Vec<u8>)>,
    memo: &crate::pdf::changes::Memo,
    timing: Timing,
    opts: &VerifyOptions,
) -> SignatureReport {
    let is_ts = sig.is_doc_timestamp();
    let mut rep = SignatureReport::new(
        index,
        if is_ts {
            SignatureKind::PdfDocumentTimestamp
        } else {
            SignatureKind::PdfSignature
        },
    );
    rep.field_name = Some(sig.field_name.clone());
    rep.doc_mdp = sig.doc_mdp;
    rep.field_locks = sig.locks.iter().map(|l| l.describe()).collect();
    rep.lock_permission = sig.lock_permission;
    rep.sub_filter = sig.sub_filter.clone();
    rep.reason = sig.reason.clone();
    rep.location = sig.location.clone();
    rep.claimed_signing_time = sig.claimed_time.as_deref().map(pdf_date);
    for p in &sig.problems {
        structural(
            &mut rep,
            p,
            format!("Từ điển chữ ký có cấu trúc bất thường: {p}"),
            format!("The signature dictionary is structurally abnormal: {p}"),
        );
    }
    // ByteRange rules; when broken, the ranges may still be read for evidence.
    let ranges = match check_byte_range(sig, pdf.len(), &mut rep) {
        Some(br) => {
            check_coverage(pdf, sig, br, memo, &mut rep);
            vec![(br[0], br[1]), (br[2], br[3])]
        }
        None => match readable_ranges(sig, pdf.len()) {
            Some(r) => {
                rep.pass(Check::new(
                    "INTEGRITY_CHECKED_FOR_EVIDENCE",
                    Outcome::Info,
                    "/ByteRange không hợp lệ; tính toàn vẹn vẫn được kiểm tra để làm bằng chứng nhưng chữ ký không được chấp nhận",
                    "The /ByteRange is invalid; integrity is still checked as evidence, but the signature is not accepted",
                ));
                r
            }
            None => return rep,
        },
    };

    // SubFilter (ISO 32000-1 §12.8.3, ISO 32000-2 §12.8.3.4, ETSI EN 319 142-1).
    let sub = sig.sub_filter.as_deref().unwrap_or("");
    let kind = match sub {
        "adbe.pkcs7.detached" | "ETSI.CAdES.detached" if !is_ts => SubFilterKind::Detached,
        "ETSI.RFC3161" => SubFilterKind::DocTimestamp,
        "adbe.pkcs7.sha1" => SubFilterKind::LegacySha1,
        "adbe.x509.rsa_sha1" => SubFilterKind::LegacyX509,
        _ => SubFilterKind::Unknown,
    };
    match kind {
        SubFilterKind::LegacySha1 | SubFilterKind::LegacyX509 => rep.fail(
            I::Indeterminate,
            S::CryptoConstraintsFailure,
            Check::new(
                "LEGACY_SUBFILTER",
                Outcome::Failed,
                format!("Định dạng chữ ký cũ {sub} (dựa trên SHA-1) không được chấp nhận"),
                format!("Legacy signature format {sub} (SHA-1 based) is not accepted"),
            ),
        ),
        SubFilterKind::Unknown => rep.fail(
            I::Indeterminate,
            S::FormatFailure,
            Check::new(
                "SUBFILTER_UNSUPPORTED",
                Outcome::Failed,
                format!("SubFilter '{sub}' không được hỗ trợ; nếu /Contents là CMS tách rời, tính toàn vẹn được kiểm tra để làm bằng chứng"),
                format!("Unsupported SubFilter '{sub}'; if /Contents is detached CMS, integrity is checked as evidence"),
            ),
        ),
        _ => {}
    }
    if kind == SubFilterKind::LegacyX509 {
        return rep;
    }

    let Some(contents) = sig.contents_str() else {
        return rep;
    };
    if contents.bytes.len() as u64 > opts.limits.max_signature_bytes {
        structural(
            &mut rep,
            "CONTENTS_TOO_LARGE",
            "/Contents vượt quá giới hạn kích thước",
            format!(
                "/Contents exceeds the size limit of {} bytes",
                opts.limits.max_signature_bytes
            ),
        );
        return rep;
    }
    let (cms_der, padding) = match cms::first_tlv(&contents.bytes) {
        Ok(x) => x,
        Err(e) => {
            structural(
                &mut rep,
                "CMS_MALFORMED",
                format!("/Contents không chứa cấu trúc CMS hợp lệ: {e}"),
                format!("/Contents does not hold a valid CMS structure: {e}"),
            );
            return rep;
        }
    };
    if padding.iter().any(|b| *b != 0) {
        structural(
            &mut rep,
            "CONTENTS_PADDING_NOT_ZERO",
            "Phần đệm sau cấu trúc CMS trong /Contents chứa dữ liệu lạ",
            "The padding after the CMS structure in /Contents holds unexpected data",
        );
    }
    let sd = match cms::parse_signed_data(cms_der, opts.limits.max_cms_certificates) {
        Ok(sd) => sd,
        Err(e) => {
            structural(
                &mut rep,
                "CMS_MALFORMED",
                format!("Cấu trúc CMS của chữ ký bị lỗi: {e}"),
                format!("The signature's CMS structure is malformed: {e}"),
            );
            return rep;
        }
    };
    let [si] = sd.signer_infos.as_slice() else {
        structural(
            &mut rep,
            "CMS_SIGNER_COUNT",
            format!(
                "Chữ ký PDF phải có đúng một người ký (SignerInfo), có {}",
                sd.signer_infos.len()
            ),
            format!(
                "A PDF signature must have exactly one SignerInfo, found {}",
                sd.signer_infos.len()
            ),
        );
        return rep;
    };
    match kind {
        SubFilterKind::DocTimestamp => {
            super::tsp::check_token(
                &sd,
                si,
                &Content::Ranges(pdf.source(), ranges),
                opts,
                &crate::revocation::RevocationData::default(),
                timing,
                &mut rep,
            );
        }
        SubFilterKind::LegacySha1 => {
            check_legacy_sha1(pdf.source(), &sd, si, ranges, timing, opts, &mut rep)
        }
        _ => {
            // The digest from the shared pass, when it is for this SignerInfo's algorithm.
            let content = match digest {
                Some((alg, d))
                    if si.signed_attrs.is_some()
                        && DigestAlg::from_oid(&si.digest_alg.oid) == Some(alg) =>
                {
                    Content::Hashed(pdf.source(), ranges, alg, d)
                }
                _ => Content::Ranges(pdf.source(), ranges),
            };
            check_detached(&sd, si, content, timing, opts, &mut rep)
        }
    }
    rep
}

/// adbe.pkcs7.detached / ETSI.CAdES.detached: the CMS must not encapsulate
/// content (ISO 32000-1 §12.8.3.3.1). When it does and the content equals the
/// signed bytes, integrity is still checked, as evidence.
fn check_detached(
    sd: &cms::SignedData<'_>,
    si: &cms::SignerInfo<'_>,
    content: Content<'_>,
    timing: Timing,
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) {
    match sd.econtent.as_deref() {
        None => {}
        Some([]) => rep.pass(Check::new(
            "CMS_EMPTY_ECONTENT",
            Outcome::Warning,
            "CMS chứa nội dung rỗng; được coi là chữ ký tách rời",
            "The CMS encapsulates empty content; treated as detached",
        )),
        Some(ec) => {
            structural(
                rep,
                "CMS_NOT_DETACHED",
                "Chữ ký PDF phải là chữ ký tách rời (không chứa nội dung)",
                "A PDF signature must be detached (no encapsulated content)",
            );
            let same = match (
                DigestAlg::Sha256.digest(ec),
                content.digest(DigestAlg::Sha256),
            ) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if !same {
                rep.fail(
                    I::TotalFailed,
                    S::HashFailure,
                    Check::new(
                        "ECONTENT_NOT_SIGNED_RANGE",
                        Outcome::Failed,
                        "Nội dung nằm trong CMS không phải là phần tài liệu được ký",
                        "The content inside the CMS is not the signed part of the document",
                    ),
                );
                return;
            }
        }
    }
    if sd.econtent_type != oid::DATA {
        structural(
            rep,
            "CMS_CONTENT_TYPE",
            "Kiểu nội dung của CMS phải là id-data",
            "The CMS content type must be id-data",
        );
    }
    check_signature(sd, si, &content, timing, opts, rep);
}

/// adbe.pkcs7.sha1 (ISO 32000-1 §12.8.3.3.1): the CMS signs the SHA-1 digest
/// of the signed bytes, given as its encapsulated content. Checked as evidence.
fn check_legacy_sha1(
    src: &dyn Source,
    sd: &cms::SignedData<'_>,
    si: &cms::SignerInfo<'_>,
    ranges: Vec<(u64, u64)>,
    timing: Timing,
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) {
    let Some(ec) = sd.econtent.as_deref() else {
        structural(
            rep,
            "CMS_ECONTENT_MISSING",
            "Thiếu nội dung (giá trị băm SHA-1) trong CMS",
            "The CMS lacks its content (the SHA-1 digest)",
        );
        return;
    };
    match Content::Ranges(src, ranges).digest(DigestAlg::Sha1) {
        Ok(d) if d == ec => rep.pass(Check::new(
            "LEGACY_SHA1_DIGEST_MATCH",
            Outcome::Passed,
            "Giá trị băm SHA-1 trong chữ ký khớp với tài liệu",
            "The SHA-1 digest inside the signature matches the document",
        )),
        _ => {
            rep.fail(
                I::TotalFailed,
                S::HashFailure,
                Check::new(
                    "LEGACY_SHA1_DIGEST_MISMATCH",
                    Outcome::Failed,
                    "Giá trị băm SHA-1 trong chữ ký KHÔNG khớp với tài liệu",
                    "The SHA-1 digest inside the signature does NOT match the document",
                ),
            );
            return;
        }
    }
    check_signature(sd, si, &Content::Bytes(ec), timing, opts, rep);
}
