//! PDF reading for verification: lazy, bounded, strict.

pub mod changes;
pub mod document;
pub mod object;
pub mod sig;
pub mod source;

pub use document::Document;
pub use sig::{PdfSignature, SigDictType, find_signatures};
pub use source::{FileSource, Source};
