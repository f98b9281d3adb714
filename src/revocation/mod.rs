//! Revocation data (OCSP responses and CRLs), where it came from, and the
//! status of one certificate at a given time.
//!
//! Rule (documented in docs/report.md): a certificate is *revoked at T* when
//! trustworthy information names a revocation time R ≤ T; it is *on hold at
//! T* when information issued at or after T lists it as certificateHold since
//! H ≤ T; it is *good at T* when trustworthy information that is not from the
//! future either covers T (thisUpdate ≤ T ≤ nextUpdate) or was issued at or
//! after T, says nothing of it, may speak of it (scope, reasons, not issued
//! after the certificate expired unless ExpiredCertsOnCRL / archiveCutoff say
//! expired certificates stay listed), and together covers every reason.
//! Anything else is unknown.
//!
//! `status_at` is the one place this is decided: production, the PKITS and
//! x509-limbo suites and the revocation fixtures all go through it.
// Parsers of untrusted bytes and the checks on what they read: no slicing
// that can panic, no unchecked indexing, no arithmetic that can overflow.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

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
    /// XAdES `RevocationValues` of an XML signature.
    Xades,
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
        _ => (MAX_OCSP_BYTES, ocsp::parsed(raw).is_some()),
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
    bytes: bytes::Bytes,
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

impl From<bytes::Bytes> for Raw {
    /// Without a copy: an item read from the archive is shared as it is.
    fn from(b: bytes::Bytes) -> Self {
        Raw(std::sync::Arc::new(RawBytes {
            bytes: b,
            key: std::sync::OnceLock::new(),
        }))
    }
}

impl From<Vec<u8>> for Raw {
    fn from(v: Vec<u8>) -> Self {
        bytes::Bytes::from(v).into()
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
    /// Revoked for good (any reason but certificateHold), at `time`.
    Revoked {
        time: i64,
        reason: Option<u8>,
    },
    /// Suspended (certificateHold) since `since`, still listed at or after
    /// the time asked about. A later release does not make a signature made
    /// while suspended valid.
    OnHold {
        since: i64,
    },
    /// No usable data; the string says why.
    Unknown(String),
}

/// Largest clock difference tolerated between the validation time and the
/// issue time of revocation data.
const SKEW: i64 = 300;

/// Issued (or dated) after the validation time, beyond the skew.
fn after_now(t: i64, now: i64) -> bool {
    t > now.saturating_add(SKEW)
}
/// How deep the path of a CRL issuer other than the certificate's issuer is
/// followed: that path's revocation is checked, and once more the path of a
/// CRL issuer found there (a CA that rolled its key over signs its CRLs with
/// the old key: PKITS 4.6.17), not further. With at most 4 candidates a
/// level and paths of at most 8 certificates, the work stays bounded.
const MAX_CRL_ISSUER_DEPTH: u8 = 2;
const MAX_CRL_ISSUER_PATH: i32 = 8;

/// What the status of one certificate depends on besides its own data.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub data: &'a RevocationData,
    /// Certificates that may have issued a CRL on a CA's behalf (a separate
    /// CRL signing key, an indirect CRL issuer): the signature's, the
    /// document's and the caller's.
    pub pool: &'a [X509],
    /// The trust anchor of the path being checked: a CRL issuer's own path
    /// must end there (RFC 5280 §6.3.3 (f)). Without it, only CRLs signed by
    /// the certificate's issuer are used.
    pub anchor: Option<&'a X509>,
    /// The validation time: data issued after it (plus a small skew) is not used.
    pub now: i64,
    pub key_policy: Option<crate::pki::KeyPolicy>,
    depth: u8,
    /// The CRL issuer whose own path is being checked one level up: a CRL it
    /// signed may speak for itself (an indirect CRL issuer listed on its own
    /// CRL, PKITS 4.14.30) without starting that check again.
    in_check: Option<&'a X509>,
}

