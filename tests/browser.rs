//! The pages in a real headless Chromium (tests/browser/page.py, selenium
//! over WebDriver with Debian's `chromium` and `chromedriver`, axe-core
//! injected on every page) against a kyso server started here on
//! 127.0.0.1. Screenshots land in target/screenshots/.
//!
//! Needs /usr/bin/chromium, /usr/bin/chromedriver, selenium in .venv and
//! node_modules/axe-core (`bash .ci/run` installs them); without them the
//! test prints SKIPPED, unless KYSO_REQUIRE_BROWSER=1 (CI), where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use kyso::server::config::{Config, KeyConfig, SigningKey, SigningProfile, TrustGroup};
use kyso::server::policy::Policy;

fn secret(role: &str) -> String {
    format!("kyso-browser-test-{role}-key")
}

fn missing() -> Option<String> {
    let root = common::root();
    let needs = [
        PathBuf::from("/usr/bin/chromium"),
        PathBuf::from("/usr/bin/chromedriver"),
        root.join(".venv/bin/python"),
        root.join("node_modules/axe-core/axe.min.js"),
    ];
    if let Some(p) = needs.iter().find(|p| !p.exists()) {
        return Some(format!("{} is absent", p.display()));
    }
    let selenium = Command::new(root.join(".venv/bin/python"))
        .args(["-c", "import selenium"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    (!selenium).then(|| "selenium is not installed in .venv".to_string())
}

/// The test PKI trusted by the default policy, its CRLs supplied, the
/// clock at 2026-11-01 (as the server tests).
fn config(dir: &std::path::Path) -> Config {
    let root = common::root();
    let mut c = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        certs_dir: root.join("certs"),
        fixed_time: Some("2026-11-01T00:00:00Z".into()),
        ..Config::default()
    };
    c.trust.insert(
        "test".into(),
        TrustGroup {
            anchors: vec![root.join("certs/test/root.pem")],
            pins: vec![],
            intermediates: vec![],
        },
    );
    c.revocation.crls = vec![
        root.join("testdata/revocation/root.crl"),
        root.join("testdata/revocation/issuing-ca.crl"),
    ];
    c.policy.default = Some(Policy {
        trust: vec!["test".into()],
        ..Policy::default()
    });
    // The test sends a few dozen uploads in a minute from one address.
    c.public_page.per_minute = 1000;
    // Verification certificates signed with the test PKI's signer.
    let certs = root.join("certs/test");
    c.signing.profiles.insert(
        "phieu".into(),
        SigningProfile {
            key: SigningKey::Pem {
                key: certs.join("signer-rsa.key.pem"),
                cert: certs.join("signer-rsa.pem"),
                pss: false,
            },
            chain: vec![certs.join("issuing-ca.pem")],
            level: "B-B".into(),
            digest: "sha256".into(),
            tsa_url: None,
            officials: vec![],
            reason: None,
            location: None,
            certify: None,
            seal: None,
        },
    );
    c.certificate.profile = Some("phieu".into());
    c.keys = kyso::server::ROLES
        .iter()
        .map(|r| KeyConfig {
            id: format!("{r}-browser"),
            role: r.to_string(),
            sha256: kyso::archive::sha256_hex(secret(r).as_bytes()),
        })
        .collect();
    c.certificate.issuer = "Trung tâm Phục vụ hành chính công".into();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_page_in_chromium() {
    if let Some(why) = missing() {
        assert!(
            std::env::var_os("KYSO_REQUIRE_BROWSER").is_none(),
            "KYSO_REQUIRE_BROWSER is set but {why}"
        );
        println!("SKIPPED: {why}");
        return;
    }
    let root = common::root();
    let dir = std::env::temp_dir().join(format!("kyso-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let started = kyso::server::start(config(&dir)).await.unwrap();
    let base = format!("http://{}", started.addr);
    // A dossier in the archive for the staff pages: one signed file, one not.
    let meta = serde_json::json!({
        "code": "HS-2026-000777", "procedure": "1.004227",
        "applicant": {"kind": "CCCD", "value": "001203004567"},
        "files": [{"role": "don_de_nghi"}, {"role": "giay_to_kem_theo"}]
    });
    let part = |p: &str| {
        reqwest::multipart::Part::bytes(std::fs::read(root.join("testdata/pdf").join(p)).unwrap())
            .file_name(p.to_string())
    };
    let form = reqwest::multipart::Form::new()
        .text("dossier", meta.to_string())
        .part("file", part("rsa-pkcs1.pdf"))
        .part("file", part("unsigned.pdf"));
    let st = reqwest::Client::new()
        .post(format!("{base}/v1/dossiers"))
        .bearer_auth(secret("portal"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(st.as_u16(), 201, "the dossier is stored");
    // And one accepted in lieu of the originals: the applicant's own signed form.
    let meta = serde_json::json!({
        "code": "HS-2026-000778", "procedure": "1.004227",
        "applicant": {"kind": "CCCD", "value": "001203004567"},
        "files": [{"role": "don_de_nghi"}]
    });
    let form = reqwest::multipart::Form::new()
        .text("dossier", meta.to_string())
        .part("file", part("rsa-pkcs1.pdf"));
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/v1/dossiers"))
        .bearer_auth(secret("portal"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], true, "{v}");
    let script = root.join("tests/browser/page.py");
    let shots = root.join("target/screenshots");
    let axe = root.join("node_modules/axe-core/axe.min.js");
    let python = root.join(".venv/bin/python");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(&base)
            .arg(common::root())
            .arg(shots)
            .arg(axe)
            .env("KYSO_AUDITOR_KEY", secret("auditor"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let _ = started.shutdown.send(());
    let _ = started.task.await;
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("browser: all page checks passed"));
}
