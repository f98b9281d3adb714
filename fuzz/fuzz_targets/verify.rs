//! The whole verification entry point on arbitrary bytes (format detected).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kyso::fuzzing::verify(data);
});
