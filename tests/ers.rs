//! RFC 4998 evidence records with real components: the live certomancer
//! TSAs (testdata/live/certomancer.yml) stamp the roots, and BouncyCastle
//! 1.72's `org.bouncycastle.tsp.ers` (tests/support/Ers.java, Debian's
//! libbcpkix-java on the JDK) is the outside implementation — it verifies
//! the records `kyso ers` writes, and builds records kyso verifies.
//! Without Java + BouncyCastle the BouncyCastle halves print SKIPPED,
//! unless KYSO_REQUIRE_SIGN_TOOLS=1 (CI).

#![allow(clippy::unwrap_used)]

mod common;
#[path = "support/services.rs"]
mod services;

use std::path::{Path, PathBuf};
use std::process::Command;

const TSA: &str = "http://127.0.0.1:9817/kyso-live/tsa/tsa";
const TSA_LONG: &str = "http://127.0.0.1:9817/kyso-live/tsa/tsa-long";
const BC_CP: &str =
    "/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar";

fn live(p: &str) -> String {
    common::root()
        .join("testdata/live/certs")
        .join(p)
        .to_string_lossy()
        .into_owned()
}

fn have_bouncycastle() -> bool {
    if !common::have_tool("java", "apt install openjdk-17-jdk-headless") {
        return false;
    }
    if Path::new("/usr/share/java/bcpkix.jar").exists() {
        return true;
    }
    assert!(
        !std::env::var("KYSO_REQUIRE_SIGN_TOOLS").is_ok_and(|v| v == "1"),
        "KYSO_REQUIRE_SIGN_TOOLS=1 but BouncyCastle is not installed (apt install libbcpkix-java)"
    );
    println!("SKIPPED: BouncyCastle is not installed (apt install libbcpkix-java)");
    false
}

/// BouncyCastle's tool: (success, stdout).
fn bc(args: &[&str]) -> (bool, String) {
    let out = Command::new("java")
        .args(["-cp", BC_CP])
        .arg(common::root().join("tests/support/Ers.java"))
        .args(args)
        .output()
        .expect("running java");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        text + &String::from_utf8_lossy(&out.stderr),
    )
}

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kyso-ers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Five files with distinct contents, and one that is in no tree.
fn files(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    for (i, name) in [
        "don.pdf",
        "cccd.pdf",
        "hoadon.xml",
        "bienban.docx",
        "anh.png",
    ]
    .iter()
    .enumerate()
    {
        let p = dir.join(name);
        std::fs::write(&p, format!("tệp {i}: {name}\n").repeat(100 + i)).unwrap();
        v.push(p.to_string_lossy().into_owned());
    }
    std::fs::write(dir.join("other.bin"), b"not archived").unwrap();
    v
}

