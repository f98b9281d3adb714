//! ZIP packages (OOXML, ODF) on arbitrary bytes: end record, central
//! directory, local headers, names, then every part inflated within limits.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kyso::fuzzing::package(data);
});
