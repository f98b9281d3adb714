//! Service configuration: a TOML file, then `KYSO_*` environment variables,
//! then command-line flags (each later source wins). With nothing given, the
//! embedded default: data in `./kyso-data`, listening on 127.0.0.1:8080.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::policy::Policy;
use crate::archive::blobs::S3Config;
use crate::archive::postgres::PgConfig;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: String,
    /// Embedded storage (SQLite + files) lives here.
    pub data_dir: PathBuf,
    /// The bundled certificates (`vn/roots`, `vn/FINGERPRINTS.tsv`, `vn/intermediates`).
    pub certs_dir: PathBuf,
    pub storage: Storage,
    pub limits: ServerLimits,
    /// Named groups of trust anchors; `neac` and `vgca` are built in
    /// (the bundled NEAC national roots and Government CA roots).
    pub trust: BTreeMap<String, TrustGroup>,
    pub revocation: RevocationConfig,
    pub policy: PolicyConfig,
    /// API keys given by the operator (only hashes). Without any, and with
    /// none stored, the first start creates one key per role.
    pub keys: Vec<KeyConfig>,
    /// How long a rotated API key keeps working beside its successor
    /// (`kyso keys rotate`, `POST /v1/keys/{id}/rotate`), seconds.
    pub key_rotation_overlap_secs: u64,
    /// A fixed clock (RFC 3339) for reproducible demonstrations and tests;
    /// absent in production (the system clock is used).
    pub fixed_time: Option<String>,
    /// Log as JSON lines (else human-readable).
    pub log_json: bool,
    /// Signing profiles of the officials (`POST /v1/sign`).
    pub signing: SigningConfig,
    /// The public verification page at `/`.
    pub public_page: PublicPageConfig,
    /// The verification certificates (Phiếu kết quả) the service issues.
    pub certificate: CertificateConfig,
    /// Evidence records over the archive (RFC 4998 anchoring rounds).
    pub anchoring: AnchoringConfig,
}

/// Anchoring rounds: a hash tree over what was archived since the last
/// round and the audit head, its root stamped by a TSA
/// ([`crate::archive::anchor`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnchoringConfig {
    /// The TSA that stamps each round (RFC 3161 over HTTP); without one,
    /// no rounds.
    pub tsa_url: Option<String>,
    /// Hash algorithm of new rounds: `sha256`, `sha384` or `sha512`.
    pub hash: String,
    /// A round every this many minutes when something new was archived
    /// (0: only `kyso archive anchor`).
    pub every_minutes: u64,
    /// Also a round as soon as this many rows (reports and dossier
    /// versions) were written since the last one (0: no item trigger).
    pub every_items: u64,
    /// A round's timestamp is renewed (a new timestamp over it) when its
    /// TSA certificate or chain expires within this many days.
    pub renew_margin_days: u64,
    /// Trust anchors of the TSAs (PEM/DER files or directories), for
    /// `kyso archive check`.
    pub trust: Vec<PathBuf>,
    /// Intermediate certificates of the TSAs (PEM files) when their tokens
    /// carry only the TSA's own certificate.
    pub intermediates: Vec<PathBuf>,
    /// Deadline of one TSA exchange, milliseconds.
    pub timeout_ms: u64,
}

impl Default for AnchoringConfig {
    fn default() -> Self {
        AnchoringConfig {
            tsa_url: None,
            hash: "sha256".into(),
            every_minutes: 0,
            every_items: 0,
            renew_margin_days: 90,
            trust: Vec::new(),
            intermediates: Vec::new(),
            timeout_ms: 10_000,
        }
    }
}

impl AnchoringConfig {
    /// The hash algorithm of new rounds.
    pub fn algorithm(&self) -> anyhow::Result<crate::crypto::DigestAlg> {
        crate::ers::sha2(&self.hash).ok_or_else(|| {
            anyhow::anyhow!(
                "anchoring.hash: sha256, sha384 or sha512, not {}",
                self.hash
            )
        })
    }

    /// The stamper asking the configured TSA, if one is.
    pub fn stamper(&self) -> Option<crate::archive::anchor::SharedStamper> {
        let url = self.tsa_url.clone()?;
        let timeout = std::time::Duration::from_millis(self.timeout_ms);
        Some(std::sync::Arc::new(crate::ers::tsa_stamper(url, timeout)))
    }
}

/// The verification certificates (Phiếu kết quả kiểm tra chữ ký số):
/// `GET /v1/documents/{sha256}/certificate` and the page's option.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CertificateConfig {
    /// The signing profile (under `[signing.profiles]`, with a local key)
    /// whose key signs the certificates, at its level (B-T with its TSA).
    /// Without one, no certificate is issued.
    pub profile: Option<String>,
    /// Who issues them, printed on each (the agency running kyso).
    pub issuer: String,
}

impl Default for CertificateConfig {
    fn default() -> Self {
        CertificateConfig {
            profile: None,
            issuer: "kyso".into(),
        }
    }
}

