//! Entry points for the fuzz targets in `fuzz/` — and nothing else.
//!
//! Each function takes the fuzzer's bytes, drives one parser of untrusted
//! input the way the library does, and panics when an invariant breaks
//! (a crash is what the fuzzer looks for). They reach internals that stay
//! private otherwise, so the module exists only in fuzz builds (`cargo
//! fuzz` sets `--cfg fuzzing`) and in this crate's own tests, which run
//! every entry point over the committed seed corpus and crash inputs.

use crate::sasl::{Credentials, Mechanism, Scram, ScramHash, ScramKeys};
use crate::xml::{parse_document, parse_received, Limits, StreamEvent, StreamParser};

/// Small limits, so inputs of a few KiB reach the limit checks.
const LIMITS: Limits = Limits {
    max_stanza_bytes: 4096,
    max_depth: 16,
};

/// The incremental stream parser. The first byte seeds the chunk sizes;
/// the rest is the stream. Fed in chunks it must give exactly what it
/// gives fed at once, and every stanza must survive serialize → parse.
pub fn xml_stream(data: &[u8]) {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let (whole, whole_ok) = feed_chunks(stream, &mut std::iter::repeat(usize::MAX));
    let mut sizes = chunk_sizes(seed);
    let (chunked, chunked_ok) = feed_chunks(stream, &mut sizes);
    assert_eq!(whole_ok, chunked_ok, "chunking changed the outcome");
    if whole_ok {
        assert_eq!(whole, chunked, "chunking changed the events");
    }
    for event in &whole {
        if let StreamEvent::Stanza(stanza) = event {
            let text = stanza.to_string();
            let again = parse_received(&text)
                .unwrap_or_else(|e| panic!("own output {text:?} does not parse: {e}"));
            assert_eq!(&again, stanza, "serialize → parse changed {text:?}");
        }
    }
    // The same bytes as one lone document: as XML from the application
    // (epode_stanza_parse, send_raw) and as XML received. The first only
    // refuses more: what it accepts, the second reads the same.
    let text = std::str::from_utf8(stream).unwrap_or_default();
    if let Ok(strict) = parse_document(text, LIMITS, true) {
        assert_eq!(
            parse_document(text, LIMITS, false).as_ref(),
            Ok(&strict),
            "caller XML read differently as received XML"
        );
    }
}

/// Chunk sizes from 1 to 64 bytes, a xorshift sequence seeded by `seed`.
fn chunk_sizes(seed: u8) -> impl Iterator<Item = usize> {
    let mut state = u32::from(seed) | 0x100;
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 64) as usize + 1
    })
}

/// Feeds `stream` in chunks of the given sizes; returns the events and
/// whether no error occurred.
fn feed_chunks(stream: &[u8], sizes: &mut dyn Iterator<Item = usize>) -> (Vec<StreamEvent>, bool) {
    let mut parser = StreamParser::with_limits(LIMITS);
    let mut events = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        if parser.feed_into(chunk, &mut events).is_err() {
            return (events, false);
        }
        rest = tail;
    }
    (events, true)
}

/// One BOSH response body, as the session's first answer and as a later one.
pub fn bosh_body(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        crate::transport::bosh::fuzz_body(text, LIMITS);
    }
}

/// One HTTP response to a BOSH request, as the engine's client reads it.
pub fn http_response(data: &[u8]) {
    crate::transport::bosh::fuzz_response(data);
}

/// One RFC 7395 WebSocket message: parse, then the `<open/>` check.
pub fn websocket_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parser = StreamParser::with_limits(LIMITS);
    let mut events = Vec::new();
    let parsed = crate::transport::websocket::parse_message(&mut parser, text, &mut events);
    match parsed {
        // Nothing of a malformed message reaches the engine.
        Err(_) => assert!(
            events.is_empty(),
            "events from a malformed message: {events:?}"
        ),
        // A refused <open/> is one the message holds.
        Ok(Some(_)) => assert!(
            events.iter().any(|e| match e {
                StreamEvent::Open(_) => true,
                StreamEvent::Stanza(e) => e.local_name() == "open",
                StreamEvent::Close(_) => false,
            }),
            "refused an <open/> not there: {events:?}"
        ),
        Ok(None) => {}
    }
}

/// The client nonce the SCRAM target's client uses.
const SCRAM_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
/// The salt and iteration count for which the SCRAM target's client holds
/// cached keys (so the fuzzer does not spend its time in PBKDF2).
const SCRAM_SALT_B64: &str = "QSXCR+Q6sek8bf92";
const SCRAM_ITERATIONS: u32 = 4096;

