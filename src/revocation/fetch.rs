//! Getting revocation data from outside the document: a local cache
//! directory, then (only when the caller allows network) the OCSP responder
//! named in the certificate's AIA (RFC 6960 Appendix A.1, HTTP POST) and the
//! CRL distribution points (RFC 5280 §4.2.1.13, HTTP GET).
//!
//! Every fetch has a deadline and a size limit; only `http://` URLs are
//! followed (OCSP and CRL data are signed; RFC 5280 §8 and RFC 6960 use plain
//! HTTP), no redirects. Failures are returned as text for the report, so a
//! responder that is down or too slow gives `TRY_LATER`, never a hang.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use openssl::hash::MessageDigest;
use openssl::ocsp::{OcspCertId, OcspRequest};
use openssl::x509::X509;

use super::{RevSource, RevocationData};

/// Where revocation data may come from beyond the document and the caller.
#[derive(Clone, Debug)]
pub struct FetchConfig {
    /// Fetch from the network (OCSP from AIA, CRL from distribution points).
    pub online: bool,
    /// A directory of earlier fetched responses, read first and written after each fetch.
    pub cache_dir: Option<PathBuf>,
    /// Deadline for one fetch (connect, send, receive).
    pub timeout: Duration,
    pub max_ocsp_bytes: usize,
    pub max_crl_bytes: usize,
    /// Most URLs tried per certificate.
    pub max_urls: usize,
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

/// Fetch OCSP responses and CRLs for `cert` from the network; stores them in
/// the cache directory when there is one.
pub fn online(cert: &X509, issuer: &X509, cfg: &FetchConfig) -> Fetched {
    let mut out = Fetched::default();
    if !cfg.online {
        return out;
    }
    let request = ocsp_request(cert, issuer);
    let mut tried = 0;
    for url in ocsp_urls(cert) {
        if tried >= cfg.max_urls {
            break;
        }
        tried += 1;
        let Some(req) = &request else {
            out.problems
                .push("could not build an OCSP request".to_string());
            break;
        };
        match http(
            &url,
            Some(("application/ocsp-request", req)),
            cfg.timeout,
            cfg.max_ocsp_bytes,
        ) {
            Ok(body) => {
                store(cfg, &cache_key(Kind::Ocsp, &url, cert), &body);
                push(&mut out.data, Kind::Ocsp, RevSource::Online, body);
                // One good answer is enough; CRLs are the fallback.
                return out;
            }
            Err(e) => out.problems.push(format!("OCSP {url}: {e}")),
        }
    }
    for url in crl_urls(cert) {
        if tried >= cfg.max_urls {
            break;
        }
        tried += 1;
        match http(&url, None, cfg.timeout, cfg.max_crl_bytes) {
            Ok(body) => {
                store(cfg, &cache_key(Kind::Crl, &url, cert), &body);
                push(&mut out.data, Kind::Crl, RevSource::Online, body);
                return out;
            }
            Err(e) => out.problems.push(format!("CRL {url}: {e}")),
        }
    }
    if tried == 0 {
        out.problems
            .push("the certificate names no OCSP responder or CRL distribution point".into());
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ocsp,
    Crl,
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
    f.take(max as u64 + 1).read_to_end(&mut buf)?;
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

/// A plain HTTP/1.0 exchange with a deadline and a size limit. `post` is
/// (content type, body); without it the request is a GET.
pub fn http(
    url: &str,
    post: Option<(&str, &[u8])>,
    timeout: Duration,
    max: usize,
) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + timeout;
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "only http:// URLs are fetched".to_string())?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if hostport.is_empty() || hostport.contains('@') {
        return Err("bad URL".into());
    }
    let addr_str = if hostport.starts_with('[')
        || hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addrs: Vec<_> = addr_str
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {hostport}: {e}"))?
        .take(4)
        .collect();
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut stream = None;
    let mut last = String::from("no address");
    for a in addrs {
        let l = left();
        if l.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&a, l) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    let mut s = stream.ok_or(last)?;
    let mut req = match post {
        Some((ct, body)) => format!(
            "POST {path} HTTP/1.0\r\nHost: {hostport}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes(),
        None => format!("GET {path} HTTP/1.0\r\nHost: {hostport}\r\nAccept: */*\r\nConnection: close\r\n\r\n")
            .into_bytes(),
    };
    if let Some((_, body)) = post {
        req.extend_from_slice(body);
    }
    let timed_out = || format!("no complete answer within {} ms", timeout.as_millis());
    s.set_write_timeout(Some(left().max(Duration::from_millis(1))))
        .map_err(|e| e.to_string())?;
    s.write_all(&req)
        .map_err(|e| format!("sending the request: {e}"))?;
    let head_max = 16 << 10;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16 << 10];
    loop {
        let l = left();
        if l.is_zero() {
            return Err(timed_out());
        }
        s.set_read_timeout(Some(l)).map_err(|e| e.to_string())?;
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > max + head_max {
                    return Err(format!("answer larger than {max} bytes"));
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(timed_out());
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("receiving: {e}")),
        }
    }
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .filter(|p| *p < head_max)
        .ok_or("malformed HTTP answer")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("malformed HTTP status line: {status}"))?;
    if code != 200 {
        return Err(format!("HTTP status {code}"));
    }
    let mut body = buf[end + 4..].to_vec();
    let mut chunked = false;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                let n: usize = v.parse().map_err(|_| "bad Content-Length")?;
                if n > max {
                    return Err(format!("answer larger than {max} bytes"));
                }
                if body.len() < n {
                    return Err("answer shorter than its Content-Length".into());
                }
                body.truncate(n);
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    if chunked {
        body = dechunk(&body).ok_or("malformed chunked answer")?;
    }
    if body.len() > max {
        return Err(format!("answer larger than {max} bytes"));
    }
    if body.is_empty() {
        return Err("empty answer".into());
    }
    Ok(body)
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&b[..eol]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}
