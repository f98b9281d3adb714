//! The HTTP service, run for real on 127.0.0.1:0 and called with a real
//! client: every endpoint, every role rule, the acceptance policy,
//! idempotency and versions, offline re-verification, limits, OpenAPI.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "support/services.rs"]
mod services;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use kyso::archive::sha256_hex;
use kyso::server::config::{Config, KeyConfig, SigningKey, SigningProfile, Storage, TrustGroup};
use kyso::server::policy::Policy;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    services::repo()
}

fn secret(role: &str) -> String {
    format!("test-key-for-{role}")
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "kyso-{tag}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn policy(f: impl FnOnce(&mut Policy)) -> Policy {
    let mut p = Policy {
        trust: vec!["test".into()],
        ..Policy::default()
    };
    f(&mut p);
    p
}

/// The test PKI trusted, its CRLs supplied, the clock at 2026-11-01.
fn config(dir: &std::path::Path) -> Config {
    let mut c = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        certs_dir: repo().join("certs"),
        fixed_time: Some("2026-11-01T00:00:00Z".into()),
        ..Config::default()
    };
    c.trust.insert(
        "test".into(),
        TrustGroup {
            anchors: vec![repo().join("certs/test/root.pem")],
            pins: vec![],
            intermediates: vec![],
        },
    );
    c.trust.insert(
        "other".into(),
        TrustGroup {
            anchors: vec![repo().join("certs/test/other-root.pem")],
            pins: vec![],
            intermediates: vec![],
        },
    );
    c.revocation.crls = vec![
        repo().join("testdata/revocation/root.crl"),
        repo().join("testdata/revocation/issuing-ca.crl"),
    ];
    c.keys = kyso::server::ROLES
        .iter()
        .map(|r| KeyConfig {
            id: format!("{r}-test"),
            role: r.to_string(),
            sha256: sha256_hex(secret(r).as_bytes()),
        })
        .collect();
    c.policy.default = Some(policy(|_| {}));
    let procs = [
        (
            "P-OPTIONAL",
            policy(|p| p.signed_roles = vec!["don_de_nghi".into()]),
        ),
        ("P-BT", policy(|p| p.min_level = "B-T".into())),
        ("P-ORG", policy(|p| p.organisation_for_individual = true)),
        ("P-OTHER-ROOT", policy(|p| p.trust = vec!["other".into()])),
        ("P-SHA1", policy(|p| p.sha1 = "accept".into())),
        (
            "P-ROLES",
            policy(|p| p.allowed_roles = Some(vec!["don_de_nghi".into()])),
        ),
    ];
    for (k, p) in procs {
        c.policy.procedures.insert(k.into(), p);
    }
    let certs = repo().join("certs/test");
    let pem = |stem: &str| SigningKey::Pem {
        key: certs.join(format!("{stem}.key.pem")),
        cert: certs.join(format!("{stem}.pem")),
        pss: false,
    };
    let profile = |key: SigningKey, officials: Vec<String>| SigningProfile {
        key,
        chain: vec![certs.join("issuing-ca.pem")],
        level: "B-B".into(),
        digest: "sha256".into(),
        tsa_url: None,
        officials,
        reason: Some("Phê duyệt kết quả giải quyết thủ tục hành chính".into()),
        location: Some("UBND tỉnh".into()),
        certify: None,
        seal: None,
    };
    for (name, p) in [
        ("so-noi-vu", profile(pem("signer-rsa"), vec![])),
        (
            "restricted",
            profile(pem("signer-rsa"), vec!["someone-else".into()]),
        ),
        ("expired", profile(pem("signer-expired"), vec![])),
        ("revoked", profile(pem("signer-revoked-early"), vec![])),
        (
            "usb-token",
            profile(
                SigningKey::Remote {
                    cert: certs.join("signer-rsa.pem"),
                    pss: false,
                },
                vec![],
            ),
        ),
    ] {
        c.signing.profiles.insert(name.into(), p);
    }
    let font = PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if font.exists() {
        let mut sealed = profile(pem("signer-rsa"), vec![]);
        sealed.seal = Some(kyso::server::config::SealConfig {
            page: 1,
            rect: [300.0, 80.0, 250.0, 90.0],
            image: None,
            agency: Some("Sở Nội vụ".into()),
            font,
        });
        c.signing.profiles.insert("so-noi-vu-seal".into(), sealed);
    }
    c
}

struct Server {
    base: String,
    started: Option<kyso::server::Started>,
    http: reqwest::Client,
}

