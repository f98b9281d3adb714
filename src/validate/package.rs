//! Signed ZIP packages: OOXML (ISO/IEC 29500-2 §13, OPC digital
//! signatures) and ODF (OASIS ODF 1.2+ part 3 §5). Each signature is an
//! XMLDSig/XAdES signature verified by the XML room against the package's
//! own parts (opened only when a reference reaches them); what is added
//! here is what a package signature *means*:
//!
//! - **coverage**: every part is signed, or one the signature model cannot
//!   sign (the signature parts, `[Content_Types].xml`, `mimetype`), or
//!   listed as unsigned. An unsigned part that the signed content reaches —
//!   through a signed relationship, or a relationship of a signed part that
//!   the signature left out — means the document shown is not what was
//!   signed: never TOTAL_PASSED (INDETERMINATE/SIG_CONSTRAINTS_FAILURE,
//!   `PACKAGE_PARTS_NOT_SIGNED`). In ODF every stream must be signed.
//! - OOXML: the Manifest's references (the parts) must all verify; each
//!   reference's `?ContentType=` must be the part's content type in
//!   `[Content_Types].xml`; signatures are found through the package
//!   relationships → digital signature origin → signature parts.
//! - the package structure ([`crate::package`]): any finding (a second
//!   local header, a hidden archive, names that fold together…) fails every
//!   signature (INDETERMINATE/FORMAT_FAILURE): two readers could see two
//!   documents.
//!
//! Stricter than Office and LibreOffice, deliberately: both show an OOXML
//! signature over some parts as valid ("partially signed"), the root of the
//! 2023 "Every Signature is Broken" forgeries; kyso accepts unsigned parts
//! only where nothing signed reaches them (document properties).

use std::collections::{HashMap, HashSet};

use crate::core::VerifyOptions;
use crate::package::{Package, PackageLimits};
use crate::pki::cert;
use crate::report::{
    Check, DocumentInfo, Indication as I, Outcome, Report, SignatureKind, SignatureReport,
    SubIndication as S,
};
use crate::xml::dsig::{self, Detached, RefStatus, Relationship, rel_attr};

const ODF_SIGNATURES: &str = "META-INF/documentsignatures.xml";
const ODF_MACRO_SIGNATURES: &str = "META-INF/macrosignatures.xml";
const ODF_MANIFEST: &str = "META-INF/manifest.xml";
const CONTENT_TYPES: &str = "[Content_Types].xml";
const CT_NS: &str = "http://schemas.openxmlformats.org/package/2006/content-types";
const REL_ORIGIN: &str =
    "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin";
const REL_SIGNATURE: &str =
    "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/signature";
const REL_SIG_CERT: &str =
    "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/certificate";
/// Relationships of the package that lead to properties, not to what is
/// shown: the signature model leaves them out (Office does), and an
/// unsigned one is only listed.
const PACKAGE_METADATA_RELS: [&str; 6] = [
    "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties",
    "http://schemas.openxmlformats.org/package/2006/relationships/metadata/thumbnail",
    "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/metadata/core-properties",
];

/// Whether a relationship type leads to document properties (ASCII case
/// ignored: LibreOffice writes `officedocument` in the core-properties type).
fn is_metadata(ty: &str) -> bool {
    PACKAGE_METADATA_RELS
        .iter()
        .any(|m| m.eq_ignore_ascii_case(ty))
}

/// Relationships of a signed part to view and presentation settings
/// (window, zoom, slide-show options), not to content: Office leaves them
/// out of its signatures; an unsigned one is only listed.
const SETTINGS_RELS: [&str; 2] = [
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/presProps",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/viewProps",
];

/// Whether `head` starts a ZIP archive (a local header, or the end record
/// of an empty one).
pub fn looks_like_package(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06")
}

