//! Attacks on signed Office and ODF packages, each derived here from an
//! honestly signed package (testdata/packages: signed by LibreOffice with
//! the live test PKI, testdata/gen/make_packages.sh), and the honest
//! packages themselves. Every attack must never be TOTAL_PASSED and must
//! carry the code that names its cause; every honest package is
//! TOTAL_PASSED. LibreOffice's own verdict (tests/support/lo_uno.py) on
//! the same files is printed beside kyso's, and must agree on the honest
//! ones; xmlsec1 checks the ODF signature XML of the honest ODF files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use kyso::pki::TrustStore;
use kyso::report::{Indication, Outcome, Report};
use kyso::validate::VerifyOptions;

fn dir() -> PathBuf {
    common::root().join("testdata/packages")
}

fn options() -> VerifyOptions {
    let root = std::fs::read(common::root().join("testdata/live/certs/root.pem")).unwrap();
    let mut trust = TrustStore::new();
    trust.add(openssl::x509::X509::from_pem(&root).unwrap());
    let mut opts = VerifyOptions::new(trust, common::at("2026-12-01T00:00:00Z"));
    // The issuing CA, as a portal has its CAs' intermediates at hand
    // (LibreOffice's OOXML signatures carry the signer's certificate only).
    let interm = std::fs::read(common::root().join("testdata/live/certs/interm.pem")).unwrap();
    opts.intermediates
        .push(openssl::x509::X509::from_pem(&interm).unwrap());
    // LibreOffice embeds no revocation data; the live responders are
    // exercised by tests/online.rs.
    opts.require_revocation = false;
    opts
}

/// A package written again by the `zip` crate (mimetype stored, the rest
/// deflated).
fn repack(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        for (n, d) in parts {
            let m = if n == "mimetype" {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            };
            z.start_file(
                n.as_str(),
                zip::write::SimpleFileOptions::default().compression_method(m),
            )
            .unwrap();
            z.write_all(d).unwrap();
        }
        z.finish().unwrap();
    }
    out.into_inner()
}

fn edit(zip: &[u8], f: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
    let mut e = common::zip_entries(zip);
    f(&mut e);
    repack(&e)
}

fn part<'a>(e: &'a mut [(String, Vec<u8>)], name: &str) -> &'a mut Vec<u8> {
    &mut e
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no part {name}"))
        .1
}

fn replace(e: &mut [(String, Vec<u8>)], name: &str, from: &str, to: &str) {
    let p = part(e, name);
    let s = String::from_utf8(p.clone()).unwrap();
    assert!(s.contains(from), "{name} lacks {from:?}");
    *p = s.replacen(from, to, 1).into_bytes();
}

