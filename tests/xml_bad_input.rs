//! Hostile XML: each attack ends in a clear, typed error within bounded
//! time and memory — never a crash, a hang, an entity expanded or a file
//! read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use kyso::pki::TrustStore;
use kyso::report::Report;
use kyso::validate::{VerifyOptions, verify_xml};

fn run(data: &[u8]) -> (Report, Duration) {
    let opts = VerifyOptions::new(TrustStore::new(), common::at("2026-12-01T00:00:00Z"));
    let t = Instant::now();
    let r = verify_xml(data, &[], "bad.xml", &opts);
    (r, t.elapsed())
}

/// The document-level error code, and a time bound generous enough for a
/// debug build on a loaded machine but far below an attack's cost.
fn doc_error(data: &[u8]) -> String {
    let (r, took) = run(data);
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(r.signatures.is_empty());
    let e = r.document.error.expect("a document error");
    format!("{} {}", e.code, e.message_en)
}

const SIG: &str = "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo>\
<CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>\
<SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>";

#[test]
fn billion_laughs_is_refused_unexpanded() {
    let mut d = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        d.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    d.push_str("]>\n<lolz>&lol9;</lolz>");
    let e = doc_error(d.as_bytes());
    assert!(e.starts_with("XML_DOCTYPE_REFUSED"), "{e}");
}

#[test]
fn external_entity_is_refused_unread() {
    let d =
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
    let e = doc_error(d.as_bytes());
    assert!(e.starts_with("XML_DOCTYPE_REFUSED"), "{e}");
    assert!(!e.contains("root:"), "{e}");
}

#[test]
fn any_doctype_is_refused() {
    let d = "<!-- c --><!DOCTYPE HDon SYSTEM \"hdon.dtd\"><HDon/>";
    let e = doc_error(d.as_bytes());
    assert!(e.starts_with("XML_DOCTYPE_REFUSED"), "{e}");
}

#[test]
fn million_deep_nesting_hits_the_depth_limit() {
    let n = 1_000_000;
    let d = format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
    let e = doc_error(d.as_bytes());
    assert!(
        e.starts_with("DOC_LIMIT_EXCEEDED") && e.contains("max_xml_depth"),
        "{e}"
    );
}

#[test]
fn hundred_megabyte_text_node_is_refused() {
    let d = format!("<a>{}</a>", "x".repeat(100 << 20));
    let e = doc_error(d.as_bytes());
    assert!(
        e.starts_with("DOC_LIMIT_EXCEEDED") && e.contains("max_xml_bytes"),
        "{e}"
    );
    // Under the file limit, over the limit for one text or attribute value.
    let d = format!("<a b=\"{}\"/>", "y".repeat(50 << 20));
    let e = doc_error(d.as_bytes());
    assert!(
        e.starts_with("DOC_LIMIT_EXCEEDED") && e.contains("max_xml_text_bytes"),
        "{e}"
    );
}

#[test]
fn hundred_thousand_references_are_refused() {
    let mut d = String::from(SIG);
    let r = "<Reference URI=\"\"><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue>AA==</DigestValue></Reference>";
    d.push_str(&r.repeat(100_000));
    d.push_str("</SignedInfo><SignatureValue>AA==</SignatureValue></Signature>");
    let (rep, took) = run(d.as_bytes());
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let s = &rep.signatures[0];
    assert_eq!(s.indication.as_str(), "TOTAL_FAILED");
    assert_eq!(s.sub_indication.unwrap().as_str(), "FORMAT_FAILURE");
    let c = s
        .checks
        .iter()
        .find(|c| c.code == "XML_SIGNATURE_MALFORMED")
        .unwrap();
    assert!(
        c.message_en.contains("max_xml_references"),
        "{}",
        c.message_en
    );
}

#[test]
fn huge_base64_is_refused() {
    let mut d = String::from(SIG);
    d.push_str("<Reference URI=\"\"><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><DigestValue>AA==</DigestValue></Reference></SignedInfo><SignatureValue>");
    d.push_str(&"QUFB".repeat(10 << 20));
    d.push_str("</SignatureValue></Signature>");
    let (rep, took) = run(d.as_bytes());
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let s = &rep.signatures[0];
    assert_eq!(s.sub_indication.unwrap().as_str(), "FORMAT_FAILURE");
    assert!(
        s.checks
            .iter()
            .any(|c| c.code == "XML_SIGNATURE_MALFORMED"
                && c.message_en.contains("SignatureValue of"))
    );
}

#[test]
fn many_attributes_and_unbalanced_input() {
    let attrs: String = (0..1000).map(|i| format!(" a{i}=\"1\"")).collect();
    let e = doc_error(format!("<a{attrs}/>").as_bytes());
    assert!(e.contains("max_xml_attributes"), "{e}");
    let e = doc_error(b"<a><b></a>");
    assert!(e.starts_with("XML_MALFORMED"), "{e}");
    let e = doc_error(b"<a>\xff\xfe</a>");
    assert!(e.contains("UTF-8"), "{e}");
}
