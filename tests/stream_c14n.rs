//! The streamed canonicalization of whole documents (kyso::xml::stream_c14n)
//! against the tree path (bergshamra-c14n over uppsala) as oracle: every XML
//! file of ../shared/corpora/xmldsig (and every XML part of its signed
//! packages and of testdata/packages), in the four modes. Where both read a
//! file, the bytes must be equal; where one refuses what the other reads,
//! the file is listed and the test fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use bergshamra_c14n::C14nMode;
use kyso::error::Limits;
use kyso::xml::stream_c14n::{Streamed, canonicalize};

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            xml_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x == "xml" || x == "tmpl" || x == "rels")
        {
            out.push(p);
        }
    }
}

fn package_xml_parts(file: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let data = std::fs::read(file).unwrap();
    let Ok(mut a) = zip::ZipArchive::new(std::io::Cursor::new(data)) else {
        return;
    };
    for i in 0..a.len() {
        let Ok(mut f) = a.by_index(i) else { continue };
        let name = f.name().to_string();
        if name.ends_with(".xml") || name.ends_with(".rels") || name.ends_with(".rdf") {
            let mut b = Vec::new();
            if std::io::Read::read_to_end(&mut f, &mut b).is_ok() {
                out.push((format!("{}!{name}", file.display()), b));
            }
        }
    }
}

#[test]
fn streamed_canonical_xml_equals_the_tree_path() {
    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    let packages = common::root().join("testdata/packages");
    for e in std::fs::read_dir(&packages).unwrap().flatten() {
        package_xml_parts(&e.path(), &mut inputs);
    }
    if let Some(dir) = common::corpus("xmldsig") {
        let mut files = Vec::new();
        xml_files(&dir, &mut files);
        for f in files {
            inputs.push((f.display().to_string(), std::fs::read(&f).unwrap()));
        }
        for sub in ["ooxml-poi", "odf-libreoffice/data"] {
            for e in std::fs::read_dir(dir.join(sub)).unwrap().flatten() {
                package_xml_parts(&e.path(), &mut inputs);
            }
        }
    }
    let limits = Limits::default();
    let modes = [
        C14nMode::Inclusive,
        C14nMode::InclusiveWithComments,
        C14nMode::Exclusive,
        C14nMode::ExclusiveWithComments,
    ];
    let (mut equal, mut both_refuse, mut fallback) = (0usize, 0usize, 0usize);
    let mut differ = Vec::new();
    for (name, data) in &inputs {
        for mode in modes {
            let tree = kyso::xml::dsig::canonical_octets_tree(data, mode, &[], &limits);
            let body = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
            let mut streamed = Vec::new();
            let s = canonicalize(body, mode, &[], &limits, &mut streamed);
            match (s, tree) {
                (Ok(()), Ok(t)) if t == streamed => equal += 1,
                (Ok(()), Ok(t)) => {
                    let at = t
                        .iter()
                        .zip(&streamed)
                        .position(|(a, b)| a != b)
                        .unwrap_or(0);
                    let lo = at.saturating_sub(40);
                    differ.push(format!(
                        "{name} {mode:?}: differ at byte {at}: tree …{}… stream …{}…",
                        String::from_utf8_lossy(&t[lo..(at + 40).min(t.len())]),
                        String::from_utf8_lossy(&streamed[lo..(at + 40).min(streamed.len())])
                    ));
                }
                (Err(Streamed::Fallback(_)), _) => fallback += 1,
                (Err(Streamed::Malformed(_)), Err(_)) => both_refuse += 1,
                (Err(Streamed::Malformed(m)), Ok(_)) => differ.push(format!(
                    "{name} {mode:?}: streamed refuses ({m}), the tree reads it"
                )),
                (Ok(()), Err(e)) => differ.push(format!(
                    "{name} {mode:?}: the tree refuses ({e}), streamed reads it"
                )),
            }
        }
    }
    println!(
        "stream c14n: {} inputs × 4 modes: {equal} equal, {both_refuse} refused by both, {fallback} left to the tree (encoding, DOCTYPE), {} differ",
        inputs.len(),
        differ.len()
    );
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

/// Exclusive C14N's InclusiveNamespaces list, and a few shapes the corpora
/// may lack, against the tree path.
#[test]
fn streamed_canonical_xml_small_cases() {
    let limits = Limits::default();
    let cases: [(&str, &[&str]); 8] = [
        (
            "<a xmlns='urn:a' xmlns:b='urn:b'><b:c b:x='1' y='2'/><d xmlns=''/></a>",
            &[],
        ),
        (
            "<?pi  data ?><!-- c --><a  z='1'\n a='\t&#10;x'>t&amp;&lt;&#x3E;\r\nu<![CDATA[<&>]]></a><!-- d --><?q?>",
            &[],
        ),
        (
            "<p:a xmlns:p='urn:p' xmlns:q='urn:q'><q:b xmlns:p='urn:p'/><c xmlns:q='urn:q2'/></p:a>",
            &["q"],
        ),
        (
            "<a xmlns='urn:x'><b xmlns='urn:x'><c xmlns='urn:y'/></b></a>",
            &["#default"],
        ),
        (
            "<?xml version='1.0' encoding='UTF-8'?>\n<r xml:lang='vi'><s xml:space='preserve'> </s></r>\n",
            &[],
        ),
        ("<a b='&quot;&apos;&lt;&gt;&amp;'>&quot;&apos;</a>", &[]),
        ("<a xmlns:x='urn:x'><b x:attr='v'/></a>", &[]),
        ("<r>Tờ khai — ĐƠN</r>", &[]),
    ];
    for (xml, prefixes) in cases {
        let prefixes: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
        for mode in [
            C14nMode::Inclusive,
            C14nMode::InclusiveWithComments,
            C14nMode::Exclusive,
            C14nMode::ExclusiveWithComments,
        ] {
            let tree =
                kyso::xml::dsig::canonical_octets_tree(xml.as_bytes(), mode, &prefixes, &limits)
                    .unwrap();
            let mut s = Vec::new();
            canonicalize(xml.as_bytes(), mode, &prefixes, &limits, &mut s).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&s),
                String::from_utf8_lossy(&tree),
                "{xml} {mode:?} {prefixes:?}"
            );
        }
    }
    // Refused: undeclared entity, unbound prefix, two roots, text outside.
    for bad in ["<a>&nbsp;</a>", "<p:a/>", "<a/><b/>", "x<a/>", "<a><b></a>"] {
        let mut s = Vec::new();
        assert!(
            matches!(
                canonicalize(bad.as_bytes(), C14nMode::Inclusive, &[], &limits, &mut s),
                Err(Streamed::Malformed(_))
            ),
            "{bad}"
        );
    }
}
