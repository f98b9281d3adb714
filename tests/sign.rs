//! Signing (PAdES B-B so far): every algorithm × every kind of input kyso
//! produces is judged valid by kyso itself, by pyHanko (`pyhanko sign
//! validate`, the test root trusted), by poppler's `pdfsig` (integrity and
//! certificate status with an NSS database trusting the test root), and
//! `qpdf --check` finds no error. A pyHanko signature followed by kyso's,
//! and the reverse, keep both valid. Outside tools missing: SKIPPED, unless
//! KYSO_REQUIRE_SIGN_TOOLS=1 (CI).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/services.rs"]
mod live;

use std::path::{Path, PathBuf};
use std::process::Command;

use kyso::pki::TrustStore;
use kyso::sign::cms::Digest;
use kyso::sign::keys::SoftKey;
use kyso::sign::{SignLevel, SignOptions, sign_pdf};
use kyso::validate::VerifyOptions;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn at() -> i64 {
    kyso::pki::cert::parse_rfc3339("2026-11-01T00:00:00Z").unwrap()
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "kyso-sign-{tag}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn key(stem: &str, pss: bool) -> SoftKey {
    let c = repo().join("certs/test");
    let ca = kyso::pki::load_certificates(&c.join("issuing-ca.pem")).unwrap();
    SoftKey::from_pem(
        &c.join(format!("{stem}.key.pem")),
        &c.join(format!("{stem}.pem")),
        &ca,
        pss,
    )
    .unwrap()
}

/// The test PKI's root as the only trust anchor.
fn test_root_trust() -> TrustStore {
    let mut trust = TrustStore::new();
    trust
        .load_path(&repo().join("certs/test/root.pem"))
        .unwrap();
    trust
}

/// Verification at `at()` under the test root, revocation not asked (for
/// certificates issued in the test, on no committed CRL).
fn unrevoked_options() -> VerifyOptions {
    let mut vo = VerifyOptions::new(test_root_trust(), at());
    vo.require_revocation = false;
    vo
}

/// kyso's verdict on every signature: (indication, sub-indication, level).
fn kyso_verdicts(pdf: &[u8]) -> Vec<String> {
    let mut opts = VerifyOptions::new(test_root_trust(), at());
    for f in ["root.crl", "issuing-ca.crl"] {
        let der = std::fs::read(repo().join("testdata/revocation").join(f)).unwrap();
        opts.revocation
            .crls
            .push((kyso::revocation::RevSource::Caller, der.into()));
    }
    verdicts(&kyso::verify_bytes(pdf, None, "signed.pdf", &opts).0)
}

/// INDICATION[/SUB][@LEVEL] of every signature.
fn verdicts(r: &kyso::Report) -> Vec<String> {
    r.signatures
        .iter()
        .map(|s| {
            format!(
                "{}{}{}",
                s.indication.as_str(),
                s.sub_indication
                    .map(|x| format!("/{}", x.as_str()))
                    .unwrap_or_default(),
                s.level
                    .map(|l| format!("@{}", l.as_str()))
                    .unwrap_or_default()
            )
        })
        .collect()
}

fn require_tools() -> bool {
    std::env::var("KYSO_REQUIRE_SIGN_TOOLS").is_ok_and(|v| v == "1")
}

fn tool(name: &str) -> Option<PathBuf> {
    let local = repo().join(".venv/bin").join(name);
    if local.exists() {
        return Some(local);
    }
    let found = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|c| c.exists())
    });
    if found.is_none() {
        assert!(
            !require_tools(),
            "KYSO_REQUIRE_SIGN_TOOLS=1 but {name} is not installed"
        );
        println!("SKIPPED ({name} not installed)");
    }
    found
}

/// What the outside validators say of a file kyso signed.
struct Outside {
    qpdf: Option<PathBuf>,
    pdfsig: Option<PathBuf>,
    pyhanko: Option<PathBuf>,
    nss: Option<PathBuf>,
    root: PathBuf,
    inter: PathBuf,
    /// More trust anchors for pyHanko (a TSA of another PKI).
    extra_roots: Vec<PathBuf>,
    /// Extra arguments of `pyhanko sign` (the subcommand and its options).
    pyhanko_args: Vec<String>,
}

impl Outside {
    fn new(dir: &Path) -> Outside {
        Self::with_pki(
            dir,
            &repo().join("certs/test/root.pem"),
            &repo().join("certs/test/issuing-ca.pem"),
            &["validate", "--no-revocation-check"],
        )
    }

