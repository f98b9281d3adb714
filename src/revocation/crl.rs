//! Certificate revocation lists (RFC 5280 §5), read by kyso's own bounded
//! DER reader: the TBSCertList with its extensions (CRL number, delta CRL
//! indicator, issuing distribution point, ExpiredCertsOnCRL) and, on demand,
//! the entry of one certificate — an indirect CRL's entries carry their
//! certificate issuer (§5.3.3). A CRL with an extension or entry extension
//! that is critical and not understood is never used (§5.2, §5.3).
//!
//! What a CRL *means* for a certificate at a time (scope, reasons, deltas,
//! the CRL issuer's key) is decided in [`super::status_at`].

use std::ops::Range;
use std::rc::Rc;

use crate::cms::AlgId;
use crate::der::{self, Reader, TAG_BIT_STRING, TAG_INTEGER, TAG_SEQUENCE, Tlv};
use crate::error::{Error, Result};

pub const OID_CRL_NUMBER: &str = "2.5.29.20";
pub const OID_DELTA: &str = "2.5.29.27";
pub const OID_IDP: &str = "2.5.29.28";
pub const OID_EXPIRED_CERTS_ON_CRL: &str = "2.5.29.60";
const OID_AKI: &str = "2.5.29.35";
const OID_ISSUER_ALT_NAME: &str = "2.5.29.18";
const OID_FRESHEST_CRL: &str = "2.5.29.46";
const OID_AIA: &str = "1.3.6.1.5.5.7.1.1";
const OID_REASON: &str = "2.5.29.21";
const OID_INVALIDITY_DATE: &str = "2.5.29.24";
const OID_CERTIFICATE_ISSUER: &str = "2.5.29.29";

/// CRLReason (RFC 5280 §5.3.1) values kyso acts on.
pub const REASON_CERTIFICATE_HOLD: u8 = 6;
pub const REASON_REMOVE_FROM_CRL: u8 = 8;

/// ReasonFlags (RFC 5280 §4.2.1.13) as bits 1..=8 of a u16 (bit 0, `unused`, never set).
pub type Reasons = u16;
/// Every reason: keyCompromise … aACompromise.
pub const ALL_REASONS: Reasons = 0x1fe;

/// A GeneralName as far as distribution-point matching needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeneralName {
    /// directoryName: the DER of the Name.
    Directory(Vec<u8>),
    /// Any other form, compared by its encoding (a URI, say).
    Other(Vec<u8>),
}

/// DistributionPointName (RFC 5280 §4.2.1.13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DpName {
    Full(Vec<GeneralName>),
    /// nameRelativeToCRLIssuer: the DER of one RelativeDistinguishedName.
    Relative(Vec<u8>),
}

impl DpName {
    /// The names this stands for; a relative name is appended to `base` (a DER Name).
    pub fn resolve(&self, base: &[u8]) -> Vec<GeneralName> {
        match self {
            DpName::Full(n) => n.clone(),
            DpName::Relative(rdn) => {
                let Ok(t) = der::parse_exact(base) else {
                    return Vec::new();
                };
                let mut content = t.value.to_vec();
                content.extend_from_slice(rdn);
                vec![GeneralName::Directory(der::encode_tlv(
                    TAG_SEQUENCE,
                    &content,
                ))]
            }
        }
    }
}

/// IssuingDistributionPoint (RFC 5280 §5.2.5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Idp {
    pub name: Option<DpName>,
    pub only_user: bool,
    pub only_ca: bool,
    pub only_some_reasons: Option<Reasons>,
    pub indirect: bool,
    pub only_attribute: bool,
}

/// One revokedCertificates entry as it applies to a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revoked {
    pub time: i64,
    pub reason: Option<u8>,
}

