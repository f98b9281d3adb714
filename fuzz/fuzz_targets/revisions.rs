//! The revision chain and the analysis of what changed after each %%EOF.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kyso::fuzzing::revisions(data);
});
