//! Structure-aware: certificates, signed attributes and CRLs built from
//! fuzzed fields (UTF-8 names, times, OIDs, extensions), validly signed, then
//! verified — the fields reach the code behind the signature checks.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kyso::fuzzing::fields(data);
});
