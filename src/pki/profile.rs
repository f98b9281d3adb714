//! RFC 5280 profile rules that OpenSSL's verifier does not enforce, checked
//! on the path it built (index 0 = end entity, last = trust anchor), plus
//! kyso's key-algorithm policy for every certificate of the path.

use crate::der::{self, Reader, TAG_BOOLEAN, TAG_INTEGER, TAG_SEQUENCE, Tlv};
use crate::error::Result;

use super::cert::{Extension, extensions};

const OID_SAN: &str = "2.5.29.17";
const OID_NAME_CONSTRAINTS: &str = "2.5.29.30";
const OID_AKI: &str = "2.5.29.35";
const OID_AIA: &str = "1.3.6.1.5.5.7.1.1";
const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_KEY_USAGE: &str = "2.5.29.15";

/// Key algorithms and sizes accepted for certificates of a path.
#[derive(Clone, Copy, Debug)]
pub struct KeyPolicy {
    pub min_rsa_bits: u32,
    pub min_ec_bits: u32,
    pub allow_dsa: bool,
    /// Reject RSA moduli whose size is not a whole number of bytes.
    pub rsa_whole_bytes: bool,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            min_rsa_bits: 2048,
            min_ec_bits: 256,
            allow_dsa: false,
            rsa_whole_bytes: true,
        }
    }
}

/// What one certificate holds that the rules below look at.
struct Parsed<'a> {
    version: u8,
    serial: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    exts: Vec<Extension>,
}

fn parse(cert_der: &[u8]) -> Result<Parsed<'_>> {
    let cert = der::parse_exact(cert_der)?.expect(TAG_SEQUENCE)?;
    let tbs = cert.children().read_tag(TAG_SEQUENCE)?;
    let mut r = tbs.children();
    let version = match r.read_optional(0xa0)? {
        Some(v) => *v
            .children()
            .read_tag(TAG_INTEGER)?
            .value
            .first()
            .unwrap_or(&0),
        None => 0,
    };
    let serial = r.read_tag(TAG_INTEGER)?.value;
    r.read_tag(TAG_SEQUENCE)?; // signature
    let issuer = r.read_tag(TAG_SEQUENCE)?.raw;
    r.read_tag(TAG_SEQUENCE)?; // validity
    let subject = r.read_tag(TAG_SEQUENCE)?.raw;
    Ok(Parsed {
        version,
        serial,
        issuer,
        subject,
        exts: extensions(cert_der)?,
    })
}

impl Parsed<'_> {
    fn ext(&self, oid: &str) -> Option<&Extension> {
        self.exts.iter().find(|e| e.oid == oid)
    }
    fn is_ca(&self) -> bool {
        super::cert::is_ca(&self.exts)
    }
}

/// One broken rule: which certificate (depth) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileViolation {
    pub depth: u32,
    pub rule: &'static str,
}

/// Check every rule on the path; the first violation is returned.
pub fn check_path(
    chain_der: &[Vec<u8>],
    key_policy: Option<&KeyPolicy>,
    keys: &[(String, u32)],
    web_pki_server: bool,
) -> Option<ProfileViolation> {
    let parsed: Vec<Parsed<'_>> = match chain_der
        .iter()
        .map(|c| parse(c))
        .collect::<Result<Vec<_>>>()
    {
        Ok(p) => p,
        Err(_) => {
            return Some(ProfileViolation {
                depth: 0,
                rule: "certificate structure unreadable",
            });
        }
    };
    let anchor = parsed.len().saturating_sub(1);
    for (depth, c) in parsed.iter().enumerate() {
        let d = depth as u32;
        let v = |rule| Some(ProfileViolation { depth: d, rule });
        if depth < anchor || parsed.len() == 1 {
            if let Some(rule) = check_serial(c.serial) {
                return v(rule);
            }
        }
        if !c.exts.is_empty() && c.version != 2 {
            return v("RFC 5280 §4.1.2.1: a certificate with extensions must be version 3");
        }
        // Trust anchors are exempt: RFC 5280 §6.1.1(d) takes them as given.
        if depth < anchor && c.issuer != c.subject && c.ext(OID_AKI).is_none() {
            return v(
                "RFC 5280 §4.2.1.1: authorityKeyIdentifier missing in a certificate that is not self-issued",
            );
        }
        if let Some(rule) = check_san(c) {
            return v(rule);
        }
        if let Some(rule) = check_name_constraints_ext(c) {
            return v(rule);
        }
        if let Some(rule) = check_usage_extensions(c) {
            return v(rule);
        }
        if let Some(e) = c.ext(OID_AIA) {
            if !aia_well_formed(&e.value) {
                return v("RFC 5280 §4.2.2.1: malformed authorityInfoAccess");
            }
        }
        if depth == 0 && parsed.len() > 1 && c.is_ca() {
            if let Some(ku) = c
                .ext(OID_KEY_USAGE)
                .and_then(|e| super::cert::parse_key_usage(&e.value).ok())
            {
                if !ku.key_cert_sign {
                    return v("end entity asserts cA but its keyUsage forbids certificate signing");
                }
            }
        }
        if let (Some(p), Some((kt, bits))) = (key_policy, keys.get(depth)) {
            if let Some(rule) = check_key(p, kt, *bits) {
                return v(rule);
            }
        }
    }
    if web_pki_server {
        if let Some(v) = check_web_pki_server(&parsed) {
            return Some(v);
        }
    }
    check_wildcards_against_exclusions(&parsed)
}