/// A second local header and data for `name`, stored just before the
/// central directory (which does not list it): a reader that walks local
/// headers sees two `name`s, one that reads the directory sees one.
fn shadow_local_header(zip: &[u8], name: &str, data: &[u8]) -> Vec<u8> {
    let eocd = zip.len() - 22;
    assert_eq!(&zip[eocd..eocd + 4], b"PK\x05\x06", "no comment expected");
    let cd = u32::from_le_bytes(zip[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let mut lh = Vec::new();
    lh.extend_from_slice(b"PK\x03\x04");
    lh.extend_from_slice(&20u16.to_le_bytes());
    lh.extend_from_slice(&0u16.to_le_bytes()); // flags
    lh.extend_from_slice(&0u16.to_le_bytes()); // stored
    lh.extend_from_slice(&0u32.to_le_bytes()); // time, date
    lh.extend_from_slice(&crc.sum().to_le_bytes());
    lh.extend_from_slice(&(data.len() as u32).to_le_bytes());
    lh.extend_from_slice(&(data.len() as u32).to_le_bytes());
    lh.extend_from_slice(&(name.len() as u16).to_le_bytes());
    lh.extend_from_slice(&0u16.to_le_bytes());
    lh.extend_from_slice(name.as_bytes());
    lh.extend_from_slice(data);
    let mut out = zip[..cd].to_vec();
    out.extend_from_slice(&lh);
    out.extend_from_slice(&zip[cd..]);
    let at = eocd + lh.len() + 16;
    out[at..at + 4].copy_from_slice(&((cd + lh.len()) as u32).to_le_bytes());
    out
}

fn failed_codes(r: &Report) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = r
        .signatures
        .iter()
        .flat_map(|s| s.checks.iter())
        .filter(|c| c.outcome == Outcome::Failed)
        .map(|c| c.code)
        .collect();
    if let Some(e) = &r.document.error {
        v.push(e.code);
    }
    v
}

fn verdict(r: &Report) -> String {
    if let Some(e) = &r.document.error {
        return format!("no signature ({})", e.code);
    }
    r.signatures
        .iter()
        .map(|s| s.verdict())
        .collect::<Vec<_>>()
        .join(", ")
}

struct Case {
    name: &'static str,
    data: Vec<u8>,
    /// The code that must name the cause; `None` for an honest package.
    cause: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let d = dir();
    let odt = std::fs::read(d.join("don-signed.odt")).unwrap();
    let ods = std::fs::read(d.join("bang-signed.ods")).unwrap();
    let docx = std::fs::read(d.join("don-signed.docx")).unwrap();
    let xlsx = std::fs::read(d.join("bang-signed.xlsx")).unwrap();
    let png = {
        let e = common::zip_entries(&docx);
        e.iter()
            .find(|(n, _)| n == "word/media/image1.png")
            .unwrap()
            .1
            .clone()
    };
    let mut v = vec![
        Case {
            name: "don-signed.odt",
            data: odt.clone(),
            cause: None,
        },
        Case {
            name: "bang-signed.ods",
            data: ods.clone(),
            cause: None,
        },
        Case {
            name: "don-signed.docx",
            data: docx.clone(),
            cause: None,
        },
        Case {
            name: "bang-signed.xlsx",
            data: xlsx.clone(),
            cause: None,
        },
        // XAdES-T: the same .odt with a signature timestamp of the live
        // TSA added (testdata/gen/make_packages_t.py).
        Case {
            name: "don-signed-t.odt",
            data: std::fs::read(d.join("don-signed-t.odt")).unwrap(),
            cause: None,
        },
        // Written again by another ZIP writer, nothing changed: still signed.
        Case {
            name: "don-signed-repacked.odt",
            data: edit(&odt, |_| {}),
            cause: None,
        },
        Case {
            name: "don-signed-repacked.docx",
            data: edit(&docx, |_| {}),
            cause: None,
        },
    ];
    // ODF.
    v.push(Case {
        name: "odt-unsigned-picture-added",
        data: edit(&odt, |e| e.push(("Pictures/added.png".into(), png.clone()))),
        cause: Some("PACKAGE_PARTS_NOT_SIGNED"),
    });
    v.push(Case {
        name: "odt-text-changed",
        data: edit(&odt, |e| replace(e, "content.xml", "500.000", "5.000")),
        cause: Some("XML_REFERENCE_DIGEST_MISMATCH"),
    });
    v.push(Case {
        name: "odt-macro-signature-only",
        data: edit(&odt, |e| {
            for (n, _) in e.iter_mut() {
                if n == "META-INF/documentsignatures.xml" {
                    *n = "META-INF/macrosignatures.xml".into();
                }
            }
        }),
        cause: Some("ODF_NO_DOCUMENT_SIGNATURE"),
    });
    v.push(Case {
        name: "odt-signature-moved-into-ods",
        data: {
            let sig = common::zip_entries(&odt)
                .into_iter()
                .find(|(n, _)| n == "META-INF/documentsignatures.xml")
                .unwrap()
                .1;
            edit(&ods, |e| *part(e, "META-INF/documentsignatures.xml") = sig)
        },
        cause: Some("XML_REFERENCE_DIGEST_MISMATCH"),
    });
    v.push(Case {
        name: "odt-signature-duplicated",
        data: edit(&odt, |e| {
            let p = part(e, "META-INF/documentsignatures.xml");
            let s = String::from_utf8(p.clone()).unwrap();
            let a = s.find("<Signature ").unwrap();
            let b = s.find("</Signature>").unwrap() + "</Signature>".len();
            let copy = s[a..b].to_string();
            *p = format!("{}{}{}", &s[..b], copy, &s[b..]).into_bytes();
        }),
        cause: Some("XML_DUPLICATE_ID"),
    });
    v.push(Case {
        name: "odt-second-local-header",
        data: shadow_local_header(&odt, "content.xml", b"<x/>"),
        cause: Some("PACKAGE_STRUCTURE_AMBIGUOUS"),
    });
    // OOXML.
    v.push(Case {
        name: "docx-hyperlink-retargeted",
        data: edit(&docx, |e| {
            replace(
                e,
                "word/_rels/document.xml.rels",
                "https://dichvucong.gov.vn/",
                "https://dichvucong.gov.vn.example/",
            )
        }),
        cause: Some("XML_REFERENCE_DIGEST_MISMATCH"),
    });
    v.push(Case {
        name: "docx-picture-replaced",
        data: edit(&docx, |e| {
            let p = part(e, "word/media/image1.png");
            let n = p.len();
            p[n / 2] ^= 0xff;
        }),
        cause: Some("XML_REFERENCE_DIGEST_MISMATCH"),
    });
    v.push(Case {
        name: "docx-unsigned-main-document-added",
        data: edit(&docx, |e| {
            let doc = part(e, "word/document.xml").clone();
            replace(
                e,
                "_rels/.rels",
                "</Relationships>",
                "<Relationship Id=\"rId9\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document2.xml\"/></Relationships>",
            );
            e.push(("word/document2.xml".into(), doc));
        }),
        cause: Some("PACKAGE_PARTS_NOT_SIGNED"),
    });
    v.push(Case {
        name: "docx-content-type-swapped",
        data: edit(&docx, |e| {
            replace(
                e,
                "[Content_Types].xml",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                "application/vnd.ms-word.document.macroEnabled.main+xml",
            )
        }),
        cause: Some("OOXML_CONTENT_TYPE_MISMATCH"),
    });
    v.push(Case {
        name: "docx-empty-signature-part",
        data: edit(&docx, |e| part(e, "_xmlsignatures/sig1.xml").clear()),
        cause: Some("OOXML_SIGNATURE_PART_MALFORMED"),
    });
    v.push(Case {
        name: "docx-signature-part-duplicated",
        data: edit(&docx, |e| {
            let sig = part(e, "_xmlsignatures/sig1.xml").clone();
            replace(
                e,
                "_xmlsignatures/_rels/origin.sigs.rels",
                "</Relationships>",
                "<Relationship Id=\"rId99\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/signature\" Target=\"sig2.xml\"/></Relationships>",
            );
            e.push(("_xmlsignatures/sig2.xml".into(), sig));
        }),
        cause: Some("OOXML_SIGNATURE_DUPLICATED"),
    });
    v.push(Case {
        name: "docx-signature-moved-into-xlsx",
        data: {
            let from = common::zip_entries(&docx);
            edit(&xlsx, |e| {
                for (n, d) in &from {
                    if n.starts_with("_xmlsignatures/") {
                        *part(e, n) = d.clone();
                    }
                }
            })
        },
        cause: Some("XML_REFERENCE_NOT_FOUND"),
    });
    v.push(Case {
        name: "docx-second-local-header",
        data: shadow_local_header(&docx, "word/document.xml", b"<x/>"),
        cause: Some("PACKAGE_STRUCTURE_AMBIGUOUS"),
    });
    v
}

/// POI's signed.docx: its signer left customXml/item1.xml out; that part
/// replaced → the unsigned part the document reaches is named.
fn omitted_part_replaced() -> Option<Case> {
    let dir = common::corpus("xmldsig/ooxml-poi")?;
    let data = std::fs::read(dir.join("signed.docx")).unwrap();
    Some(Case {
        name: "poi-signed-customxml-replaced",
        data: edit(&data, |e| {
            *part(e, "customXml/item1.xml") =
                b"<?xml version=\"1.0\"?><root><amount>5</amount></root>".to_vec()
        }),
        cause: Some("PACKAGE_PARTS_NOT_SIGNED"),
    })
}

#[test]
fn package_attacks_are_never_passed_and_honest_packages_pass() {
    let opts = options();
    let mut all = cases();
    let mut corpus_opts = None;
    if let Some(c) = omitted_part_replaced() {
        all.push(c);
        let mut o = VerifyOptions::new(TrustStore::new(), common::at("2026-12-01T00:00:00Z"));
        o.algorithms.sha1 = kyso::validate::Sha1Policy::Accept;
        o.algorithms.min_rsa_bits = 1024;
        corpus_opts = Some(o);
    }
    let out = std::env::temp_dir().join(format!("kyso-package-attacks-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let mut lines = Vec::new();
    let mut written = Vec::new();
    for c in &all {
        let o = if c.name.starts_with("poi-") {
            corpus_opts.as_ref().unwrap()
        } else {
            &opts
        };
        let r = kyso::validate::package::verify_package(&c.data, c.name, o);
        let codes = failed_codes(&r);
        match c.cause {
            None => {
                assert!(
                    r.signatures
                        .iter()
                        .all(|s| s.indication == Indication::TotalPassed)
                        && !r.signatures.is_empty(),
                    "{}: honest package not passed: {} {codes:?}",
                    c.name,
                    verdict(&r)
                );
                let level = r.signatures[0].level.map(|l| l.as_str());
                let want = if c.name.ends_with("-t.odt") {
                    "B-T"
                } else {
                    "B-B"
                };
                assert_eq!(level, Some(want), "{}", c.name);
            }
            Some(cause) => {
                // The document is never passed: at least one signature
                // fails (a copied signature part fails, its original stays
                // what it is).
                assert!(
                    r.signatures.is_empty()
                        || r.signatures
                            .iter()
                            .any(|s| s.indication != Indication::TotalPassed),
                    "{}: an attack was passed",
                    c.name
                );
                assert!(
                    codes.contains(&cause),
                    "{}: {cause} expected, got {} {codes:?}",
                    c.name,
                    verdict(&r)
                );
            }
        }
        let ext = if c.name.contains("docx") || c.name.starts_with("poi-") {
            "docx"
        } else if c.name.contains("xlsx") {
            "xlsx"
        } else if c.name.contains("ods") {
            "ods"
        } else {
            "odt"
        };
        let file = out.join(format!(
            "{}.{ext}",
            c.name.trim_end_matches(&format!(".{ext}"))
        ));
        std::fs::write(&file, &c.data).unwrap();
        written.push(file);
        lines.push((c.name, verdict(&r), c.cause.unwrap_or("honest")));
    }
    // LibreOffice's verdict on the same files.
    let lo = libreoffice_verdicts(&written);
    println!("package attacks: {} files", all.len());
    for ((name, kyso, cause), file) in lines.iter().zip(&written) {
        let l = lo
            .as_ref()
            .and_then(|m| m.iter().find(|(f, _)| f == file).map(|(_, v)| v.clone()))
            .unwrap_or_else(|| "-".into());
        println!("  {name:38} kyso {kyso:55} ({cause})  LibreOffice: {l}");
        if let (Some(_), "honest") = (&lo, *cause) {
            assert!(
                l.contains("valid=True") && l.contains("cert=0"),
                "{name}: LibreOffice disagrees on an honest package: {l}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// `verifyDocumentContentSignatures` of LibreOffice headless on each file
/// (None when LibreOffice is not installed and not required).
fn libreoffice_verdicts(files: &[PathBuf]) -> Option<Vec<(PathBuf, String)>> {
    if !common::have_tool(
        "soffice",
        "apt libreoffice-writer-nogui libreoffice-calc-nogui python3-uno",
    ) {
        return None;
    }
    let nss = std::env::temp_dir().join(format!("kyso-lo-nss-{}", std::process::id()));
    let st = std::process::Command::new("bash")
        .arg(common::root().join("tests/support/lo_nss.sh"))
        .arg(&nss)
        .output()
        .expect("lo_nss.sh");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(common::root().join("tests/support/lo_uno.py"))
        .arg("--nss")
        .arg(&nss)
        .arg("verify")
        .args(files)
        .output()
        .expect("lo_uno.py");
    let _ = std::fs::remove_dir_all(&nss);
    assert!(
        out.status.success(),
        "lo_uno.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(
        text.lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(f, v)| (PathBuf::from(f), v.to_string()))
            .collect(),
    )
}

/// xmlsec1 verifies the signature XML of the honest ODF files against the
/// package's streams (unzipped beside it) and the live root.
#[test]
fn xmlsec1_checks_the_odf_signature_xml() {
    if !common::have_tool("xmlsec1", "apt xmlsec1") {
        return;
    }
    let live = common::root().join("testdata/live/certs");
    for f in ["don-signed.odt", "bang-signed.ods", "don-signed-t.odt"] {
        let data = std::fs::read(dir().join(f)).unwrap();
        let work = std::env::temp_dir().join(format!("kyso-xmlsec-odf-{}-{f}", std::process::id()));
        std::fs::create_dir_all(&work).unwrap();
        for (n, d) in common::zip_entries(&data) {
            if n.ends_with('/') {
                continue;
            }
            let p = work.join(&n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, d).unwrap();
        }
        std::fs::copy(
            work.join("META-INF/documentsignatures.xml"),
            work.join("_sig.xml"),
        )
        .unwrap();
        let run = |w: &Path| {
            std::process::Command::new("xmlsec1")
                .current_dir(w)
                .args(["--verify", "--enabled-key-data", "x509", "--trusted-pem"])
                .arg(live.join("root.pem"))
                .arg("--untrusted-pem")
                .arg(live.join("interm.pem"))
                .arg("_sig.xml")
                .output()
                .unwrap()
        };
        let ok = run(&work);
        assert!(
            ok.status.success(),
            "{f}: xmlsec1 refuses the honest signature: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        // The same file with a paragraph of content.xml changed: xmlsec1
        // fails as kyso does.
        let c = work.join("content.xml");
        let text = std::fs::read_to_string(&c).unwrap();
        assert!(text.contains("<office:body>"));
        std::fs::write(&c, text.replacen("<office:body>", "<office:body>X", 1)).unwrap();
        let bad = run(&work);
        assert!(
            !bad.status.success(),
            "{f}: xmlsec1 accepts a changed stream"
        );
        let _ = std::fs::remove_dir_all(&work);
    }
}
