//! PDF reading for verification: lazy, bounded, strict.
// Parsers of untrusted bytes and the checks on what they read: no slicing
// that can panic, no unchecked indexing, no arithmetic that can overflow.
#![deny(
    clippy::string_slice,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

pub mod changes;
pub mod content;
pub mod document;
pub mod object;
pub mod sig;
pub mod source;

pub use document::Document;
pub use sig::{PdfSignature, SigDictType, find_signatures};
pub use source::{FileSource, Source};