/// CA/Browser Forum Baseline Requirements rules for TLS server certificates,
/// applied only when the caller validates a web server (never for documents).
fn check_web_pki_server(parsed: &[Parsed<'_>]) -> Option<ProfileViolation> {
    let leaf = parsed.first()?;
    let anchor = parsed.last()?;
    let v = |depth: usize, rule| {
        Some(ProfileViolation {
            depth: depth as u32,
            rule,
        })
    };
    // BR 7.1.2.7.10 / 7.1.2.7.6: extKeyUsage present, not critical, no anyExtendedKeyUsage.
    // (Its absence is left to RFC 5280, which allows it: rfc5280::eku::ee-without-eku.)
    match leaf.ext(super::cert::oid::EXT_KEY_USAGE) {
        None => {}
        Some(e) if e.critical => return v(0, "CABF BR 7.1.2.7.6: critical extKeyUsage"),
        Some(e)
            if super::cert::parse_eku(&e.value)
                .is_ok_and(|l| l.iter().any(|o| o == super::cert::oid::ANY_EKU)) =>
        {
            return v(
                0,
                "CABF BR 7.1.2.7.10: anyExtendedKeyUsage in a server certificate",
            );
        }
        Some(_) => {}
    }
    // BR 7.1.2.1.2: a root carries no extKeyUsage; its AKI, if any, is only its own key id.
    if parsed.len() > 1 && anchor.issuer == anchor.subject {
        let d = parsed.len().saturating_sub(1);
        if anchor.ext(super::cert::oid::EXT_KEY_USAGE).is_some() {
            return v(d, "CABF BR 7.1.2.1.2: extKeyUsage in a root certificate");
        }
        if let Some(aki) = anchor.ext(OID_AKI) {
            let ski = anchor
                .ext("2.5.29.14")
                .and_then(|e| der::parse_exact(&e.value).ok().map(|t| t.value.to_vec()));
            let ok = der::parse_exact(&aki.value).ok().is_some_and(|t| {
                let fields: Vec<Tlv<'_>> = t.children().flatten().collect();
                matches!(fields.as_slice(), [f] if f.tag == 0x80 && ski.as_deref() == Some(f.value))
            });
            if !ok {
                return v(
                    d,
                    "CABF BR 7.1.2.1.3: root authorityKeyIdentifier must hold only its own key identifier",
                );
            }
        }
    }
    // BR 7.1.2.7.12: SAN not critical when the subject is not empty.
    let subject_empty = der::parse_exact(leaf.subject).is_ok_and(|t| t.value.is_empty());
    if leaf.ext(OID_SAN).is_some_and(|e| e.critical) && !subject_empty {
        return v(
            0,
            "CABF BR 7.1.2.7.12: critical subjectAltName with a non-empty subject",
        );
    }
    // BR 7.1.4.3: a commonName is a character-for-character copy of a SAN entry.
    // (The rule concerns names: a commonName that is neither a domain name nor an address is left alone.)
    let name_like =
        |cn: &str| cn.contains('.') || cn.contains(':') || cn.parse::<std::net::IpAddr>().is_ok();
    if let Some(cn) = common_name(leaf.subject).filter(|cn| name_like(cn)) {
        let names = leaf
            .ext(OID_SAN)
            .and_then(|e| general_names(&e.value))
            .unwrap_or_default();
        let found = names.iter().any(|n| match n.tag {
            0x82 => n.value == cn.as_bytes(),
            0x87 => ip_text(n.value).is_some_and(|t| t == cn),
            _ => false,
        });
        if !found {
            return v(
                0,
                "CABF BR 7.1.4.3: commonName is not a copy of a subjectAltName entry",
            );
        }
    }
    None
}

fn ip_text(b: &[u8]) -> Option<String> {
    match b.len() {
        4 => {
            let a: [u8; 4] = b.try_into().ok()?;
            Some(std::net::Ipv4Addr::from(a).to_string())
        }
        16 => {
            let a: [u8; 16] = b.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(a).to_string())
        }
        _ => None,
    }
}

