//! Signed XML documents (XMLDSig; e-forms, e-invoices): a format room. The
//! document is read by [`crate::xml`], each `Signature` processed by
//! [`crate::xml::dsig`]; here each one is judged: structure, algorithms,
//! references, the key that verifies the signature value and the
//! certificate it binds, then the signer's chain through [`crate::core`].

use openssl::x509::X509;

use super::cmscheck::Content;
use super::document_error;
use super::tsp;
use crate::core::x509::Role;
use crate::core::{Timing, VerifyOptions, XmlProfileChoice, algorithms, poe, x509};
use crate::crypto::{self, SigCheck, SigScheme};
use crate::error::Error;
use crate::pki::cert::{self, CertSummary};
use crate::report::{
    Check, DocumentInfo, Indication as I, Level, Outcome, Report, SignatureKind, SignatureReport,
    SubIndication as S, XmlSignatureInfo,
};
use crate::revocation::{RevSource, RevocationData};
use crate::xml::alg::{self, SigAlg};
pub use crate::xml::dsig::Detached;
use crate::xml::dsig::{self, OfferedKey, RefStatus, SigOutcome};
use crate::xml::profile::{self, XmlProfile};
use crate::xml::xades;
use crate::xml::{self, XmlDoc};

/// Verify a signed XML document. `detached`: data for references outside
/// the document, named by URI (or its last segment).
pub fn verify_xml(
    data: &[u8],
    detached: &[Detached<'_>],
    name: &str,
    opts: &VerifyOptions,
) -> Report {
    let when = cert::fmt_unix(opts.at);
    let mut doc = DocumentInfo::new(name, data.len() as u64, "XML");
    if data.len() as u64 > opts.limits.max_xml_bytes {
        let e = Error::limit("max_xml_bytes", data.len(), opts.limits.max_xml_bytes);
        doc.error = Some(document_error(&e));
        return Report::new(doc, when, Vec::new());
    }
    let text = match xml::decode(data) {
        Ok(t) => t,
        Err(e) => {
            doc.error = Some(xml_error(&e));
            return Report::new(doc, when, Vec::new());
        }
    };
    let text = xml::normalize_source(&text);
    let given = match &opts.xml_profile {
        XmlProfileChoice::Given(p) => Some(p.as_ref().clone()),
        _ => None,
    };
    let extra_ids = given
        .as_ref()
        .map(|p| p.id_attributes.clone())
        .unwrap_or_default();
    let xd = match xml::parse(&text, &opts.limits, &extra_ids) {
        Ok(d) => d,
        Err(e) => {
            doc.error = Some(xml_error(&e));
            return Report::new(doc, when, Vec::new());
        }
    };
    let profile = match &opts.xml_profile {
        XmlProfileChoice::Auto => {
            let all = profile::builtin();
            let roots: Vec<String> = all.iter().flat_map(|p| p.detect_roots.clone()).collect();
            let found = profile::find_many(&xd.doc, &roots);
            all.into_iter().find(|p| profile::detects(p, &found))
        }
        XmlProfileChoice::None => None,
        XmlProfileChoice::Given(_) => given,
    };
    if let Some(p) = &profile {
        let how = if matches!(opts.xml_profile, XmlProfileChoice::Auto) {
            ("theo dạng của tài liệu", "by the document's shape")
        } else {
            ("theo yêu cầu", "as asked")
        };
        doc.notes.push(
            Check::new(
                "XML_PROFILE",
                Outcome::Info,
                format!(
                    "Kiểm tra theo hồ sơ {} ({}): {}",
                    p.name, how.0, p.description
                ),
                format!("Checked against profile {} ({})", p.name, how.1),
            )
            .with("profile", p.name.clone()),
        );
    }
    let sigs = xd.signatures.clone();
    if sigs.is_empty() {
        doc.error = Some(Check::new(
            "XML_NO_SIGNATURE",
            Outcome::Failed,
            "Tệp XML không chứa chữ ký số XMLDSig nào",
            "The XML document holds no XMLDSig signature",
        ));
        return Report::new(doc, when, Vec::new());
    }
    if sigs.len() > opts.limits.max_signatures {
        let e = Error::limit("max_signatures", sigs.len(), opts.limits.max_signatures);
        doc.error = Some(document_error(&e));
        return Report::new(doc, when, Vec::new());
    }
    let found = profile
        .as_ref()
        .map(|p| profile::find_many(&xd.doc, &profile::patterns(p)))
        .unwrap_or_default();
    let mut reports = Vec::with_capacity(sigs.len());
    let mut roles_seen: Vec<String> = Vec::new();
    for (i, s) in sigs.iter().enumerate() {
        let out = dsig::process(&xd, *s, detached, &opts.limits);
        let mut rep = SignatureReport::new(i, SignatureKind::XmlSignature);
        judge(
            &xd,
            &out,
            detached,
            opts,
            profile.as_ref(),
            &found,
            &mut rep,
        );
        if let Some(r) = rep.xml.as_ref().and_then(|x| x.role.clone()) {
            roles_seen.push(r);
        }
        reports.push(rep);
    }
    // A role the profile requires and no signature plays: the document is
    // not what the profile asks, whatever each signature says.
    if let Some(p) = &profile {
        for role in &p.roles {
            if profile::required(role, &found) && !roles_seen.contains(&role.name) {
                for rep in &mut reports {
                    rep.fail(
                        I::Indeterminate,
                        S::SigConstraintsFailure,
                        Check::new(
                            "XML_PROFILE_ROLE_MISSING",
                            Outcome::Failed,
                            format!(
                                "Tài liệu thiếu chữ ký của {} mà hồ sơ {} yêu cầu",
                                role.label_vi, p.name
                            ),
                            format!(
                                "The document lacks the {}'s signature that profile {} requires",
                                role.label_en, p.name
                            ),
                        )
                        .with("role", role.name.clone()),
                    );
                }
            }
        }
    }
    Report::new(doc, when, reports)
}

/// A document-level error, with the XML-specific codes.
fn xml_error(e: &Error) -> Check {
    match e {
        Error::Unsupported(m) if m.contains("DOCTYPE") || m.contains("DTD") => Check::new(
            "XML_DOCTYPE_REFUSED",
            Outcome::Failed,
            "Tệp XML có khai báo DOCTYPE/DTD: bị từ chối để tránh tấn công thực thể (XXE, billion laughs)",
            format!(
                "The XML has a DOCTYPE/DTD, refused (entity attacks: XXE, billion laughs): {e}"
            ),
        ),
        Error::Invalid(m) if m.starts_with("malformed XML") => Check::new(
            "XML_MALFORMED",
            Outcome::Failed,
            format!("Tệp XML không đúng cú pháp: {e}"),
            format!("The XML is not well-formed: {e}"),
        ),
        _ => document_error(e),
    }
}

fn judge(
    xd: &XmlDoc<'_>,
    out: &SigOutcome,
    detached: &[Detached<'_>],
    opts: &VerifyOptions,
    profile: Option<&XmlProfile>,
    found: &profile::Found,
    rep: &mut SignatureReport,
) {
    let role = profile.and_then(|p| profile::role_of(p, &xd.doc, out.node));
    let mut info = XmlSignatureInfo {
        id: out.id.clone(),
        path: out.path.clone(),
        profile: profile.map(|p| p.name.clone()),
        role: role.map(|r| r.name.clone()),
        canonicalization: out.c14n_method.clone(),
        signature_method: out.signature_method.clone(),
        references: out.references.clone(),
        manifest_references: out.manifest_references.clone(),
        key_source: None,
        key_info_ignored: out.key_info_ignored.clone(),
    };
    rep.claimed_signing_time = signing_time(&xd.doc, out.node);
    let done = |rep: &mut SignatureReport, info: XmlSignatureInfo| {
        rep.xml = Some(Box::new(info));
        rep.conclude();
    };
    if !out.format_errors.is_empty() {
        let list = out.format_errors.join("; ");
        rep.fail(
            I::TotalFailed,
            S::FormatFailure,
            Check::new(
                "XML_SIGNATURE_MALFORMED",
                Outcome::Failed,
                format!("Cấu trúc chữ ký XML không hợp lệ: {list}"),
                format!("The XML signature is malformed: {list}"),
            ),
        );
        return done(rep, info);
    }
    if !xd.duplicate_ids.is_empty() {
        let list = xd.duplicate_ids.join(", ");
        rep.fail(
            I::TotalFailed,
            S::FormatFailure,
            Check::new(
                "XML_DUPLICATE_ID",
                Outcome::Failed,
                format!("Cùng một ID được dùng cho nhiều phần tử ({list}): không xác định được phần tử đã ký (dấu hiệu tấn công bọc chữ ký)"),
                format!("The same ID is carried by several elements ({list}): the signed element is ambiguous (a signature-wrapping pattern)"),
            )
            .with("ids", xd.duplicate_ids.clone()),
        );
        return done(rep, info);
    }
    rep.proven.format = true;

    // Algorithms.
    let sm_uri = out.signature_method.clone().unwrap_or_default();
    let scheme = match alg::signature(&sm_uri) {
        Some(SigAlg::Scheme(s)) => Ok(s),
        Some(SigAlg::PssWithParams) => out
            .signed_info_node
            .and_then(|si| xml::child(&xd.doc, si, xml::DSIG, "SignatureMethod"))
            .ok_or_else(|| "SignatureMethod".to_string())
            .and_then(|sm| dsig::pss_params(&xd.doc, sm)),
        Some(SigAlg::Refused(why)) => {
            let code = if why.starts_with("HMAC") {
                "XML_HMAC_REFUSED"
            } else {
                "XML_ALG_REFUSED"
            };
            rep.fail(
                I::Indeterminate,
                S::CryptoConstraintsFailure,
                Check::new(
                    code,
                    Outcome::Failed,
                    format!("Thuật toán chữ ký bị từ chối ({why}): {sm_uri}"),
                    format!("Signature algorithm refused ({why}): {sm_uri}"),
                )
                .with("algorithm", sm_uri.clone()),
            );
            return done(rep, info);
        }
        None => Err(format!("unknown SignatureMethod {sm_uri}")),
    };
    let scheme = match scheme {
        Ok(s) => s,
        Err(why) => {
            rep.fail(
                I::Indeterminate,
                S::CryptoConstraintsFailure,
                algorithms::unsupported_check(&why).with("algorithm", sm_uri.clone()),
            );
            return done(rep, info);
        }
    };
    rep.signature_algorithm = Some(scheme.name());
    if let Some(d) = scheme.digest() {
        algorithms::check_digest(&opts.algorithms, d, "SignatureMethod", rep);
    }
    let mut seen = Vec::new();
    for r in &out.references {
        if let Some(d) = r.digest_alg {
            if !seen.contains(&d) {
                seen.push(d);
                algorithms::check_digest(&opts.algorithms, d, "DigestMethod", rep);
            }
        }
    }
    rep.digest_algorithm = out
        .references
        .first()
        .and_then(|r| r.digest_alg)
        .map(|d| d.name().to_string());

    // References, and what the profile wants them to cover.
    let refs_ok = check_references(out, rep);
    if let Some(p) = profile {
        check_role_coverage(xd, out, p, role, found, rep);
    }

    // XAdES: signed properties protected, the signing certificate named.
    let xa = xades::read(&xd.doc, out.node, out.id.as_deref());
    let mut kicerts: Vec<X509> = out
        .keys
        .iter()
        .filter_map(|k| match k {
            OfferedKey::Cert(c) => Some(c.clone()),
            OfferedKey::Bare(_) => None,
        })
        .collect();
    let mut bound: Option<X509> = None;
    if let Some(x) = &xa {
        for d in &x.certificate_values {
            if let Ok(c) = X509::from_der(d) {
                kicerts.push(c);
            }
        }
        match xades_binding(xd, out, x, &kicerts, opts, rep) {
            Binding::Bound(c) => bound = Some(c),
            Binding::None => {}
            Binding::Failed => return done(rep, info),
        }
    }
    let mut tried = 0usize;
    let mut chosen: Option<(X509, String)> = None;
    let mut bare_ok = false;
    let supplied = opts
        .intermediates
        .iter()
        .map(|c| (OfferedKey::Cert(c.clone()), true));
    // Certificates first (they name a signer), then bare keys.
    let offered_certs = out.keys.iter().filter_map(|k| match k {
        OfferedKey::Cert(c) => Some((OfferedKey::Cert(c.clone()), false)),
        OfferedKey::Bare(_) => None,
    });
    let offered_bare = out.keys.iter().filter_map(|k| match k {
        OfferedKey::Bare(p) => Some((OfferedKey::Bare(p.clone()), false)),
        OfferedKey::Cert(_) => None,
    });
    let offered: Vec<(OfferedKey, bool)> = match &bound {
        // XAdES names the signer's certificate: only its key is tried.
        Some(c) => vec![(OfferedKey::Cert(c.clone()), false)],
        None => offered_certs.chain(supplied).chain(offered_bare).collect(),
    };
    let mut cert_no = 0usize;
    let mut der_ecdsa = false;
    for (k, is_supplied) in offered {
        let key = match &k {
            OfferedKey::Cert(c) => {
                if !is_supplied {
                    cert_no = cert_no.saturating_add(1);
                }
                match c.public_key() {
                    Ok(p) => p,
                    Err(_) => continue,
                }
            }
            OfferedKey::Bare(p) => p.clone(),
        };
        let mut check =
            crypto::verify_signature(&scheme, &key, &out.signed_info, &out.signature_value);
        if let (SigCheck::Invalid, SigScheme::EcdsaPlain(h)) = (&check, &scheme) {
            // XMLDSig ECDSA values are r || s; some Java signers wrote DER.
            // DER is unambiguous (strict DER only): accepted, and said.
            let der = crypto::verify_signature(
                &SigScheme::Ecdsa(*h),
                &key,
                &out.signed_info,
                &out.signature_value,
            );
            if der == SigCheck::Valid {
                der_ecdsa = true;
                check = der;
            }
        }
        match check {
            SigCheck::KeyMismatch(_) => continue,
            SigCheck::Unsupported(why) => {
                algorithms::unsupported(&why, rep);
                return done(rep, info);
            }
            SigCheck::Invalid => tried = tried.saturating_add(1),
            SigCheck::Valid => {
                tried = tried.saturating_add(1);
                match k {
                    OfferedKey::Cert(c) => {
                        let src = if bound.is_some() {
                            format!(
                                "the certificate XAdES {} names",
                                if xa.as_ref().is_some_and(|x| x.signing_cert_v2) {
                                    "SigningCertificateV2"
                                } else {
                                    "SigningCertificate"
                                }
                            )
                        } else if is_supplied {
                            "a certificate supplied by the caller".to_string()
                        } else {
                            format!("KeyInfo certificate #{cert_no}")
                        };
                        chosen = Some((c, src));
                    }
                    OfferedKey::Bare(_) => bare_ok = true,
                }
                break;
            }
        }
    }
    let sig_ok = chosen.is_some() || bare_ok;
    if der_ecdsa {
        rep.pass(Check::new(
            "XML_ECDSA_DER_VALUE",
            Outcome::Warning,
            "Giá trị chữ ký ECDSA được mã hóa DER thay vì r||s như XMLDSig quy định (lỗi của một số phần mềm ký); vẫn được chấp nhận",
            "The ECDSA signature value is DER-encoded instead of XMLDSig's r || s (a known signer bug); accepted",
        ));
    }
    if sig_ok {
        rep.pass(Check::new(
            "XML_SIGNATURE_VALUE_VALID",
            Outcome::Passed,
            "Giá trị chữ ký (SignatureValue) khớp với SignedInfo đã chuẩn hóa",
            "The SignatureValue verifies over the canonicalized SignedInfo",
        ));
    } else if tried == 0 {
        rep.fail(
            I::Indeterminate,
            S::NoSigningCertificateFound,
            Check::new(
                "SIGNER_CERT_NOT_FOUND",
                Outcome::Failed,
                "Không có khóa hay chứng thư số nào (KeyInfo hoặc được cung cấp) phù hợp với thuật toán chữ ký",
                "No key or certificate (in KeyInfo or supplied) fits the signature algorithm",
            ),
        );
    } else {
        rep.fail(
            I::TotalFailed,
            S::SigCryptoFailure,
            Check::new(
                "XML_SIGNATURE_VALUE_INVALID",
                Outcome::Failed,
                format!("Giá trị chữ ký không khớp với khóa của {tried} chứng thư/khóa được thử"),
                format!("The SignatureValue does not verify with any of the {tried} key(s) tried"),
            ),
        );
    }
    if sig_ok && refs_ok {
        rep.proven.integrity = true;
        rep.proven.coverage = true;
    }
    if bare_ok {
        rep.fail(
            I::Indeterminate,
            S::NoSigningCertificateFound,
            Check::new(
                "XML_KEY_WITHOUT_CERTIFICATE",
                Outcome::Failed,
                "Chữ ký chỉ kèm khóa công khai trần (KeyValue), không có chứng thư số: không xác định được người ký",
                "The signature carries a bare public key (KeyValue) and no certificate: the signer cannot be identified",
            ),
        );
    }
    let Some((signer, src)) = chosen else {
        return done(rep, info);
    };
    info.key_source = Some(src.clone());
    rep.proven.signer = true;
    let summary = cert::summarize(&signer);
    rep.pass(
        Check::new(
            "SIGNER_CERT_FOUND",
            Outcome::Passed,
            format!(
                "Chứng thư số của người ký được xác định bằng khóa khớp với giá trị chữ ký ({src}): {}",
                summary.subject
            ),
            format!(
                "Signer's certificate identified by the key that verifies the signature value ({src}): {}",
                summary.subject
            ),
        )
        .with("sha256", summary.sha256.clone())
        .with("source", src),
    );
    algorithms::check_key(
        &opts.algorithms,
        &summary.key_type,
        summary.key_bits,
        ("người ký", "signer"),
        rep,
    );
    if let Some(r) = role {
        check_identity(xd, r, found, &summary, rep);
    }
    rep.signer = Some(summary);
    // XAdES B-T / B-LT / B-LTA: signature timestamps over the canonical
    // SignatureValue element, validation data carried by the signature,
    // archive timestamps over all of it.
    let mut embedded = RevocationData::default();
    let mut own_poe = None;
    let mut broken = Vec::new();
    let mut archive = ArchiveFound::default();
    let mut timing = Timing::default();
    if let Some(x) = &xa {
        for d in &x.crl_values {
            embedded.crls.push((RevSource::Xades, d.as_slice().into()));
        }
        for d in &x.ocsp_values {
            embedded.ocsps.push((RevSource::Xades, d.as_slice().into()));
        }
        if !embedded.is_empty() {
            rep.facts.embedded_revocation = true;
        }
        // The signature's CertificateValues serve its timestamps' paths too.
        let ts_opts;
        let ts_opts_ref = if x.certificate_values.is_empty() {
            opts
        } else {
            let mut o = opts.clone();
            o.intermediates.extend(kicerts.iter().cloned());
            ts_opts = o;
            &ts_opts
        };
        archive = archive_timestamps(xd, out, x, detached, ts_opts_ref, &embedded, rep);
        timing.external_poe = archive.poe;
        for (k, st) in x.signature_timestamps.iter().enumerate() {
            let Some(stamped) = signature_value_c14n(xd, out, &st.c14n) else {
                broken.push(k.saturating_add(1));
                continue;
            };
            let found = tsp::timestamps_over(
                &[st.token.as_slice()],
                &Content::Bytes(&stamped),
                ts_opts_ref,
                &embedded,
                timing,
                rep,
            );
            if let Some(t) = found.poe {
                own_poe = Some(own_poe.map_or(t, |p: i64| p.min(t)));
            }
            if !found.broken.is_empty() {
                broken.push(k.saturating_add(1));
            }
        }
        // What an archive timestamp stamps carries an earlier time.
        if let Some(a) = archive.poe {
            let times: Vec<i64> = rep
                .timestamps
                .iter()
                .filter(|t| t.indication == I::TotalPassed)
                .filter_map(|t| t.gen_time.as_deref().and_then(cert::parse_rfc3339))
                .collect();
            for t in times {
                poe::check_order(t, a, rep);
            }
        }
    }
    let best = poe::best(own_poe, timing, rep);
    x509::validate(
        &signer,
        &kicerts,
        &embedded,
        Role::DocumentSigner,
        best,
        timing,
        opts,
        rep,
    );
    tsp::fail_broken(&broken, rep);
    archive.judge(rep);
    if let Some(x) = &xa {
        xades_level(x, own_poe.is_some(), archive.poe.is_some(), rep);
    }
    done(rep, info)
}

/// What a signature's archive timestamps proved.
#[derive(Default)]
struct ArchiveFound {
    /// The earliest genTime of a valid archive timestamp.
    poe: Option<i64>,
    /// 1-based numbers of archive timestamps that stamp something else or
    /// whose TSA signature does not verify.
    broken: Vec<usize>,
    /// 1-based numbers of archive timestamps that are not valid (not
    /// proven, e.g. their TSA's certificate expired without a later POE).
    invalid: Vec<usize>,
    /// Archive timestamps kyso does not compute the input of, with why.
    unchecked: Vec<String>,
    reports: Vec<SignatureReport>,
}

impl ArchiveFound {
    /// Record the archive timestamps under the signature: a broken one is
    /// false evidence attached to the signature (never TOTAL_PASSED, as a
    /// broken signature timestamp); one kyso cannot check is said.
    fn judge(&mut self, rep: &mut SignatureReport) {
        rep.timestamps.append(&mut self.reports);
        if !self.broken.is_empty() {
            let list = tsp::numbered(&self.broken);
            rep.fail(
                I::Indeterminate,
                S::SigConstraintsFailure,
                Check::new(
                    "XADES_ARCHIVE_TIMESTAMP_BROKEN",
                    Outcome::Failed,
                    format!("Dấu thời gian lưu trữ {list} không khớp với chữ ký và dữ liệu kiểm tra mà nó đóng dấu (bị thay đổi sau khi đóng dấu) hoặc chữ ký của TSA sai"),
                    format!("Archive timestamp {list} does not stamp this signature and its validation data (changed after it was stamped), or the TSA's signature does not verify"),
                )
                .with("timestamps", self.broken.clone()),
            );
        }
        for k in &self.invalid {
            rep.pass(Check::new(
                "XADES_ARCHIVE_TIMESTAMP_INVALID",
                Outcome::Warning,
                format!("Dấu thời gian lưu trữ #{k} không hợp lệ và không được dùng làm bằng chứng thời điểm"),
                format!("Archive timestamp #{k} is not valid and is not used as proof of time"),
            ));
        }
        if !self.unchecked.is_empty() {
            let list = self.unchecked.join("; ");
            rep.pass(Check::new(
                "XADES_ARCHIVE_TIMESTAMP_NOT_VALIDATED",
                Outcome::Warning,
                format!("Dấu thời gian lưu trữ không được kiểm tra và không được dùng: {list}"),
                format!("Archive timestamp not checked and not used: {list}"),
            ));
        }
    }
}

/// XAdES B-LTA: each v1.4.1 ArchiveTimeStamp checked over its input (EN 319
/// 132-1 §5.5.2.2), newest first. A valid one proves that everything it
/// stamps — the signature, its timestamps and validation data, the archive
/// timestamps before it — existed at its time, so the earlier ones are
/// validated at that time (the archive-timestamp chain, EN 319 102-1
/// §5.6.3), and an earlier one must carry an earlier time.
fn archive_timestamps(
    xd: &XmlDoc<'_>,
    out: &SigOutcome,
    x: &xades::Xades,
    detached: &[Detached<'_>],
    opts: &VerifyOptions,
    embedded: &RevocationData,
    rep: &mut SignatureReport,
) -> ArchiveFound {
    let mut found = ArchiveFound::default();
    for (k, a) in x.archive_timestamps.iter().enumerate().rev() {
        let n = k.saturating_add(1);
        if !a.v141 {
            found.unchecked.push(format!(
                "#{n}: XAdES v1.3.2 form (only the v1.4.1 ArchiveTimeStamp is validated)"
            ));
            continue;
        }
        if a.includes {
            found
                .unchecked
                .push(format!("#{n}: Include elements (distributed case)"));
            continue;
        }
        let Some(st) = &a.stamp else {
            found.broken.push(n);
            continue;
        };
        let input = match archive_input(xd, out, x, a.position, &st.c14n, detached, &opts.limits) {
            Ok(b) => b,
            Err(why) => {
                found.unchecked.push(format!("#{n}: {why}"));
                continue;
            }
        };
        let timing = Timing {
            external_poe: found.poe,
            revocation_at_most: None,
        };
        let (ts, tst) = tsp::verify_token_in(
            &st.token,
            &Content::Bytes(&input),
            SignatureKind::ArchiveTimestamp,
            k,
            opts,
            embedded,
            timing,
        );
        match (&tst, ts.indication) {
            (Some(t), I::TotalPassed) => {
                if let Some(later) = found.poe {
                    poe::check_order(t.gen_time, later, rep);
                }
                found.poe = Some(found.poe.map_or(t.gen_time, |p| p.min(t.gen_time)));
            }
            _ if ts.indication == I::TotalFailed => found.broken.push(n),
            _ => found.invalid.push(n),
        }
        found.reports.push(ts);
    }
    found.reports.reverse();
    found
}

/// The octets an ArchiveTimeStamp stamps (EN 319 132-1 §5.5.2.2, the case
/// without Include): each Reference's transformed data in SignedInfo
/// order, then SignedInfo, SignatureValue and KeyInfo, then every unsigned
/// signature property before the timestamp, then the Objects other than
/// the one holding the qualifying properties — each element canonicalized
/// with the timestamp's method.
fn archive_input(
    xd: &XmlDoc<'_>,
    out: &SigOutcome,
    x: &xades::Xades,
    position: usize,
    c14n_uri: &str,
    detached: &[Detached<'_>],
    limits: &crate::error::Limits,
) -> Result<Vec<u8>, String> {
    let doc = &xd.doc;
    let mode = xml::alg::c14n(c14n_uri)
        .ok_or_else(|| format!("unsupported CanonicalizationMethod {c14n_uri}"))?;
    let si = out.signed_info_node.ok_or("no SignedInfo")?;
    let mut buf = Vec::new();
    for r in xml::child_elements(doc, si).filter(|r| xml::is(doc, *r, xml::DSIG, "Reference")) {
        dsig::reference_octets(
            xd,
            out.node,
            r,
            detached,
            limits,
            (mode, Vec::new()),
            &mut buf,
        )
        .map_err(|e| format!("a Reference cannot be processed again: {e:?}"))?;
    }
    let element = |n: uppsala::NodeId, buf: &mut Vec<u8>| -> Result<(), String> {
        dsig::element_c14n(doc, n, mode, &[], buf).map_err(|e| format!("canonicalization: {e}"))
    };
    element(si, &mut buf)?;
    if let Some(sv) = out.signature_value_node {
        element(sv, &mut buf)?;
    }
    let kids: Vec<uppsala::NodeId> = xml::child_elements(doc, out.node).collect();
    if let Some(ki) = kids
        .iter()
        .find(|k| xml::is(doc, **k, xml::DSIG, "KeyInfo"))
    {
        element(*ki, &mut buf)?;
    }
    for c in x.unsigned_children.iter().take(position) {
        element(*c, &mut buf)?;
    }
    for o in kids
        .iter()
        .filter(|k| xml::is(doc, **k, xml::DSIG, "Object") && Some(**k) != x.object)
    {
        element(*o, &mut buf)?;
    }
    Ok(buf)
}

enum Binding {
    Bound(X509),
    None,
    Failed,
}

/// The XAdES checks before the signature value: the properties belong to
/// this signature and are signed, and SigningCertificate(V2) names one of
/// the certificates at hand (that one must verify the signature).
fn xades_binding(
    xd: &XmlDoc<'_>,
    out: &SigOutcome,
    x: &xades::Xades,
    certs: &[X509],
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) -> Binding {
    let mut info = Vec::new();
    if let Some(p) = &x.policy {
        info.push(format!("policy {p}"));
    }
    if !x.mime_types.is_empty() {
        info.push(format!("data {}", x.mime_types.join(", ")));
    }
    rep.pass(
        Check::new(
            "XADES_PROPERTIES",
            Outcome::Info,
            format!("Chữ ký XAdES ({}) {}", x.namespace, info.join("; ")),
            format!("XAdES signature ({}) {}", x.namespace, info.join("; ")),
        )
        .with("namespace", x.namespace.clone()),
    );
    if !x.problems.is_empty() {
        let list = x.problems.join("; ");
        rep.fail(
            I::TotalFailed,
            S::FormatFailure,
            Check::new(
                "XADES_MALFORMED",
                Outcome::Failed,
                format!("Thuộc tính XAdES không hợp lệ: {list}"),
                format!("The XAdES properties are malformed: {list}"),
            ),
        );
        return Binding::Failed;
    }
    let signed = x
        .signed_properties
        .is_some_and(|sp| profile::covered(&xd.doc, out, sp));
    if !signed {
        rep.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "XADES_SIGNED_PROPERTIES_NOT_SIGNED",
                Outcome::Failed,
                "Các thuộc tính được ký (SignedProperties) của XAdES không có hoặc không được chữ ký bao phủ: chứng thư và thời điểm ký không được bảo vệ",
                "The XAdES SignedProperties are absent or not covered by the signature: the signing certificate and time are not protected",
            ),
        );
        return Binding::Failed;
    }
    let Some(first) = x.signing_certs.first() else {
        rep.pass(Check::new(
            "XADES_SIGNING_CERT_ABSENT",
            Outcome::Warning,
            "XAdES không có SigningCertificate(V2): chứng thư của người ký được xác định bằng khóa khớp với chữ ký",
            "XAdES without SigningCertificate(V2): the signer's certificate is the one whose key verifies the signature",
        ));
        return Binding::None;
    };
    let Some(dalg) = first.digest_alg else {
        rep.fail(
            I::Indeterminate,
            S::CryptoConstraintsFailure,
            Check::new(
                "XADES_SIGNING_CERT_HASH_UNKNOWN",
                Outcome::Failed,
                format!(
                    "Thuật toán băm trong SigningCertificate không được hỗ trợ: {}",
                    first.digest_uri
                ),
                format!(
                    "Unsupported digest in SigningCertificate: {}",
                    first.digest_uri
                ),
            ),
        );
        return Binding::Failed;
    };
    algorithms::check_digest(&opts.algorithms, dalg, "SigningCertificate", rep);
    let found = certs
        .iter()
        .chain(opts.intermediates.iter())
        .find(|c| {
            c.to_der()
                .ok()
                .and_then(|d| dalg.digest(&d).ok())
                .is_some_and(|h| h == first.digest)
        })
        .cloned();
    match found {
        Some(c) => {
            rep.pass(Check::new(
                "XADES_SIGNING_CERT_MATCH",
                Outcome::Passed,
                "Chứng thư số của người ký khớp với SigningCertificate trong thuộc tính được ký",
                "The signer's certificate matches the signed SigningCertificate property",
            ));
            Binding::Bound(c)
        }
        None => {
            rep.fail(
                I::Indeterminate,
                S::NoSigningCertificateFound,
                Check::new(
                    "XADES_SIGNING_CERT_NOT_FOUND",
                    Outcome::Failed,
                    "Không có chứng thư số nào khớp với SigningCertificate trong thuộc tính được ký",
                    "No certificate at hand matches the signed SigningCertificate property",
                ),
            );
            Binding::Failed
        }
    }
}

/// The canonical `SignatureValue` element, what a XAdES
/// SignatureTimeStamp stamps (EN 319 132-1 §5.3).
fn signature_value_c14n(xd: &XmlDoc<'_>, out: &SigOutcome, c14n_uri: &str) -> Option<Vec<u8>> {
    let sv = out.signature_value_node?;
    let mode = xml::alg::c14n(c14n_uri)?;
    let mut buf = Vec::new();
    dsig::element_c14n(&xd.doc, sv, mode, &[], &mut buf).ok()?;
    Some(buf)
}

/// XAdES baseline level: B-B with signed properties, B-T with a valid
/// signature timestamp, B-LT when the signature also carries revocation
/// values (EN 319 132-1 §6.3: certificate values alone, as LibreOffice
/// writes them, do not make a signature verifiable offline), B-LTA when on
/// top a valid archive timestamp covers it. The form's claim
/// (`format_level`) counts what is there, valid or not.
fn xades_level(x: &xades::Xades, stamped: bool, archived: bool, rep: &mut SignatureReport) {
    let has_values = !x.crl_values.is_empty() || !x.ocsp_values.is_empty();
    let format = if !x.archive_timestamps.is_empty() {
        Level::BLTA
    } else if has_values && !x.signature_timestamps.is_empty() {
        Level::BLT
    } else if !x.signature_timestamps.is_empty() {
        Level::BT
    } else {
        Level::BB
    };
    rep.format_level = Some(format);
    rep.conclude();
    if rep.indication == I::TotalPassed {
        rep.level = Some(match (stamped || archived, has_values, archived) {
            (true, true, true) => Level::BLTA,
            (true, true, false) => Level::BLT,
            (true, false, _) => Level::BT,
            _ => Level::BB,
        });
    }
}

/// The profile's demands on this signature's coverage: the role it plays,
/// each element it must sign (exactly one such element in the document,
/// inside a verified reference's data), its own SigningTime.
fn check_role_coverage(
    xd: &XmlDoc<'_>,
    out: &SigOutcome,
    p: &XmlProfile,
    role: Option<&profile::Role>,
    found: &profile::Found,
    rep: &mut SignatureReport,
) {
    let doc = &xd.doc;
    let Some(role) = role else {
        rep.pass(Check::new(
            "XML_PROFILE_NO_ROLE",
            Outcome::Warning,
            format!(
                "Chữ ký ở vị trí không thuộc vai trò nào của hồ sơ {}",
                p.name
            ),
            format!("The signature is in no role of profile {}", p.name),
        ));
        return;
    };
    rep.pass(
        Check::new(
            "XML_PROFILE_ROLE",
            Outcome::Info,
            format!("Chữ ký của {}", role.label_vi),
            format!("The {}'s signature", role.label_en),
        )
        .with("role", role.name.clone()),
    );
    let fail =
        |rep: &mut SignatureReport, code: &'static str, vi: String, en: String, path: &str| {
            rep.fail(
                I::Indeterminate,
                S::SigConstraintsFailure,
                Check::new(code, Outcome::Failed, vi, en).with("element", path.to_string()),
            );
        };
    for want in &role.must_sign {
        match found.get(want) {
            [] => fail(
                rep,
                "XML_PROFILE_ELEMENT_MISSING",
                format!(
                    "Không có phần tử {want} mà chữ ký của {} phải bao phủ",
                    role.label_vi
                ),
                format!(
                    "No element {want}, which the {}'s signature must cover",
                    role.label_en
                ),
                want,
            ),
            [e] => {
                if profile::covered(doc, out, *e) {
                    rep.pass(
                        Check::new(
                            "XML_PROFILE_ELEMENT_SIGNED",
                            Outcome::Passed,
                            format!("Phần tử {} được chữ ký bao phủ", xml::path_of(doc, *e)),
                            format!(
                                "Element {} is covered by the signature",
                                xml::path_of(doc, *e)
                            ),
                        )
                        .with("element", xml::path_of(doc, *e)),
                    );
                } else {
                    fail(
                        rep,
                        "XML_PROFILE_ELEMENT_NOT_SIGNED",
                        format!(
                            "Phần tử {} không được chữ ký của {} bao phủ: dữ liệu ứng dụng đọc không phải dữ liệu đã ký",
                            xml::path_of(doc, *e),
                            role.label_vi
                        ),
                        format!(
                            "Element {} is not covered by the {}'s signature: what the application reads is not what was signed",
                            xml::path_of(doc, *e),
                            role.label_en
                        ),
                        want,
                    );
                }
            }
            _ => fail(
                rep,
                "XML_PROFILE_ELEMENT_AMBIGUOUS",
                format!(
                    "Có nhiều phần tử {want} trong tài liệu: không xác định được phần tử nào đã được ký (dấu hiệu tấn công bọc chữ ký)"
                ),
                format!(
                    "Several {want} elements in the document: which one is signed is ambiguous (a signature-wrapping pattern)"
                ),
                want,
            ),
        }
    }
    if role.must_sign_signing_time {
        // Exactly one SigningTime, and signed: an unsigned one placed
        // before the signed one would be the time a reader takes.
        let ok = match profile::signing_time_elements(doc, out.node).as_slice() {
            [t] => profile::covered(doc, out, *t),
            _ => false,
        };
        if !ok {
            fail(
                rep,
                "XML_PROFILE_SIGNING_TIME_NOT_SIGNED",
                format!(
                    "Thời điểm ký (SigningTime) của {} không có hoặc không được ký",
                    role.label_vi
                ),
                format!(
                    "The {}'s SigningTime is absent or not signed",
                    role.label_en
                ),
                "SigningTime",
            );
        }
    }
}

/// The identity element of the role against the signer's certificate.
fn check_identity(
    xd: &XmlDoc<'_>,
    role: &profile::Role,
    found: &profile::Found,
    signer: &CertSummary,
    rep: &mut SignatureReport,
) {
    let Some(rule) = &role.identity else { return };
    let Some((_, want)) = profile::single_text(&xd.doc, found, &rule.element) else {
        rep.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "XML_PROFILE_IDENTITY_MISSING",
                Outcome::Failed,
                format!(
                    "Không có (hoặc có nhiều) phần tử {} chứa số {} của {}",
                    rule.element, rule.kind, role.label_vi
                ),
                format!(
                    "No single element {} holding the {}'s {}",
                    rule.element, role.label_en, rule.kind
                ),
            ),
        );
        return;
    };
    // A branch's invoices may be signed with its company's certificate.
    let matches = signer.identities.iter().any(|i| {
        cert::identity_matches(&i.kind, &i.value, &rule.kind, &want)
            || (rule.kind == "MST"
                && i.kind == "MST"
                && want
                    .to_ascii_uppercase()
                    .starts_with(&format!("{}-", i.value.trim().to_ascii_uppercase())))
    });
    if matches {
        rep.pass(
            Check::new(
                "XML_PROFILE_IDENTITY_MATCH",
                Outcome::Passed,
                format!("{} {} trong tài liệu là của người ký", rule.kind, want),
                format!("The {} {} in the document is the signer's", rule.kind, want),
            )
            .with("value", want),
        );
    } else {
        let have: Vec<String> = signer
            .identities
            .iter()
            .map(|i| format!("{}:{}", i.kind, i.value))
            .collect();
        rep.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "XML_PROFILE_IDENTITY_MISMATCH",
                Outcome::Failed,
                format!(
                    "{} {} của {} trong tài liệu không khớp chứng thư số của người ký ({})",
                    rule.kind,
                    want,
                    role.label_vi,
                    have.join(", ")
                ),
                format!(
                    "The {}'s {} {} in the document does not match the signer's certificate ({})",
                    role.label_en,
                    rule.kind,
                    want,
                    have.join(", ")
                ),
            )
            .with("value", want),
        );
    }
}

