//! Checks on one CMS SignerInfo (RFC 5652 §5.4–5.6, RFC 5035, ETSI EN 319 122-1),
//! shared by PDF signatures, document timestamps and .p7s/.p7m files.

use openssl::bn::BigNum;
use openssl::x509::X509;

use crate::cms::{self, SignedData, SignerId, SignerInfo, oid};
use crate::core::{VerifyOptions, algorithms};
use crate::crypto::{self, DigestAlg, SigCheck, SigScheme};
use crate::der;
use crate::error::{Error, Result};
use crate::pdf::source::{Source, for_each_chunk};
use crate::pki::cert;
use crate::report::{Check, Indication as I, Outcome, SignatureReport, SubIndication as S};
use crate::revocation::RevocationData;

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

/// Result of checking one SignerInfo, for the callers that need more than the report.
pub struct SignerOutcome {
    /// The signer's certificate, once identified and its signature checked
    /// (the chain is validated only then).
    pub signer: Option<X509>,
    pub integrity_ok: bool,
    /// The CMS's own certificates (candidates for the path).
    pub certs: Vec<X509>,
    /// Revocation data the signature carries (for its own paths).
    pub embedded: RevocationData,
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
            None => bad = bad.saturating_add(1),
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

fn single_value<'a>(attrs: &[&cms::Attribute<'a>]) -> Option<der::Tlv<'a>> {
    match attrs {
        [a] => match a.values.as_slice() {
            [v] => Some(*v),
            _ => None,
        },
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
    let Some(first) = ids.first() else {
        return false;
    };
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
///
/// This is what is CMS about a signature (ETSI EN 319 102-1 §5.2.2 format,
/// §5.2.3 signer identification, §5.2.7 cryptographic verification, and the
/// ESS binding of RFC 5035); the signer's certificate is judged by
/// [`crate::core::x509`], called by the caller with what this returns.
pub fn check_signer_info(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content: &Content<'_>,
    opts: &VerifyOptions,
    rep: &mut SignatureReport,
) -> SignerOutcome {
    rep.proven.format = true;
    // Revocation data carried by this signature is used for its own path.
    let embedded = embedded_revocation(sd, si);
    let mut out = SignerOutcome {
        signer: None,
        integrity_ok: false,
        certs: Vec::new(),
        embedded: RevocationData::default(),
    };
    if !embedded.is_empty() {
        rep.facts.embedded_revocation = true;
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
    }
    out.embedded = embedded;
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
    rep.proven.signer = true;
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
    algorithms::check_key(
        &opts.algorithms,
        &summary.key_type,
        summary.key_bits,
        ("người ký", "signer"),
        rep,
    );
    rep.signer = Some(summary);
    out.certs = certs;

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
            algorithms::unsupported(&why, rep);
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
    algorithms::check_digest(&opts.algorithms, digest, "digestAlgorithm", rep);
    if let Some(sd2) = scheme.digest() {
        if sd2 != digest {
            rep.pass(Check::new(
                "DIGEST_ALG_MISMATCH",
                Outcome::Info,
                format!("Thuộc tính được ký băm bằng {} theo signatureAlgorithm; nội dung băm bằng {}", sd2.name(), digest.name()),
                format!("Signed attributes are hashed with {} per signatureAlgorithm; the content with {}", sd2.name(), digest.name()),
            ));
            algorithms::check_digest(&opts.algorithms, sd2, "signatureAlgorithm", rep);
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
    let check = crypto::verify_signature(&scheme, &key, &signed_bytes, si.signature);
    let sig_ok = check == SigCheck::Valid;
    match check {
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
        SigCheck::Unsupported(why) => algorithms::unsupported(&why, rep),
    }
    out.integrity_ok = digest_ok && sig_ok;
    rep.proven.integrity = out.integrity_ok;

    // Binding of the signer certificate.
    if si.signed_attrs.is_some() {
        check_ess(si, &signer, rep);
    }
    out.signer = Some(signer);
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
        if oids.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
            malformed(
                rep,
                "SIGNED_ATTRS_DUPLICATE",
                "Thuộc tính được ký bị lặp lại",
                "A signed attribute type appears more than once",
            );
            ok = false;
        }
        for a in attrs.iter().filter(|a| a.oid == oid::SIGNING_TIME) {
            let time = match a.values.as_slice() {
                [v] => der::parse_time(v).ok(),
                _ => None,
            };
            match time {
                None => {
                    malformed(
                        rep,
                        "SIGNING_TIME_ATTR_INVALID",
                        "Thuộc tính signingTime không hợp lệ",
                        "signingTime attribute is malformed",
                    );
                    ok = false;
                }
                Some(t) if rep.claimed_signing_time.is_none() => {
                    rep.claimed_signing_time = Some(cert::fmt_unix(t));
                }
                Some(_) => {}
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