/// The subject's commonName as text (UTF8String, PrintableString or IA5String).
fn common_name(subject: &[u8]) -> Option<String> {
    let name = der::parse_exact(subject).ok()?;
    for rdn in name.children().flatten() {
        for atv in rdn.children().flatten() {
            let mut r = atv.children();
            if der::read_oid(&mut r).ok()?.as_str() == "2.5.4.3" {
                let v = r.read().ok()?;
                return std::str::from_utf8(v.value).ok().map(str::to_string);
            }
        }
    }
    None
}

/// keyUsage with at least one bit (§4.2.1.3); extKeyUsage with at least one
/// purpose (§4.2.1.12); pathLenConstraint only with cA (§4.2.1.9).
fn check_usage_extensions(c: &Parsed<'_>) -> Option<&'static str> {
    if let Some(e) = c.ext(OID_KEY_USAGE) {
        let bits = der::parse_exact(&e.value)
            .ok()
            .filter(|t| t.tag == der::TAG_BIT_STRING);
        match bits {
            Some(t) if t.value.iter().skip(1).any(|b| *b != 0) => {}
            _ => return Some("RFC 5280 §4.2.1.3: keyUsage without any bit set"),
        }
    }
    if let Some(e) = c.ext(super::cert::oid::EXT_KEY_USAGE) {
        match super::cert::parse_eku(&e.value) {
            Ok(list) if !list.is_empty() => {}
            _ => return Some("RFC 5280 §4.2.1.12: extKeyUsage without any purpose"),
        }
    }
    if let Some(e) = c.ext(OID_BASIC_CONSTRAINTS) {
        let Ok(t) = der::parse_exact(&e.value).and_then(|t| t.expect(TAG_SEQUENCE)) else {
            return Some("RFC 5280 §4.2.1.9: malformed basicConstraints");
        };
        let mut r = t.children();
        let ca = r
            .read_optional(TAG_BOOLEAN)
            .ok()
            .flatten()
            .is_some_and(|b| b.value.first().is_some_and(|v| *v != 0));
        let has_len = r.read_optional(TAG_INTEGER).ok().flatten().is_some();
        if has_len && !ca {
            return Some("RFC 5280 §4.2.1.9: pathLenConstraint without cA");
        }
    }
    None
}

/// RFC 5280 §4.1.2.2: positive, non-zero, at most 20 octets.
fn check_serial(s: &[u8]) -> Option<&'static str> {
    if s.len() > 20 {
        return Some("RFC 5280 §4.1.2.2: serial number longer than 20 octets");
    }
    if s.first().is_some_and(|b| b & 0x80 != 0) {
        return Some("RFC 5280 §4.1.2.2: negative serial number");
    }
    if s.iter().all(|b| *b == 0) {
        return Some("RFC 5280 §4.1.2.2: serial number zero");
    }
    None
}

fn check_key(p: &KeyPolicy, key_type: &str, bits: u32) -> Option<&'static str> {
    match key_type {
        "RSA" if bits < p.min_rsa_bits => Some("key policy: RSA key too short"),
        "RSA" if p.rsa_whole_bytes && bits % 8 != 0 => {
            Some("key policy: RSA modulus not a whole number of bytes")
        }
        "DSA" if !p.allow_dsa => Some("key policy: DSA keys are not accepted"),
        k if k.starts_with("EC") && bits < p.min_ec_bits => {
            Some("key policy: elliptic curve too small")
        }
        _ => None,
    }
}

/// RFC 1034 §3.5 preferred name syntax as used by RFC 5280 §4.2.1.6, with a
/// wildcard allowed only as the whole left-most label.
fn valid_dns_name(name: &str, allow_wildcard: bool) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = name.split('.').collect();
    labels.iter().enumerate().all(|(i, l)| {
        if i == 0 && allow_wildcard && *l == "*" && labels.len() > 1 {
            return true;
        }
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    })
}

fn valid_email(addr: &str) -> bool {
    let mut parts = addr.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && local.bytes().all(|b| b.is_ascii_graphic())
        && valid_dns_name(domain, false)
}

fn general_names(value: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let t = der::parse_exact(value).ok()?.expect(TAG_SEQUENCE).ok()?;
    t.children().collect::<Result<Vec<_>>>().ok()
}

