//! The shared library's SONAME: `libepode.so.<ABI major>`, as C libraries
//! name theirs (libstrophe: libstrophe.so.0), so that programs linked
//! against it keep loading it across compatible upgrades. The ABI major is
//! 0 for the 0.x series and moves only when the C ABI breaks.
fn main() {
    println!("cargo:rerun-if-changed=include/build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os.ends_with("bsd") {
        let soname = format!("libepode.so.{ABI_MAJOR}");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        link_soname_in_target_dir(&soname);
    }
}

/// A program linked against target/PROFILE/libepode.so asks the loader for
/// the SONAME: `libepode.so.0 -> libepode.so` beside it lets programs built
/// in the tree (the examples, the C tests, the README's quick start) run
/// without an install. OUT_DIR is target/PROFILE/build/epode-HASH/out.
fn link_soname_in_target_dir(soname: &str) {
    let Some(out) = std::env::var_os("OUT_DIR") else {
        return;
    };
    let out = std::path::PathBuf::from(out);
    let Some(profile_dir) = out.ancestors().nth(3) else {
        return;
    };
    let link = profile_dir.join(soname);
    if std::fs::read_link(&link).is_err() {
        let _ = std::fs::remove_file(&link);
        let _ = std::os::unix::fs::symlink("libepode.so", &link);
    }
}

/// Bumped, with the SONAME, when a C program built against an older header
/// could misbehave with this library.
const ABI_MAJOR: u32 = 0;
