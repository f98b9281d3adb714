//! Digest and signature algorithms: identification from OIDs and the one
//! signature-verification function the verifier (and the Wycheproof test) use.
// Parsers of untrusted bytes and the checks on what they read: no slicing
// that can panic, no unchecked indexing, no arithmetic that can overflow.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use openssl::hash::{Hasher, MessageDigest};
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};

use crate::cms::AlgId;
use crate::der::{self, TAG_INTEGER, TAG_SEQUENCE};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum DigestAlg {
    #[serde(rename = "MD5")]
    Md5,
    #[serde(rename = "SHA-1")]
    Sha1,
    #[serde(rename = "SHA-224")]
    Sha224,
    #[serde(rename = "SHA-256")]
    Sha256,
    #[serde(rename = "SHA-384")]
    Sha384,
    #[serde(rename = "SHA-512")]
    Sha512,
    #[serde(rename = "SHA-512/224")]
    Sha512_224,
    #[serde(rename = "SHA-512/256")]
    Sha512_256,
    #[serde(rename = "SHA3-224")]
    Sha3_224,
    #[serde(rename = "SHA3-256")]
    Sha3_256,
    #[serde(rename = "SHA3-384")]
    Sha3_384,
    #[serde(rename = "SHA3-512")]
    Sha3_512,
    /// SHAKE256 with 512-bit output (RFC 8419, for Ed448).
    #[serde(rename = "SHAKE256")]
    Shake256,
}