/// One check per reference status; `true` when every reference verified.
fn check_references(out: &SigOutcome, rep: &mut SignatureReport) -> bool {
    check_reference_list(&out.references, "XML_REFERENCES_VALID", rep)
}

/// Every reference of `refs` verified, each failure with what it means;
/// `passed` names the check when all hold.
pub(crate) fn check_reference_list(
    refs: &[crate::xml::dsig::RefOutcome],
    passed: &'static str,
    rep: &mut SignatureReport,
) -> bool {
    let mut all = true;
    let mut signed = Vec::new();
    for (k, r) in refs.iter().enumerate() {
        let no = k.saturating_add(1);
        let uri = r.uri.clone().unwrap_or_else(|| "(no URI)".into());
        match &r.status {
            RefStatus::Valid => {
                if let Some(s) = &r.signed {
                    signed.push(s.path.clone());
                }
            }
            failed => {
                let (ind, sub, code, vi, en) = match failed {
                    RefStatus::DigestMismatch => (
                        I::TotalFailed,
                        S::HashFailure,
                        "XML_REFERENCE_DIGEST_MISMATCH",
                        format!(
                            "Tham chiếu #{no} ({uri}): dữ liệu đã bị thay đổi sau khi ký (giá trị băm không khớp)"
                        ),
                        format!(
                            "Reference #{no} ({uri}): the data changed after signing (digest mismatch)"
                        ),
                    ),
                    RefStatus::NotFound(why) => (
                        I::Indeterminate,
                        S::SignedDataNotFound,
                        "XML_REFERENCE_NOT_FOUND",
                        format!("Tham chiếu #{no}: không tìm thấy dữ liệu được ký ({why})"),
                        format!("Reference #{no}: the signed data was not found ({why})"),
                    ),
                    RefStatus::Unsupported(why) => (
                        I::Indeterminate,
                        S::SignedDataNotFound,
                        "XML_TRANSFORM_UNSUPPORTED",
                        format!(
                            "Tham chiếu #{no}: dùng phép biến đổi hoặc thuật toán không được hỗ trợ ({why})"
                        ),
                        format!(
                            "Reference #{no}: uses a transform or algorithm kyso does not run ({why})"
                        ),
                    ),
                    RefStatus::Malformed(why) => (
                        I::TotalFailed,
                        S::FormatFailure,
                        "XML_REFERENCE_MALFORMED",
                        format!("Tham chiếu #{no} không hợp lệ: {why}"),
                        format!("Reference #{no} is malformed: {why}"),
                    ),
                    RefStatus::Valid => continue,
                };
                all = false;
                rep.fail(
                    ind,
                    sub,
                    Check::new(code, Outcome::Failed, vi, en).with("uri", uri),
                );
            }
        }
    }
    if all {
        let list = signed.join(", ");
        rep.pass(
            Check::new(
                passed,
                Outcome::Passed,
                format!("Mọi tham chiếu đều khớp; các phần đã ký: {list}"),
                format!("Every reference verifies; signed: {list}"),
            )
            .with("signed", signed),
        );
    }
    all
}

/// The claimed signing time: XAdES `SigningTime`, or a `SigningTime` in
/// the signature's SignatureProperties (the Vietnamese e-invoice form,
/// written in local time without zone), as written; the first in document
/// order.
fn signing_time(doc: &uppsala::Document<'_>, sig: uppsala::NodeId) -> Option<String> {
    profile::signing_time_elements(doc, sig)
        .first()
        .map(|n| xml::text_of(doc, *n).trim().to_string())
}