impl<'a> Context<'a> {
    pub fn new(
        data: &'a RevocationData,
        pool: &'a [X509],
        anchor: Option<&'a X509>,
        now: i64,
    ) -> Self {
        Context {
            data,
            pool,
            anchor,
            now,
            key_policy: None,
            depth: 0,
            in_check: None,
        }
    }
}

/// One distribution point of a certificate (RFC 5280 §4.2.1.13), or the
/// default one: the certificate's issuer, every reason (§6.3.3).
#[derive(Clone, Debug)]
struct Dp {
    name: Option<crl::DpName>,
    reasons: Option<crl::Reasons>,
    crl_issuer: Option<Vec<crl::GeneralName>>,
}

/// What the decision needs of the certificate.
struct Subject {
    issuer: Vec<u8>,
    serial: Vec<u8>,
    is_ca: bool,
    not_after: Option<i64>,
    dps: Vec<Dp>,
}

const OID_CRL_DP: &str = "2.5.29.31";

fn parse_dps(v: &[u8]) -> crate::error::Result<Vec<Dp>> {
    use crate::der::TAG_SEQUENCE;
    let mut out = Vec::new();
    for d in crate::der::parse_exact(v)?.expect(TAG_SEQUENCE)?.children() {
        let mut dp = Dp {
            name: None,
            reasons: None,
            crl_issuer: None,
        };
        for f in d?.expect(TAG_SEQUENCE)?.children() {
            let f = f?;
            match f.tag {
                0xa0 => dp.name = Some(crl::dp_name(&f)?),
                0x81 => dp.reasons = Some(crl::reason_flags(f.value)),
                0xa2 => dp.crl_issuer = Some(crl::general_names(&f)?),
                _ => return Err(crate::error::Error::asn1("bad DistributionPoint")),
            }
        }
        out.push(dp);
        if out.len() > 16 {
            return Err(crate::error::Error::limit(
                "crl_distribution_points",
                out.len(),
                16,
            ));
        }
    }
    Ok(out)
}

impl Subject {
    fn of(cert: &X509) -> Option<Subject> {
        let der = cert.to_der().ok()?;
        let exts = cert::extensions(&der).ok()?;
        let is_ca = cert::is_ca(&exts);
        let issuer = cert.issuer_name().to_der().ok()?;
        let mut dps = match exts.iter().find(|e| e.oid == OID_CRL_DP) {
            Some(e) => parse_dps(&e.value).ok()?,
            None => Vec::new(),
        };
        dps.push(Dp {
            name: Some(crl::DpName::Full(vec![crl::GeneralName::Directory(
                issuer.clone(),
            )])),
            reasons: None,
            crl_issuer: None,
        });
        Some(Subject {
            issuer,
            serial: cert::serial_content(&der)?,
            is_ca,
            not_after: cert::asn1_to_unix(cert.not_after()),
            dps,
        })
    }
}

/// Two DER Names are the same name: equal encodings, else OpenSSL's
/// canonical comparison (RFC 5280 §7.1 case and space folding).
pub fn same_name(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    let mut h = openssl::sha::Sha256::new();
    h.update(a);
    h.update(&[0]);
    h.update(b);
    NAMES.with(|t| {
        t.get_or(h.finish(), || {
            match (
                openssl::x509::X509Name::from_der(a),
                openssl::x509::X509Name::from_der(b),
            ) {
                (Ok(x), Ok(y)) => x.try_cmp(&y).is_ok_and(|o| o.is_eq()),
                _ => false,
            }
        })
    })
}

thread_local! {
    /// Name comparisons that needed OpenSSL's canonical form (remembered per thread).
    static NAMES: crate::memo::Table<bool> = crate::memo::Table::new(1024);
}

fn names_meet(a: &[crl::GeneralName], b: &[crl::GeneralName]) -> bool {
    use crl::GeneralName::{Directory, Other};
    a.iter().any(|x| {
        b.iter().any(|y| match (x, y) {
            (Directory(p), Directory(q)) => same_name(p, q),
            (Other(p), Other(q)) => p == q,
            _ => false,
        })
    })
}

