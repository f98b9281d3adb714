//! CMS SignedData (RFC 5652) read with the bounded DER reader, keeping the
//! exact encodings that signatures and digests are computed over.
// Parsers of untrusted bytes and the checks on what they read: no slicing
// that can panic, no unchecked indexing, no arithmetic that can overflow.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use crate::der::{self, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE, TAG_SET, Tlv};
use crate::error::{Error, Result};

pub mod oid {
    pub const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
    pub const DATA: &str = "1.2.840.113549.1.7.1";
    pub const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
    pub const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
    pub const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
    pub const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
    pub const COUNTER_SIGNATURE: &str = "1.2.840.113549.1.9.6";
    pub const SIGNING_CERTIFICATE: &str = "1.2.840.113549.1.9.16.2.12";
    pub const SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
    pub const SIGNATURE_TIMESTAMP: &str = "1.2.840.113549.1.9.16.2.14";
    pub const ADBE_REVOCATION: &str = "1.2.840.113583.1.1.8";
}

/// AlgorithmIdentifier: OID and the raw parameters, if any.
#[derive(Clone, Debug)]
pub struct AlgId<'a> {
    pub oid: String,
    pub params: Option<Tlv<'a>>,
}

impl<'a> AlgId<'a> {
    pub fn parse(t: Tlv<'a>) -> Result<Self> {
        let mut r = t.expect(TAG_SEQUENCE)?.children();
        let oid = der::read_oid(&mut r)?;
        let params = if r.is_empty() { None } else { Some(r.read()?) };
        r.finish()?;
        Ok(AlgId { oid, params })
    }
    /// Parameters absent or NULL.
    pub fn params_absent_or_null(&self) -> bool {
        match &self.params {
            None => true,
            Some(t) => t.tag == der::TAG_NULL && t.value.is_empty(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum SignerId<'a> {
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    SubjectKeyId(&'a [u8]),
}

#[derive(Clone, Debug)]
pub struct Attribute<'a> {
    pub oid: String,
    pub values: Vec<Tlv<'a>>,
}

#[derive(Clone, Debug)]
pub struct SignerInfo<'a> {
    pub version: i64,
    pub sid: SignerId<'a>,
    pub digest_alg: AlgId<'a>,
    /// The signed attributes and the exact bytes the signature covers
    /// (the `[0]` encoding with its tag replaced by SET OF, RFC 5652 §5.4).
    pub signed_attrs: Option<(Vec<Attribute<'a>>, Vec<u8>)>,
    pub sig_alg: AlgId<'a>,
    pub signature: &'a [u8],
    pub unsigned_attrs: Vec<Attribute<'a>>,
}

impl<'a> SignerInfo<'a> {
    pub fn signed_attr(&self, oid: &str) -> Vec<&Attribute<'a>> {
        match &self.signed_attrs {
            Some((attrs, _)) => attrs.iter().filter(|a| a.oid == oid).collect(),
            None => Vec::new(),
        }
    }
    pub fn unsigned_attr(&self, oid: &str) -> Vec<&Attribute<'a>> {
        self.unsigned_attrs
            .iter()
            .filter(|a| a.oid == oid)
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct SignedData<'a> {
    pub version: i64,
    pub digest_algorithms: Vec<AlgId<'a>>,
    pub econtent_type: String,
    /// Encapsulated content, when present (enveloping signatures).
    pub econtent: Option<Vec<u8>>,
    /// DER of each certificate in `certificates`.
    pub certificates: Vec<&'a [u8]>,
    /// Certificate choices other than plain certificates (counted, not used).
    pub other_certificates: usize,
    /// DER of each CRL in `crls`.
    pub crls: Vec<&'a [u8]>,
    pub other_revocation_info: Vec<Tlv<'a>>,
    pub signer_infos: Vec<SignerInfo<'a>>,
}

fn small_int(t: Tlv<'_>) -> Result<i64> {
    let t = t.expect(TAG_INTEGER)?;
    if t.value.is_empty() || t.value.len() > 4 {
        return Err(Error::Cms("bad version integer"));
    }
    Ok(t.value.iter().fold(
        if t.value.first().is_some_and(|b| b & 0x80 != 0) {
            -1i64
        } else {
            0
        },
        |a, b| (a << 8) | i64::from(*b),
    ))
}

fn parse_attributes<'a>(t: &Tlv<'a>) -> Result<Vec<Attribute<'a>>> {
    let mut out = Vec::new();
    for a in t.children() {
        let mut r = a?.expect(TAG_SEQUENCE)?.children();
        let oid = der::read_oid(&mut r)?;
        let set = r.read_tag(TAG_SET)?;
        r.finish()?;
        let values = set.children().collect::<Result<Vec<_>>>()?;
        if out.len() > 256 {
            return Err(Error::limit("cms_attributes", out.len(), 256));
        }
        out.push(Attribute { oid, values });
    }
    Ok(out)
}

