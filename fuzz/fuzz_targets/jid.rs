#![no_main]
//! See src/ffi/fuzzing.rs (and src/fuzzing.rs) for what this target checks.

libfuzzer_sys::fuzz_target!(|data: &[u8]| epode::c_fuzzing::jid(data));
