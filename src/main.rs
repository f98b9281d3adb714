//! `kyso` command line. Exit codes: 0 every signature TOTAL_PASSED,
//! 1 some signature is not (or there is none), 2 usage or I/O error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use kyso::pki::TrustStore;
use kyso::report::{Lang, render_text};
use kyso::validate::{VerifyOptions, verify_path};

#[derive(Parser)]
#[command(
    name = "kyso",
    version,
    about = "Ký số: verify signed documents (PDF/PAdES, CMS .p7s/.p7m, signed XML/XAdES), sign PDFs (PAdES B-B…B-LTA), and run the verification service with its archive"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Vi,
    En,
    Both,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Cmd {
    /// Run the HTTP service: the JSON API (verify, dossiers, archive, audit,
    /// signing) and the public verification page at / (embedded storage in
    /// ./kyso-data unless configured).
    Serve {
        /// TOML configuration file (see docs/config.example.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on (overrides the file and KYSO_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// Data directory of the embedded storage (overrides the file and KYSO_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Sign a PDF by incremental update: PAdES B-B, B-T, B-LT or B-LTA
    /// (--level), invisible or with a visible seal (--rect), optionally a
    /// certification signature (--certify); key from PKCS#12, PEM or a
    /// PKCS#11 token/HSM.
    Sign {
        /// The PDF to sign.
        input: PathBuf,
        /// Where the signed PDF is written.
        output: PathBuf,
        /// PKCS#12 file with the key, its certificate and chain.
        #[arg(long, conflicts_with_all = ["key", "cert"])]
        p12: Option<PathBuf>,
        /// Password of the PKCS#12 file (else $KYSO_P12_PASSWORD).
        #[arg(long)]
        password: Option<String>,
        /// PEM private key (with --cert).
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// PEM certificate of the key.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// PKCS#11 module (HSM or token), e.g. /usr/lib/softhsm/libsofthsm2.so.
        #[arg(long, requires_all = ["token", "key_label"], conflicts_with_all = ["p12", "key"])]
        pkcs11_module: Option<PathBuf>,
        /// Label of the PKCS#11 token.
        #[arg(long)]
        token: Option<String>,
        /// CKA_LABEL of the private key on the token.
        #[arg(long)]
        key_label: Option<String>,
        /// User PIN of the token (else $KYSO_PKCS11_PIN).
        #[arg(long)]
        pin: Option<String>,
        /// Issuing chain to embed (PEM; repeatable).
        #[arg(long)]
        chain: Vec<PathBuf>,
        /// Name of the new signature field.
        #[arg(long, default_value = "Signature1")]
        field: String,
        /// Reason written in the signature (/Reason).
        #[arg(long)]
        reason: Option<String>,
        /// Place written in the signature (/Location).
        #[arg(long)]
        location: Option<String>,
        /// sha256, sha384 or sha512.
        #[arg(long, default_value = "sha256")]
        digest: String,
        /// RSASSA-PSS instead of PKCS#1 v1.5 for an RSA key.
        #[arg(long)]
        pss: bool,
        /// Page of the signature widget (invisible, or the seal of --rect).
        #[arg(long, default_value_t = 1)]
        page: usize,
        /// A certification signature with DocMDP permission P (1 no changes,
        /// 2 form filling and signing, 3 also annotations).
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
        certify: Option<u8>,
        /// A visible seal at this rectangle of --page: x,y,width,height in points.
        #[arg(long)]
        rect: Option<String>,
        /// The agency's seal image (PNG; transparency kept) for the visible seal.
        #[arg(long, requires = "rect")]
        seal: Option<PathBuf>,
        /// Text lines of the visible seal (repeatable; default: signer, agency, time).
        #[arg(long, requires = "rect")]
        seal_text: Vec<String>,
        /// Agency name for the default seal text.
        #[arg(long)]
        agency: Option<String>,
        /// TrueType font with Vietnamese glyphs for the seal text.
        #[arg(
            long,
            default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
        )]
        font: PathBuf,
        /// Signing time written to /M (RFC 3339; default now).
        #[arg(long)]
        time: Option<String>,
        /// PAdES level: B-B, B-T (signature timestamp), B-LT (+ /DSS with
        /// certificates, OCSP, CRLs fetched online), B-LTA (+ document timestamp).
        #[arg(long, default_value = "B-B")]
        level: String,
        /// RFC 3161 timestamp authority (http://) for B-T and above.
        #[arg(long)]
        tsa: Option<String>,
        /// Deadline of each TSA/OCSP/CRL exchange, in milliseconds.
        #[arg(long, default_value_t = 10000)]
        timeout_ms: u64,
        /// CRLs (DER or PEM) to put in the /DSS for B-LT instead of fetching (repeatable).
        #[arg(long)]
        crl: Vec<PathBuf>,
    },
    /// One certificate on its own (`kyso cert verify`).
    Cert {
        #[command(subcommand)]
        cmd: CertCmd,
    },
    /// RFC 4998 evidence records for files: make them with a TSA, renew
    /// them, verify one over its file offline.
    Ers {
        #[command(subcommand)]
        cmd: ErsCmd,
    },
    /// The service's API keys in its store: list, create, revoke, rotate.
    /// Each change is an audit entry; a new key's secret is printed once
    /// (only its SHA-256 is stored). Running services apply changes within
    /// 10 s.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
        /// TOML configuration of the service.
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// Data directory of the embedded storage.
        #[arg(long, global = true)]
        data_dir: Option<PathBuf>,
    },
    /// The service's archive (`kyso archive check`).
    Archive {
        #[command(subcommand)]
        cmd: ArchiveCmd,
    },
    /// Verify the signatures of a PDF, a CMS file (.p7s with --detached, or
    /// .p7m), a signed XML document (e-invoice, e-form, XAdES) or a signed
    /// Office/ODF file (.docx, .xlsx, .pptx, .odt, .ods: which parts are
    /// signed, and which are not): format detected from the content; exit 0
    /// only when every signature is TOTAL_PASSED.
    Verify {
        /// The document to verify.
        file: PathBuf,
        /// The signed content: for a detached CMS signature (.p7s), or the
        /// data an XML Reference names outside the document.
        #[arg(long)]
        detached: Option<PathBuf>,
        #[command(flatten)]
        validation: Validation,
        /// Text for people, or the JSON report (docs/report.md).
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
        /// Language of the text report.
        #[arg(long, value_enum, default_value = "both")]
        lang: LangArg,
        /// Write the encapsulated content of a .p7m to this file.
        #[arg(long)]
        extract_content: Option<PathBuf>,
        /// Accept annotations added to a PDF after signing when they lie over
        /// no signed content and no DocMDP/lock P=1 or P=2 forbids them
        /// (refused by default, as at dossier intake).
        #[arg(long)]
        allow_annotations: bool,
        /// Signed XML: the document profile (`auto`: by the document's shape,
        /// `none`, `e-invoice`, `e-form`, or a name from --profile-file).
        #[arg(long, default_value = "auto")]
        profile: String,
        /// Signed XML: profiles as TOML (`[[profile]]`, as profiles/xml.toml).
        #[arg(long)]
        profile_file: Option<PathBuf>,
        /// e-form: an element (path of local names, e.g. `ToKhai/NoiDung`)
        /// the applicant's signature must cover (repeatable).
        #[arg(long)]
        must_sign: Vec<String>,
        /// e-form: the element holding the applicant's identity, as
        /// `PATH=KIND` (e.g. `ToKhai/NguoiNop/SoCCCD=CCCD`): it must be
        /// an identity of the signer's certificate.
        #[arg(long)]
        identity_element: Option<String>,
        /// Also write a verification certificate (Phiếu kết quả kiểm tra
        /// chữ ký số): an A4 PDF of this result, signed with the
        /// --certificate-p12 or --certificate-key/--certificate-cert key.
        #[arg(long)]
        certificate: Option<PathBuf>,
        /// PKCS#12 with the key that signs the certificate (password: $KYSO_P12_PASSWORD).
        #[arg(long, requires = "certificate", conflicts_with = "certificate_key")]
        certificate_p12: Option<PathBuf>,
        /// PEM key that signs the certificate (with --certificate-cert).
        #[arg(long, requires_all = ["certificate", "certificate_cert"])]
        certificate_key: Option<PathBuf>,
        /// PEM certificate of --certificate-key.
        #[arg(long, requires = "certificate_key")]
        certificate_cert: Option<PathBuf>,
        /// Issuing chain to embed in the certificate's signature (PEM; repeatable).
        #[arg(long, requires = "certificate")]
        certificate_chain: Vec<PathBuf>,
        /// Who issues the certificate (printed on it).
        #[arg(long, default_value = "kyso")]
        certificate_issuer: String,
        /// RFC 3161 TSA (http://): the certificate's signature at B-T.
        #[arg(long, requires = "certificate")]
        certificate_tsa: Option<String>,
    },
}

