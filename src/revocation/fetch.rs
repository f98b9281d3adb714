//! Getting revocation data from outside the document: a local cache
//! directory, a shared store (the service's, across requests and nodes),
//! then (only when the caller allows network) the OCSP responder named in
//! the certificate's AIA (RFC 6960 Appendix A.1, HTTP POST) and the CRL
//! distribution points (RFC 5280 §4.2.1.13, HTTP GET).
//!
//! HTTP is `ureq` (a maintained, synchronous client: verification runs on
//! blocking threads): one deadline for the whole exchange, name resolution
//! included; a size limit on the body; no redirects; only `http://` URLs
//! (OCSP and CRL data are signed; RFC 5280 §8 and RFC 6960 use plain HTTP).
//! Failures are returned as text for the report, so a responder that is down
//! or too slow gives `TRY_LATER`, never a hang.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::hash::MessageDigest;
use openssl::ocsp::{OcspCertId, OcspRequest};
use openssl::x509::X509;

use super::{Raw, RevSource, RevocationData};

/// OCSP response or CRL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Ocsp,
    Crl,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ocsp => "OCSP",
            Kind::Crl => "CRL",
        }
    }
}

/// What one fetched answer is the answer to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub kind: Kind,
    pub url: String,
    /// OCSP: the certificate asked about (SHA-256 of its DER). A CRL serves
    /// every certificate of its scope: none.
    pub subject: Option<[u8; 32]>,
}

impl CacheKey {
    /// A stable text form (the key in a shared store).
    pub fn id(&self) -> String {
        match &self.subject {
            Some(s) => format!("{}|{}|{}", self.kind.as_str(), self.url, hex::encode(s)),
            None => format!("{}|{}", self.kind.as_str(), self.url),
        }
    }
}

/// A store of fetched answers shared beyond one verification (the
/// service's: memory, then its metadata store, so that every node shares
/// it). It decides freshness and makes sure one key is fetched once at a time.
pub trait Shared: Send + Sync {
    /// The answer kept for `key` while it is fresh, else the one `fetch`
    /// gets (and keeps).
    fn get_or_fetch(
        &self,
        key: &CacheKey,
        fetch: &mut dyn FnMut() -> Result<Vec<u8>, String>,
    ) -> Result<Raw, String>;
}

/// Where revocation data may come from beyond the document and the caller.
#[derive(Clone)]
pub struct FetchConfig {
    /// Fetch from the network (OCSP from AIA, CRL from distribution points).
    pub online: bool,
    /// A directory of earlier fetched responses, read first and written after each fetch.
    pub cache_dir: Option<PathBuf>,
    /// Deadline for one fetch (name resolution, connect, send, receive).
    pub timeout: Duration,
    pub max_ocsp_bytes: usize,
    pub max_crl_bytes: usize,
    /// Most URLs tried per certificate.
    pub max_urls: usize,
    /// A shared store consulted (and filled) instead of fetching every time.
    pub shared: Option<Arc<dyn Shared>>,
    /// Every answer `online` handed out, wherever it came from: the evidence
    /// a verification relied on.
    pub used: Option<UsedLog>,
}

/// The answers handed out during one verification, in order.
pub type UsedLog = Arc<Mutex<Vec<(Kind, Raw)>>>;

impl std::fmt::Debug for FetchConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchConfig")
            .field("online", &self.online)
            .field("cache_dir", &self.cache_dir)
            .field("timeout", &self.timeout)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            online: false,
            cache_dir: None,
            timeout: Duration::from_secs(5),
            max_ocsp_bytes: super::MAX_OCSP_BYTES,
            max_crl_bytes: super::MAX_CRL_BYTES,
            max_urls: 4,
            shared: None,
            used: None,
        }
    }
}

/// What was gathered for one certificate, and what went wrong on the way.
#[derive(Default)]
pub struct Fetched {
    pub data: RevocationData,
    pub problems: Vec<String>,
}

/// Cached data for `cert`, without network.
pub fn from_cache(cert: &X509, cfg: &FetchConfig) -> Fetched {
    let mut out = Fetched::default();
    let Some(dir) = &cfg.cache_dir else {
        return out;
    };
    for (kind, key) in cache_keys(cert, cfg) {
        let path = dir.join(&key);
        let max = if kind == Kind::Ocsp {
            cfg.max_ocsp_bytes
        } else {
            cfg.max_crl_bytes
        };
        match read_limited(&path, max) {
            Ok(Some(d)) => push(&mut out.data, kind, RevSource::Cache, d),
            Ok(None) => {}
            Err(e) => out
                .problems
                .push(format!("cache file {}: {e}", path.display())),
        }
    }
    out
}

