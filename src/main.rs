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
    about = "Ký số: verify signed documents (PDF/PAdES, CMS)"
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
enum Cmd {
    /// Verify the signatures of a PDF, or of a CMS file (.p7s with --detached, or .p7m).
    Verify {
        file: PathBuf,
        /// The signed content, for a detached CMS signature (.p7s).
        #[arg(long)]
        detached: Option<PathBuf>,
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
        #[arg(long, value_enum, default_value = "text")]
        format: OutFormat,
        #[arg(long, value_enum, default_value = "both")]
        lang: LangArg,
        /// Write the encapsulated content of a .p7m to this file.
        #[arg(long)]
        extract_content: Option<PathBuf>,
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
    let pins_file = dir.join("vn/FINGERPRINTS.tsv");
    let pins: Vec<String> = std::fs::read_to_string(&pins_file)
        .with_context(|| format!("reading {}", pins_file.display()))?
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("sha256\t"))
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .filter(|f| f.len() == 64)
        .collect();
    let mut all = TrustStore::new();
    all.load_path(&dir.join("vn/roots"))
        .context("loading certs/vn/roots")?;
    let pinned = all.pinned(&pins);
    let inter = kyso::pki::load_certificates(&dir.join("vn/intermediates"))
        .context("loading certs/vn/intermediates")?;
    Ok((pinned, inter))
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

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Verify {
            file,
            detached,
            trust,
            default_trust,
            intermediates,
            at,
            format,
            lang,
            extract_content,
            sha1,
            min_rsa_bits,
            crl,
            ocsp,
            revocation,
            online,
            revocation_cache,
            fetch_timeout_ms,
        } => {
            let mut store = TrustStore::new();
            for t in &trust {
                store
                    .load_path(t)
                    .with_context(|| format!("loading trust anchors from {}", t.display()))?;
            }
            let mut extra_intermediates = Vec::new();
            if default_trust {
                let (anchors, inter) = load_default_trust(&default_trust_dir())?;
                for a in anchors.anchors {
                    store.add(a);
                }
                extra_intermediates = inter;
            }
            let at = match at {
                Some(s) => parse_time(&s)?,
                None => time::OffsetDateTime::now_utc().unix_timestamp(),
            };
            let mut opts = VerifyOptions::new(store, at);
            opts.intermediates = extra_intermediates;
            opts.algorithms.sha1 = match sha1 {
                Sha1Arg::Accept => kyso::validate::Sha1Policy::Accept,
                Sha1Arg::Warn => kyso::validate::Sha1Policy::Warn,
                Sha1Arg::Reject => kyso::validate::Sha1Policy::Reject,
            };
            opts.algorithms.min_rsa_bits = min_rsa_bits;
            opts.require_revocation = matches!(revocation, RevocationArg::Required);
            opts.fetch.online = online;
            opts.fetch.cache_dir = revocation_cache;
            opts.fetch.timeout = std::time::Duration::from_millis(fetch_timeout_ms.max(1));
            for p in &crl {
                let data = read_limited(p, kyso::revocation::MAX_CRL_BYTES, "CRL")?;
                let der = match openssl::x509::X509Crl::from_pem(&data) {
                    Ok(c) => c.to_der()?,
                    Err(_) => data,
                };
                let der: kyso::revocation::Raw = der.into();
                if let Some(why) = kyso::revocation::unreadable("CRL", &der) {
                    anyhow::bail!("--crl {}: {why}", p.display());
                }
                opts.revocation
                    .crls
                    .push((kyso::revocation::RevSource::Caller, der));
            }
            for p in &ocsp {
                let data = read_limited(p, kyso::revocation::MAX_OCSP_BYTES, "OCSP response")?;
                let data: kyso::revocation::Raw = data.into();
                if let Some(why) = kyso::revocation::unreadable("OCSP", &data) {
                    anyhow::bail!("--ocsp {}: {why}", p.display());
                }
                opts.revocation
                    .ocsps
                    .push((kyso::revocation::RevSource::Caller, data));
            }
            for p in &intermediates {
                opts.intermediates.extend(
                    kyso::pki::load_certificates(p)
                        .with_context(|| format!("loading intermediates from {}", p.display()))?,
                );
            }
            let (report, content) = verify_path(&file, detached.as_deref(), &opts)
                .with_context(|| format!("reading {}", file.display()))?;
            if let (Some(out), Some(c)) = (&extract_content, &content) {
                std::fs::write(out, c).with_context(|| format!("writing {}", out.display()))?;
            }
            match format {
                OutFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                OutFormat::Text => {
                    let l = match lang {
                        LangArg::Vi => Lang::Vi,
                        LangArg::En => Lang::En,
                        LangArg::Both => Lang::Both,
                    };
                    print!("{}", render_text(&report, l));
                }
            }
            Ok(if report.summary.all_passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
