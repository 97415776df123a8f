//! Stream parser tests, one submodule per topic: real streams and their
//! framing, well-formedness, limits, and XML from the application against
//! XML from a server. Here: the helpers they share (chunked feeding, a
//! deterministic PRNG, parsed elements as expected events).

mod caller;
mod limits;
mod streams;
mod wellformed;

use super::*;

/// xorshift64*: a tiny deterministic PRNG for random chunkings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Feeds `input` in chunks of the given sizes (cycled) and collects events.
fn feed_sized(
    input: &[u8],
    sizes: &mut dyn FnMut() -> usize,
) -> Result<Vec<StreamEvent>, XmlError> {
    let mut parser = StreamParser::new();
    let mut events = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(sizes().clamp(1, rest.len()));
        parser.feed_into(chunk, &mut events)?;
        rest = tail;
    }
    assert_eq!(parser.buffered(), 0, "bytes left over");
    Ok(events)
}

fn feed_whole(input: &[u8]) -> Result<Vec<StreamEvent>, XmlError> {
    StreamParser::new().feed(input)
}

fn el(xml: &str) -> Element {
    parse_element(xml).unwrap_or_else(|e| panic!("{xml}: {e}"))
}

fn stanza(xml: &str) -> StreamEvent {
    StreamEvent::Stanza(el(xml))
}

/// Error from feeding `input` whole and one byte at a time (which must agree).
fn feed_error(input: &[u8]) -> XmlError {
    let whole = feed_whole(input).expect_err("whole input accepted");
    let bytewise = feed_sized(input, &mut || 1).expect_err("bytewise input accepted");
    assert_eq!(whole, bytewise);
    whole
}