/// `--profile`, `--profile-file`, `--must-sign`, `--identity-element`.
fn xml_profile_choice(
    name: &str,
    file: Option<&std::path::Path>,
    must_sign: Vec<String>,
    identity: Option<&str>,
) -> anyhow::Result<kyso::validate::XmlProfileChoice> {
    use kyso::xml::profile;
    let extra = match file {
        Some(f) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            profile::parse_profiles(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?
        }
        None => Vec::new(),
    };
    profile::choice(name, extra, &must_sign, identity).map_err(|e| anyhow::anyhow!(e))
}

/// Trust, time, algorithms and revocation: how a signature or a
/// certificate is judged (shared by `verify` and `cert verify`).
#[derive(clap::Args)]
struct Validation {
    /// Trust anchors: a PEM/DER file or a directory of them (repeatable).
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Also trust the bundled Vietnamese roots (certs/vn, pinned by fingerprint).
    #[arg(long)]
    default_trust: bool,
    /// Extra intermediate certificates (PEM file, repeatable).
    #[arg(long)]
    intermediates: Vec<PathBuf>,
    /// Validation time (RFC 3339); default now.
    #[arg(long)]
    at: Option<String>,
    /// How SHA-1 digests are judged.
    #[arg(long, value_enum, default_value = "warn")]
    sha1: Sha1Arg,
    /// Smallest RSA (and DSA) key accepted, in bits.
    #[arg(long, default_value_t = 2048)]
    min_rsa_bits: u32,
    /// A CRL (DER or PEM) to use as revocation data (repeatable).
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// An OCSP response (DER) to use as revocation data (repeatable).
    #[arg(long)]
    ocsp: Vec<PathBuf>,
    /// Whether missing revocation data makes a signature INDETERMINATE/TRY_LATER.
    #[arg(long, value_enum, default_value = "required")]
    revocation: RevocationArg,
    /// Fetch missing revocation data: OCSP from the certificate's AIA, CRLs
    /// from its distribution points (plain HTTP, bounded time and size).
    #[arg(long)]
    online: bool,
    /// Directory of fetched OCSP responses and CRLs: read before fetching,
    /// written after.
    #[arg(long)]
    revocation_cache: Option<PathBuf>,
    /// Deadline for one fetch, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    fetch_timeout_ms: u64,
}