/// `kyso ers verify` as JSON: (exit code, verdict).
fn kyso_verify(record: &str, file: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let (trust, inter) = (live("root.pem"), live("interm.pem"));
    let mut args = vec![
        "ers",
        "verify",
        record,
        file,
        "--trust",
        &trust,
        "--intermediates",
        &inter,
        "--revocation",
        "optional",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = common::kyso(&args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, v)
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

fn stamp_verdicts(v: &serde_json::Value) -> Vec<String> {
    v["stamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let r = &s["report"];
            match r["sub_indication"].as_str() {
                Some(sub) => format!("{}/{sub}", r["indication"].as_str().unwrap()),
                None => r["indication"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

fn make(tsa: &str, out: &Path, files: &[String]) {
    let out_s = out.to_string_lossy();
    let mut args = vec!["ers", "make", "--tsa", tsa, "-o", &out_s];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, err) = common::kyso(&args);
    assert_eq!(code, Some(0), "{stdout} {err}");
}

fn record_of(dir: &Path, file: &str) -> String {
    let name = Path::new(file).file_name().unwrap().to_string_lossy();
    dir.join(format!("{name}.ers"))
        .to_string_lossy()
        .into_owned()
}

#[test]
fn records_kyso_writes_verify_in_both_implementations() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let dir = workdir("kyso");
    let fs = files(&dir);
    make(TSA, &dir, &fs);
    let other = dir.join("other.bin").to_string_lossy().into_owned();
    for f in &fs {
        let rec = record_of(&dir, f);
        let (code, v) = kyso_verify(&rec, f, &[]);
        assert_eq!(code, Some(0), "{v}");
        assert_eq!(v["valid"], true);
        assert!(v["existed_at"].as_str().unwrap().starts_with("20"));
        assert_eq!(stamp_verdicts(&v), ["TOTAL_PASSED"]);
        // Its reduced tree: the leaf's group first, then one sibling per level.
        let er = kyso::ers::EvidenceRecord::parse(&std::fs::read(&rec).unwrap()).unwrap();
        let lists = er.chains[0].stamps[0].reduced.as_ref().unwrap();
        assert!(lists[0].len() >= 2 && lists[1..].iter().all(|l| l.len() == 1));
    }
    // Data in no tree: not proven, and said why.
    let (code, v) = kyso_verify(&record_of(&dir, &fs[0]), &other, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(v["valid"], false);
    assert_eq!(codes(&v), ["ERS_HASH_NOT_IN_TREE"]);
    // Another trust anchor: the TSA's path is not trusted.
    // Other trust anchors (the Vietnamese roots): the TSA's path is not trusted.
    let vn = common::root().join("certs/vn");
    let (code, out, _) = common::kyso(&[
        "ers",
        "verify",
        &record_of(&dir, &fs[1]),
        &fs[1],
        "--trust",
        vn.to_str().unwrap(),
        "--revocation",
        "optional",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, Some(1));
    assert_eq!(codes(&v), ["ERS_TIMESTAMP_NOT_VALID"]);
    assert_eq!(
        stamp_verdicts(&v),
        ["INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND"]
    );
    if !have_bouncycastle() {
        return;
    }
    let tsa_pem = live("tsa.pem");
    for f in &fs {
        let (ok, out) = bc(&["verify", &record_of(&dir, f), f, &tsa_pem]);
        assert!(ok && out.trim() == "OK", "BouncyCastle on {f}: {out}");
    }
    let (ok, out) = bc(&["verify", &record_of(&dir, &fs[0]), &other, &tsa_pem]);
    assert!(!ok && out.contains("object hash not found"), "{out}");
    println!(
        "ers: 5 records kyso wrote, each valid in kyso and in BouncyCastle 1.72; data outside the tree refused by both"
    );
}

#[test]
fn records_bouncycastle_writes_verify_in_kyso() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    if !have_bouncycastle() {
        return;
    }
    let dir = workdir("bc");
    let fs = files(&dir);
    let dir_s = dir.to_string_lossy().into_owned();
    let mut args = vec!["build", TSA, &dir_s];
    args.extend(fs.iter().map(String::as_str));
    let (ok, out) = bc(&args);
    assert!(ok, "{out}");
    for f in &fs {
        let rec = record_of(&dir, f);
        // BouncyCastle's layout: one hash per list, the object's own first.
        let er = kyso::ers::EvidenceRecord::parse(&std::fs::read(&rec).unwrap()).unwrap();
        let lists = er.chains[0].stamps[0].reduced.as_ref().unwrap();
        assert!(lists.iter().all(|l| l.len() == 1), "{lists:?}");
        let (code, v) = kyso_verify(&rec, f, &[]);
        assert_eq!(code, Some(0), "{v}");
        assert_eq!(stamp_verdicts(&v), ["TOTAL_PASSED"]);
        // A record is not proof for the file beside it.
        let (code, v) = kyso_verify(&rec, &dir.join("other.bin").to_string_lossy(), &[]);
        assert_eq!(code, Some(1));
        assert_eq!(codes(&v), ["ERS_HASH_NOT_IN_TREE"]);
    }
    // One byte of the file changed.
    let mut changed = std::fs::read(&fs[2]).unwrap();
    changed[0] ^= 1;
    let cpath = dir.join("changed.xml");
    std::fs::write(&cpath, changed).unwrap();
    let (code, v) = kyso_verify(&record_of(&dir, &fs[2]), &cpath.to_string_lossy(), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(codes(&v), ["ERS_HASH_NOT_IN_TREE"]);
    println!(
        "ers: 5 records BouncyCastle 1.72 wrote (one hash per list), each valid in kyso; changed or other data refused"
    );
}

/// Time travel: `tsa`'s certificate ends in 2050; at 2052 a record stamped
/// by it alone proves nothing, the same record renewed by `tsa-long`
/// (valid to 2054) before the expiry still proves the file's existence at
/// the first timestamp's time.
#[test]
fn renewal_carries_the_proof_past_the_tsa_certificate() {
    let Some(_pki) = services::live_pki() else {
        return;
    };
    let dir = workdir("renew");
    let fs = files(&dir);
    make(TSA, &dir, &fs[..3]);
    let plain = dir.join("plain.ers").to_string_lossy().into_owned();
    std::fs::copy(record_of(&dir, &fs[0]), &plain).unwrap();
    let (r0, r1) = (record_of(&dir, &fs[0]), record_of(&dir, &fs[1]));
    let (code, out, err) = common::kyso(&["ers", "renew", "--tsa", TSA_LONG, &r0, &r1]);
    assert_eq!(code, Some(0), "{out} {err}");

    let later = ["--at", "2052-01-01T00:00:00Z"];
    let (code, v) = kyso_verify(&r0, &fs[0], &later);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(stamp_verdicts(&v), ["TOTAL_PASSED", "TOTAL_PASSED"]);
    let first_time = v["stamps"][0]["gen_time"].as_str().unwrap().to_string();
    assert_eq!(v["existed_at"].as_str().unwrap(), first_time);
    // The first stamp is judged at the renewal's time, the renewal at 2052.
    assert_eq!(v["stamps"][0]["judged_at"], v["stamps"][1]["gen_time"]);
    assert_eq!(v["stamps"][1]["judged_at"], "2052-01-01T00:00:00Z");

    let (code, v) = kyso_verify(&plain, &fs[0], &later);
    assert_eq!(code, Some(1));
    assert_eq!(codes(&v), ["ERS_TIMESTAMP_NOT_VALID"]);
    assert_eq!(stamp_verdicts(&v), ["INDETERMINATE/OUT_OF_BOUNDS_NO_POE"]);
    assert!(
        v["checks"][0]["message_en"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{v}"
    );
    // Today it still holds on its own.
    let (code, _) = kyso_verify(&plain, &fs[0], &[]);
    assert_eq!(code, Some(0));
    // The renewed record does not prove a file outside its tree.
    let (code, v) = kyso_verify(&r0, &dir.join("other.bin").to_string_lossy(), &later);
    assert_eq!((code, v["valid"].as_bool()), (Some(1), Some(false)));

    // Hash-tree renewal to SHA-512 (a new chain over the data and the old chain).
    let (code, out, err) = common::kyso(&[
        "ers", "renew", "--tsa", TSA_LONG, "--hash", "sha512", "--data", &fs[1], &r1,
    ]);
    assert_eq!(code, Some(0), "{out} {err}");
    let (code, v) = kyso_verify(&r1, &fs[1], &later);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(stamp_verdicts(&v).len(), 3);
    assert_eq!(v["stamps"][2]["digest_algorithm"], "SHA-512");
    assert_eq!(v["stamps"][2]["chain"], 2);
    // The data of another record is not accepted for it.
    let (code, v) = kyso_verify(&r1, &fs[2], &later);
    assert_eq!(code, Some(1));
    assert!(codes(&v).contains(&"ERS_HASH_NOT_IN_TREE".to_string()));
    // A renewal without its data is refused, the record left as it was.
    let before = std::fs::read(&r1).unwrap();
    let (code, _, err) =
        common::kyso(&["ers", "renew", "--tsa", TSA_LONG, "--hash", "sha512", &r1]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(std::fs::read(&r1).unwrap(), before);

    if have_bouncycastle() {
        let long = live("tsa-long.pem");
        for (rec, f) in [(&r0, &fs[0]), (&r1, &fs[1])] {
            let (ok, out) = bc(&["verify", rec, f, &long]);
            assert!(
                ok && out.trim() == "OK",
                "BouncyCastle on renewed {rec}: {out}"
            );
        }
    }
    println!(
        "ers: at 2052 the record renewed before 2050 is valid (existed at {first_time}); without the renewal OUT_OF_BOUNDS_NO_POE; hash-tree renewal to SHA-512 valid; BouncyCastle accepts both renewed records"
    );
}
