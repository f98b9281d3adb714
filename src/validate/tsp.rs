//! RFC 3161 timestamp tokens: TSTInfo, the token's signature by a TSA
//! (critical timeStamping EKU), and the message imprint over what it stamps.
//! Used for PDF document timestamps, CMS signature timestamps and standalone
//! TimeStampResp files.

use super::cmscheck::{Content, check_signer_info};
use crate::cms::{self, SignedData, SignerInfo, oid};
use crate::core::x509::Role;
use crate::core::{Timing, VerifyOptions, poe};
use crate::crypto::DigestAlg;
use crate::der::{self, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE};
use crate::error::{Error, Result};
use crate::pki::cert;
use crate::report::{
    Check, Indication as I, Outcome, SignatureKind, SignatureReport, SubIndication as S,
};
use crate::revocation::RevocationData;

/// A TSTInfo's message imprint and genTime (RFC 3161 §2.4.2).
#[derive(Clone, Debug)]
pub struct TstInfo {
    pub imprint_alg: String,
    pub imprint: Vec<u8>,
    /// Unix seconds (fractions of a second are dropped).
    pub gen_time: i64,
}

pub fn parse_tst_info(b: &[u8]) -> Result<TstInfo> {
    let t = der::parse_exact(b)?.expect(TAG_SEQUENCE)?;
    let mut r = t.children();
    let v = r.read_tag(TAG_INTEGER)?;
    if v.value != [1] {
        return Err(Error::asn1("TSTInfo version must be 1"));
    }
    der::read_oid(&mut r)?;
    let mut mi = r.read_tag(TAG_SEQUENCE)?.children();
    let alg = cms::AlgId::parse(mi.read()?)?;
    let imprint = mi.read_tag(TAG_OCTET_STRING)?.value.to_vec();
    mi.finish()?;
    r.read_tag(TAG_INTEGER)?;
    let gt = r.read_tag(der::TAG_GEN_TIME)?;
    Ok(TstInfo {
        imprint_alg: alg.oid,
        imprint,
        gen_time: der::parse_time(&gt)?,
    })
}

fn structural(rep: &mut SignatureReport, code: &'static str, vi: String, en: String) {
    rep.fail(
        I::TotalFailed,
        S::FormatFailure,
        Check::new(code, Outcome::Failed, vi, en),
    );
}