/// RFC 5280 §6.3.3 (b) and (c): may this complete CRL speak for the
/// certificate through `dp`, and for which reasons.
fn scope(c: &crl::Crl, dp: &Dp, s: &Subject) -> Result<crl::Reasons, &'static str> {
    let idp = c.idp.clone().unwrap_or_default();
    // (b)(1) the CRL issuer.
    match &dp.crl_issuer {
        Some(names) => {
            if !idp.indirect {
                return Err(
                    "the distribution point names a CRL issuer but the CRL is not indirect",
                );
            }
            if !names_meet(names, &[crl::GeneralName::Directory(c.issuer.clone())]) {
                return Err("issued by another CRL issuer than the distribution point names");
            }
        }
        None if !same_name(&c.issuer, &s.issuer) => {
            return Err("issued by another CA than the certificate's issuer");
        }
        None => {}
    }
    // (b)(2) the issuing distribution point.
    if let Some(idp_name) = &idp.name {
        let idp_names = idp_name.resolve(&c.issuer);
        let dp_base = match &dp.crl_issuer {
            Some(n) => n.iter().find_map(|g| match g {
                crl::GeneralName::Directory(d) => Some(d.clone()),
                crl::GeneralName::Other(_) => None,
            }),
            None => Some(s.issuer.clone()),
        };
        let meets = match (&dp.name, &dp.crl_issuer) {
            (Some(n), _) => dp_base.is_some_and(|b| names_meet(&idp_names, &n.resolve(&b))),
            (None, Some(ci)) => names_meet(&idp_names, ci),
            (None, None) => false,
        };
        if !meets {
            return Err(
                "a CRL of another distribution point (its issuingDistributionPoint names none of the certificate's)",
            );
        }
    }
    if idp.only_user && s.is_ca {
        return Err("the CRL covers end-entity certificates only");
    }
    if idp.only_ca && !s.is_ca {
        return Err("the CRL covers CA certificates only");
    }
    if idp.only_attribute {
        return Err("the CRL covers attribute certificates only");
    }
    // (c) the reasons this CRL speaks for through this point.
    let reasons =
        idp.only_some_reasons.unwrap_or(crl::ALL_REASONS) & dp.reasons.unwrap_or(crl::ALL_REASONS);
    if reasons == 0 {
        return Err("the CRL covers none of the distribution point's reasons");
    }
    Ok(reasons)
}

thread_local! {
    static CRL_SIGNATURES: crate::memo::Table<bool> = crate::memo::Table::new(512);
}

/// Whether `signer`'s key verifies the CRL `raw` (remembered per thread).
fn crl_verifies(raw: &Raw, c: &crl::Crl, signer: &X509) -> bool {
    let k = crate::memo::key2(&raw.key(), signer);
    CRL_SIGNATURES.with(|t| {
        t.get_or(k, || {
            let params = c
                .sig_alg_params
                .as_deref()
                .map(crate::der::parse_exact)
                .transpose();
            let Ok(params) = params else { return false };
            let alg = crate::cms::AlgId {
                oid: c.sig_alg_oid.clone(),
                params,
            };
            let (Ok(scheme), Ok(key)) =
                (crate::crypto::scheme_for(&alg, None), signer.public_key())
            else {
                return false;
            };
            crate::crypto::verify_signature(&scheme, &key, c.tbs(raw), &c.signature)
                == crate::crypto::SigCheck::Valid
        })
    })
}

fn allows_crl_sign(c: &X509) -> bool {
    c.to_der()
        .ok()
        .and_then(|d| cert::extensions(&d).ok())
        .and_then(|e| e.into_iter().find(|x| x.oid == cert::oid::KEY_USAGE))
        .and_then(|e| cert::parse_key_usage(&e.value).ok())
        .is_none_or(|k| k.crl_sign)
}

