//! The layers import one way (DESIGN.md §2: ffi → connection → engine →
//! transports → xml, jid, sasl). This reads the sources and fails when a
//! file reaches up past its layer.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Only the C layer names the C layer; `lib.rs` declares it, privately.
#[test]
fn nothing_outside_ffi_imports_it() {
    let ffi = src().join("ffi");
    let files = sources(&src());
    assert!(files.len() > 20, "the sources were not found");
    for path in files.iter().filter(|p| !p.starts_with(&ffi)) {
        let text = std::fs::read_to_string(path).unwrap();
        // Spelled in halves, so that this file does not match itself.
        for needle in [
            concat!("crate", "::ffi"),
            concat!("super", "::ffi"),
            concat!("epode", "::ffi"),
        ] {
            assert!(
                !text.contains(needle),
                "{} mentions {needle}",
                path.display()
            );
        }
    }
}

/// The XML layer is the bottom: it imports nothing else of the crate.
#[test]
fn xml_imports_only_itself() {
    let xml = src().join("xml");
    let files = sources(&xml);
    assert!(files.len() > 5, "the XML sources were not found");
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for (at, _) in text.match_indices("crate::") {
            assert!(
                text[at..].starts_with("crate::xml"),
                "{} reaches out of src/xml/: {}",
                path.display(),
                text[at..].lines().next().unwrap_or("")
            );
        }
        assert!(
            !text.contains("super::super::super"),
            "{} reaches out of src/xml/ by super::",
            path.display()
        );
    }
}