/// A parsed CRL. Entries stay encoded and are searched on demand.
#[derive(Debug)]
pub struct Crl {
    /// DER of the issuer Name.
    pub issuer: Vec<u8>,
    pub this_update: i64,
    pub next_update: Option<i64>,
    /// cRLNumber, INTEGER content octets.
    pub number: Option<Vec<u8>>,
    /// deltaCRLIndicator's BaseCRLNumber: this is a delta CRL.
    pub delta_base: Option<Vec<u8>>,
    pub idp: Option<Idp>,
    /// The IDP extension value as encoded (a delta must carry the same).
    pub idp_raw: Option<Vec<u8>>,
    /// ExpiredCertsOnCRL (X.509 (2016) / RFC 5280 §3.3 practice): revoked
    /// certificates that expired at or after this time are still listed.
    pub expired_certs_on_crl: Option<i64>,
    /// Why this CRL must not be used, when it must not.
    pub problem: Option<String>,
    pub sig_alg_oid: String,
    pub sig_alg_params: Option<Vec<u8>>,
    pub signature: Vec<u8>,
    tbs: Range<usize>,
    entries: Option<Range<usize>>,
}

fn range_of(outer: &[u8], inner: &[u8]) -> Range<usize> {
    let start = (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize);
    start..start.saturating_add(inner.len())
}

fn read_time(r: &mut Reader<'_>) -> Result<i64> {
    der::parse_time(&r.read()?)
}

fn boolean(t: &Tlv<'_>) -> bool {
    t.value.first().is_some_and(|b| *b != 0)
}

/// ReasonFlags BIT STRING content (first octet: unused bits) as bits 1..=8.
pub fn reason_flags(content: &[u8]) -> Reasons {
    let b0 = u16::from(content.get(1).copied().unwrap_or(0));
    let b1 = u16::from(content.get(2).copied().unwrap_or(0));
    // Bit n of the BIT STRING is bit (7 - n % 8) of octet n / 8; reason n -> bit n here.
    let mut out: Reasons = 0;
    for n in 0..9u16 {
        let octet = if n < 8 { b0 } else { b1 };
        if octet & (0x80 >> (n % 8)) != 0 {
            out |= 1 << n;
        }
    }
    out & ALL_REASONS
}

/// GeneralNames (a SEQUENCE's or an implicitly tagged value's children).
pub fn general_names(t: &Tlv<'_>) -> Result<Vec<GeneralName>> {
    let mut out = Vec::new();
    for n in t.children() {
        let n = n?;
        out.push(if n.tag == 0xa4 {
            GeneralName::Directory(n.children().read_tag(TAG_SEQUENCE)?.raw.to_vec())
        } else {
            GeneralName::Other(n.raw.to_vec())
        });
        if out.len() > 64 {
            return Err(Error::limit("general_names", out.len(), 64));
        }
    }
    Ok(out)
}

/// DistributionPointName from its [0] wrapper.
pub fn dp_name(wrapper: &Tlv<'_>) -> Result<DpName> {
    let inner = wrapper.children().read()?;
    match inner.tag {
        0xa0 => Ok(DpName::Full(general_names(&inner)?)),
        0xa1 => Ok(DpName::Relative(der::encode_tlv(der::TAG_SET, inner.value))),
        _ => Err(Error::asn1("bad DistributionPointName")),
    }
}

fn parse_idp(v: &[u8]) -> Result<Idp> {
    let t = der::parse_exact(v)?.expect(TAG_SEQUENCE)?;
    let mut idp = Idp::default();
    for f in t.children() {
        let f = f?;
        match f.tag {
            0xa0 => idp.name = Some(dp_name(&f)?),
            0x81 => idp.only_user = boolean(&f),
            0x82 => idp.only_ca = boolean(&f),
            0x83 => idp.only_some_reasons = Some(reason_flags(f.value)),
            0x84 => idp.indirect = boolean(&f),
            0x85 => idp.only_attribute = boolean(&f),
            _ => return Err(Error::asn1("unknown issuingDistributionPoint field")),
        }
    }
    Ok(idp)
}

