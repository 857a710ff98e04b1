#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| conflux_fuzz::npy(data));