/// The media type of a package, for downloads: an ODF package's
/// `mimetype`, an OOXML package's by its main part's content type;
/// `application/zip` otherwise.
pub fn media_type(data: &[u8]) -> &'static str {
    const KNOWN: [(&str, &str); 7] = [
        (
            "application/vnd.oasis.opendocument.text",
            "application/vnd.oasis.opendocument.text",
        ),
        (
            "application/vnd.oasis.opendocument.spreadsheet",
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        (
            "application/vnd.oasis.opendocument.presentation",
            "application/vnd.oasis.opendocument.presentation",
        ),
        (
            "wordprocessingml.document.main",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "spreadsheetml.sheet.main",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "presentationml.presentation.main",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (
            "application/vnd.oasis.opendocument.graphics",
            "application/vnd.oasis.opendocument.graphics",
        ),
    ];
    let Ok(pkg) = Package::read(data, &PackageLimits::default()) else {
        return "application/zip";
    };
    let text = ["mimetype", CONTENT_TYPES]
        .iter()
        .filter_map(|n| pkg.part(n))
        .find(|p| p.size <= 1 << 20)
        .and_then(|p| pkg.open(p).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    KNOWN
        .iter()
        .find(|(k, _)| text.contains(k))
        .map(|(_, t)| *t)
        .unwrap_or("application/zip")
}

/// Verify the signatures of an OOXML or ODF package.
pub fn verify_package(data: &[u8], name: &str, opts: &VerifyOptions) -> Report {
    let mut doc = DocumentInfo::new(name, data.len() as u64, "PACKAGE");
    let pkg = match Package::read(data, &PackageLimits::default()) {
        Ok(p) => p,
        Err(e) => {
            return refuse(
                doc,
                opts,
                doc_fail(
                    "PACKAGE_UNREADABLE",
                    format!("Không đọc được gói tài liệu (ZIP): {e}"),
                    format!("The package (ZIP) cannot be read: {e}"),
                ),
            );
        }
    };
    if let Err(e) = pkg.check_total() {
        return refuse(
            doc,
            opts,
            doc_fail(
                "PACKAGE_TOO_LARGE",
                format!("Gói tài liệu quá lớn: {e}"),
                format!("The package is too large: {e}"),
            ),
        );
    }
    let encrypted: Vec<&str> = pkg
        .parts
        .iter()
        .filter(|p| p.encrypted)
        .map(|p| p.name.as_str())
        .collect();
    if !encrypted.is_empty() {
        let list = encrypted.join(", ");
        return refuse(
            doc,
            opts,
            doc_fail(
                "PACKAGE_ENCRYPTED",
                format!("Gói tài liệu có phần bị mã hoá ({list}): không kiểm tra được"),
                format!("The package has encrypted parts ({list}): they cannot be checked"),
            ),
        );
    }
    let (mut report, kind) = if pkg.part_ci(CONTENT_TYPES).is_some() {
        doc.format = "OOXML";
        (verify_ooxml(&pkg, doc, name, opts), "OOXML")
    } else if pkg.part("mimetype").is_some() || pkg.part(ODF_MANIFEST).is_some() {
        doc.format = "ODF";
        (verify_odf_package(&pkg, doc, name, opts), "ODF")
    } else {
        return refuse(
            doc,
            opts,
            doc_fail(
                "PACKAGE_NOT_OFFICE",
                "Tệp ZIP này không phải tài liệu Office (OOXML) hay ODF".into(),
                "This ZIP file is neither an Office (OOXML) nor an ODF document".into(),
            ),
        );
    };
    report.document.format = kind;
    report
}

fn doc_fail(code: &'static str, vi: String, en: String) -> Check {
    Check::new(code, Outcome::Failed, vi, en)
}

/// The report on a package one of whose parts cannot be read.
fn unreadable(doc: DocumentInfo, opts: &VerifyOptions, part: &str, e: &str) -> Report {
    refuse(
        doc,
        opts,
        doc_fail(
            "PACKAGE_PART_UNREADABLE",
            format!("Không đọc được phần {part}: {e}"),
            format!("Part {part} cannot be read: {e}"),
        ),
    )
}

/// The report on a package that cannot be judged: no signatures, `why`.
fn refuse(mut doc: DocumentInfo, opts: &VerifyOptions, why: Check) -> Report {
    doc.error = Some(why);
    Report::new(doc, cert::fmt_unix(opts.at), Vec::new())
}

/// Every part of the package (directories left out) as a detached
/// reference target, each inflated only when a reference reaches it, and
/// read as it is digested.
struct Parts<'p> {
    names: Vec<&'p str>,
    sources: Vec<PartRef<'p>>,
}

/// One part of a package, opened on demand.
struct PartRef<'p> {
    pkg: &'p Package<'p>,
    part: &'p crate::package::Part,
}

impl dsig::PartSource for PartRef<'_> {
    fn open(&self) -> Result<Box<dyn std::io::BufRead + '_>, String> {
        let r = self.pkg.reader(self.part).map_err(|e| e.to_string())?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 16, r)))
    }
}

impl<'p> Parts<'p> {
    fn of(pkg: &'p Package<'p>, skip: &[&str]) -> Parts<'p> {
        let mut names = Vec::new();
        let mut sources = Vec::new();
        for p in pkg.parts.iter().filter(|p| !p.name.ends_with('/')) {
            if skip.contains(&p.name.as_str()) {
                continue;
            }
            names.push(p.name.as_str());
            sources.push(PartRef { pkg, part: p });
        }
        Parts { names, sources }
    }

    fn detached(&self) -> Vec<Detached<'_>> {
        self.names
            .iter()
            .zip(&self.sources)
            .map(|(n, o)| Detached::part(n, o as &dyn dsig::PartSource))
            .collect()
    }
}

/// Turn each XML signature of `r` into a package signature.
fn as_package_signatures(r: &mut Report) {
    for s in &mut r.signatures {
        if s.kind == SignatureKind::XmlSignature {
            s.kind = SignatureKind::PackageSignature;
        }
    }
}

