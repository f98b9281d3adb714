//! Streamed canonical XML of whole documents against the tree path
//! (bergshamra-c14n over uppsala): equal bytes wherever both read the input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kyso::fuzzing::stream_c14n(data);
});
