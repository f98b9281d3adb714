//! Reading certificate fields for reports and checks: names, validity, key,
//! key usage, extended key usage, and Vietnamese identity values.

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::{X509NameRef, X509Ref};
use serde::Serialize;

use crate::der::{self, Reader, TAG_BIT_STRING, TAG_BOOLEAN, TAG_OCTET_STRING, TAG_SEQUENCE};
use crate::error::{Error, Result};

pub mod oid {
    pub const KEY_USAGE: &str = "2.5.29.15";
    pub const EXT_KEY_USAGE: &str = "2.5.29.37";
    pub const BASIC_CONSTRAINTS: &str = "2.5.29.19";
    pub const ANY_EKU: &str = "2.5.29.37.0";
    pub const EMAIL_PROTECTION: &str = "1.3.6.1.5.5.7.3.4";
    pub const DOCUMENT_SIGNING: &str = "1.3.6.1.5.5.7.3.36";
    pub const MS_DOCUMENT_SIGNING: &str = "1.3.6.1.4.1.311.10.3.12";
    pub const ADOBE_AUTHENTIC_DOCUMENTS: &str = "1.2.840.113583.1.1.5";
    pub const TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
    pub const UID: &str = "0.9.2342.19200300.100.1.1";
    pub const SERIAL_NUMBER: &str = "2.5.4.5";
}

/// One extension as encoded.
#[derive(Clone, Debug)]
pub struct Extension {
    pub oid: String,
    pub critical: bool,
    pub value: Vec<u8>,
}

/// The extensions of a DER certificate (RFC 5280 §4.1), strictly read.
pub fn extensions(cert_der: &[u8]) -> Result<Vec<Extension>> {
    let cert = der::parse_exact(cert_der)?.expect(TAG_SEQUENCE)?;
    let tbs = cert.children().read_tag(TAG_SEQUENCE)?;
    let mut out = Vec::new();
    for item in tbs.children() {
        let item = item?;
        if item.tag != 0xa3 {
            continue;
        }
        let exts = item.children().read_tag(TAG_SEQUENCE)?;
        for e in exts.children() {
            let mut r = e?.expect(TAG_SEQUENCE)?.children();
            let oid = der::read_oid(&mut r)?;
            let critical = match r.read_optional(TAG_BOOLEAN)? {
                Some(b) => b.value.first().is_some_and(|v| *v != 0),
                None => false,
            };
            let value = r.read_tag(TAG_OCTET_STRING)?.value.to_vec();
            r.finish()?;
            out.push(Extension {
                oid,
                critical,
                value,
            });
        }
    }
    Ok(out)
}

/// basicConstraints cA is TRUE among `exts` (RFC 5280 §4.2.1.9).
pub fn is_ca(exts: &[Extension]) -> bool {
    exts.iter()
        .find(|e| e.oid == oid::BASIC_CONSTRAINTS)
        .is_some_and(|e| {
            der::parse_exact(&e.value)
                .ok()
                .and_then(|t| t.children().read_optional(TAG_BOOLEAN).ok().flatten())
                .is_some_and(|b| b.value.first().is_some_and(|v| *v != 0))
        })
}

/// The content octets of a DER certificate's serialNumber.
pub fn serial_content(cert_der: &[u8]) -> Option<Vec<u8>> {
    let cert = der::parse_exact(cert_der).ok()?;
    let tbs = cert.children().read_tag(TAG_SEQUENCE).ok()?;
    let mut r = tbs.children();
    r.read_optional(0xa0).ok()?;
    Some(r.read_tag(der::TAG_INTEGER).ok()?.value.to_vec())
}

#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct KeyUsage {
    pub digital_signature: bool,
    pub non_repudiation: bool,
    pub key_encipherment: bool,
    pub data_encipherment: bool,
    pub key_agreement: bool,
    pub key_cert_sign: bool,
    pub crl_sign: bool,
}

pub fn parse_key_usage(value: &[u8]) -> Result<KeyUsage> {
    let t = der::parse_exact(value)?.expect(TAG_BIT_STRING)?;
    let bits = t.value.get(1..).unwrap_or(&[]);
    let b0 = bits.first().copied().unwrap_or(0);
    Ok(KeyUsage {
        digital_signature: b0 & 0x80 != 0,
        non_repudiation: b0 & 0x40 != 0,
        key_encipherment: b0 & 0x20 != 0,
        data_encipherment: b0 & 0x10 != 0,
        key_agreement: b0 & 0x08 != 0,
        key_cert_sign: b0 & 0x04 != 0,
        crl_sign: b0 & 0x02 != 0,
    })
}

