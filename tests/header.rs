//! include/epode.h must be exactly what cbindgen generates from src/ffi now:
//! a stale committed header would let C programs call functions that moved.

#[test]
fn committed_header_is_what_cbindgen_generates() {
    let root = env!("CARGO_MANIFEST_DIR");
    let config =
        cbindgen::Config::from_file(format!("{root}/cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    // EPODE_BLESS_HEADER=1 writes the header instead, for machines without
    // the cbindgen CLI: `EPODE_BLESS_HEADER=1 cargo test --test header`.
    if std::env::var_os("EPODE_BLESS_HEADER").is_some() {
        std::fs::write(format!("{root}/include/epode.h"), &generated).expect("header written");
    }
    let committed =
        std::fs::read(format!("{root}/include/epode.h")).expect("include/epode.h exists");
    assert!(
        generated == committed,
        "include/epode.h is stale: run `cbindgen --config cbindgen.toml --crate epode --output include/epode.h` (or `EPODE_BLESS_HEADER=1 cargo test --test header`) and commit it"
    );
}
