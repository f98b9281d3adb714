//! Revocation data (OCSP responses and CRLs), where it came from, and the
//! status of one certificate at a given time.
//!
//! Rule (documented in docs/report.md): a certificate is *revoked at T* when
//! trustworthy information names a revocation time R ≤ T; it is *good at T*
//! when trustworthy information that is not from the future either covers T
//! (thisUpdate ≤ T ≤ nextUpdate) or was issued at or after T, and none says
//! it was revoked by then. Anything else is unknown.

pub mod crl;
pub mod fetch;
pub mod ocsp;

use openssl::x509::X509;
use serde::Serialize;

use crate::pki::cert;

/// Where a piece of revocation data was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevSource {
    /// The CMS `crls` / RevocationInfoChoices of the signature.
    Cms,
    /// The Adobe `adbe-revocationInfoArchival` signed attribute.
    AdbeArchival,
    /// The PDF `/DSS` dictionary.
    Dss,
    /// Supplied by the caller.
    Caller,
    /// Fetched during validation.
    Online,
    /// Read from the local revocation cache (fetched earlier).
    Cache,
}

/// Largest CRL (DER bytes) kyso reads; larger ones are not parsed.
pub const MAX_CRL_BYTES: usize = 32 << 20;
/// Largest OCSP response kyso reads.
pub const MAX_OCSP_BYTES: usize = 256 << 10;

/// Why a raw item cannot be used as a CRL or OCSP response, checked cheaply
/// (size, outer DER structure; OCSP fully parsed).
pub fn unreadable(kind: &str, raw: &Raw) -> Option<String> {
    let (max, ok) = match kind {
        "CRL" => (
            MAX_CRL_BYTES,
            crate::der::parse_exact(raw).is_ok_and(|t| t.tag == crate::der::TAG_SEQUENCE),
        ),
        _ => (MAX_OCSP_BYTES, crate::memo::ocsp_response(raw).is_some()),
    };
    if raw.len() > max {
        Some(format!(
            "{kind} of {} bytes, larger than the limit of {max}",
            raw.len()
        ))
    } else if !ok {
        Some(format!("not a readable {kind}"))
    } else {
        None
    }
}

/// The bytes of one OCSP response or CRL. Shared, because options carrying
/// revocation data are cloned per signature and per timestamp; and with
/// their SHA-256 — the key under which the parsed item and its signature
/// check are remembered (`crate::memo`) — computed at most once, since the
/// same item is looked at for every certificate of every path.
#[derive(Clone, Debug)]
pub struct Raw(std::sync::Arc<RawBytes>);

#[derive(Debug)]
struct RawBytes {
    bytes: Box<[u8]>,
    key: std::sync::OnceLock<[u8; 32]>,
}

impl Raw {
    /// SHA-256 of the bytes.
    pub fn key(&self) -> [u8; 32] {
        *self
            .0
            .key
            .get_or_init(|| openssl::sha::sha256(&self.0.bytes))
    }
}

impl std::ops::Deref for Raw {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0.bytes
    }
}

impl From<Vec<u8>> for Raw {
    fn from(v: Vec<u8>) -> Self {
        Raw(std::sync::Arc::new(RawBytes {
            bytes: v.into_boxed_slice(),
            key: std::sync::OnceLock::new(),
        }))
    }
}

impl From<&[u8]> for Raw {
    fn from(v: &[u8]) -> Self {
        v.to_vec().into()
    }
}

/// Raw revocation data, parsed when needed.
#[derive(Clone, Debug, Default)]
pub struct RevocationData {
    pub ocsps: Vec<(RevSource, Raw)>,
    pub crls: Vec<(RevSource, Raw)>,
}

impl RevocationData {
    pub fn extend(&mut self, other: &RevocationData) {
        self.ocsps.extend(other.ocsps.iter().cloned());
        self.crls.extend(other.crls.iter().cloned());
    }
    pub fn is_empty(&self) -> bool {
        self.ocsps.is_empty() && self.crls.is_empty()
    }
}

/// What the report says about one piece of revocation data that was looked at.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// Subject of the certificate checked.
    pub certificate: String,
    pub source: RevSource,
    /// `OCSP` or `CRL`.
    pub kind: &'static str,
    pub produced_at: Option<String>,
    pub this_update: String,
    pub next_update: Option<String>,
    /// `GOOD`, `REVOKED` or `UNKNOWN` as the data says.
    pub status: &'static str,
    pub revocation_time: Option<String>,
    /// Why the data was not usable, if it was not.
    pub problem: Option<String>,
    /// Whether the verdict rests on this item.
    pub used: bool,
}

/// The status of a certificate at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Good,
    Revoked {
        time: i64,
        reason: Option<u8>,
    },
    /// No usable data; the string says why.
    Unknown(String),
}

/// A usable statement from one item.
struct Statement {
    this_update: i64,
    next_update: Option<i64>,
    revoked: Option<(i64, Option<u8>)>,
}

fn covers(s: &Statement, t: i64) -> bool {
    s.this_update >= t || (s.this_update <= t && s.next_update.is_some_and(|n| t <= n))
}