/// RFC 5280 §6.3.3 (f): the certificate whose key signed the CRL — the
/// certificate's issuer, or another certificate of the CRL's issuer name
/// (a separate CRL key, an indirect CRL issuer) whose own path reaches the
/// same trust anchor and which is not revoked.
fn crl_signer(raw: &Raw, c: &crl::Crl, issuer: &X509, ctx: &Context<'_>) -> Result<X509, String> {
    let issuer_name = issuer.subject_name().to_der().unwrap_or_default();
    if same_name(&c.issuer, &issuer_name) && crl_verifies(raw, c, issuer) {
        return if allows_crl_sign(issuer) {
            Ok(issuer.clone())
        } else {
            Err("the issuer's keyUsage does not allow CRL signing".into())
        };
    }
    let candidates: Vec<&X509> = ctx
        .pool
        .iter()
        .filter(|p| {
            p.subject_name()
                .to_der()
                .is_ok_and(|n| same_name(&n, &c.issuer))
        })
        .filter(|p| crl_verifies(raw, c, p))
        .take(4)
        .collect();
    if candidates.is_empty() {
        return Err(
            "CRL signature does not verify with the issuer's key nor with a known CRL issuer's"
                .into(),
        );
    }
    if let Some(c) = candidates.iter().find(|c| {
        ctx.in_check
            .is_some_and(|v| v.to_der().ok() == c.to_der().ok())
    }) {
        return Ok((*c).clone());
    }
    let Some(anchor) = ctx.anchor else {
        return Err("signed by a CRL issuer whose path cannot be checked here".into());
    };
    if ctx.depth >= MAX_CRL_ISSUER_DEPTH {
        return Err("signed by a CRL issuer of a CRL issuer (not followed)".into());
    }
    let mut why = String::from("no path from the CRL issuer to the trust anchor");
    for cand in candidates {
        if !allows_crl_sign(cand) {
            why = "the CRL issuer's keyUsage does not allow CRL signing".into();
            continue;
        }
        let mut trust = crate::pki::TrustStore::new();
        trust.add(anchor.clone());
        let popts = crate::pki::PathOptions {
            at: c.this_update.min(ctx.now),
            key_policy: ctx.key_policy,
            max_depth: Some(MAX_CRL_ISSUER_PATH),
            ..Default::default()
        };
        let Ok(path) = crate::pki::validate_path(cand, ctx.pool, &trust, &popts) else {
            continue;
        };
        if path.failure.is_some() {
            continue;
        }
        let inner = Context {
            depth: ctx.depth.saturating_add(1),
            in_check: Some(cand),
            ..*ctx
        };
        // Not revoked (nor on hold) when it signed the CRL.
        let revoked = path.chain.windows(2).any(|w| match w {
            [x, y] => match status_at(x, y, &inner, c.this_update).0 {
                Status::Good => false,
                Status::Revoked { time, .. } => time <= c.this_update,
                Status::OnHold { .. } | Status::Unknown(_) => true,
            },
            _ => true,
        });
        if revoked {
            why = "the CRL issuer's own certificate is revoked or its status unknown".into();
            continue;
        }
        return Ok(cand.clone());
    }
    Err(why)
}

/// A usable statement from one item.
struct Statement {
    this_update: i64,
    next_update: Option<i64>,
    entry: Option<crl::Revoked>,
    /// The reasons it speaks for (OCSP: all).
    reasons: crl::Reasons,
    /// False when issued after the certificate expired by a source that may
    /// have dropped it (RFC 5280 §3.3): a listing still counts, silence does not.
    silence_counts: bool,
}

fn covers(s: &Statement, t: i64) -> bool {
    s.this_update >= t || (s.this_update <= t && s.next_update.is_some_and(|n| t <= n))
}