pub fn parse_eku(value: &[u8]) -> Result<Vec<String>> {
    let t = der::parse_exact(value)?.expect(TAG_SEQUENCE)?;
    let mut r: Reader<'_> = t.children();
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(der::read_oid(&mut r)?);
        if out.len() > 64 {
            return Err(Error::limit("eku_entries", out.len(), 64));
        }
    }
    Ok(out)
}

/// A Vietnamese identity value found in the subject.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Identity {
    /// CCCD, CMND, HC, BHXH, PID, MST, MNS, or UNKNOWN.
    pub kind: String,
    pub value: String,
    /// The attribute it came from: UID or serialNumber.
    pub attribute: &'static str,
    /// True when the kind was given by a prefix; false when inferred from the shape.
    pub prefixed: bool,
}

/// Does a certificate identity (`kind`, `value`) stand for the wanted one?
/// A branch's tax code (0100686209-001) belongs to its company
/// (0100686209); a CCCD keeps the number of the 12-digit CMND it replaced.
pub fn identity_matches(kind: &str, value: &str, want_kind: &str, want_value: &str) -> bool {
    let norm = |s: &str| s.trim().to_ascii_uppercase();
    let (v, want) = (norm(value), norm(want_value));
    match want_kind {
        "MST" => kind == "MST" && (v == want || v.starts_with(&format!("{want}-"))),
        "CCCD" | "CMND" => matches!(kind, "CCCD" | "CMND" | "PID") && v == want,
        k => kind == k && v == want,
    }
}

const PREFIXES: [&str; 7] = ["CCCD", "CMND", "HC", "BHXH", "PID", "MST", "MNS"];

/// Parse identity values such as `CCCD:001234567890`, `MST:0100686209-001`,
/// or a bare number; several may be separated by `;`, `,` or spaces.
pub fn parse_identities(raw: &str, attribute: &'static str) -> Vec<Identity> {
    let mut out = Vec::new();
    for part in raw
        .split([';', ',', '|'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let upper = part.to_ascii_uppercase();
        let mut found = false;
        for p in PREFIXES {
            for sep in [':', '-', '=', ' '] {
                let pre = format!("{p}{sep}");
                if upper.starts_with(&pre) {
                    let value = part.get(pre.len()..).unwrap_or("").trim().to_string();
                    out.push(Identity {
                        kind: p.to_string(),
                        value,
                        attribute,
                        prefixed: true,
                    });
                    found = true;
                    break;
                }
            }
            if found {
                break;
            }
        }
        if !found {
            out.push(Identity {
                kind: infer_kind(part).to_string(),
                value: part.to_string(),
                attribute,
                prefixed: false,
            });
        }
    }
    out
}

fn infer_kind(v: &str) -> &'static str {
    // Byte-wise: subject values are UTF-8 with Vietnamese diacritics, and a
    // shape test must never slice inside a character.
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let b = v.as_bytes();
    match b {
        _ if b.len() == 12 && digits(b) => "CCCD",
        _ if b.len() == 9 && digits(b) => "CMND",
        _ if b.len() == 10 && digits(b) => "MST",
        [head @ .., b'-', d1, d2, d3]
            if head.len() == 10 && digits(head) && digits(&[*d1, *d2, *d3]) =>
        {
            "MST"
        }
        [first, rest @ ..] if rest.len() == 7 && first.is_ascii_uppercase() && digits(rest) => "HC",
        _ => "UNKNOWN",
    }
}

/// Unix seconds of an ASN1 time.
pub fn asn1_to_unix(t: &Asn1TimeRef) -> Option<i64> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let d = epoch.diff(t).ok()?;
    i64::from(d.days)
        .checked_mul(86400)?
        .checked_add(i64::from(d.secs))
}

/// Distinguished name as `CN=..., O=..., C=VN` (most specific first).
pub fn name_to_string(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in name.entries() {
        let key = match e.object().nid() {
            Nid::COMMONNAME => "CN".to_string(),
            Nid::ORGANIZATIONNAME => "O".to_string(),
            Nid::ORGANIZATIONALUNITNAME => "OU".to_string(),
            Nid::COUNTRYNAME => "C".to_string(),
            Nid::STATEORPROVINCENAME => "ST".to_string(),
            Nid::LOCALITYNAME => "L".to_string(),
            Nid::SERIALNUMBER => "SERIALNUMBER".to_string(),
            Nid::USERID => "UID".to_string(),
            Nid::PKCS9_EMAILADDRESS => "E".to_string(),
            nid => nid
                .short_name()
                .map(str::to_string)
                .unwrap_or_else(|_| e.object().to_string()),
        };
        let val = e
            .data()
            .to_string()
            .unwrap_or_else(|_| String::from_utf8_lossy(e.data().as_slice()).into_owned());
        parts.push(format!("{key}={val}"));
    }
    parts.reverse();
    parts.join(", ")
}

