//! The `kyso` binary: exit codes, output formats, options.

#![allow(clippy::unwrap_used)]

mod common;

use common::kyso;

const T: [&str; 8] = [
    "--trust",
    "certs/test/root.pem",
    "--at",
    "2026-11-01T00:00:00Z",
    "--crl",
    "testdata/revocation/root.crl",
    "--crl",
    "testdata/revocation/issuing-ca.crl",
];

#[test]
fn exit_0_when_every_signature_passes() {
    let (code, out, _) = kyso(&[&["verify", "testdata/pdf/rsa-pkcs1.pdf"], &T[..]].concat());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("HỢP LỆ") && out.contains("TOTAL_PASSED"),
        "{out}"
    );
    assert!(
        out.contains("CCCD: 001203004567"),
        "identity missing: {out}"
    );
}

/// Regression: a UID of `123456789éabc` exited 101 (a `&str` sliced inside
/// `é`), as did a signingTime holding `é`. Now: a report and exit 0 / 1.
#[test]
fn utf8_in_subject_or_signing_time_is_a_verdict_not_a_crash() {
    let (code, out, err) = kyso(&[&["verify", "testdata/cms/uid-multibyte.p7m"], &T[..]].concat());
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("UNKNOWN: 123456789éabc"), "{out}");
    let (code, out, err) = kyso(
        &[
            &["verify", "testdata/cms/signing-time-non-ascii.p7m"],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("TOTAL_FAILED / FORMAT_FAILURE") && out.contains("SIGNING_TIME_ATTR_INVALID"),
        "{out}"
    );
}