/// The structural findings of the package fail every signature.
fn structure_findings(pkg: &Package<'_>, s: &mut SignatureReport) {
    if pkg.findings.is_empty() {
        return;
    }
    let list = pkg
        .findings
        .iter()
        .map(|f| format!("{} ({})", f.code, f.detail))
        .collect::<Vec<_>>()
        .join("; ");
    let codes: Vec<&str> = pkg.findings.iter().map(|f| f.code).collect();
    s.fail(
        I::Indeterminate,
        S::FormatFailure,
        Check::new(
            "PACKAGE_STRUCTURE_AMBIGUOUS",
            Outcome::Failed,
            format!("Cấu trúc gói ZIP có thể bị các phần mềm đọc khác nhau: {list}"),
            format!("The ZIP structure can be read differently by different software: {list}"),
        )
        .with("findings", codes),
    );
}

/// A comma-separated list of at most 20 names.
fn short_list(names: &[String]) -> String {
    let mut l = names
        .iter()
        .take(20)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 20 {
        l.push_str(", …");
    }
    l
}

/// The coverage verdict: parts the signed content reaches unsigned fail;
/// other unsigned parts are listed; otherwise every part is signed.
fn coverage_checks(s: &mut SignatureReport, reached: &[String], unsigned: &[String], total: usize) {
    if !reached.is_empty() {
        let list = short_list(reached);
        s.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "PACKAGE_PARTS_NOT_SIGNED",
                Outcome::Failed,
                format!(
                    "Tệp có {} phần chưa được ký: {list} — nội dung hiển thị không phải toàn bộ là nội dung đã ký",
                    reached.len()
                ),
                format!(
                    "{} part(s) of the file are not signed: {list} — what is shown is not all what was signed",
                    reached.len()
                ),
            )
            .with("parts", reached.to_vec()),
        );
    } else if !unsigned.is_empty() {
        let list = short_list(unsigned);
        s.pass(
            Check::new(
                "PACKAGE_PARTS_OUTSIDE_SIGNATURE",
                Outcome::Warning,
                format!(
                    "{} phần không được ký nhưng không thuộc nội dung hiển thị (thuộc tính tài liệu): {list}",
                    unsigned.len()
                ),
                format!(
                    "{} part(s) are not signed but are not part of what is shown (document properties): {list}",
                    unsigned.len()
                ),
            )
            .with("parts", unsigned.to_vec()),
        );
    } else {
        s.pass(Check::new(
            "PACKAGE_ALL_PARTS_SIGNED",
            Outcome::Passed,
            format!("Chữ ký bao phủ toàn bộ {total} phần của tài liệu"),
            format!("The signature covers all {total} parts of the document"),
        ));
    }
}

// ---------------------------------------------------------------- ODF