fn new_evidence(
    subject: &str,
    src: RevSource,
    kind: &'static str,
    this_update: i64,
    next_update: Option<i64>,
    entry: Option<crl::Revoked>,
) -> Evidence {
    Evidence {
        certificate: subject.to_string(),
        source: src,
        kind,
        produced_at: None,
        this_update: cert::fmt_unix(this_update),
        next_update: next_update.map(cert::fmt_unix),
        status: match entry {
            None => "GOOD",
            Some(e) if e.reason == Some(crl::REASON_CERTIFICATE_HOLD) => "ON_HOLD",
            Some(_) => "REVOKED",
        },
        revocation_time: entry.map(|e| cert::fmt_unix(e.time)),
        problem: None,
        used: false,
    }
}

/// Status of `cert` (issued by `issuer`) at time `t`, from `ctx`'s data.
pub fn status_at(cert: &X509, issuer: &X509, ctx: &Context<'_>, t: i64) -> (Status, Vec<Evidence>) {
    let subject = cert::name_to_string(cert.subject_name());
    let Some(s) = Subject::of(cert) else {
        return (
            Status::Unknown("the certificate's extensions cannot be read".into()),
            Vec::new(),
        );
    };
    let mut evidence = Vec::new();
    let mut statements: Vec<(usize, Statement)> = Vec::new();
    // RFC 5280 §3.3 / RFC 6960 §4.4.4: does the silence of data issued at
    // `issued` speak for the certificate? Not after it expired, unless the
    // source keeps expired certificates (`keeps_since` ≤ notAfter). When it
    // does not and the data is silent, the evidence says why (`rule`).
    let silence_speaks = |issued: i64,
                          keeps_since: Option<i64>,
                          entry: Option<crl::Revoked>,
                          ev: &mut Evidence,
                          rule: &str| {
        let counts = s
            .not_after
            .is_none_or(|na| issued <= na || keeps_since.is_some_and(|k| k <= na));
        if !counts && entry.is_none() {
            ev.problem = Some(format!(
                "issued after the certificate expired, without {rule}"
            ));
        }
        counts
    };
    const KEEPS_CRL: &str =
        "ExpiredCertsOnCRL keeping it: its absence says nothing (RFC 5280 §3.3)";
    for (src, raw) in &ctx.data.ocsps {
        if raw.len() > MAX_OCSP_BYTES {
            continue;
        }
        let Some(resp) = ocsp::parsed(raw) else {
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
            let entry = match sr.status {
                ocsp::CertStatus::Revoked { time, reason } => Some(crl::Revoked { time, reason }),
                _ => None,
            };
            let mut ev = new_evidence(
                &subject,
                *src,
                "OCSP",
                sr.this_update,
                sr.next_update,
                entry,
            );
            ev.produced_at = Some(cert::fmt_unix(b.produced_at));
            if sr.status == ocsp::CertStatus::Unknown {
                ev.status = "UNKNOWN";
            }
            match ocsp::responder(raw, &resp, issuer) {
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
                    } else if after_now(sr.this_update, ctx.now)
                        || after_now(b.produced_at, ctx.now)
                    {
                        ev.problem = Some("issued after the validation time".into());
                    } else if sr.status == ocsp::CertStatus::Unknown {
                        ev.problem = Some("the responder does not know the certificate".into());
                    } else {
                        let silence_counts = silence_speaks(
                            sr.this_update.max(b.produced_at),
                            sr.archive_cutoff,
                            entry,
                            &mut ev,
                            "an archiveCutoff that keeps it: a 'good' then says nothing (RFC 6960 §4.4.4)",
                        );
                        statements.push((
                            evidence.len(),
                            Statement {
                                this_update: sr.this_update,
                                next_update: sr.next_update,
                                entry,
                                reasons: crl::ALL_REASONS,
                                silence_counts,
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
                Err(ocsp::ResponseProblem::NotSuccessful(st)) => {
                    ev.problem = Some(format!("response status {st:?}"))
                }
            }
            evidence.push(ev);
        }
    }
    let crls: Vec<(RevSource, &Raw, std::rc::Rc<crl::Crl>)> = ctx
        .data
        .crls
        .iter()
        .filter(|(_, raw)| raw.len() <= MAX_CRL_BYTES)
        .filter_map(|(src, raw)| crl::parsed(raw).map(|c| (*src, raw, c)))
        .collect();
    for (src, raw, c) in crls.iter().filter(|(_, _, c)| !c.is_delta()) {
        // Which of the certificate's distribution points this CRL serves.
        let mut reasons: crl::Reasons = 0;
        let mut why_not = None;
        for dp in &s.dps {
            match scope(c, dp, &s) {
                Ok(r) => reasons |= r,
                Err(w) => {
                    why_not.get_or_insert(w);
                }
            }
        }
        if reasons == 0 {
            // Another CA's CRL is not evidence about this certificate; the
            // issuer's own CRL of another scope is, as a problem.
            if same_name(&c.issuer, &s.issuer) {
                let mut ev =
                    new_evidence(&subject, *src, "CRL", c.this_update, c.next_update, None);
                ev.status = "UNKNOWN";
                ev.problem = why_not.map(str::to_string);
                evidence.push(ev);
            }
            continue;
        }
        let entry = c.find(raw, &s.issuer, &s.serial, same_name);
        let mut ev = new_evidence(&subject, *src, "CRL", c.this_update, c.next_update, entry);
        let signer = match (&c.problem, after_now(c.this_update, ctx.now)) {
            (Some(p), _) => Err(p.clone()),
            (None, true) => Err("issued after the validation time".to_string()),
            (None, false) => crl_signer(raw, c, issuer, ctx),
        };
        let signer = match signer {
            Ok(x) => x,
            Err(p) => {
                ev.problem = Some(p);
                evidence.push(ev);
                continue;
            }
        };
        let silence_counts = silence_speaks(
            c.this_update,
            c.expired_certs_on_crl,
            entry,
            &mut ev,
            KEEPS_CRL,
        );
        statements.push((
            evidence.len(),
            Statement {
                this_update: c.this_update,
                next_update: c.next_update,
                entry,
                reasons,
                silence_counts,
            },
        ));
        evidence.push(ev);
        // RFC 5280 §5.2.4, §6.3.3 (d)-(i): the newest delta CRL for this
        // complete CRL — same issuer, scope and key, based on it or earlier.
        let Some(number) = &c.number else { continue };
        let delta = crls
            .iter()
            .filter(|(_, _, d)| {
                d.delta_base
                    .as_ref()
                    .is_some_and(|b| crl::cmp_number(b, number).is_le())
                    && d.number
                        .as_ref()
                        .is_some_and(|n| crl::cmp_number(n, number).is_gt())
                    && d.problem.is_none()
                    && d.idp_raw == c.idp_raw
                    && same_name(&d.issuer, &c.issuer)
                    && !after_now(d.this_update, ctx.now)
            })
            .filter(|(_, draw, d)| crl_verifies(draw, d, &signer))
            .max_by_key(|(_, _, d)| d.this_update);
        if let Some((dsrc, draw, d)) = delta {
            let merged = match d.find(draw, &s.issuer, &s.serial, same_name) {
                Some(e) if e.reason == Some(crl::REASON_REMOVE_FROM_CRL) => None,
                Some(e) => Some(e),
                None => entry,
            };
            let mut ev = new_evidence(
                &subject,
                *dsrc,
                "DELTA_CRL",
                d.this_update,
                d.next_update,
                merged,
            );
            let silence_counts = silence_speaks(
                d.this_update,
                d.expired_certs_on_crl.or(c.expired_certs_on_crl),
                merged,
                &mut ev,
                KEEPS_CRL,
            );
            statements.push((
                evidence.len(),
                Statement {
                    this_update: d.this_update,
                    next_update: d.next_update,
                    entry: merged,
                    reasons,
                    silence_counts,
                },
            ));
            evidence.push(ev);
        }
    }
    let status = decide(&statements, &mut evidence, t, ctx.now);
    (status, evidence)
}

/// The status at `t` from the usable statements (their evidence marked `used`).
fn decide(
    statements: &[(usize, Statement)],
    evidence: &mut [Evidence],
    t: i64,
    now: i64,
) -> Status {
    let hold = |s: &Statement| {
        s.entry
            .is_some_and(|e| e.reason == Some(crl::REASON_CERTIFICATE_HOLD))
    };
    let mut mark = |i: usize| {
        if let Some(e) = evidence.get_mut(i) {
            e.used = true;
        }
    };
    // Revocation is final: the earliest trustworthy revocation time wins.
    if let Some((i, e)) = statements
        .iter()
        .filter(|(_, s)| !hold(s))
        .filter_map(|(i, s)| s.entry.map(|e| (*i, e)))
        .filter(|(_, e)| !after_now(e.time, now))
        .min_by_key(|(_, e)| e.time)
    {
        mark(i);
        return Status::Revoked {
            time: e.time,
            reason: e.reason,
        };
    }
    // A hold in force at t, seen at or after t, decides; one seen before t
    // needs later data that no longer lists it.
    let mut hold_seen_before: Option<(i64, i64)> = None;
    for (i, s) in statements.iter().filter(|(_, s)| hold(s)) {
        let Some(e) = s.entry else { continue };
        if e.time > t {
            continue;
        }
        if s.this_update >= t {
            mark(*i);
            return Status::OnHold { since: e.time };
        }
        if hold_seen_before.is_none_or(|(_, seen)| s.this_update > seen) {
            hold_seen_before = Some((e.time, s.this_update));
        }
    }
    let silent_at_t = |s: &Statement| s.entry.is_none_or(|e| hold(s) && e.time > t);
    // After a hold seen before t, only data current at t and issued after
    // the hold was seen shows the release happened by t (data issued after
    // t shows a release by then, which may be later than t).
    let after_hold = |s: &Statement| {
        hold_seen_before.is_none_or(|(_, seen)| {
            s.this_update > seen && s.this_update <= t && s.next_update.is_some_and(|n| t <= n)
        })
    };
    let mut good: Vec<&(usize, Statement)> = statements
        .iter()
        .filter(|(_, s)| silent_at_t(s) && s.silence_counts && covers(s, t) && after_hold(s))
        .collect();
    // Newest first: every reason covered by the newest statements that cover it.
    good.sort_by_key(|(_, s)| std::cmp::Reverse(s.this_update));
    let mut covered: crl::Reasons = 0;
    let mut used = Vec::new();
    for (i, s) in good {
        if s.reasons & !covered != 0 {
            covered |= s.reasons;
            used.push(*i);
        }
    }
    if covered == crl::ALL_REASONS {
        for i in used {
            mark(i);
        }
        return Status::Good;
    }
    if let Some((since, seen)) = hold_seen_before {
        return Status::Unknown(format!(
            "on hold since {} (seen {}); no later data shows it released",
            cert::fmt_unix(since),
            cert::fmt_unix(seen)
        ));
    }
    Status::Unknown(if statements.is_empty() {
        if evidence.is_empty() {
            "no OCSP response or CRL for this certificate".to_string()
        } else {
            "no usable OCSP response or CRL (see evidence)".to_string()
        }
    } else if covered != 0 {
        "the CRLs at hand do not cover every revocation reason".to_string()
    } else {
        format!("no OCSP response or CRL covers {}", cert::fmt_unix(t))
    })
}

/// A CRL given as PEM or DER, as DER (anything else is returned unchanged
/// for [`unreadable`] to judge).
pub fn crl_der(data: Vec<u8>) -> Vec<u8> {
    match openssl::x509::X509Crl::from_pem(&data).and_then(|c| c.to_der()) {
        Ok(der) => der,
        Err(_) => data,
    }
}
