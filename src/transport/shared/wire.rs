//! The frames a handle in another process and the worker's manager
//! exchange over the Unix socket: a 4-byte big-endian length, a one-byte
//! tag, then UTF-8 text. Seed 000's commands, in native form.

use crate::error::{Error, Result};
use std::sync::Arc;

/// What a handle in another process asks of the manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToManager {
    /// `connect()`: join the session of this account (a bare or full JID).
    Connect(String),
    /// `attach()`: join whatever session is up.
    Attach,
    /// One stanza for the server: the text the handle sent, shared.
    Send(Arc<str>),
    /// `disconnect()`: end the shared session for everyone.
    Close,
}

/// What the manager tells a handle in another process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToPort {
    /// Joined the session of this full JID.
    Attached(String),
    /// No session to join, or it failed while being set up.
    AttachFailed(String),
    /// The session belongs to another account.
    Refused(String),
    /// One stanza from the server.
    Message(String),
    /// The link to the server was lost.
    Lost(String),
    /// The session was ended on purpose (a handle's disconnect, the server's close).
    Closed(String),
    /// The server broke the stream (bad XML, a stanza over the limit).
    Error(String),
}

const HEADER: usize = 5;

fn encode(tag: u8, text: &str, out: &mut Vec<u8>) {
    let len = u32::try_from(text.len() + 1).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(tag);
    out.extend_from_slice(text.as_bytes());
}

impl ToManager {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ToManager::Connect(jid) => encode(b'C', jid, out),
            ToManager::Attach => encode(b'A', "", out),
            ToManager::Send(xml) => encode(b'S', xml, out),
            ToManager::Close => encode(b'X', "", out),
        }
    }

    fn decode(tag: u8, text: String) -> Result<ToManager> {
        Ok(match tag {
            b'C' => ToManager::Connect(text),
            b'A' => ToManager::Attach,
            b'S' => ToManager::Send(text.into()),
            b'X' => ToManager::Close,
            other => return Err(bad_tag(other)),
        })
    }
}

impl ToPort {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ToPort::Attached(jid) => encode(b'a', jid, out),
            ToPort::AttachFailed(why) => encode(b'f', why, out),
            ToPort::Refused(why) => encode(b'r', why, out),
            ToPort::Message(xml) => encode(b'm', xml, out),
            ToPort::Lost(why) => encode(b'l', why, out),
            ToPort::Closed(why) => encode(b'c', why, out),
            ToPort::Error(why) => encode(b'e', why, out),
        }
    }

    fn decode(tag: u8, text: String) -> Result<ToPort> {
        Ok(match tag {
            b'a' => ToPort::Attached(text),
            b'f' => ToPort::AttachFailed(text),
            b'r' => ToPort::Refused(text),
            b'm' => ToPort::Message(text),
            b'l' => ToPort::Lost(text),
            b'c' => ToPort::Closed(text),
            b'e' => ToPort::Error(text),
            other => return Err(bad_tag(other)),
        })
    }
}

fn bad_tag(tag: u8) -> Error {
    Error::io(format!("shared worker: unknown frame type {tag:#04x}"))
}

/// Takes every whole frame off the front of `buf`. A frame longer than
/// `max_len`, of an unknown type or not UTF-8 is an error: the peer is
/// broken or hostile and its link is dropped.
fn take_frames<T>(
    buf: &mut Vec<u8>,
    max_len: usize,
    decode: fn(u8, String) -> Result<T>,
    out: &mut Vec<T>,
) -> Result<()> {
    let mut start = 0;
    let result = loop {
        let rest = &buf[start..];
        if rest.len() < 4 {
            break Ok(());
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len == 0 || len > max_len.saturating_add(1) {
            break Err(Error::io(format!(
                "shared worker: a frame of {len} bytes (limit {max_len})"
            )));
        }
        if rest.len() < 4 + len {
            break Ok(());
        }
        let tag = rest[4];
        let text = match std::str::from_utf8(&rest[HEADER..4 + len]) {
            Ok(t) => t.to_string(),
            Err(_) => break Err(Error::io("shared worker: a frame that is not UTF-8")),
        };
        match decode(tag, text) {
            Ok(frame) => out.push(frame),
            Err(e) => break Err(e),
        }
        start += 4 + len;
    };
    buf.drain(..start);
    result
}

pub(crate) fn take_to_manager(
    buf: &mut Vec<u8>,
    max_len: usize,
    out: &mut Vec<ToManager>,
) -> Result<()> {
    take_frames(buf, max_len, ToManager::decode, out)
}

pub(crate) fn take_to_port(buf: &mut Vec<u8>, max_len: usize, out: &mut Vec<ToPort>) -> Result<()> {
    take_frames(buf, max_len, ToPort::decode, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_survives_a_round_trip_in_any_chunking() {
        let frames = vec![
            ToPort::Attached("alice@localhost/r".into()),
            ToPort::AttachFailed(String::new()),
            ToPort::Refused("bob's".into()),
            ToPort::Message("<message><body>é</body></message>".into()),
            ToPort::Lost("gone".into()),
            ToPort::Closed("ended".into()),
            ToPort::Error("bad".into()),
        ];
        let mut wire = Vec::new();
        frames.iter().for_each(|f| f.encode(&mut wire));
        for chunk in [1, 2, 3, 7, wire.len()] {
            let (mut buf, mut got) = (Vec::new(), Vec::new());
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                take_to_port(&mut buf, 1024, &mut got).unwrap();
            }
            assert_eq!(got, frames);
            assert!(buf.is_empty());
        }
        let asks = vec![
            ToManager::Connect("a@b".into()),
            ToManager::Attach,
            ToManager::Send("<iq/>".into()),
            ToManager::Close,
        ];
        let mut wire = Vec::new();
        asks.iter().for_each(|f| f.encode(&mut wire));
        let mut got = Vec::new();
        take_to_manager(&mut wire, 1024, &mut got).unwrap();
        assert_eq!(got, asks);
    }

    #[test]
    fn garbage_is_refused_not_buffered_forever() {
        let mut got = Vec::new();
        // An HTTP request is a 1.2 GB frame by its first four bytes.
        let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
        assert!(take_to_manager(&mut buf, 1 << 20, &mut got).is_err());
        let mut buf = vec![0, 0, 0, 2, b'?', b'x'];
        assert!(take_to_manager(&mut buf, 1024, &mut got).is_err());
        let mut buf = vec![0, 0, 0, 3, b'S', 0xff, 0xfe];
        assert!(take_to_manager(&mut buf, 1024, &mut got).is_err());
        let mut buf = vec![0, 0, 0, 0];
        assert!(take_to_manager(&mut buf, 1024, &mut got).is_err());
        assert!(got.is_empty());
    }
}