#[test]
fn exit_1_when_a_signature_does_not_pass_or_there_is_none() {
    let (code, _, _) = kyso(
        &[
            &["verify", "testdata/pdf/tampered-inside-range.pdf"],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(1));
    let (code, _, _) = kyso(&[&["verify", "testdata/pdf/unsigned.pdf"], &T[..]].concat());
    assert_eq!(code, Some(1));
    let (code, _, _) = kyso(&[&["verify", "testdata/cms/content.txt"], &T[..]].concat());
    assert_eq!(code, Some(1));
    // The test PKI is not among the default (Vietnamese) trust anchors.
    let (code, out, _) = kyso(&[
        "verify",
        "testdata/pdf/rsa-pkcs1.pdf",
        "--default-trust",
        "--at",
        "2026-11-01T00:00:00Z",
    ]);
    assert_eq!(code, Some(1));
    assert!(out.contains("NO_CERTIFICATE_CHAIN_FOUND"), "{out}");
}

#[test]
fn exit_2_on_usage_or_io_error() {
    assert_eq!(kyso(&["verify", "no/such/file.pdf"]).0, Some(2));
    assert_eq!(
        kyso(&["verify", "testdata/pdf/rsa-pkcs1.pdf", "--at", "yesterday"]).0,
        Some(2)
    );
    assert_eq!(
        kyso(&[
            "verify",
            "testdata/pdf/rsa-pkcs1.pdf",
            "--trust",
            "no/such/root.pem"
        ])
        .0,
        Some(2)
    );
    assert_eq!(kyso(&["frobnicate"]).0, Some(2));
}

#[test]
fn json_report_and_languages() {
    let (code, out, _) = kyso(
        &[
            &[
                "verify",
                "testdata/pdf/two-signatures.pdf",
                "--format",
                "json",
            ],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["report_version"], 1);
    assert_eq!(v["summary"]["signatures"], 2);
    assert_eq!(v["signatures"][0]["coverage"]["kind"], "ENTIRE_REVISION");
    assert_eq!(
        v["signatures"][0]["coverage"]["modification_level"],
        "FORM_FILLING"
    );
    assert_eq!(v["signatures"][0]["level"], "B-B");
    // Original + one revision per signature; each signature names its own.
    assert_eq!(v["document"]["revisions"].as_array().unwrap().len(), 3);
    assert_eq!(v["signatures"][0]["revision"], 2);
    assert_eq!(v["signatures"][1]["revision"], 3);
    assert_eq!(v["signatures"][1]["indication"], "TOTAL_PASSED");
    assert_eq!(v["signatures"][1]["signer"]["identities"][0]["kind"], "MST");
    assert_eq!(
        v["signatures"][1]["signer"]["identities"][0]["value"],
        "0100686209-001"
    );
    let (_, vi, _) = kyso(
        &[
            &["verify", "testdata/pdf/rsa-pkcs1.pdf", "--lang", "vi"],
            &T[..],
        ]
        .concat(),
    );
    assert!(
        vi.contains("Chữ ký #1") && !vi.contains("Signature #1"),
        "{vi}"
    );
    let (_, en, _) = kyso(
        &[
            &["verify", "testdata/pdf/rsa-pkcs1.pdf", "--lang", "en"],
            &T[..],
        ]
        .concat(),
    );
    assert!(
        en.contains("Signature #1") && !en.contains("Chữ ký #1"),
        "{en}"
    );
}

#[test]
fn detached_and_enveloping_cms() {
    let (code, _, _) = kyso(
        &[
            &[
                "verify",
                "testdata/cms/detached-rsa.p7s",
                "--detached",
                "testdata/cms/content.txt",
            ],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0));
    let out_path = std::env::temp_dir().join(format!("kyso-cli-content-{}", std::process::id()));
    let (code, _, _) = kyso(
        &[
            &[
                "verify",
                "testdata/cms/enveloping-ec.p7m",
                "--extract-content",
                out_path.to_str().unwrap(),
            ],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0));
    let got = std::fs::read(&out_path).unwrap();
    std::fs::remove_file(&out_path).ok();
    assert_eq!(
        got,
        std::fs::read(common::root().join("testdata/cms/content.txt")).unwrap()
    );
}

#[test]
fn algorithm_policy_flags() {
    let (code, out, _) = kyso(
        &[
            &["verify", "testdata/pdf/sha1.pdf", "--sha1", "reject"],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(1));
    assert!(out.contains("CRYPTO_CONSTRAINTS_FAILURE"), "{out}");
    assert_eq!(
        kyso(&[&["verify", "testdata/pdf/sha1.pdf"], &T[..]].concat()).0,
        Some(0)
    );
    let (code, out, _) = kyso(
        &[
            &[
                "verify",
                "testdata/pdf/rsa1024.pdf",
                "--min-rsa-bits",
                "1024",
            ],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn changed_page_is_named_in_the_report() {
    let (code, out, _) = kyso(
        &[
            &[
                "verify",
                "testdata/pdf/page-changed-after-signing.pdf",
                "--format",
                "json",
            ],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = &v["signatures"][0];
    assert_eq!(s["sub_indication"], "SIG_CONSTRAINTS_FAILURE");
    assert_eq!(s["coverage"]["modification_level"], "OTHER");
    let checks = s["checks"].as_array().unwrap();
    let pages = checks
        .iter()
        .find(|c| c["code"] == "PAGES_CHANGED_AFTER_SIGNING")
        .expect("page summary");
    assert_eq!(pages["evidence"]["pages"], serde_json::json!([1]));
    assert!(
        pages["message_vi"]
            .as_str()
            .unwrap()
            .starts_with("trang 1: nội dung bị thay đổi sau khi ký")
    );
    let changed = s["coverage"]["changes"].as_array().unwrap();
    assert!(
        changed
            .iter()
            .any(|c| c["object"] == 4 && c["class"] == "DISALLOWED")
    );
}

#[test]
fn docmdp_and_field_locks_are_reported() {
    let json = |file: &str| -> serde_json::Value {
        let (_, out, _) = kyso(&[&["verify", file, "--format", "json"], &T[..]].concat());
        serde_json::from_str(&out).unwrap()
    };
    let v = json("testdata/pdf/certified-p2-then-signed.pdf");
    assert_eq!(v["signatures"][0]["doc_mdp"], 2);
    assert!(v["signatures"][1]["doc_mdp"].is_null());
    let v = json("testdata/pdf/attacks/fieldmdp-locked-field-filled.pdf");
    assert_eq!(
        v["signatures"][0]["field_locks"],
        serde_json::json!(["INCLUDE: HoTen"])
    );
}

/// A report says what it ran on and under which settings (re-verification
/// years later can show it runs the same checks).
#[test]
fn report_records_openssl_version_and_policy() {
    let (code, out, _) = kyso(
        &[
            &["verify", "testdata/pdf/rsa-pkcs1.pdf", "--format", "json"],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["openssl_version"]
            .as_str()
            .unwrap()
            .starts_with("OpenSSL 3"),
        "{v}"
    );
    assert_eq!(v["kyso_version"], env!("CARGO_PKG_VERSION"));
    let p = &v["policy"];
    assert_eq!(
        (p["min_rsa_bits"].as_u64(), p["sha1"].as_str()),
        (Some(2048), Some("WARN"))
    );
    assert_eq!(p["revocation_required"], true);
    let root =
        openssl::x509::X509::from_pem(&std::fs::read("certs/test/root.pem").unwrap()).unwrap();
    let fp = hex::encode(root.digest(openssl::hash::MessageDigest::sha256()).unwrap());
    assert_eq!(p["trust_anchors"], serde_json::json!([fp]));
}

/// The text report of an e-invoice says where each signature is, the role
/// it plays and which elements it signed; exit 0 when all pass, 1 for a
/// wrapped invoice.
#[test]
fn verify_xml_text_names_role_and_signed_elements() {
    let args = |f: &'static str| {
        let head = ["verify", f, "--intermediates", "certs/test/issuing-ca.pem"];
        [&head[..], &T[..], &["--lang", "en"][..]].concat()
    };
    let (code, out, err) = common::kyso(&args("testdata/xml/invoice-honest.xml"));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("Signature at: /HDon/DSCKS/NBan/Signature   role: seller"),
        "{out}"
    );
    assert!(
        out.contains("signed: /HDon/DLHDon Id=DLHDon-1 [ok]"),
        "{out}"
    );
    assert!(out.contains("role: tax_authority"), "{out}");
    let (code, out, _) = common::kyso(&args("testdata/xml/wrap-04-original-in-wrapper.xml"));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("XML_PROFILE_ELEMENT_NOT_SIGNED"), "{out}");
}

/// `kyso cert verify`: a certificate on its own, by the signer's validator;
/// exit 0 only when TOTAL_PASSED; the intermediates may follow it in the file.
#[test]
fn cert_verify_command() {
    let (code, out, _) = kyso(
        &[
            &[
                "cert",
                "verify",
                "certs/test/signer-rsa.pem",
                "--intermediates",
                "certs/test/issuing-ca.pem",
                "--lang",
                "en",
            ],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("Certificate #1: TOTAL_PASSED — signer: Nguyễn Văn An"),
        "{out}"
    );
    assert!(out.contains("CCCD: 001203004567"), "{out}");
    let (code, out, _) = kyso(
        &[
            &[
                "cert",
                "verify",
                "certs/test/signer-revoked-early.pem",
                "--intermediates",
                "certs/test/issuing-ca.pem",
                "--format",
                "json",
            ],
            &T[..],
        ]
        .concat(),
    );
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["signatures"][0]["kind"], "CERTIFICATE");
    assert_eq!(v["signatures"][0]["sub_indication"], "REVOKED_NO_POE");
    let (code, _, err) = kyso(&["cert", "verify", "no-such.pem"]);
    assert_eq!(code, Some(2), "{err}");
}
