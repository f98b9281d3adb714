//! Checks on one CMS SignerInfo (RFC 5652 §5.4–5.6, RFC 5035, ETSI EN 319 122-1),
//! shared by PDF signatures, document timestamps and .p7s/.p7m files.

use base64::Engine;
use openssl::bn::BigNum;
use openssl::x509::X509;

use super::{AlgorithmPolicy, Sha1Policy, VerifyOptions, document_error};
use crate::cms::{self, SignedData, SignerId, SignerInfo, oid};
use crate::crypto::{self, DigestAlg, SigCheck, SigScheme};
use crate::der;
use crate::error::{Error, Result};
use crate::pdf::source::{Source, for_each_chunk};
use crate::pki::cert::{self, oid as coid};
use crate::pki::{PathFailure, PathOptions, validate_path};
use crate::report::{
    Check, DocumentInfo, Indication as I, Outcome, Report, SignatureKind, SignatureReport,
    SubIndication as S,
};

/// Where the signed content comes from.
pub enum Content<'a> {
    /// Byte ranges of a source (PDF ByteRange).
    Ranges(&'a dyn Source, Vec<(u64, u64)>),
    /// Byte ranges whose digest with one algorithm is known already
    /// (computed in a pass shared with other signatures).
    Hashed(&'a dyn Source, Vec<(u64, u64)>, DigestAlg, Vec<u8>),
    /// A whole source (detached content file).
    Whole(&'a dyn Source),
    /// Bytes in memory (encapsulated content).
    Bytes(&'a [u8]),
    /// Only a digest is known (e.g. a timestamp request's imprint).
    Digest(DigestAlg, Vec<u8>),
}

const CHUNK: usize = 1 << 20;

impl Content<'_> {
    pub fn digest(&self, alg: DigestAlg) -> Result<Vec<u8>> {
        let mut h = alg.hasher()?;
        let mut err = None;
        match self {
            Content::Digest(a, d) => {
                return if *a == alg {
                    Ok(d.clone())
                } else {
                    Err(Error::Invalid(format!(
                        "only a {} digest of the data is known",
                        a.name()
                    )))
                };
            }
            Content::Hashed(_, _, a, d) if *a == alg => return Ok(d.clone()),
            Content::Bytes(b) => h.update(b)?,
            Content::Whole(src) => {
                let mut buf = Vec::new();
                for_each_chunk(*src, 0, src.len(), &mut buf, CHUNK, |c| {
                    if let Err(e) = h.update(c) {
                        err = Some(e);
                    }
                })?;
            }
            Content::Ranges(src, ranges) | Content::Hashed(src, ranges, ..) => {
                let mut buf = Vec::new();
                for (off, len) in ranges {
                    for_each_chunk(*src, *off, *len, &mut buf, CHUNK, |c| {
                        if let Err(e) = h.update(c) {
                            err = Some(e);
                        }
                    })?;
                }
            }
        }
        if let Some(e) = err {
            return Err(e.into());
        }
        Ok(h.finish()?)
    }

    /// The content in memory, bounded (only for signatures without signed attributes).
    pub fn bytes(&self, max: u64) -> Result<Vec<u8>> {
        let total: u64 = match self {
            Content::Digest(..) => {
                return Err(Error::Invalid("only a digest of the data is known".into()));
            }
            Content::Bytes(b) => b.len() as u64,
            Content::Whole(s) => s.len(),
            Content::Ranges(_, r) | Content::Hashed(_, r, ..) => r.iter().map(|(_, l)| *l).sum(),
        };
        if total > max {
            return Err(Error::limit("max_cms_bytes", total, max));
        }
        let mut out = Vec::with_capacity(total as usize);
        match self {
            Content::Digest(..) => {}
            Content::Bytes(b) => out.extend_from_slice(b),
            Content::Whole(s) => out = crate::pdf::source::read_range(*s, 0, total as usize)?,
            Content::Ranges(s, r) | Content::Hashed(s, r, ..) => {
                for (off, len) in r {
                    out.extend(crate::pdf::source::read_range(*s, *off, *len as usize)?);
                }
            }
        }
        Ok(out)
    }
}

/// Which rules apply to the signer's certificate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    DocumentSigner,
    TimestampAuthority,
}

/// Result of checking one SignerInfo, for the callers that need more than the report.
pub struct SignerOutcome {
    pub signer: Option<X509>,
    pub integrity_ok: bool,
}

/// Same serial number: compared as encoded INTEGER contents (negative
/// serials exist in the wild), else as magnitudes.
fn same_serial(c: &X509, serial: &[u8]) -> bool {
    if let Some(own) = c.to_der().ok().and_then(|d| cert::serial_content(&d)) {
        return own == serial;
    }
    match (c.serial_number().to_bn(), BigNum::from_slice(serial)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Same issuer name: byte-equal DER, else OpenSSL's canonical comparison.
fn same_issuer(c: &X509, issuer: &[u8]) -> bool {
    if c.issuer_name()
        .to_der()
        .is_ok_and(|d| d.as_slice() == issuer)
    {
        return true;
    }
    openssl::x509::X509Name::from_der(issuer)
        .is_ok_and(|n| n.try_cmp(c.issuer_name()).is_ok_and(|o| o.is_eq()))
}

fn find_signer(sid: &SignerId<'_>, candidates: &[X509]) -> Option<X509> {
    candidates
        .iter()
        .find(|c| match sid {
            SignerId::IssuerSerial { issuer, serial } => {
                same_issuer(c, issuer) && same_serial(c, serial)
            }
            SignerId::SubjectKeyId(ski) => c.subject_key_id().is_some_and(|k| k.as_slice() == *ski),
        })
        .cloned()
}

/// Parse all certificates of the CMS; unreadable ones are reported, not fatal.
pub fn cms_certificates(sd: &SignedData<'_>, rep: &mut SignatureReport) -> Vec<X509> {
    let mut out = Vec::new();
    let mut bad = 0usize;
    for c in &sd.certificates {
        match crate::memo::x509(c) {
            Some(x) => out.push(x),
            None => bad += 1,
        }
    }
    if bad > 0 {
        rep.pass(Check::new(
            "CMS_CERTIFICATES_UNREADABLE",
            Outcome::Warning,
            format!("{bad} chứng thư số trong chữ ký không đọc được và bị bỏ qua"),
            format!("{bad} certificate(s) in the signature could not be read and were ignored"),
        ));
    }
    out
}

fn algorithm_policy_digest(
    p: &AlgorithmPolicy,
    d: DigestAlg,
    what: &str,
    rep: &mut SignatureReport,
) {
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

fn algorithm_policy_key(
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

fn single_value<'a>(attrs: &[&cms::Attribute<'a>]) -> Option<der::Tlv<'a>> {
    match attrs {
        [a] if a.values.len() == 1 => Some(a.values[0]),
        _ => None,
    }
}

/// Check ESS signingCertificate(V2) against the chosen signer (RFC 5035 §5.4).
fn check_ess(si: &SignerInfo<'_>, signer: &X509, rep: &mut SignatureReport) -> bool {
    let v2 = si.signed_attr(oid::SIGNING_CERTIFICATE_V2);
    let v1 = si.signed_attr(oid::SIGNING_CERTIFICATE);
    let (attrs, is_v2) = if !v2.is_empty() {
        (v2, true)
    } else {
        (v1, false)
    };
    if attrs.is_empty() {
        rep.pass(Check::new(
            "ESS_SIGNING_CERT_ABSENT",
            Outcome::Warning,
            "Chữ ký không có thuộc tính signingCertificate(V2) gắn chứng thư số của người ký",
            "No signingCertificate(V2) attribute binds the signer's certificate",
        ));
        return true;
    }
    let Some(value) = single_value(&attrs) else {
        rep.fail(
            I::TotalFailed,
            S::FormatFailure,
            Check::new(
                "ESS_SIGNING_CERT_MALFORMED",
                Outcome::Failed,
                "Thuộc tính signingCertificate xuất hiện nhiều lần hoặc có nhiều giá trị",
                "signingCertificate attribute repeated or multi-valued",
            ),
        );
        return false;
    };
    let ids = match cms::parse_ess_cert_ids(&value, is_v2) {
        Ok(ids) if !ids.is_empty() => ids,
        _ => {
            rep.fail(
                I::TotalFailed,
                S::FormatFailure,
                Check::new(
                    "ESS_SIGNING_CERT_MALFORMED",
                    Outcome::Failed,
                    "Thuộc tính signingCertificate bị lỗi cấu trúc",
                    "signingCertificate attribute is malformed",
                ),
            );
            return false;
        }
    };
    let first = &ids[0];
    let Some(alg) = DigestAlg::from_oid(&first.hash_alg) else {
        rep.fail(
            I::Indeterminate,
            S::CryptoConstraintsFailure,
            Check::new(
                "ESS_SIGNING_CERT_HASH_UNKNOWN",
                Outcome::Failed,
                "Thuật toán băm trong signingCertificate không được hỗ trợ",
                "Unsupported hash algorithm in signingCertificate",
            )
            .with("oid", first.hash_alg.clone()),
        );
        return false;
    };
    let der_cert = signer.to_der().unwrap_or_default();
    let hash_ok = alg
        .digest(&der_cert)
        .map(|h| h == first.hash)
        .unwrap_or(false);
    let serial_ok = match &first.issuer_serial {
        None => true,
        Some((_, serial)) => same_serial(signer, serial),
    };
    if hash_ok && serial_ok {
        rep.pass(
            Check::new(
                "ESS_SIGNING_CERT_MATCH",
                Outcome::Passed,
                "Chứng thư số của người ký khớp với thuộc tính signingCertificate đã ký",
                "The signer's certificate matches the signed signingCertificate attribute",
            )
            .with("version", if is_v2 { "v2" } else { "v1" }),
        );
        true
    } else {
        rep.fail(
            I::Indeterminate,
            S::NoSigningCertificateFound,
            Check::new(
                "ESS_SIGNING_CERT_MISMATCH",
                Outcome::Failed,
                "Chứng thư số đi kèm KHÔNG khớp với chứng thư số mà người ký đã cam kết (signingCertificate)",
                "The certificate provided does NOT match the one the signer committed to (signingCertificate)",
            )
            .with("expected_hash", hex::encode(&first.hash)),
        );
        false
    }
}

/// CRLs and OCSP responses inside the CMS (RFC 5652 `crls`, RFC 5940
/// id-ri-ocsp-response) and in the Adobe revocationInfoArchival signed
/// attribute (ISO 32000-1 §12.8.3.3.2).
pub fn embedded_revocation(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
) -> crate::revocation::RevocationData {
    use crate::revocation::{RevSource, RevocationData};
    let mut d = RevocationData::default();
    for c in &sd.crls {
        d.crls.push((RevSource::Cms, (*c).into()));
    }
    for o in &sd.other_revocation_info {
        let mut r = o.children();
        if der::read_oid(&mut r).ok().as_deref() == Some("1.3.6.1.5.5.7.16.2") {
            if let Ok(v) = r.read() {
                d.ocsps.push((RevSource::Cms, v.raw.into()));
            }
        }
    }
    for a in si.signed_attr(oid::ADBE_REVOCATION) {
        for v in &a.values {
            for part in v.children().flatten().take(3) {
                let list = match part.children().read_tag(der::TAG_SEQUENCE) {
                    Ok(l) => l,
                    Err(_) => continue,
                };
                for item in list.children().flatten().take(500) {
                    match part.tag {
                        0xa0 => d.crls.push((RevSource::AdbeArchival, item.raw.into())),
                        0xa1 => d.ocsps.push((RevSource::AdbeArchival, item.raw.into())),
                        _ => {}
                    }
                }
            }
        }
    }
    d
}

/// Verify one SignerInfo over `content`. Fills `rep` and returns what was learned.
pub fn check_signer_info(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content: &Content<'_>,
    role: Role,
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) -> SignerOutcome {
    let mut out = SignerOutcome {
        signer: None,
        integrity_ok: false,
    };
    // Revocation data carried by this signature is used for its own path.
    let embedded = embedded_revocation(sd, si);
    let local;
    let opts = if embedded.is_empty() {
        opts
    } else {
        rep.pass(
            Check::new(
                "EMBEDDED_REVOCATION_DATA",
                Outcome::Info,
                format!(
                    "Chữ ký mang theo dữ liệu thu hồi: {} OCSP, {} CRL",
                    embedded.ocsps.len(),
                    embedded.crls.len()
                ),
                format!(
                    "The signature carries revocation data: {} OCSP response(s), {} CRL(s)",
                    embedded.ocsps.len(),
                    embedded.crls.len()
                ),
            )
            .with("ocsps", embedded.ocsps.len())
            .with("crls", embedded.crls.len()),
        );
        let mut o = opts.clone();
        o.revocation.extend(&embedded);
        local = o;
        &local
    };
    let certs = cms_certificates(sd, rep);
    let mut candidates = certs.clone();
    candidates.extend(opts.intermediates.iter().cloned());

    // 1. The signer's certificate (RFC 5652 §5.3 SignerIdentifier).
    let Some(signer) = find_signer(&si.sid, &candidates) else {
        rep.fail(
            I::Indeterminate,
            S::NoSigningCertificateFound,
            Check::new(
                "SIGNER_CERT_NOT_FOUND",
                Outcome::Failed,
                "Không tìm thấy chứng thư số của người ký trong chữ ký hoặc dữ liệu được cung cấp",
                "The signer's certificate is not in the signature nor in the supplied certificates",
            ),
        );
        return out;
    };
    let summary = cert::summarize(&signer);
    rep.pass(
        Check::new(
            "SIGNER_CERT_FOUND",
            Outcome::Passed,
            format!("Đã xác định chứng thư số của người ký: {}", summary.subject),
            format!("Signer's certificate identified: {}", summary.subject),
        )
        .with("sha256", summary.sha256.clone()),
    );
    algorithm_policy_key(
        &opts.algorithms,
        &summary.key_type,
        summary.key_bits,
        ("người ký", "signer"),
        rep,
    );
    rep.signer = Some(summary);
    out.signer = Some(signer.clone());

    // 2. Algorithms.
    let mut digest = DigestAlg::from_oid(&si.digest_alg.oid);
    rep.digest_algorithm = Some(cms::oid_name(&si.digest_alg.oid).to_string());
    if digest.is_none() {
        if let Some(d) = crypto::digest_from_signature_oid(&si.digest_alg.oid) {
            digest = Some(d);
            rep.pass(Check::new(
                "DIGEST_ALG_IS_SIGNATURE_OID",
                Outcome::Warning,
                format!(
                    "digestAlgorithm ghi mã thuật toán chữ ký ({}); dùng hàm băm {}",
                    cms::oid_name(&si.digest_alg.oid),
                    d.name()
                ),
                format!(
                    "digestAlgorithm holds a signature algorithm ({}); using its hash {}",
                    cms::oid_name(&si.digest_alg.oid),
                    d.name()
                ),
            ));
        }
    }
    let scheme = crypto::scheme_for(&si.sig_alg, digest);
    let (digest, scheme) = match (digest, scheme) {
        (Some(d), Ok(s)) => (d, s),
        (d, s) => {
            let why = match (&d, &s) {
                (None, _) => format!("digest algorithm {}", si.digest_alg.oid),
                (_, Err(e)) => e.clone(),
                _ => String::new(),
            };
            rep.fail(
                I::Indeterminate,
                S::CryptoConstraintsFailure,
                Check::new(
                    "ALG_UNSUPPORTED",
                    Outcome::Failed,
                    format!("Thuật toán không được hỗ trợ: {why}"),
                    format!("Unsupported algorithm: {why}"),
                ),
            );
            return out;
        }
    };
    rep.signature_algorithm = Some(scheme.name());
    // RFC 8419 §3: EdDSA in CMS uses SHA-512 (Ed25519) / SHAKE256 (Ed448).
    let eddsa_digest_ok = match scheme {
        SigScheme::Ed25519 => digest == DigestAlg::Sha512,
        SigScheme::Ed448 => digest == DigestAlg::Shake256,
        _ => true,
    };
    if !eddsa_digest_ok {
        rep.fail(
            I::Indeterminate,
            S::CryptoConstraintsFailure,
            Check::new(
                "ALG_EDDSA_DIGEST",
                Outcome::Failed,
                format!(
                    "{} không được dùng với thuật toán băm {}",
                    scheme.name(),
                    digest.name()
                ),
                format!(
                    "{} must not be used with digest {} (RFC 8419)",
                    scheme.name(),
                    digest.name()
                ),
            ),
        );
        return out;
    }
    algorithm_policy_digest(&opts.algorithms, digest, "digestAlgorithm", rep);
    if let Some(sd2) = scheme.digest() {
        if sd2 != digest {
            rep.pass(Check::new(
                "DIGEST_ALG_MISMATCH",
                Outcome::Info,
                format!("Thuộc tính được ký băm bằng {} theo signatureAlgorithm; nội dung băm bằng {}", sd2.name(), digest.name()),
                format!("Signed attributes are hashed with {} per signatureAlgorithm; the content with {}", sd2.name(), digest.name()),
            ));
            algorithm_policy_digest(&opts.algorithms, sd2, "signatureAlgorithm", rep);
        }
    }

    // 3. Integrity: message digest and signature value.
    let content_digest = match content.digest(digest) {
        Ok(d) => d,
        Err(e) => {
            rep.fail(
                I::Indeterminate,
                S::SignedDataNotFound,
                Check::new(
                    "CONTENT_UNREADABLE",
                    Outcome::Failed,
                    format!("Không đọc được dữ liệu đã ký: {e}"),
                    format!("The signed data could not be read: {e}"),
                ),
            );
            return out;
        }
    };
    let key = match signer.public_key() {
        Ok(k) => k,
        Err(_) => {
            rep.fail(
                I::Indeterminate,
                S::CryptoConstraintsFailure,
                Check::new(
                    "SIGNER_KEY_UNREADABLE",
                    Outcome::Failed,
                    "Không đọc được khóa công khai của người ký",
                    "The signer's public key cannot be read",
                ),
            );
            return out;
        }
    };
    let (signed_bytes, digest_ok) = match &si.signed_attrs {
        Some((_, raw)) => {
            if !check_signed_attrs(sd, si, &content_digest, rep) {
                // messageDigest mismatch or malformed attributes: already recorded.
                (raw.clone(), false)
            } else {
                (raw.clone(), true)
            }
        }
        None => {
            rep.pass(Check::new(
                "SIGNED_ATTRS_ABSENT",
                Outcome::Warning,
                "Chữ ký không có thuộc tính được ký (signedAttrs); chữ ký được tính trực tiếp trên nội dung",
                "No signed attributes; the signature is computed directly over the content",
            ));
            match content.bytes(opts.limits.max_cms_bytes) {
                Ok(b) => (b, true),
                Err(e) => {
                    rep.fail(
                        I::Indeterminate,
                        S::SignedDataNotFound,
                        Check::new(
                            "CONTENT_UNREADABLE",
                            Outcome::Failed,
                            format!("Không đọc được dữ liệu đã ký: {e}"),
                            format!("The signed data could not be read: {e}"),
                        ),
                    );
                    return out;
                }
            }
        }
    };
    match crypto::verify_signature(&scheme, &key, &signed_bytes, si.signature) {
        SigCheck::Valid => rep.pass(Check::new(
            "SIGNATURE_VALUE_VALID",
            Outcome::Passed,
            "Giá trị chữ ký số đúng với khóa công khai của người ký",
            "The signature value verifies with the signer's public key",
        )),
        SigCheck::Invalid => rep.fail(
            I::TotalFailed,
            S::SigCryptoFailure,
            Check::new(
                "SIGNATURE_VALUE_INVALID",
                Outcome::Failed,
                "Giá trị chữ ký số KHÔNG đúng: chữ ký bị giả mạo hoặc dữ liệu đã bị sửa",
                "The signature value does NOT verify: forged signature or altered data",
            ),
        ),
        SigCheck::KeyMismatch(why) => rep.fail(
            I::TotalFailed,
            S::SigCryptoFailure,
            Check::new(
                "SIGNATURE_KEY_MISMATCH",
                Outcome::Failed,
                format!("Khóa của người ký không phù hợp với thuật toán chữ ký: {why}"),
                format!("The signer's key does not fit the signature algorithm: {why}"),
            ),
        ),
    }
    out.integrity_ok = digest_ok && !rep.is_failed();

    let own = if role == Role::DocumentSigner {
        check_signature_timestamps(si, opts, rep)
    } else {
        None
    };
    // A later timestamp over the whole signed object (a PDF document
    // timestamp) is proof of existence too.
    let poe = match (own, opts.external_poe) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(t) = opts.external_poe.filter(|t| own.is_none_or(|o| *t < o)) {
        rep.pass(
            Check::new(
                "POE_FROM_DOCUMENT_TIMESTAMP",
                Outcome::Info,
                format!(
                    "Một dấu thời gian tài liệu hợp lệ chứng minh chữ ký đã tồn tại lúc {}",
                    cert::fmt_unix(t)
                ),
                format!(
                    "A valid document timestamp proves the signature existed at {}",
                    cert::fmt_unix(t)
                ),
            )
            .with("poe", cert::fmt_unix(t)),
        );
    }
    rep.poe = poe.map(cert::fmt_unix);

    // 4. Binding of the signer certificate.
    if si.signed_attrs.is_some() {
        check_ess(si, &signer, rep);
    }

    // 5. Path to a trust anchor at the validation time (or at the proof of existence).
    check_chain(&signer, &certs, role, poe, opts, rep);
    out
}

/// RFC 5652 §5.3/§11: contentType and messageDigest present once, single-valued;
/// messageDigest equals the content digest.
fn check_signed_attrs(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content_digest: &[u8],
    rep: &mut SignatureReport,
) -> bool {
    let ct = si.signed_attr(oid::CONTENT_TYPE);
    let md = si.signed_attr(oid::MESSAGE_DIGEST);
    let mut ok = true;
    let malformed = |rep: &mut SignatureReport, code: &'static str, vi: &str, en: &str| {
        rep.fail(
            I::TotalFailed,
            S::FormatFailure,
            Check::new(code, Outcome::Failed, vi, en),
        );
    };
    match single_value(&ct) {
        Some(v) if v.tag == der::TAG_OID => {
            if der::oid_to_string(v.value).ok().as_deref() != Some(sd.econtent_type.as_str()) {
                malformed(
                    rep,
                    "CONTENT_TYPE_MISMATCH",
                    "Thuộc tính contentType khác kiểu nội dung",
                    "contentType attribute differs from the content type",
                );
                ok = false;
            }
        }
        _ => {
            malformed(
                rep,
                "CONTENT_TYPE_ATTR_INVALID",
                "Thiếu hoặc sai thuộc tính contentType (phải có đúng một giá trị)",
                "contentType attribute missing, repeated or multi-valued",
            );
            ok = false;
        }
    }
    // RFC 5652 §11.1–11.3: contentType, messageDigest and signingTime MUST NOT be unsigned attributes.
    for o in [oid::CONTENT_TYPE, oid::MESSAGE_DIGEST, oid::SIGNING_TIME] {
        if !si.unsigned_attr(o).is_empty() {
            malformed(
                rep,
                "UNSIGNED_ATTR_NOT_ALLOWED",
                &format!(
                    "Thuộc tính {} không được nằm trong phần không ký (unsignedAttrs)",
                    cms::oid_name(o)
                ),
                &format!(
                    "Attribute {} must not be an unsigned attribute",
                    cms::oid_name(o)
                ),
            );
            ok = false;
        }
    }
    if let Some(attrs) = si.signed_attrs.as_ref().map(|(a, _)| a) {
        // RFC 5652 §11 and RFC 5035 §5.4: these may appear only once.
        let once = [
            oid::CONTENT_TYPE,
            oid::MESSAGE_DIGEST,
            oid::SIGNING_TIME,
            oid::SIGNING_CERTIFICATE,
            oid::SIGNING_CERTIFICATE_V2,
        ];
        let mut oids: Vec<&str> = attrs
            .iter()
            .map(|a| a.oid.as_str())
            .filter(|o| once.contains(o))
            .collect();
        oids.sort_unstable();
        if oids.windows(2).any(|w| w[0] == w[1]) {
            malformed(
                rep,
                "SIGNED_ATTRS_DUPLICATE",
                "Thuộc tính được ký bị lặp lại",
                "A signed attribute type appears more than once",
            );
            ok = false;
        }
        for a in attrs.iter().filter(|a| a.oid == oid::SIGNING_TIME) {
            let good = a.values.len() == 1 && der::parse_time(&a.values[0]).is_ok();
            if !good {
                malformed(
                    rep,
                    "SIGNING_TIME_ATTR_INVALID",
                    "Thuộc tính signingTime không hợp lệ",
                    "signingTime attribute is malformed",
                );
                ok = false;
            } else if let Ok(t) = der::parse_time(&a.values[0]) {
                if rep.claimed_signing_time.is_none() {
                    rep.claimed_signing_time = Some(cert::fmt_unix(t));
                }
            }
        }
    }
    match single_value(&md) {
        Some(v) if v.tag == der::TAG_OCTET_STRING => {
            if v.value == content_digest {
                rep.pass(Check::new(
                    "MESSAGE_DIGEST_MATCH",
                    Outcome::Passed,
                    "Dữ liệu được ký còn nguyên vẹn (giá trị băm khớp)",
                    "The signed data is intact (digest matches)",
                ));
            } else {
                rep.fail(
                    I::TotalFailed,
                    S::HashFailure,
                    Check::new(
                        "MESSAGE_DIGEST_MISMATCH",
                        Outcome::Failed,
                        "Dữ liệu đã bị thay đổi sau khi ký (giá trị băm không khớp)",
                        "The data was changed after signing (digest mismatch)",
                    )
                    .with("signed_digest", hex::encode(v.value))
                    .with("computed_digest", hex::encode(content_digest)),
                );
                ok = false;
            }
        }
        _ => {
            malformed(
                rep,
                "MESSAGE_DIGEST_ATTR_INVALID",
                "Thiếu hoặc sai thuộc tính messageDigest",
                "messageDigest attribute missing, repeated or malformed",
            );
            ok = false;
        }
    }
    ok
}

fn check_chain(
    signer: &X509,
    cms_certs: &[X509],
    role: Role,
    poe: Option<i64>,
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
        check_revocation(&outcome.chain, &untrusted, poe, opts, rep);
    }
}