impl DigestAlg {
    pub fn from_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.2.840.113549.2.5" => DigestAlg::Md5,
            "1.3.14.3.2.26" => DigestAlg::Sha1,
            "2.16.840.1.101.3.4.2.4" => DigestAlg::Sha224,
            "2.16.840.1.101.3.4.2.1" => DigestAlg::Sha256,
            "2.16.840.1.101.3.4.2.2" => DigestAlg::Sha384,
            "2.16.840.1.101.3.4.2.3" => DigestAlg::Sha512,
            "2.16.840.1.101.3.4.2.5" => DigestAlg::Sha512_224,
            "2.16.840.1.101.3.4.2.6" => DigestAlg::Sha512_256,
            "2.16.840.1.101.3.4.2.7" => DigestAlg::Sha3_224,
            "2.16.840.1.101.3.4.2.8" => DigestAlg::Sha3_256,
            "2.16.840.1.101.3.4.2.9" => DigestAlg::Sha3_384,
            "2.16.840.1.101.3.4.2.10" => DigestAlg::Sha3_512,
            "2.16.840.1.101.3.4.2.12" | "2.16.840.1.101.3.4.2.18" => DigestAlg::Shake256,
            _ => return None,
        })
    }
    /// OpenSSL's digest, or `None` when this OpenSSL build lacks it
    /// (SHA-512/224 and SHA-512/256 are looked up by name): never a
    /// stand-in — an unavailable digest is reported as unsupported.
    pub fn md(self) -> Option<MessageDigest> {
        Some(match self {
            DigestAlg::Md5 => MessageDigest::md5(),
            DigestAlg::Sha1 => MessageDigest::sha1(),
            DigestAlg::Sha224 => MessageDigest::sha224(),
            DigestAlg::Sha256 => MessageDigest::sha256(),
            DigestAlg::Sha384 => MessageDigest::sha384(),
            DigestAlg::Sha512 => MessageDigest::sha512(),
            DigestAlg::Sha512_224 => MessageDigest::from_name("SHA512-224")?,
            DigestAlg::Sha512_256 => MessageDigest::from_name("SHA512-256")?,
            DigestAlg::Sha3_224 => MessageDigest::sha3_224(),
            DigestAlg::Sha3_256 => MessageDigest::sha3_256(),
            DigestAlg::Sha3_384 => MessageDigest::sha3_384(),
            DigestAlg::Sha3_512 => MessageDigest::sha3_512(),
            DigestAlg::Shake256 => MessageDigest::shake_256(),
        })
    }
    /// The OID (the inverse of [`DigestAlg::from_oid`]; SHAKE256 as the
    /// 512-bit output id of RFC 8419).
    pub fn oid(self) -> Option<&'static str> {
        Some(match self {
            DigestAlg::Md5 => "1.2.840.113549.2.5",
            DigestAlg::Sha1 => "1.3.14.3.2.26",
            DigestAlg::Sha224 => "2.16.840.1.101.3.4.2.4",
            DigestAlg::Sha256 => "2.16.840.1.101.3.4.2.1",
            DigestAlg::Sha384 => "2.16.840.1.101.3.4.2.2",
            DigestAlg::Sha512 => "2.16.840.1.101.3.4.2.3",
            DigestAlg::Sha512_224 => "2.16.840.1.101.3.4.2.5",
            DigestAlg::Sha512_256 => "2.16.840.1.101.3.4.2.6",
            DigestAlg::Sha3_224 => "2.16.840.1.101.3.4.2.7",
            DigestAlg::Sha3_256 => "2.16.840.1.101.3.4.2.8",
            DigestAlg::Sha3_384 => "2.16.840.1.101.3.4.2.9",
            DigestAlg::Sha3_512 => "2.16.840.1.101.3.4.2.10",
            DigestAlg::Shake256 => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            DigestAlg::Md5 => "MD5",
            DigestAlg::Sha1 => "SHA-1",
            DigestAlg::Sha224 => "SHA-224",
            DigestAlg::Sha256 => "SHA-256",
            DigestAlg::Sha384 => "SHA-384",
            DigestAlg::Sha512 => "SHA-512",
            DigestAlg::Sha512_224 => "SHA-512/224",
            DigestAlg::Sha512_256 => "SHA-512/256",
            DigestAlg::Sha3_224 => "SHA3-224",
            DigestAlg::Sha3_256 => "SHA3-256",
            DigestAlg::Sha3_384 => "SHA3-384",
            DigestAlg::Sha3_512 => "SHA3-512",
            DigestAlg::Shake256 => "SHAKE256",
        }
    }
    pub fn hasher(self) -> Result<Digester, crate::error::Error> {
        let md = self.md().ok_or_else(|| {
            crate::error::Error::Unsupported(format!(
                "{} is not available in this OpenSSL",
                self.name()
            ))
        })?;
        Ok(Digester {
            alg: self,
            h: Hasher::new(md)?,
        })
    }
    pub fn digest(self, data: &[u8]) -> Result<Vec<u8>, crate::error::Error> {
        let mut d = self.hasher()?;
        d.update(data)?;
        Ok(d.finish()?)
    }
}

/// An incremental digest (SHAKE256 finishes with 64 bytes).
#[derive(Clone)]
pub struct Digester {
    alg: DigestAlg,
    h: Hasher,
}

impl Digester {
    pub fn update(&mut self, data: &[u8]) -> Result<(), openssl::error::ErrorStack> {
        self.h.update(data)
    }
    pub fn finish(mut self) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        if self.alg == DigestAlg::Shake256 {
            let mut out = vec![0u8; 64];
            self.h.finish_xof(&mut out)?;
            Ok(out)
        } else {
            Ok(self.h.finish()?.to_vec())
        }
    }
}

/// A fully specified signature scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SigScheme {
    RsaPkcs1(DigestAlg),
    RsaPss {
        hash: DigestAlg,
        mgf1_hash: DigestAlg,
        salt_len: u32,
    },
    Ecdsa(DigestAlg),
    /// ECDSA with the signature as r || s (BSI TR-03111).
    EcdsaPlain(DigestAlg),
    Dsa(DigestAlg),
    Ed25519,
    Ed448,
}