fn verify_odf_package(
    pkg: &Package<'_>,
    mut doc: DocumentInfo,
    name: &str,
    opts: &VerifyOptions,
) -> Report {
    let when = cert::fmt_unix(opts.at);
    if pkg.part(ODF_MACRO_SIGNATURES).is_some() {
        doc.notes.push(Check::new(
            "ODF_MACRO_SIGNATURE",
            Outcome::Info,
            "Gói có chữ ký cho macro (macrosignatures.xml): chữ ký đó chỉ bảo đảm macro, không phải nội dung tài liệu",
            "The package carries a macro signature (macrosignatures.xml): it vouches for the macros, not for the document's content",
        ));
    }
    // Irregular but unambiguous (what is shown does not depend on it):
    // reported, not failed — repackers other than LibreOffice do this to
    // honest documents, and coverage already judges every stream.
    let odf_findings = odf_structure(pkg, &opts.limits);
    if !odf_findings.is_empty() {
        let list = odf_findings.join("; ");
        doc.notes.push(
            Check::new(
                "ODF_PACKAGE_IRREGULAR",
                Outcome::Warning,
                format!("Gói ODF không theo đúng quy cách (ODF 1.2 phần 3 §3): {list}"),
                format!("The ODF package departs from ODF 1.2 part 3 §3: {list}"),
            )
            .with("findings", odf_findings),
        );
    }
    let Some(sig_part) = pkg.part(ODF_SIGNATURES) else {
        return refuse(
            doc,
            opts,
            doc_fail(
                "ODF_NO_DOCUMENT_SIGNATURE",
                "Tài liệu ODF không có chữ ký số cho nội dung (META-INF/documentsignatures.xml)"
                    .into(),
                "The ODF document has no document signature (META-INF/documentsignatures.xml)"
                    .into(),
            ),
        );
    };
    let sig_xml = match pkg.open(sig_part) {
        Ok(b) => b,
        Err(e) => {
            return refuse(
                doc,
                opts,
                doc_fail(
                    "PACKAGE_PART_UNREADABLE",
                    format!("Không đọc được phần {ODF_SIGNATURES}: {e}"),
                    format!("Part {ODF_SIGNATURES} cannot be read: {e}"),
                ),
            );
        }
    };
    let parts = Parts::of(pkg, &[ODF_SIGNATURES]);
    let det = parts.detached();
    let mut r = crate::validate::verify_xml(&sig_xml, &det, name, opts);
    if r.document.error.as_ref().map(|e| e.code) == Some("XML_NO_SIGNATURE") {
        r.document.error = Some(doc_fail(
            "ODF_NO_DOCUMENT_SIGNATURE",
            "Tài liệu ODF không có chữ ký số cho nội dung (tệp chữ ký trống)".into(),
            "The ODF document has no document signature (the signature file holds none)".into(),
        ));
    }
    r.document = DocumentInfo {
        notes: [doc.notes, r.document.notes].concat(),
        error: r.document.error,
        ..doc
    };
    as_package_signatures(&mut r);
    // Streams a signature must cover: all but mimetype and the signature file.
    let must: Vec<&str> = parts
        .names
        .iter()
        .copied()
        .filter(|n| *n != "mimetype")
        .collect();
    for s in &mut r.signatures {
        let covered: HashSet<String> = s
            .xml
            .as_ref()
            .map(|x| {
                x.references
                    .iter()
                    .filter(|r| r.status == RefStatus::Valid)
                    .filter_map(|r| r.uri.as_deref().and_then(dsig::part_name_of))
                    .collect()
            })
            .unwrap_or_default();
        let unsigned: Vec<String> = must
            .iter()
            .filter(|n| !covered.contains(**n))
            .map(|n| n.to_string())
            .collect();
        // In ODF nothing but mimetype may be left out: every unsigned
        // stream is content the signature does not vouch for.
        coverage_checks(s, &unsigned, &[], must.len());
        structure_findings(pkg, s);
        s.conclude();
    }
    Report::new(r.document, when, r.signatures)
}

/// ODF package rules (ODF 1.2 part 3 §3): `mimetype` first and stored;
/// every stream listed in the manifest and every listed file present.
fn odf_structure(pkg: &Package<'_>, limits: &crate::error::Limits) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = pkg.part("mimetype") {
        if pkg.parts.first().map(|p| p.name.as_str()) != Some("mimetype") {
            out.push("mimetype is not the first entry".to_string());
        }
        if m.method != 0 {
            out.push("mimetype is compressed".to_string());
        }
    }
    let Some(mp) = pkg.part(ODF_MANIFEST) else {
        return out;
    };
    let listed = match pkg.open(mp) {
        Ok(b) => manifest_entries(&b, limits),
        Err(e) => Err(e.to_string()),
    };
    let listed = match listed {
        Ok(l) => l,
        Err(e) => {
            out.push(format!("{ODF_MANIFEST} cannot be read: {e}"));
            return out;
        }
    };
    let set: HashSet<&str> = listed.iter().map(String::as_str).collect();
    let exempt = |n: &str| {
        n == "mimetype"
            || n == ODF_MANIFEST
            || n.starts_with("META-INF/") && n.contains("signatures")
    };
    for p in pkg.parts.iter().filter(|p| !p.name.ends_with('/')) {
        if !exempt(&p.name) && !set.contains(p.name.as_str()) {
            out.push(format!("{} is not listed in the manifest", p.name));
        }
    }
    for l in &listed {
        if !l.ends_with('/') && l != "/" && pkg.part(l).is_none() {
            out.push(format!("the manifest lists {l}, which the package lacks"));
        }
    }
    out
}