/// Check a parsed token (one SignerInfo over a TSTInfo) against the data it
/// claims to stamp. `extra`: revocation data of the signature the token
/// belongs to; `timing.external_poe`: a later document timestamp over it.
/// Returns the TSTInfo when it could be read.
pub fn check_token(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    stamped: &Content<'_>,
    opts: &VerifyOptions,
    extra: &RevocationData,
    timing: Timing,
    rep: &mut SignatureReport,
) -> Option<TstInfo> {
    let Some(econtent) = sd
        .econtent
        .as_deref()
        .filter(|_| sd.econtent_type == oid::TST_INFO)
    else {
        structural(
            rep,
            "TIMESTAMP_NOT_TSTINFO",
            "Dấu thời gian không chứa TSTInfo".into(),
            "The timestamp does not encapsulate a TSTInfo".into(),
        );
        return None;
    };
    let parsed = parse_tst_info(econtent);
    let out = check_signer_info(sd, si, &Content::Bytes(econtent), opts, rep);
    let signer = out.signer.clone();
    if let Some(c) = &out.signer {
        // The TSA's path is judged for revocation at the time it attests
        // (revocation data issued after genTime shows whether the TSA was
        // revoked by then); its validity at the validation time or POE.
        let mut data = out.embedded.clone();
        data.extend(extra);
        let best = poe::best(None, timing, rep);
        let timing = Timing {
            revocation_at_most: parsed.as_ref().ok().map(|t| t.gen_time),
            ..timing
        };
        crate::core::x509::validate(
            c,
            &out.certs,
            &data,
            Role::TimestampAuthority,
            best,
            timing,
            opts,
            rep,
        );
    }
    // A timestamp over the timestamp inside its own SignerInfo is not
    // evaluated (and never recursed into): it proves nothing kyso uses.
    let nested = si.unsigned_attr(oid::SIGNATURE_TIMESTAMP).len();
    if nested > 0 {
        rep.pass(
            Check::new(
                "NESTED_TIMESTAMP_IGNORED",
                Outcome::Warning,
                "Dấu thời gian chứa một dấu thời gian lồng bên trong; phần lồng không được kiểm tra và không được dùng",
                "The timestamp carries a nested timestamp; the nested one is neither checked nor used",
            )
            .with("nested", nested),
        );
    }
    let tst = match parsed {
        Ok(t) => t,
        Err(e) => {
            structural(
                rep,
                "TSTINFO_MALFORMED",
                format!("TSTInfo bị lỗi: {e}"),
                format!("Malformed TSTInfo: {e}"),
            );
            return None;
        }
    };
    let when = cert::fmt_unix(tst.gen_time);
    rep.gen_time = Some(when.clone());
    // The TSA's certificate must be valid when it issues the token.
    if let Some(c) = &signer {
        let nb = cert::asn1_to_unix(c.not_before());
        let na = cert::asn1_to_unix(c.not_after());
        if nb.is_none_or(|nb| tst.gen_time < nb) || na.is_none_or(|na| tst.gen_time > na) {
            rep.fail(
                I::Indeterminate,
                S::ChainConstraintsFailure,
                Check::new(
                    "TIMESTAMP_OUTSIDE_TSA_VALIDITY",
                    Outcome::Failed,
                    format!("Thời điểm của dấu thời gian ({when}) nằm ngoài thời hạn chứng thư của đơn vị cấp dấu thời gian"),
                    format!("The timestamp's time ({when}) lies outside the validity of the TSA certificate"),
                ),
            );
        }
    }
    let Some(alg) = DigestAlg::from_oid(&tst.imprint_alg) else {
        rep.fail(
            I::Indeterminate,
            S::CryptoConstraintsFailure,
            Check::new(
                "TIMESTAMP_IMPRINT_ALG_UNSUPPORTED",
                Outcome::Failed,
                "Thuật toán băm của dấu thời gian không được hỗ trợ",
                "The timestamp's imprint hash algorithm is not supported",
            ),
        );
        return Some(tst);
    };
    match stamped.digest(alg) {
        Ok(d) if d == tst.imprint => {
            rep.proven.coverage = true;
            rep.pass(
                Check::new(
                    "TIMESTAMP_IMPRINT_MATCH",
                    Outcome::Passed,
                    format!("Dấu thời gian khớp với dữ liệu được đóng dấu; thời điểm: {when}"),
                    format!("The timestamp matches the stamped data; time: {when}"),
                )
                .with("gen_time", when),
            )
        }
        Ok(_) => rep.fail(
            I::TotalFailed,
            S::HashFailure,
            Check::new(
                "TIMESTAMP_IMPRINT_MISMATCH",
                Outcome::Failed,
                "Dấu thời gian KHÔNG khớp với dữ liệu được đóng dấu (dữ liệu đã bị thay đổi)",
                "The timestamp does NOT match the stamped data (the data was changed)",
            ),
        ),
        Err(e) => rep.fail(
            I::Indeterminate,
            S::SignedDataNotFound,
            Check::new(
                "CONTENT_UNREADABLE",
                Outcome::Failed,
                format!("Không đọc được dữ liệu: {e}"),
                format!("The data could not be read: {e}"),
            ),
        ),
    }
    Some(tst)
}

/// Verify a standalone TimeStampToken (a DER ContentInfo) over `stamped`.
pub fn verify_token(
    token: &[u8],
    stamped: &Content<'_>,
    kind: SignatureKind,
    index: usize,
    opts: &VerifyOptions,
) -> (SignatureReport, Option<TstInfo>) {
    let none = RevocationData::default();
    verify_token_in(token, stamped, kind, index, opts, &none, Timing::default())
}