impl SigScheme {
    pub fn name(&self) -> String {
        match self {
            SigScheme::RsaPkcs1(h) => format!("RSA PKCS#1 v1.5 with {}", h.name()),
            SigScheme::RsaPss {
                hash,
                mgf1_hash,
                salt_len,
            } => {
                format!(
                    "RSASSA-PSS with {} (MGF1 {}, salt {salt_len})",
                    hash.name(),
                    mgf1_hash.name()
                )
            }
            SigScheme::Ecdsa(h) => format!("ECDSA with {}", h.name()),
            SigScheme::EcdsaPlain(h) => format!("ECDSA (plain r||s) with {}", h.name()),
            SigScheme::Dsa(h) => format!("DSA with {}", h.name()),
            SigScheme::Ed25519 => "Ed25519".into(),
            SigScheme::Ed448 => "Ed448".into(),
        }
    }
    /// The digest the scheme applies to the message, if any.
    pub fn digest(&self) -> Option<DigestAlg> {
        match self {
            SigScheme::RsaPkcs1(h)
            | SigScheme::Ecdsa(h)
            | SigScheme::EcdsaPlain(h)
            | SigScheme::Dsa(h) => Some(*h),
            SigScheme::RsaPss { hash, .. } => Some(*hash),
            SigScheme::Ed25519 | SigScheme::Ed448 => None,
        }
    }
}

/// RSASSA-PSS-params (RFC 4055 §3.1) with their defaults.
pub fn parse_pss_params(params: Option<&der::Tlv<'_>>) -> Result<SigScheme, String> {
    let mut hash = DigestAlg::Sha1;
    let mut mgf1_hash = DigestAlg::Sha1;
    let mut salt_len: u32 = 20;
    let Some(p) = params else {
        return Err("RSASSA-PSS without parameters".into());
    };
    let seq = p
        .expect(TAG_SEQUENCE)
        .map_err(|_| "bad RSASSA-PSS parameters")?;
    let mut r = seq.children();
    let bad = || "bad RSASSA-PSS parameters".to_string();
    if let Some(t) = r.read_optional(0xa0).map_err(|_| bad())? {
        let alg = AlgId::parse(t.children().read().map_err(|_| bad())?).map_err(|_| bad())?;
        hash =
            DigestAlg::from_oid(&alg.oid).ok_or_else(|| format!("unknown PSS hash {}", alg.oid))?;
    }
    if let Some(t) = r.read_optional(0xa1).map_err(|_| bad())? {
        let alg = AlgId::parse(t.children().read().map_err(|_| bad())?).map_err(|_| bad())?;
        if alg.oid != "1.2.840.113549.1.1.8" {
            return Err(format!("unsupported PSS mask generation {}", alg.oid));
        }
        let inner = alg.params.ok_or_else(bad)?;
        let inner = AlgId::parse(inner).map_err(|_| bad())?;
        mgf1_hash = DigestAlg::from_oid(&inner.oid)
            .ok_or_else(|| format!("unknown MGF1 hash {}", inner.oid))?;
    }
    if let Some(t) = r.read_optional(0xa2).map_err(|_| bad())? {
        let i = t.children().read_tag(TAG_INTEGER).map_err(|_| bad())?;
        if i.value.is_empty() || i.value.len() > 4 || i.value.first().is_some_and(|b| b & 0x80 != 0)
        {
            return Err(bad());
        }
        salt_len = i.value.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
    }
    if let Some(t) = r.read_optional(0xa3).map_err(|_| bad())? {
        let i = t.children().read_tag(TAG_INTEGER).map_err(|_| bad())?;
        if i.value != [1] {
            return Err("unsupported PSS trailer field".into());
        }
    }
    if !r.is_empty() {
        return Err(bad());
    }
    Ok(SigScheme::RsaPss {
        hash,
        mgf1_hash,
        salt_len,
    })
}

