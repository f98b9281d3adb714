//! X.509 certificate validation at a time (ETSI EN 319 102-1 §5.2.6): the
//! path to a trust anchor (OpenSSL builds it, kyso's settings and profile
//! rules), the signer's key usage, and the revocation of every certificate
//! of the path through [`crate::revocation::status_at`] — the same for a
//! document signer and a timestamp authority, whatever the format.

use openssl::x509::X509;

use super::{RevocationProof, Timing, VerifyOptions};
use crate::pki::cert::{self, oid as coid};
use crate::pki::{PathFailure, PathOptions, validate_path};
use crate::report::{Check, Indication as I, Outcome, SignatureReport, SubIndication as S};
use crate::revocation::RevocationData;

/// Which rules apply to the signer's certificate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    DocumentSigner,
    TimestampAuthority,
}

/// X.509 validation of the signer's certificate at the validation time, or
/// at the proof of existence when it has expired since (past-signature
/// validation, §5.6.2.4 simplified); its key usage for `role`; and the
/// revocation of every certificate of the path at the POE (else the
/// validation time), from the caller's data, the signature's `embedded`
/// data and, when allowed, the cache and the network. Sets the `chain` and
/// `revocation` proofs when they hold.
#[allow(clippy::too_many_arguments)]
pub fn validate(
    signer: &X509,
    cms_certs: &[X509],
    embedded: &RevocationData,
    role: Role,
    poe: Option<i64>,
    timing: Timing,
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) {
    let mut untrusted: Vec<X509> = cms_certs.to_vec();
    untrusted.extend(opts.intermediates.iter().cloned());
    let popts = PathOptions {
        at: opts.at,
        key_policy: Some(opts.algorithms.key_policy()),
        ..Default::default()
    };
    let mut outcome = match validate_path(signer, &untrusted, &opts.trust, &popts) {
        Ok(o) => o,
        Err(e) => {
            rep.fail(
                I::Indeterminate,
                S::CertificateChainGeneralFailure,
                Check::new(
                    "CHAIN_ERROR",
                    Outcome::Failed,
                    format!("Lỗi khi kiểm tra chuỗi chứng thư: {e}"),
                    format!("Error while validating the chain: {e}"),
                ),
            );
            return;
        }
    };
    // ETSI EN 319 102-1 §5.6.2.4 (past signature validation, simplified): a
    // certificate expired at the validation time is accepted when a trusted
    // timestamp proves the signature existed while it was valid.
    if let (Some(PathFailure::Expired { .. }), Some(t)) = (&outcome.failure, poe) {
        let at_poe = PathOptions {
            at: t,
            key_policy: Some(opts.algorithms.key_policy()),
            ..Default::default()
        };
        if let Ok(o) = validate_path(signer, &untrusted, &opts.trust, &at_poe) {
            if o.failure.is_none() {
                rep.pass(
                    Check::new(
                        "CHAIN_VALID_AT_POE",
                        Outcome::Passed,
                        format!("Chứng thư số đã hết hạn vào thời điểm kiểm tra nhưng còn hiệu lực tại thời điểm được chứng minh bằng dấu thời gian ({})", cert::fmt_unix(t)),
                        format!("The certificate has expired by the validation time but was valid at the time proven by the timestamp ({})", cert::fmt_unix(t)),
                    )
                    .with("poe", cert::fmt_unix(t)),
                );
            }
            outcome = o;
        }
    }
    if let (Some(t), Some(nb)) = (poe, cert::asn1_to_unix(signer.not_before())) {
        if t < nb {
            rep.fail(
                I::TotalFailed,
                S::NotYetValid,
                Check::new(
                    "SIGNED_BEFORE_CERT_VALID",
                    Outcome::Failed,
                    "Dấu thời gian chứng minh chữ ký được tạo trước khi chứng thư số có hiệu lực",
                    "A timestamp proves the signature was made before the certificate became valid",
                ),
            );
        }
    }
    rep.chain = outcome
        .chain
        .iter()
        .map(|c| cert::name_to_string(c.subject_name()))
        .collect();
    let when = cert::fmt_unix(opts.at);
    match &outcome.failure {
        None => {
            let anchor = outcome
                .chain
                .last()
                .map(|c| cert::name_to_string(c.subject_name()))
                .unwrap_or_default();
            rep.pass(
                Check::new(
                    "CHAIN_VALID",
                    Outcome::Passed,
                    format!(
                        "Chuỗi chứng thư hợp lệ tại {when}, đến chứng thư gốc tin cậy: {anchor}"
                    ),
                    format!("Certificate chain valid at {when}, up to trust anchor: {anchor}"),
                )
                .with("anchor", anchor),
            );
        }
        Some(f) => {
            let (ind, sub, code, vi, en) = match f {
                PathFailure::NoPath => (
                    I::Indeterminate,
                    S::NoCertificateChainFound,
                    "CHAIN_NO_PATH",
                    "Không xây dựng được chuỗi chứng thư đến một chứng thư gốc tin cậy".to_string(),
                    "No certificate chain to a trusted root could be built".to_string(),
                ),
                PathFailure::Expired { depth } => (
                    I::Indeterminate,
                    S::OutOfBoundsNoPoe,
                    "CHAIN_CERT_EXPIRED",
                    format!(
                        "Chứng thư số (cấp {depth}) đã hết hạn vào thời điểm kiểm tra {when} và không có bằng chứng thời điểm ký (dấu thời gian)"
                    ),
                    format!(
                        "Certificate (depth {depth}) is expired at the validation time {when} and there is no proof of when the signature was made"
                    ),
                ),
                PathFailure::NotYetValid { depth: 0 } => (
                    I::TotalFailed,
                    S::NotYetValid,
                    "CHAIN_CERT_NOT_YET_VALID",
                    format!("Chứng thư số của người ký chưa có hiệu lực tại {when}"),
                    format!("The signer's certificate is not yet valid at {when}"),
                ),
                PathFailure::NotYetValid { depth } => (
                    I::Indeterminate,
                    S::ChainConstraintsFailure,
                    "CHAIN_CERT_NOT_YET_VALID",
                    format!("Chứng thư số (cấp {depth}) chưa có hiệu lực tại {when}"),
                    format!("Certificate (depth {depth}) is not yet valid at {when}"),
                ),
                PathFailure::BadSignature { depth } => (
                    I::Indeterminate,
                    S::CertificateChainGeneralFailure,
                    "CHAIN_BAD_SIGNATURE",
                    format!("Chữ ký trên chứng thư số (cấp {depth}) không đúng"),
                    format!("The signature on a certificate (depth {depth}) does not verify"),
                ),
                PathFailure::Constraints { depth } => (
                    I::Indeterminate,
                    S::ChainConstraintsFailure,
                    "CHAIN_CONSTRAINTS",
                    format!(
                        "Chuỗi chứng thư vi phạm ràng buộc (cấp {depth}): {}",
                        outcome.message
                    ),
                    format!(
                        "The chain violates a constraint (depth {depth}): {}",
                        outcome.message
                    ),
                ),
                PathFailure::KeyPolicy { depth } => (
                    I::Indeterminate,
                    S::CryptoConstraintsFailure,
                    "CHAIN_KEY_POLICY",
                    format!(
                        "Khóa của chứng thư số (cấp {depth}) không đạt chính sách thuật toán: {}",
                        outcome.message
                    ),
                    format!(
                        "A certificate key (depth {depth}) fails the algorithm policy: {}",
                        outcome.message
                    ),
                ),
                PathFailure::Other { depth } => (
                    I::Indeterminate,
                    S::CertificateChainGeneralFailure,
                    "CHAIN_INVALID",
                    format!(
                        "Chuỗi chứng thư không hợp lệ (cấp {depth}): {}",
                        outcome.message
                    ),
                    format!("The chain is invalid (depth {depth}): {}", outcome.message),
                ),
            };
            rep.fail(
                ind,
                sub,
                Check::new(code, Outcome::Failed, vi, en)
                    .with("openssl_code", outcome.code)
                    .with("openssl_message", outcome.message.clone()),
            );
        }
    }
    check_signer_usage(signer, role, rep);
    if outcome.failure.is_none() {
        rep.proven.chain = true;
        let t = poe.unwrap_or(opts.at);
        let t = timing.revocation_at_most.map_or(t, |g| t.min(g));
        let mut data = opts.revocation.clone();
        data.extend(embedded);
        check_revocation(&outcome.chain, &untrusted, &data, t, opts, rep);
    }
}