/// What a report says about a certificate.
#[derive(Clone, Debug, Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub common_name: Option<String>,
    pub organization: Option<String>,
    pub serial_hex: String,
    pub not_before: String,
    pub not_after: String,
    pub key_type: String,
    pub key_bits: u32,
    pub sha256: String,
    pub identities: Vec<Identity>,
    pub key_usage: Option<KeyUsage>,
    pub extended_key_usage: Option<Vec<String>>,
}

fn first_entry(name: &X509NameRef, nid: Nid) -> Option<String> {
    name.entries_by_nid(nid)
        .next()
        .and_then(|e| e.data().to_string().ok())
}

pub fn fmt_unix(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

/// Unix seconds of an RFC 3339 time (as [`fmt_unix`] writes it).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

pub fn summarize(cert: &X509Ref) -> CertSummary {
    let subject = cert.subject_name();
    let mut identities = Vec::new();
    for e in subject.entries() {
        let o = e.object().to_string();
        let attr = match e.object().nid() {
            Nid::USERID => "UID",
            Nid::SERIALNUMBER => "serialNumber",
            _ if o == oid::UID => "UID",
            _ => continue,
        };
        if let Ok(v) = e.data().to_string() {
            identities.extend(parse_identities(&v, attr));
        }
    }
    let (key_type, key_bits) = cert
        .public_key()
        .map(|k| crate::crypto::key_description(&k))
        .unwrap_or_else(|_| ("unreadable".into(), 0));
    let exts = cert
        .to_der()
        .ok()
        .and_then(|d| extensions(&d).ok())
        .unwrap_or_default();
    let key_usage = exts
        .iter()
        .find(|e| e.oid == oid::KEY_USAGE)
        .and_then(|e| parse_key_usage(&e.value).ok());
    let extended_key_usage = exts
        .iter()
        .find(|e| e.oid == oid::EXT_KEY_USAGE)
        .and_then(|e| parse_eku(&e.value).ok());
    CertSummary {
        subject: name_to_string(subject),
        issuer: name_to_string(cert.issuer_name()),
        common_name: first_entry(subject, Nid::COMMONNAME),
        organization: first_entry(subject, Nid::ORGANIZATIONNAME),
        serial_hex: cert
            .serial_number()
            .to_bn()
            .ok()
            .and_then(|b| b.to_hex_str().ok().map(|s| s.to_string()))
            .unwrap_or_default(),
        not_before: asn1_to_unix(cert.not_before())
            .map(fmt_unix)
            .unwrap_or_default(),
        not_after: asn1_to_unix(cert.not_after())
            .map(fmt_unix)
            .unwrap_or_default(),
        key_type,
        key_bits,
        sha256: cert
            .digest(MessageDigest::sha256())
            .map(hex::encode)
            .unwrap_or_default(),
        identities,
        key_usage,
        extended_key_usage,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::string_slice
)]
mod tests {
    use super::*;

    #[test]
    fn identity_prefixes_and_shapes() {
        let ids = parse_identities("CCCD:001203004567", "UID");
        assert_eq!(ids[0].kind, "CCCD");
        assert_eq!(ids[0].value, "001203004567");
        let ids = parse_identities("MST:0100686209-001", "UID");
        assert_eq!(
            (ids[0].kind.as_str(), ids[0].value.as_str()),
            ("MST", "0100686209-001")
        );
        let ids = parse_identities("0100686209-001", "serialNumber");
        assert_eq!(ids[0].kind, "MST");
        assert!(!ids[0].prefixed);
        let ids = parse_identities("CMND:123456789; MST:0312345678", "UID");
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[1].kind, "MST");
        assert_eq!(parse_identities("C1234567", "UID")[0].kind, "HC");
    }

    /// Regression: the MST shape test sliced at byte 10, inside `é`.
    #[test]
    fn identity_shapes_with_multibyte_characters() {
        for v in ["123456789éabc", "0100686209é01", "Ééééééé", "é"] {
            assert_eq!(parse_identities(v, "UID")[0].kind, "UNKNOWN", "{v}");
        }
        assert_eq!(parse_identities("CCCD:é", "UID")[0].value, "é");
    }
}
