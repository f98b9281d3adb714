//! CRLs (RFC 5280 §5) judged for one certificate: issued by the
//! certificate's issuer, signature valid, scope covers the certificate.
//! Indirect CRLs, partitioned reasons and delta CRLs are not used (reported).

use openssl::x509::{CrlStatus, X509};

use crate::der::{self, TAG_SEQUENCE};
use crate::pki::cert;

const OID_IDP: &str = "2.5.29.28";
const OID_DELTA: &str = "2.5.29.27";
const OID_CRL_NUMBER: &str = "2.5.29.20";
const OID_AKI: &str = "2.5.29.35";

/// What a CRL says about one certificate.
pub struct Entry {
    pub this_update: i64,
    pub next_update: Option<i64>,
    pub revoked: Option<(i64, Option<u8>)>,
    pub problem: Option<String>,
}

/// The crlExtensions of a DER CRL: (oid, critical, value).
fn crl_extensions(raw: &[u8]) -> Option<Vec<(String, bool, Vec<u8>)>> {
    let top = der::parse_exact(raw).ok()?.expect(TAG_SEQUENCE).ok()?;
    let tbs = top.children().read_tag(TAG_SEQUENCE).ok()?;
    let mut out = Vec::new();
    for item in tbs.children() {
        let item = item.ok()?;
        if item.tag != 0xa0 {
            continue;
        }
        for e in item.children().read_tag(TAG_SEQUENCE).ok()?.children() {
            let mut r = e.ok()?.children();
            let oid = der::read_oid(&mut r).ok()?;
            let critical = r
                .read_optional(der::TAG_BOOLEAN)
                .ok()?
                .is_some_and(|b| b.value.first().is_some_and(|v| *v != 0));
            let v = r.read_tag(der::TAG_OCTET_STRING).ok()?.value.to_vec();
            out.push((oid, critical, v));
        }
    }
    Some(out)
}

/// The CRL's judgement of `cert`, if this CRL is about `cert`'s issuer.
pub fn entry_for(raw: &super::Raw, cert: &X509, issuer: &X509) -> Option<Entry> {
    let crl = crate::memo::crl(raw)?;
    if !crl
        .issuer_name()
        .try_cmp(cert.issuer_name())
        .is_ok_and(|o| o.is_eq())
    {
        return None;
    }
    let this_update = cert::asn1_to_unix(crl.last_update())?;
    let next_update = crl.next_update().and_then(cert::asn1_to_unix);
    let mut problem = None;
    let key_ok = crate::memo::crl_signed_by(raw, &crl, issuer);
    if !key_ok {
        // Same name, other key (key rollover or an impostor): not this issuer's CRL.
        problem = Some("CRL signature does not verify with the issuer's key".to_string());
    }
    let issuer_ku = issuer
        .to_der()
        .ok()
        .and_then(|d| cert::extensions(&d).ok())
        .and_then(|e| e.into_iter().find(|x| x.oid == cert::oid::KEY_USAGE))
        .and_then(|e| cert::parse_key_usage(&e.value).ok());
    if issuer_ku.is_some_and(|k| !k.crl_sign) {
        problem
            .get_or_insert_with(|| "the issuer's keyUsage does not allow CRL signing".to_string());
    }
    match crl_extensions(raw) {
        None => {
            problem.get_or_insert_with(|| "malformed CRL extensions".to_string());
        }
        Some(exts) => {
            for (oid, critical, v) in &exts {
                match oid.as_str() {
                    OID_DELTA => {
                        problem.get_or_insert_with(|| "delta CRLs are not supported".to_string());
                    }
                    OID_IDP => {
                        if let Some(p) = idp_problem(v, cert) {
                            problem.get_or_insert(p);
                        }
                    }
                    OID_CRL_NUMBER | OID_AKI => {}
                    o if *critical => {
                        problem
                            .get_or_insert_with(|| format!("unknown critical CRL extension {o}"));
                    }
                    _ => {}
                }
            }
        }
    }
    let revoked = match crl.get_by_cert(cert) {
        CrlStatus::Revoked(r) | CrlStatus::RemoveFromCrl(r) => {
            let t = cert::asn1_to_unix(r.revocation_date()).unwrap_or(i64::MIN);
            Some((t, None))
        }
        CrlStatus::NotRevoked => None,
    };
    Some(Entry {
        this_update,
        next_update,
        revoked,
        problem,
    })
}

/// IssuingDistributionPoint scope (RFC 5280 §5.2.5).
fn idp_problem(v: &[u8], cert: &X509) -> Option<String> {
    let Ok(t) = der::parse_exact(v) else {
        return Some("malformed issuingDistributionPoint".into());
    };
    let is_ca = cert
        .to_der()
        .ok()
        .and_then(|d| cert::extensions(&d).ok())
        .and_then(|e| {
            e.into_iter()
                .find(|x| x.oid == cert::oid::BASIC_CONSTRAINTS)
        })
        .and_then(|e| {
            der::parse_exact(&e.value).ok().map(|t| {
                t.value.first() == Some(&der::TAG_BOOLEAN)
                    && t.value.get(2).is_some_and(|b| *b != 0)
            })
        })
        .unwrap_or(false);
    for f in t.children().flatten() {
        let on = f.value.first().is_some_and(|b| *b != 0);
        match f.tag {
            0x81 if on && is_ca => return Some("CRL covers end-entity certificates only".into()),
            0x82 if on && !is_ca => return Some("CRL covers CA certificates only".into()),
            0x83 => return Some("CRLs partitioned by reason are not supported".into()),
            0x84 if on => return Some("indirect CRLs are not supported".into()),
            0x85 if on => return Some("attribute-certificate CRL".into()),
            _ => {}
        }
    }
    None
}