/// The public verification page (`/`): anyone may drop files and read the
/// verdict; nothing is stored.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublicPageConfig {
    /// Serve the page (else `/` is 404 and only the API answers).
    pub enabled: bool,
    /// Largest upload (all files together, bytes); larger gets 413.
    pub max_bytes: usize,
    /// Files in one upload.
    pub max_files: usize,
    /// Uploads one client address may verify in one minute; more get 429.
    pub per_minute: u32,
    /// Signed revisions offered for download inside the answer, in total
    /// (bytes): past this, the page says so instead of embedding them.
    pub max_revision_bytes: usize,
}

impl Default for PublicPageConfig {
    fn default() -> Self {
        PublicPageConfig {
            enabled: true,
            max_bytes: 32 << 20,
            max_files: 10,
            per_minute: 30,
            max_revision_bytes: 24 << 20,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    pub profiles: BTreeMap<String, SigningProfile>,
    /// Lifetime of a deferred-signing session (prepare → complete), seconds.
    pub session_ttl_secs: u64,
    /// Open deferred-signing sessions kept at most.
    pub max_sessions: usize,
    /// Open sessions one API key may hold.
    pub max_sessions_per_key: usize,
    /// Largest PDF accepted by `/v1/sign/prepare` (bytes).
    pub max_prepare_bytes: usize,
    /// Total size of the documents open sessions hold (bytes).
    pub max_session_bytes: usize,
}

impl Default for SigningConfig {
    fn default() -> Self {
        SigningConfig {
            profiles: BTreeMap::new(),
            session_ttl_secs: 300,
            max_sessions: 256,
            max_sessions_per_key: 4,
            max_prepare_bytes: 32 << 20,
            max_session_bytes: 256 << 20,
        }
    }
}

/// One signing profile: a key, the level, and who may use it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningProfile {
    pub key: SigningKey,
    /// Issuing chain to embed (PEM files).
    #[serde(default)]
    pub chain: Vec<PathBuf>,
    /// `B-B`, `B-T`, `B-LT` or `B-LTA`.
    #[serde(default = "default_level")]
    pub level: String,
    #[serde(default = "default_digest")]
    pub digest: String,
    /// RFC 3161 TSA for B-T and above.
    pub tsa_url: Option<String>,
    /// API key ids allowed to use the profile (empty: every official).
    #[serde(default)]
    pub officials: Vec<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// Certify (DocMDP P = 1, 2 or 3): for results that must not be edited.
    #[serde(default)]
    pub certify: Option<u8>,
    /// A visible seal (else the signature is invisible).
    #[serde(default)]
    pub seal: Option<SealConfig>,
}

/// Where and how the profile's visible seal is drawn.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealConfig {
    /// Page (1-based) and rectangle x, y, width, height in points (a request may override them).
    #[serde(default = "one")]
    pub page: usize,
    pub rect: [f64; 4],
    /// The agency's seal image (PNG).
    pub image: Option<PathBuf>,
    /// Agency line (else the certificate's organisation).
    pub agency: Option<String>,
    /// TrueType font with Vietnamese glyphs.
    #[serde(default = "default_font")]
    pub font: PathBuf,
}

fn one() -> usize {
    1
}
fn default_font() -> PathBuf {
    PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
}

fn default_level() -> String {
    "B-B".into()
}
fn default_digest() -> String {
    "sha256".into()
}

