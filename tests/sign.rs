//! Signing (PAdES B-B so far): every algorithm × every kind of input kyso
//! produces is judged valid by kyso itself, by pyHanko (`pyhanko sign
//! validate`, the test root trusted), by poppler's `pdfsig` (integrity and
//! certificate status with an NSS database trusting the test root), and
//! `qpdf --check` finds no error. A pyHanko signature followed by kyso's,
//! and the reverse, keep both valid. Outside tools missing: SKIPPED, unless
//! KYSO_REQUIRE_SIGN_TOOLS=1 (CI).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use kyso::pki::TrustStore;
use kyso::sign::cms::Digest;
use kyso::sign::keys::SoftKey;
use kyso::sign::{SignOptions, sign_pdf};
use kyso::validate::VerifyOptions;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn at() -> i64 {
    kyso::pki::cert::parse_rfc3339("2026-11-01T00:00:00Z").unwrap()
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kyso-sign-{tag}-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn key(stem: &str, pss: bool) -> SoftKey {
    let c = repo().join("certs/test");
    let ca = kyso::pki::load_certificates(&c.join("issuing-ca.pem")).unwrap();
    SoftKey::from_pem(&c.join(format!("{stem}.key.pem")), &c.join(format!("{stem}.pem")), &ca, pss).unwrap()
}

/// kyso's verdict on every signature: (indication, sub-indication, level).
fn kyso_verdicts(pdf: &[u8]) -> Vec<String> {
    let mut trust = TrustStore::new();
    trust.load_path(&repo().join("certs/test/root.pem")).unwrap();
    let mut opts = VerifyOptions::new(trust, at());
    for f in ["root.crl", "issuing-ca.crl"] {
        let der = std::fs::read(repo().join("testdata/revocation").join(f)).unwrap();
        opts.revocation
            .crls
            .push((kyso::revocation::RevSource::Caller, der.into()));
    }
    let (r, _) = kyso::verify_bytes(pdf, None, "signed.pdf", &opts);
    r.signatures
        .iter()
        .map(|s| {
            format!(
                "{}{}{}",
                s.indication.as_str(),
                s.sub_indication.map(|x| format!("/{}", x.as_str())).unwrap_or_default(),
                s.level.map(|l| format!("@{}", l.as_str())).unwrap_or_default()
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
        assert!(!require_tools(), "KYSO_REQUIRE_SIGN_TOOLS=1 but {name} is not installed");
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
}

impl Outside {
    fn new(dir: &Path) -> Outside {
        let certutil = tool("certutil");
        let pdfsig = tool("pdfsig");
        // An NSS database trusting the test root, for pdfsig's certificate status.
        let nss = match (&certutil, &pdfsig) {
            (Some(cu), Some(_)) => {
                let db = dir.join("nss");
                std::fs::create_dir_all(&db).unwrap();
                let d = format!("sql:{}", db.display());
                let ok = Command::new(cu).args(["-N", "-d", &d, "--empty-password"]).status().unwrap().success()
                    && Command::new(cu)
                        .args(["-A", "-d", &d, "-n", "kyso-test-root", "-t", "CT,C,C", "-i"])
                        .arg(repo().join("certs/test/root.pem"))
                        .status()
                        .unwrap()
                        .success()
                    && Command::new(cu)
                        .args(["-A", "-d", &d, "-n", "kyso-test-ca", "-t", ",,", "-i"])
                        .arg(repo().join("certs/test/issuing-ca.pem"))
                        .status()
                        .unwrap()
                        .success();
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
        }
    }

    /// Check one signed file: every signature intact for pdfsig, the ones in
    /// `trusted` (0-based, in pdfsig's order) with a trusted certificate; the
    /// `fields` intact and trusted for pyHanko.
    fn check(&self, file: &Path, signatures: usize, trusted: &[usize], fields: &[&str]) {
        if let Some(q) = &self.qpdf {
            let out = Command::new(q).arg("--check").arg(file).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success() && text.contains("No syntax or stream encoding errors"), "qpdf --check {}: {text}", file.display());
        }
        if let (Some(p), Some(db)) = (&self.pdfsig, &self.nss) {
            let out = Command::new(p)
                .arg("-nssdir")
                .arg(format!("sql:{}", db.display()))
                .arg(file)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(text.matches("Signature Validation: Signature is Valid.").count(), signatures, "pdfsig {}: {text}", file.display());
            let blocks: Vec<&str> = text.split("Signature #").skip(1).collect();
            assert_eq!(blocks.len(), signatures, "pdfsig {}: {text}", file.display());
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
                .args(["sign", "validate", "--no-revocation-check", "--trust-replace", "--trust"])
                .arg(repo().join("certs/test/root.pem"))
                .arg("--other-certs")
                .arg(repo().join("certs/test/issuing-ca.pem"))
                .arg(file)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "pyhanko on {}: {text}", file.display());
            for field in fields {
                assert!(
                    text.lines().any(|l| l.starts_with(&format!("{field}:")) && l.contains(":INTACT:TRUSTED")),
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
        ("unsigned.pdf", 0usize),            // classic cross-reference table
        ("unsigned-xref-stream.pdf", 0),     // cross-reference stream, objects in object streams
        // Already signed by pyHanko (another signer: poppler's pdfsig cannot
        // check the certificate of a second signature by the same certificate).
        ("docsign-eku.pdf", 1),
    ];
    let keys = [
        ("signer-rsa", false, Digest::Sha256, "RSA PKCS#1 v1.5 SHA-256"),
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
            assert_eq!(&signed[..data.len()], &data[..], "{input}: the original bytes stay untouched");
            let verdicts = kyso_verdicts(&signed);
            assert_eq!(verdicts, vec!["TOTAL_PASSED@B-B".to_string(); before + 1], "{what} on {input}");
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
    let key = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(c.join(format!("{stem}.key.pem"))).unwrap()).unwrap();
    let cert = openssl::x509::X509::from_pem(&std::fs::read(c.join(format!("{stem}.pem"))).unwrap()).unwrap();
    let mut ca = openssl::stack::Stack::new().unwrap();
    ca.push(openssl::x509::X509::from_pem(&std::fs::read(c.join("issuing-ca.pem")).unwrap()).unwrap()).unwrap();
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
    let e = SoftKey::from_pkcs12(&p12, "wrong", false).err().unwrap().to_string();
    assert!(e.contains("password is wrong"), "{e}");
    // A field that already exists is refused, nothing written.
    let e = sign_pdf(&signed, &k, &opts).err().unwrap().to_string();
    assert!(e.contains("already has a field named Signature1"), "{e}");
    // A key that is not the certificate's is refused.
    let c = repo().join("certs/test");
    let e = SoftKey::from_pem(&c.join("signer-ec.key.pem"), &c.join("signer-rsa.pem"), &[], false)
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
    let Some(pyhanko) = tool("pyhanko") else { return };
    let dir = temp_dir("interop");
    let data = std::fs::read(repo().join("testdata/pdf/unsigned.pdf")).unwrap();
    let signed = sign_pdf(&data, &key("signer-rsa", false), &SignOptions { time: at(), ..SignOptions::default() }).unwrap();
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
    assert!(out.status.success(), "pyhanko addsig: {}", String::from_utf8_lossy(&out.stderr));
    let both = std::fs::read(&second).unwrap();
    assert_eq!(kyso_verdicts(&both), vec!["TOTAL_PASSED@B-B", "TOTAL_PASSED@B-B"]);
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
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    assert_eq!(kyso_verdicts(&std::fs::read(&out).unwrap()), vec!["TOTAL_PASSED@B-B"]);
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