/// Revocation status of every certificate of the validated path but the
/// anchor, at the proof of existence if there is one, else at the validation time.
fn check_revocation(
    chain: &[X509],
    pool: &[X509],
    poe: Option<i64>,
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) {
    use crate::revocation::Status;
    let t = poe.unwrap_or(opts.at);
    let t = opts.tsa_gen_time.map_or(t, |g| t.min(g));
    for i in 0..chain.len().saturating_sub(1) {
        let (c, issuer) = (&chain[i], &chain[i + 1]);
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
        let (status, evidence) = status_with_fetch(c, issuer, t, chain.last(), pool, opts);
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
                let sub = if i == 0 {
                    S::RevokedNoPoe
                } else {
                    S::RevokedCaNoPoe
                };
                rep.fail(
                    I::Indeterminate,
                    sub,
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
                let sub = if i == 0 {
                    S::RevokedNoPoe
                } else {
                    S::RevokedCaNoPoe
                };
                rep.fail(
                    I::Indeterminate,
                    sub,
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
}

/// Status from the data at hand; when unknown, from the local cache, then
/// (if allowed) from the network. Fetch failures are added to the reason.
fn status_with_fetch(
    c: &X509,
    issuer: &X509,
    t: i64,
    anchor: Option<&X509>,
    pool: &[X509],
    opts: &VerifyOptions,
) -> (crate::revocation::Status, Vec<crate::revocation::Evidence>) {
    use crate::revocation::{Context, Status, fetch, status_at};
    let judge = |data: &crate::revocation::RevocationData| {
        let mut ctx = Context::new(data, pool, anchor, opts.at);
        ctx.key_policy = Some(opts.algorithms.key_policy());
        status_at(c, issuer, &ctx, t)
    };
    let first = judge(&opts.revocation);
    if !matches!(first.0, Status::Unknown(_))
        || (opts.fetch.cache_dir.is_none() && !opts.fetch.online)
    {
        return first;
    }
    let mut problems = Vec::new();
    let mut data = opts.revocation.clone();
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

/// RFC 3161 signature timestamps (unsigned attribute, RFC 3161 Appendix A):
/// each checked over the signature value; the earliest valid one is the
/// proof of existence of the signature.
fn check_signature_timestamps(
    si: &SignerInfo<'_>,
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) -> Option<i64> {
    let tokens: Vec<der::Tlv<'_>> = si
        .unsigned_attr(oid::SIGNATURE_TIMESTAMP)
        .iter()
        .flat_map(|a| a.values.iter().copied())
        .collect();
    let mut poe: Option<i64> = None;
    for (k, tok) in tokens.iter().enumerate().take(8) {
        let (ts, tst) = super::tsp::verify_token(
            tok.raw,
            &Content::Bytes(si.signature),
            SignatureKind::SignatureTimestamp,
            k,
            opts,
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
            _ => rep.pass(Check::new(
                "SIGNATURE_TIMESTAMP_INVALID",
                Outcome::Warning,
                format!("Dấu thời gian #{} của chữ ký không hợp lệ và không được dùng làm bằng chứng thời điểm", k + 1),
                format!("Signature timestamp #{} is not valid and is not used as proof of time", k + 1),
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
    poe
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

/// Decode a CMS file: DER, PEM, or bare base64.
pub fn decode_cms_input(data: &[u8]) -> Result<Vec<u8>> {
    let trimmed: &[u8] = {
        let s = data
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(data.len());
        &data[s..]
    };
    if trimmed.first() == Some(&0x30) {
        return Ok(trimmed.to_vec());
    }
    let text = std::str::from_utf8(trimmed)
        .map_err(|_| Error::UnknownFormat("neither DER, PEM nor base64"))?;
    let body: String = if text.starts_with("-----BEGIN") {
        text.lines().filter(|l| !l.starts_with("-----")).collect()
    } else {
        text.split_whitespace().collect()
    };
    let body: String = body.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|_| Error::UnknownFormat("neither DER, PEM nor base64"))?;
    if der.first() != Some(&0x30) {
        return Err(Error::UnknownFormat("decoded data is not a CMS structure"));
    }
    Ok(der)
}

/// Verify a CMS file (.p7s with detached content, or enveloping .p7m).
/// Returns the report and, for enveloping signatures, the content.
pub fn verify_cms(
    data: &[u8],
    detached: Option<&dyn Source>,
    name: &str,
    opts: &VerifyOptions,
) -> (Report, Option<Vec<u8>>) {
    let when = cert::fmt_unix(opts.at);
    let mut doc = DocumentInfo {
        revisions: Vec::new(),
        name: name.to_string(),
        size: data.len() as u64,
        format: "CMS",
        error: None,
        notes: Vec::new(),
    };
    let der_bytes = match decode_cms_input(data) {
        Ok(d) => d,
        Err(e) => {
            doc.error = Some(document_error(&e));
            return (Report::new(doc, when, Vec::new()), None);
        }
    };
    let parsed = cms::first_tlv(&der_bytes).and_then(|(tlv, rest)| {
        if rest.iter().any(|b| *b != 0) {
            return Err(Error::Cms("trailing data after the CMS structure"));
        }
        cms::parse_signed_data(tlv, opts.limits.max_cms_certificates)
    });
    let sd = match parsed {
        Ok(sd) => sd,
        Err(e) => {
            doc.error = Some(document_error(&e));
            return (Report::new(doc, when, Vec::new()), None);
        }
    };
    let econtent = sd.econtent.clone();
    let content = match (&econtent, detached) {
        (Some(c), None) => Some(Content::Bytes(c)),
        (None, Some(src)) => Some(Content::Whole(src)),
        (Some(_), Some(_)) => {
            doc.error = Some(Check::new(
                "CMS_CONTENT_AMBIGUOUS",
                Outcome::Failed,
                "Chữ ký đã chứa nội dung nhưng lại được cung cấp thêm tệp nội dung tách rời",
                "The signature encapsulates its content but detached content was also given",
            ));
            None
        }
        (None, None) => None,
    };
    let mut reports = Vec::new();
    for (i, si) in sd.signer_infos.iter().enumerate() {
        let mut rep = SignatureReport::new(i, SignatureKind::Cms);
        match &content {
            Some(c) => {
                check_signer_info(&sd, si, c, Role::DocumentSigner, opts, &mut rep);
            }
            None => rep.fail(
                I::Indeterminate,
                S::SignedDataNotFound,
                Check::new(
                    "SIGNED_DATA_NOT_FOUND",
                    Outcome::Failed,
                    "Chữ ký tách rời: cần cung cấp tệp nội dung đã ký (--detached)",
                    "Detached signature: the signed content file must be given (--detached)",
                ),
            ),
        }
        reports.push(rep);
    }
    if sd.signer_infos.is_empty() && doc.error.is_none() {
        doc.error = Some(Check::new(
            "CMS_NO_SIGNERS",
            Outcome::Failed,
            "Cấu trúc CMS không chứa chữ ký nào (chỉ có chứng thư)",
            "The CMS structure holds no signer (certificates only)",
        ));
    }
    (Report::new(doc, when, reports), econtent)
}
