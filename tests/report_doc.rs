//! docs/report.md lists every check code the verifier can emit.

#![allow(clippy::unwrap_used)]

mod common;

#[test]
fn every_check_code_is_documented() {
    let doc = std::fs::read_to_string(common::root().join("docs/report.md")).unwrap();
    let mut missing = Vec::new();
    let mut n = 0;
    let mut files: Vec<std::path::PathBuf> = vec![common::root().join("src/ers.rs")];
    for dir in ["src/validate", "src/pdf", "src/core"] {
        for e in std::fs::read_dir(common::root().join(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    {
        for path in files {
            let text = std::fs::read_to_string(path).unwrap();
            for part in text.split('"').skip(1).step_by(2) {
                let is_code = part.len() > 4
                    && part.contains('_')
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                    && part != "SCREAMING_SNAKE_CASE";
                if is_code {
                    n += 1;
                    if !doc.contains(&format!("`{part}`")) {
                        missing.push(part.to_string());
                    }
                }
            }
        }
    }
    assert!(n > 50, "too few codes found ({n})");
    assert!(
        missing.is_empty(),
        "codes missing from docs/report.md: {missing:?}"
    );
}