/// Work out the scheme from a signatureAlgorithm and the SignerInfo's digestAlgorithm.
pub fn scheme_for(sig_alg: &AlgId<'_>, digest: Option<DigestAlg>) -> Result<SigScheme, String> {
    let need = |d: Option<DigestAlg>| d.ok_or_else(|| "unknown digest algorithm".to_string());
    // A signature algorithm that names its hash uses that hash over the
    // signed attributes, whatever digestAlgorithm says (as BouncyCastle and
    // EU DSS do); the caller reports a mismatch.
    let named = |h: DigestAlg| -> Result<DigestAlg, String> { Ok(h) };
    Ok(match sig_alg.oid.as_str() {
        "1.2.840.113549.1.1.1" => SigScheme::RsaPkcs1(need(digest)?),
        "1.2.840.113549.1.1.4" => SigScheme::RsaPkcs1(named(DigestAlg::Md5)?),
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => SigScheme::RsaPkcs1(named(DigestAlg::Sha1)?),
        "1.2.840.113549.1.1.14" => SigScheme::RsaPkcs1(named(DigestAlg::Sha224)?),
        "1.2.840.113549.1.1.11" => SigScheme::RsaPkcs1(named(DigestAlg::Sha256)?),
        "1.2.840.113549.1.1.12" => SigScheme::RsaPkcs1(named(DigestAlg::Sha384)?),
        "1.2.840.113549.1.1.13" => SigScheme::RsaPkcs1(named(DigestAlg::Sha512)?),
        "1.2.840.113549.1.1.15" => SigScheme::RsaPkcs1(named(DigestAlg::Sha512_224)?),
        "1.2.840.113549.1.1.16" => SigScheme::RsaPkcs1(named(DigestAlg::Sha512_256)?),
        "2.16.840.1.101.3.4.3.13" => SigScheme::RsaPkcs1(named(DigestAlg::Sha3_224)?),
        "2.16.840.1.101.3.4.3.14" => SigScheme::RsaPkcs1(named(DigestAlg::Sha3_256)?),
        "2.16.840.1.101.3.4.3.15" => SigScheme::RsaPkcs1(named(DigestAlg::Sha3_384)?),
        "2.16.840.1.101.3.4.3.16" => SigScheme::RsaPkcs1(named(DigestAlg::Sha3_512)?),
        "1.2.840.113549.1.1.10" => parse_pss_params(sig_alg.params.as_ref())?,
        "1.2.840.10045.2.1" => SigScheme::Ecdsa(need(digest)?),
        "1.2.840.10045.4.1" => SigScheme::Ecdsa(named(DigestAlg::Sha1)?),
        "1.2.840.10045.4.3.1" => SigScheme::Ecdsa(named(DigestAlg::Sha224)?),
        "1.2.840.10045.4.3.2" => SigScheme::Ecdsa(named(DigestAlg::Sha256)?),
        "1.2.840.10045.4.3.3" => SigScheme::Ecdsa(named(DigestAlg::Sha384)?),
        "1.2.840.10045.4.3.4" => SigScheme::Ecdsa(named(DigestAlg::Sha512)?),
        "2.16.840.1.101.3.4.3.9" => SigScheme::Ecdsa(named(DigestAlg::Sha3_224)?),
        "2.16.840.1.101.3.4.3.10" => SigScheme::Ecdsa(named(DigestAlg::Sha3_256)?),
        "2.16.840.1.101.3.4.3.11" => SigScheme::Ecdsa(named(DigestAlg::Sha3_384)?),
        "2.16.840.1.101.3.4.3.12" => SigScheme::Ecdsa(named(DigestAlg::Sha3_512)?),
        "1.2.840.10040.4.1" => SigScheme::Dsa(need(digest)?),
        "1.2.840.10040.4.3" => SigScheme::Dsa(named(DigestAlg::Sha1)?),
        "2.16.840.1.101.3.4.3.1" => SigScheme::Dsa(named(DigestAlg::Sha224)?),
        "2.16.840.1.101.3.4.3.2" => SigScheme::Dsa(named(DigestAlg::Sha256)?),
        // BSI TR-03111 plain (r || s) ECDSA.
        "0.4.0.127.0.7.1.1.4.1.1" => SigScheme::EcdsaPlain(named(DigestAlg::Sha1)?),
        "0.4.0.127.0.7.1.1.4.1.2" => SigScheme::EcdsaPlain(named(DigestAlg::Sha224)?),
        "0.4.0.127.0.7.1.1.4.1.3" => SigScheme::EcdsaPlain(named(DigestAlg::Sha256)?),
        "0.4.0.127.0.7.1.1.4.1.4" => SigScheme::EcdsaPlain(named(DigestAlg::Sha384)?),
        "0.4.0.127.0.7.1.1.4.1.5" => SigScheme::EcdsaPlain(named(DigestAlg::Sha512)?),
        "1.3.101.112" => SigScheme::Ed25519,
        "1.3.101.113" => SigScheme::Ed448,
        other => return Err(format!("unsupported signature algorithm {other}")),
    })
}