/// Revocation status of every certificate of the validated path but the
/// anchor, at the proof of existence if there is one, else at the validation time.
fn check_revocation(
    chain: &[X509],
    pool: &[X509],
    data: &RevocationData,
    t: i64,
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) {
    use crate::revocation::Status;
    // Proven only when every certificate's status was established.
    let mut all_known = true;
    let failures_before = rep.failure_count();
    for i in 0..chain.len().saturating_sub(1) {
        let (Some(c), Some(issuer)) = (chain.get(i), chain.get(i.saturating_add(1))) else {
            break;
        };
        let who = cert::name_to_string(c.subject_name());
        let nocheck = c
            .to_der()
            .ok()
            .and_then(|d| cert::extensions(&d).ok())
            .is_some_and(|e| {
                e.iter()
                    .any(|x| x.oid == crate::revocation::ocsp::OID_OCSP_NOCHECK)
            });
        if nocheck {
            rep.pass(Check::new(
                "REVOCATION_NOCHECK",
                Outcome::Info,
                format!("{who}: chứng thư có ocsp-nocheck, không cần kiểm tra thu hồi"),
                format!("{who}: carries ocsp-nocheck; no revocation check needed"),
            ));
            continue;
        }
        let (status, evidence) = status_with_fetch(c, issuer, t, chain.last(), pool, data, opts);
        rep.revocation.extend(evidence);
        match status {
            Status::Good => rep.pass(
                Check::new(
                    "REVOCATION_GOOD",
                    Outcome::Passed,
                    format!("{who}: chưa bị thu hồi tại {}", cert::fmt_unix(t)),
                    format!("{who}: not revoked at {}", cert::fmt_unix(t)),
                )
                .with("depth", i),
            ),
            Status::Revoked { time, .. } if time > t => rep.pass(
                Check::new(
                    "REVOKED_AFTER_POE",
                    Outcome::Info,
                    format!(
                        "{who}: bị thu hồi lúc {}, sau thời điểm ký đã được chứng minh ({})",
                        cert::fmt_unix(time),
                        cert::fmt_unix(t)
                    ),
                    format!(
                        "{who}: revoked at {}, after the proven signing time ({})",
                        cert::fmt_unix(time),
                        cert::fmt_unix(t)
                    ),
                )
                .with("revocation_time", cert::fmt_unix(time)),
            ),
            // ETSI EN 319 102-1 §5.2.6 / §5.6.2.1: a certificate revoked at
            // or before the time its status is needed for is INDETERMINATE
            // (REVOKED_NO_POE, REVOKED_CA_NO_POE) — a signature timestamp
            // after the revocation does not prove the signature was made
            // after it. TOTAL_FAILED/REVOKED would need proof of creation
            // after the revocation, which a timestamp over the signature is not.
            Status::Revoked { time, .. } => {
                rep.fail(
                    I::Indeterminate,
                    revoked_sub(i),
                    Check::new(
                        "CERT_REVOKED",
                        Outcome::Failed,
                        format!("{who}: đã bị THU HỒI lúc {}", cert::fmt_unix(time)),
                        format!("{who}: REVOKED at {}", cert::fmt_unix(time)),
                    )
                    .with("revocation_time", cert::fmt_unix(time))
                    .with("depth", i),
                );
            }
            Status::OnHold { since } => {
                rep.fail(
                    I::Indeterminate,
                    revoked_sub(i),
                    Check::new(
                        "CERT_ON_HOLD",
                        Outcome::Failed,
                        format!(
                            "{who}: bị TẠM DỪNG (certificateHold) từ {} và vẫn đang tạm dừng tại {}",
                            cert::fmt_unix(since),
                            cert::fmt_unix(t)
                        ),
                        format!(
                            "{who}: SUSPENDED (certificateHold) since {}, still suspended at {}",
                            cert::fmt_unix(since),
                            cert::fmt_unix(t)
                        ),
                    )
                    .with("on_hold_since", cert::fmt_unix(since))
                    .with("depth", i),
                );
            }
            Status::Unknown(why) => {
                all_known = false;
                let c = Check::new(
                    "REVOCATION_UNKNOWN",
                    if opts.require_revocation {
                        Outcome::Failed
                    } else {
                        Outcome::Warning
                    },
                    format!("{who}: không xác định được tình trạng thu hồi ({why})"),
                    format!("{who}: revocation status unknown ({why})"),
                )
                .with("depth", i);
                if opts.require_revocation {
                    rep.fail(I::Indeterminate, S::TryLater, c);
                } else {
                    rep.pass(c);
                }
            }
        }
    }
    if rep.failure_count() == failures_before {
        rep.proven.revocation = Some(if all_known {
            RevocationProof::Checked
        } else {
            RevocationProof::WaivedByPolicy
        });
    }
}