impl Crl {
    /// Parse a DER CertificateList. Structure errors are `Err`; a CRL that
    /// reads but must not be used carries its [`Crl::problem`].
    pub fn parse(raw: &[u8]) -> Result<Crl> {
        let top = der::parse_exact(raw)?.expect(TAG_SEQUENCE)?;
        let mut r = top.children();
        let tbs = r.read_tag(TAG_SEQUENCE)?;
        let alg = AlgId::parse(r.read()?)?;
        let sig = r.read_tag(TAG_BIT_STRING)?;
        r.finish()?;
        if sig.value.first() != Some(&0) {
            return Err(Error::asn1("CRL signature BIT STRING with unused bits"));
        }
        let mut t = tbs.children();
        if let Some(v) = t.read_optional(TAG_INTEGER)? {
            if v.value != [1] {
                return Err(Error::asn1("unsupported CRL version"));
            }
        }
        let inner_alg = AlgId::parse(t.read()?)?;
        if inner_alg.oid != alg.oid {
            return Err(Error::asn1("CRL signature algorithms differ"));
        }
        let issuer = t.read_tag(TAG_SEQUENCE)?.raw.to_vec();
        let this_update = read_time(&mut t)?;
        let next_update = match t.peek_tag() {
            Some(der::TAG_UTC_TIME | der::TAG_GEN_TIME) => Some(read_time(&mut t)?),
            _ => None,
        };
        let entries = t.read_optional(TAG_SEQUENCE)?;
        let exts = t.read_optional(0xa0)?;
        t.finish()?;
        let mut crl = Crl {
            issuer,
            this_update,
            next_update,
            number: None,
            delta_base: None,
            idp: None,
            idp_raw: None,
            expired_certs_on_crl: None,
            problem: None,
            sig_alg_oid: alg.oid.clone(),
            sig_alg_params: alg.params.map(|p| p.raw.to_vec()),
            signature: sig.value.get(1..).unwrap_or(&[]).to_vec(),
            tbs: range_of(raw, tbs.raw),
            entries: entries.map(|e| range_of(raw, e.value)),
        };
        if let Some(exts) = exts {
            let mut seen = Vec::new();
            for e in exts.children().read_tag(TAG_SEQUENCE)?.children() {
                let (oid, critical, v) = der::read_extension(e?)?;
                if seen.contains(&oid) {
                    return Err(Error::asn1("CRL extension repeated"));
                }
                match oid.as_str() {
                    // RFC 5280 §5.2.3: cRLNumber is non-critical; a CRL that
                    // marks it critical does not follow the profile.
                    OID_CRL_NUMBER if critical => {
                        crl.problem.get_or_insert_with(|| {
                            "cRLNumber marked critical (RFC 5280 §5.2.3)".into()
                        });
                    }
                    OID_CRL_NUMBER => {
                        crl.number = Some(der::parse_exact(v)?.expect(TAG_INTEGER)?.value.to_vec())
                    }
                    OID_DELTA => {
                        crl.delta_base =
                            Some(der::parse_exact(v)?.expect(TAG_INTEGER)?.value.to_vec())
                    }
                    OID_IDP => {
                        crl.idp = Some(parse_idp(v)?);
                        crl.idp_raw = Some(v.to_vec());
                    }
                    OID_EXPIRED_CERTS_ON_CRL => {
                        crl.expired_certs_on_crl = Some(der::parse_time(&der::parse_exact(v)?)?)
                    }
                    OID_AKI | OID_ISSUER_ALT_NAME | OID_FRESHEST_CRL | OID_AIA => {}
                    o if critical => {
                        crl.problem
                            .get_or_insert_with(|| format!("unknown critical CRL extension {o}"));
                    }
                    _ => {}
                }
                seen.push(oid);
            }
        }
        // Every entry read once: a critical entry extension that is not
        // understood makes the whole CRL unusable (RFC 5280 §5.3).
        if let Some(range) = crl.entries.clone() {
            let body = raw
                .get(range)
                .ok_or(Error::asn1("CRL entries out of range"))?;
            for e in Reader::new(body) {
                let entry = read_entry(&e?)?;
                if let Some(o) = entry.unknown_critical {
                    crl.problem
                        .get_or_insert_with(|| format!("unknown critical CRL entry extension {o}"));
                    break;
                }
            }
        }
        Ok(crl)
    }