/// The `full-path` of every `manifest:file-entry`.
fn manifest_entries(bytes: &[u8], limits: &crate::error::Limits) -> Result<Vec<String>, String> {
    const MANIFEST_NS: &str = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0";
    let text = crate::xml::decode(bytes).map_err(|e| e.to_string())?;
    let text = crate::xml::normalize_source(&text);
    let parsed = crate::xml::parse(&text, limits, &[]).map_err(|e| e.to_string())?;
    let d = &parsed.doc;
    let root = d
        .document_element()
        .ok_or_else(|| "no root element".to_string())?;
    let mut out = Vec::new();
    for e in crate::xml::child_elements(d, root) {
        if crate::xml::is(d, e, MANIFEST_NS, "file-entry") {
            if let Some(v) = d.element(e).and_then(|el| {
                el.attributes
                    .iter()
                    .find(|a| a.name.local_name == "full-path")
                    .map(|a| a.value.to_string())
            }) {
                out.push(v);
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- OOXML

/// `[Content_Types].xml`: defaults by extension and overrides by part
/// name, both compared without ASCII case (OPC §10.1.2.4).
struct ContentTypes {
    defaults: HashMap<String, String>,
    overrides: HashMap<String, String>,
}

impl ContentTypes {
    fn read(bytes: &[u8], limits: &crate::error::Limits) -> Result<ContentTypes, String> {
        let text = crate::xml::decode(bytes).map_err(|e| e.to_string())?;
        let text = crate::xml::normalize_source(&text);
        let parsed = crate::xml::parse(&text, limits, &[]).map_err(|e| e.to_string())?;
        let d = &parsed.doc;
        let root = d
            .document_element()
            .filter(|r| crate::xml::is(d, *r, CT_NS, "Types"))
            .ok_or_else(|| "the root element is not Types".to_string())?;
        let mut ct = ContentTypes {
            defaults: HashMap::new(),
            overrides: HashMap::new(),
        };
        for e in crate::xml::child_elements(d, root) {
            let get = |n: &str| crate::xml::attr(d, e, n).map(str::to_string);
            if crate::xml::is(d, e, CT_NS, "Default") {
                if let (Some(x), Some(t)) = (get("Extension"), get("ContentType")) {
                    ct.defaults.insert(x.to_ascii_lowercase(), t);
                }
            } else if crate::xml::is(d, e, CT_NS, "Override") {
                if let (Some(p), Some(t)) = (get("PartName"), get("ContentType")) {
                    let p = dsig::percent_decode(&p).unwrap_or(p);
                    ct.overrides
                        .insert(p.trim_start_matches('/').to_ascii_lowercase(), t);
                }
            }
        }
        Ok(ct)
    }

    fn of(&self, part: &str) -> Option<&str> {
        let lower = part.to_ascii_lowercase();
        if let Some(t) = self.overrides.get(&lower) {
            return Some(t);
        }
        let ext = lower.rsplit_once('.').map(|(_, e)| e)?;
        self.defaults.get(ext).map(String::as_str)
    }
}

/// The relationships part of `source` (`""` = the package).
fn rels_name(source: &str) -> String {
    match source.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None if source.is_empty() => "_rels/.rels".to_string(),
        None => format!("_rels/{source}.rels"),
    }
}

/// The part a relationship's Target names, from `source` (`""` = the
/// package): relative to the source's folder, `..` resolved, escapes
/// decoded; `None` when it leaves the package.
fn resolve_target(source: &str, target: &str) -> Option<String> {
    let target = target.split(['#', '?']).next().unwrap_or(target);
    let target = dsig::percent_decode(target)?;
    let mut segs: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        let mut s: Vec<&str> = source.split('/').collect();
        s.pop();
        s
    };
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segs.pop()?;
            }
            s => segs.push(s),
        }
    }
    Some(segs.join("/"))
}