/// Outcome of a signature check that could be carried out.
#[derive(Debug, PartialEq, Eq)]
pub enum SigCheck {
    Valid,
    Invalid,
    /// The key does not fit the scheme (wrong type or unusable).
    KeyMismatch(String),
    /// A digest of the scheme is not available in this OpenSSL build.
    Unsupported(String),
}

/// Verify `sig` over `msg` with `key` under `scheme`. This is the single
/// signature-verification function of the verifier.
pub fn verify_signature(
    scheme: &SigScheme,
    key: &PKey<Public>,
    msg: &[u8],
    sig: &[u8],
) -> SigCheck {
    let key_id = key.id();
    let ok_type = match scheme {
        SigScheme::RsaPkcs1(_) => key_id == Id::RSA,
        SigScheme::RsaPss { .. } => key_id == Id::RSA || key_id == Id::RSA_PSS,
        SigScheme::Ecdsa(_) | SigScheme::EcdsaPlain(_) => key_id == Id::EC,
        SigScheme::Dsa(_) => key_id == Id::DSA,
        SigScheme::Ed25519 => key_id == Id::ED25519,
        SigScheme::Ed448 => key_id == Id::ED448,
    };
    if !ok_type {
        return SigCheck::KeyMismatch(format!(
            "key type {:?} does not fit {}",
            key_id,
            scheme.name()
        ));
    }
    let digests = match scheme {
        SigScheme::RsaPss {
            hash, mgf1_hash, ..
        } => vec![*hash, *mgf1_hash],
        SigScheme::RsaPkcs1(h)
        | SigScheme::EcdsaPlain(h)
        | SigScheme::Ecdsa(h)
        | SigScheme::Dsa(h) => vec![*h],
        SigScheme::Ed25519 | SigScheme::Ed448 => Vec::new(),
    };
    if let Some(d) = digests.iter().find(|d| d.md().is_none()) {
        return SigCheck::Unsupported(format!("{} is not available in this OpenSSL", d.name()));
    }
    // Every digest is available (checked above).
    let md = |d: &DigestAlg| d.md().unwrap_or_else(MessageDigest::sha256);
    let r = (|| -> Result<bool, openssl::error::ErrorStack> {
        match scheme {
            SigScheme::Ed25519 | SigScheme::Ed448 => {
                let mut v = Verifier::new_without_digest(key)?;
                v.verify_oneshot(sig, msg)
            }
            SigScheme::RsaPss {
                hash,
                mgf1_hash,
                salt_len,
            } => {
                let mut v = Verifier::new(md(hash), key)?;
                v.set_rsa_padding(Padding::PKCS1_PSS)?;
                v.set_rsa_mgf1_md(md(mgf1_hash))?;
                v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(
                    i32::try_from(*salt_len).unwrap_or(i32::MAX),
                ))?;
                v.update(msg)?;
                v.verify(sig)
            }
            SigScheme::RsaPkcs1(h) => {
                let mut v = Verifier::new(md(h), key)?;
                v.set_rsa_padding(Padding::PKCS1)?;
                v.update(msg)?;
                v.verify(sig)
            }
            SigScheme::EcdsaPlain(h) => {
                let Some(der_sig) = plain_to_der(sig) else {
                    return Ok(false);
                };
                let mut v = Verifier::new(md(h), key)?;
                v.update(msg)?;
                v.verify(&der_sig)
            }
            SigScheme::Ecdsa(h) | SigScheme::Dsa(h) => {
                if !is_strict_der_dsa_sig(sig) {
                    return Ok(false);
                }
                let mut v = Verifier::new(md(h), key)?;
                v.update(msg)?;
                v.verify(sig)
            }
        }
    })();
    match r {
        Ok(true) => SigCheck::Valid,
        Ok(false) | Err(_) => SigCheck::Invalid,
    }
}