/// [`verify_token`] for a token inside a signature: `extra` is the
/// signature's revocation data, `timing` what is known of time around it.
pub fn verify_token_in(
    token: &[u8],
    stamped: &Content<'_>,
    kind: SignatureKind,
    index: usize,
    opts: &VerifyOptions,
    extra: &RevocationData,
    timing: Timing,
) -> (SignatureReport, Option<TstInfo>) {
    let mut rep = SignatureReport::new(index, kind);
    let sd = match cms::parse_signed_data(token, opts.limits.max_cms_certificates) {
        Ok(sd) => sd,
        Err(e) => {
            structural(
                &mut rep,
                "CMS_MALFORMED",
                format!("Cấu trúc dấu thời gian bị lỗi: {e}"),
                format!("The timestamp token is malformed: {e}"),
            );
            rep.conclude();
            return (rep, None);
        }
    };
    let [si] = sd.signer_infos.as_slice() else {
        structural(
            &mut rep,
            "CMS_SIGNER_COUNT",
            format!(
                "Dấu thời gian phải có đúng một chữ ký, có {}",
                sd.signer_infos.len()
            ),
            format!(
                "A timestamp token must have exactly one SignerInfo, found {}",
                sd.signer_infos.len()
            ),
        );
        rep.conclude();
        return (rep, None);
    };
    let tst = check_token(&sd, si, stamped, opts, extra, timing, &mut rep);
    rep.conclude();
    (rep, tst)
}

/// What the signature timestamps of one signature proved.
#[derive(Debug, Default)]
pub struct StampsFound {
    /// The earliest genTime of a valid timestamp: proof of existence.
    pub poe: Option<i64>,
    /// 1-based numbers of timestamps that are broken — TOTAL_FAILED in their
    /// own right (imprint not over this signature value, TSA signature not
    /// verifying, unreadable token) — as opposed to merely unproven.
    pub broken: Vec<usize>,
}

/// RFC 3161 signature timestamps (unsigned attribute, RFC 3161 Appendix A):
/// each checked over the signature value; the earliest valid one is the
/// proof of existence of the signature.
pub fn signature_timestamps(
    si: &SignerInfo<'_>,
    opts: &VerifyOptions,
    extra: &RevocationData,
    timing: Timing,
    rep: &mut SignatureReport,
) -> StampsFound {
    let tokens: Vec<&[u8]> = si
        .unsigned_attr(oid::SIGNATURE_TIMESTAMP)
        .iter()
        .flat_map(|a| a.values.iter().map(|v| v.raw))
        .collect();
    timestamps_over(
        &tokens,
        &Content::Bytes(si.signature),
        opts,
        extra,
        timing,
        rep,
    )
}

/// Timestamp tokens over `stamped` (a CMS signature value, the canonical
/// XML `SignatureValue` element of a XAdES signature), at most 8 checked,
/// each reported under the signature; the earliest valid one's time is the
/// proof of existence.
pub fn timestamps_over(
    tokens: &[&[u8]],
    stamped: &Content<'_>,
    opts: &VerifyOptions,
    extra: &RevocationData,
    timing: Timing,
    rep: &mut SignatureReport,
) -> StampsFound {
    let mut poe: Option<i64> = None;
    let mut broken = Vec::new();
    for (k, tok) in tokens.iter().enumerate().take(8) {
        let (ts, tst) = verify_token_in(
            tok,
            stamped,
            SignatureKind::SignatureTimestamp,
            k,
            opts,
            extra,
            Timing {
                revocation_at_most: None,
                ..timing
            },
        );
        match (&tst, ts.indication) {
            (Some(t), I::TotalPassed) => {
                poe = Some(poe.map_or(t.gen_time, |p| p.min(t.gen_time)));
                rep.pass(
                    Check::new(
                        "SIGNATURE_TIMESTAMP_VALID",
                        Outcome::Passed,
                        format!("Dấu thời gian hợp lệ chứng minh chữ ký đã tồn tại lúc {}", cert::fmt_unix(t.gen_time)),
                        format!("A valid timestamp proves the signature existed at {}", cert::fmt_unix(t.gen_time)),
                    )
                    .with("gen_time", cert::fmt_unix(t.gen_time)),
                );
            }
            _ if ts.indication == I::TotalFailed => broken.push(k.saturating_add(1)),
            _ => rep.pass(Check::new(
                "SIGNATURE_TIMESTAMP_INVALID",
                Outcome::Warning,
                format!("Dấu thời gian #{} của chữ ký không hợp lệ và không được dùng làm bằng chứng thời điểm", k.saturating_add(1)),
                format!("Signature timestamp #{} is not valid and is not used as proof of time", k.saturating_add(1)),
            )),
        }
        rep.timestamps.push(ts);
    }
    if tokens.len() > 8 {
        rep.pass(Check::new(
            "SIGNATURE_TIMESTAMPS_IGNORED",
            Outcome::Warning,
            format!("Chỉ 8 trong {} dấu thời gian được kiểm tra", tokens.len()),
            format!(
                "Only 8 of {} signature timestamps were checked",
                tokens.len()
            ),
        ));
    }
    StampsFound { poe, broken }
}