/// The signer's certificate revoked (or on hold): `REVOKED_NO_POE`; a CA's: `REVOKED_CA_NO_POE`.
fn revoked_sub(depth: usize) -> S {
    if depth == 0 {
        S::RevokedNoPoe
    } else {
        S::RevokedCaNoPoe
    }
}

/// Status from the data at hand; when unknown, from the local cache, then
/// (if allowed) from the network. Fetch failures are added to the reason.
fn status_with_fetch(
    c: &X509,
    issuer: &X509,
    t: i64,
    anchor: Option<&X509>,
    pool: &[X509],
    data: &RevocationData,
    opts: &VerifyOptions,
) -> (crate::revocation::Status, Vec<crate::revocation::Evidence>) {
    use crate::revocation::{Context, Status, fetch, status_at};
    let judge = |data: &crate::revocation::RevocationData| {
        let mut ctx = Context::new(data, pool, anchor, opts.at);
        ctx.key_policy = Some(opts.algorithms.key_policy());
        status_at(c, issuer, &ctx, t)
    };
    let first = judge(data);
    if !matches!(first.0, Status::Unknown(_))
        || (opts.fetch.cache_dir.is_none() && !opts.fetch.online)
    {
        return first;
    }
    let mut problems = Vec::new();
    let mut data = data.clone();
    let cached = fetch::from_cache(c, &opts.fetch);
    problems.extend(cached.problems);
    let mut result = first;
    if !cached.data.is_empty() {
        data.extend(&cached.data);
        result = judge(&data);
    }
    if matches!(result.0, Status::Unknown(_)) && opts.fetch.online {
        let got = fetch::online(c, issuer, &opts.fetch);
        problems.extend(got.problems);
        if !got.data.is_empty() {
            data.extend(&got.data);
            result = judge(&data);
        }
    }
    if let (Status::Unknown(why), false) = (&result.0, problems.is_empty()) {
        result.0 = Status::Unknown(format!("{why}; {}", problems.join("; ")));
    }
    result
}

