//! kyso's lazy PDF reader against lopdf, object by object (the comparison
//! of tests/oracles.rs). A difference that is not lopdf reading an earlier
//! revision's version stops the run: triage it, then fix kyso or list it in
//! tests/lopdf-oracle-listed.tsv with the reason.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/lopdf_compare.rs"]
mod lopdf_compare;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = lopdf_compare::compare(data) {
        assert!(c.differences.is_empty(), "kyso and lopdf differ: {:?}", c.differences);
    }
});
