//! The fuzz targets' ways in through the C ABI (see `crate::fuzzing` for
//! the Rust parsers'): the C layer checks itself here, so that nothing
//! below it needs to know it exists.

/// The Rust JID checks (`crate::fuzzing::jid`), and `epode_jid_normalize`
/// saying what Rust's `normalize` says.
pub fn jid(data: &[u8]) {
    crate::fuzzing::jid(data);
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(c_jid_normalize(text), crate::jid::normalize(text).ok());
    }
}

/// `epode_jid_normalize` through its C entry (None: an error code).
fn c_jid_normalize(text: &str) -> Option<String> {
    use super::jid::epode_jid_normalize;
    use super::result::epode_result;
    let c_text = std::ffi::CString::new(text).ok()?;
    let mut buf = vec![0u8; 5000];
    let mut len = 0usize;
    // SAFETY: a NUL-terminated string, a buffer of buf.len() bytes.
    let result = unsafe {
        epode_jid_normalize(
            c_text.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut len,
        )
    };
    if result != epode_result::EPODE_OK {
        assert_ne!(result, epode_result::EPODE_ERR_PANIC, "a panic in C");
        return None;
    }
    buf.truncate(len);
    Some(String::from_utf8(buf).expect("normalised text is UTF-8"))
}

/// `epode_stanza_parse` through its C entry, then `epode_stanza_to_string`.
pub fn c_stanza_parse(data: &[u8]) {
    use super::stanza::{
        epode_stanza, epode_stanza_free, epode_stanza_parse, epode_stanza_to_string,
    };
    use super::{guard::epode_string_free, result::epode_result};
    let text: Vec<u8> = data
        .iter()
        .copied()
        .take_while(|&b| b != 0)
        .chain([0])
        .collect();
    let mut stanza: *mut epode_stanza = std::ptr::null_mut();
    // SAFETY: `text` is NUL-terminated; `stanza` is a valid out-parameter.
    let rc = unsafe { epode_stanza_parse(text.as_ptr().cast(), &mut stanza) };
    if rc != epode_result::EPODE_OK {
        assert!(stanza.is_null(), "an output written on failure");
        return;
    }
    let mut out = std::ptr::null_mut();
    // SAFETY: `stanza` is the live stanza just parsed; `out` is valid.
    let rc = unsafe { epode_stanza_to_string(stanza, &mut out) };
    assert_eq!(rc, epode_result::EPODE_OK);
    // SAFETY: both were made by the library above and are freed once.
    unsafe {
        epode_string_free(out);
        epode_stanza_free(stanza);
    }
}

#[cfg(test)]
mod tests {
    use crate::fuzzing::tests::run_corpus;

    #[test]
    fn jid_corpus() {
        run_corpus("jid", super::jid);
    }

    #[test]
    fn c_stanza_parse_corpus() {
        run_corpus("c_stanza_parse", super::c_stanza_parse);
    }
}