/// A SCRAM-SHA-1 exchange: the input is server-first, a 0xFF byte, then
/// server-final (sent as a challenge, then again in `<success/>`).
pub fn scram(data: &[u8]) {
    let mut parts = data.splitn(2, |&b| b == 0xff);
    let server_first = parts.next().unwrap_or_default();
    let server_final = parts.next();
    static KEYS: std::sync::OnceLock<ScramKeys> = std::sync::OnceLock::new();
    let hash = ScramHash::Sha1;
    let keys = KEYS.get_or_init(|| {
        let salt = base64_decode(SCRAM_SALT_B64);
        ScramKeys::derive(hash, "pencil", &salt, SCRAM_ITERATIONS).unwrap()
    });
    let creds = Credentials {
        scram_keys: Some(keys.clone()),
        ..Credentials::from_jid("user@example.com", None, None)
    };
    let mut scram = Scram::with_nonce(hash, SCRAM_NONCE);
    scram.start(&creds).expect("client-first");
    let Ok(client_final) = scram.challenge(&creds, server_first) else {
        return;
    };
    assert!(client_final.starts_with(b"c=biws,r=".as_slice()));
    let Some(server_final) = server_final else {
        return;
    };
    let _ = scram.challenge(&creds, server_final);
    let done = scram.success(&creds, Some(server_final));
    // Keys are handed out after a verified exchange only.
    assert_eq!(done.is_ok(), scram.derived_keys().is_some());
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_default()
}

/// The JID helpers: splitting, joining, parsing and XEP-0106 escaping;
/// RFC 7622 normalisation and comparison (the whole input, and its two
/// halves around the first newline as a pair). The C layer adds its own
/// checks (`epode::c_fuzzing::jid`).
pub fn jid(data: &[u8]) {
    use crate::jid;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    jid_normalised(text);
    let (a, b) = text.split_once('\n').unwrap_or((text, ""));
    jid_pair(a, b);
    let (node, domain, resource) = jid::split(text);
    assert_eq!(jid::node(text), node);
    assert_eq!(jid::domain(text), domain);
    assert_eq!(jid::resource(text), resource);
    assert!(text.starts_with(jid::bare(text)));
    let _ = jid::join(node, domain, resource);
    let escaped = jid::escape_node(text);
    assert!(
        !escaped.contains(['@', '/', ' ', '"', '&', '\'', ':', '<', '>']),
        "{escaped:?} still holds a character XEP-0106 escapes"
    );
    let _ = jid::unescape_node(text);
    assert_eq!(
        jid::unescape_node(&escaped),
        text.trim(),
        "escape → unescape"
    );
    if let Ok(parsed) = text.parse::<jid::Jid>() {
        let shown = parsed.to_string();
        let again: jid::Jid = shown.parse().expect("a parsed JID's text parses");
        assert_eq!(again, parsed);
    }
}

/// A normalised JID is a fixed point, within RFC 7622's lengths, and the
/// same address as what it came from.
fn jid_normalised(text: &str) {
    use crate::jid;
    let normal = jid::normalize(text);
    if let Ok(n) = &normal {
        assert_eq!(
            jid::normalize(n).as_ref(),
            Ok(n),
            "normalising is idempotent"
        );
        let (node, domain, resource) = jid::split(n);
        for part in [node, Some(domain), resource].into_iter().flatten() {
            assert!(part.len() <= 1023, "{part:?} is over 1023 bytes");
        }
        assert_eq!(jid::equal(text, n), Ok(true));
        assert_eq!(jid::bare_equal(text, n), Ok(true));
        assert!(jid::same_address(text, n) && jid::same_account(text, n));
    } else {
        assert!(jid::equal(text, text).is_err());
        assert!(jid::same_address(text, text), "anything is itself");
    }
}

/// Comparisons are symmetric, and the same address is the same account.
fn jid_pair(a: &str, b: &str) {
    use crate::jid;
    // Either way round the same answer (an error may name either side).
    let equal = jid::equal(a, b).ok();
    assert_eq!(equal, jid::equal(b, a).ok());
    let bare_equal = jid::bare_equal(a, b).ok();
    assert_eq!(bare_equal, jid::bare_equal(b, a).ok());
    if equal == Some(true) {
        assert_eq!(bare_equal, Some(true));
    }
    let same = jid::same_address(a, b);
    assert_eq!(same, jid::same_address(b, a));
    assert_eq!(jid::same_account(a, b), jid::same_account(b, a));
    if same {
        assert!(jid::same_account(a, b));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    /// Every entry point over the committed seeds and past crash inputs
    /// (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`).
    pub(crate) fn run_corpus(target: &str, entry: fn(&[u8])) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut count = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(files) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for file in files {
                let path = file.unwrap().path();
                entry(&std::fs::read(&path).unwrap());
                count += 1;
            }
        }
        assert!(count > 0, "no seeds for {target}");
    }

    #[test]
    fn xml_stream_corpus() {
        run_corpus("xml_stream", super::xml_stream);
    }

    #[test]
    fn bosh_body_corpus() {
        run_corpus("bosh_body", super::bosh_body);
    }

    #[test]
    fn http_response_corpus() {
        run_corpus("http_response", super::http_response);
    }

    #[test]
    fn websocket_message_corpus() {
        run_corpus("websocket_message", super::websocket_message);
    }

    #[test]
    fn scram_corpus() {
        run_corpus("scram", super::scram);
    }
}