impl Validation {
    /// The verification options these arguments describe.
    fn options(&self) -> anyhow::Result<VerifyOptions> {
        let mut store = TrustStore::new();
        for t in &self.trust {
            store
                .load_path(t)
                .with_context(|| format!("loading trust anchors from {}", t.display()))?;
        }
        let mut extra_intermediates = Vec::new();
        if self.default_trust {
            let (anchors, inter) = load_default_trust(&default_trust_dir())?;
            for a in anchors.anchors {
                store.add(a);
            }
            extra_intermediates = inter;
        }
        let at = match &self.at {
            Some(s) => parse_time(s)?,
            None => time::OffsetDateTime::now_utc().unix_timestamp(),
        };
        let mut opts = VerifyOptions::new(store, at);
        opts.intermediates = extra_intermediates;
        opts.algorithms.sha1 = match self.sha1 {
            Sha1Arg::Accept => kyso::validate::Sha1Policy::Accept,
            Sha1Arg::Warn => kyso::validate::Sha1Policy::Warn,
            Sha1Arg::Reject => kyso::validate::Sha1Policy::Reject,
        };
        opts.algorithms.min_rsa_bits = self.min_rsa_bits;
        opts.require_revocation = matches!(self.revocation, RevocationArg::Required);
        opts.fetch.online = self.online;
        opts.fetch.cache_dir = self.revocation_cache.clone();
        opts.fetch.timeout = std::time::Duration::from_millis(self.fetch_timeout_ms.max(1));
        for p in &self.crl {
            let data = read_limited(p, kyso::revocation::MAX_CRL_BYTES, "CRL")?;
            let der: kyso::revocation::Raw = kyso::revocation::crl_der(data).into();
            if let Some(why) = kyso::revocation::unreadable("CRL", &der) {
                anyhow::bail!("--crl {}: {why}", p.display());
            }
            opts.revocation
                .crls
                .push((kyso::revocation::RevSource::Caller, der));
        }
        for p in &self.ocsp {
            let data = read_limited(p, kyso::revocation::MAX_OCSP_BYTES, "OCSP response")?;
            let data: kyso::revocation::Raw = data.into();
            if let Some(why) = kyso::revocation::unreadable("OCSP", &data) {
                anyhow::bail!("--ocsp {}: {why}", p.display());
            }
            opts.revocation
                .ocsps
                .push((kyso::revocation::RevSource::Caller, data));
        }
        for p in &self.intermediates {
            opts.intermediates.extend(
                kyso::pki::load_certificates(p)
                    .with_context(|| format!("loading intermediates from {}", p.display()))?,
            );
        }
        Ok(opts)
    }
}