/// Record the broken signature timestamps (1-based numbers): a timestamp
/// over something else than this signature value, or whose TSA signature
/// does not verify — the signature value was replaced after it was
/// stamped, or the token taken from another signature. The signature's own
/// mathematics may hold, but the evidence attached to it is false: never
/// TOTAL_PASSED (docs/report.md, "Broken signature timestamps").
pub fn fail_broken(broken: &[usize], rep: &mut SignatureReport) {
    if broken.is_empty() {
        return;
    }
    let list = numbered(broken);
    rep.fail(
        I::Indeterminate,
        crate::report::SubIndication::SigConstraintsFailure,
        Check::new(
            "SIGNATURE_TIMESTAMP_BROKEN",
            Outcome::Failed,
            format!("Dấu thời gian {list} gắn với chữ ký bị hỏng (không khớp với giá trị chữ ký hoặc chữ ký của TSA sai): bằng chứng đi kèm chữ ký không đúng"),
            format!("Signature timestamp {list} is broken (it does not stamp this signature value, or the TSA's signature does not verify): the evidence attached to the signature is false"),
        )
        .with("timestamps", broken.to_vec()),
    );
}

/// 1-based timestamp numbers as said in a message: `#1, #3`.
pub fn numbered(list: &[usize]) -> String {
    list.iter()
        .map(|k| format!("#{k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// PKIStatus of a TimeStampResp (RFC 3161 §2.4.2) and its token, if granted.
pub fn parse_response(b: &[u8]) -> Result<(u8, Option<&[u8]>)> {
    let t = der::parse_exact(b)?.expect(TAG_SEQUENCE)?;
    let mut r = t.children();
    let mut si = r.read_tag(TAG_SEQUENCE)?.children();
    let status = si.read_tag(TAG_INTEGER)?;
    let status = match status.value {
        [s] if *s <= 5 => *s,
        _ => return Err(Error::asn1("bad PKIStatus")),
    };
    let token = if r.is_empty() {
        None
    } else {
        Some(r.read_tag(TAG_SEQUENCE)?.raw)
    };
    r.finish()?;
    if status <= 1 && token.is_none() {
        return Err(Error::asn1("granted TimeStampResp without a token"));
    }
    Ok((status, token))
}

/// The message imprint of a TimeStampReq.
pub fn parse_request(b: &[u8]) -> Result<(String, Vec<u8>)> {
    let t = der::parse_exact(b)?.expect(TAG_SEQUENCE)?;
    let mut r = t.children();
    r.read_tag(TAG_INTEGER)?;
    let mut mi = r.read_tag(TAG_SEQUENCE)?.children();
    let alg = cms::AlgId::parse(mi.read()?)?;
    let h = mi.read_tag(TAG_OCTET_STRING)?.value.to_vec();
    Ok((alg.oid, h))
}
