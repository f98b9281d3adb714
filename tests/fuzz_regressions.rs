//! Replays every saved fuzz input (fuzz/regressions/<target>/*) through the
//! same entry points the cargo-fuzz targets use. A crash found by fuzzing is
//! copied there and so becomes a regression test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[test]
fn saved_fuzz_inputs_do_not_crash() {
    let mut n = 0;
    for target in [
        "pdf_signatures",
        "cms",
        "verify",
        "revisions",
        "fields",
        "xml",
        "package",
        "stream_c14n",
    ] {
        let dir = common::root().join("fuzz/regressions").join(target);
        if !dir.exists() {
            continue;
        }
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            match target {
                "pdf_signatures" => kyso::fuzzing::pdf_signatures(&data),
                "cms" => kyso::fuzzing::cms(&data),
                "revisions" => kyso::fuzzing::revisions(&data),
                "xml" => kyso::fuzzing::xml(&data),
                "package" => kyso::fuzzing::package(&data),
                "stream_c14n" => kyso::fuzzing::stream_c14n(&data),
                "fields" => {
                    let _ = kyso::fuzzing::fields(&data);
                }
                _ => kyso::fuzzing::verify(&data),
            }
            n += 1;
        }
    }
    println!("replayed {n} saved fuzz inputs");
    assert!(n >= 3);
}