/// Key usage and extended key usage of the end-entity certificate.
fn check_signer_usage(signer: &X509, role: Role, rep: &mut SignatureReport) {
    let exts = signer
        .to_der()
        .ok()
        .and_then(|d| cert::extensions(&d).ok())
        .unwrap_or_default();
    let ku = exts
        .iter()
        .find(|e| e.oid == coid::KEY_USAGE)
        .map(|e| cert::parse_key_usage(&e.value));
    let eku_ext = exts.iter().find(|e| e.oid == coid::EXT_KEY_USAGE);
    let eku = eku_ext.map(|e| cert::parse_eku(&e.value));
    let mut ok = true;
    match ku {
        None => {}
        Some(Ok(k)) if k.digital_signature || k.non_repudiation => {}
        Some(_) => {
            ok = false;
            rep.fail(
                I::Indeterminate,
                S::ChainConstraintsFailure,
                Check::new(
                    "SIGNER_KEY_USAGE",
                    Outcome::Failed,
                    "Mục đích sử dụng khóa (keyUsage) của chứng thư không cho phép ký số",
                    "The certificate's keyUsage does not allow digital signatures",
                ),
            );
        }
    }
    match (role, eku) {
        (Role::DocumentSigner, None) => {}
        (Role::DocumentSigner, Some(Ok(list))) => {
            let allowed = [
                coid::ANY_EKU,
                coid::EMAIL_PROTECTION,
                coid::DOCUMENT_SIGNING,
                coid::MS_DOCUMENT_SIGNING,
                coid::ADOBE_AUTHENTIC_DOCUMENTS,
                // Client authentication is what many Vietnamese token certificates carry.
                "1.3.6.1.5.5.7.3.2",
            ];
            if !list.iter().any(|o| allowed.contains(&o.as_str())) {
                ok = false;
                rep.fail(
                    I::Indeterminate,
                    S::ChainConstraintsFailure,
                    Check::new(
                        "SIGNER_EXT_KEY_USAGE",
                        Outcome::Failed,
                        "Mục đích sử dụng mở rộng (extendedKeyUsage) không cho phép ký tài liệu",
                        "The certificate's extendedKeyUsage does not allow document signing",
                    )
                    .with("eku", list.join(",")),
                );
            }
        }
        (Role::TimestampAuthority, Some(Ok(list))) => {
            // RFC 3161 §2.3: exactly id-kp-timeStamping, critical.
            let critical = eku_ext.is_some_and(|e| e.critical);
            if list != [coid::TIME_STAMPING] || !critical {
                ok = false;
                rep.fail(
                    I::Indeterminate,
                    S::ChainConstraintsFailure,
                    Check::new(
                        "TSA_EXT_KEY_USAGE",
                        Outcome::Failed,
                        "Chứng thư của đơn vị cấp dấu thời gian không có EKU timeStamping (bắt buộc, critical)",
                        "The TSA certificate lacks the critical timeStamping extendedKeyUsage",
                    ),
                );
            }
        }
        (Role::TimestampAuthority, None) => {
            ok = false;
            rep.fail(
                I::Indeterminate,
                S::ChainConstraintsFailure,
                Check::new(
                    "TSA_EXT_KEY_USAGE",
                    Outcome::Failed,
                    "Chứng thư của đơn vị cấp dấu thời gian không có EKU timeStamping",
                    "The TSA certificate has no timeStamping extendedKeyUsage",
                ),
            );
        }
        (_, Some(Err(_))) => {
            ok = false;
            rep.fail(
                I::Indeterminate,
                S::ChainConstraintsFailure,
                Check::new(
                    "SIGNER_EXT_KEY_USAGE",
                    Outcome::Failed,
                    "Phần mở rộng extendedKeyUsage bị lỗi",
                    "Malformed extendedKeyUsage extension",
                ),
            );
        }
    }
    if ok {
        rep.pass(Check::new(
            "SIGNER_KEY_USAGE",
            Outcome::Passed,
            "Mục đích sử dụng khóa của chứng thư cho phép ký số",
            "The certificate's key usage allows signing",
        ));
    }
}