    fn with_pki(dir: &Path, root: &Path, inter: &Path, pyhanko_args: &[&str]) -> Outside {
        let certutil = tool("certutil");
        let pdfsig = tool("pdfsig");
        // An NSS database trusting the test root, for pdfsig's certificate status.
        let nss = match (&certutil, &pdfsig) {
            (Some(cu), Some(_)) => {
                let db = dir.join(format!("nss-{}", rand::random::<u32>()));
                std::fs::create_dir_all(&db).unwrap();
                let d = format!("sql:{}", db.display());
                let quiet = |c: &mut Command| {
                    c.stdin(std::process::Stdio::null())
                        .status()
                        .unwrap()
                        .success()
                };
                let ok = quiet(Command::new(cu).args(["-N", "-d", &d, "--empty-password"]))
                    && quiet(
                        Command::new(cu)
                            .args(["-A", "-d", &d, "-n", "kyso-test-root", "-t", "CT,C,C", "-i"])
                            .arg(root),
                    )
                    && quiet(
                        Command::new(cu)
                            .args(["-A", "-d", &d, "-n", "kyso-test-ca", "-t", ",,", "-i"])
                            .arg(inter),
                    );
                assert!(ok, "creating the NSS database");
                Some(db)
            }
            _ => None,
        };
        Outside {
            qpdf: tool("qpdf"),
            pdfsig,
            pyhanko: tool("pyhanko"),
            nss,
            root: root.to_path_buf(),
            inter: inter.to_path_buf(),
            extra_roots: Vec::new(),
            pyhanko_args: pyhanko_args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// Check one signed file: every signature intact for pdfsig, the ones in
    /// `trusted` (0-based, in pdfsig's order) with a trusted certificate; the
    /// `fields` intact and trusted for pyHanko.
    fn check(&self, file: &Path, signatures: usize, trusted: &[usize], fields: &[&str]) {
        if let Some(q) = &self.qpdf {
            let out = Command::new(q).arg("--check").arg(file).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("No syntax or stream encoding errors"),
                "qpdf --check {}: {text}",
                file.display()
            );
        }
        if let (Some(p), Some(db)) = (&self.pdfsig, &self.nss) {
            let out = Command::new(p)
                .arg("-nssdir")
                .arg(format!("sql:{}", db.display()))
                .arg(file)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let blocks: Vec<&str> = text.split("Signature #").skip(1).collect();
            assert_eq!(
                blocks.len(),
                signatures,
                "pdfsig {}: {text}",
                file.display()
            );
            for (i, b) in blocks.iter().enumerate() {
                // pdfsig does not check ETSI.RFC3161 document timestamps.
                if b.contains("Signature Type: unknown") {
                    continue;
                }
                assert!(
                    b.contains("Signature Validation: Signature is Valid."),
                    "pdfsig, signature {}: {text}",
                    i + 1
                );
            }
            for i in trusted {
                assert!(
                    blocks[*i].contains("Certificate Validation: Certificate is Trusted."),
                    "pdfsig, signature {}, of {}: {text}",
                    i + 1,
                    file.display()
                );
            }
        }
        if let Some(h) = &self.pyhanko {
            // One line per signature: FIELD:HASH:INTACT:TRUSTED,...
            let out = Command::new(h)
                .arg("sign")
                .args(&self.pyhanko_args)
                .args(["--trust-replace", "--trust"])
                .arg(&self.root)
                .args(
                    self.extra_roots
                        .iter()
                        .flat_map(|r| [std::ffi::OsStr::new("--trust"), r.as_os_str()]),
                )
                .arg("--other-certs")
                .arg(&self.inter)
                .arg(file)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "pyhanko on {}: {text}",
                file.display()
            );
            for field in fields {
                assert!(
                    text.lines()
                        .any(|l| l.starts_with(&format!("{field}:"))
                            && l.contains(":INTACT:TRUSTED")),
                    "pyhanko on {field} of {}: {text}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn every_algorithm_and_input_validates_everywhere() {
    let dir = temp_dir("matrix");
    let outside = Outside::new(&dir);
    let inputs = [
        ("unsigned.pdf", 0usize),        // classic cross-reference table
        ("unsigned-xref-stream.pdf", 0), // cross-reference stream, objects in object streams
        // Already signed by pyHanko (another signer: poppler's pdfsig cannot
        // check the certificate of a second signature by the same certificate).
        ("docsign-eku.pdf", 1),
    ];
    let keys = [
        (
            "signer-rsa",
            false,
            Digest::Sha256,
            "RSA PKCS#1 v1.5 SHA-256",
        ),
        ("signer-pss", true, Digest::Sha512, "RSASSA-PSS SHA-512"),
        ("signer-ec", false, Digest::Sha384, "ECDSA P-256 SHA-384"),
    ];
    for (input, before) in inputs {
        let data = std::fs::read(repo().join("testdata/pdf").join(input)).unwrap();
        for (stem, pss, digest, what) in keys {
            let k = key(stem, pss);
            let opts = SignOptions {
                field: "KysoSig".into(),
                digest,
                time: at(),
                reason: Some("Phê duyệt kết quả".into()),
                location: Some("Hà Nội".into()),
                ..SignOptions::default()
            };
            let signed = sign_pdf(&data, &k, &opts).unwrap();
            assert_eq!(
                &signed[..data.len()],
                &data[..],
                "{input}: the original bytes stay untouched"
            );
            let verdicts = kyso_verdicts(&signed);
            assert_eq!(
                verdicts,
                vec!["TOTAL_PASSED@B-B".to_string(); before + 1],
                "{what} on {input}"
            );
            let out = dir.join(format!("{stem}-{input}"));
            std::fs::write(&out, &signed).unwrap();
            let mut fields = vec!["KysoSig"];
            if before == 1 {
                fields.push("Sig1");
            }
            // pdfsig's NSS does not accept the documentSigning-only EKU of the
            // pyHanko signature already there: only kyso's is asked to be trusted.
            outside.check(&out, before + 1, &[before], &fields);
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn pkcs12(dir: &Path, stem: &str, password: &str) -> PathBuf {
    let c = repo().join("certs/test");
    let key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(c.join(format!("{stem}.key.pem"))).unwrap(),
    )
    .unwrap();
    let cert =
        openssl::x509::X509::from_pem(&std::fs::read(c.join(format!("{stem}.pem"))).unwrap())
            .unwrap();
    let mut ca = openssl::stack::Stack::new().unwrap();
    ca.push(
        openssl::x509::X509::from_pem(&std::fs::read(c.join("issuing-ca.pem")).unwrap()).unwrap(),
    )
    .unwrap();
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("signer")
        .pkey(&key)
        .cert(&cert)
        .ca(ca)
        .build2(password)
        .unwrap();
    let path = dir.join(format!("{stem}.p12"));
    std::fs::write(&path, p12.to_der().unwrap()).unwrap();
    path
}

#[test]
fn pkcs12_keys_and_clear_refusals() {
    let dir = temp_dir("p12");
    let p12 = pkcs12(&dir, "signer-rsa", "mật-khẩu");
    let k = SoftKey::from_pkcs12(&p12, "mật-khẩu", false).unwrap();
    let data = std::fs::read(repo().join("testdata/pdf/unsigned.pdf")).unwrap();
    let opts = SignOptions {
        time: at(),
        ..SignOptions::default()
    };
    let signed = sign_pdf(&data, &k, &opts).unwrap();
    assert_eq!(kyso_verdicts(&signed), vec!["TOTAL_PASSED@B-B"]);
    // A wrong password says so.
    let e = SoftKey::from_pkcs12(&p12, "wrong", false)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("password is wrong"), "{e}");
    // A field that already exists is refused, nothing written.
    let e = sign_pdf(&signed, &k, &opts).err().unwrap().to_string();
    assert!(e.contains("already has a field named Signature1"), "{e}");
    // A key that is not the certificate's is refused.
    let c = repo().join("certs/test");
    let e = SoftKey::from_pem(
        &c.join("signer-ec.key.pem"),
        &c.join("signer-rsa.pem"),
        &[],
        false,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("does not belong to the certificate"), "{e}");
    // Not a PDF.
    assert!(sign_pdf(b"hello", &k, &opts).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn kyso_then_pyhanko_keeps_both_valid() {
    let Some(pyhanko) = tool("pyhanko") else {
        return;
    };
    let dir = temp_dir("interop");
    let data = std::fs::read(repo().join("testdata/pdf/unsigned.pdf")).unwrap();
    let signed = sign_pdf(
        &data,
        &key("signer-rsa", false),
        &SignOptions {
            time: at(),
            ..SignOptions::default()
        },
    )
    .unwrap();
    let first = dir.join("kyso.pdf");
    std::fs::write(&first, &signed).unwrap();
    let p12 = pkcs12(&dir, "signer-ec", "secret");
    let pass = dir.join("pass");
    std::fs::write(&pass, "secret").unwrap();
    let second = dir.join("kyso-then-pyhanko.pdf");
    let out = Command::new(pyhanko)
        .args(["sign", "addsig", "--field", "PySig", "pkcs12", "--passfile"])
        .arg(&pass)
        .arg(&first)
        .arg(&second)
        .arg(&p12)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyhanko addsig: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both = std::fs::read(&second).unwrap();
    assert_eq!(
        kyso_verdicts(&both),
        vec!["TOTAL_PASSED@B-B", "TOTAL_PASSED@B-B"]
    );
    Outside::new(&dir).check(&second, 2, &[0, 1], &["Signature1", "PySig"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn sign_command_writes_a_valid_file() {
    let dir = temp_dir("cli");
    let c = repo().join("certs/test");
    let out = dir.join("out.pdf");
    let st = Command::new(env!("CARGO_BIN_EXE_kyso"))
        .arg("sign")
        .arg(repo().join("testdata/pdf/unsigned.pdf"))
        .arg(&out)
        .arg("--key")
        .arg(c.join("signer-rsa.key.pem"))
        .arg("--cert")
        .arg(c.join("signer-rsa.pem"))
        .arg("--chain")
        .arg(c.join("issuing-ca.pem"))
        .args(["--time", "2026-11-01T00:00:00Z", "--reason", "Phê duyệt"])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert_eq!(
        kyso_verdicts(&std::fs::read(&out).unwrap()),
        vec!["TOTAL_PASSED@B-B"]
    );
    let p12 = pkcs12(&dir, "signer-rsa", "pw");
    let st = Command::new(env!("CARGO_BIN_EXE_kyso"))
        .arg("sign")
        .arg(repo().join("testdata/pdf/unsigned.pdf"))
        .arg(dir.join("bad.pdf"))
        .arg("--p12")
        .arg(&p12)
        .args(["--password", "nope"])
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&st.stderr).contains("password is wrong"));
    assert!(!dir.join("bad.pdf").exists(), "nothing written on failure");
    std::fs::remove_dir_all(dir).unwrap();
}

/// certomancer's live test PKI (testdata/live), with its TSA, OCSP and CRLs on 127.0.0.1:9817.
fn certomancer() -> Option<live::LivePki> {
    live::live_pki()
}

fn live_verdicts(pdf: &[u8], online: bool) -> Vec<String> {
    let live = repo().join("testdata/live/certs");
    let mut trust = TrustStore::new();
    trust.load_path(&live.join("root.pem")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut opts = VerifyOptions::new(trust, now);
    if online {
        // B-T carries no validation data: the TSA's issuer and the status come from outside.
        opts.intermediates = kyso::pki::load_certificates(&live.join("interm.pem")).unwrap();
        opts.fetch.online = true;
    }
    verdicts(&kyso::verify_bytes(pdf, None, "signed.pdf", &opts).0)
}

#[test]
fn levels_b_t_b_lt_b_lta_with_live_tsa_ocsp_crl() {
    let Some(server) = certomancer() else { return };
    let dir = temp_dir("levels");
    let live = repo().join("testdata/live");
    let chain: Vec<_> = ["interm.pem", "root.pem"]
        .iter()
        .flat_map(|f| kyso::pki::load_certificates(&live.join("certs").join(f)).unwrap())
        .collect();
    let services = kyso::sign::Services {
        tsa_url: Some("http://127.0.0.1:9817/kyso-live/tsa/tsa".into()),
        timeout: std::time::Duration::from_secs(10),
        ..Default::default()
    };
    let data = std::fs::read(repo().join("testdata/pdf/unsigned.pdf")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut files = Vec::new();
    for (pss, digest) in [(false, Digest::Sha256), (true, Digest::Sha384)] {
        let k = SoftKey::from_pem(
            &live.join("keys/signer-good.key.pem"),
            &live.join("certs/signer-good.pem"),
            &chain,
            pss,
        )
        .unwrap();
        for level in [SignLevel::BT, SignLevel::BLT, SignLevel::BLTA] {
            let opts = SignOptions {
                digest,
                time: now,
                ..SignOptions::default()
            };
            let signed = kyso::sign::sign_pdf_level(&data, &k, &opts, level, &services).unwrap();
            let name = format!("{level:?}-{}.pdf", if pss { "pss" } else { "pkcs1" });
            let path = dir.join(&name);
            std::fs::write(&path, &signed).unwrap();
            files.push((level, path, signed));
        }
    }
    // B-T judged online (it carries no validation data) while the PKI is up.
    let outside_online = Outside::with_pki(
        &dir,
        &live.join("certs/root.pem"),
        &live.join("certs/interm.pem"),
        &["validate"],
    );
    for (level, path, signed) in &files {
        if *level == SignLevel::BT {
            assert_eq!(
                live_verdicts(signed, true),
                vec!["TOTAL_PASSED@B-T"],
                "{}",
                path.display()
            );
            outside_online.check(path, 1, &[], &["Signature1"]);
        }
    }
    // ECDSA (P-256, SHA-384): the test PKI's signer (its CRLs supplied for
    // the /DSS: its certificates name no CRL or OCSP URL), the live TSA.
    let test_certs = repo().join("certs/test");
    let mut ec_chain = kyso::pki::load_certificates(&test_certs.join("issuing-ca.pem")).unwrap();
    ec_chain.extend(kyso::pki::load_certificates(&test_certs.join("root.pem")).unwrap());
    ec_chain.extend(chain.iter().cloned());
    let ec = SoftKey::from_pem(
        &test_certs.join("signer-ec.key.pem"),
        &test_certs.join("signer-ec.pem"),
        &ec_chain,
        false,
    )
    .unwrap();
    let ec_services = kyso::sign::Services {
        crls: ["root.crl", "issuing-ca.crl"]
            .iter()
            .map(|f| std::fs::read(repo().join("testdata/revocation").join(f)).unwrap())
            .collect(),
        ..services.clone()
    };
    let mut ec_files = Vec::new();
    for level in [SignLevel::BT, SignLevel::BLT, SignLevel::BLTA] {
        let opts = SignOptions {
            digest: Digest::Sha384,
            time: now,
            ..SignOptions::default()
        };
        let signed = kyso::sign::sign_pdf_level(&data, &ec, &opts, level, &ec_services).unwrap();
        let path = dir.join(format!("ecdsa-{level:?}.pdf"));
        std::fs::write(&path, &signed).unwrap();
        ec_files.push((level, path, signed));
    }
    let both_roots = |online: bool| {
        let mut trust = test_root_trust();
        trust.load_path(&live.join("certs/root.pem")).unwrap();
        let mut vo = VerifyOptions::new(trust, now);
        if online {
            vo.intermediates =
                kyso::pki::load_certificates(&live.join("certs/interm.pem")).unwrap();
            vo.fetch.online = true;
            for f in ["root.crl", "issuing-ca.crl"] {
                let der = std::fs::read(repo().join("testdata/revocation").join(f)).unwrap();
                vo.revocation
                    .crls
                    .push((kyso::revocation::RevSource::Caller, der.into()));
            }
        }
        vo
    };
    let (_, ec_bt, signed_bt) = &ec_files[0];
    assert_eq!(
        verdicts(&kyso::verify_bytes(signed_bt, None, "ec.pdf", &both_roots(true)).0),
        vec!["TOTAL_PASSED@B-T"]
    );
    let mut o = Outside::new(&dir);
    o.extra_roots.push(live.join("certs/root.pem"));
    o.inter = dir.join("inter.pem");
    std::fs::write(
        &o.inter,
        [
            std::fs::read(repo().join("certs/test/issuing-ca.pem")).unwrap(),
            std::fs::read(live.join("certs/interm.pem")).unwrap(),
        ]
        .concat(),
    )
    .unwrap();
    o.check(ec_bt, 1, &[0], &["Signature1"]);

    // B-LT and B-LTA stand on their own: judged with the PKI stopped.
    drop(server);
    let t = time::OffsetDateTime::now_utc();
    let at = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let outside_offline = Outside::with_pki(
        &dir,
        &live.join("certs/root.pem"),
        &live.join("certs/interm.pem"),
        &["adesverify", "--validation-time", &at],
    );
    // ECDSA B-LT / B-LTA offline, both roots trusted, nothing else.
    for (level, path, signed) in &ec_files[1..] {
        let want: Vec<String> = if *level == SignLevel::BLT {
            vec!["TOTAL_PASSED@B-LT".into()]
        } else {
            vec!["TOTAL_PASSED@B-LTA".into(), "TOTAL_PASSED".into()]
        };
        assert_eq!(
            verdicts(&kyso::verify_bytes(signed, None, "ec.pdf", &both_roots(false)).0),
            want,
            "{}",
            path.display()
        );
        let mut o = Outside::with_pki(
            &dir,
            &repo().join("certs/test/root.pem"),
            &dir.join("inter.pem"),
            &["adesverify", "--validation-time", &at],
        );
        o.extra_roots.push(live.join("certs/root.pem"));
        o.check(path, want.len(), &[], &["Signature1"]);
    }
    for (level, path, signed) in &files {
        match level {
            SignLevel::BLT => {
                assert_eq!(
                    live_verdicts(signed, false),
                    vec!["TOTAL_PASSED@B-LT"],
                    "{}",
                    path.display()
                );
                outside_offline.check(path, 1, &[], &["Signature1"]);
            }
            SignLevel::BLTA => {
                assert_eq!(
                    live_verdicts(signed, false),
                    vec!["TOTAL_PASSED@B-LTA", "TOTAL_PASSED"],
                    "{}",
                    path.display()
                );
                outside_offline.check(path, 2, &[], &["Signature1"]);
            }
            _ => {}
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn level_b_t_without_a_tsa_is_refused() {
    let data = std::fs::read(repo().join("testdata/pdf/unsigned.pdf")).unwrap();
    let e = kyso::sign::sign_pdf_level(
        &data,
        &key("signer-rsa", false),
        &SignOptions::default(),
        SignLevel::BT,
        &kyso::sign::Services::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("need a timestamp authority"), "{e}");
    // A TSA that does not answer: a clear error, no file.
    let services = kyso::sign::Services {
        tsa_url: Some("http://127.0.0.1:9/tsa".into()),
        timeout: std::time::Duration::from_millis(500),
        ..Default::default()
    };
    let e = kyso::sign::sign_pdf_level(
        &data,
        &key("signer-rsa", false),
        &SignOptions::default(),
        SignLevel::BT,
        &services,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("timestamp authority http://127.0.0.1:9/tsa"),
        "{e}"
    );
}

/// A SoftHSM2 token in a temporary directory with the test signers' keys and certificates.
struct SoftHsm {
    dir: PathBuf,
    module: PathBuf,
}

const SOFTHSM_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

fn softhsm(tag: &str) -> Option<SoftHsm> {
    let module = PathBuf::from(
        std::env::var("KYSO_PKCS11_MODULE").unwrap_or_else(|_| SOFTHSM_MODULE.into()),
    );
    let (Some(util), Some(tool_bin)) = (tool("softhsm2-util"), tool("pkcs11-tool")) else {
        return None;
    };
    if !module.exists() {
        assert!(
            !require_tools(),
            "KYSO_REQUIRE_SIGN_TOOLS=1 but {} is missing",
            module.display()
        );
        println!("SKIPPED ({} missing)", module.display());
        return None;
    }
    let dir = temp_dir(tag);
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.join("tokens").display()
        ),
    )
    .unwrap();
    let run = |c: &mut Command| {
        let out = c
            .env("SOFTHSM2_CONF", &conf)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{:?}: {}",
            c,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(Command::new(&util).args([
        "--init-token",
        "--free",
        "--label",
        "kyso-officials",
        "--so-pin",
        "12345678",
        "--pin",
        "1234",
    ]));
    let certs = repo().join("certs/test");
    let live = repo().join("testdata/live");
    for (stem, id, key_file, cert_file) in [
        (
            "signer-rsa",
            "01",
            certs.join("signer-rsa.key.pem"),
            certs.join("signer-rsa.pem"),
        ),
        (
            "signer-ec",
            "02",
            certs.join("signer-ec.key.pem"),
            certs.join("signer-ec.pem"),
        ),
        (
            "signer-pss",
            "03",
            certs.join("signer-pss.key.pem"),
            certs.join("signer-pss.pem"),
        ),
        // The live PKI's signer, for B-LTA with certomancer's TSA, OCSP and CRLs.
        (
            "live-good",
            "04",
            live.join("keys/signer-good.key.pem"),
            live.join("certs/signer-good.pem"),
        ),
    ] {
        run(Command::new(&util).args(["--import"]).arg(&key_file).args([
            "--token",
            "kyso-officials",
            "--label",
            stem,
            "--id",
            id,
            "--pin",
            "1234",
        ]));
        let der = dir.join(format!("{stem}.der"));
        let cert = openssl::x509::X509::from_pem(&std::fs::read(&cert_file).unwrap()).unwrap();
        std::fs::write(&der, cert.to_der().unwrap()).unwrap();
        run(Command::new(&tool_bin)
            .arg("--module")
            .arg(&module)
            .args([
                "--token-label",
                "kyso-officials",
                "--login",
                "--pin",
                "1234",
                "--write-object",
            ])
            .arg(&der)
            .args(["--type", "cert", "--id", id, "--label", stem]));
    }
    Some(SoftHsm { dir, module })
}

#[test]
fn softhsm_signing() {
    // The module is loaded in a child test process whose environment names the token directory.
    if let Ok(conf) = std::env::var("KYSO_SOFTHSM_CHILD") {
        let module = PathBuf::from(
            std::env::var("KYSO_PKCS11_MODULE").unwrap_or_else(|_| SOFTHSM_MODULE.into()),
        );
        let data = std::fs::read(repo().join("testdata/pdf/unsigned.pdf")).unwrap();
        let ca = kyso::pki::load_certificates(&repo().join("certs/test/issuing-ca.pem")).unwrap();
        for (label, pss, digest) in [
            ("signer-rsa", false, Digest::Sha256),
            ("signer-pss", true, Digest::Sha512),
            ("signer-ec", false, Digest::Sha384),
        ] {
            let k = kyso::sign::pkcs11::Pkcs11Key::open_at(
                &module,
                "kyso-officials",
                label,
                "1234",
                ca.clone(),
                pss,
            )
            .unwrap();
            let opts = SignOptions {
                digest,
                time: at(),
                ..SignOptions::default()
            };
            let signed = sign_pdf(&data, &k, &opts).unwrap();
            assert_eq!(
                kyso_verdicts(&signed),
                vec!["TOTAL_PASSED@B-B"],
                "{label} on SoftHSM ({conf})"
            );
            std::fs::write(
                PathBuf::from(&conf).with_file_name(format!("{label}.pdf")),
                signed,
            )
            .unwrap();
        }
        // A wrong PIN: a clear error, tried once; the right PIN still works after it.
        let e = kyso::sign::pkcs11::Pkcs11Key::open_at(
            &module,
            "kyso-officials",
            "signer-rsa",
            "0000",
            ca.clone(),
            false,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("PIN of token \"kyso-officials\" is wrong"),
            "{e}"
        );
        assert!(
            kyso::sign::pkcs11::Pkcs11Key::open_at(
                &module,
                "kyso-officials",
                "signer-rsa",
                "1234",
                ca.clone(),
                false
            )
            .is_ok()
        );
        let e = kyso::sign::pkcs11::Pkcs11Key::open_at(
            &module,
            "no-such-token",
            "signer-rsa",
            "1234",
            ca,
            false,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("no PKCS#11 token labelled"), "{e}");
        // B-LTA with the token's key, the live TSA, OCSP and CRLs (when the parent started them).
        if std::env::var("KYSO_SOFTHSM_LIVE").is_ok() {
            let live = repo().join("testdata/live/certs");
            let chain: Vec<_> = ["interm.pem", "root.pem"]
                .iter()
                .flat_map(|f| kyso::pki::load_certificates(&live.join(f)).unwrap())
                .collect();
            let k = kyso::sign::pkcs11::Pkcs11Key::open_at(
                &module,
                "kyso-officials",
                "live-good",
                "1234",
                chain,
                false,
            )
            .unwrap();
            let services = kyso::sign::Services {
                tsa_url: Some("http://127.0.0.1:9817/kyso-live/tsa/tsa".into()),
                ..Default::default()
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let signed = kyso::sign::sign_pdf_level(
                &data,
                &k,
                &SignOptions {
                    time: now,
                    ..SignOptions::default()
                },
                SignLevel::BLTA,
                &services,
            )
            .unwrap();
            std::fs::write(
                PathBuf::from(&conf).with_file_name("live-good-b-lta.pdf"),
                signed,
            )
            .unwrap();
        }
        return;
    }
    let Some(hsm) = softhsm("softhsm") else {
        return;
    };
    let server = certomancer();
    let conf = hsm.dir.join("softhsm2.conf");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "softhsm_signing", "--nocapture"])
        .env("SOFTHSM2_CONF", &conf)
        .env("KYSO_SOFTHSM_CHILD", &conf)
        .env("KYSO_PKCS11_MODULE", &hsm.module)
        .envs(server.as_ref().map(|_| ("KYSO_SOFTHSM_LIVE", "1")))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    // What the token signed is judged by the outside validators too.
    let outside = Outside::new(&hsm.dir);
    for label in ["signer-rsa", "signer-pss", "signer-ec"] {
        outside.check(
            &hsm.dir.join(format!("{label}.pdf")),
            1,
            &[0],
            &["Signature1"],
        );
    }
    if server.is_some() {
        // The B-LTA made with the token stands on its own: judged with the PKI stopped.
        drop(server);
        let f = hsm.dir.join("live-good-b-lta.pdf");
        let signed = std::fs::read(&f).unwrap();
        assert_eq!(
            live_verdicts(&signed, false),
            vec!["TOTAL_PASSED@B-LTA", "TOTAL_PASSED"]
        );
        let live = repo().join("testdata/live/certs");
        let t = time::OffsetDateTime::now_utc();
        let at = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        Outside::with_pki(
            &hsm.dir,
            &live.join("root.pem"),
            &live.join("interm.pem"),
            &["adesverify", "--validation-time", &at],
        )
        .check(&f, 2, &[], &["Signature1"]);
    }
    std::fs::remove_dir_all(&hsm.dir).unwrap();
}

#[test]
fn certification_signatures_docmdp() {
    let dir = temp_dir("certify");
    let data = std::fs::read(repo().join("testdata/pdf/unsigned.pdf")).unwrap();
    let outside = Outside::new(&dir);
    for (p, first_after) in [(1u8, "refused"), (2, "TOTAL_PASSED@B-B")] {
        let certified = sign_pdf(
            &data,
            &key("signer-rsa", false),
            &SignOptions {
                time: at(),
                certify: Some(p),
                ..SignOptions::default()
            },
        )
        .unwrap();
        assert_eq!(kyso_verdicts(&certified), vec!["TOTAL_PASSED@B-B"]);
        let (r, _) = kyso::verify_bytes(
            &certified,
            None,
            "c.pdf",
            &VerifyOptions::new(test_root_trust(), at()),
        );
        assert_eq!(r.signatures[0].doc_mdp, Some(p));
        // A second signature: allowed under P=2; under P=1 kyso refuses to
        // write it (testdata/pdf/certified-p1-then-signed.pdf, by pyHanko,
        // shows the verdict when another tool does).
        let second = sign_pdf(
            &certified,
            &key("signer-ec", false),
            &SignOptions {
                field: "Sig2".into(),
                time: at(),
                ..SignOptions::default()
            },
        );
        if p == 1 {
            let e = second.err().unwrap().to_string();
            assert!(
                e.contains("certification signature in field 'Signature1' (DocMDP P=1) allows no further changes"),
                "{e}"
            );
            continue;
        }
        let both = second.unwrap();
        assert_eq!(
            kyso_verdicts(&both),
            vec![first_after.to_string(), "TOTAL_PASSED@B-B".into()],
            "P={p}"
        );
        if p == 2 {
            let f = dir.join("certified-p2-then-signed.pdf");
            std::fs::write(&f, &both).unwrap();
            outside.check(&f, 2, &[0, 1], &["Signature1", "Sig2"]);
        }
        // Certification must come first.
        let e = sign_pdf(
            &certified,
            &key("signer-ec", false),
            &SignOptions {
                field: "Sig3".into(),
                certify: Some(2),
                ..SignOptions::default()
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("must be the document's first signature"), "{e}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// pyHanko's own difference analysis judges the earlier signatures of each
/// file exactly as before kyso signed it (tests/support/pyhanko_judge.py).
fn pyhanko_agrees(pairs: &[(PathBuf, PathBuf)]) {
    let Some(pyhanko) = tool("pyhanko") else {
        return;
    };
    let python = pyhanko.with_file_name("python3");
    let mut args = Vec::new();
    for (a, b) in pairs {
        args.push(a.clone());
        args.push(b.clone());
    }
    let c = repo().join("certs/test");
    let out = Command::new(&python)
        .arg(repo().join("tests/support/pyhanko_judge.py"))
        .arg(c.join("signer-rsa.key.pem"))
        .arg(c.join("signer-rsa.pem"))
        .args(&args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pyhanko_judge: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let differ: Vec<&str> = text.lines().filter(|l| l.starts_with("DIFFER")).collect();
    println!("{}", text.lines().last().unwrap_or(""));
    assert!(
        differ.is_empty(),
        "pyHanko judges differently after kyso signed:\n{}",
        differ.join("\n")
    );
}

/// A 120×120 PNG with transparency: a red ring on nothing.
fn seal_png() -> Vec<u8> {
    let (w, h) = (120u32, 120u32);
    let mut px = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let d = ((f64::from(x) - 60.0).powi(2) + (f64::from(y) - 60.0).powi(2)).sqrt();
            let a = if (40.0..56.0).contains(&d) { 255 } else { 0 };
            px.extend_from_slice(&[200, 20, 20, a]);
        }
    }
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        let mut wr = e.write_header().unwrap();
        wr.write_image_data(&px).unwrap();
    }
    out
}

/// Dark pixels of page 1 rendered by pdftoppm (grey, 36 dpi: one pixel per 2 points)
/// inside the rectangle (x, y, w, h in points, y from the bottom).
fn dark_pixels(pdf: &Path, rect: [f64; 4]) -> usize {
    let pdftoppm = tool("pdftoppm").unwrap();
    let out = Command::new(pdftoppm)
        .args(["-r", "36", "-gray", "-f", "1", "-l", "1"])
        .arg(pdf)
        .output()
        .unwrap();
    assert!(out.status.success());
    // PGM: "P5\nW H\n255\n" then bytes.
    let data = out.stdout;
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..i]).to_string());
    }
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &data[i + 1..];
    let scale = 0.5; // 36 dpi / 72 points
    let [x, y, rw, rh] = rect;
    let (x0, x1) = ((x * scale) as usize, ((x + rw) * scale) as usize);
    let (y0, y1) = (h - ((y + rh) * scale) as usize, h - (y * scale) as usize);
    let mut dark = 0;
    for row in y0..y1.min(h) {
        for col in x0..x1.min(w) {
            if pixels[row * w + col] < 128 {
                dark += 1;
            }
        }
    }
    dark
}

#[test]
fn visible_seal_renders_with_vietnamese_text() {
    let font = PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if !font.exists() {
        assert!(
            !require_tools(),
            "KYSO_REQUIRE_SIGN_TOOLS=1 but {} is missing (fonts-dejavu-core)",
            font.display()
        );
        println!("SKIPPED (no DejaVu font)");
        return;
    }
    let dir = temp_dir("seal");
    let data = std::fs::read(repo().join("testdata/pdf/unsigned.pdf")).unwrap();
    let rect = [300.0, 80.0, 250.0, 90.0];
    let lines = kyso::sign::seal::default_lines(
        "Nguyễn Văn An",
        Some("Sở Tư pháp tỉnh Hà Nam"),
        at() + 3 * 3600 + 4 * 60 + 5,
    );
    assert_eq!(lines[2], "Thời gian ký: 10:04:05 01/11/2026");
    assert_eq!(lines[3], "2026-11-01T10:04:05+07:00");
    let opts = SignOptions {
        time: at(),
        seal: Some(kyso::sign::seal::Seal {
            rect,
            image_png: Some(seal_png()),
            lines,
            font: std::fs::read(&font).unwrap(),
        }),
        ..SignOptions::default()
    };
    let signed = sign_pdf(&data, &key("signer-rsa", false), &opts).unwrap();
    assert_eq!(kyso_verdicts(&signed), vec!["TOTAL_PASSED@B-B"]);
    let f = dir.join("sealed.pdf");
    std::fs::write(&f, &signed).unwrap();
    Outside::new(&dir).check(&f, 1, &[0], &["Signature1"]);
    if tool("pdftoppm").is_some() {
        // The seal area is drawn; the same area of the unsigned page is blank.
        let unsigned = dir.join("unsigned.pdf");
        std::fs::write(&unsigned, &data).unwrap();
        assert_eq!(dark_pixels(&unsigned, rect), 0);
        let dark = dark_pixels(&f, rect);
        assert!(
            dark > 200,
            "the seal area is almost blank: {dark} dark pixels"
        );
    }
    if let Some(pdftotext) = tool("pdftotext") {
        let out = Command::new(pdftotext).arg(&f).arg("-").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for want in [
            "Ký bởi: Nguyễn Văn An",
            "Cơ quan: Sở Tư pháp tỉnh Hà Nam",
            "10:04:05 01/11/2026",
            "+07:00",
        ] {
            assert!(text.contains(want), "pdftotext lacks {want:?}: {text}");
        }
    }
    // A broken image is refused with a clear error.
    let mut bad = opts.clone();
    if let Some(s) = bad.seal.as_mut() {
        s.image_png = Some(b"\x89PNG\r\n\x1a\nbroken".to_vec());
    }
    let e = sign_pdf(&data, &key("signer-rsa", false), &bad)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("seal image"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// An ECDSA P-384 signer issued here by the test issuing CA (the committed
/// test PKI has a P-256 one only).
fn p384_signer(dir: &Path) -> (PathBuf, PathBuf) {
    use openssl::x509::extension::{
        AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
    };
    let c = repo().join("certs/test");
    let ca_key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(c.join("issuing-ca.key.pem")).unwrap(),
    )
    .unwrap();
    let ca =
        openssl::x509::X509::from_pem(&std::fs::read(c.join("issuing-ca.pem")).unwrap()).unwrap();
    let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::SECP384R1).unwrap();
    let key =
        openssl::pkey::PKey::from_ec_key(openssl::ec::EcKey::generate(&group).unwrap()).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("C", "VN").unwrap();
    name.append_entry_by_text("O", "kyso test PKI").unwrap();
    name.append_entry_by_text("serialNumber", "CCCD:001203009384")
        .unwrap();
    name.append_entry_by_text("CN", "Đỗ Thị P-384").unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = openssl::bn::BigNum::from_u32(rand::random::<u32>() | 1)
        .unwrap()
        .to_asn1_integer()
        .unwrap();
    b.set_serial_number(&serial).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(ca.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::from_unix(1_767_225_600).unwrap())
        .unwrap(); // 2026-01-01
    b.set_not_after(&openssl::asn1::Asn1Time::from_unix(1_893_456_000).unwrap())
        .unwrap(); // 2030-01-01
    b.append_extension(BasicConstraints::new().critical().build().unwrap())
        .unwrap();
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .non_repudiation()
            .build()
            .unwrap(),
    )
    .unwrap();
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(Some(&ca), None))
        .unwrap();
    b.append_extension(ski).unwrap();
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(Some(&ca), None))
        .unwrap();
    b.append_extension(aki).unwrap();
    b.sign(&ca_key, openssl::hash::MessageDigest::sha384())
        .unwrap();
    let cert = b.build();
    let (kp, cp) = (dir.join("p384.key.pem"), dir.join("p384.pem"));
    std::fs::write(&kp, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cp, cert.to_pem().unwrap()).unwrap();
    (kp, cp)
}

#[test]
fn ecdsa_p384_validates_everywhere() {
    let dir = temp_dir("p384");
    let (kp, cp) = p384_signer(&dir);
    let ca = kyso::pki::load_certificates(&repo().join("certs/test/issuing-ca.pem")).unwrap();
    let k = SoftKey::from_pem(&kp, &cp, &ca, false).unwrap();
    let data = std::fs::read(repo().join("testdata/pdf/unsigned.pdf")).unwrap();
    for digest in [Digest::Sha384, Digest::Sha512] {
        let signed = sign_pdf(
            &data,
            &k,
            &SignOptions {
                digest,
                time: at(),
                ..SignOptions::default()
            },
        )
        .unwrap();
        // Issued here, so not on the committed CRL: revocation is not asked.
        assert_eq!(
            verdicts(&kyso::verify_bytes(&signed, None, "p384.pdf", &unrevoked_options()).0),
            vec!["TOTAL_PASSED@B-B"],
            "{digest:?}"
        );
        let f = dir.join(format!("p384-{digest:?}.pdf"));
        std::fs::write(&f, &signed).unwrap();
        Outside::new(&dir).check(&f, 1, &[0], &["Signature1"]);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Signing never panics on any PDF we have (fixtures, attacks, the outside
/// corpora): it signs, or refuses with an error. What it signs, kyso
/// verifies: the new signature is intact (never HASH_FAILURE,
/// SIG_CRYPTO_FAILURE or FORMAT_FAILURE) and covers the whole file.
#[test]
fn signing_any_pdf_signs_or_refuses_cleanly() {
    let mut files: Vec<PathBuf> = Vec::new();
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "pdf") {
                out.push(p);
            }
        }
    }
    walk(&repo().join("testdata"), &mut files);
    let corpora = repo().join("../shared/corpora/pdf");
    if corpora.exists() {
        walk(&corpora, &mut files);
    } else {
        println!("SKIPPED the outside corpora: ../shared/corpora/pdf is absent");
    }
    files.sort();
    let k = key("signer-rsa", false);
    let (mut signed_n, mut refused) = (0, 0);
    let vo = unrevoked_options;
    // What kyso says of each signature: indication, sub-indication and the
    // failed checks, which must not change when kyso adds its own.
    let judged = |r: &kyso::Report| -> Vec<String> {
        r.signatures
            .iter()
            .filter(|s| s.field_name.as_deref() != Some("KysoCorpusSig"))
            .map(|s| {
                let mut failed: Vec<&str> = s
                    .checks
                    .iter()
                    .filter(|c| c.outcome == kyso::report::Outcome::Failed)
                    .map(|c| c.code)
                    .collect();
                failed.sort();
                format!(
                    "{} {}/{} [{}]",
                    s.field_name.as_deref().unwrap_or("-"),
                    s.indication.as_str(),
                    s.sub_indication.map(|x| x.as_str()).unwrap_or("-"),
                    failed.join(" ")
                )
            })
            .collect()
    };
    let (mut earlier, mut changed) = (0usize, Vec::new());
    let mut pyhanko_list = Vec::new();
    let out_dir = temp_dir("corpus");
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if data.len() > 64 << 20 {
            continue;
        }
        let opts = SignOptions {
            field: "KysoCorpusSig".into(),
            time: at(),
            ..SignOptions::default()
        };
        let (before, _) = kyso::verify_bytes(&data, None, "b.pdf", &vo());
        match sign_pdf(&data, &k, &opts) {
            Ok(signed) => {
                signed_n += 1;
                assert_eq!(&signed[..data.len()], &data[..], "{}", f.display());
                let (r, _) = kyso::verify_bytes(&signed, None, "s.pdf", &vo());
                let (was, now) = (judged(&before), judged(&r));
                earlier += was.len();
                if was != now {
                    changed.push(format!(
                        "{}\n  before: {was:?}\n  after:  {now:?}",
                        f.display()
                    ));
                }
                if !was.is_empty() {
                    let out = out_dir.join(format!("{signed_n}.pdf"));
                    std::fs::write(&out, &signed).unwrap();
                    pyhanko_list.push((f.clone(), out));
                }
                let mine = r
                    .signatures
                    .iter()
                    .find(|s| s.field_name.as_deref() == Some("KysoCorpusSig"))
                    .unwrap_or_else(|| {
                        panic!("{}: kyso does not find its own signature", f.display())
                    });
                let sub = mine.sub_indication.map(|s| s.as_str()).unwrap_or("");
                assert!(
                    !matches!(
                        sub,
                        "HASH_FAILURE" | "SIG_CRYPTO_FAILURE" | "FORMAT_FAILURE"
                    ),
                    "{}: own signature {} {sub}",
                    f.display(),
                    mine.indication.as_str()
                );
                assert!(
                    mine.coverage
                        .as_ref()
                        .is_some_and(|c| c.kind == kyso::report::CoverageKind::EntireFile),
                    "{}: own signature does not cover the file",
                    f.display()
                );
            }
            Err(_) => refused += 1,
        }
    }
    println!(
        "signed {signed_n}, refused {refused} of {} PDFs; earlier signatures judged as before: {} of {earlier}",
        files.len(),
        earlier - changed.len()
    );
    assert!(
        changed.is_empty(),
        "kyso's signature changed the verdict on earlier signatures:\n{}",
        changed.join("\n")
    );
    pyhanko_agrees(&pyhanko_list);
    std::fs::remove_dir_all(out_dir).unwrap();
    assert!(
        signed_n > files.len() / 2,
        "signed {signed_n} of {}",
        files.len()
    );
}

#[test]
fn signatures_that_a_lock_forbids_are_refused() {
    let rw = repo().join("testdata/pdf/realworld");
    let opts = |seal: bool| SignOptions {
        field: "Sig3".into(),
        time: at(),
        seal: seal.then(|| kyso::sign::seal::Seal {
            rect: [100.0, 100.0, 160.0, 60.0],
            image_png: None,
            lines: vec!["Kiểm thử".into()],
            font: Vec::new(),
        }),
        ..SignOptions::default()
    };
    // A field lock with /P 2 (pyHanko): a later invisible signature keeps
    // every signature valid; a visible one is refused before anything is written.
    let p2 = std::fs::read(rw.join("lock-p2-then-signed.pdf")).unwrap();
    let ok = sign_pdf(&p2, &key("signer-rsa", false), &opts(false)).unwrap();
    assert_eq!(kyso_verdicts(&ok), vec!["TOTAL_PASSED@B-B"; 3]);
    let e = sign_pdf(&p2, &key("signer-rsa", false), &opts(true))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("the field lock of signature 'Sig1' (/P 2) allows later signatures only in fields prepared before it"),
        "{e}"
    );
    // /P 1: no later signature at all.
    let p1 = std::fs::read(rw.join("lock-p1-then-signed.pdf")).unwrap();
    let e = sign_pdf(&p1, &key("signer-rsa", false), &opts(false))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("the field lock of signature 'Sig1' (/P 1) allows no further changes"),
        "{e}"
    );
}

/// `kyso verify FILE --certificate OUT.pdf`: the verification certificate
/// (Phiếu kết quả) of a verified file, signed with the given key, is judged
/// valid by kyso, pyHanko and pdfsig (and `qpdf --check`); `pdftotext`
/// shows its Vietnamese lines; `pdftoppm` renders it non-blank.
#[test]
fn verification_certificate_validates_everywhere() {
    let dir = temp_dir("phieu");
    let c = repo().join("certs/test");
    let out = dir.join("phieu.pdf");
    let file = repo().join("testdata/pdf/rsa-pkcs1.pdf");
    let st = Command::new(env!("CARGO_BIN_EXE_kyso"))
        .arg("verify")
        .arg(&file)
        .arg("--trust")
        .arg(c.join("root.pem"))
        .args(["--at", "2026-11-01T00:00:00Z", "--revocation", "optional"])
        .arg("--certificate")
        .arg(&out)
        .arg("--certificate-key")
        .arg(c.join("signer-rsa.key.pem"))
        .arg("--certificate-cert")
        .arg(c.join("signer-rsa.pem"))
        .arg("--certificate-chain")
        .arg(c.join("issuing-ca.pem"))
        .args([
            "--certificate-issuer",
            "Trung tâm Phục vụ hành chính công tỉnh",
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let pdf = std::fs::read(&out).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut opts = VerifyOptions::new(test_root_trust(), now);
    opts.require_revocation = false;
    let r = kyso::verify_bytes(&pdf, None, "phieu.pdf", &opts).0;
    assert_eq!(verdicts(&r), ["TOTAL_PASSED@B-B"]);
    assert_eq!(
        r.signatures[0].doc_mdp,
        Some(1),
        "a certification allowing no change"
    );
    Outside::new(&dir).check(&out, 1, &[0], &["PhieuKetQua"]);
    if let Some(p) = tool("pdftotext") {
        let o = Command::new(p).arg(&out).arg("-").output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        let sha = kyso::archive::sha256_hex(&std::fs::read(&file).unwrap());
        for want in [
            "PHIẾU KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ",
            "Trung tâm Phục vụ hành chính công tỉnh",
            "rsa-pkcs1.pdf",
            "Nguyễn Văn An",
            "Chữ ký #1: HỢP LỆ",
            "Tất cả 1 chữ ký số hợp lệ",
            &sha[..40],
        ] {
            assert!(text.contains(want), "pdftotext lacks {want:?}:\n{text}");
        }
    }
    if let Some(p) = tool("pdftoppm") {
        let o = Command::new(p)
            .args(["-gray", "-r", "30", "-f", "1", "-l", "1"])
            .arg(&out)
            .output()
            .unwrap();
        // A PGM (P5): header, then one byte per pixel.
        let img = o.stdout;
        let body = img.splitn(4, |b| *b == b'\n').nth(3).unwrap_or(&[]);
        let dark = body.iter().filter(|p| **p < 128).count();
        assert!(
            body.len() > 10_000 && dark > 500,
            "pdftoppm: {} pixels, {dark} dark",
            body.len()
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}