#[derive(Subcommand)]
enum CertCmd {
    /// Check a document signer's certificate (PEM or DER; further PEM
    /// certificates in the file are offered as intermediates): a path to a
    /// trusted root at the time, validity, revocation with its sources, key
    /// usage for signing documents, identity values — as for a signature's
    /// signer. Exit 0 only when TOTAL_PASSED.
    Verify {
        /// The certificate.
        file: PathBuf,
        #[command(flatten)]
        validation: Validation,
        /// Text for people, or the JSON report (docs/report.md).
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
        /// Language of the text report.
        #[arg(long, value_enum, default_value = "both")]
        lang: LangArg,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// The stored keys: id, role, created, expiry, revocation.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A new key of a role (portal, official, auditor, admin).
    Create {
        #[arg(long)]
        role: String,
    },
    /// Revoke a stored key: it stops working.
    Revoke { id: String },
    /// A new key of the same role; the old one keeps working for the
    /// overlap (default: the configuration's `key_rotation_overlap_secs`).
    Rotate {
        id: String,
        #[arg(long)]
        overlap_secs: Option<u64>,
    },
}

#[derive(Subcommand)]
enum ErsCmd {
    /// One hash tree over the files, one timestamp over its root: an
    /// evidence record per file (FILE.ers, in --out or beside the file).
    Make {
        /// RFC 3161 timestamping authority (HTTP).
        #[arg(long)]
        tsa: String,
        /// Hash algorithm of the tree.
        #[arg(long, default_value = "sha256")]
        hash: String,
        /// Directory for the records.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Deadline of the TSA exchange, in milliseconds.
        #[arg(long, default_value_t = 10000)]
        timeout_ms: u64,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Renew records in place (appended, never replaced): a new timestamp
    /// over each record's last one; with --hash, a hash-tree renewal to that
    /// algorithm, which needs the data (--data, one file per record, in order).
    Renew {
        #[arg(long)]
        tsa: String,
        #[arg(long)]
        hash: Option<String>,
        #[arg(long)]
        data: Vec<PathBuf>,
        #[arg(long, default_value_t = 10000)]
        timeout_ms: u64,
        #[arg(required = true)]
        records: Vec<PathBuf>,
    },
    /// Verify a record over its file at the validation time (--at): every
    /// archive timestamp covers the file and holds at the time of the next
    /// one; exit 0 only when it does.
    Verify {
        record: PathBuf,
        file: PathBuf,
        #[command(flatten)]
        validation: Validation,
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
        #[arg(long, value_enum, default_value = "both")]
        lang: LangArg,
    },
}

#[derive(Subcommand)]
enum ArchiveCmd {
    /// Re-hash every blob, check every row points to a blob, verify the
    /// audit chain; exit 1 on any problem.
    Check {
        /// TOML configuration of the service whose archive is checked.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory of the embedded storage.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one anchoring round now: a hash tree over everything archived
    /// since the last round and the audit head, its root stamped by the
    /// configured TSA (`[anchoring] tsa_url`).
    Anchor {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Timestamp renewal of the rounds whose TSA certificates expire within
    /// the configured margin (--all: every round), appended to each; with
    /// --hash, first a hash-tree renewal to that algorithm of every round
    /// on another one (the data hashed again, one new round over them).
    Renew {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        all: bool,
        /// sha256, sha384 or sha512.
        #[arg(long)]
        hash: Option<String>,
    },
    /// Export the proof bundle (ASiC-E-style ZIP) of a document or a
    /// dossier: the file(s), intake reports and rows, evidence, audit entries
    /// up to an anchored head, and every evidence record.
    Proof {
        /// SHA-256 (hex) of the document.
        sha256: Option<String>,
        /// A dossier's code instead of a document.
        #[arg(long)]
        dossier: Option<String>,
        #[arg(long, short)]
        out: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Check a proof bundle offline, without the archive: every member
    /// against the manifest, every evidence record back to the TSA trust
    /// anchors (--trust), the audit links to the anchored head, and each
    /// file verified again at its intake time from the bundled evidence.
    /// Exit 0 only when everything holds.
    VerifyProof {
        bundle: PathBuf,
        /// Trust anchors of the TSAs (PEM/DER file or directory, repeatable).
        #[arg(long)]
        trust: Vec<PathBuf>,
        /// Intermediate certificates of the TSAs (PEM, repeatable).
        #[arg(long)]
        intermediates: Vec<PathBuf>,
        /// Validation time of the evidence records (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
        #[arg(long, value_enum, default_value = "both")]
        lang: LangArg,
    },
    /// Judge every archived document again at its intake validation time,
    /// from the evidence kept with it and the revocation data configured
    /// now; resumable (a journal in the data directory), with a progress
    /// bar; prints every document whose verdict changed and why. Exit 1
    /// when one changed or could not be judged.
    Reverify {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only documents first verified at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Documents verified at once (default: the cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// The journal of results (default: DATA_DIR/reverify-journal.jsonl).
        #[arg(long)]
        journal: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write the evidence record (RFC 4998 DER) of an archived blob.
    Record {
        /// SHA-256 (hex) of the blob: a document, report, decision or evidence item.
        sha256: String,
        #[arg(long, short)]
        out: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RevocationArg {
    Required,
    Optional,
}

#[derive(Clone, Copy, ValueEnum)]
enum Sha1Arg {
    Accept,
    Warn,
    Reject,
}

/// The report on standard output, as asked.
fn print_report(report: &kyso::Report, format: OutFormat, lang: LangArg) -> anyhow::Result<()> {
    match format {
        OutFormat::Json => println!("{}", serde_json::to_string_pretty(report)?),
        OutFormat::Text => {
            let l = match lang {
                LangArg::Vi => Lang::Vi,
                LangArg::En => Lang::En,
                LangArg::Both => Lang::Both,
            };
            print!("{}", render_text(report, l));
        }
    }
    Ok(())
}

/// 0 when everything is TOTAL_PASSED, else 1.
fn exit_for(report: &kyso::Report) -> ExitCode {
    if report.summary.all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kyso: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn default_trust_dir() -> PathBuf {
    std::env::var_os("KYSO_CERTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("certs"))
}

/// The bundled Vietnamese roots, pinned by the fingerprints in certs/vn/FINGERPRINTS.tsv,
/// and the bundled intermediates.
fn load_default_trust(
    dir: &std::path::Path,
) -> anyhow::Result<(TrustStore, Vec<openssl::x509::X509>)> {
    kyso::pki::path::load_bundled(dir, None)
        .with_context(|| format!("loading the bundled roots under {}", dir.display()))
}

/// Read a file of at most `max` bytes (the size is checked before reading).
fn read_limited(p: &std::path::Path, max: usize, what: &str) -> anyhow::Result<Vec<u8>> {
    let len = std::fs::metadata(p)
        .with_context(|| format!("reading {what} {}", p.display()))?
        .len();
    if len > max as u64 {
        anyhow::bail!(
            "{what} {}: {len} bytes, larger than the limit of {max}",
            p.display()
        );
    }
    std::fs::read(p).with_context(|| format!("reading {what} {}", p.display()))
}

fn parse_time(s: &str) -> anyhow::Result<i64> {
    kyso::pki::cert::parse_rfc3339(s).with_context(|| format!("--at: not an RFC 3339 time: {s}"))
}

fn service_config(
    config: Option<PathBuf>,
    listen: Option<String>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<kyso::server::config::Config> {
    let mut cfg = kyso::server::config::Config::load(config.as_deref())?;
    if let Some(l) = listen {
        cfg.listen = l;
    }
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    Ok(cfg)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn serve(cfg: kyso::server::config::Config) -> anyhow::Result<ExitCode> {
    kyso::server::init_logging(cfg.log_json);
    runtime()?.block_on(async move {
        let storage = match &cfg.storage {
            kyso::server::config::Storage::Embedded => {
                format!("embedded ({})", cfg.data_dir.display())
            }
            kyso::server::config::Storage::PostgresS3 { .. } => "PostgreSQL + S3".to_string(),
        };
        let started = kyso::server::start(cfg).await?;
        if !started.new_keys.is_empty() {
            println!("kyso: first start: one API key per role was created.");
            println!("      They are shown this once; only their SHA-256 is kept. Save them now.");
            for (role, key) in &started.new_keys {
                println!("      {role:<9} {key}");
            }
        }
        println!(
            "kyso: listening on http://{} (storage: {storage})",
            started.addr
        );
        tracing::info!(addr = %started.addr, "listening");
        shutdown_signal().await;
        tracing::info!("shutting down: draining requests in flight");
        let _ = started.shutdown.send(());
        started.task.await??;
        Ok(ExitCode::SUCCESS)
    })
}

fn keys_command(cmd: KeysCmd, cfg: kyso::server::config::Config) -> anyhow::Result<ExitCode> {
    use kyso::server::keys;
    runtime()?.block_on(async move {
        let archive = kyso::server::open_archive(&cfg).await?;
        let now = kyso::server::Clock::of(&cfg)?.now();
        let user = format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        );
        let who = keys::Actor {
            key_id: &user,
            role: "admin",
        };
        let shown = |k: &keys::NewKey| {
            println!("id:     {}\nrole:   {}\nsecret: {}", k.id, k.role, k.secret);
            if let (Some(old), Some(until)) = (&k.replaces, &k.replaced_until) {
                println!("{old} keeps working until {until}");
            }
            println!("The secret is shown only now; kyso keeps only its SHA-256.");
        };
        let refused = |e: kyso::archive::ArchiveError| -> anyhow::Result<ExitCode> {
            match e {
                kyso::archive::ArchiveError::Conflict(why) => {
                    eprintln!("kyso: refused: {why}");
                    Ok(ExitCode::from(1))
                }
                other => Err(other.into()),
            }
        };
        match cmd {
            KeysCmd::List { json } => {
                let list = keys::list(&archive, now).await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&list)?);
                } else {
                    for k in list {
                        let state = match (&k.revoked, &k.expires, k.usable) {
                            (Some(t), _, _) => format!("revoked {t}"),
                            (None, Some(t), true) => format!("works until {t}"),
                            (None, Some(t), false) => format!("expired {t}"),
                            (None, None, _) => "active".into(),
                        };
                        println!("{}\t{}\t{}\t{state}", k.id, k.role, k.created);
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            KeysCmd::Create { role } => match keys::create(&archive, &who, &role, now).await {
                Ok(k) => {
                    shown(&k);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            },
            KeysCmd::Revoke { id } => match keys::revoke(&archive, &who, &id, now).await {
                Ok(()) => {
                    println!("{id} revoked");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => refused(e),
            },
            KeysCmd::Rotate { id, overlap_secs } => {
                let overlap = overlap_secs.unwrap_or(cfg.key_rotation_overlap_secs);
                match keys::rotate(&archive, &who, &id, overlap, now).await {
                    Ok(k) => {
                        shown(&k);
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(e) => refused(e),
                }
            }
        }
    })
}

fn archive_check(cfg: kyso::server::config::Config, json: bool) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let archive = kyso::server::open_archive(&cfg).await?;
        let c = archive.check().await?;
        let opts = kyso::server::anchoring_options(
            &cfg,
            time::OffsetDateTime::now_utc().unix_timestamp(),
        )?;
        // The blobs check() read intact are not read again.
        let a = archive.check_anchoring_given(&opts, Some(&c.held)).await?;
        let ok = c.ok() && a.problems.is_empty();
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({"archive": c, "anchoring": a}))?
            );
        } else {
            println!(
                "blobs: {} (unreferenced: {}), references: {}, audit entries: {} (head {})",
                c.blobs, c.unreferenced, c.references, c.chain.entries, c.chain.head
            );
            println!(
                "anchoring: {} rounds, {} anchored leaves, {} not anchored yet, audit anchored to entry {}",
                a.rounds,
                a.members,
                a.unanchored,
                a.audit_anchored_to.map_or("-".into(), |s| s.to_string())
            );
            for p in c.problems.iter().chain(&c.chain.problems).chain(&a.problems) {
                println!("PROBLEM: {p}");
            }
            println!("{}", if ok { "archive OK" } else { "archive NOT OK" });
        }
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

/// The service's configuration, its TSA and its archive, for the commands
/// that stamp.
async fn with_tsa(
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<(
    kyso::server::config::Config,
    kyso::archive::anchor::SharedStamper,
    kyso::archive::Archive,
)> {
    let cfg = service_config(config, None, data_dir)?;
    let stamper = cfg
        .anchoring
        .stamper()
        .context("no TSA configured ([anchoring] tsa_url)")?;
    let archive = kyso::server::open_archive(&cfg).await?;
    Ok((cfg, stamper, archive))
}

fn archive_anchoring(cmd: ArchiveCmd) -> anyhow::Result<ExitCode> {
    // `reverify` judges on verifier threads of its own; its runtime only
    // loads documents and writes the journal. One thread for that leaves
    // the cores to the verifiers (benches/reverify.rs, 2 cores: ratio 0.73
    // on average over 6 runs with a runtime thread per core, 0.76 over 7
    // runs with one — within this machine's noise, not against it).
    let rt = if matches!(cmd, ArchiveCmd::Reverify { .. }) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?
    } else {
        runtime()?
    };
    rt.block_on(async move {
        match cmd {
            ArchiveCmd::Anchor { config, data_dir } => {
                let (cfg, stamper, archive) = with_tsa(config, data_dir).await?;
                let now =
                    kyso::pki::cert::fmt_unix(time::OffsetDateTime::now_utc().unix_timestamp());
                let o = archive
                    .anchor_round(cfg.anchoring.algorithm()?, &now, stamper)
                    .await?;
                println!("{}", serde_json::to_string(&o)?);
                Ok(ExitCode::SUCCESS)
            }
            ArchiveCmd::Renew {
                config,
                data_dir,
                all,
                hash,
            } => {
                let (cfg, stamper, archive) = with_tsa(config, data_dir).await?;
                if let Some(h) = hash {
                    let now =
                        kyso::pki::cert::fmt_unix(time::OffsetDateTime::now_utc().unix_timestamp());
                    let o = archive
                        .renew_hash_trees(digest_arg(&h)?, &now, stamper.clone())
                        .await?;
                    println!("hash-tree renewal: {}", serde_json::to_string(&o)?);
                }
                let margin = i64::try_from(cfg.anchoring.renew_margin_days)?.saturating_mul(86_400);
                let deadline = if all {
                    i64::MAX
                } else {
                    time::OffsetDateTime::now_utc()
                        .unix_timestamp()
                        .saturating_add(margin)
                };
                let renewed = archive.renew_rounds(deadline, stamper).await?;
                println!("renewed rounds: {renewed:?}");
                Ok(ExitCode::SUCCESS)
            }
            ArchiveCmd::Record {
                sha256,
                out,
                config,
                data_dir,
            } => {
                let cfg = service_config(config, None, data_dir)?;
                let archive = kyso::server::open_archive(&cfg).await?;
                match archive.evidence_record("blob", &sha256).await? {
                    Some((round, er)) => {
                        std::fs::write(&out, er.to_der())
                            .with_context(|| format!("writing {}", out.display()))?;
                        println!("round {} of {}: {}", round.id, round.created, out.display());
                        Ok(ExitCode::SUCCESS)
                    }
                    None => {
                        eprintln!("kyso: blob {sha256} is not anchored (yet)");
                        Ok(ExitCode::from(1))
                    }
                }
            }
            ArchiveCmd::Proof {
                sha256,
                dossier,
                out,
                config,
                data_dir,
            } => {
                let subject = match (sha256, dossier) {
                    (Some(s), None) => kyso::archive::proof::ProofSubject::Document(s),
                    (None, Some(c)) => kyso::archive::proof::ProofSubject::Dossier(c),
                    _ => anyhow::bail!("give a document's SHA-256 or --dossier CODE"),
                };
                let cfg = service_config(config, None, data_dir)?;
                let archive = kyso::server::open_archive(&cfg).await?;
                let now =
                    kyso::pki::cert::fmt_unix(time::OffsetDateTime::now_utc().unix_timestamp());
                match archive.proof_bundle(&subject, &now).await? {
                    Some(zip) => {
                        std::fs::write(&out, zip)
                            .with_context(|| format!("writing {}", out.display()))?;
                        println!("{}", out.display());
                        Ok(ExitCode::SUCCESS)
                    }
                    None => {
                        eprintln!("kyso: {subject:?} is not in the archive");
                        Ok(ExitCode::from(1))
                    }
                }
            }
            ArchiveCmd::VerifyProof {
                bundle,
                trust,
                intermediates,
                at,
                format,
                lang,
            } => {
                let mut store = TrustStore::new();
                for t in &trust {
                    store
                        .load_path(t)
                        .with_context(|| format!("loading trust anchors from {}", t.display()))?;
                }
                let at = match &at {
                    Some(s) => parse_time(s)?,
                    None => time::OffsetDateTime::now_utc().unix_timestamp(),
                };
                let mut opts = VerifyOptions::new(store, at);
                // A TSA's revocation is not part of an evidence record.
                opts.require_revocation = false;
                for p in &intermediates {
                    opts.intermediates.extend(kyso::pki::load_certificates(p)?);
                }
                let zip = read_limited(&bundle, 1 << 30, "proof bundle")?;
                let v = kyso::archive::proof::verify_bundle(
                    &zip,
                    &opts,
                    &kyso::server::policy::Policy::default(),
                )?;
                match format {
                    OutFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                    OutFormat::Text => {
                        let verdict = if v.ok {
                            ("ĐÃ CHỨNG MINH", "PROVEN")
                        } else {
                            ("CHƯA CHỨNG MINH ĐẦY ĐỦ", "NOT FULLY PROVEN")
                        };
                        if !matches!(lang, LangArg::En) {
                            println!("{}: {}", verdict.0, v.subject);
                            v.lines_vi.iter().for_each(|l| println!("{l}"));
                        }
                        if !matches!(lang, LangArg::Vi) {
                            println!("{}: {}", verdict.1, v.subject);
                            v.lines_en.iter().for_each(|l| println!("{l}"));
                        }
                        v.problems.iter().for_each(|p| println!("PROBLEM: {p}"));
                    }
                }
                Ok(if v.ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
            ArchiveCmd::Reverify {
                config,
                data_dir,
                since,
                jobs,
                journal,
                json,
            } => {
                let cfg = service_config(config, None, data_dir)?;
                let archive = kyso::server::open_archive(&cfg).await?;
                let (extra, _) = kyso::server::load_revocation(&cfg)?;
                let jobs = jobs.unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, |n| n.get())
                });
                let journal = journal.unwrap_or_else(|| cfg.data_dir.join("reverify-journal.jsonl"));
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} tài liệu / documents, {per_sec}, còn / left {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                let b2 = bar.clone();
                let s = kyso::server::reverify::reverify_archive(
                    &archive,
                    &cfg.policy.default.clone().unwrap_or_default(),
                    &extra,
                    since.as_deref(),
                    jobs,
                    &journal,
                    &move |done, total| {
                        b2.set_length(total);
                        b2.set_position(done);
                    },
                )
                .await?;
                bar.finish_and_clear();
                if json {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                } else {
                    println!(
                        "{} tài liệu / documents ({} from an interrupted run), {:.1} s: {} unchanged, {} changed, {} not judged",
                        s.documents,
                        s.resumed,
                        s.seconds,
                        s.same,
                        s.changed.len(),
                        s.failed.len()
                    );
                    for c in &s.changed {
                        println!(
                            "CHANGED {} (intake {}): {} → {}: {}",
                            c.sha256,
                            c.validation_time,
                            c.recorded,
                            c.now,
                            c.why_en.as_deref().unwrap_or("")
                        );
                        if let Some(vi) = &c.why_vi {
                            println!("  {vi}");
                        }
                    }
                    for (sha, why) in &s.failed {
                        println!("NOT JUDGED {sha}: {why}");
                    }
                }
                Ok(if s.changed.is_empty() && s.failed.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
            ArchiveCmd::Check { .. } => anyhow::bail!("archive check is run by archive_check"),
        }
    })
}

fn digest_arg(s: &str) -> anyhow::Result<kyso::crypto::DigestAlg> {
    kyso::ers::sha2(s).with_context(|| format!("--hash: sha256, sha384 or sha512, not {s}"))
}

/// The hash of a file with `alg`, read in pieces.
fn hash_file(p: &std::path::Path, alg: kyso::crypto::DigestAlg) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).with_context(|| format!("reading {}", p.display()))?;
    let mut h = alg.hasher()?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n])?;
    }
    Ok(h.finish()?)
}

fn ers_command(cmd: ErsCmd) -> anyhow::Result<ExitCode> {
    use kyso::ers::{self, EvidenceRecord};
    match cmd {
        ErsCmd::Make {
            tsa,
            hash,
            out,
            timeout_ms,
            files,
        } => {
            let alg = digest_arg(&hash)?;
            let hashes = files
                .iter()
                .map(|f| hash_file(f, alg))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let stamper = ers::tsa_stamper(tsa, std::time::Duration::from_millis(timeout_ms));
            let records = ers::make_records(alg, &hashes, &stamper)?;
            for (f, r) in files.iter().zip(records) {
                let name = format!(
                    "{}.ers",
                    f.file_name().unwrap_or_default().to_string_lossy()
                );
                let dest = match &out {
                    Some(d) => d.join(name),
                    None => f.with_file_name(name),
                };
                std::fs::write(&dest, r.to_der())
                    .with_context(|| format!("writing {}", dest.display()))?;
                println!("{}", dest.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        ErsCmd::Renew {
            tsa,
            hash,
            data,
            timeout_ms,
            records,
        } => {
            let mut ers_read = records
                .iter()
                .map(|p| {
                    let b = read_limited(p, ers::MAX_RECORD_BYTES, "evidence record")?;
                    EvidenceRecord::parse(&b).with_context(|| format!("reading {}", p.display()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let stamper = ers::tsa_stamper(tsa, std::time::Duration::from_millis(timeout_ms));
            match hash {
                None => ers::renew_timestamps(&mut ers_read, &stamper)?,
                Some(h) => {
                    let alg = digest_arg(&h)?;
                    anyhow::ensure!(
                        data.len() == records.len(),
                        "a hash-tree renewal needs the data of every record (--data, one per record)"
                    );
                    let hashes = data
                        .iter()
                        .map(|f| hash_file(f, alg))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    ers::renew_hash_trees(&mut ers_read, alg, &hashes, &stamper)?;
                }
            }
            for (p, r) in records.iter().zip(&ers_read) {
                // Written beside, then renamed: a crash leaves the old record whole.
                let tmp = p.with_extension("ers.tmp");
                std::fs::write(&tmp, r.to_der())?;
                std::fs::rename(&tmp, p)?;
                println!("{}", p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        ErsCmd::Verify {
            record,
            file,
            validation,
            format,
            lang,
        } => {
            let opts = validation.options()?;
            let b = read_limited(&record, ers::MAX_RECORD_BYTES, "evidence record")?;
            let er = EvidenceRecord::parse(&b)
                .with_context(|| format!("reading {}", record.display()))?;
            let v = ers::verify(
                &er,
                &|alg| hash_file(&file, alg).map_err(|e| kyso::Error::Invalid(format!("{e:#}"))),
                &opts,
            );
            match format {
                OutFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                OutFormat::Text => {
                    let (vi, en) = ers::verdict_text(&v);
                    if !matches!(lang, LangArg::En) {
                        println!("{vi}");
                    }
                    if !matches!(lang, LangArg::Vi) {
                        println!("{en}");
                    }
                }
            }
            Ok(if v.valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve {
            config,
            listen,
            data_dir,
        } => serve(service_config(config, listen, data_dir)?),
        Cmd::Sign {
            input,
            output,
            p12,
            password,
            key,
            cert,
            pkcs11_module,
            token,
            key_label,
            pin,
            chain,
            field,
            reason,
            location,
            digest,
            pss,
            page,
            certify,
            rect,
            seal,
            seal_text,
            agency,
            font,
            time,
            level,
            tsa,
            timeout_ms,
            crl,
        } => {
            let level_v = kyso::sign::SignLevel::parse(&level)
                .ok_or_else(|| anyhow::anyhow!("--level {level}: use B-B, B-T, B-LT or B-LTA"))?;
            let digest = kyso::sign::cms::Digest::parse(&digest).ok_or_else(|| {
                anyhow::anyhow!("--digest {digest}: use sha256, sha384 or sha512")
            })?;
            let mut extra = Vec::new();
            for c in &chain {
                extra.extend(
                    kyso::pki::load_certificates(c)
                        .with_context(|| format!("loading --chain {}", c.display()))?,
                );
            }
            let signer: Box<dyn kyso::sign::keys::KeySigner> = match (p12, key, cert) {
                _ if pkcs11_module.is_some() => {
                    let pin = pin
                        .or_else(|| std::env::var("KYSO_PKCS11_PIN").ok())
                        .ok_or_else(|| {
                            anyhow::anyhow!("--pin or $KYSO_PKCS11_PIN is needed for the token")
                        })?;
                    Box::new(kyso::sign::pkcs11::Pkcs11Key::open_at(
                        pkcs11_module.as_deref().unwrap_or(std::path::Path::new("")),
                        token.as_deref().unwrap_or(""),
                        key_label.as_deref().unwrap_or(""),
                        &pin,
                        extra.clone(),
                        pss,
                    )?)
                }
                (Some(p), _, _) => {
                    let pw = password
                        .or_else(|| std::env::var("KYSO_P12_PASSWORD").ok())
                        .unwrap_or_default();
                    let mut k = kyso::sign::keys::SoftKey::from_pkcs12(&p, &pw, pss)
                        .with_context(|| format!("opening {}", p.display()))?;
                    if !extra.is_empty() {
                        k = kyso::sign::keys::SoftKey::from_parts(k, extra)?;
                    }
                    Box::new(k)
                }
                (None, Some(k), Some(c)) => Box::new(
                    kyso::sign::keys::SoftKey::from_pem(&k, &c, &extra, pss)
                        .with_context(|| format!("loading {} and {}", k.display(), c.display()))?,
                ),
                _ => anyhow::bail!(
                    "give --p12 FILE, --key KEY.pem --cert CERT.pem, or --pkcs11-module M --token T --key-label L"
                ),
            };
            let at = match time {
                Some(t) => kyso::pki::cert::parse_rfc3339(&t)
                    .ok_or_else(|| anyhow::anyhow!("--time {t}: not RFC 3339"))?,
                None => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0),
            };
            let data = read_limited(&input, 1 << 30, "PDF")?;
            let seal = match rect {
                None => None,
                Some(r) => {
                    let v: Vec<f64> = r.split(',').filter_map(|x| x.trim().parse().ok()).collect();
                    let [x, y, w, h] = v[..] else {
                        anyhow::bail!("--rect {r}: give x,y,width,height in points");
                    };
                    if w <= 0.0 || h <= 0.0 {
                        anyhow::bail!("--rect {r}: width and height must be positive");
                    }
                    let image_png = match &seal {
                        Some(p) => Some(read_limited(p, 16 << 20, "seal image")?),
                        None => None,
                    };
                    let lines = if seal_text.is_empty() {
                        let name = kyso::pki::cert::summarize(signer.certificate())
                            .common_name
                            .unwrap_or_default();
                        let org = agency.clone().or_else(|| {
                            kyso::pki::cert::summarize(signer.certificate()).organization
                        });
                        kyso::sign::seal::default_lines(&name, org.as_deref(), at)
                    } else {
                        seal_text
                    };
                    Some(kyso::sign::seal::Seal {
                        rect: [x, y, w, h],
                        image_png,
                        lines,
                        font: read_limited(&font, 64 << 20, "font")?,
                    })
                }
            };
            let opts = kyso::sign::SignOptions {
                field,
                digest,
                time: at,
                reason,
                location,
                page,
                certify,
                seal,
            };
            let mut crls = Vec::new();
            for p in &crl {
                crls.push(kyso::revocation::crl_der(read_limited(
                    p,
                    kyso::revocation::MAX_CRL_BYTES,
                    "CRL",
                )?));
            }
            let services = kyso::sign::Services {
                tsa_url: tsa,
                timeout: std::time::Duration::from_millis(timeout_ms.max(1)),
                crls,
            };
            let signed =
                kyso::sign::sign_pdf_level(&data, signer.as_ref(), &opts, level_v, &services)
                    .with_context(|| format!("signing {}", input.display()))?;
            std::fs::write(&output, signed)
                .with_context(|| format!("writing {}", output.display()))?;
            println!(
                "signed: {} (PAdES {}, field {})",
                output.display(),
                level.to_ascii_uppercase(),
                opts.field
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Archive {
            cmd:
                ArchiveCmd::Check {
                    config,
                    data_dir,
                    json,
                },
        } => archive_check(service_config(config, None, data_dir)?, json),
        Cmd::Archive { cmd } => archive_anchoring(cmd),
        Cmd::Keys {
            cmd,
            config,
            data_dir,
        } => keys_command(cmd, service_config(config, None, data_dir)?),
        Cmd::Ers { cmd } => ers_command(cmd),
        Cmd::Cert {
            cmd:
                CertCmd::Verify {
                    file,
                    validation,
                    format,
                    lang,
                },
        } => {
            let opts = validation.options()?;
            let data = read_limited(
                &file,
                kyso::validate::certcheck::MAX_CERTIFICATE_BYTES,
                "certificate",
            )?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let report = kyso::validate::verify_certificate(&data, &name, &opts);
            print_report(&report, format, lang)?;
            Ok(exit_for(&report))
        }
        Cmd::Verify {
            file,
            detached,
            validation,
            format,
            lang,
            extract_content,
            allow_annotations,
            profile,
            profile_file,
            must_sign,
            identity_element,
            certificate,
            certificate_p12,
            certificate_key,
            certificate_cert,
            certificate_chain,
            certificate_issuer,
            certificate_tsa,
        } => {
            let mut opts = validation.options()?;
            opts.allow_annotations = allow_annotations;
            opts.xml_profile = xml_profile_choice(
                &profile,
                profile_file.as_deref(),
                must_sign,
                identity_element.as_deref(),
            )?;
            let (report, content) = verify_path(&file, detached.as_deref(), &opts)
                .with_context(|| format!("reading {}", file.display()))?;
            if let (Some(out), Some(c)) = (&extract_content, &content) {
                std::fs::write(out, c).with_context(|| format!("writing {}", out.display()))?;
            }
            if let Some(out) = &certificate {
                let mut chain = Vec::new();
                for c in &certificate_chain {
                    chain.extend(
                        kyso::pki::load_certificates(c).with_context(|| {
                            format!("loading --certificate-chain {}", c.display())
                        })?,
                    );
                }
                let key = match (&certificate_p12, &certificate_key, &certificate_cert) {
                    (Some(p), _, _) => {
                        let pw = std::env::var("KYSO_P12_PASSWORD").unwrap_or_default();
                        let k = kyso::sign::keys::SoftKey::from_pkcs12(p, &pw, false)
                            .with_context(|| format!("opening {}", p.display()))?;
                        if chain.is_empty() {
                            k
                        } else {
                            kyso::sign::keys::SoftKey::from_parts(k, chain)?
                        }
                    }
                    (None, Some(k), Some(c)) => kyso::sign::keys::SoftKey::from_pem(
                        k, c, &chain, false,
                    )
                    .with_context(|| format!("loading {} and {}", k.display(), c.display()))?,
                    _ => anyhow::bail!(
                        "--certificate needs a key: --certificate-p12 FILE or --certificate-key KEY.pem --certificate-cert CERT.pem"
                    ),
                };
                let data =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                let facts = kyso::certificate::Facts {
                    file_name: &report.document.name,
                    size: report.document.size,
                    sha256: &kyso::archive::sha256_hex(&data),
                    policy: "kyso verify (trust, revocation and algorithms given on the command line)",
                    anchors: kyso::certificate::anchor_names(&opts.trust.anchors),
                    dossier: None,
                    issuer: &certificate_issuer,
                    mask_identities: false,
                };
                let level = if certificate_tsa.is_some() {
                    kyso::sign::SignLevel::BT
                } else {
                    kyso::sign::SignLevel::BB
                };
                let services = kyso::sign::Services {
                    tsa_url: certificate_tsa,
                    timeout: std::time::Duration::from_secs(10),
                    crls: Vec::new(),
                };
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let fonts = kyso::certificate::Fonts::system()?;
                let pdf =
                    kyso::certificate::issue(&facts, &report, &fonts, &key, level, &services, now)
                        .context("making the verification certificate")?;
                std::fs::write(out, pdf).with_context(|| format!("writing {}", out.display()))?;
                eprintln!("verification certificate: {}", out.display());
            }
            print_report(&report, format, lang)?;
            Ok(exit_for(&report))
        }
    }
}