/// Status of `cert` (issued by `issuer`) at time `t`, using `data`; `now` is
/// the validation time (data issued later than `now` plus a small clock skew
/// is ignored).
pub fn status_at(
    cert: &X509,
    issuer: &X509,
    data: &RevocationData,
    t: i64,
    now: i64,
) -> (Status, Vec<Evidence>) {
    const SKEW: i64 = 300;
    let subject = cert::name_to_string(cert.subject_name());
    let mut evidence = Vec::new();
    let mut statements: Vec<(usize, Statement)> = Vec::new();
    for (src, raw) in &data.ocsps {
        if raw.len() > MAX_OCSP_BYTES {
            continue;
        }
        let Some(resp) = crate::memo::ocsp_response(raw) else {
            continue;
        };
        let Some(b) = &resp.basic else {
            continue;
        };
        for sr in b
            .responses
            .iter()
            .filter(|sr| sr.cert_id.matches(cert, issuer))
        {
            let mut ev = Evidence {
                certificate: subject.clone(),
                source: *src,
                kind: "OCSP",
                produced_at: Some(cert::fmt_unix(b.produced_at)),
                this_update: cert::fmt_unix(sr.this_update),
                next_update: sr.next_update.map(cert::fmt_unix),
                status: match sr.status {
                    ocsp::CertStatus::Good => "GOOD",
                    ocsp::CertStatus::Revoked { .. } => "REVOKED",
                    ocsp::CertStatus::Unknown => "UNKNOWN",
                },
                revocation_time: match sr.status {
                    ocsp::CertStatus::Revoked { time, .. } => Some(cert::fmt_unix(time)),
                    _ => None,
                },
                problem: None,
                used: false,
            };
            match crate::memo::ocsp_responder(raw, &resp, issuer) {
                Ok((_, delegate)) => {
                    // A delegated responder's certificate must be valid when it signed.
                    let delegate_ok = delegate.as_ref().is_none_or(|d| {
                        let nb = cert::asn1_to_unix(d.not_before()).unwrap_or(i64::MAX);
                        let na = cert::asn1_to_unix(d.not_after()).unwrap_or(i64::MIN);
                        nb <= b.produced_at && b.produced_at <= na
                    });
                    if !delegate_ok {
                        ev.problem = Some("delegated OCSP responder certificate not valid when the response was produced".into());
                    } else if sr.critical_unknown_extension {
                        ev.problem = Some("unknown critical extension in the response".into());
                    } else if sr.this_update > now + SKEW || b.produced_at > now + SKEW {
                        ev.problem = Some("issued after the validation time".into());
                    } else if sr.status == ocsp::CertStatus::Unknown {
                        ev.problem = Some("the responder does not know the certificate".into());
                    } else {
                        let revoked = match sr.status {
                            ocsp::CertStatus::Revoked { time, reason } => Some((time, reason)),
                            _ => None,
                        };
                        statements.push((
                            evidence.len(),
                            Statement {
                                this_update: sr.this_update,
                                next_update: sr.next_update,
                                revoked,
                            },
                        ));
                    }
                }
                Err(ocsp::ResponseProblem::UnauthorisedResponder) => {
                    ev.problem = Some("signed by a responder the issuer did not authorise".into())
                }
                Err(ocsp::ResponseProblem::BadSignature) => {
                    ev.problem = Some("the response signature does not verify".into())
                }
                Err(ocsp::ResponseProblem::UnsupportedAlgorithm(a)) => {
                    ev.problem = Some(format!("unsupported signature algorithm {a}"))
                }
                Err(ocsp::ResponseProblem::NotSuccessful(s)) => {
                    ev.problem = Some(format!("response status {s:?}"))
                }
            }
            evidence.push(ev);
        }
    }
    for (src, raw) in &data.crls {
        if raw.len() > MAX_CRL_BYTES {
            continue;
        }
        let Some(entry) = crl::entry_for(raw, cert, issuer) else {
            continue;
        };
        let mut ev = Evidence {
            certificate: subject.clone(),
            source: *src,
            kind: "CRL",
            produced_at: None,
            this_update: cert::fmt_unix(entry.this_update),
            next_update: entry.next_update.map(cert::fmt_unix),
            status: if entry.revoked.is_some() {
                "REVOKED"
            } else {
                "GOOD"
            },
            revocation_time: entry.revoked.map(|(t, _)| cert::fmt_unix(t)),
            problem: entry.problem.clone(),
            used: false,
        };
        if ev.problem.is_none() && entry.this_update > now + SKEW {
            ev.problem = Some("issued after the validation time".into());
        }
        if ev.problem.is_none() {
            statements.push((
                evidence.len(),
                Statement {
                    this_update: entry.this_update,
                    next_update: entry.next_update,
                    revoked: entry.revoked,
                },
            ));
        }
        evidence.push(ev);
    }
    // Revocation is final: the earliest trustworthy revocation time wins.
    if let Some((i, s)) = statements
        .iter()
        .filter(|(_, s)| s.revoked.is_some_and(|(r, _)| r <= now + SKEW))
        .min_by_key(|(_, s)| s.revoked.map(|(r, _)| r))
    {
        let (time, reason) = s.revoked.unwrap_or((0, None));
        evidence[*i].used = true;
        return (Status::Revoked { time, reason }, evidence);
    }
    if let Some((i, _)) = statements
        .iter()
        .filter(|(_, s)| covers(s, t))
        .max_by_key(|(_, s)| s.this_update)
    {
        evidence[*i].used = true;
        return (Status::Good, evidence);
    }
    let why = if evidence.is_empty() {
        "no OCSP response or CRL for this certificate".to_string()
    } else if statements.is_empty() {
        "no usable OCSP response or CRL (see evidence)".to_string()
    } else {
        format!("no OCSP response or CRL covers {}", cert::fmt_unix(t))
    };
    (Status::Unknown(why), evidence)
}

/// A CRL given as PEM or DER, as DER (anything else is returned unchanged
/// for [`unreadable`] to judge).
pub fn crl_der(data: Vec<u8>) -> Vec<u8> {
    match openssl::x509::X509Crl::from_pem(&data).and_then(|c| c.to_der()) {
        Ok(der) => der,
        Err(_) => data,
    }
}
