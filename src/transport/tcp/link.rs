//! The socket under a TCP stream: plain (only before STARTTLS, or when
//! the user allowed plaintext) or TLS.

use native_tls::TlsStream;
use std::io::{Read, Result, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};

pub(super) enum Link {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Link {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Link::Plain(s) => s,
            Link::Tls(s) => s.get_ref(),
        }
    }

    pub fn fd(&self) -> RawFd {
        self.tcp().as_raw_fd()
    }
}

impl Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self {
            Link::Plain(s) => s.read(buf),
            Link::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        match self {
            Link::Plain(s) => s.write(buf),
            Link::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> Result<()> {
        match self {
            Link::Plain(s) => s.flush(),
            Link::Tls(s) => s.flush(),
        }
    }
}