fn verify_ooxml(
    pkg: &Package<'_>,
    mut doc: DocumentInfo,
    name: &str,
    opts: &VerifyOptions,
) -> Report {
    let when = cert::fmt_unix(opts.at);
    let limits = &opts.limits;
    let read_part = |n: &str| -> Option<Result<Vec<u8>, String>> {
        pkg.part_ci(n)
            .map(|p| pkg.open(p).map_err(|e| e.to_string()))
    };
    let rels_of = |source: &str| -> Result<Vec<Relationship>, String> {
        match read_part(&rels_name(source)) {
            None => Ok(Vec::new()),
            Some(Ok(b)) => dsig::read_relationships(&b, limits),
            Some(Err(e)) => Err(e),
        }
    };
    let no_sig = |doc: DocumentInfo, why: &str| {
        refuse(
            doc,
            opts,
            doc_fail(
                "OOXML_NO_SIGNATURE",
                format!("Tài liệu Office không có chữ ký số ({why})"),
                format!("The Office document has no digital signature ({why})"),
            ),
        )
    };
    let ct = match read_part(CONTENT_TYPES) {
        Some(Ok(b)) => ContentTypes::read(&b, limits),
        Some(Err(e)) => Err(e),
        None => Err("missing".into()),
    };
    let ct = match ct {
        Ok(c) => c,
        Err(e) => return unreadable(doc, opts, CONTENT_TYPES, &e),
    };
    let root_rels = match rels_of("") {
        Ok(r) => r,
        Err(e) => return unreadable(doc, opts, "_rels/.rels", &e),
    };
    let internal = |r: &Relationship| rel_attr(r, "TargetMode") != Some("External");
    let origin = root_rels
        .iter()
        .filter(|r| rel_attr(r, "Type") == Some(REL_ORIGIN) && internal(r))
        .filter_map(|r| rel_attr(r, "Target").and_then(|t| resolve_target("", t)))
        .find(|t| pkg.part_ci(t).is_some());
    let Some(origin) = origin else {
        return no_sig(doc, "no digital signature origin");
    };
    let origin_rels = match rels_of(&origin) {
        Ok(r) => r,
        Err(e) => return unreadable(doc, opts, &rels_name(&origin), &e),
    };
    // The signature parts, as the origin lists them (OPC §13.2.1).
    let mut sig_parts: Vec<String> = Vec::new();
    for r in origin_rels
        .iter()
        .filter(|r| rel_attr(r, "Type") == Some(REL_SIGNATURE) && internal(r))
    {
        if let Some(t) = rel_attr(r, "Target").and_then(|t| resolve_target(&origin, t)) {
            if let Some(p) = pkg.part_ci(&t) {
                if !sig_parts.contains(&p.name) {
                    sig_parts.push(p.name.clone());
                }
            }
        }
    }
    if sig_parts.is_empty() {
        return no_sig(doc, "the signature origin lists no signature part");
    }
    if sig_parts.len() > limits.max_signatures {
        let e =
            crate::error::Error::limit("max_signatures", sig_parts.len(), limits.max_signatures);
        return refuse(doc, opts, crate::validate::document_error(&e));
    }
    // Parts the signature model cannot sign: [Content_Types].xml, the
    // origin and its relationships, the signature parts, their
    // relationships and the certificates those name.
    let mut exempt: HashSet<String> = HashSet::new();
    let mut exempt_add = |n: &str| {
        if let Some(p) = pkg.part_ci(n) {
            exempt.insert(p.name.clone());
        }
    };
    exempt_add(CONTENT_TYPES);
    exempt_add(&origin);
    exempt_add(&rels_name(&origin));
    for s in &sig_parts {
        exempt_add(s);
        exempt_add(&rels_name(s));
        if let Ok(rs) = rels_of(s) {
            for r in rs
                .iter()
                .filter(|r| rel_attr(r, "Type") == Some(REL_SIG_CERT))
            {
                if let Some(t) = rel_attr(r, "Target").and_then(|t| resolve_target(s, t)) {
                    exempt_add(&t);
                }
            }
        }
    }
    let parts = Parts::of(pkg, &[]);
    let det = parts.detached();
    let mut signatures: Vec<SignatureReport> = Vec::new();
    let mut notes: Vec<Check> = Vec::new();
    let mut seen_values: Vec<(Vec<u8>, String)> = Vec::new();
    for sp in &sig_parts {
        let bytes = match read_part(sp) {
            Some(Ok(b)) => b,
            Some(Err(e)) => {
                signatures.push(broken_signature_part(signatures.len(), sp, &e));
                continue;
            }
            None => continue,
        };
        let r = crate::validate::verify_xml(&bytes, &det, name, opts);
        if let Some(e) = &r.document.error {
            let why = e.message_en.clone();
            signatures.push(broken_signature_part(signatures.len(), sp, &why));
            continue;
        }
        notes.extend(
            r.document
                .notes
                .into_iter()
                .filter(|n| n.code != "XML_PROFILE"),
        );
        let count = r.signatures.len();
        for mut s in r.signatures {
            s.index = signatures.len();
            s.kind = SignatureKind::PackageSignature;
            s.field_name = Some(sp.clone());
            if count > 1 {
                s.fail(
                    I::TotalFailed,
                    S::FormatFailure,
                    Check::new(
                        "OOXML_SIGNATURE_PART_MALFORMED",
                        Outcome::Failed,
                        format!("Phần chữ ký {sp} chứa {count} chữ ký (chuẩn OPC: đúng một)"),
                        format!("Signature part {sp} holds {count} signatures (OPC: exactly one)"),
                    ),
                );
            }
            let value = signature_value_of(&bytes);
            if let Some(v) = value {
                if let Some((_, first)) = seen_values.iter().find(|(x, _)| *x == v) {
                    s.fail(
                        I::Indeterminate,
                        S::FormatFailure,
                        Check::new(
                            "OOXML_SIGNATURE_DUPLICATED",
                            Outcome::Failed,
                            format!("Phần chữ ký {sp} là bản sao của {first}: một chữ ký chỉ được tính một lần"),
                            format!("Signature part {sp} repeats {first}: one signature counts once"),
                        ),
                    );
                } else {
                    seen_values.push((v, sp.clone()));
                }
            }
            if let Some(c) = office_info(&bytes, &s, limits) {
                s.pass(c);
            }
            ooxml_signature(pkg, &ct, &exempt, &root_rels, &rels_of, &mut s);
            structure_findings(pkg, &mut s);
            s.conclude();
            signatures.push(s);
        }
    }
    // Signature-like parts the origin does not list: never shown by
    // Office, never counted; they are unsigned parts like any other.
    doc.notes.extend(notes);
    Report::new(doc, when, signatures)
}

