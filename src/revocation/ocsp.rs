//! OCSP responses (RFC 6960 §4.2): strict parsing with the bounded DER
//! reader, responder authorisation and signature check, and matching of a
//! SingleResponse to a (certificate, issuer) pair.

use openssl::x509::X509;

use crate::cms::AlgId;
use crate::crypto::{self, DigestAlg, SigCheck};
use crate::der::{
    self, TAG_BIT_STRING, TAG_GEN_TIME, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE, Tlv,
};
use crate::error::{Error, Result};
use crate::pki::cert;

pub const OID_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
pub const OID_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
pub const OID_OCSP_NOCHECK: &str = "1.3.6.1.5.5.7.48.1.5";
pub const OID_ARCHIVE_CUTOFF: &str = "1.3.6.1.5.5.7.48.1.6";
const MAX_RESPONSES: usize = 1000;
const MAX_CERTS: usize = 50;

/// responseStatus (RFC 6960 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResponseStatus {
    Successful,
    MalformedRequest,
    InternalError,
    TryLater,
    SigRequired,
    Unauthorized,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponderId {
    ByName(Vec<u8>),
    ByKey(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", tag = "status")]
pub enum CertStatus {
    Good,
    Revoked { time: i64, reason: Option<u8> },
    Unknown,
}

#[derive(Clone, Debug)]
pub struct CertId {
    pub hash_alg: String,
    pub issuer_name_hash: Vec<u8>,
    pub issuer_key_hash: Vec<u8>,
    pub serial: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct SingleResponse {
    pub cert_id: CertId,
    pub status: CertStatus,
    pub this_update: i64,
    pub next_update: Option<i64>,
    /// Raw singleExtensions (critical unknown ones make the response unusable).
    pub critical_unknown_extension: bool,
    /// archiveCutoff (RFC 6960 §4.4.4): the responder keeps revocation
    /// information for certificates that expired at or after this time.
    pub archive_cutoff: Option<i64>,
}

/// A parsed OCSP response. Only `Successful` responses carry the rest.
#[derive(Clone, Debug)]
pub struct OcspResponse {
    pub status: ResponseStatus,
    pub basic: Option<BasicResponse>,
}

#[derive(Clone, Debug)]
pub struct BasicResponse {
    /// DER of tbsResponseData, what the signature covers.
    pub tbs: Vec<u8>,
    pub version: u8,
    pub responder: ResponderId,
    pub produced_at: i64,
    pub responses: Vec<SingleResponse>,
    pub nonce: Option<Vec<u8>>,
    pub sig_alg_oid: String,
    pub sig_alg_params: Option<Vec<u8>>,
    pub signature: Vec<u8>,
    pub certs: Vec<Vec<u8>>,
}

fn time(t: Tlv<'_>) -> Result<i64> {
    if t.tag != TAG_GEN_TIME {
        return Err(Error::asn1("OCSP times are GeneralizedTime"));
    }
    der::parse_time(&t)
}

fn parse_extensions(t: &Tlv<'_>) -> Result<Vec<(String, bool, Vec<u8>)>> {
    let seq = t.children().read_tag(TAG_SEQUENCE)?;
    let mut out = Vec::new();
    for e in seq.children() {
        let mut r = e?.expect(TAG_SEQUENCE)?.children();
        let oid = der::read_oid(&mut r)?;
        let critical = r
            .read_optional(der::TAG_BOOLEAN)?
            .is_some_and(|b| b.value.first().is_some_and(|v| *v != 0));
        let v = r.read_tag(TAG_OCTET_STRING)?.value.to_vec();
        r.finish()?;
        out.push((oid, critical, v));
        if out.len() > 64 {
            return Err(Error::limit("ocsp_extensions", out.len(), 64));
        }
    }
    Ok(out)
}

/// Parse a DER OCSPResponse.
pub fn parse(der_bytes: &[u8]) -> Result<OcspResponse> {
    let top = der::parse_exact(der_bytes)?.expect(TAG_SEQUENCE)?;
    let mut r = top.children();
    let st = r.read_tag(0x0a)?;
    let status = match st.value {
        [0] => ResponseStatus::Successful,
        [1] => ResponseStatus::MalformedRequest,
        [2] => ResponseStatus::InternalError,
        [3] => ResponseStatus::TryLater,
        [5] => ResponseStatus::SigRequired,
        [6] => ResponseStatus::Unauthorized,
        _ => return Err(Error::asn1("unknown OCSP responseStatus")),
    };
    let bytes = r.read_optional(0xa0)?;
    r.finish()?;
    let Some(bytes) = bytes else {
        if status == ResponseStatus::Successful {
            return Err(Error::asn1(
                "successful OCSP response without responseBytes",
            ));
        }
        return Ok(OcspResponse {
            status,
            basic: None,
        });
    };
    if status != ResponseStatus::Successful {
        return Err(Error::asn1("unsuccessful OCSP response with responseBytes"));
    }
    let mut rb = bytes.children().read_tag(TAG_SEQUENCE)?.children();
    let rtype = der::read_oid(&mut rb)?;
    if rtype != OID_BASIC {
        return Err(Error::Unsupported(format!("OCSP response type {rtype}")));
    }
    let inner = rb.read_tag(TAG_OCTET_STRING)?.value;
    rb.finish()?;
    Ok(OcspResponse {
        status,
        basic: Some(parse_basic(inner)?),
    })
}

fn parse_basic(b: &[u8]) -> Result<BasicResponse> {
    let top = der::parse_exact(b)?.expect(TAG_SEQUENCE)?;
    let mut r = top.children();
    let tbs = r.read_tag(TAG_SEQUENCE)?;
    let alg = AlgId::parse(r.read()?)?;
    let sig = r.read_tag(TAG_BIT_STRING)?;
    let signature = sig
        .value
        .get(1..)
        .ok_or(Error::asn1("empty signature"))?
        .to_vec();
    if sig.value.first() != Some(&0) {
        return Err(Error::asn1("signature BIT STRING with unused bits"));
    }
    let mut certs = Vec::new();
    if let Some(c) = r.read_optional(0xa0)? {
        for cert in c.children().read_tag(TAG_SEQUENCE)?.children() {
            certs.push(cert?.expect(TAG_SEQUENCE)?.raw.to_vec());
            if certs.len() > MAX_CERTS {
                return Err(Error::limit("ocsp_certs", certs.len(), MAX_CERTS));
            }
        }
    }
    r.finish()?;
    // ResponseData
    let mut t = tbs.children();
    let version = match t.read_optional(0xa0)? {
        Some(v) => {
            let i = v.children().read_tag(TAG_INTEGER)?;
            match i.value {
                [0] => 0,
                _ => return Err(Error::asn1("unsupported OCSP ResponseData version")),
            }
        }
        None => 0,
    };
    let rid = t.read()?;
    let responder = match rid.tag {
        0xa1 => ResponderId::ByName(rid.children().read_tag(TAG_SEQUENCE)?.raw.to_vec()),
        0xa2 => ResponderId::ByKey(rid.children().read_tag(TAG_OCTET_STRING)?.value.to_vec()),
        _ => return Err(Error::asn1("bad OCSP ResponderID")),
    };
    let produced_at = time(t.read()?)?;
    let mut responses = Vec::new();
    for sr in t.read_tag(TAG_SEQUENCE)?.children() {
        responses.push(parse_single(sr?)?);
        if responses.len() > MAX_RESPONSES {
            return Err(Error::limit(
                "ocsp_single_responses",
                responses.len(),
                MAX_RESPONSES,
            ));
        }
    }
    let mut nonce = None;
    if let Some(ext) = t.read_optional(0xa1)? {
        for (oid, critical, v) in parse_extensions(&ext)? {
            if oid == "1.3.6.1.5.5.7.48.1.2" {
                nonce = Some(v);
            } else if critical {
                return Err(Error::Unsupported(format!(
                    "critical OCSP response extension {oid}"
                )));
            }
        }
    }
    t.finish()?;
    Ok(BasicResponse {
        tbs: tbs.raw.to_vec(),
        version,
        responder,
        produced_at,
        responses,
        nonce,
        sig_alg_oid: alg.oid.clone(),
        sig_alg_params: alg.params.map(|p| p.raw.to_vec()),
        signature,
        certs,
    })
}

fn parse_single(t: Tlv<'_>) -> Result<SingleResponse> {
    let mut r = t.expect(TAG_SEQUENCE)?.children();
    let mut c = r.read_tag(TAG_SEQUENCE)?.children();
    let hash_alg = AlgId::parse(c.read()?)?.oid;
    let issuer_name_hash = c.read_tag(TAG_OCTET_STRING)?.value.to_vec();
    let issuer_key_hash = c.read_tag(TAG_OCTET_STRING)?.value.to_vec();
    let serial = c.read_tag(TAG_INTEGER)?.value.to_vec();
    c.finish()?;
    let st = r.read()?;
    let status = match st.tag {
        0x80 => CertStatus::Good,
        0x82 => CertStatus::Unknown,
        0xa1 => {
            let mut ri = st.children();
            let time_ = time(ri.read()?)?;
            let reason = match ri.read_optional(0xa0)? {
                Some(w) => {
                    let e = w.children().read_tag(0x0a)?;
                    Some(*e.value.first().ok_or(Error::asn1("empty CRLReason"))?)
                }
                None => None,
            };
            ri.finish()?;
            CertStatus::Revoked {
                time: time_,
                reason,
            }
        }
        _ => return Err(Error::asn1("bad CertStatus")),
    };
    let this_update = time(r.read()?)?;
    let next_update = match r.read_optional(0xa0)? {
        Some(w) => Some(time(w.children().read()?)?),
        None => None,
    };
    let mut critical_unknown_extension = false;
    let mut archive_cutoff = None;
    if let Some(ext) = r.read_optional(0xa1)? {
        for (oid, critical, v) in parse_extensions(&ext)? {
            match oid.as_str() {
                OID_ARCHIVE_CUTOFF => archive_cutoff = Some(time(der::parse_exact(&v)?)?),
                // CRL reason (2.5.29.21) and invalidity date (2.5.29.24) are understood.
                "2.5.29.21" | "2.5.29.24" => {}
                _ if critical => critical_unknown_extension = true,
                _ => {}
            }
        }
    }
    r.finish()?;
    Ok(SingleResponse {
        cert_id: CertId {
            hash_alg,
            issuer_name_hash,
            issuer_key_hash,
            serial,
        },
        status,
        this_update,
        next_update,
        critical_unknown_extension,
        archive_cutoff,
    })
}

/// The subjectPublicKey bits of a certificate (what issuerKeyHash and
/// ResponderID byKey hash, RFC 6960 §4.1.1).
pub fn public_key_bits(cert_der: &[u8]) -> Result<Vec<u8>> {
    let c = der::parse_exact(cert_der)?.expect(TAG_SEQUENCE)?;
    let tbs = c.children().read_tag(TAG_SEQUENCE)?;
    let mut r = tbs.children();
    r.read_optional(0xa0)?;
    for _ in 0..5 {
        r.read()?; // serial, signature, issuer, validity, subject
    }
    let spki = r.read_tag(TAG_SEQUENCE)?;
    let mut s = spki.children();
    s.read_tag(TAG_SEQUENCE)?;
    let bits = s.read_tag(TAG_BIT_STRING)?;
    Ok(bits.value.get(1..).unwrap_or(&[]).to_vec())
}

impl CertId {
    /// Does this CertID name `cert` as issued by `issuer`?
    pub fn matches(&self, cert: &X509, issuer: &X509) -> bool {
        let Some(alg) = DigestAlg::from_oid(&self.hash_alg) else {
            return false;
        };
        let (Ok(cert_der), Ok(issuer_der)) = (cert.to_der(), issuer.to_der()) else {
            return false;
        };
        let serial_ok = cert::serial_content(&cert_der).is_some_and(|s| s == self.serial);
        let name_ok = cert
            .issuer_name()
            .to_der()
            .ok()
            .and_then(|n| alg.digest(&n).ok())
            .is_some_and(|h| h == self.issuer_name_hash);
        let key_ok = public_key_bits(&issuer_der)
            .ok()
            .and_then(|k| alg.digest(&k).ok())
            .is_some_and(|h| h == self.issuer_key_hash);
        serial_ok && name_ok && key_ok
    }
}

/// Who signed the response, once checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Responder {
    /// The CA that issued the certificate in question.
    Issuer,
    /// A delegated responder certificate (RFC 6960 §4.2.2.2), by SHA-256 fingerprint.
    Delegated(String),
}

/// Why a response could not be trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseProblem {
    NotSuccessful(ResponseStatus),
    UnsupportedAlgorithm(String),
    BadSignature,
    /// Signed by a key that is neither the issuer's nor an authorised delegate's.
    UnauthorisedResponder,
}

fn responder_matches(id: &ResponderId, cert: &X509) -> bool {
    match id {
        ResponderId::ByName(n) => cert.subject_name().to_der().is_ok_and(|d| &d == n),
        ResponderId::ByKey(h) => cert
            .to_der()
            .ok()
            .and_then(|d| public_key_bits(&d).ok())
            .and_then(|k| DigestAlg::Sha1.digest(&k).ok())
            .is_some_and(|k| &k == h),
    }
}

fn verify_with(b: &BasicResponse, signer: &X509) -> std::result::Result<bool, ResponseProblem> {
    let params = b
        .sig_alg_params
        .as_deref()
        .map(der::parse_exact)
        .transpose()
        .map_err(|_| ResponseProblem::UnsupportedAlgorithm(b.sig_alg_oid.clone()))?;
    let alg = AlgId {
        oid: b.sig_alg_oid.clone(),
        params,
    };
    let scheme = crypto::scheme_for(&alg, None).map_err(ResponseProblem::UnsupportedAlgorithm)?;
    if scheme.digest().is_none_or(|d| d == DigestAlg::Md5)
        && !matches!(
            scheme,
            crypto::SigScheme::Ed25519 | crypto::SigScheme::Ed448
        )
    {
        return Err(ResponseProblem::UnsupportedAlgorithm(b.sig_alg_oid.clone()));
    }
    let key = signer
        .public_key()
        .map_err(|_| ResponseProblem::BadSignature)?;
    Ok(crypto::verify_signature(&scheme, &key, &b.tbs, &b.signature) == SigCheck::Valid)
}

/// Check that the response was signed by `issuer` or by a responder
/// certificate that `issuer` authorised (id-kp-OCSPSigning, signed by the
/// issuer). The delegate's own validity is checked by the caller at the
/// time in question.
pub fn check_responder(
    resp: &OcspResponse,
    issuer: &X509,
) -> std::result::Result<(Responder, Option<X509>), ResponseProblem> {
    let Some(b) = &resp.basic else {
        return Err(ResponseProblem::NotSuccessful(resp.status));
    };
    if responder_matches(&b.responder, issuer) {
        return if verify_with(b, issuer)? {
            Ok((Responder::Issuer, None))
        } else {
            Err(ResponseProblem::BadSignature)
        };
    }
    for der_c in &b.certs {
        let Some(c) = crate::memo::x509(der_c) else {
            continue;
        };
        if !responder_matches(&b.responder, &c) {
            continue;
        }
        let issued_by_issuer = issuer
            .public_key()
            .is_ok_and(|k| c.verify(&k).unwrap_or(false))
            && c.issuer_name()
                .try_cmp(issuer.subject_name())
                .is_ok_and(|o| o.is_eq());
        let has_eku = cert::extensions(der_c)
            .ok()
            .and_then(|e| e.into_iter().find(|x| x.oid == cert::oid::EXT_KEY_USAGE))
            .and_then(|e| cert::parse_eku(&e.value).ok())
            .is_some_and(|l| l.iter().any(|o| o == OID_OCSP_SIGNING));
        if !(issued_by_issuer && has_eku) {
            return Err(ResponseProblem::UnauthorisedResponder);
        }
        return if verify_with(b, &c)? {
            let fp = c
                .digest(openssl::hash::MessageDigest::sha256())
                .map(hex::encode)
                .unwrap_or_default();
            Ok((Responder::Delegated(fp), Some(c)))
        } else {
            Err(ResponseProblem::BadSignature)
        };
    }
    Err(ResponseProblem::UnauthorisedResponder)
}

type ResponderResult = std::result::Result<(Responder, Option<X509>), ResponseProblem>;

thread_local! {
    static PARSED: crate::memo::Table<Option<std::rc::Rc<OcspResponse>>> = crate::memo::Table::new(512);
    static RESPONDERS: crate::memo::Table<ResponderResult> = crate::memo::Table::new(512);
}

/// The OCSP response `raw`, parsed (remembered per thread).
pub fn parsed(raw: &super::Raw) -> Option<std::rc::Rc<OcspResponse>> {
    PARSED.with(|t| t.get_or(raw.key(), || parse(raw).ok().map(std::rc::Rc::new)))
}

/// [`check_responder`] for the response `raw` and `issuer` (remembered per thread).
pub fn responder(raw: &super::Raw, resp: &OcspResponse, issuer: &X509) -> ResponderResult {
    let k = crate::memo::key2(&raw.key(), issuer);
    RESPONDERS.with(|t| t.get_or(k, || check_responder(resp, issuer)))
}
