//! The one error type of the library. Every limit has a name.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed ASN.1: {0}")]
    Asn1(&'static str),
    #[error("malformed PDF at byte {offset}: {what}")]
    Pdf { offset: u64, what: &'static str },
    #[error("malformed CMS: {0}")]
    Cms(&'static str),
    #[error("limit exceeded: {limit} ({value} > {max})")]
    Limit {
        limit: &'static str,
        value: u64,
        max: u64,
    },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("not a signed document: {0}")]
    UnknownFormat(&'static str),
    #[error("cryptographic library error: {0}")]
    Crypto(String),
    #[error("invalid input: {0}")]
    Invalid(String),
}

impl Error {
    pub fn asn1(what: &'static str) -> Self {
        Error::Asn1(what)
    }
    pub fn pdf(offset: u64, what: &'static str) -> Self {
        Error::Pdf { offset, what }
    }
    pub fn limit(limit: &'static str, value: impl TryInto<u64>, max: impl TryInto<u64>) -> Self {
        Error::Limit {
            limit,
            value: value.try_into().unwrap_or(u64::MAX),
            max: max.try_into().unwrap_or(u64::MAX),
        }
    }
}

impl From<openssl::error::ErrorStack> for Error {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Error::Crypto(e.to_string())
    }
}

/// Named limits applied to untrusted input. All are checked with typed errors.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest indirect object the PDF reader will parse (bytes).
    pub max_object_bytes: u64,
    /// Largest decoded stream (xref/object streams) (bytes).
    pub max_stream_bytes: u64,
    /// Deepest nesting of PDF arrays/dictionaries.
    pub max_pdf_depth: usize,
    /// Most xref sections followed through /Prev.
    pub max_xref_sections: usize,
    /// Most entries in the merged cross-reference table.
    pub max_xref_entries: u64,
    /// Largest /Contents of a signature (decoded bytes).
    pub max_signature_bytes: u64,
    /// Most form fields walked.
    pub max_fields: usize,
    /// Most signatures in one document.
    pub max_signatures: usize,
    /// Most certificates in one CMS.
    pub max_cms_certificates: usize,
    /// Most objects resolved while reading one document.
    pub max_object_resolutions: usize,
    /// Largest CMS file or detached content read into memory (bytes).
    pub max_cms_bytes: u64,
    /// Largest XML document read (bytes).
    pub max_xml_bytes: u64,
    /// Deepest XML element nesting.
    pub max_xml_depth: usize,
    /// Most elements in one XML document.
    pub max_xml_elements: usize,
    /// Most attributes (namespace declarations included) on one XML element.
    pub max_xml_attributes: usize,
    /// Longest single XML text node or attribute value (bytes).
    pub max_xml_text_bytes: u64,
    /// Most References in one XML signature.
    pub max_xml_references: usize,
    /// Largest OOXML/ODF package file read (bytes); its parts are bounded
    /// by [`crate::package::PackageLimits`].
    pub max_package_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_object_bytes: 20 << 20,
            max_stream_bytes: 64 << 20,
            max_pdf_depth: 64,
            max_xref_sections: 4096,
            max_xref_entries: 8_000_000,
            max_signature_bytes: 8 << 20,
            max_fields: 20_000,
            max_signatures: 1000,
            max_cms_certificates: 500,
            max_object_resolutions: 200_000,
            max_cms_bytes: 64 << 20,
            max_xml_bytes: 96 << 20,
            max_xml_depth: 256,
            max_xml_elements: 4_000_000,
            max_xml_attributes: 512,
            max_xml_text_bytes: 48 << 20,
            max_xml_references: 1000,
            max_package_bytes: 256 << 20,
        }
    }
}

/// Hex form for evidence.
pub struct HexShort<'a>(pub &'a [u8]);
impl fmt::Display for HexShort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.iter().take(32) {
            write!(f, "{b:02x}")?;
        }
        if self.0.len() > 32 {
            write!(f, "…")?;
        }
        Ok(())
    }
}