/// Office's own signature information (SignatureInfoV1 in the
/// `idOfficeObject` Object: purpose, signature text, image, setup id,
/// application) and the XAdES commitment and claimed roles, as an info
/// check; `signed` says whether a verified reference covers the Office
/// object (what is not signed is only what the file says).
fn office_info(bytes: &[u8], s: &SignatureReport, limits: &crate::error::Limits) -> Option<Check> {
    const DIGSIG: &str = "http://schemas.microsoft.com/office/2006/digsig";
    let text = crate::xml::decode(bytes).ok()?;
    let text = crate::xml::normalize_source(&text);
    let parsed = crate::xml::parse(&text, limits, &[]).ok()?;
    let d = &parsed.doc;
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let mut object_id: Option<String> = None;
    let mut stack = Vec::new();
    crate::xml::push_children(d, d.root(), &mut stack, |c| c);
    let mut visited = 0usize;
    while let Some(n) = stack.pop() {
        visited = visited.saturating_add(1);
        if visited > 100_000 {
            break;
        }
        if let Some(e) = d.element(n) {
            let ns = e.name.namespace_uri.as_deref().unwrap_or("");
            let local = e.name.local_name.as_ref();
            let value = || crate::xml::text_of(d, n).trim().to_string();
            match (ns, local) {
                (DIGSIG, "SignatureInfoV1") => {
                    let mut up = d.parent(n);
                    while let Some(p) = up {
                        if crate::xml::is(d, p, crate::xml::DSIG, "Object") {
                            object_id = crate::xml::attr(d, p, "Id").map(str::to_string);
                            break;
                        }
                        up = d.parent(p);
                    }
                }
                (DIGSIG, "SignatureComments") if !value().is_empty() => {
                    found.push(("purpose", value()))
                }
                (DIGSIG, "SignatureText") if !value().is_empty() => found.push(("text", value())),
                (DIGSIG, "SignatureImage") if !value().is_empty() => {
                    found.push(("image", "present".into()))
                }
                (DIGSIG, "SetupID") if !value().is_empty() => found.push(("setup_id", value())),
                (DIGSIG, "ApplicationVersion") if !value().is_empty() => {
                    found.push(("application", value()))
                }
                (_, "ClaimedRole") if ns.starts_with("http://uri.etsi.org/01903") => {
                    found.push(("claimed_role", value()))
                }
                (_, "Identifier")
                    if ns.starts_with("http://uri.etsi.org/01903")
                        && d.parent(n).is_some_and(|p| {
                            d.element(p)
                                .is_some_and(|pe| pe.name.local_name.as_ref() == "CommitmentTypeId")
                        }) =>
                {
                    found.push(("commitment", value()))
                }
                _ => {}
            }
        }
        crate::xml::push_children(d, n, &mut stack, |c| c);
    }
    if found.is_empty() {
        return None;
    }
    let signed = object_id.as_deref().is_some_and(|id| {
        s.xml.as_ref().is_some_and(|x| {
            x.references.iter().any(|r| {
                r.status == RefStatus::Valid && r.uri.as_deref() == Some(&format!("#{id}"))
            })
        })
    });
    let list = found
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut c = Check::new(
        "OOXML_SIGNATURE_INFO",
        Outcome::Info,
        format!(
            "Thông tin chữ ký Office ({}): {list}",
            if signed {
                "được ký"
            } else {
                "không được ký"
            }
        ),
        format!(
            "Office signature information ({}): {list}",
            if signed { "signed" } else { "not signed" }
        ),
    )
    .with("signed", signed);
    for (k, v) in found {
        c = c.with(k, v);
    }
    Some(c)
}

/// The SignatureValue text of a signature part (to spot a copied part).
fn signature_value_of(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(bytes);
    let start = text.find("SignatureValue")?;
    let rest = text.get(start..)?;
    let open = rest.find('>')?;
    let body = rest.get(open.saturating_add(1)..)?;
    let end = body.find('<')?;
    Some(
        body.get(..end)?
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect(),
    )
}

/// A signature part that cannot be read as a signature (empty, not XML,
/// no Signature): a failed signature, named by its part.
fn broken_signature_part(index: usize, part: &str, why: &str) -> SignatureReport {
    let mut s = SignatureReport::new(index, SignatureKind::PackageSignature);
    s.field_name = Some(part.to_string());
    s.fail(
        I::TotalFailed,
        S::FormatFailure,
        Check::new(
            "OOXML_SIGNATURE_PART_MALFORMED",
            Outcome::Failed,
            format!("Phần chữ ký {part} không đọc được: {why}"),
            format!("Signature part {part} cannot be read: {why}"),
        ),
    );
    s
}