    /// The bytes the signature covers.
    pub fn tbs<'r>(&self, raw: &'r [u8]) -> &'r [u8] {
        raw.get(self.tbs.clone()).unwrap_or(&[])
    }

    /// Whether the CRL scope reaches only some reasons or is indirect, etc.
    pub fn is_delta(&self) -> bool {
        self.delta_base.is_some()
    }

    /// The entry for the certificate `serial` (INTEGER content octets) issued
    /// by `cert_issuer` (DER Name), if listed. In an indirect CRL an entry's
    /// certificate issuer is the last certificateIssuer extension seen, the
    /// CRL issuer before the first one (RFC 5280 §5.3.3).
    pub fn find(
        &self,
        raw: &[u8],
        cert_issuer: &[u8],
        serial: &[u8],
        same_name: impl Fn(&[u8], &[u8]) -> bool,
    ) -> Option<Revoked> {
        let body = raw.get(self.entries.clone()?)?;
        let indirect = self.idp.as_ref().is_some_and(|i| i.indirect);
        let mut current: Option<Vec<u8>> = None;
        for e in Reader::new(body) {
            let entry = read_entry(&e.ok()?).ok()?;
            if indirect {
                if let Some(n) = entry.certificate_issuer {
                    current = Some(n);
                }
            }
            if entry.serial != serial {
                continue;
            }
            let issuer = current.as_deref().unwrap_or(&self.issuer);
            if issuer == cert_issuer || same_name(issuer, cert_issuer) {
                return Some(Revoked {
                    time: entry.time,
                    reason: entry.reason,
                });
            }
        }
        None
    }
}

struct Entry<'a> {
    serial: &'a [u8],
    time: i64,
    reason: Option<u8>,
    certificate_issuer: Option<Vec<u8>>,
    unknown_critical: Option<String>,
}

fn read_entry<'a>(t: &Tlv<'a>) -> Result<Entry<'a>> {
    let mut r = t.expect(TAG_SEQUENCE)?.children();
    let serial = r.read_tag(TAG_INTEGER)?.value;
    let time = read_time(&mut r)?;
    let mut out = Entry {
        serial,
        time,
        reason: None,
        certificate_issuer: None,
        unknown_critical: None,
    };
    if let Some(exts) = r.read_optional(TAG_SEQUENCE)? {
        for e in exts.children() {
            let (oid, critical, v) = der::read_extension(e?)?;
            match oid.as_str() {
                OID_REASON => {
                    let e = der::parse_exact(v)?.expect(0x0a)?;
                    out.reason = Some(*e.value.first().ok_or(Error::asn1("empty CRLReason"))?);
                }
                OID_CERTIFICATE_ISSUER => {
                    let names = general_names(&der::parse_exact(v)?.expect(TAG_SEQUENCE)?)?;
                    out.certificate_issuer = names.into_iter().find_map(|n| match n {
                        GeneralName::Directory(d) => Some(d),
                        GeneralName::Other(_) => None,
                    });
                }
                OID_INVALIDITY_DATE => {}
                o if critical => out.unknown_critical = Some(o.to_string()),
                _ => {}
            }
        }
    }
    r.finish()?;
    Ok(out)
}

/// Compare two INTEGER contents as non-negative numbers (CRL numbers).
pub fn cmp_number(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let strip = |x: &[u8]| -> Vec<u8> { x.iter().copied().skip_while(|v| *v == 0).collect() };
    let (a, b) = (strip(a), strip(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(&b))
}

thread_local! {
    static PARSED: crate::memo::Table<Option<Rc<Crl>>> = crate::memo::Table::new(16);
}

/// Below this size a parsed CRL is remembered (per thread, by SHA-256).
const MEMO_MAX_BYTES: usize = 4 << 20;

/// The CRL `raw`, parsed (remembered when small).
pub fn parsed(raw: &super::Raw) -> Option<Rc<Crl>> {
    let parse = || Crl::parse(raw).ok().map(Rc::new);
    if raw.len() > MEMO_MAX_BYTES {
        return parse();
    }
    PARSED.with(|t| t.get_or(raw.key(), parse))
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
    fn reason_flag_bits() {
        // keyCompromise (bit 1) and cACompromise (bit 2): 0x60, 5 unused bits.
        assert_eq!(reason_flags(&[0x05, 0x60]), 0b110);
        // aACompromise (bit 8) is in the second octet.
        assert_eq!(reason_flags(&[0x07, 0x00, 0x80]), 1 << 8);
        assert_eq!(reason_flags(&[0x07, 0x7f, 0x80]), ALL_REASONS);
    }

    #[test]
    fn crl_numbers_compare_as_numbers() {
        use std::cmp::Ordering::*;
        assert_eq!(cmp_number(&[0x00, 0x80], &[0x7f]), Greater);
        assert_eq!(cmp_number(&[0x01, 0x00], &[0x01, 0x00]), Equal);
        assert_eq!(cmp_number(&[0x02], &[0x01, 0x00]), Less);
    }
}
