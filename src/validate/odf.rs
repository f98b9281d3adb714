//! Signed ODF packages (OASIS ODF 1.2+ part 3 §5, digital signatures): the
//! document signatures in `META-INF/documentsignatures.xml` verified by the
//! XML room against the package's own streams, then **coverage**: every
//! stream but `mimetype` and the signature file itself must be referenced
//! by a verified reference of each signature; a stream none covers means
//! the document shown is not all that was signed — never TOTAL_PASSED,
//! with the unsigned streams listed. The package's structural findings
//! ([`crate::package`]) are failures of every signature too. Macro
//! signatures (`macrosignatures.xml`) are noted, never taken as document
//! signatures. (Issue 15: not yet reached from format detection.)

use crate::core::VerifyOptions;
use crate::package::{Package, PackageLimits};
use crate::pki::cert;
use crate::report::{Check, DocumentInfo, Indication as I, Outcome, Report, SubIndication as S};
use crate::xml::dsig::{Detached, RefStatus};

const SIGNATURES: &str = "META-INF/documentsignatures.xml";
const MACRO_SIGNATURES: &str = "META-INF/macrosignatures.xml";

/// Verify the document signatures of an ODF package.
pub fn verify_odf(data: &[u8], name: &str, opts: &VerifyOptions) -> Report {
    let when = cert::fmt_unix(opts.at);
    let mut doc = DocumentInfo::new(name, data.len() as u64, "ODF");
    let fail_doc = |doc: &mut DocumentInfo, code: &'static str, vi: String, en: String| {
        doc.error = Some(Check::new(code, Outcome::Failed, vi, en));
    };
    let pkg = match Package::read(data, &PackageLimits::default()) {
        Ok(p) => p,
        Err(e) => {
            fail_doc(
                &mut doc,
                "PACKAGE_UNREADABLE",
                format!("Không đọc được gói tài liệu (ZIP): {e}"),
                format!("The package (ZIP) cannot be read: {e}"),
            );
            return Report::new(doc, when, Vec::new());
        }
    };
    if let Err(e) = pkg.check_total() {
        fail_doc(
            &mut doc,
            "PACKAGE_TOO_LARGE",
            format!("Gói tài liệu quá lớn: {e}"),
            format!("The package is too large: {e}"),
        );
        return Report::new(doc, when, Vec::new());
    }
    let mut parts: Vec<(String, Vec<u8>)> = Vec::with_capacity(pkg.parts.len());
    for p in pkg.parts.iter().filter(|p| !p.name.ends_with('/')) {
        match pkg.open(p) {
            Ok(b) => parts.push((p.name.clone(), b)),
            Err(e) => {
                fail_doc(
                    &mut doc,
                    "PACKAGE_PART_UNREADABLE",
                    format!("Không đọc được phần {}: {e}", p.name),
                    format!("Part {} cannot be read: {e}", p.name),
                );
                return Report::new(doc, when, Vec::new());
            }
        }
    }
    if parts.iter().any(|(n, _)| n == MACRO_SIGNATURES) {
        doc.notes.push(Check::new(
            "ODF_MACRO_SIGNATURE",
            Outcome::Info,
            "Gói có chữ ký cho macro (macrosignatures.xml): chữ ký đó chỉ bảo đảm macro, không phải nội dung tài liệu",
            "The package carries a macro signature (macrosignatures.xml): it vouches for the macros, not for the document's content",
        ));
    }
    let Some(sig_xml) = parts
        .iter()
        .find(|(n, _)| n == SIGNATURES)
        .map(|(_, b)| b.clone())
    else {
        fail_doc(
            &mut doc,
            "ODF_NO_DOCUMENT_SIGNATURE",
            "Tài liệu ODF không có chữ ký số cho nội dung (META-INF/documentsignatures.xml)".into(),
            "The ODF document has no document signature (META-INF/documentsignatures.xml)".into(),
        );
        return Report::new(doc, when, Vec::new());
    };
    let det: Vec<Detached<'_>> = parts
        .iter()
        .filter(|(n, _)| n != SIGNATURES)
        .map(|(n, d)| Detached { uri: n, data: d })
        .collect();
    let mut r = crate::validate::verify_xml(&sig_xml, &det, name, opts);
    r.document = DocumentInfo {
        notes: [doc.notes, r.document.notes].concat(),
        error: r.document.error,
        ..doc
    };
    // Streams a signature must cover: all but mimetype and the signature
    // file (a directory entry holds no data).
    let must: Vec<&str> = parts
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != "mimetype" && *n != SIGNATURES)
        .collect();
    for s in &mut r.signatures {
        let covered: Vec<&str> = s
            .xml
            .as_ref()
            .map(|x| {
                x.references
                    .iter()
                    .filter(|r| r.status == RefStatus::Valid)
                    .filter_map(|r| r.uri.as_deref())
                    .collect()
            })
            .unwrap_or_default();
        let unsigned: Vec<String> = must
            .iter()
            .filter(|n| !covered.contains(n))
            .map(|n| n.to_string())
            .collect();
        if unsigned.is_empty() {
            s.pass(Check::new(
                "PACKAGE_ALL_PARTS_SIGNED",
                Outcome::Passed,
                format!("Chữ ký bao phủ toàn bộ {} phần của tài liệu", must.len()),
                format!(
                    "The signature covers all {} parts of the document",
                    must.len()
                ),
            ));
        } else {
            let list = unsigned
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            s.fail(
                I::Indeterminate,
                S::SigConstraintsFailure,
                Check::new(
                    "PACKAGE_PARTS_NOT_SIGNED",
                    Outcome::Failed,
                    format!("Tệp có {} phần chưa được ký: {list}", unsigned.len()),
                    format!(
                        "{} part(s) of the file are not signed: {list}",
                        unsigned.len()
                    ),
                )
                .with("parts", unsigned),
            );
        }
        if !pkg.findings.is_empty() {
            let list = pkg
                .findings
                .iter()
                .map(|f| format!("{} ({})", f.code, f.detail))
                .collect::<Vec<_>>()
                .join("; ");
            s.fail(
                I::Indeterminate,
                S::FormatFailure,
                Check::new(
                    "PACKAGE_STRUCTURE_AMBIGUOUS",
                    Outcome::Failed,
                    format!("Cấu trúc gói ZIP có thể bị các phần mềm đọc khác nhau: {list}"),
                    format!(
                        "The ZIP structure can be read differently by different software: {list}"
                    ),
                ),
            );
        }
        s.conclude();
    }
    Report::new(r.document, when, r.signatures)
}
