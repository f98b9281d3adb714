//! Signed XML on arbitrary bytes: normalization, parsing under limits, ID
//! registration, reference resolution, transforms, canonicalization.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kyso::fuzzing::xml(data);
});
