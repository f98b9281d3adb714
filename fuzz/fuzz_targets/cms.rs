//! CMS SignedData parsing (and ESS / TSTInfo readers) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kyso::fuzzing::cms(data);
});