/// Take the first TLV of `buf` (PDF /Contents is zero padded).
pub fn first_tlv(buf: &[u8]) -> Result<(&[u8], &[u8])> {
    let (_, used) = der::parse_tlv(buf, 0)?;
    buf.split_at_checked(used).ok_or(Error::Cms("truncated"))
}

/// Parse a ContentInfo holding SignedData.
pub fn parse_signed_data(buf: &[u8], max_certs: usize) -> Result<SignedData<'_>> {
    let ci = der::parse_exact(buf).map_err(|_| Error::Cms("not a DER/BER ContentInfo"))?;
    let mut r = ci
        .expect(TAG_SEQUENCE)
        .map_err(|_| Error::Cms("ContentInfo is not a SEQUENCE"))?
        .children();
    let ct = der::read_oid(&mut r)?;
    if ct != oid::SIGNED_DATA {
        return Err(Error::Unsupported(format!(
            "CMS content type {ct} (expected signedData)"
        )));
    }
    let content = r.read_tag(0xa0)?;
    let mut c = content.children();
    let sd = c.read_tag(TAG_SEQUENCE)?;
    c.finish()?;
    let mut r = sd.children();
    let version = small_int(r.read()?)?;
    let digest_algorithms = r
        .read_tag(TAG_SET)?
        .children()
        .map(|t| t.and_then(AlgId::parse))
        .collect::<Result<Vec<_>>>()?;
    // EncapsulatedContentInfo
    let mut e = r.read_tag(TAG_SEQUENCE)?.children();
    let econtent_type = der::read_oid(&mut e)?;
    let econtent = match e.read_optional(0xa0)? {
        None => None,
        Some(wrapper) => {
            let mut w = wrapper.children();
            let os = w.read()?;
            Some(octet_string_value(&os)?)
        }
    };
    e.finish()?;
    let mut certificates = Vec::new();
    let mut other_certificates = 0usize;
    if let Some(certs) = r.read_optional(0xa0)? {
        for ct in certs.children() {
            let ct = ct?;
            if certificates.len().saturating_add(other_certificates) >= max_certs {
                return Err(Error::limit(
                    "max_cms_certificates",
                    certificates
                        .len()
                        .saturating_add(other_certificates)
                        .saturating_add(1),
                    max_certs,
                ));
            }
            if ct.tag == TAG_SEQUENCE {
                certificates.push(ct.raw);
            } else {
                other_certificates = other_certificates.saturating_add(1);
            }
        }
    }
    let mut crls = Vec::new();
    let mut other_revocation_info = Vec::new();
    if let Some(rl) = r.read_optional(0xa1)? {
        for c in rl.children() {
            let c = c?;
            if crls.len().saturating_add(other_revocation_info.len()) >= max_certs {
                return Err(Error::limit(
                    "max_cms_crls",
                    crls.len().saturating_add(1),
                    max_certs,
                ));
            }
            if c.tag == TAG_SEQUENCE {
                crls.push(c.raw);
            } else {
                other_revocation_info.push(c);
            }
        }
    }
    let sis = r.read_tag(TAG_SET)?;
    r.finish()?;
    let mut signer_infos = Vec::new();
    for si in sis.children() {
        if signer_infos.len() >= 64 {
            return Err(Error::limit(
                "cms_signer_infos",
                signer_infos.len().saturating_add(1),
                64,
            ));
        }
        signer_infos.push(parse_signer_info(si?)?);
    }
    Ok(SignedData {
        version,
        digest_algorithms,
        econtent_type,
        econtent,
        certificates,
        other_certificates,
        crls,
        other_revocation_info,
        signer_infos,
    })
}

/// The value of an OCTET STRING, joining BER constructed segments.
fn octet_string_value(t: &Tlv<'_>) -> Result<Vec<u8>> {
    match t.tag {
        TAG_OCTET_STRING => Ok(t.value.to_vec()),
        0x24 => {
            let mut out = Vec::new();
            for seg in t.children() {
                let seg = seg?;
                out.extend_from_slice(&octet_string_value(&seg)?);
            }
            Ok(out)
        }
        _ => Err(Error::Cms("eContent is not an OCTET STRING")),
    }
}