impl Server {
    async fn start(cfg: Config) -> Server {
        let started = kyso::server::start(cfg).await.expect("server starts");
        Server {
            base: format!("http://{}", started.addr),
            started: Some(started),
            http: reqwest::Client::new(),
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.started.take() {
            let _ = s.shutdown.send(());
            s.task.await.unwrap().unwrap();
        }
    }

    /// `POST /v1/verify?store=true` of a fixture as the portal: 200, the answer.
    async fn store(&self, fixture_name: &str) -> Value {
        let (st, v) = self
            .call(
                "POST",
                "/v1/verify?store=true",
                Some("portal"),
                Some(fixture(fixture_name)),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{fixture_name}");
        v
    }

    fn url(&self, p: &str) -> String {
        format!("{}{p}", self.base)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        role: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, Value) {
        let mut r = self.http.request(method.parse().unwrap(), self.url(path));
        if let Some(role) = role {
            r = r.bearer_auth(secret(role));
        }
        if let Some(b) = body {
            r = r.body(b);
        }
        let resp = r.send().await.unwrap();
        let st = resp.status();
        let bytes = resp.bytes().await.unwrap();
        (st, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn dossier(&self, role: &str, meta: Value, files: &[&str]) -> (StatusCode, Value) {
        let mut form = reqwest::multipart::Form::new().part(
            "dossier",
            reqwest::multipart::Part::text(meta.to_string())
                .mime_str("application/json")
                .unwrap(),
        );
        for f in files {
            let data = std::fs::read(repo().join("testdata").join(f)).unwrap();
            let name = f.rsplit('/').next().unwrap().to_string();
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(data).file_name(name),
            );
        }
        let resp = self
            .http
            .post(self.url("/v1/dossiers"))
            .bearer_auth(secret(role))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let st = resp.status();
        (st, resp.json().await.unwrap_or(Value::Null))
    }

    async fn audit(&self) -> Vec<Value> {
        let (st, v) = self
            .call("GET", "/v1/audit?limit=1000", Some("auditor"), None)
            .await;
        assert_eq!(st, StatusCode::OK);
        v["entries"].as_array().unwrap().clone()
    }
}

/// kyso's report on a PDF, the test root trusted, at the test clock,
/// revocation not required (what the service handed out, checked here).
fn verify_offline(pdf: &[u8]) -> kyso::Report {
    let mut trust = kyso::pki::TrustStore::new();
    trust
        .load_path(&repo().join("certs/test/root.pem"))
        .unwrap();
    let mut o = kyso::validate::VerifyOptions::new(
        trust,
        kyso::pki::cert::parse_rfc3339("2026-11-01T00:00:00Z").unwrap(),
    );
    o.require_revocation = false;
    kyso::verify_bytes(pdf, None, "out.pdf", &o).0
}

fn fixture(f: &str) -> Vec<u8> {
    std::fs::read(repo().join("testdata").join(f)).unwrap()
}

fn meta(code: &str, procedure: &str, kind: &str, value: &str, roles: &[&str]) -> Value {
    json!({
        "code": code,
        "procedure": procedure,
        "applicant": {"kind": kind, "value": value},
        "files": roles.iter().map(|r| json!({"role": r})).collect::<Vec<_>>(),
    })
}

/// (code, passed) of every check of one file of a decision.
fn checks(decision: &Value, file: usize) -> Vec<(String, bool)> {
    decision["files"][file]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["code"].as_str().unwrap().to_string(),
                c["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

const SIGNER_RSA: &str = "001203004567"; // CCCD of certs/test/signer-rsa.pem (rsa-pkcs1.pdf)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_checks_key_and_role() {
    let dir = temp_dir("roles");
    let s = Server::start(config(&dir)).await;
    let sha = "0".repeat(64);
    let routes: Vec<(&str, String, &str)> = vec![
        ("POST", "/v1/verify".into(), "/v1/verify"),
        ("POST", "/v1/dossiers".into(), "/v1/dossiers"),
        ("GET", "/v1/dossiers/HS-1".into(), "/v1/dossiers/{code}"),
        (
            "GET",
            format!("/v1/documents/{sha}"),
            "/v1/documents/{sha256}",
        ),
        (
            "GET",
            format!("/v1/documents/{sha}/report"),
            "/v1/documents/{sha256}/report",
        ),
        (
            "POST",
            format!("/v1/documents/{sha}/reverify"),
            "/v1/documents/{sha256}/reverify",
        ),
        ("GET", "/v1/audit".into(), "/v1/audit"),
        ("GET", "/v1/audit/verify".into(), "/v1/audit/verify"),
        ("POST", "/v1/sign?profile=so-noi-vu".into(), "/v1/sign"),
        (
            "POST",
            "/v1/sign/prepare?profile=usb-token".into(),
            "/v1/sign/prepare",
        ),
        (
            "POST",
            "/v1/sign/abc/complete".into(),
            "/v1/sign/{id}/complete",
        ),
    ];
    let (mut denied, mut forbidden) = (0, 0);
    for (m, path, route) in &routes {
        let (st, v) = s.call(m, path, None, None).await;
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")),
            "{m} {path}"
        );
        let resp = s
            .http
            .request(m.parse().unwrap(), s.url(path))
            .bearer_auth("kyso_portal_not-a-key")
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "{m} {path} with a wrong key"
        );
        denied += 2;
        for role in kyso::server::ROLES {
            let allowed = kyso::server::allowed_roles(m, route).contains(&role);
            assert!(!kyso::server::allowed_roles(m, route).is_empty());
            let (st, v) = s.call(m, path, Some(role), None).await;
            if allowed {
                assert!(
                    st != StatusCode::UNAUTHORIZED && st != StatusCode::FORBIDDEN,
                    "{role} on {m} {path}: {st}"
                );
            } else {
                assert_eq!(
                    (st, v["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("FORBIDDEN")),
                    "{role} on {m} {path}"
                );
                forbidden += 1;
            }
        }
    }
    // The matrix the issue asks for.
    assert_eq!(
        kyso::server::allowed_roles("POST", "/v1/dossiers"),
        &["portal", "admin"]
    );
    assert_eq!(
        kyso::server::allowed_roles("POST", "/v1/documents/{sha256}/reverify"),
        &["auditor", "admin"]
    );
    assert_eq!(
        kyso::server::allowed_roles("GET", "/v1/audit"),
        &["auditor", "admin"]
    );
    // Every refusal is in the audit log, with the key id when the key was known.
    let log = s.audit().await;
    let count = |a: &str| log.iter().filter(|e| e["action"] == a).count();
    // Unauthenticated refusals are aggregated: one row per client address,
    // kind (no key / unknown key) and minute, the clock here being fixed.
    assert!(denied > 2, "{denied}");
    assert_eq!(count("auth.denied"), 2);
    assert_eq!(count("auth.forbidden"), forbidden);
    assert!(
        log.iter()
            .any(|e| e["action"] == "auth.forbidden" && e["key_id"] == "official-test")
    );
    assert!(
        log.iter().any(|e| e["action"] == "auth.denied"
            && e["key_id"].as_str().unwrap().starts_with("unknown:"))
    );
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_one_key_per_role_shown_once() {
    let dir = temp_dir("firstkeys");
    let mut cfg = config(&dir);
    cfg.keys.clear();
    let s = Server::start(cfg.clone()).await;
    let keys = s.started.as_ref().unwrap().new_keys.clone();
    assert_eq!(
        keys.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        kyso::server::ROLES
    );
    let auditor = keys.iter().find(|(r, _)| r == "auditor").unwrap().1.clone();
    s.stop().await;
    // Only hashes are kept: the secret is nowhere in the database file.
    let db = std::fs::read(dir.join("kyso.sqlite3")).unwrap();
    assert!(!db.windows(auditor.len()).any(|w| w == auditor.as_bytes()));
    let s = Server::start(cfg).await;
    assert!(
        s.started.as_ref().unwrap().new_keys.is_empty(),
        "keys are created at the first start only"
    );
    let resp = s
        .http
        .get(s.url("/v1/audit/verify"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// Two inputs that once made the process panic (a UID with `é` across byte
/// 10; a signingTime with `é`): answered with a JSON report, the connection
/// intact, and the service still healthy afterwards.
#[tokio::test]
async fn inputs_that_once_crashed_are_answered_with_json() {
    let dir = temp_dir("crashers");
    let s = Server::start(config(&dir)).await;
    for (f, want, sub) in [
        ("cms/uid-multibyte.p7m", "TOTAL_PASSED", Value::Null),
        (
            "cms/signing-time-non-ascii.p7m",
            "TOTAL_FAILED",
            json!("FORMAT_FAILURE"),
        ),
    ] {
        let (st, v) = s
            .call("POST", "/v1/verify", Some("portal"), Some(fixture(f)))
            .await;
        assert_eq!(st, StatusCode::OK, "{f}: {v}");
        let sig = &v["report"]["signatures"][0];
        assert_eq!(sig["indication"], want, "{f}: {v}");
        assert_eq!(sig["sub_indication"], sub, "{f}");
    }
    let (_, v) = s
        .call(
            "POST",
            "/v1/verify",
            Some("portal"),
            Some(fixture("cms/uid-multibyte.p7m")),
        )
        .await;
    let id = &v["report"]["signatures"][0]["signer"]["identities"][0];
    assert_eq!(id["value"], "123456789éabc");
    assert_eq!(id["kind"], "UNKNOWN");
    let (st, _) = s.call("GET", "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_endpoint_raw_multipart_and_store() {
    let dir = temp_dir("verify");
    let s = Server::start(config(&dir)).await;
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let sha = sha256_hex(&pdf);

    let (st, v) = s
        .call("POST", "/v1/verify", Some("portal"), Some(pdf.clone()))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(v.get("sha256").is_none(), "named only when stored");
    assert_eq!(v["stored"], false);
    assert_eq!(v["report"]["summary"]["indication"], "TOTAL_PASSED");
    assert_eq!(v["report"]["signatures"][0]["level"], "B-B");
    let (st, _) = s
        .call(
            "GET",
            &format!("/v1/documents/{sha}"),
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "store=false keeps nothing");

    // Multipart, with a tampered file: TOTAL_FAILED/HASH_FAILURE.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(fixture("pdf/tampered-inside-range.pdf"))
            .file_name("t.pdf"),
    );
    let v: Value = s
        .http
        .post(s.url("/v1/verify"))
        .bearer_auth(secret("portal"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["report"]["signatures"][0]["indication"], "TOTAL_FAILED");
    assert_eq!(
        v["report"]["signatures"][0]["sub_indication"],
        "HASH_FAILURE"
    );
    assert_eq!(v["report"]["document"]["name"], "t.pdf");

    // Detached CMS as multipart file + detached.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(fixture("cms/detached-rsa.p7s")),
        )
        .part(
            "detached",
            reqwest::multipart::Part::bytes(fixture("cms/content.txt")),
        );
    let resp = s
        .http
        .post(s.url("/v1/verify"))
        .bearer_auth(secret("portal"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["report"]["document"]["format"], "CMS");
    assert_eq!(v["report"]["summary"]["indication"], "TOTAL_PASSED", "{v}");

    // A bad time, and an unknown multipart field: 400 with both languages.
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify?at=yesterday",
            Some("admin"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_TIME"))
    );
    assert!(v["message_vi"].as_str().unwrap().contains("RFC 3339"));

    // Garbage gets a report saying why, not an error.
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify",
            Some("portal"),
            Some(b"not a document".to_vec()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["report"]["summary"]["indication"], "INDETERMINATE");
    assert!(v["report"]["document"]["error"].is_object());

    // store=true keeps bytes, report and evidence.
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify?store=true",
            Some("portal"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!((st, v["stored"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(v["sha256"], sha);
    let resp = s
        .http
        .get(s.url(&format!("/v1/documents/{sha}")))
        .bearer_auth(secret("auditor"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), pdf);
    let (st, r) = s
        .call(
            "GET",
            &format!("/v1/documents/{sha}/report"),
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let ver = &r["verifications"][0];
    assert_eq!(ver["indication"], "TOTAL_PASSED");
    assert_eq!(ver["validation_time"], "2026-11-01T00:00:00Z");
    assert_eq!(ver["report"]["summary"]["indication"], "TOTAL_PASSED");
    let kinds: Vec<&str> = ver["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"TRUST_ANCHOR") && kinds.iter().filter(|k| **k == "CRL").count() == 2,
        "{kinds:?}"
    );
    let (st, _) = s
        .call(
            "GET",
            "/v1/documents/not-a-hash/report",
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Metrics count verdicts and bytes.
    let m = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains("kyso_verdicts_total{indication=\"TOTAL_PASSED\"} 3"),
        "{m}"
    );
    assert!(
        m.contains("kyso_verdicts_total{indication=\"TOTAL_FAILED\"} 1"),
        "{m}"
    );
    assert!(
        m.contains(
            "kyso_http_requests_total{method=\"POST\",route=\"/v1/verify\",status=\"4xx\"} 1"
        ),
        "{m}"
    );
    assert!(m.contains(&format!(
        "kyso_verified_bytes_total {}",
        2 * pdf.len() as u64
            + fixture("pdf/tampered-inside-range.pdf").len() as u64
            + fixture("cms/detached-rsa.p7s").len() as u64
            + 14
    )));
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dossier_policy_decisions() {
    let dir = temp_dir("policy");
    let s = Server::start(config(&dir)).await;

    // Signed by the applicant: accepted in lieu of originals.
    let (st, v) = s
        .dossier(
            "portal",
            meta("HS-OK", "1.000001", "CCCD", SIGNER_RSA, &["don_de_nghi"]),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let d = &v["decision"];
    assert_eq!(d["accepted_in_lieu_of_originals"], true, "{d}");
    assert_eq!(d["policy"], "default");
    // The portal sees identity numbers masked (all but the last four).
    assert_eq!(
        d["files"][0]["signers"][0]["identities"][0],
        format!("CCCD:********{}", &SIGNER_RSA[8..])
    );
    assert_eq!(
        checks(d, 0),
        vec![
            ("FILE_SIGNED".into(), true),
            ("SIGNATURES_VALID".into(), true),
            ("SIGNATURE_LEVEL".into(), true),
            ("SIGNER_IS_APPLICANT".into(), true)
        ]
    );
    assert!(d["reasons_vi"].as_array().unwrap().is_empty());

    // An unsigned second file: refused, with the reason in both languages.
    let (_, v) = s
        .dossier(
            "portal",
            meta(
                "HS-UNSIGNED",
                "1.000001",
                "CCCD",
                SIGNER_RSA,
                &["don_de_nghi", "giay_to_kem_theo"],
            ),
            &["pdf/rsa-pkcs1.pdf", "pdf/unsigned.pdf"],
        )
        .await;
    let d = &v["decision"];
    assert_eq!(d["accepted_in_lieu_of_originals"], false);
    assert_eq!(d["files"][0]["accepted"], true);
    assert_eq!(checks(d, 1), vec![("FILE_SIGNED".into(), false)]);
    assert_eq!(
        d["reasons_vi"][0],
        "Tệp 2 (unsigned.pdf) chưa được ký số — cần gửi bản sao chứng thực qua bưu điện."
    );
    assert_eq!(
        d["reasons_en"][0],
        "File 2 (unsigned.pdf) is not digitally signed — a certified copy must be sent by post."
    );

    // ... unless the procedure only asks for the application form to be signed.
    let (_, v) = s
        .dossier(
            "portal",
            meta(
                "HS-OPTIONAL",
                "P-OPTIONAL",
                "CCCD",
                SIGNER_RSA,
                &["don_de_nghi", "giay_to_kem_theo"],
            ),
            &["pdf/rsa-pkcs1.pdf", "pdf/unsigned.pdf"],
        )
        .await;
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], true, "{v}");
    assert_eq!(v["decision"]["policy"], "procedure:P-OPTIONAL");
    assert_eq!(
        checks(&v["decision"], 1),
        vec![("SIGNATURE_NOT_REQUIRED".into(), true)]
    );
    // A tampered optional file is still refused.
    let (_, v) = s
        .dossier(
            "portal",
            meta(
                "HS-OPT-TAMPERED",
                "P-OPTIONAL",
                "CCCD",
                SIGNER_RSA,
                &["don_de_nghi", "giay_to_kem_theo"],
            ),
            &["pdf/rsa-pkcs1.pdf", "pdf/tampered-inside-range.pdf"],
        )
        .await;
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], false);
    assert_eq!(
        checks(&v["decision"], 1)[0],
        ("SIGNATURES_VALID".into(), false)
    );

    // Signed by someone else.
    let (_, v) = s
        .dossier(
            "portal",
            meta(
                "HS-WRONG",
                "1.000001",
                "CCCD",
                "079088001234",
                &["don_de_nghi"],
            ),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    let d = &v["decision"];
    assert_eq!(d["accepted_in_lieu_of_originals"], false);
    assert_eq!(
        checks(d, 0).last().unwrap(),
        &("SIGNER_IS_APPLICANT".to_string(), false)
    );
    assert!(
        d["reasons_en"][0]
            .as_str()
            .unwrap()
            .contains("the signer is not the applicant (CCCD:********1234)")
    );

    // Revoked before the signature's timestamp: INDETERMINATE/REVOKED_NO_POE
    // (EN 319 102-1: the timestamp does not prove the signature was made
    // after the revocation, only that it existed by then).
    let (_, v) = s
        .dossier(
            "portal",
            meta(
                "HS-REVOKED",
                "1.000001",
                "CCCD",
                "001088000222",
                &["don_de_nghi"],
            ),
            &["pdf/revoked-before-timestamp.pdf"],
        )
        .await;
    let f = &v["decision"]["files"][0];
    assert_eq!(
        (f["indication"].as_str(), f["sub_indication"].as_str()),
        (Some("INDETERMINATE"), Some("REVOKED_NO_POE")),
        "{f}"
    );
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], false);
    assert!(
        v["decision"]["reasons_vi"][0]
            .as_str()
            .unwrap()
            .contains("INDETERMINATE/REVOKED_NO_POE")
    );

    // Chained to a root the procedure does not trust.
    let (_, v) = s
        .dossier(
            "portal",
            meta(
                "HS-UNTRUSTED",
                "P-OTHER-ROOT",
                "CCCD",
                SIGNER_RSA,
                &["don_de_nghi"],
            ),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    let f = &v["decision"]["files"][0];
    assert_eq!(
        (f["indication"].as_str(), f["sub_indication"].as_str()),
        (Some("INDETERMINATE"), Some("NO_CERTIFICATE_CHAIN_FOUND"))
    );
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], false);

    // Below the procedure's minimum level.
    let (_, v) = s
        .dossier(
            "portal",
            meta("HS-LEVEL", "P-BT", "CCCD", SIGNER_RSA, &["don_de_nghi"]),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    assert_eq!(
        checks(&v["decision"], 0)[2],
        ("SIGNATURE_LEVEL".into(), false)
    );
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], false);
    let (_, v) = s
        .dossier(
            "portal",
            meta("HS-LEVEL-OK", "P-BT", "CCCD", SIGNER_RSA, &["don_de_nghi"]),
            &["pdf/pades-b-t.pdf"],
        )
        .await;
    assert_eq!(v["decision"]["files"][0]["level"], "B-T");
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], true, "{v}");

    // An organisation certificate (MST of a branch) on an individual's dossier:
    // refused by default, accepted where the procedure allows it; and the
    // company itself (parent MST) is matched by its branch's certificate.
    let (_, v) = s
        .dossier(
            "portal",
            meta("HS-ORG-1", "1.000001", "CCCD", SIGNER_RSA, &["don_de_nghi"]),
            &["pdf/ecdsa-p256.pdf"],
        )
        .await;
    assert_eq!(
        checks(&v["decision"], 0)[3],
        ("SIGNER_IS_APPLICANT".into(), false)
    );
    assert!(
        v["decision"]["reasons_en"][0]
            .as_str()
            .unwrap()
            .contains("organisation certificate")
    );
    let (_, v) = s
        .dossier(
            "portal",
            meta("HS-ORG-2", "P-ORG", "CCCD", SIGNER_RSA, &["don_de_nghi"]),
            &["pdf/ecdsa-p256.pdf"],
        )
        .await;
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], true, "{v}");
    let (_, v) = s
        .dossier(
            "portal",
            meta(
                "HS-ORG-3",
                "1.000001",
                "MST",
                "0100686209",
                &["don_de_nghi"],
            ),
            &["pdf/ecdsa-p256.pdf"],
        )
        .await;
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], true, "{v}");

    // A role the procedure does not have.
    let (_, v) = s
        .dossier(
            "portal",
            meta("HS-ROLE", "P-ROLES", "CCCD", SIGNER_RSA, &["ho_khau"]),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    assert_eq!(checks(&v["decision"], 0)[0], ("ROLE_ALLOWED".into(), false));

    // Malformed submissions: 400 with a code, nothing stored.
    let (st, v) = s
        .dossier(
            "portal",
            meta("HS-BAD", "1.000001", "CCCD", "12", &["don_de_nghi"]),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_APPLICANT"))
    );
    let (st, v) = s
        .dossier(
            "portal",
            meta("HS-BAD", "1.000001", "CCCD", SIGNER_RSA, &["a", "b"]),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("FILE_COUNT_MISMATCH"))
    );
    let (st, v) = s
        .dossier(
            "portal",
            meta("../etc", "1.000001", "CCCD", SIGNER_RSA, &["a"]),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_DOSSIER"))
    );
    let (st, _) = s
        .call("GET", "/v1/dossiers/HS-BAD", Some("auditor"), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

async fn idempotency_and_versions(s: &Server) {
    let m = meta(
        "HS-2026-000123",
        "1.000001",
        "CCCD",
        SIGNER_RSA,
        &["don_de_nghi", "giay_to_kem_theo"],
    );
    let files = ["pdf/rsa-pkcs1.pdf", "pdf/unsigned.pdf"];
    let (st, v) = s.dossier("portal", m.clone(), &files).await;
    assert_eq!(
        (st, v["version"].as_u64(), v["replay"].as_bool()),
        (StatusCode::CREATED, Some(1), Some(false))
    );
    assert_eq!(v["decision"]["accepted_in_lieu_of_originals"], false);
    // The same submission again: 200, same version, same decision, nothing new.
    let (st, again) = s.dossier("portal", m.clone(), &files).await;
    assert_eq!(
        (st, again["version"].as_u64(), again["replay"].as_bool()),
        (StatusCode::OK, Some(1), Some(true))
    );
    assert_eq!(again["decision"], v["decision"]);
    // Bổ sung hồ sơ: the signed file replaces the unsigned one — version 2.
    let (st, v2) = s
        .dossier(
            "portal",
            m.clone(),
            &["pdf/rsa-pkcs1.pdf", "pdf/adbe-pkcs7-detached.pdf"],
        )
        .await;
    assert_eq!((st, v2["version"].as_u64()), (StatusCode::CREATED, Some(2)));
    // Regression: a delayed retry of version 1 made a version 3 that
    // reverted the dossier. It is a replay of version 1.
    let (st, late) = s.dossier("portal", m.clone(), &files).await;
    assert_eq!(
        (st, late["version"].as_u64(), late["replay"].as_bool()),
        (StatusCode::OK, Some(1), Some(true))
    );
    assert_eq!(late["decision"], v["decision"]);
    // Another applicant under the same code: 409.
    let other = meta(
        "HS-2026-000123",
        "1.000001",
        "CCCD",
        "079088001234",
        &["don_de_nghi", "giay_to_kem_theo"],
    );
    let (st, e) = s.dossier("portal", other, &files).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("DOSSIER_CONFLICT"))
    );

    let (st, d) = s
        .call("GET", "/v1/dossiers/HS-2026-000123", Some("auditor"), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let versions = d["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["files"][1]["name"], "unsigned.pdf");
    // The auditor reads the full numbers; the portal's answer had them masked.
    let mut kept = versions[0]["decision"].clone();
    kyso::server::privacy::mask_json(&mut kept);
    assert_eq!(kept, v["decision"], "version 1 is kept as it was");
    assert_eq!(versions[1]["files"][1]["name"], "adbe-pkcs7-detached.pdf");
    assert_eq!(versions[1]["accepted_in_lieu_of_originals"], true);
    assert_eq!(d["applicant"]["value"], SIGNER_RSA);
    // Every file of every version can be fetched, with its report.
    for ver in versions {
        for f in ver["files"].as_array().unwrap() {
            let sha = f["document_sha256"].as_str().unwrap();
            let resp = s
                .http
                .get(s.url(&format!("/v1/documents/{sha}")))
                .bearer_auth(secret("auditor"))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            assert_eq!(sha256_hex(&resp.bytes().await.unwrap()), sha);
        }
    }
    // The audit chain is intact and shows what happened.
    let (st, c) = s
        .call("GET", "/v1/audit/verify", Some("auditor"), None)
        .await;
    assert_eq!(
        (st, c["intact"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{c}"
    );
    let log = s.audit().await;
    let outcomes: Vec<&str> = log
        .iter()
        .filter(|e| e["action"] == "dossier.submit")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        vec![
            "not accepted version 1",
            "replay of version 1",
            "accepted version 2",
            "replay of version 1",
            "conflict"
        ]
    );
    assert!(
        log.iter()
            .any(|e| e["action"] == "dossier.read" && e["key_id"] == "auditor-test")
    );
}

/// A dossier whose application form is a signed XML e-form: the procedure
/// names the element that must be signed and the one holding the
/// applicant's CCCD; the form signed by the applicant stands in for the
/// paper original, one naming another person does not, and an e-invoice
/// in the same dossier is checked against its own profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dossier_with_a_signed_xml_form() {
    let dir = temp_dir("xml-form");
    let mut cfg = config(&dir);
    // XML files carry the signer's certificate only: the issuing CA comes
    // with the trust group, as the bundled Vietnamese intermediates do.
    cfg.trust.insert(
        "test-with-ca".into(),
        TrustGroup {
            anchors: vec![repo().join("certs/test/root.pem")],
            pins: vec![],
            intermediates: vec![repo().join("certs/test/issuing-ca.pem")],
        },
    );
    cfg.policy.procedures.insert(
        "P-EFORM".into(),
        policy(|p| {
            p.trust = vec!["test-with-ca".into()];
            p.xml_must_sign = vec!["ToKhai/NoiDung".into()];
            p.xml_identity_element = Some("ToKhai/NguoiNop/SoCCCD=CCCD".into());
            p.signed_roles = vec!["to_khai".into()];
        }),
    );
    let s = Server::start(cfg).await;
    let (st, v) = s
        .dossier(
            "portal",
            meta("HS-XML-1", "P-EFORM", "CCCD", SIGNER_RSA, &["to_khai"]),
            &["xml/eform-honest.xml"],
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let d = &v["decision"];
    assert_eq!(d["accepted_in_lieu_of_originals"], true, "{v}");
    assert_eq!(d["files"][0]["indication"], "TOTAL_PASSED");
    assert!(checks(d, 0).contains(&("SIGNER_IS_APPLICANT".into(), true)));

    // The same applicant, a form naming someone else: the signature is
    // valid, the form is not the applicant's.
    let (_, v) = s
        .dossier(
            "portal",
            meta("HS-XML-2", "P-EFORM", "CCCD", SIGNER_RSA, &["to_khai"]),
            &["xml/eform-other-applicant.xml"],
        )
        .await;
    let d = &v["decision"];
    assert_eq!(d["accepted_in_lieu_of_originals"], false, "{v}");
    assert_eq!(d["files"][0]["indication"], "INDETERMINATE");
    assert_eq!(d["files"][0]["sub_indication"], "SIG_CONSTRAINTS_FAILURE");

    // /v1/verify on an e-invoice: the profile comes from the document's
    // shape; a wrapped invoice is not passed.
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify",
            Some("portal"),
            Some(fixture("xml/invoice-honest.xml")),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["report"]["document"]["format"], "XML");
    assert_eq!(v["report"]["signatures"][0]["xml"]["role"], "seller");
    let (_, v) = s
        .call(
            "POST",
            "/v1/verify",
            Some("portal"),
            Some(fixture("xml/wrap-04-original-in-wrapper.xml")),
        )
        .await;
    assert_eq!(
        v["report"]["signatures"][0]["sub_indication"], "SIG_CONSTRAINTS_FAILURE",
        "{v}"
    );
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dossier_idempotency_versions_and_audit() {
    let dir = temp_dir("versions");
    let s = Server::start(config(&dir)).await;
    idempotency_and_versions(&s).await;
    s.stop().await;
    // The archive checks out after the run.
    let cfg = config(&dir);
    let a = kyso::server::open_archive(&cfg).await.unwrap();
    let c = a.check().await.unwrap();
    assert!(c.ok(), "{:?}", c.problems);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_on_postgres_and_seaweedfs() {
    let Some(pg) = services::pg_schema().await else {
        return;
    };
    let Some(weed) = tokio::task::spawn_blocking(|| services::Weed::start("kysohttp"))
        .await
        .unwrap()
    else {
        return;
    };
    let dir = temp_dir("pg");
    let mut cfg = config(&dir);
    cfg.storage = Storage::PostgresS3 {
        postgres: pg.clone(),
        s3: weed.s3_config("kysohttp"),
    };
    let s = Server::start(cfg.clone()).await;
    let (st, _) = s.call("GET", "/readyz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    idempotency_and_versions(&s).await;
    // A second stateless node on the same database and bucket serves the same archive.
    let s2 = Server::start(cfg.clone()).await;
    let (st, d) = s2
        .call("GET", "/v1/dossiers/HS-2026-000123", Some("auditor"), None)
        .await;
    assert_eq!(
        (st, d["versions"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    // Deferred signing across nodes: prepare on the first, complete on the
    // second (the session is in PostgreSQL); a second complete, on either
    // node, finds it used up.
    let (st, prep) = s
        .call(
            "POST",
            "/v1/sign/prepare?profile=usb-token",
            Some("official"),
            Some(fixture("pdf/rsa-pkcs1.pdf")),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{prep}");
    let tbs = <_ as base64::Engine>::decode(
        &base64::engine::general_purpose::STANDARD,
        prep["data_to_sign"].as_str().unwrap(),
    )
    .unwrap();
    let id = prep["session_id"].as_str().unwrap().to_string();
    let complete = |node: &Server, sig: String| {
        node.http
            .post(node.url(&format!("/v1/sign/{id}/complete")))
            .bearer_auth(secret("official"))
            .json(&json!({ "signature": sig }))
            .send()
    };
    let resp = complete(&s2, sign_locally("signer-ec", &tbs))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "a wrong value");
    let resp = complete(&s2, sign_locally("signer-rsa", &tbs))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "complete on the other node");
    let signed = resp.bytes().await.unwrap().to_vec();
    let (_, v) = s
        .call("POST", "/v1/verify", Some("portal"), Some(signed))
        .await;
    assert_eq!(
        v["report"]["signatures"][0]["indication"], "TOTAL_PASSED",
        "{v}"
    );
    for node in [&s, &s2] {
        let resp = complete(node, sign_locally("signer-rsa", &tbs))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
    s.stop().await;
    s2.stop().await;
    let a = kyso::server::open_archive(&cfg).await.unwrap();
    let c = a.check().await.unwrap();
    assert!(c.ok(), "{:?} {:?}", c.problems, c.chain.problems);
    services::pg_drop(&pg).await;
    drop(weed);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverify_offline_from_kept_evidence() {
    let dir = temp_dir("reverify");
    let mut cfg = config(&dir);
    cfg.revocation.required = false;
    cfg.fixed_time = Some("2020-06-01T00:00:00Z".into());
    let s = Server::start(cfg).await;
    // Verified in 2020 while the signer's certificate was valid; expired since.
    let pdf = fixture("pdf/expired-signer.pdf");
    let sha = sha256_hex(&pdf);
    let (st, v) = s
        .call("POST", "/v1/verify?store=true", Some("portal"), Some(pdf))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["report"]["summary"]["indication"], "TOTAL_PASSED");
    // Six years on.
    let state = s.started.as_ref().unwrap().state.clone();
    state
        .clock
        .set(kyso::pki::cert::parse_rfc3339("2026-11-01T00:00:00Z").unwrap());
    let (st, r) = s
        .call(
            "POST",
            &format!("/v1/documents/{sha}/reverify"),
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["original_time"], "2020-06-01T00:00:00Z");
    assert_eq!(r["now"], "2026-11-01T00:00:00Z");
    assert_eq!(r["same_as_intake"], true);
    assert_eq!(
        r["at_original_time"]["summary"]["indication"],
        "TOTAL_PASSED"
    );
    assert_eq!(r["at_now"]["signatures"][0]["indication"], "INDETERMINATE");
    assert_eq!(
        r["at_now"]["signatures"][0]["sub_indication"],
        "OUT_OF_BOUNDS_NO_POE"
    );
    let diff = &r["differences"][0];
    assert_eq!(diff["at_original_time"], "TOTAL_PASSED");
    assert_eq!(diff["now"], "INDETERMINATE/OUT_OF_BOUNDS_NO_POE");
    assert!(
        !diff["changed_checks"].as_array().unwrap().is_empty(),
        "{diff}"
    );
    assert!(
        r["explanation_en"]
            .as_str()
            .unwrap()
            .contains("the verdict that counts is the one at the original time")
    );

    // A document verified now: both results agree.
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let sha = sha256_hex(&pdf);
    s.call("POST", "/v1/verify?store=true", Some("portal"), Some(pdf))
        .await;
    let (_, r) = s
        .call(
            "POST",
            &format!("/v1/documents/{sha}/reverify"),
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(r["differences"], json!([]));
    assert_eq!(r["at_now"]["summary"]["indication"], "TOTAL_PASSED");
    assert!(r["evidence_used"].as_u64().unwrap() >= 3);
    let (st, _) = s
        .call(
            "POST",
            &format!("/v1/documents/{}/reverify", "f".repeat(64)),
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Re-verification applies the policy of the intake: SHA-1 accepted by
    // procedure P-SHA1 (the default policy rejects it).
    let pdf = fixture("pdf/sha1.pdf");
    let sha = sha256_hex(&pdf);
    let (_, v) = s
        .call("POST", "/v1/verify", Some("portal"), Some(pdf.clone()))
        .await;
    assert_eq!(
        v["report"]["signatures"][0]["indication"], "INDETERMINATE",
        "SHA-1 under the default policy"
    );
    let (_, v) = s
        .call(
            "POST",
            "/v1/verify?store=true&procedure=P-SHA1",
            Some("portal"),
            Some(pdf),
        )
        .await;
    assert_eq!(v["report"]["summary"]["indication"], "TOTAL_PASSED");
    let (_, r) = s
        .call(
            "POST",
            &format!("/v1/documents/{sha}/reverify"),
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(r["same_as_intake"], true, "{r}");
    assert_eq!(
        r["at_original_time"]["summary"]["indication"],
        "TOTAL_PASSED"
    );
    let log = s.audit().await;
    assert_eq!(
        log.iter()
            .filter(|e| e["action"] == "document.reverify")
            .count(),
        4
    );
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// Send headers announcing `len` bytes and only part of the body; return what the server answers.
fn stalled_request(addr: &str, path: &str, len: usize) -> std::thread::JoinHandle<String> {
    let addr = addr.trim_start_matches("http://").to_string();
    let path = path.to_string();
    std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            c,
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: {len}\r\n\r\n%PDF-",
            secret("portal")
        )
        .unwrap();
        let mut out = String::new();
        let _ = c.read_to_string(&mut out);
        out
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_with_json() {
    let dir = temp_dir("limits");
    let mut cfg = config(&dir);
    cfg.limits.max_body_bytes = 1 << 20;
    cfg.limits.request_timeout_secs = 2;
    cfg.limits.max_concurrent = 2;
    cfg.limits.header_timeout_secs = 1;
    let s = Server::start(cfg).await;

    // A body announced above the limit is refused at once, before it is sent.
    let addr = s.base.trim_start_matches("http://").to_string();
    let out = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            let mut c = std::net::TcpStream::connect(&addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            write!(c, "POST /v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 50000000\r\n\r\n%PDF-", secret("portal")).unwrap();
            let mut buf = [0u8; 4096];
            let n = c.read(&mut buf).unwrap_or(0);
            String::from_utf8_lossy(&buf[..n]).to_string()
        }
    })
    .await
    .unwrap();
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert!(out.contains("BODY_TOO_LARGE"), "{out}");
    assert!(
        out.to_ascii_lowercase().contains("connection: close"),
        "the unread body ends the connection: {out}"
    );
    // Headers that never end: the connection is closed after the header deadline.
    let started = std::time::Instant::now();
    let closed = tokio::task::spawn_blocking(move || {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        let mut buf = [0u8; 1024];
        c.read(&mut buf).is_ok()
    })
    .await
    .unwrap();
    assert!(
        closed && started.elapsed() < Duration::from_secs(5),
        "slow headers held {:?}",
        started.elapsed()
    );

    // Too large: 413 with a JSON error.
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify",
            Some("portal"),
            Some(vec![b'%'; 2 << 20]),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("BODY_TOO_LARGE")),
        "{v}"
    );
    // Unknown route and wrong method: JSON too.
    let (st, v) = s.call("GET", "/v1/nothing", None, None).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let (st, v) = s.call("DELETE", "/v1/verify", Some("portal"), None).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("METHOD_NOT_ALLOWED"))
    );

    // Two stalled uploads hold both slots: a third request gets 503 + Retry-After.
    let a = stalled_request(&s.base, "/v1/verify", 1000);
    let b = stalled_request(&s.base, "/v1/verify", 1000);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resp = s
        .http
        .post(s.url("/v1/verify"))
        .bearer_auth(secret("portal"))
        .body(fixture("pdf/rsa-pkcs1.pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "1");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["code"], "OVERLOADED");
    // Health answers even when busy.
    let (st, _) = s.call("GET", "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    // The stalled ones end at the deadline with 408.
    for h in [a, b] {
        let out = tokio::task::spawn_blocking(move || h.join().unwrap())
            .await
            .unwrap();
        assert!(out.starts_with("HTTP/1.1 408"), "{out}");
        assert!(out.contains("\"code\":\"REQUEST_TIMEOUT\""), "{out}");
    }
    // And the server serves again.
    let (st, _) = s
        .call(
            "POST",
            "/v1/verify",
            Some("portal"),
            Some(fixture("pdf/rsa-pkcs1.pdf")),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = s.call("GET", "/readyz", None, None).await;
    assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("ready")));
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_is_generated_and_in_sync() {
    let dir = temp_dir("openapi");
    let s = Server::start(config(&dir)).await;
    let served = s
        .http
        .get(s.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
    assert_eq!(served, kyso::server::routes::openapi_json());
    let file = repo().join("docs/openapi.json");
    if std::env::var("KYSO_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&file, &served).unwrap();
    }
    let kept = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        kept == served,
        "docs/openapi.json is stale: run KYSO_UPDATE_OPENAPI=1 cargo test --test server openapi"
    );
    let spec: Value = serde_json::from_str(&served).unwrap();
    // Every operation of the document has an explicit role set (the role
    // layer denies what its table does not name), or is one of the public ones.
    let public = ["/healthz", "/readyz", "/metrics"];
    let mut ops = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let m = method.to_ascii_uppercase();
            let roles = kyso::server::allowed_roles(&m, path);
            assert!(
                !roles.is_empty() || public.contains(&path.as_str()),
                "{m} {path} has no role set"
            );
            assert!(
                roles.is_empty() || path.starts_with("/v1/"),
                "{m} {path}: roles outside /v1 are not enforced"
            );
            ops += 1;
        }
    }
    assert!(ops >= 14, "{ops} operations");
    for p in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/verify",
        "/v1/dossiers",
        "/v1/dossiers/{code}",
        "/v1/documents/{sha256}",
        "/v1/documents/{sha256}/report",
        "/v1/documents/{sha256}/reverify",
        "/v1/audit",
        "/v1/audit/verify",
        "/v1/sign",
        "/v1/sign/prepare",
        "/v1/sign/{id}/complete",
    ] {
        assert!(
            spec["paths"][p].is_object(),
            "{p} missing from the OpenAPI description"
        );
    }
}

#[test]
fn config_examples_parse() {
    for f in ["docs/config.example.toml", "docs/demo.toml"] {
        let c = Config::load(Some(&repo().join(f))).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(c.policy.default.is_some(), "{f}");
    }
    let c = Config::load(Some(&repo().join("docs/config.example.toml"))).unwrap();
    assert!(matches!(c.storage, Storage::PostgresS3 { .. }));
    assert_eq!(c.policy.procedures["1.004227"].min_level, "B-T");
    // Environment over file.
    let mut c = Config::default();
    c.apply_env(|k| (k == "KYSO_LISTEN").then(|| "127.0.0.1:9999".to_string()))
        .unwrap();
    assert_eq!(c.listen, "127.0.0.1:9999");
    assert!(
        c.apply_env(|k| (k == "KYSO_MAX_CONCURRENT").then(|| "many".to_string()))
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_requests_in_flight() {
    let dir = temp_dir("drain");
    let s = Server::start(config(&dir)).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    // A request whose body is still arriving when the shutdown begins.
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        c,
        "POST /v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        secret("portal"),
        pdf.len()
    )
    .unwrap();
    c.write_all(&pdf[..1000]).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Server { started, .. } = s;
    let started = started.unwrap();
    started.shutdown.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are no longer accepted...
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "the listener is closed"
    );
    // ... but the one in flight completes.
    let answer = tokio::task::spawn_blocking(move || {
        c.write_all(&pdf[1000..]).unwrap();
        let mut out = String::new();
        let _ = c.read_to_string(&mut out);
        out
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("x-request-id: "), "{answer}");
    assert!(answer.contains("\"indication\":\"TOTAL_PASSED\""));
    tokio::time::timeout(Duration::from_secs(10), started.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_check_command_finds_tampering() {
    let dir = temp_dir("checkcmd");
    let s = Server::start(config(&dir)).await;
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let (st, _) = s
        .call(
            "POST",
            "/v1/verify?store=true",
            Some("portal"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kyso"))
            .args(["archive", "check", "--data-dir"])
            .arg(&dir)
            .current_dir(repo())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, out) = run();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("archive OK"), "{out}");
    // A forged document in place of the archived one.
    let sha = sha256_hex(&pdf);
    std::fs::write(dir.join("blobs").join(&sha[..2]).join(&sha), b"%PDF-forged").unwrap();
    let (code, out) = run();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "PROBLEM: blob {sha}: content does not match its name"
        )),
        "{out}"
    );
    assert!(out.contains("archive NOT OK"));
    std::fs::remove_dir_all(dir).unwrap();
}

fn sign_locally(stem: &str, data: &[u8]) -> String {
    use base64::Engine;
    let key = openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(repo().join(format!("certs/test/{stem}.key.pem"))).unwrap(),
    )
    .unwrap();
    let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
    s.update(data).unwrap();
    base64::engine::general_purpose::STANDARD.encode(s.sign_to_vec().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officials_sign_and_results_are_archived() {
    use base64::Engine;
    let dir = temp_dir("sign");
    let s = Server::start(config(&dir)).await;
    let pdf = fixture("pdf/unsigned.pdf");
    let post = |path: &str, role: &str, body: Vec<u8>| {
        s.http
            .post(s.url(path))
            .bearer_auth(secret(role))
            .body(body)
            .send()
    };

    // An official signs with the profile's key; the result is valid and archived.
    let resp = post("/v1/sign?profile=so-noi-vu", "official", pdf.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let sha = resp.headers()["x-kyso-sha256"]
        .to_str()
        .unwrap()
        .to_string();
    let signed = resp.bytes().await.unwrap().to_vec();
    assert_eq!(sha256_hex(&signed), sha);
    assert_eq!(
        &signed[..pdf.len()],
        &pdf[..],
        "incremental update: the original bytes stay"
    );
    let (_, v) = s
        .call("POST", "/v1/verify", Some("portal"), Some(signed.clone()))
        .await;
    assert_eq!(
        v["report"]["signatures"][0]["indication"], "TOTAL_PASSED",
        "{v}"
    );
    assert_eq!(
        v["report"]["signatures"][0]["reason"],
        "Phê duyệt kết quả giải quyết thủ tục hành chính"
    );
    let (st, r) = s
        .call(
            "GET",
            &format!("/v1/documents/{sha}/report"),
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(
        (st, r["verifications"][0]["indication"].as_str()),
        (StatusCode::OK, Some("TOTAL_PASSED"))
    );

    // A profile with a visible seal (when the font is installed).
    if std::path::Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists() {
        let resp = post("/v1/sign?profile=so-noi-vu-seal", "official", pdf.clone())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let sealed = resp.bytes().await.unwrap().to_vec();
        assert!(
            sealed.windows(6).any(|w| w == b"/AP <<"),
            "the widget has an appearance"
        );
        assert!(
            sealed.windows(19).any(|w| w == b"/Subtype/Type0/Base"),
            "a Type0 font is embedded"
        );
        let (_, v) = s
            .call("POST", "/v1/verify", Some("portal"), Some(sealed))
            .await;
        assert_eq!(
            v["report"]["signatures"][0]["indication"], "TOTAL_PASSED",
            "{v}"
        );
        let (st, e) = s
            .call(
                "POST",
                "/v1/sign?profile=so-noi-vu-seal&rect=1,2",
                Some("official"),
                Some(pdf.clone()),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("BAD_RECT"))
        );
    }

    // Refusals: wrong role, profile of someone else, unknown profile, not a PDF.
    let resp = post("/v1/sign?profile=so-noi-vu", "portal", pdf.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let (st, e) = s
        .call(
            "POST",
            "/v1/sign?profile=restricted",
            Some("official"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("PROFILE_FORBIDDEN"))
    );
    let (st, e) = s
        .call(
            "POST",
            "/v1/sign?profile=nope",
            Some("official"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NO_SUCH_PROFILE"))
    );
    let (st, e) = s
        .call(
            "POST",
            "/v1/sign?profile=so-noi-vu",
            Some("official"),
            Some(b"hello".to_vec()),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("NOT_A_PDF"))
    );
    let (st, e) = s
        .call(
            "POST",
            "/v1/sign?profile=usb-token",
            Some("official"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("REMOTE_PROFILE"))
    );

    // kyso checks its own certificate: expired before signing, revoked after (nothing handed out).
    let (st, e) = s
        .call(
            "POST",
            "/v1/sign?profile=expired",
            Some("official"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("SIGNER_CERT_NOT_VALID_NOW")
        ),
        "{e}"
    );
    let (st, e) = s
        .call(
            "POST",
            "/v1/sign?profile=revoked",
            Some("official"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(
        (st, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("SIGNATURE_NOT_VALID")
        ),
        "{e}"
    );
    assert!(
        e["message_en"]
            .as_str()
            .unwrap()
            .contains("INDETERMINATE/REVOKED_NO_POE"),
        "{e}"
    );

    // Deferred signing: prepare, sign elsewhere, complete.
    let (st, prep) = s
        .call(
            "POST",
            "/v1/sign/prepare?profile=usb-token",
            Some("official"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{prep}");
    assert_eq!(
        (
            prep["digest_algorithm"].as_str(),
            prep["signature_scheme"].as_str()
        ),
        (Some("sha256"), Some("RSA_PKCS1"))
    );
    let tbs = base64::engine::general_purpose::STANDARD
        .decode(prep["data_to_sign"].as_str().unwrap())
        .unwrap();
    let id = prep["session_id"].as_str().unwrap().to_string();
    let complete = |id: &str, sig: String| {
        s.http
            .post(s.url(&format!("/v1/sign/{id}/complete")))
            .bearer_auth(secret("official"))
            .json(&json!({ "signature": sig }))
            .send()
    };
    // A value from another key: refused, nothing written, the session stays.
    let resp = complete(&id, sign_locally("signer-ec", &tbs))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "SIGNATURE_MISMATCH"
    );
    // A node took the session and died before finishing: its lease holds
    // the session (409 with Retry-After) until it ends, then it is free.
    let state = s.started.as_ref().unwrap().state.clone();
    let t0 = state.clock.now();
    let taken = state
        .archive
        .meta
        .take_session(&id, "official-test", t0, t0 + 60)
        .await
        .unwrap();
    assert!(
        matches!(taken, kyso::archive::SessionTaken::Ready(_)),
        "{taken:?}"
    );
    let resp = complete(&id, sign_locally("signer-rsa", &tbs))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(resp.headers()["retry-after"], "60");
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "SESSION_BUSY");
    state.clock.set(t0 + 60);
    let resp = complete(&id, sign_locally("signer-rsa", &tbs))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    state.clock.set(t0);
    let signed = resp.bytes().await.unwrap().to_vec();
    let (_, v) = s
        .call("POST", "/v1/verify", Some("portal"), Some(signed))
        .await;
    assert_eq!(
        v["report"]["signatures"][0]["indication"], "TOTAL_PASSED",
        "{v}"
    );
    // The session is used up.
    let resp = complete(&id, sign_locally("signer-rsa", &tbs))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let log = s.audit().await;
    let signs: Vec<&str> = log
        .iter()
        .filter(|e| e["action"] == "document.sign")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    let sealed_n = usize::from(
        std::path::Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").exists(),
    );
    assert_eq!(signs.len(), 3 + sealed_n, "{signs:?}");
    assert!(
        signs[1 + sealed_n].starts_with("refused: own signature INDETERMINATE/REVOKED_NO_POE"),
        "{signs:?}"
    );
    assert!(log.iter().any(|e| e["action"] == "sign.complete"
        && e["outcome"] == "refused: signature value does not verify"));
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();

    // An expired session: 410, nothing written.
    let dir = temp_dir("sign-expiry");
    let mut cfg = config(&dir);
    cfg.signing.session_ttl_secs = 0;
    let s = Server::start(cfg).await;
    let (_, prep) = s
        .call(
            "POST",
            "/v1/sign/prepare?profile=usb-token",
            Some("official"),
            Some(pdf.clone()),
        )
        .await;
    let tbs = base64::engine::general_purpose::STANDARD
        .decode(prep["data_to_sign"].as_str().unwrap())
        .unwrap();
    let resp = s
        .http
        .post(s.url(&format!(
            "/v1/sign/{}/complete",
            prep["session_id"].as_str().unwrap()
        )))
        .bearer_auth(secret("official"))
        .json(&json!({ "signature": sign_locally("signer-rsa", &tbs) }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::GONE);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "SESSION_EXPIRED"
    );
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// A plain HTTP server on 127.0.0.1:0 answering every GET with the bytes in
/// `body` (swappable), counting requests; stops when `stop` is set.
fn crl_server(
    body: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (String, std::thread::JoinHandle<()>) {
    use std::sync::atomic::Ordering;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((mut c, _)) => {
                    c.set_nonblocking(false).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let mut buf = [0u8; 4096];
                    let _ = c.read(&mut buf);
                    hits.fetch_add(1, Ordering::Relaxed);
                    let b = body.lock().unwrap().clone();
                    let _ = write!(
                        c,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        b.len()
                    );
                    let _ = c.write_all(&b);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (addr, h)
}

fn verdict_of(v: &Value) -> String {
    let s = &v["report"]["signatures"][0];
    match s["sub_indication"].as_str() {
        Some(sub) => format!("{}/{sub}", s["indication"].as_str().unwrap_or("?")),
        None => s["indication"].as_str().unwrap_or("?").to_string(),
    }
}

/// A CRL the service fetches itself (`revocation.crl_urls`) is fetched again
/// before its nextUpdate: with the clock moved past the first CRL's
/// nextUpdate, verification goes on passing on the next one — no TRY_LATER
/// gap. Without the refresher the same moment gives TRY_LATER.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_crl_is_refreshed_before_its_next_update() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let window1 = fixture("revocation/issuing-ca-window1.crl");
    let window2 = fixture("revocation/issuing-ca-window2.crl");
    let body = Arc::new(Mutex::new(window1));
    let hits = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, server) = crl_server(body.clone(), hits.clone(), stop.clone());
    let url = format!("http://{addr}/issuing-ca.crl");
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let at = |t: &str| kyso::pki::cert::parse_rfc3339(t).unwrap();

    for refresh in [true, false] {
        let dir = temp_dir("crl-refresh");
        let mut cfg = config(&dir);
        cfg.revocation.crls = vec![repo().join("testdata/revocation/root.crl")];
        cfg.revocation.crl_urls = vec![url.clone()];
        cfg.revocation.refresh_check_secs = if refresh { 1 } else { 0 };
        cfg.revocation.refresh_margin_secs = 3600;
        *body.lock().unwrap() = fixture("revocation/issuing-ca-window1.crl");
        hits.store(0, Ordering::Relaxed);
        let s = Server::start(cfg).await;
        let state = s.started.as_ref().unwrap().state.clone();
        let (_, v) = s
            .call("POST", "/v1/verify", Some("portal"), Some(pdf.clone()))
            .await;
        assert_eq!(verdict_of(&v), "TOTAL_PASSED", "{v}");
        assert_eq!(hits.load(Ordering::Relaxed), 1, "fetched once at start");

        // The CA publishes its next CRL; the clock comes within an hour of
        // the first one's nextUpdate (2026-11-02T00:00).
        *body.lock().unwrap() = window2.clone();
        state.clock.set(at("2026-11-01T23:30:00Z"));
        if refresh {
            let t0 = std::time::Instant::now();
            while hits.load(Ordering::Relaxed) < 2 {
                assert!(t0.elapsed() < Duration::from_secs(15), "no refresh");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        let (_, v) = s
            .call("POST", "/v1/verify", Some("portal"), Some(pdf.clone()))
            .await;
        assert_eq!(verdict_of(&v), "TOTAL_PASSED", "{v}");

        // Past the first CRL's nextUpdate.
        state.clock.set(at("2026-11-02T06:00:00Z"));
        let (_, v) = s
            .call("POST", "/v1/verify", Some("portal"), Some(pdf.clone()))
            .await;
        let used: Vec<String> = v["report"]["signatures"][0]["revocation"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["used"] == true && e["kind"] == "CRL")
            .map(|e| e["this_update"].as_str().unwrap().to_string())
            .collect();
        if refresh {
            assert_eq!(verdict_of(&v), "TOTAL_PASSED", "{v}");
            assert!(
                used.contains(&"2026-11-01T12:00:00Z".to_string()),
                "{used:?}"
            );
            println!(
                "configured CRL: refreshed before nextUpdate ({} fetches), TOTAL_PASSED at 2026-11-02T06:00 on the CRL of 2026-11-01T12:00",
                hits.load(Ordering::Relaxed)
            );
        } else {
            assert_eq!(verdict_of(&v), "INDETERMINATE/TRY_LATER", "{v}");
            println!("without the refresher: INDETERMINATE/TRY_LATER at 2026-11-02T06:00");
        }
        s.stop().await;
    }
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
}

/// 1 000 verifications of one file with online revocation against the live
/// certomancer responder: each OCSP/CRL URL is fetched at most twice (once,
/// with the shared cache; the bound allows a retry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_revocation_fetched_once_for_a_thousand_verifications() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let dir = temp_dir("online-cache");
    let mut cfg = config(&dir);
    cfg.fixed_time = None;
    cfg.revocation.crls = vec![];
    cfg.revocation.online = true;
    cfg.revocation.fetch_timeout_ms = 3000;
    cfg.trust.insert(
        "live".into(),
        TrustGroup {
            anchors: vec![repo().join("testdata/live/certs/root.pem")],
            pins: vec![],
            intermediates: vec![repo().join("testdata/live/certs/interm.pem")],
        },
    );
    cfg.policy.default = Some(policy(|p| p.trust = vec!["live".into()]));
    let s = Server::start(cfg).await;
    let state = s.started.as_ref().unwrap().state.clone();
    let pdf = fixture("live/good.pdf");
    let started = std::time::Instant::now();
    let mut passed = 0;
    for _ in 0..125 {
        let calls = (0..8).map(|_| s.call("POST", "/v1/verify", Some("portal"), Some(pdf.clone())));
        for (st, v) in futures_util::future::join_all(calls).await {
            assert_eq!(st, StatusCode::OK);
            assert_eq!(verdict_of(&v), "TOTAL_PASSED", "{v}");
            passed += 1;
        }
    }
    let counts = state.revcache.fetch_counts();
    let mut lines: Vec<String> = counts.iter().map(|(u, n)| format!("{n} × {u}")).collect();
    lines.sort();
    println!(
        "online cache: {passed} verifications in {:.1} s; fetches per URL: {}",
        started.elapsed().as_secs_f64(),
        lines.join(", ")
    );
    assert!(counts.len() >= 2, "{counts:?}");
    assert!(counts.values().all(|n| *n <= 2), "{counts:?}");
    let text = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hits = text
        .lines()
        .find(|l| l.starts_with("kyso_revocation_cache_hits_total{layer=\"memory\"}"))
        .unwrap_or("");
    println!("{hits}");
    s.stop().await;
}

/// Raw HTTP/1.1 exchanges on one connection each: (status line, body).
fn raw_request(addr: &str, head: &str) -> String {
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = c.write_all(head.as_bytes());
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).to_string()
}

/// Regression: every method string a client sent became a Prometheus label
/// (1 000 methods of 50 000 bytes grew RSS by 49 MB and /metrics to 52 MB).
/// Labels now come from fixed sets: known methods or OTHER, route templates,
/// status classes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_labels_come_from_fixed_sets() {
    let dir = temp_dir("metrics-labels");
    let s = Server::start(config(&dir)).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let before = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .len();
    tokio::task::spawn_blocking(move || {
        for i in 0..200 {
            let method: String = std::iter::repeat_n('M', 2000)
                .chain(i.to_string().chars())
                .collect();
            raw_request(
                &addr,
                &format!("{method} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            );
            raw_request(
                &addr,
                &format!("GET /x{i}/{method} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            );
        }
    })
    .await
    .unwrap();
    let text = reqwest::get(s.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !text.contains("MMMMMMMM"),
        "a client's string became a label"
    );
    assert!(text.contains("method=\"OTHER\""), "{text}");
    assert!(text.contains("status=\"4xx\""), "{text}");
    assert!(
        text.len() < before + 4096,
        "/metrics grew from {before} to {} bytes",
        text.len()
    );
    s.stop().await;
}

/// Responses: `nosniff` everywhere, `no-store` under /v1 (personal data),
/// downloads as attachments with a safe name, signing errors without the
/// parser's own text, and the `api_key` scheme the operations name defined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_are_safe_to_hand_to_a_browser() {
    let dir = temp_dir("safe-responses");
    let s = Server::start(config(&dir)).await;
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let sha = sha256_hex(&pdf);
    let (st, _) = s
        .call("POST", "/v1/verify?store=true", Some("portal"), Some(pdf))
        .await;
    assert_eq!(st, StatusCode::OK);
    let r = s
        .http
        .get(s.url(&format!("/v1/documents/{sha}")))
        .bearer_auth(secret("auditor"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(
        h["content-disposition"],
        format!("attachment; filename=\"{sha}.pdf\"").as_str()
    );
    let r = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    // A broken PDF to sign: the kind of problem, not the parser's words.
    let (st, v) = s
        .call(
            "POST",
            "/v1/sign?profile=so-noi-vu",
            Some("official"),
            Some(b"%PDF-1.7\nbroken".to_vec()),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "SIGNING_INPUT_INVALID", "{v}");
    let text = v.to_string();
    assert!(
        !text.contains("byte") && !text.contains("startxref"),
        "{text}"
    );
    let spec: Value = reqwest::get(s.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        spec["components"]["securitySchemes"]["api_key"]["scheme"], "bearer",
        "{}",
        spec["components"]
    );
    s.stop().await;
}

/// Regression: every 401 stored the whole request path in the append-only
/// audit log (2 000 anonymous requests with a 60 KB path added 120 MB).
/// Now a refused request is a bounded row (route template, path digest,
/// client address), one per address, kind and minute; beyond the
/// per-address limit the answer is 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_cannot_fill_the_audit_log() {
    let dir = temp_dir("audit-flood");
    let mut cfg = config(&dir);
    cfg.limits.max_unauthenticated_per_minute = 500;
    let s = Server::start(cfg).await;
    let db = dir.join("kyso.sqlite3");
    let size = |p: &std::path::Path| {
        ["", "-wal"]
            .iter()
            .map(|x| std::fs::metadata(format!("{}{x}", p.display())).map_or(0, |m| m.len()))
            .sum::<u64>()
    };
    let before = size(&db);
    let long = "a".repeat(60_000);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..600 {
        let (st, _) = s
            .call("GET", &format!("/v1/dossiers/{long}{i}"), None, None)
            .await;
        *statuses.entry(st.as_u16()).or_insert(0) += 1;
    }
    let grew = size(&db).saturating_sub(before);
    let log = s.audit().await;
    let rows: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == "auth.denied")
        .collect();
    println!(
        "audit flood: 600 anonymous requests with 60 KB paths: {statuses:?}, {} audit row(s), database grew {grew} bytes",
        rows.len()
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0]["object"].as_str().unwrap().len() < 200,
        "{}",
        rows[0]
    );
    assert!(!rows[0]["object"].as_str().unwrap().contains("aaaa"));
    assert_eq!(statuses.get(&401), Some(&500), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&100), "{statuses:?}");
    assert!(before > 0, "database file not found");
    assert!(grew < 1 << 20, "audit storage grew {grew} bytes");
    s.stop().await;
}

/// Regression: a connection that sent nothing, or only part of the HTTP/2
/// preface, stayed open for ever (300 of them made /healthz unreachable
/// under a 256-descriptor limit). Now idle connections are closed after the
/// idle timeout, and one address holds at most a set number of connections,
/// while a well-behaved client is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_capped_per_client() {
    let dir = temp_dir("idle");
    let mut cfg = config(&dir);
    cfg.limits.idle_timeout_secs = 1;
    cfg.limits.max_connections_per_client = 40;
    let s = Server::start(cfg).await;
    let addr = s.base.trim_start_matches("http://").to_string();
    let started = std::time::Instant::now();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut socks = Vec::new();
        for i in 0..60 {
            let mut c = std::net::TcpStream::connect(&addr).unwrap();
            if i % 2 == 1 {
                // Half an HTTP/2 connection preface.
                let _ = c.write_all(b"PRI * HTTP/2.0\r\n");
            }
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            socks.push(c);
        }
        // Past the cap: closed at once by the server.
        let mut closed_at_once = 0;
        for c in socks.iter_mut().skip(40) {
            let mut b = [0u8; 16];
            c.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let closed = match c.read(&mut b) {
                Ok(0) => true,
                Err(e) => !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                Ok(_) => false,
            };
            if closed {
                closed_at_once += 1;
            }
        }
        // Within the cap: closed after the idle timeout (read gives EOF).
        let mut closed_when_idle = 0;
        for c in socks.iter_mut().take(40) {
            let mut b = [0u8; 16];
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            if matches!(c.read(&mut b), Ok(0)) {
                closed_when_idle += 1;
            }
        }
        (closed_at_once, closed_when_idle)
    })
    .await
    .unwrap();
    let took = started.elapsed();
    println!("idle: {outcome:?} closed (over the cap, idle) in {took:?}");
    assert_eq!(outcome, (20, 40));
    assert!(took < Duration::from_secs(8), "{took:?}");
    // Served normally afterwards.
    let (st, _) = s.call("GET", "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    // A keep-alive connection that goes quiet is closed too; one in use is not.
    let c = reqwest::Client::new();
    for _ in 0..3 {
        let r = c.get(s.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    s.stop().await;
}

/// Regression: `?at=` let a portal key store a verdict computed at any past
/// time. Now a stored verification always uses the server's clock; `at` is
/// for auditors and admins, marked in the report and the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_time_is_the_servers_for_what_is_kept() {
    let dir = temp_dir("at");
    let s = Server::start(config(&dir)).await;
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let past = "/v1/verify?at=2020-06-01T00:00:00Z";
    let (st, v) = s
        .call("POST", past, Some("portal"), Some(pdf.clone()))
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("AT_NOT_ALLOWED"))
    );
    let (st, v) = s
        .call(
            "POST",
            &format!("{past}&store=true"),
            Some("admin"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("AT_NOT_WITH_STORE"))
    );
    let (st, v) = s.call("POST", past, Some("admin"), Some(pdf)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["report"]["validation_time"], "2020-06-01T00:00:00Z");
    assert!(
        v["report"]["document"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["code"] == "VALIDATION_TIME_CHOSEN_BY_CALLER"),
        "{v}"
    );
    assert!(s.audit().await.iter().any(|e| {
        e["action"] == "document.verify_at_time"
            && e["outcome"]
                .as_str()
                .unwrap()
                .starts_with("at 2020-06-01T00:00:00Z")
    }));
    s.stop().await;
}

/// Input hygiene: file names (query or multipart) are cut to their last
/// component and refused with control characters or over 255 bytes; `.`
/// and `..` are not dossier codes; a seal rectangle must be finite numbers;
/// the key is read from a strict `Bearer` header only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_codes_rectangles_and_keys_are_checked() {
    let dir = temp_dir("hygiene");
    let s = Server::start(config(&dir)).await;
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify?name=a%0Ab.pdf",
            Some("portal"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_NAME"))
    );
    let long = "x".repeat(300);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf.clone()).file_name(format!("{long}.pdf")),
    );
    let r = s
        .http
        .post(s.url("/v1/verify"))
        .bearer_auth(secret("portal"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "a 304-byte multipart file name"
    );
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify?name=..%2F..%2Fetc%2Fpasswd",
            Some("portal"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["report"]["document"]["name"], "passwd");
    let (st, v) = s
        .dossier(
            "portal",
            meta("..", "1.000001", "CCCD", SIGNER_RSA, &["don_de_nghi"]),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    for rect in ["NaN,0,100,50", "inf,0,100,50", "0,0,100,-inf"] {
        let (st, v) = s
            .call(
                "POST",
                &format!("/v1/sign?profile=so-noi-vu-seal&rect={rect}"),
                Some("official"),
                Some(pdf.clone()),
            )
            .await;
        if st == StatusCode::NOT_FOUND {
            continue; // no DejaVu font here: no sealed profile
        }
        assert_eq!(
            (st, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("BAD_RECT")),
            "{rect}"
        );
    }
    let raw = |h: (&str, String)| {
        let c = s
            .http
            .post(s.url("/v1/verify"))
            .header(h.0, h.1)
            .body(pdf.clone());
        async move { c.send().await.unwrap().status() }
    };
    assert_eq!(
        raw(("x-api-key", secret("portal"))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        raw(("authorization", format!("Bearer  {}", secret("portal")))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        raw(("authorization", format!("Bearer {} x", secret("portal")))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        raw(("authorization", format!("bearer {}", secret("portal")))).await,
        StatusCode::OK
    );
    s.stop().await;
}

/// Regression: one official could take the whole deferred-signing session
/// pool (and its memory). Now each key holds a bounded number of sessions,
/// the documents of all sessions are bounded in bytes, and prepare has its
/// own body limit; another caller is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_cannot_take_the_signing_session_pool() {
    let dir = temp_dir("sessions");
    let mut cfg = config(&dir);
    cfg.signing.max_sessions_per_key = 2;
    cfg.signing.max_prepare_bytes = 200_000;
    let s = Server::start(cfg).await;
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let prep = "/v1/sign/prepare?profile=usb-token";
    for _ in 0..2 {
        let (st, v) = s
            .call("POST", prep, Some("official"), Some(pdf.clone()))
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let (st, v) = s
        .call("POST", prep, Some("official"), Some(pdf.clone()))
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (
            StatusCode::TOO_MANY_REQUESTS,
            Some("TOO_MANY_SESSIONS_FOR_KEY")
        )
    );
    let (st, v) = s.call("POST", prep, Some("admin"), Some(pdf.clone())).await;
    assert_eq!(st, StatusCode::OK, "another key is served: {v}");
    // The sessions and their documents wait in the metadata store (any
    // node may complete them), not in the server's memory.
    let waiting: i64 = rusqlite::Connection::open(dir.join("kyso.sqlite3"))
        .unwrap()
        .query_row("SELECT COUNT(*) FROM signing_sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(waiting, 3);
    let (st, v) = s
        .call(
            "POST",
            prep,
            Some("admin"),
            Some(fixture("pdf/big-1mb.pdf")),
        )
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("BODY_TOO_LARGE")),
        "{v}"
    );
    s.stop().await;
}

/// Least privilege for personal data: a portal key reads only the dossiers
/// and documents it submitted (another's read as absent, and audited), with
/// identity numbers masked; the auditor reads everything in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portals_read_only_their_own_and_identity_numbers_are_masked() {
    let dir = temp_dir("privacy");
    let mut cfg = config(&dir);
    cfg.keys.push(KeyConfig {
        id: "portal-other".into(),
        role: "portal".into(),
        sha256: sha256_hex(b"test-key-for-other-portal"),
    });
    let s = Server::start(cfg).await;
    let m = meta(
        "HS-PRIV-1",
        "1.000001",
        "CCCD",
        SIGNER_RSA,
        &["don_de_nghi"],
    );
    let (st, v) = s.dossier("portal", m, &["pdf/rsa-pkcs1.pdf"]).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let sha = v["decision"]["files"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !v.to_string().contains(SIGNER_RSA),
        "the portal's answer carries the full CCCD"
    );
    let other = |path: String| {
        let r = s
            .http
            .get(s.url(&path))
            .bearer_auth("test-key-for-other-portal");
        async move { r.send().await.unwrap().status() }
    };
    for p in [
        "/v1/dossiers/HS-PRIV-1".to_string(),
        format!("/v1/documents/{sha}"),
        format!("/v1/documents/{sha}/report"),
    ] {
        assert_eq!(other(p.clone()).await, StatusCode::NOT_FOUND, "{p}");
        let (st, v) = s.call("GET", &p, Some("portal"), None).await;
        assert_eq!(st, StatusCode::OK, "{p}");
        assert!(
            !v.to_string().contains(SIGNER_RSA),
            "{p}: unmasked for the portal"
        );
    }
    let (st, d) = s
        .call("GET", "/v1/dossiers/HS-PRIV-1", Some("auditor"), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["applicant"]["value"], SIGNER_RSA);
    let (_, r) = s
        .call(
            "GET",
            &format!("/v1/documents/{sha}/report"),
            Some("auditor"),
            None,
        )
        .await;
    assert!(
        r.to_string().contains(SIGNER_RSA),
        "the auditor reads the full number"
    );
    assert!(
        s.audit()
            .await
            .iter()
            .any(|e| e["action"] == "dossier.read"
                && e["outcome"] == "not found (not the submitter)"),
        "the refused read is audited"
    );
    s.stop().await;
}

/// The public page at `/`: the form, files verified in memory (nothing
/// kept), a valid file green with its signer, a tampered one red with the
/// reason, a .p7s paired with its content, English on request, the signed
/// revision inside the answer byte for byte, per-address limit with
/// Retry-After while another address goes on, and the switch that turns
/// the page off.
#[tokio::test]
async fn public_page_verifies_and_keeps_nothing() {
    let dir = temp_dir("page");
    let mut cfg = config(&dir);
    cfg.public_page.per_minute = 6;
    let s = Server::start(cfg).await;
    let resp = s.http.get(s.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("Kiểm tra chữ ký số") && html.contains("multipart/form-data"));
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );

    let post = |lang: &str, files: Vec<(&str, Vec<u8>)>| {
        let mut form = reqwest::multipart::Form::new();
        for (name, data) in files {
            form = form.part(
                "files",
                reqwest::multipart::Part::bytes(data).file_name(name.to_string()),
            );
        }
        s.http
            .post(s.url(&format!("/?lang={lang}")))
            .multipart(form)
            .send()
    };
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let resp = post(
        "vi",
        vec![
            ("don.pdf", pdf.clone()),
            ("sua.pdf", fixture("pdf/tampered-inside-range.pdf")),
            ("to-khai.txt.p7s", fixture("cms/detached-rsa.p7s")),
            ("to-khai.txt", fixture("cms/content.txt")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert_eq!(
        html.matches("<section class=\"file\"").count(),
        3,
        "the content file goes with its .p7s"
    );
    assert!(html.contains("class=\"sig ok\"") && html.contains("Nguyễn Văn An"));
    assert!(html.contains("class=\"sig bad\"") && html.contains("Không hợp lệ"));
    assert!(
        html.contains("to-khai.txt</dd>"),
        "the signed content is named"
    );
    // A signature over the whole file: the revision is the file itself.
    assert!(html.contains("class=\"revision whole\""));
    let (st, _) = s
        .call(
            "GET",
            &format!("/v1/documents/{}", sha256_hex(&pdf)),
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "the page keeps nothing");

    // A page changed after signing: the page is named, in English on request.
    let html = post(
        "en",
        vec![("changed.pdf", fixture("pdf/page-changed-after-signing.pdf"))],
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        html.contains("lang=\"en\"") && html.contains("page 1: content changed after signing"),
        "{html}"
    );
    assert!(html.contains("<span class=\"pages\">1</span>"));
    // The signed revision, inside the answer: exactly the signed range.
    let changed = fixture("pdf/page-changed-after-signing.pdf");
    let b64 = html
        .split("href=\"data:application/pdf;base64,")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    use base64::Engine;
    let rev = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert!(rev.len() < changed.len() && changed.starts_with(&rev));
    assert!(
        rev.ends_with(b"%%EOF\n") || rev.ends_with(b"%%EOF"),
        "a whole revision"
    );

    // Over the per-address limit (6 a minute, 2 used): the 7th is 429 with
    // Retry-After, in HTML; another address is unaffected.
    let mut seen = Vec::new();
    let mut retry = None;
    for _ in 0..5 {
        let r = post("vi", vec![("don.pdf", pdf.clone())]).await.unwrap();
        seen.push(r.status().as_u16());
        retry = r.headers().get("retry-after").cloned();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.text().await.unwrap().contains("quá nhiều lượt kiểm tra"));
        }
    }
    assert_eq!(seen, [200, 200, 200, 200, 429]);
    assert_eq!(retry.unwrap(), "60");
    // 100 more over the limit: every one 429 with Retry-After.
    let mut refused = 0;
    for _ in 0..100 {
        let r = post("vi", vec![("don.pdf", pdf.clone())]).await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS && r.headers().contains_key("retry-after") {
            refused += 1;
        }
    }
    assert_eq!(refused, 100);
    let other = reqwest::Client::builder()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .build()
        .unwrap();
    let form = reqwest::multipart::Form::new().part(
        "files",
        reqwest::multipart::Part::bytes(pdf.clone()).file_name("don.pdf"),
    );
    let r = other.post(s.url("/")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    s.stop().await;

    // Switched off: no page, the API as before.
    let mut cfg = config(&temp_dir("page-off"));
    cfg.public_page.enabled = false;
    let s = Server::start(cfg).await;
    let r = s.http.get(s.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    s.stop().await;
}

/// `GET /v1/documents/{sha256}/certificate`: the verification certificate
/// of an archived document, signed with the configured profile's key;
/// identity numbers masked for the portal, whole for an auditor; another
/// portal's document absent; 503 without a configured key.
#[tokio::test]
async fn verification_certificate_of_an_archived_document() {
    let dir = temp_dir("phieu");
    let mut cfg = config(&dir);
    cfg.certificate.profile = Some("so-noi-vu".into());
    cfg.certificate.issuer = "Trung tâm Phục vụ hành chính công".into();
    let s = Server::start(cfg).await;
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let sha = sha256_hex(&pdf);
    let (st, _) = s
        .call(
            "POST",
            "/v1/verify?store=true&name=don.pdf",
            Some("portal"),
            Some(pdf),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let get = |role: &'static str| {
        s.http
            .get(s.url(&format!("/v1/documents/{sha}/certificate")))
            .bearer_auth(secret(role))
            .send()
    };
    let r = get("portal").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let phieu = r.bytes().await.unwrap();
    let rep = verify_offline(&phieu);
    assert_eq!(
        rep.summary.indication.as_str(),
        "TOTAL_PASSED",
        "{:?}",
        rep.signatures[0].checks
    );
    assert_eq!(rep.signatures[0].doc_mdp, Some(1));
    let text = |b: &[u8]| {
        let f = dir.join("phieu.pdf");
        std::fs::write(&f, b).unwrap();
        let o = std::process::Command::new("pdftotext")
            .arg(&f)
            .arg("-")
            .output();
        o.map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default()
    };
    let t = text(&phieu);
    if !t.is_empty() {
        assert!(t.contains("don.pdf") && t.contains("PHIẾU KẾT QUẢ"), "{t}");
        assert!(
            t.contains("********4567") && !t.contains("001203004567"),
            "masked for the portal: {t}"
        );
        let t = text(&get("auditor").await.unwrap().bytes().await.unwrap());
        assert!(t.contains("001203004567"), "whole for an auditor");
        assert!(!t.contains("Mã hồ sơ"), "in no dossier yet");
        // Submitted in a dossier: the certificate names it.
        let (st, _) = s
            .dossier(
                "portal",
                meta(
                    "HS-PHIEU-1",
                    "1.004227",
                    "CCCD",
                    "001203004567",
                    &["don_de_nghi"],
                ),
                &["pdf/rsa-pkcs1.pdf"],
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let t = text(&get("auditor").await.unwrap().bytes().await.unwrap());
        assert!(t.contains("Mã hồ sơ") && t.contains("HS-PHIEU-1"), "{t}");
    }
    // An unknown document; a role the route does not name.
    let r = s
        .http
        .get(s.url(&format!("/v1/documents/{}/certificate", "0".repeat(64))))
        .bearer_auth(secret("auditor"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .http
        .get(s.url(&format!("/v1/documents/{sha}/certificate")))
        .bearer_auth(secret("official"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    s.stop().await;

    let s = Server::start(config(&temp_dir("phieu-none"))).await;
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    s.call("POST", "/v1/verify?store=true", Some("portal"), Some(pdf))
        .await;
    let r = s
        .http
        .get(s.url(&format!("/v1/documents/{sha}/certificate")))
        .bearer_auth(secret("portal"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "CERTIFICATE_NOT_CONFIGURED");
    s.stop().await;
}

/// `POST /v1/certificates/verify`: a document signer's certificate judged
/// by the same validator as a signature's signer, under the default
/// policy at the server's clock.
#[tokio::test]
async fn certificate_check_endpoint() {
    let s = Server::start(config(&temp_dir("certcheck"))).await;
    let cert = |stem: &str| std::fs::read(repo().join(format!("certs/test/{stem}.pem"))).unwrap();
    // Each with its issuing CA after it (a PEM chain).
    let chain = |stem: &str| [cert(stem), cert("issuing-ca")].concat();
    let cases = [
        (chain("signer-rsa"), "TOTAL_PASSED", None),
        (
            chain("signer-revoked-early"),
            "INDETERMINATE",
            Some("REVOKED_NO_POE"),
        ),
        (
            chain("signer-expired"),
            "INDETERMINATE",
            Some("OUT_OF_BOUNDS_NO_POE"),
        ),
        // Alone, the default policy knows no intermediate: no path.
        (
            cert("signer-rsa"),
            "INDETERMINATE",
            Some("NO_CERTIFICATE_CHAIN_FOUND"),
        ),
    ];
    for (body, ind, sub) in cases {
        let (st, v) = s
            .call(
                "POST",
                "/v1/certificates/verify",
                Some("portal"),
                Some(body),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let sig = &v["report"]["signatures"][0];
        assert_eq!(sig["kind"], "CERTIFICATE");
        assert_eq!(sig["indication"], ind, "{v}");
        assert_eq!(sig["sub_indication"].as_str(), sub, "{v}");
    }
    let (_, v) = s
        .call(
            "POST",
            "/v1/certificates/verify",
            Some("auditor"),
            Some(b"not a certificate".to_vec()),
        )
        .await;
    assert_eq!(
        v["report"]["document"]["error"]["code"],
        "CERTIFICATE_UNREADABLE"
    );
    let (st, _) = s
        .call(
            "POST",
            "/v1/certificates/verify",
            None,
            Some(cert("signer-rsa")),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

/// `GET /v1/stats`: per procedure and month, accepted vs sent to the post,
/// refusal reasons, formats and CAs, as JSON and CSV; auditors only.
#[tokio::test]
async fn statistics_of_dossiers() {
    let s = Server::start(config(&temp_dir("stats"))).await;
    let (st, _) = s
        .dossier(
            "portal",
            meta(
                "HS-S-1",
                "1.004227",
                "CCCD",
                "001203004567",
                &["don_de_nghi"],
            ),
            &["pdf/rsa-pkcs1.pdf"],
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s
        .dossier(
            "portal",
            meta(
                "HS-S-2",
                "1.004227",
                "CCCD",
                "001203004567",
                &["don_de_nghi", "giay_to_kem_theo"],
            ),
            &["pdf/rsa-pkcs1.pdf", "pdf/unsigned.pdf"],
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, v) = s
        .call(
            "GET",
            "/v1/stats?from=2026-11-01&to=2026-12-01",
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["submissions"], 2);
    assert_eq!(
        v["rows"],
        json!([{"month": "2026-11", "procedure": "1.004227", "dossiers": 2, "submissions": 2, "accepted": 1, "to_post": 1}])
    );
    assert_eq!(v["refusals"][0]["name"], "FILE_SIGNED", "{v}");
    assert_eq!(v["formats"][0], json!({"name": "PDF", "count": 3}));
    assert_eq!(
        v["cas"][0],
        json!({"name": "kyso Test Issuing CA", "count": 2})
    );
    let r = s
        .http
        .get(s.url("/v1/stats?format=csv"))
        .bearer_auth(secret("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        r.text().await.unwrap(),
        "month,procedure,dossiers,submissions,accepted,to_post\r\n2026-11,1.004227,2,2,1,1\r\n"
    );
    let (_, v) = s
        .call("GET", "/v1/stats?from=2026-12-01", Some("auditor"), None)
        .await;
    assert_eq!(v["submissions"], 0, "nothing after the period");
    let (st, _) = s.call("GET", "/v1/stats", Some("portal"), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, v) = s
        .call("GET", "/v1/stats?from=yesterday", Some("auditor"), None)
        .await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_TIME"))
    );
    s.stop().await;
}

/// The staff pages with an official's key: sign in (double-submit token),
/// sign a PDF with a profile and get the verified, archived result; a
/// sign-in or a form without the right token is refused; sign-out ends it.
#[tokio::test]
async fn staff_pages_sign_in_and_sign() {
    let s = Server::start(config(&temp_dir("staff"))).await;
    let set_cookie = |r: &reqwest::Response, name: &str| -> String {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .to_string()
    };
    let csrf_of = |html: &str| -> String {
        html.split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    let r = s.http.get(s.url("/staff")).send().await.unwrap();
    let pre = set_cookie(&r, "kyso_signin");
    assert!(pre.len() > 20, "a sign-in token cookie");
    let form_token = csrf_of(&r.text().await.unwrap());
    // Without the cookie the form's token proves nothing: refused.
    let r = s
        .http
        .post(s.url("/staff/signin"))
        .form(&[("key", secret("official")), ("csrf", form_token.clone())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A token of another length with the cookie: refused, not a crash.
    let r = s
        .http
        .post(s.url("/staff/signin"))
        .header("cookie", &pre)
        .form(&[("key", secret("official")), ("csrf", "short".to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .post(s.url("/staff/signin"))
        .header("cookie", &pre)
        .form(&[("key", secret("official")), ("csrf", form_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&r, "kyso_staff");
    let attrs = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Strict"),
        "{attrs}"
    );
    let html = s
        .http
        .get(s.url("/staff/sign"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Ký văn bản kết quả") && html.contains("so-noi-vu"),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let post = |csrf: String| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .text("profile", "so-noi-vu")
            .part(
                "file",
                reqwest::multipart::Part::bytes(fixture("pdf/unsigned.pdf")).file_name("kq.pdf"),
            );
        s.http
            .post(s.url("/staff/sign"))
            .header("cookie", &session)
            .multipart(form)
            .send()
    };
    let r = post("0".repeat(64)).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a wrong CSRF token");
    let r = post(csrf).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let signed = r.bytes().await.unwrap();
    let rep = verify_offline(&signed);
    assert_eq!(rep.summary.indication.as_str(), "TOTAL_PASSED");
    let (st, _) = s
        .call(
            "GET",
            &format!("/v1/documents/{}", sha256_hex(&signed)),
            Some("auditor"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "archived");
    // An official may not read the audit log page.
    let r = s
        .http
        .get(s.url("/staff/audit"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    s.stop().await;
}

/// Signed Office and ODF files (made by LibreOffice, testdata/packages)
/// through the service: /v1/verify reports a PACKAGE_SIGNATURE with its
/// coverage, a dossier accepts the honest .odt and refuses one with an
/// unsigned picture added, and the public page says in words which part
/// is not signed.
#[tokio::test]
async fn signed_office_and_odf_files() {
    let dir = temp_dir("packages");
    let mut cfg = config(&dir);
    cfg.trust.insert(
        "live".into(),
        TrustGroup {
            anchors: vec![repo().join("testdata/live/certs/root.pem")],
            pins: vec![],
            intermediates: vec![repo().join("testdata/live/certs/interm.pem")],
        },
    );
    cfg.revocation.required = false;
    cfg.policy
        .procedures
        .insert("P-ODF".into(), policy(|p| p.trust = vec!["live".into()]));
    let s = Server::start(cfg).await;
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify?procedure=P-ODF",
            Some("portal"),
            Some(fixture("packages/don-signed.docx")),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let r = &v["report"];
    assert_eq!(r["document"]["format"], "OOXML");
    let sig = &r["signatures"][0];
    assert_eq!(sig["kind"], "PACKAGE_SIGNATURE", "{v}");
    assert_eq!(sig["indication"], "TOTAL_PASSED", "{v}");
    assert_eq!(sig["field_name"], "_xmlsignatures/sig1.xml");
    let outside = sig["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "PACKAGE_PARTS_OUTSIDE_SIGNATURE")
        .expect("the unsigned properties are listed");
    assert_eq!(
        outside["evidence"]["parts"],
        json!(["docProps/core.xml", "docProps/app.xml"])
    );
    assert!(
        sig["xml"]["manifest_references"].as_array().unwrap().len() >= 8,
        "{v}"
    );

    // A dossier: the honest .odt is accepted in lieu of the original.
    let (st, v) = s
        .dossier(
            "portal",
            meta("HS-ODF-1", "P-ODF", "CCCD", SIGNER_RSA, &["don_de_nghi"]),
            &["packages/don-signed.odt"],
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let d = &v["decision"];
    assert_eq!(d["files"][0]["format"], "ODF", "{v}");
    assert_eq!(d["files"][0]["indication"], "TOTAL_PASSED", "{v}");

    // The same with an unsigned picture added: refused, the part named on
    // the page.
    let odt = fixture("packages/don-signed.odt");
    let mut added = Vec::new();
    {
        let mut src = zip::ZipArchive::new(std::io::Cursor::new(&odt)).unwrap();
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut added));
        for i in 0..src.len() {
            let f = src.by_index(i).unwrap();
            w.raw_copy_file(f).unwrap();
        }
        w.start_file(
            "Pictures/added.png",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        w.write_all(b"\x89PNG\r\n\x1a\n").unwrap();
        w.finish().unwrap();
    }
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify?procedure=P-ODF",
            Some("portal"),
            Some(added.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        verdict_of(&v),
        "INDETERMINATE/SIG_CONSTRAINTS_FAILURE",
        "{v}"
    );
    let form = reqwest::multipart::Form::new().part(
        "files",
        reqwest::multipart::Part::bytes(added).file_name("don.odt"),
    );
    let html = s
        .http
        .post(s.url("/?lang=vi"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Tệp có 1 phần chưa được ký: Pictures/added.png"),
        "{html}"
    );
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// One anchoring round by the configured TSA, which must anchor something.
async fn anchor_now(state: &kyso::server::AppState, cfg: &Config) {
    let o = state
        .archive
        .anchor_round(
            kyso::crypto::DigestAlg::Sha256,
            "2026-11-01T00:00:00Z",
            cfg.anchoring.stamper().unwrap(),
        )
        .await
        .unwrap();
    assert!(
        matches!(o, kyso::archive::anchor::RoundOutcome::Anchored { .. }),
        "{o:?}"
    );
}

/// The auditor's proof bundle: an archived document, an anchoring round by
/// the live TSA, `GET /v1/documents/{sha}/proof`, and `kyso archive
/// verify-proof` offline (no archive, no network): what is proven, in both
/// languages; a changed file, or one changed with its manifest entry (as a
/// forger would), is refused and named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proof_bundle_checks_offline() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let dir = temp_dir("proof");
    let live = |f: &str| repo().join("testdata/live/certs").join(f);
    let mut cfg = config(&dir);
    cfg.anchoring.tsa_url = Some("http://127.0.0.1:9817/kyso-live/tsa/tsa".into());
    cfg.anchoring.trust = vec![live("root.pem")];
    cfg.anchoring.intermediates = vec![live("interm.pem")];
    let s = Server::start(cfg.clone()).await;
    let pdf = fixture("pdf/rsa-pkcs1.pdf");
    let sha = sha256_hex(&pdf);
    let (st, v) = s
        .call(
            "POST",
            "/v1/verify?store=true",
            Some("portal"),
            Some(pdf.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["report"]["summary"]["indication"], "TOTAL_PASSED");
    // Before any round: a bundle, but nothing in it is anchored yet.
    let state = s.started.as_ref().unwrap().state.clone();
    anchor_now(&state, &cfg).await;
    // Portals may not export proofs.
    let (st, _) = s
        .call(
            "GET",
            &format!("/v1/documents/{sha}/proof"),
            Some("portal"),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let resp = s
        .http
        .get(s.url(&format!("/v1/documents/{sha}/proof")))
        .bearer_auth(secret("auditor"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.etsi.asic-e+zip"
    );
    let zip = resp.bytes().await.unwrap().to_vec();
    // The round's timestamp renewed by a TSA whose certificate outlives
    // the first one's (2054 against 2050), and the bundle exported again.
    let renewed = state
        .archive
        .renew_rounds(
            i64::MAX,
            std::sync::Arc::new(kyso::ers::tsa_stamper(
                "http://127.0.0.1:9817/kyso-live/tsa/tsa-long".into(),
                Duration::from_secs(10),
            )),
        )
        .await
        .unwrap();
    assert_eq!(renewed, [1]);
    let export = || async {
        s.http
            .get(s.url(&format!("/v1/documents/{sha}/proof")))
            .bearer_auth(secret("auditor"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec()
    };
    let zip_renewed = export().await;
    // Then a hash-tree renewal to SHA-512: every record in the bundle,
    // the audit head's too, gains a chain over its data hashed again.
    let o = state
        .archive
        .renew_hash_trees(
            kyso::crypto::DigestAlg::Sha512,
            "2026-12-03T00:00:00Z",
            std::sync::Arc::new(kyso::ers::tsa_stamper(
                "http://127.0.0.1:9817/kyso-live/tsa/tsa-long".into(),
                Duration::from_secs(10),
            )),
        )
        .await
        .unwrap();
    assert!(
        matches!(o, kyso::archive::anchor::RoundOutcome::Anchored { .. }),
        "{o:?}"
    );
    let zip_rehashed = export().await;
    // The public page takes a bundle as it takes a signed file, and says
    // what it proves; one with a changed member is not proven, and why.
    let page = |name: &str, data: Vec<u8>, lang: &str| {
        let form = reqwest::multipart::Form::new().part(
            "files",
            reqwest::multipart::Part::bytes(data).file_name(name.to_string()),
        );
        let req = s
            .http
            .post(s.url(&format!("/?lang={lang}")))
            .multipart(form);
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    let html = page("proof.asice", zip.clone(), "vi").await;
    assert!(
        html.contains("<section class=\"file bundle\">")
            && html.contains("<article class=\"sig ok\">")
            && html.contains(&format!("Đã chứng minh</strong>: document {sha}"))
            && html.contains("chữ ký hợp lệ tại thời điểm tiếp nhận 2026-11-01T00:00:00Z"),
        "{html}"
    );
    let swapped = {
        use zip::write::SimpleFileOptions;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in common_zip_entries(&zip) {
            let mut d = data.clone();
            if name == format!("documents/{sha}") {
                d[100] ^= 1;
            }
            w.start_file(name.as_str(), SimpleFileOptions::default())
                .unwrap();
            w.write_all(&d).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    let html = page("proof.asice", swapped, "en").await;
    assert!(
        html.contains("<article class=\"sig bad\">")
            && html.contains("Not fully proven")
            && html.contains(&format!("documents/{sha}: does not match the manifest")),
        "{html}"
    );
    s.stop().await;
    let bundle = dir.join("proof.asice");
    std::fs::write(&bundle, &zip).unwrap();
    let bundle_renewed = dir.join("proof-renewed.asice");
    std::fs::write(&bundle_renewed, &zip_renewed).unwrap();

    let verify_at = |path: &std::path::Path, extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kyso"))
            .args(["archive", "verify-proof"])
            .arg(path)
            .args(extra)
            .arg("--trust")
            .arg(live("root.pem"))
            .arg("--intermediates")
            .arg(live("interm.pem"))
            .current_dir(repo())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let verify = |path: &std::path::Path| verify_at(path, &[]);
    // Time travel: in 2052 every certificate of the first TSA has expired.
    let later = ["--at", "2052-01-01T00:00:00Z"];
    let (code, out) = verify_at(&bundle, &later);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("Archive timestamp 1.1 is not valid at 2052-01-01T00:00:00Z")
            && out.contains("expired"),
        "{out}"
    );
    let (code, out) = verify_at(&bundle_renewed, &later);
    assert_eq!(code, Some(0), "renewed before the expiry: {out}");
    assert!(
        out.contains("chữ ký hợp lệ tại thời điểm tiếp nhận 2026-11-01T00:00:00Z"),
        "{out}"
    );
    let bundle_rehashed = dir.join("proof-rehashed.asice");
    std::fs::write(&bundle_rehashed, &zip_rehashed).unwrap();
    let (code, out) = verify_at(&bundle_rehashed, &later);
    assert_eq!(code, Some(0), "hash-tree renewed: {out}");
    assert!(
        out.contains("chữ ký hợp lệ tại thời điểm tiếp nhận 2026-11-01T00:00:00Z")
            && out.contains("Audit log: the entries about it link to entry"),
        "{out}"
    );
    let ers_member = |zip: &[u8]| {
        common_zip_entries(zip)
            .into_iter()
            .find(|(n, _)| n == &format!("records/{sha}.ers"))
            .map(|(_, d)| kyso::ers::EvidenceRecord::parse(&d).unwrap().chains.len())
    };
    assert_eq!(ers_member(&zip_rehashed), Some(2));
    let (code, out) = verify(&bundle);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with(&format!("ĐÃ CHỨNG MINH: document {sha}")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "Tệp {sha}: tồn tại, không thay đổi, từ thời điểm 20"
        )),
        "{out}"
    );
    assert!(
        out.contains("chữ ký hợp lệ tại thời điểm tiếp nhận 2026-11-01T00:00:00Z"),
        "{out}"
    );
    assert!(
        out.contains("signatures valid at intake time 2026-11-01T00:00:00Z"),
        "{out}"
    );
    assert!(
        out.contains("Audit log: the entries about it link to entry"),
        "{out}"
    );
    // The roots it trusted, named: the checker's TSA root, and the root
    // recorded at intake that the signatures were verified against.
    assert!(
        out.contains("archive timestamps trusted through the roots: kyso Live Root CA (SHA-256 ")
            && out.contains(
                "against the roots recorded at intake (in the bundle): kyso Test Root CA (SHA-256 "
            ),
        "{out}"
    );

    // Members of the bundle, to forge copies of it.
    let members = common_zip_entries(&zip);
    let rewrite = |f: &dyn Fn(&str, &mut Vec<u8>)| -> Vec<u8> {
        use zip::write::SimpleFileOptions;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in &members {
            let mut d = data.clone();
            f(name, &mut d);
            w.start_file(name.as_str(), SimpleFileOptions::default())
                .unwrap();
            w.write_all(&d).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    // The file changed.
    let doc_name = format!("documents/{sha}");
    let forged = rewrite(&|name, d| {
        if name == doc_name {
            d[100] ^= 1;
        }
    });
    std::fs::write(dir.join("forged.asice"), forged).unwrap();
    let (code, out) = verify(&dir.join("forged.asice"));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("PROBLEM: {doc_name}: does not match the manifest")),
        "{out}"
    );
    // The file and its manifest entry changed together.
    let mut changed = members
        .iter()
        .find(|(n, _)| *n == doc_name)
        .unwrap()
        .1
        .clone();
    changed[100] ^= 1;
    let (old_sha, new_sha) = (sha.clone(), sha256_hex(&changed));
    let forged = rewrite(&|name, d| {
        if name == doc_name {
            d[100] ^= 1;
        }
        if name == "META-INF/manifest.json" {
            let text = String::from_utf8(d.clone()).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            let mut v2 = v.clone();
            for m in v2["members"].as_array_mut().unwrap() {
                if m["path"] == doc_name.as_str() {
                    m["sha256"] = json!(new_sha);
                }
            }
            *d = serde_json::to_vec(&v2).unwrap();
        }
    });
    assert_ne!(old_sha, new_sha);
    std::fs::write(dir.join("forged2.asice"), forged).unwrap();
    let (code, out) = verify(&dir.join("forged2.asice"));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "PROBLEM: {doc_name}: its content is not the archived object it names"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "PROBLEM: {doc_name}: its evidence record does not prove it"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("Tệp {sha}: KHÔNG chứng minh được")),
        "{out}"
    );
    // The intake row (its revocation setting, as its policy or evidence
    // list could be) changed with its manifest entry: the row's own
    // evidence record no longer proves it.
    let (intake_name, intake) = members
        .iter()
        .find(|(n, _)| n.starts_with("intake/"))
        .cloned()
        .unwrap();
    assert!(
        members.iter().any(|(n, _)| *n
            == intake_name
                .replace("intake/", "records/intake-")
                .replace(".json", ".ers")),
        "the bundle carries the intake row's record"
    );
    let mut row: Value = serde_json::from_slice(&intake).unwrap();
    row["require_revocation"] = json!(!row["require_revocation"].as_bool().unwrap());
    let row = serde_json::to_vec_pretty(&row).unwrap();
    let forged = rewrite(&|name, d| {
        if name == intake_name {
            *d = row.clone();
        }
        if name == "META-INF/manifest.json" {
            let mut v: Value = serde_json::from_slice(d).unwrap();
            for m in v["members"].as_array_mut().unwrap() {
                if m["path"] == intake_name.as_str() {
                    m["sha256"] = json!(sha256_hex(&row));
                    m["size"] = json!(row.len());
                }
            }
            *d = serde_json::to_vec(&v).unwrap();
        }
    });
    std::fs::write(dir.join("forged3.asice"), forged).unwrap();
    let (code, out) = verify(&dir.join("forged3.asice"));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "PROBLEM: {intake_name}: its evidence record does not prove it (the row is not the one anchored at intake)"
        )),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn common_zip_entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    (0..a.len())
        .map(|i| {
            let mut f = a.by_index(i).unwrap();
            let mut d = Vec::new();
            f.read_to_end(&mut d).unwrap();
            (f.name().to_string(), d)
        })
        .collect()
}

/// `kyso archive reverify`: every archived document judged again at its
/// intake time from its kept evidence; then with a CRL the CA published
/// after intake that revokes one signer from a date before the signing,
/// that document changes and says why; an interrupted run resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_reverify_finds_later_revocations() {
    let dir = temp_dir("rearchive");
    let s = Server::start(config(&dir)).await;
    let files = [
        "pdf/rsa-pkcs1.pdf",
        "pdf/ecdsa-p256.pdf",
        "pdf/docsign-eku.pdf",
    ];
    for f in files {
        let v = s.store(f).await;
        assert_eq!(v["report"]["summary"]["indication"], "TOTAL_PASSED", "{f}");
    }
    s.stop().await;
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kyso"))
            .args(["archive", "reverify", "--jobs", "2"])
            .args(extra)
            .current_dir(repo())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let data = dir.to_str().unwrap().to_string();
    let (code, out) = run(&["--data-dir", &data]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("3 tài liệu / documents (0 from an interrupted run)"),
        "{out}"
    );
    assert!(
        out.contains("3 unchanged, 0 changed, 0 not judged"),
        "{out}"
    );
    // Only documents taken in since a date: none after 2999, all after 2000.
    let (code, out) = run(&["--data-dir", &data, "--since", "2999-01-01"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("0 tài liệu / documents"), "{out}");
    let (code, out) = run(&["--data-dir", &data, "--since", "2000-01-01"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("3 unchanged, 0 changed, 0 not judged"),
        "{out}"
    );

    // A CRL of the issuing CA that intake did not see (issued 2026-10-20,
    // after the one configured then, before the intake time) revokes
    // signer-rsa from 2020, before any of these signatures.
    let crl = dir.join("later.crl");
    let py = format!(
        r#"
import datetime as d
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
ca = x509.load_pem_x509_certificate(open("certs/test/issuing-ca.pem", "rb").read())
key = serialization.load_pem_private_key(open("certs/test/issuing-ca.key.pem", "rb").read(), None)
who = x509.load_pem_x509_certificate(open("certs/test/signer-rsa.pem", "rb").read())
t = lambda y, m, dd: d.datetime(y, m, dd, tzinfo=d.timezone.utc)
b = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
     .last_update(t(2026, 10, 20)).next_update(t(2027, 10, 20))
     .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(who.serial_number)
                              .revocation_date(t(2020, 1, 1)).build())
     .add_extension(x509.CRLNumber(1000), False)
     .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), False))
open({crl:?}, "wb").write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
"#
    );
    let st = std::process::Command::new(repo().join(".venv/bin/python"))
        .args(["-c", &py])
        .current_dir(repo())
        .status();
    if !st.is_ok_and(|s| s.success()) {
        services::skip("the CRL generator (python cryptography, .venv) did not run");
        return;
    }
    let cfg_path = dir.join("later.toml");
    std::fs::write(
        &cfg_path,
        format!(
            "data_dir = {data:?}\n[revocation]\ncrls = [{:?}, {:?}]\n",
            repo().join("testdata/revocation/root.crl"),
            crl
        ),
    )
    .unwrap();
    let cfg_s = cfg_path.to_str().unwrap().to_string();
    let rsa = sha256_hex(&fixture("pdf/rsa-pkcs1.pdf"));
    let (code, out) = run(&["--config", &cfg_s]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("2 unchanged, 1 changed"), "{out}");
    assert!(
        out.contains(&format!(
            "CHANGED {rsa} (intake 2026-11-01T00:00:00Z): TOTAL_PASSED → "
        )),
        "{out}"
    );
    assert!(
        out.contains("TOTAL_PASSED → INDETERMINATE/REVOKED_NO_POE: CN=Nguyễn Văn An"),
        "{out}"
    );
    assert!(out.contains("REVOKED at 2020-01-01T00:00:00Z"), "{out}");
    assert!(
        out.contains("đã bị THU HỒI lúc 2020-01-01T00:00:00Z"),
        "{out}"
    );

    // Interrupted: the journal holds one result and half a line.
    let journal = dir.join("reverify-journal.jsonl");
    let last = std::fs::read_to_string(dir.join("reverify-journal.jsonl.last")).unwrap();
    let first = last.lines().next().unwrap();
    std::fs::write(&journal, format!("{first}\n{{\"sha256\":\"cut")).unwrap();
    let (code, out) = run(&["--config", &cfg_s]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("3 tài liệu / documents (1 from an interrupted run)"),
        "{out}"
    );
    assert!(out.contains("2 unchanged, 1 changed"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A dossier's proof bundle: both files, the decision, their records, the
/// audit entries about the dossier; checked offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dossier_proof_bundle() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let dir = temp_dir("dossier-proof");
    let mut cfg = config(&dir);
    cfg.anchoring.tsa_url = Some("http://127.0.0.1:9817/kyso-live/tsa/tsa".into());
    let s = Server::start(cfg.clone()).await;
    let files = ["pdf/rsa-pkcs1.pdf", "pdf/ecdsa-p256.pdf"];
    let (st, v) = s
        .dossier(
            "portal",
            meta(
                "HS-PROOF-1",
                "P-OPTIONAL",
                "CCCD",
                SIGNER_RSA,
                &["don_de_nghi", "giay_to_kem_theo"],
            ),
            &files,
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let state = s.started.as_ref().unwrap().state.clone();
    anchor_now(&state, &cfg).await;
    s.stop().await;
    let bundle = dir.join("hoso.asice");
    let kyso_cmd = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kyso"))
            .args(args)
            .current_dir(repo())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, out) = kyso_cmd(&[
        "archive".as_ref(),
        "proof".as_ref(),
        "--dossier".as_ref(),
        "HS-PROOF-1".as_ref(),
        "-o".as_ref(),
        bundle.as_os_str(),
        "--data-dir".as_ref(),
        dir.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let members: Vec<String> = common_zip_entries(&std::fs::read(&bundle).unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        members.iter().any(|n| n.starts_with("decisions/")),
        "{members:?}"
    );
    let live = repo().join("testdata/live/certs");
    let (code, out) = kyso_cmd(&[
        "archive".as_ref(),
        "verify-proof".as_ref(),
        bundle.as_os_str(),
        "--trust".as_ref(),
        live.join("root.pem").as_os_str(),
        "--intermediates".as_ref(),
        live.join("interm.pem").as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("ĐÃ CHỨNG MINH: dossier HS-PROOF-1"),
        "{out}"
    );
    for f in files {
        let sha = sha256_hex(&fixture(f));
        assert!(
            out.contains(&format!(
                "Tệp {sha}: tồn tại, không thay đổi, từ thời điểm 20"
            )),
            "{out}"
        );
    }
    assert_eq!(
        out.matches("chữ ký hợp lệ tại thời điểm tiếp nhận 2026-11-01T00:00:00Z")
            .count(),
        2,
        "{out}"
    );
    assert!(
        out.contains("Audit log: the entries about it link to entry"),
        "{out}"
    );
    // Unknown dossier: said so.
    let (code, _) = kyso_cmd(&[
        "archive".as_ref(),
        "proof".as_ref(),
        "--dossier".as_ref(),
        "HS-NONE".as_ref(),
        "-o".as_ref(),
        bundle.as_os_str(),
        "--data-dir".as_ref(),
        dir.as_os_str(),
    ]);
    assert_eq!(code, Some(1));
    std::fs::remove_dir_all(dir).unwrap();
}

/// The scheduler's item trigger: with `every_items = 2` and no time
/// trigger, one stored verification starts no round, the second does; the
/// round reads up to the second report and nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchoring_round_after_n_items() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let dir = temp_dir("anchor-items");
    let mut cfg = config(&dir);
    cfg.anchoring.tsa_url = Some("http://127.0.0.1:9817/kyso-live/tsa/tsa".into());
    cfg.anchoring.every_items = 2;
    let s = Server::start(cfg.clone()).await;
    let state = s.started.as_ref().unwrap().state.clone();
    s.store("pdf/rsa-pkcs1.pdf").await;
    // The trigger looks every 5 s: past one look, one row is not enough.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(state.archive.meta.rounds().await.unwrap().is_empty());
    s.store("pdf/unsigned.pdf").await;
    let t = std::time::Instant::now();
    let rounds = loop {
        let r = state.archive.meta.rounds().await.unwrap();
        if !r.is_empty() || t.elapsed() > Duration::from_secs(20) {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(rounds.len(), 1, "no round within 20 s of the second row");
    assert_eq!(rounds[0].marks.report, 2);
    assert_eq!(state.archive.rows_since_round().await.unwrap(), 0);
    s.stop().await;

    // The configured algorithm replaced: at its next tick the scheduler
    // anchors the new rows with SHA-512 and renews the SHA-256 round's
    // hash tree (a round of its own, the old one taken over).
    cfg.anchoring.hash = "sha512".into();
    let s = Server::start(cfg).await;
    let state = s.started.as_ref().unwrap().state.clone();
    for f in ["pdf/rsa-pkcs1.pdf", "pdf/unsigned.pdf"] {
        s.store(f).await;
    }
    let t = std::time::Instant::now();
    let rounds = loop {
        let r = state.archive.meta.rounds().await.unwrap();
        if r.len() >= 3 || t.elapsed() > Duration::from_secs(20) {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let shape: Vec<(&str, bool, bool)> = rounds
        .iter()
        .map(|r| (r.digest.as_str(), r.hash_renewal, r.renewed_by != 0))
        .collect();
    assert_eq!(
        shape,
        [
            ("SHA-256", false, true),
            ("SHA-512", false, false),
            ("SHA-512", true, false)
        ],
        "within 20 s of the new rows; not anchored: {:?}, rows since: {:?}",
        state.archive.unanchored().await.unwrap(),
        state.archive.rows_since_round().await
    );
    s.stop().await;
}

/// API keys at run time: an admin creates, rotates and revokes keys over
/// the API (each an audit entry; only admins may); a rotated key works
/// until its overlap ends, a revoked one at once stops; the CLI lists,
/// creates and refuses on the same store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_create_rotate_revoke() {
    let dir = temp_dir("keys");
    let mut cfg = config(&dir);
    cfg.key_rotation_overlap_secs = 3600;
    let s = Server::start(cfg.clone()).await;
    let state = s.started.as_ref().unwrap().state.clone();
    let status = |secret: String| {
        let r = s
            .http
            .post(s.url("/v1/verify"))
            .bearer_auth(secret)
            .body(fixture("pdf/rsa-pkcs1.pdf"));
        async move { r.send().await.unwrap().status() }
    };
    for role in ["portal", "official", "auditor"] {
        let (st, _) = s.call("GET", "/v1/keys", Some(role), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{role}");
        let (st, _) = s.call("POST", "/v1/keys/x/revoke", Some(role), None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{role}");
    }
    let admin = |m: &str, path: &str, body: Option<Value>| {
        let mut r = s
            .http
            .request(m.parse().unwrap(), s.url(path))
            .bearer_auth(secret("admin"));
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let resp = r.send().await.unwrap();
            let st = resp.status();
            (st, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (st, v) = admin("POST", "/v1/keys", Some(json!({"role": "root"}))).await;
    assert_eq!(
        (st, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("KEY_CHANGE_REFUSED"))
    );
    let (st, k1) = admin("POST", "/v1/keys", Some(json!({"role": "portal"}))).await;
    assert_eq!(st, StatusCode::CREATED, "{k1}");
    let (id1, secret1) = (
        k1["id"].as_str().unwrap().to_string(),
        k1["secret"].as_str().unwrap().to_string(),
    );
    assert_eq!(status(secret1.clone()).await, StatusCode::OK);
    // Rotation: both work during the overlap, only the new one after it.
    let (st, k2) = admin("POST", &format!("/v1/keys/{id1}/rotate"), None).await;
    assert_eq!(st, StatusCode::OK, "{k2}");
    assert_eq!(k2["replaces"], id1.as_str());
    assert_eq!(k2["replaced_until"], "2026-11-01T01:00:00Z");
    let (id2, secret2) = (
        k2["id"].as_str().unwrap().to_string(),
        k2["secret"].as_str().unwrap().to_string(),
    );
    assert_eq!(status(secret1.clone()).await, StatusCode::OK);
    assert_eq!(status(secret2.clone()).await, StatusCode::OK);
    let t0 = state.clock.now();
    state.clock.set(t0 + 3600);
    assert_eq!(status(secret1.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(secret2.clone()).await, StatusCode::OK);
    // An expired key is not rotated again; a revoked one stops at once.
    let (st, _) = admin("POST", &format!("/v1/keys/{id1}/rotate"), None).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _) = admin("POST", &format!("/v1/keys/{id2}/revoke"), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(status(secret2.clone()).await, StatusCode::UNAUTHORIZED);
    let (st, v) = admin("POST", &format!("/v1/keys/{id2}/revoke"), None).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (st, list) = admin("GET", "/v1/keys", None).await;
    assert_eq!(st, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|k| k["usable"] == false), "{list:?}");
    assert!(
        !serde_json::to_string(list)
            .unwrap()
            .contains(&sha256_hex(secret1.as_bytes()))
    );
    // Every change is an audit entry, with the admin's key id.
    let log = s.audit().await;
    let changes: Vec<(String, String)> = log
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("key."))
        .map(|e| {
            assert_eq!(e["role"], "admin");
            (
                e["action"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("key.create".to_string(), "role portal".to_string()),
            (
                "key.rotate".to_string(),
                format!("replaced by {id2}; works until 2026-11-01T01:00:00Z")
            ),
            ("key.revoke".to_string(), "revoked".to_string()),
        ]
    );
    s.stop().await;

    // The CLI on the same store.
    let d = dir.to_str().unwrap();
    let (code, out, err) = common::kyso(&["keys", "create", "--role", "auditor", "--data-dir", d]);
    assert_eq!(code, Some(0), "{err}");
    let secret3 = out
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap()
        .to_string();
    let (code, out, _) = common::kyso(&["keys", "list", "--data-dir", d]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!("{id2}\tportal")) && out.contains("revoked"),
        "{out}"
    );
    assert!(out.contains("auditor") && out.contains("active"), "{out}");
    let (code, _, err) = common::kyso(&["keys", "revoke", "no-such-key", "--data-dir", d]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no stored key no-such-key"), "{err}");
    // A restarted service lets the CLI's key in.
    let s = Server::start(cfg).await;
    let (st, _) = {
        let r = s
            .http
            .get(s.url("/v1/audit?limit=1"))
            .bearer_auth(&secret3)
            .send()
            .await
            .unwrap();
        (r.status(), ())
    };
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// Limits shared by nodes on one PostgreSQL: requests of one API key, and
/// requests without a key from one address, split across two nodes meet
/// one limit per minute; on the embedded store each node counts alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_across_nodes() {
    let Some(pg) = services::pg_schema().await else {
        return;
    };
    let Some(weed) = tokio::task::spawn_blocking(|| services::Weed::start("kysorate"))
        .await
        .unwrap()
    else {
        return;
    };
    let dir = temp_dir("rate");
    let mut cfg = config(&dir);
    cfg.storage = Storage::PostgresS3 {
        postgres: pg.clone(),
        s3: weed.s3_config("kysorate"),
    };
    cfg.limits.per_key_per_minute = 5;
    cfg.limits.max_unauthenticated_per_minute = 4;
    let a = Server::start(cfg.clone()).await;
    let b = Server::start(cfg.clone()).await;
    let get = |node: &Server, key: Option<&str>| {
        let mut r = node.http.get(node.url("/v1/dossiers/HS-RATE-1"));
        if let Some(k) = key {
            r = r.bearer_auth(secret(k));
        }
        async move { r.send().await.unwrap() }
    };
    // Five by the portal key, alternating nodes: all served (404: no such
    // dossier); the sixth, on either node, is over the key's limit.
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            get(node, Some("portal")).await.status(),
            StatusCode::NOT_FOUND,
            "request {i}"
        );
    }
    let r = get(&b, Some("portal")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "RATE_LIMITED");
    assert_eq!(
        get(&a, Some("portal")).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another key has its own count.
    assert_eq!(
        get(&a, Some("auditor")).await.status(),
        StatusCode::NOT_FOUND
    );
    // Without a key: 4 answered 401 across the nodes, then 429.
    for i in 0..4 {
        let node = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            get(node, None).await.status(),
            StatusCode::UNAUTHORIZED,
            "request {i}"
        );
    }
    assert_eq!(get(&a, None).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(get(&b, None).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // The next minute starts afresh.
    for s in [&a, &b] {
        let st = s.started.as_ref().unwrap().state.clone();
        st.clock.set(st.clock.now() + 60);
    }
    assert_eq!(
        get(&b, Some("portal")).await.status(),
        StatusCode::NOT_FOUND
    );
    a.stop().await;
    b.stop().await;

    // The embedded store: each node alone (two nodes cannot share it; one
    // node's limit is shown).
    let dir2 = temp_dir("rate-embedded");
    let mut cfg = config(&dir2);
    cfg.limits.per_key_per_minute = 2;
    let c = Server::start(cfg).await;
    assert_eq!(
        get(&c, Some("portal")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&c, Some("portal")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&c, Some("portal")).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    c.stop().await;
    services::pg_drop(&pg).await;
    drop(weed);
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(dir2).unwrap();
}