/// RFC 5280 §4.2.1.6: SAN entries well formed.
fn check_san(c: &Parsed<'_>) -> Option<&'static str> {
    let e = c.ext(OID_SAN)?;
    let Some(names) = general_names(&e.value) else {
        return Some("RFC 5280 §4.2.1.6: malformed subjectAltName");
    };
    if names.is_empty() {
        return Some("RFC 5280 §4.2.1.6: empty subjectAltName");
    }
    for n in names {
        let text = std::str::from_utf8(n.value).unwrap_or("\u{0}");
        match n.tag {
            0x82 if !valid_dns_name(text, true) => {
                return Some("RFC 5280 §4.2.1.6: malformed dNSName in subjectAltName");
            }
            0x81 if !valid_email(text) => {
                return Some("RFC 5280 §4.2.1.6: malformed rfc822Name in subjectAltName");
            }
            0x87 if n.value.len() != 4 && n.value.len() != 16 => {
                return Some("RFC 5280 §4.2.1.6: malformed iPAddress in subjectAltName");
            }
            _ => {}
        }
    }
    None
}

/// Name constraints (RFC 5280 §4.2.1.10): only in CA certificates, critical,
/// at least one non-empty subtree list, DNS constraints without a leading period.
fn check_name_constraints_ext(c: &Parsed<'_>) -> Option<&'static str> {
    let e = c.ext(OID_NAME_CONSTRAINTS)?;
    if !c.is_ca() {
        return Some("RFC 5280 §4.2.1.10: nameConstraints in a certificate that is not a CA");
    }
    if !e.critical {
        return Some("RFC 5280 §4.2.1.10: nameConstraints must be critical");
    }
    let Ok(t) = der::parse_exact(&e.value).and_then(|t| t.expect(TAG_SEQUENCE)) else {
        return Some("RFC 5280 §4.2.1.10: malformed nameConstraints");
    };
    let mut any = false;
    for sub in t.children() {
        let Ok(sub) = sub else {
            return Some("RFC 5280 §4.2.1.10: malformed nameConstraints");
        };
        if sub.tag != 0xa0 && sub.tag != 0xa1 {
            return Some("RFC 5280 §4.2.1.10: malformed nameConstraints");
        }
        for gs in sub.children() {
            let Ok(gs) = gs.and_then(|g| g.expect(TAG_SEQUENCE)) else {
                return Some("RFC 5280 §4.2.1.10: malformed nameConstraints");
            };
            any = true;
            if let Ok(base) = gs.children().read() {
                if base.tag == 0x82
                    && std::str::from_utf8(base.value).is_ok_and(|s| s.starts_with('.'))
                {
                    return Some("RFC 5280 §4.2.1.10: dNSName constraint with a leading period");
                }
            }
        }
    }
    if !any {
        return Some("RFC 5280 §4.2.1.10: nameConstraints without any subtree");
    }
    None
}

/// Excluded dNSName subtrees of the CAs in the path.
fn excluded_dns(c: &Parsed<'_>) -> Vec<String> {
    let Some(e) = c.ext(OID_NAME_CONSTRAINTS) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Ok(t) = der::parse_exact(&e.value) {
        for sub in t.children().flatten().filter(|s| s.tag == 0xa1) {
            for gs in sub.children().flatten() {
                if let Ok(base) = gs.children().read() {
                    if base.tag == 0x82 {
                        if let Ok(s) = std::str::from_utf8(base.value) {
                            out.push(s.to_ascii_lowercase());
                        }
                    }
                }
            }
        }
    }
    out
}

/// A wildcard SAN `*.X` could stand for an excluded name `L.X`: reject
/// (RFC 5280 §4.2.1.10 read with RFC 9525 wildcards).
fn check_wildcards_against_exclusions(parsed: &[Parsed<'_>]) -> Option<ProfileViolation> {
    let leaf = parsed.first()?;
    let e = leaf.ext(OID_SAN)?;
    let wildcards: Vec<String> = general_names(&e.value)?
        .into_iter()
        .filter(|n| n.tag == 0x82)
        .filter_map(|n| {
            std::str::from_utf8(n.value)
                .ok()
                .map(str::to_ascii_lowercase)
        })
        .filter_map(|n| n.strip_prefix("*.").map(str::to_string))
        .collect();
    for ca in parsed.get(1..).unwrap_or(&[]) {
        for ex in excluded_dns(ca) {
            let parent = ex.split_once('.').map(|(_, p)| p).unwrap_or("");
            if wildcards.iter().any(|w| w == parent) {
                return Some(ProfileViolation {
                    depth: 0,
                    rule: "RFC 5280 §4.2.1.10: wildcard subjectAltName covers an excluded name",
                });
            }
        }
    }
    None
}

/// RFC 5280 §4.2.2.1: SEQUENCE SIZE (1..MAX) OF AccessDescription.
fn aia_well_formed(value: &[u8]) -> bool {
    let Ok(t) = der::parse_exact(value).and_then(|t| t.expect(TAG_SEQUENCE)) else {
        return false;
    };
    let mut r: Reader<'_> = t.children();
    let mut n = 0;
    while !r.is_empty() {
        let Ok(ad) = r.read_tag(TAG_SEQUENCE) else {
            return false;
        };
        let mut a = ad.children();
        if der::read_oid(&mut a).is_err() || a.read().is_err() || !a.is_empty() {
            return false;
        }
        n = 1;
    }
    n > 0
}