/// Where a profile's key is.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
pub enum SigningKey {
    /// PEM key and certificate files (development).
    Pem {
        key: PathBuf,
        cert: PathBuf,
        #[serde(default)]
        pss: bool,
    },
    /// A PKCS#12 file (development).
    Pkcs12 {
        path: PathBuf,
        password: String,
        #[serde(default)]
        pss: bool,
    },
    /// An HSM or token through its PKCS#11 module.
    Pkcs11(crate::sign::pkcs11::Pkcs11Config),
    /// The key is elsewhere (USB token, cloud signing): only deferred
    /// signing (`/v1/sign/prepare` + `/complete`) with this certificate.
    Remote {
        cert: PathBuf,
        #[serde(default)]
        pss: bool,
    },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
pub enum Storage {
    /// SQLite + content-addressed files under `data_dir`.
    Embedded,
    /// PostgreSQL for rows and the audit log, S3 for blobs.
    PostgresS3 { postgres: PgConfig, s3: S3Config },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerLimits {
    /// Largest request body (bytes); larger ones get 413.
    pub max_body_bytes: usize,
    /// Deadline for a whole request, body included (seconds); then 408.
    pub request_timeout_secs: u64,
    /// Requests handled at once; more get 503 with Retry-After.
    pub max_concurrent: usize,
    /// Files in one dossier.
    pub max_files: usize,
    /// Deadline for a request's headers (seconds); then the connection is closed.
    pub header_timeout_secs: u64,
    /// Requests without a valid key from one client address in one minute;
    /// more get 429 (and only the first of a minute is an audit row).
    pub max_unauthenticated_per_minute: u32,
    /// Requests one API key may make in one minute, on all nodes together
    /// when they share PostgreSQL (0: no limit); more get 429.
    pub per_key_per_minute: u32,
    /// A connection without activity (bytes in or out, a request in hand)
    /// for this long is closed: before its first byte, during an HTTP/2
    /// preface, between keep-alive requests (seconds).
    pub idle_timeout_secs: u64,
    /// Connections one client address may hold at once; more are closed at accept.
    pub max_connections_per_client: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_body_bytes: 64 << 20,
            request_timeout_secs: 60,
            max_concurrent: 256,
            max_files: 50,
            header_timeout_secs: 10,
            max_unauthenticated_per_minute: 120,
            per_key_per_minute: 0,
            idle_timeout_secs: 30,
            max_connections_per_client: 128,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustGroup {
    /// PEM/DER files or directories of anchors.
    pub anchors: Vec<PathBuf>,
    /// Optional: keep only anchors with these SHA-256 fingerprints.
    #[serde(default)]
    pub pins: Vec<String>,
    /// Extra intermediates offered to path building.
    #[serde(default)]
    pub intermediates: Vec<PathBuf>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RevocationConfig {
    /// CRL files (DER or PEM) the operator supplies (downloaded from the CAs).
    pub crls: Vec<PathBuf>,
    /// OCSP responses (DER) the operator supplies.
    pub ocsp: Vec<PathBuf>,
    /// CRLs the service fetches itself (http:// URLs), at start and again
    /// before each one's nextUpdate; used like the files of `crls`.
    pub crl_urls: Vec<String>,
    /// Fetch missing OCSP/CRL from the certificates' URLs at intake; what is
    /// fetched is kept as evidence with the document.
    pub online: bool,
    pub fetch_timeout_ms: u64,
    /// How often the background refresher looks at the configured and
    /// recently used CRLs (seconds; 0: never).
    pub refresh_check_secs: u64,
    /// A CRL is fetched again this long before its nextUpdate (seconds).
    pub refresh_margin_secs: u64,
    /// Longest a fetched answer is kept fresh, whatever its nextUpdate (seconds).
    pub cache_max_age_secs: u64,
    /// Without usable revocation data a signature is INDETERMINATE/TRY_LATER.
    pub required: bool,
}

impl Default for RevocationConfig {
    fn default() -> Self {
        RevocationConfig {
            crls: Vec::new(),
            ocsp: Vec::new(),
            crl_urls: Vec::new(),
            online: false,
            fetch_timeout_ms: 5000,
            refresh_check_secs: 60,
            refresh_margin_secs: 3600,
            cache_max_age_secs: 7 * 24 * 3600,
            required: true,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// For procedures without their own entry.
    pub default: Option<Policy>,
    /// By procedure code (mã thủ tục).
    pub procedures: BTreeMap<String, Policy>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub id: String,
    pub role: String,
    /// SHA-256 (hex) of the key.
    pub sha256: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("kyso-data"),
            certs_dir: default_certs_dir(),
            storage: Storage::Embedded,
            limits: ServerLimits::default(),
            trust: BTreeMap::new(),
            revocation: RevocationConfig::default(),
            policy: PolicyConfig::default(),
            keys: Vec::new(),
            key_rotation_overlap_secs: 86_400,
            fixed_time: None,
            log_json: false,
            signing: SigningConfig::default(),
            public_page: PublicPageConfig::default(),
            certificate: CertificateConfig::default(),
            anchoring: AnchoringConfig::default(),
        }
    }
}

/// `./certs` when it exists (running from a checkout), else the one the binary was built from.
pub fn default_certs_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KYSO_CERTS_DIR") {
        return PathBuf::from(d);
    }
    let here = PathBuf::from("certs");
    if here.join("vn/FINGERPRINTS.tsv").exists() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs")
}

impl Config {
    /// Read a TOML file (when given), then apply `KYSO_*` variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut cfg = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("config {}: {e}", p.display()))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        Ok(cfg)
    }

    /// `KYSO_LISTEN`, `KYSO_DATA_DIR`, `KYSO_CERTS_DIR`, `KYSO_MAX_BODY_BYTES`,
    /// `KYSO_REQUEST_TIMEOUT_SECS`, `KYSO_MAX_CONCURRENT`, `KYSO_FIXED_TIME`, `KYSO_LOG_JSON`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn num<T: std::str::FromStr>(k: &str, v: String) -> anyhow::Result<T> {
            v.parse()
                .map_err(|_| anyhow::anyhow!("{k}={v}: not a number"))
        }
        if let Some(v) = get("KYSO_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("KYSO_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("KYSO_CERTS_DIR") {
            self.certs_dir = v.into();
        }
        if let Some(v) = get("KYSO_MAX_BODY_BYTES") {
            self.limits.max_body_bytes = num("KYSO_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = get("KYSO_REQUEST_TIMEOUT_SECS") {
            self.limits.request_timeout_secs = num("KYSO_REQUEST_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("KYSO_MAX_CONCURRENT") {
            self.limits.max_concurrent = num("KYSO_MAX_CONCURRENT", v)?;
        }
        if let Some(v) = get("KYSO_FIXED_TIME") {
            self.fixed_time = Some(v);
        }
        if let Some(v) = get("KYSO_LOG_JSON") {
            self.log_json = matches!(v.as_str(), "1" | "true" | "yes");
        }
        Ok(())
    }
}
