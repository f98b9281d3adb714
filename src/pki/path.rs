//! Certification path building and validation at a caller-given time
//! (RFC 5280 §6.1), carried out by OpenSSL's verifier with kyso's settings,
//! followed by kyso's own policy processing and profile rules. Revocation
//! (§6.3) is not OpenSSL's: it is [`crate::revocation::status_at`], run on
//! the path this returns.

use std::path::Path;

use openssl::hash::MessageDigest;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509, X509PurposeId, X509StoreContext};

use crate::error::{Error, Result};

/// Trust anchors, always an explicit input.
#[derive(Clone, Default)]
pub struct TrustStore {
    pub anchors: Vec<X509>,
}

impl TrustStore {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, cert: X509) {
        let fp = cert
            .digest(MessageDigest::sha256())
            .ok()
            .map(|d| d.to_vec());
        if self
            .anchors
            .iter()
            .any(|a| a.digest(MessageDigest::sha256()).ok().map(|d| d.to_vec()) == fp)
        {
            return;
        }
        self.anchors.push(cert);
    }
    /// Load every certificate of a PEM or DER file, or of each file in a directory.
    pub fn load_path(&mut self, path: &Path) -> Result<usize> {
        let before = self.anchors.len();
        for c in load_certificates(path)? {
            self.add(c);
        }
        Ok(self.anchors.len().saturating_sub(before))
    }
    /// Keep only anchors whose SHA-256 fingerprint is in `pins` (hex).
    pub fn pinned(&self, pins: &[String]) -> TrustStore {
        let want: Vec<String> = pins
            .iter()
            .map(|p| p.to_ascii_lowercase().replace(':', ""))
            .collect();
        TrustStore {
            anchors: self
                .anchors
                .iter()
                .filter(|a| {
                    a.digest(MessageDigest::sha256())
                        .map(|d| want.contains(&hex::encode(d)))
                        .unwrap_or(false)
                })
                .cloned()
                .collect(),
        }
    }
}

/// Certificates from a PEM or DER file, or from every file in a directory.
pub fn load_certificates(path: &Path) -> Result<Vec<X509>> {
    let mut out = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_file() {
                let ext = p
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if matches!(ext.as_str(), "pem" | "crt" | "cer" | "der") {
                    out.extend(load_certificates(&p)?);
                }
            }
        }
        return Ok(out);
    }
    let data = std::fs::read(path)?;
    parse_certificates(&data)
        .map_err(|_| Error::Invalid(format!("{}: no certificate could be read", path.display())))
}

/// Parse PEM (one or more) or a single DER certificate.
pub fn parse_certificates(data: &[u8]) -> Result<Vec<X509>> {
    if data.windows(11).any(|w| w == b"-----BEGIN ") {
        let certs = X509::stack_from_pem(data)?;
        if certs.is_empty() {
            return Err(Error::Invalid("no certificate in PEM".into()));
        }
        return Ok(certs);
    }
    Ok(vec![X509::from_der(data)?])
}

/// Options for one path validation.
#[derive(Default)]
pub struct PathOptions {
    /// Unix seconds.
    pub at: i64,
    pub initial_policies: Vec<String>,
    pub explicit_policy: bool,
    pub inhibit_policy_mapping: bool,
    pub inhibit_any_policy: bool,
    pub host: Option<String>,
    pub ip: Option<std::net::IpAddr>,
    pub purpose: Option<X509PurposeId>,
    pub max_depth: Option<i32>,
    /// Accept a non-self-signed anchor as the end of a path.
    pub partial_chain: bool,
    /// Key algorithms and sizes accepted for every certificate of the path.
    pub key_policy: Option<super::profile::KeyPolicy>,
    /// Skip the RFC 5280 profile rules OpenSSL does not enforce (pki::profile).
    pub skip_profile_checks: bool,
    /// Also apply the CA/Browser Forum rules for TLS server certificates.
    pub web_pki_server: bool,
}

/// Why a path could not be validated.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PathFailure {
    /// No path to any trust anchor.
    NoPath,
    /// A certificate in the path has expired at the time.
    Expired { depth: u32 },
    /// A certificate in the path is not yet valid at the time.
    NotYetValid { depth: u32 },
    /// A signature in the path does not verify.
    BadSignature { depth: u32 },
    /// Basic constraints, path length, name constraints, policies, critical extensions...
    Constraints { depth: u32 },
    /// A key algorithm or size the key policy refuses.
    KeyPolicy { depth: u32 },
    /// Anything else.
    Other { depth: u32 },
}