/// r || s (equal halves) to DER `SEQUENCE { r, s }`.
fn plain_to_der(sig: &[u8]) -> Option<Vec<u8>> {
    if sig.is_empty() || sig.len() % 2 != 0 || sig.len() > 264 {
        return None;
    }
    let (r, s) = sig.split_at(sig.len() / 2);
    let int = |x: &[u8]| {
        let zeros = x
            .iter()
            .take_while(|b| **b == 0)
            .count()
            .min(x.len().saturating_sub(1));
        let x = x.get(zeros..).unwrap_or(&[]);
        let mut v = Vec::with_capacity(x.len().saturating_add(1));
        if x.first().is_some_and(|b| b & 0x80 != 0) {
            v.push(0);
        }
        v.extend_from_slice(x);
        der::encode_tlv(TAG_INTEGER, &v)
    };
    let mut body = int(r);
    body.extend(int(s));
    Some(der::encode_tlv(TAG_SEQUENCE, &body))
}

/// A digestAlgorithm given as a signature algorithm OID (a known signer
/// quirk): the hash it names.
pub fn digest_from_signature_oid(oid: &str) -> Option<DigestAlg> {
    let alg = AlgId {
        oid: oid.to_string(),
        params: None,
    };
    match scheme_for(&alg, None).ok()? {
        SigScheme::Ed25519 | SigScheme::Ed448 | SigScheme::RsaPss { .. } => None,
        s => s.digest(),
    }
}

/// ECDSA/DSA signatures must be DER `SEQUENCE { r INTEGER, s INTEGER }`
/// with minimal, positive integers and nothing after.
fn is_strict_der_dsa_sig(sig: &[u8]) -> bool {
    let Ok(t) = der::parse_exact(sig) else {
        return false;
    };
    if t.tag != TAG_SEQUENCE || sig.get(1).is_some_and(|b| *b == 0x80) {
        return false;
    }
    // Minimal length encoding of the outer sequence.
    if sig.get(1).is_some_and(|b| *b == 0x81) && t.value.len() < 0x80 {
        return false;
    }
    let mut r = t.children();
    for _ in 0..2 {
        let Ok(i) = r.read_tag(TAG_INTEGER) else {
            return false;
        };
        let raw_len_byte = i.raw.get(1).copied().unwrap_or(0);
        if raw_len_byte == 0x81 && i.value.len() < 0x80 || raw_len_byte > 0x81 {
            return false;
        }
        // A positive INTEGER in minimal form (X.690 §8.3.2).
        let minimal = match i.value {
            [] => false,
            [first, ..] if first & 0x80 != 0 => false,
            [0, second, ..] => second & 0x80 != 0,
            _ => true,
        };
        if !minimal {
            return false;
        }
    }
    r.is_empty()
}

/// Public key size in bits and a short type name.
pub fn key_description(key: &PKey<Public>) -> (String, u32) {
    let bits = key.bits();
    let name = match key.id() {
        Id::RSA | Id::RSA_PSS => "RSA".to_string(),
        Id::EC => match key.ec_key().ok().and_then(|k| k.group().curve_name()) {
            Some(nid) => format!("EC {}", nid.short_name().unwrap_or("?")),
            None => "EC".into(),
        },
        Id::ED25519 => "Ed25519".into(),
        Id::ED448 => "Ed448".into(),
        Id::DSA => "DSA".into(),
        other => format!("{other:?}"),
    };
    (name, bits)
}