/// The OPC meaning of one verified XML signature: its parts (Manifest
/// references) verified, their content types, and coverage.
fn ooxml_signature(
    pkg: &Package<'_>,
    ct: &ContentTypes,
    exempt: &HashSet<String>,
    root_rels: &[Relationship],
    rels_of: &dyn Fn(&str) -> Result<Vec<Relationship>, String>,
    s: &mut SignatureReport,
) {
    let Some(x) = s.xml.clone() else {
        return;
    };
    let refs = &x.manifest_references;
    if refs.is_empty() {
        s.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "PACKAGE_PARTS_NOT_SIGNED",
                Outcome::Failed,
                "Chữ ký không ký phần nào của tài liệu (không có Manifest các phần)",
                "The signature signs no part of the document (no Manifest of parts)",
            ),
        );
        return;
    }
    crate::validate::xmlcheck::check_reference_list(refs, "PACKAGE_PARTS_VALID", s);
    // Signed parts and, for relationships parts, which relationships.
    let mut signed: HashMap<String, Option<dsig::RelSelection>> = HashMap::new();
    let mut ct_wrong: Vec<String> = Vec::new();
    for r in refs.iter().filter(|r| r.status == RefStatus::Valid) {
        let Some(uri) = r.uri.as_deref() else {
            continue;
        };
        let Some(p) = dsig::part_name_of(uri).and_then(|n| pkg.part_ci(&n)) else {
            continue;
        };
        let declared = uri
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("ContentType=")))
            .and_then(dsig::percent_decode);
        let actual = ct.of(&p.name);
        if declared.as_deref() != actual {
            ct_wrong.push(format!(
                "{} (signed as {}, the package says {})",
                p.name,
                declared.as_deref().unwrap_or("-"),
                actual.unwrap_or("-")
            ));
        }
        let sel = r.relationships.clone();
        match signed.get_mut(&p.name) {
            // Signed twice: the union of what is kept.
            Some(Some(prev)) => match sel {
                Some(n) => {
                    prev.ids.extend(n.ids);
                    prev.types.extend(n.types);
                }
                None => {
                    signed.insert(p.name.clone(), None);
                }
            },
            Some(None) => {}
            None => {
                signed.insert(p.name.clone(), sel);
            }
        }
    }
    if !ct_wrong.is_empty() {
        let list = ct_wrong.join("; ");
        s.fail(
            I::Indeterminate,
            S::SigConstraintsFailure,
            Check::new(
                "OOXML_CONTENT_TYPE_MISMATCH",
                Outcome::Failed,
                format!("Kiểu nội dung của phần đã ký khác với khai báo trong gói: {list}"),
                format!("A signed part's content type differs from the package's: {list}"),
            ),
        );
    }
    // What the signed content reaches unsigned.
    let mut reached: Vec<String> = Vec::new();
    let mut reach = |why: String| {
        if !reached.contains(&why) {
            reached.push(why);
        }
    };
    let is_signed = |n: &str| signed.contains_key(n) || exempt.contains(n);
    let kept = |rels_part: &str, r: &Relationship| -> bool {
        match signed.get(rels_part) {
            Some(None) => true,
            Some(Some(sel)) => dsig::rel_selected(sel, r),
            None => false,
        }
    };
    let mut sources: Vec<String> = vec![String::new()];
    sources.extend(signed.keys().filter(|n| !n.ends_with(".rels")).cloned());
    sources.sort();
    for src in &sources {
        let rp_name = rels_name(src);
        let rp = pkg.part_ci(&rp_name).map(|p| p.name.clone());
        let rels = if src.is_empty() {
            Ok(root_rels.to_vec())
        } else {
            rels_of(src)
        };
        let rels = match rels {
            Ok(r) => r,
            Err(_) => {
                reach(rp_name.clone());
                continue;
            }
        };
        for r in &rels {
            let id = rel_attr(r, "Id").unwrap_or("?");
            let ty = rel_attr(r, "Type").unwrap_or("");
            let is_kept = rp.as_deref().is_some_and(|n| kept(n, r));
            if !is_kept {
                if src.is_empty() && is_metadata(ty)
                    || !src.is_empty() && SETTINGS_RELS.contains(&ty)
                {
                    continue;
                }
                reach(format!(
                    "{} ({id})",
                    rp.clone().unwrap_or_else(|| rp_name.clone())
                ));
                continue;
            }
            // Properties are not what is shown, whether or not the
            // relationship to them is signed (LibreOffice signs the one to
            // docProps/core.xml, not the part).
            if rel_attr(r, "TargetMode") == Some("External") || is_metadata(ty) {
                continue;
            }
            let Some(t) = rel_attr(r, "Target").and_then(|t| resolve_target(src, t)) else {
                continue;
            };
            if let Some(p) = pkg.part_ci(&t) {
                if !is_signed(&p.name) {
                    reach(p.name.clone());
                }
            }
        }
    }
    let unsigned: Vec<String> = pkg
        .parts
        .iter()
        .filter(|p| !p.name.ends_with('/'))
        .filter(|p| !is_signed(&p.name))
        .map(|p| p.name.clone())
        .filter(|n| !reached.iter().any(|r| r == n))
        .collect();
    let total = pkg.parts.iter().filter(|p| !p.name.ends_with('/')).count();
    coverage_checks(s, &reached, &unsigned, total);
}