#[derive(Clone, Debug)]
pub struct PathOutcome {
    /// The chain from the end entity to the anchor, when one was built.
    pub chain: Vec<X509>,
    pub failure: Option<PathFailure>,
    /// OpenSSL's error code and text, for evidence.
    pub code: i32,
    pub message: String,
}

/// Build and validate a path from `leaf` through `untrusted` to an anchor, at
/// `opts.at` (validity inclusive at both ends, RFC 5280 §4.1.2.5), then apply
/// the profile rules and key policy of [`super::profile`].
pub fn validate_path(
    leaf: &X509,
    untrusted: &[X509],
    anchors: &TrustStore,
    opts: &PathOptions,
) -> Result<PathOutcome> {
    let mut out = openssl_verify(leaf, untrusted, anchors, opts, opts.at)?;
    // OpenSSL treats notAfter as exclusive; RFC 5280 makes it inclusive.
    if let Some(PathFailure::Expired { depth }) = out.failure {
        let exact = out
            .chain
            .get(depth as usize)
            .and_then(|c| super::cert::asn1_to_unix(c.not_after()))
            .is_some_and(|na| na == opts.at);
        if exact {
            out = openssl_verify(leaf, untrusted, anchors, opts, opts.at.saturating_sub(1))?;
        }
    }
    // Policy processing (RFC 5280 §6.1) always runs.
    if out.failure.is_none() {
        if let Err(rule) = check_policies(&out.chain, opts) {
            out.failure = Some(PathFailure::Constraints { depth: 0 });
            out.message = rule.to_string();
            out.code = -1;
        }
    }
    if out.failure.is_none() && !opts.skip_profile_checks {
        let ders: Vec<Vec<u8>> = out
            .chain
            .iter()
            .map(|c| c.to_der())
            .collect::<Result<_, _>>()?;
        let keys: Vec<(String, u32)> = out
            .chain
            .iter()
            .map(|c| {
                c.public_key()
                    .map(|k| crate::crypto::key_description(&k))
                    .unwrap_or_else(|_| ("unreadable".into(), 0))
            })
            .collect();
        if let Some(v) =
            super::profile::check_path(&ders, opts.key_policy.as_ref(), &keys, opts.web_pki_server)
        {
            out.failure = Some(if v.rule.starts_with("key policy") {
                PathFailure::KeyPolicy { depth: v.depth }
            } else {
                PathFailure::Constraints { depth: v.depth }
            });
            out.message = v.rule.to_string();
            out.code = -1;
        }
    }
    Ok(out)
}

/// RFC 5280 policy processing on the built chain (anchor excluded).
fn check_policies(chain: &[X509], opts: &PathOptions) -> std::result::Result<(), &'static str> {
    use super::policy::{CertPolicies, PolicyInputs, process};
    let n = chain.len().saturating_sub(1);
    let mut path = Vec::with_capacity(n);
    for c in chain.get(..n).unwrap_or(&[]).iter().rev() {
        let der = c.to_der().map_err(|_| "certificate not encodable")?;
        let exts = super::cert::extensions(&der).map_err(|_| "malformed extensions")?;
        let self_issued = match (c.issuer_name().to_der(), c.subject_name().to_der()) {
            (Ok(i), Ok(s)) => i == s,
            _ => false,
        };
        path.push(CertPolicies::from_extensions(&exts, self_issued)?);
    }
    let inputs = PolicyInputs {
        user_initial_policy_set: opts.initial_policies.clone(),
        initial_policy_mapping_inhibit: opts.inhibit_policy_mapping,
        initial_explicit_policy: opts.explicit_policy,
        initial_any_policy_inhibit: opts.inhibit_any_policy,
    };
    process(&path, &inputs)
}