/// OCSP responses and CRLs for `cert`: from the shared store while fresh,
/// else from the network; stored in the cache directory when there is one.
pub fn online(cert: &X509, issuer: &X509, cfg: &FetchConfig) -> Fetched {
    let mut out = Fetched::default();
    if !cfg.online {
        return out;
    }
    let request = ocsp_request(cert, issuer);
    let subject = cert.to_der().ok().map(|d| openssl::sha::sha256(&d));
    let mut tried = 0usize;
    let mut targets: Vec<(Kind, String)> = Vec::new();
    targets.extend(ocsp_urls(cert).into_iter().map(|u| (Kind::Ocsp, u)));
    targets.extend(crl_urls(cert).into_iter().map(|u| (Kind::Crl, u)));
    for (kind, url) in targets {
        if tried >= cfg.max_urls {
            break;
        }
        tried = tried.saturating_add(1);
        let (post, max) = match kind {
            Kind::Ocsp => {
                let Some(req) = &request else {
                    out.problems
                        .push("could not build an OCSP request".to_string());
                    continue;
                };
                (
                    Some(("application/ocsp-request", req.as_slice())),
                    cfg.max_ocsp_bytes,
                )
            }
            Kind::Crl => (None, cfg.max_crl_bytes),
        };
        let mut fetch = || http(&url, post, cfg.timeout, max);
        let key = CacheKey {
            kind,
            url: url.clone(),
            subject: if kind == Kind::Ocsp { subject } else { None },
        };
        let got = match &cfg.shared {
            Some(sh) => sh.get_or_fetch(&key, &mut fetch),
            None => fetch().map(Raw::from),
        };
        match got {
            Ok(body) => {
                store(cfg, &cache_key(kind, &url, cert), &body);
                if let Some(used) = &cfg.used {
                    if let Ok(mut u) = used.lock() {
                        u.push((kind, body.clone()));
                    }
                }
                match kind {
                    Kind::Ocsp => out.data.ocsps.push((RevSource::Online, body)),
                    Kind::Crl => out.data.crls.push((RevSource::Online, body)),
                }
                // One answer is enough; CRLs are the fallback for OCSP.
                return out;
            }
            Err(e) => out.problems.push(format!("{} {url}: {e}", kind.as_str())),
        }
    }
    if tried == 0 {
        out.problems
            .push("the certificate names no OCSP responder or CRL distribution point".into());
    }
    out
}

fn push(data: &mut RevocationData, kind: Kind, src: RevSource, body: Vec<u8>) {
    match kind {
        Kind::Ocsp => data.ocsps.push((src, body.into())),
        Kind::Crl => data.crls.push((src, body.into())),
    }
}

fn ocsp_urls(cert: &X509) -> Vec<String> {
    cert.ocsp_responders()
        .map(|s| s.iter().map(|u| u.to_string()).collect())
        .unwrap_or_default()
}

fn crl_urls(cert: &X509) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(dps) = cert.crl_distribution_points() {
        for dp in dps.iter() {
            if let Some(names) = dp.distpoint().and_then(|n| n.fullname()) {
                for n in names.iter() {
                    if let Some(u) = n.uri() {
                        out.push(u.to_string());
                    }
                }
            }
        }
    }
    out
}

fn ocsp_request(cert: &X509, issuer: &X509) -> Option<Vec<u8>> {
    let id = OcspCertId::from_cert(MessageDigest::sha1(), cert, issuer).ok()?;
    let mut req = OcspRequest::new().ok()?;
    req.add_id(id).ok()?;
    req.to_der().ok()
}

/// Cache file name: the kind, then SHA-256 of the URL and the certificate.
fn cache_key(kind: Kind, url: &str, cert: &X509) -> String {
    let mut h = openssl::sha::Sha256::new();
    h.update(url.as_bytes());
    h.update(&[0]);
    h.update(&cert.to_der().unwrap_or_default());
    let hex: String = h.finish().iter().map(|b| format!("{b:02x}")).collect();
    match kind {
        Kind::Ocsp => format!("{hex}.ocsp"),
        Kind::Crl => format!("{hex}.crl"),
    }
}

fn cache_keys(cert: &X509, cfg: &FetchConfig) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    for u in ocsp_urls(cert).into_iter().take(cfg.max_urls) {
        out.push((Kind::Ocsp, cache_key(Kind::Ocsp, &u, cert)));
    }
    for u in crl_urls(cert).into_iter().take(cfg.max_urls) {
        out.push((Kind::Crl, cache_key(Kind::Crl, &u, cert)));
    }
    out
}

fn read_limited(path: &Path, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::new();
    f.take((max as u64).saturating_add(1))
        .read_to_end(&mut buf)?;
    if buf.len() > max {
        return Err(std::io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(Some(buf))
}

/// Write a cache file atomically (temporary file, then rename); errors are ignored:
/// the cache only saves work.
fn store(cfg: &FetchConfig, key: &str, body: &[u8]) {
    let Some(dir) = &cfg.cache_dir else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!(".{key}.{}", std::process::id()));
    if std::fs::write(&tmp, body).is_ok() && std::fs::rename(&tmp, dir.join(key)).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// One HTTP exchange: `post` is (content type, body); without it a GET.
/// The whole exchange within `timeout`, at most `max` bytes of body, no
/// redirects, status 200 only.
pub fn http(
    url: &str,
    post: Option<(&str, &[u8])>,
    timeout: Duration,
    max: usize,
) -> Result<Vec<u8>, String> {
    if !url.starts_with("http://") {
        return Err("only http:// URLs are fetched".into());
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent("kyso")
        .build()
        .into();
    let describe = |e: ureq::Error| match e {
        ureq::Error::Timeout(_) => {
            format!("no complete answer within {} ms", timeout.as_millis())
        }
        ureq::Error::BodyExceedsLimit(_) => format!("answer larger than {max} bytes"),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("cannot connect to {}: {io}", host_of(url))
        }
        other => other.to_string(),
    };
    let resp = match post {
        Some((ct, body)) => agent.post(url).header("Content-Type", ct).send(body),
        None => agent.get(url).call(),
    };
    let mut resp = resp.map_err(describe)?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(format!("HTTP status {status}"));
    }
    let body = resp
        .body_mut()
        .with_config()
        .limit(max as u64)
        .read_to_vec()
        .map_err(describe)?;
    if body.is_empty() {
        return Err("empty answer".into());
    }
    Ok(body)
}

/// `host:port` of an http URL, for messages.
fn host_of(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    rest.split('/').next().unwrap_or(rest)
}
