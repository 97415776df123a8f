//! The socket of a handshake running on another thread (WebSocket's
//! upgrade, TCP's TLS and STARTTLS), shared so that `abort` can cut it: a
//! server trickling its answer a byte at a time never lets a per-read
//! timeout fire, and would otherwise keep the thread (and the socket) busy
//! for as long as it likes.

use crate::error::{Error, Result};
use crate::mailbox::lock;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

#[derive(Default)]
enum Line {
    /// No socket yet.
    #[default]
    Idle,
    /// A clone of the socket the handshake is using.
    Open(TcpStream),
    /// The handshake is over.
    Done,
    /// The connection attempt was abandoned: stop at once.
    Aborted,
}

#[derive(Clone, Default)]
pub(crate) struct HandshakeLine(Arc<Mutex<Line>>);

impl HandshakeLine {
    /// The handshake now runs on `tcp`; an error if it was abandoned.
    pub fn attach(&self, tcp: &TcpStream) -> Result<()> {
        let mut line = lock(&self.0);
        if matches!(*line, Line::Aborted) {
            return Err(Error::io("the connection attempt was abandoned"));
        }
        *line = Line::Open(tcp.try_clone()?);
        Ok(())
    }

    /// The handshake is over: the clone's descriptor is not needed any more.
    pub fn done(&self) {
        let mut line = lock(&self.0);
        if !matches!(*line, Line::Aborted) {
            *line = Line::Done;
        }
    }

    /// Over, or abandoned: nothing left to cut.
    pub fn finished(&self) -> bool {
        matches!(*lock(&self.0), Line::Done | Line::Aborted)
    }

    /// Whether `abort` was called.
    pub fn aborted(&self) -> bool {
        matches!(*lock(&self.0), Line::Aborted)
    }

    /// Cuts the handshake off; it finishes at once, with an error.
    pub fn abort(&self) {
        let mut line = lock(&self.0);
        if let Line::Open(tcp) = &*line {
            let _ = tcp.shutdown(std::net::Shutdown::Both);
        }
        *line = Line::Aborted;
    }
}
