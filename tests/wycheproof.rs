//! Wycheproof RSA PKCS#1 v1.5, RSASSA-PSS and ECDSA (DER) verify vectors
//! through kyso's one signature-verification function.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use kyso::crypto::{DigestAlg, SigCheck, SigScheme, verify_signature};
use openssl::pkey::PKey;
use serde_json::Value;

fn digest(name: &str) -> Option<DigestAlg> {
    Some(match name {
        "SHA-1" => DigestAlg::Sha1,
        "SHA-224" => DigestAlg::Sha224,
        "SHA-256" => DigestAlg::Sha256,
        "SHA-384" => DigestAlg::Sha384,
        "SHA-512" => DigestAlg::Sha512,
        "SHA-512/224" => DigestAlg::Sha512_224,
        "SHA-512/256" => DigestAlg::Sha512_256,
        "SHA3-224" => DigestAlg::Sha3_224,
        "SHA3-256" => DigestAlg::Sha3_256,
        "SHA3-384" => DigestAlg::Sha3_384,
        "SHA3-512" => DigestAlg::Sha3_512,
        _ => return None,
    })
}

#[test]
fn wycheproof_signature_vectors() {
    let Some(dir) = common::corpus("wycheproof/testvectors_v1") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let (mut valid_ok, mut invalid_ok, mut acceptable, mut skipped) = (0u32, 0u32, 0u32, 0u32);
    let mut bad = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let family = if name.starts_with("rsa_signature_") {
            "pkcs1"
        } else if name.starts_with("rsa_pss_") {
            "pss"
        } else if name.starts_with("ecdsa_") && !name.contains("p1363") && !name.contains("bitcoin")
        {
            "ecdsa"
        } else {
            continue;
        };
        if !name.ends_with("_test.json") {
            continue;
        }
        let doc: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        for g in doc["testGroups"].as_array().unwrap() {
            let n_tests = g["tests"].as_array().map(|t| t.len() as u32).unwrap_or(0);
            let Some(h) = g["sha"].as_str().and_then(digest) else {
                skipped += n_tests;
                continue;
            };
            let scheme = match family {
                "pkcs1" => SigScheme::RsaPkcs1(h),
                "ecdsa" => SigScheme::Ecdsa(h),
                _ => {
                    let (Some(m), Some(s)) =
                        (g["mgfSha"].as_str().and_then(digest), g["sLen"].as_u64())
                    else {
                        skipped += n_tests;
                        continue;
                    };
                    if g["mgf"].as_str() != Some("MGF1") {
                        skipped += n_tests;
                        continue;
                    }
                    SigScheme::RsaPss {
                        hash: h,
                        mgf1_hash: m,
                        salt_len: s as u32,
                    }
                }
            };
            let key_der = hex::decode(g["publicKeyDer"].as_str().unwrap()).unwrap();
            let Ok(key) = PKey::public_key_from_der(&key_der) else {
                skipped += n_tests;
                continue;
            };
            for t in g["tests"].as_array().unwrap() {
                let msg = hex::decode(t["msg"].as_str().unwrap()).unwrap();
                let sig = hex::decode(t["sig"].as_str().unwrap()).unwrap();
                let ok = verify_signature(&scheme, &key, &msg, &sig) == SigCheck::Valid;
                match (t["result"].as_str().unwrap(), ok) {
                    ("valid", true) => valid_ok += 1,
                    ("invalid", false) => invalid_ok += 1,
                    ("acceptable", _) => acceptable += 1,
                    (r, _) => {
                        bad.push(format!("{name} tcId {} ({r}): {}", t["tcId"], t["comment"]))
                    }
                }
            }
        }
    }
    println!(
        "wycheproof: {valid_ok} valid accepted, {invalid_ok} invalid rejected, {acceptable} acceptable (either way), {skipped} skipped (unsupported hash), {} wrong",
        bad.len()
    );
    assert!(valid_ok > 1000 && invalid_ok > 1000, "too few vectors ran");
    assert!(bad.is_empty(), "wrong outcomes:\n{}", bad.join("\n"));
}