fn openssl_verify(
    leaf: &X509,
    untrusted: &[X509],
    anchors: &TrustStore,
    opts: &PathOptions,
    at: i64,
) -> Result<PathOutcome> {
    let mut b = X509StoreBuilder::new()?;
    for a in &anchors.anchors {
        b.add_cert(a.clone())?;
    }
    let mut param = X509VerifyParam::new()?;
    param.set_time(at as libc::time_t);
    let mut flags = X509VerifyFlags::X509_STRICT
        | X509VerifyFlags::USE_CHECK_TIME
        | X509VerifyFlags::TRUSTED_FIRST;
    if opts.partial_chain {
        flags |= X509VerifyFlags::PARTIAL_CHAIN;
    }
    param.set_flags(flags)?;
    if let Some(h) = &opts.host {
        // Host names come from subjectAltName only (RFC 6125 §6.4.4 fallback disabled).
        param.set_hostflags(openssl::x509::verify::X509CheckFlags::NEVER_CHECK_SUBJECT);
        param.set_host(h)?;
    }
    if let Some(ip) = opts.ip {
        param.set_ip(ip)?;
    }
    if let Some(d) = opts.max_depth {
        param.set_depth(d);
    }
    if let Some(p) = opts.purpose {
        param.set_purpose(p)?;
    }
    b.set_param(&param)?;
    let store = b.build();
    let mut chain = Stack::new()?;
    for c in untrusted {
        chain.push(c.clone())?;
    }
    let mut ctx = X509StoreContext::new()?;
    let outcome = ctx.init(&store, leaf, &chain, |c| {
        let ok = c.verify_cert()?;
        let built: Vec<X509> = c
            .chain()
            .map(|s| s.iter().map(|x| x.to_owned()).collect())
            .unwrap_or_default();
        let err = c.error();
        let depth = c.error_depth();
        Ok((
            ok,
            built,
            err.as_raw(),
            err.error_string().to_string(),
            depth,
        ))
    })?;
    let (ok, built, code, message, depth) = outcome;
    let failure = if ok {
        None
    } else {
        Some(classify(code, depth))
    };
    Ok(PathOutcome {
        chain: built,
        failure,
        code,
        message,
    })
}

fn classify(code: i32, depth: u32) -> PathFailure {
    use openssl_sys as f;
    match code {
        f::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
        | f::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | f::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        | f::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
        | f::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
        | f::X509_V_ERR_CERT_UNTRUSTED => PathFailure::NoPath,
        f::X509_V_ERR_CERT_HAS_EXPIRED => PathFailure::Expired { depth },
        f::X509_V_ERR_CERT_NOT_YET_VALID => PathFailure::NotYetValid { depth },
        f::X509_V_ERR_CERT_SIGNATURE_FAILURE
        | f::X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE
        | f::X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY => PathFailure::BadSignature { depth },
        f::X509_V_ERR_INVALID_CA
        | f::X509_V_ERR_PATH_LENGTH_EXCEEDED
        | f::X509_V_ERR_INVALID_PURPOSE
        | f::X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION
        | f::X509_V_ERR_INVALID_EXTENSION
        | f::X509_V_ERR_INVALID_POLICY_EXTENSION
        | f::X509_V_ERR_NO_EXPLICIT_POLICY
        | f::X509_V_ERR_PERMITTED_VIOLATION
        | f::X509_V_ERR_EXCLUDED_VIOLATION
        | f::X509_V_ERR_SUBTREE_MINMAX
        | f::X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE
        | f::X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX
        | f::X509_V_ERR_UNSUPPORTED_NAME_SYNTAX
        | f::X509_V_ERR_KEYUSAGE_NO_CERTSIGN
        | f::X509_V_ERR_HOSTNAME_MISMATCH
        | f::X509_V_ERR_IP_ADDRESS_MISMATCH => PathFailure::Constraints { depth },
        _ => PathFailure::Other { depth },
    }
}

/// The bundled Vietnamese roots under `dir` (`certs/`): every root in
/// `vn/roots` whose SHA-256 is listed in `vn/FINGERPRINTS.tsv` and, when
/// `file_prefix` is given, whose listed file name starts with it (`root-neac`
/// for the national PKI of NEAC, `root-vgca` for the Government CA); and the
/// bundled licensed-CA intermediates of `vn/intermediates`.
pub fn load_bundled(dir: &Path, file_prefix: Option<&str>) -> Result<(TrustStore, Vec<X509>)> {
    let pins_file = dir.join("vn/FINGERPRINTS.tsv");
    let pins: Vec<String> = std::fs::read_to_string(&pins_file)?
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("sha256\t"))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let fp = cols.next()?;
            let file = cols.next().unwrap_or("");
            (fp.len() == 64 && file_prefix.is_none_or(|p| file.starts_with(p)))
                .then(|| fp.to_string())
        })
        .collect();
    let mut all = TrustStore::new();
    all.load_path(&dir.join("vn/roots"))?;
    let pinned = all.pinned(&pins);
    let inter = load_certificates(&dir.join("vn/intermediates"))?;
    Ok((pinned, inter))
}