pub fn parse_signer_info(t: Tlv<'_>) -> Result<SignerInfo<'_>> {
    let mut r = t.expect(TAG_SEQUENCE)?.children();
    let version = small_int(r.read()?)?;
    let sid_t = r.read()?;
    let sid = match sid_t.tag {
        TAG_SEQUENCE => {
            let mut s = sid_t.children();
            let issuer = s.read_tag(TAG_SEQUENCE)?.raw;
            let serial = s.read_tag(TAG_INTEGER)?.value;
            s.finish()?;
            SignerId::IssuerSerial { issuer, serial }
        }
        0x80 => SignerId::SubjectKeyId(sid_t.value),
        _ => return Err(Error::Cms("bad SignerIdentifier")),
    };
    let digest_alg = AlgId::parse(r.read()?)?;
    let signed_attrs = match r.read_optional(0xa0)? {
        Some(sa) => {
            let attrs = parse_attributes(&sa)?;
            // RFC 5652 §5.4: the digest is over the attributes as a SET OF.
            let mut raw = sa.raw.to_vec();
            if let Some(tag) = raw.first_mut() {
                *tag = TAG_SET;
            }
            Some((attrs, raw))
        }
        None => None,
    };
    let sig_alg = AlgId::parse(r.read()?)?;
    let signature = r.read_tag(TAG_OCTET_STRING)?.value;
    let unsigned_attrs = match r.read_optional(0xa1)? {
        Some(ua) => parse_attributes(&ua)?,
        None => Vec::new(),
    };
    r.finish()?;
    Ok(SignerInfo {
        version,
        sid,
        digest_alg,
        signed_attrs,
        sig_alg,
        signature,
        unsigned_attrs,
    })
}

/// ESS certificate identifiers (RFC 2634 §5.4, RFC 5035 §3).
#[derive(Clone, Debug)]
pub struct EssCertId {
    /// Hash algorithm OID (SHA-1 for v1, default SHA-256 for v2).
    pub hash_alg: String,
    pub hash: Vec<u8>,
    /// issuerSerial: (GeneralNames DER, serial content octets)
    pub issuer_serial: Option<(Vec<u8>, Vec<u8>)>,
}

pub const OID_SHA1: &str = "1.3.14.3.2.26";
pub const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";

/// Parse SigningCertificate(V2).certs; only the first ESSCertID identifies the signer.
pub fn parse_ess_cert_ids(value: &Tlv<'_>, v2: bool) -> Result<Vec<EssCertId>> {
    let mut r = value.expect(TAG_SEQUENCE)?.children();
    let certs = r.read_tag(TAG_SEQUENCE)?;
    let mut out = Vec::new();
    for c in certs.children() {
        let mut cr = c?.expect(TAG_SEQUENCE)?.children();
        let hash_alg = if v2 && cr.peek_tag() == Some(TAG_SEQUENCE) {
            AlgId::parse(cr.read()?)?.oid
        } else if v2 {
            OID_SHA256.to_string()
        } else {
            OID_SHA1.to_string()
        };
        let hash = cr.read_tag(TAG_OCTET_STRING)?.value.to_vec();
        let issuer_serial = match cr.read_optional(TAG_SEQUENCE)? {
            Some(is) => {
                let mut ir = is.children();
                let names = ir.read_tag(TAG_SEQUENCE)?.raw.to_vec();
                let serial = ir.read_tag(TAG_INTEGER)?.value.to_vec();
                Some((names, serial))
            }
            None => None,
        };
        out.push(EssCertId {
            hash_alg,
            hash,
            issuer_serial,
        });
        if out.len() > 64 {
            return Err(Error::limit("ess_cert_ids", out.len(), 64));
        }
    }
    Ok(out)
}

/// Is this OID text one of the well-known OIDs, by name? (for reports)
pub fn oid_name(oid: &str) -> &str {
    match oid {
        "1.2.840.113549.2.5" => "MD5",
        "1.2.840.113549.1.9.3" => "contentType",
        "1.2.840.113549.1.9.4" => "messageDigest",
        "1.2.840.113549.1.9.5" => "signingTime",
        OID_SHA1 => "SHA-1",
        "2.16.840.1.101.3.4.2.4" => "SHA-224",
        OID_SHA256 => "SHA-256",
        "2.16.840.1.101.3.4.2.2" => "SHA-384",
        "2.16.840.1.101.3.4.2.3" => "SHA-512",
        "2.16.840.1.101.3.4.2.8" => "SHA3-256",
        "2.16.840.1.101.3.4.2.9" => "SHA3-384",
        "2.16.840.1.101.3.4.2.10" => "SHA3-512",
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.113549.1.1.4" => "MD5withRSA",
        "1.2.840.113549.1.1.5" => "SHA1withRSA",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "SHA256withRSA",
        "1.2.840.113549.1.1.12" => "SHA384withRSA",
        "1.2.840.113549.1.1.13" => "SHA512withRSA",
        "1.2.840.113549.1.1.14" => "SHA224withRSA",
        "1.2.840.10045.2.1" => "ECDSA",
        "1.2.840.10045.4.1" => "SHA1withECDSA",
        "1.2.840.10045.4.3.1" => "SHA224withECDSA",
        "1.2.840.10045.4.3.2" => "SHA256withECDSA",
        "1.2.840.10045.4.3.3" => "SHA384withECDSA",
        "1.2.840.10045.4.3.4" => "SHA512withECDSA",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.10040.4.3" => "SHA1withDSA",
        "2.16.840.1.101.3.4.3.2" => "SHA256withDSA",
        other => other,
    }
}
