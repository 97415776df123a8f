//! A sans-IO HTTP/1.1 client codec for BOSH: the bytes of a POST request
//! and the reading of its response. The caller owns the non-blocking
//! sockets, so the engine can drive BOSH requests itself instead of on
//! worker threads.
//!
//! httparse reads response heads; body framing (RFC 9112 §6.3) is here.
//! Every count is checked and nothing indexes input, so no answer from a
//! server, however broken, can panic.

use std::mem;

/// Response headers httparse may hold; more is an error.
const MAX_HEADERS: usize = 64;

/// A response head, or the trailers of a chunked body, longer than this is
/// an error: a BOSH answer has a few short headers.
const MAX_HEAD: usize = 64 * 1024;

/// A chunk-size line (with its extensions) longer than this is an error.
const MAX_CHUNK_LINE: usize = 1024;

/// Appends one POST request to `out`, or leaves `out` as it was if a part
/// would break the request's framing. Host, Content-Length and
/// Transfer-Encoding are set here, so `headers` must not carry them.
pub(super) fn write_request(
    out: &mut Vec<u8>,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(), String> {
    if !path.starts_with('/') || !is_target(path) {
        return Err(format!("invalid HTTP request path {path:?}"));
    }
    if !is_target(host) {
        return Err(format!("invalid HTTP Host {host:?}"));
    }
    for (name, value) in headers {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(format!("invalid HTTP header name {name:?}"));
        }
        if ["Host", "Content-Length", "Transfer-Encoding"]
            .iter()
            .any(|framing| name.eq_ignore_ascii_case(framing))
        {
            return Err(format!("the HTTP header {name} is set by the codec itself"));
        }
        if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(format!("the value of HTTP header {name} has CR, LF or NUL"));
        }
    }
    let mut put = |parts: &[&[u8]]| parts.iter().for_each(|p| out.extend_from_slice(p));
    put(&[
        b"POST ",
        path.as_bytes(),
        b" HTTP/1.1\r\nHost: ",
        host.as_bytes(),
    ]);
    for (name, value) in headers {
        put(&[b"\r\n", name.as_bytes(), b": ", value.as_bytes()]);
    }
    let length = body.len().to_string();
    put(&[
        b"\r\nContent-Length: ",
        length.as_bytes(),
        b"\r\n\r\n",
        body,
    ]);
    Ok(())
}

/// A request path or Host value: not empty, no space or control character
/// (CR or LF would end the request line early).
fn is_target(s: &str) -> bool {
    !s.is_empty() && !s.bytes().any(|b| b == b' ' || b.is_ascii_control())
}

/// RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A complete response.
#[derive(Debug, Default)]
pub(super) struct Response {
    pub status: u16,
    /// Every Set-Cookie value, in order; those not in UTF-8 are skipped.
    pub set_cookies: Vec<String>,
    pub body: Vec<u8>,
    /// The connection may carry another request after this response.
    pub keep_alive: bool,
}

#[derive(Debug)]
pub(super) enum Progress {
    NeedMore,
    Done(Response),
}

/// Where in the response the next byte belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Head,
    /// A Content-Length body with this many bytes still to come.
    Length(usize),
    ChunkSize,
    ChunkData(usize),
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// Trailer lines after the last chunk, this many bytes read so far.
    Trailers(usize),
    /// The body ends when the server closes the connection.
    UntilClose,
    /// The response is read, not yet handed over.
    Complete,
    /// Done or an error was returned: nothing more is read.
    Over,
}

/// Reads one response from bytes as they arrive.
pub(super) struct ResponseReader {
    max_body: usize,
    stage: Stage,
    /// Bytes received and not yet consumed.
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no complete head.
    scanned: usize,
    started: bool,
    response: Response,
}

impl ResponseReader {
    pub fn new(max_body: usize) -> ResponseReader {
        ResponseReader {
            max_body,
            stage: Stage::Head,
            buf: Vec::new(),
            scanned: 0,
            started: false,
            response: Response::default(),
        }
    }

    /// Feeds bytes as they arrive, in any split.
    pub fn feed(&mut self, data: &[u8]) -> Result<Progress, String> {
        if self.stage == Stage::Over {
            return Err("the HTTP response reader is finished".into());
        }
        self.started |= !data.is_empty();
        self.buf.extend_from_slice(data);
        let progress = self.advance();
        self.finish(progress)
    }

    /// The peer closed its side: this ends a close-delimited body.
    pub fn eof(&mut self) -> Result<Progress, String> {
        let progress = match self.stage {
            Stage::UntilClose => {
                self.stage = Stage::Complete;
                Ok(())
            }
            Stage::Over => Err("the HTTP response reader is finished".into()),
            _ => Err("the server closed the connection before the response was complete".into()),
        };
        self.finish(progress)
    }

    /// Whether any byte of a response has arrived: a request on a stale
    /// keep-alive connection is sent again only when none has.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Hands over a complete response; any error or Done ends the reader.
    fn finish(&mut self, progress: Result<(), String>) -> Result<Progress, String> {
        let end = match progress {
            Ok(()) if self.stage != Stage::Complete => return Ok(Progress::NeedMore),
            Ok(()) if !self.buf.is_empty() => Err("the server sent more than one response".into()),
            Ok(()) => Ok(Progress::Done(mem::take(&mut self.response))),
            Err(e) => Err(e),
        };
        self.stage = Stage::Over;
        end
    }

    /// Consumes what it can of `buf`, stage by stage.
    fn advance(&mut self) -> Result<(), String> {
        let buf = mem::take(&mut self.buf);
        let mut at = 0;
        let result = loop {
            let rest = buf.get(at..).unwrap_or_default();
            match self.step(rest) {
                Ok(Some(used)) => at = at.saturating_add(used),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.buf = buf;
        self.buf.drain(..at.min(self.buf.len()));
        self.scanned = self.scanned.min(self.buf.len());
        result
    }

    /// One step of the current stage: the bytes it used, or None when it
    /// needs more (or the response is complete).
    fn step(&mut self, rest: &[u8]) -> Result<Option<usize>, String> {
        match self.stage {
            Stage::Head => self.read_head(rest),
            Stage::Length(left) => {
                let used = left.min(rest.len());
                self.take_body(rest.get(..used).unwrap_or_default())?;
                self.stage = match left.saturating_sub(used) {
                    0 => Stage::Complete,
                    left => Stage::Length(left),
                };
                Ok(Some(used).filter(|&n| n > 0))
            }
            Stage::ChunkSize => {
                let Some((line, used)) = split_line(rest, MAX_CHUNK_LINE)? else {
                    return Ok(None);
                };
                let size = chunk_size(line)?;
                self.stage = if size == 0 {
                    Stage::Trailers(0)
                } else if self.response.body.len().saturating_add(size) > self.max_body {
                    return Err(self.too_big());
                } else {
                    Stage::ChunkData(size)
                };
                Ok(Some(used))
            }
            Stage::ChunkData(left) => {
                let used = left.min(rest.len());
                self.take_body(rest.get(..used).unwrap_or_default())?;
                self.stage = match left.saturating_sub(used) {
                    0 => Stage::ChunkEnd,
                    left => Stage::ChunkData(left),
                };
                Ok(Some(used).filter(|&n| n > 0))
            }
            Stage::ChunkEnd => match rest {
                [] | [b'\r'] => Ok(None),
                [b'\r', b'\n', ..] => {
                    self.stage = Stage::ChunkSize;
                    Ok(Some(2))
                }
                [b'\n', ..] => {
                    self.stage = Stage::ChunkSize;
                    Ok(Some(1))
                }
                _ => Err("an HTTP chunk is not followed by CRLF".into()),
            },
            Stage::Trailers(seen) => {
                let room = MAX_HEAD.saturating_sub(seen);
                let Some((line, used)) = split_line(rest, room)? else {
                    return Ok(None);
                };
                self.stage = match line {
                    [] => Stage::Complete,
                    _ => Stage::Trailers(seen.saturating_add(used)),
                };
                Ok(Some(used))
            }
            Stage::UntilClose => {
                self.take_body(rest)?;
                Ok(Some(rest.len()).filter(|&n| n > 0))
            }
            Stage::Complete | Stage::Over => Ok(None),
        }
    }

    /// Parses a head once a new line feed may have completed it; skips
    /// interim (1xx) responses and sets the body's framing.
    fn read_head(&mut self, rest: &[u8]) -> Result<Option<usize>, String> {
        let new = rest.get(self.scanned..).unwrap_or_default();
        if !new.contains(&b'\n') {
            return self.head_partial(rest);
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut head = httparse::Response::new(&mut headers);
        let used = match head.parse(rest) {
            Ok(httparse::Status::Complete(used)) if used <= MAX_HEAD => used,
            Ok(httparse::Status::Complete(_)) => {
                return Err("the HTTP response head is too long".into())
            }
            Ok(httparse::Status::Partial) => return self.head_partial(rest),
            Err(e) => return Err(format!("malformed HTTP response head: {e}")),
        };
        self.scanned = 0;
        let status = head.code.unwrap_or_default();
        match status {
            101 => return Err("unexpected protocol switch (HTTP 101)".into()),
            100..=199 => return Ok(Some(used)),
            _ => {}
        }
        let framing = Framing::of(head.headers)?;
        self.response.status = status;
        self.response.set_cookies = framing.set_cookies;
        self.response.keep_alive = match head.version {
            Some(1) => !framing.close,
            _ => framing.keep_alive && !framing.close,
        };
        self.stage = if status == 204 || status == 304 {
            Stage::Complete
        } else if let Some(chunked) = framing.chunked {
            // A Content-Length beside it may be a smuggling attempt.
            self.response.keep_alive &= chunked && framing.length.is_none();
            if chunked {
                Stage::ChunkSize
            } else {
                Stage::UntilClose
            }
        } else if let Some(length) = framing.length {
            match usize::try_from(length) {
                Ok(length) if length <= self.max_body => Stage::Length(length),
                _ => return Err(self.too_big()),
            }
        } else {
            self.response.keep_alive = false;
            Stage::UntilClose
        };
        if self.stage == Stage::Length(0) {
            self.stage = Stage::Complete;
        }
        Ok(Some(used))
    }

    fn head_partial(&mut self, rest: &[u8]) -> Result<Option<usize>, String> {
        if rest.len() > MAX_HEAD {
            return Err("the HTTP response head is too long".into());
        }
        self.scanned = rest.len();
        Ok(None)
    }

    fn take_body(&mut self, bytes: &[u8]) -> Result<(), String> {
        if self.response.body.len().saturating_add(bytes.len()) > self.max_body {
            return Err(self.too_big());
        }
        self.response.body.extend_from_slice(bytes);
        Ok(())
    }

    fn too_big(&self) -> String {
        format!("the HTTP response body is over {} bytes", self.max_body)
    }
}

/// What a response's headers say about its body and connection.
#[derive(Default)]
struct Framing {
    /// Transfer-Encoding was sent; true when its last coding is chunked.
    chunked: Option<bool>,
    length: Option<u64>,
    close: bool,
    keep_alive: bool,
    set_cookies: Vec<String>,
}

impl Framing {
    fn of(headers: &[httparse::Header]) -> Result<Framing, String> {
        let mut framing = Framing::default();
        for header in headers {
            let name = header.name;
            let items = || {
                header
                    .value
                    .split(|&b| b == b',')
                    .map(<[u8]>::trim_ascii)
                    .filter(|item| !item.is_empty())
            };
            if name.eq_ignore_ascii_case("Set-Cookie") {
                if let Ok(value) = std::str::from_utf8(header.value) {
                    framing.set_cookies.push(value.to_owned());
                }
            } else if name.eq_ignore_ascii_case("Connection") {
                for option in items() {
                    framing.close |= option.eq_ignore_ascii_case(b"close");
                    framing.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
                let last = items().next_back();
                let chunked = last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
                framing.chunked = Some(match last {
                    Some(_) => chunked,
                    None => framing.chunked.unwrap_or(false),
                });
            } else if name.eq_ignore_ascii_case("Content-Length") {
                let mut values = header.value.split(|&b| b == b',');
                values.try_for_each(|value| {
                    let value = decimal(value.trim_ascii())
                        .ok_or_else(|| "invalid HTTP Content-Length".to_string())?;
                    match framing.length.replace(value) {
                        Some(other) if other != value => {
                            Err("conflicting HTTP Content-Length values".to_string())
                        }
                        _ => Ok(()),
                    }
                })?;
            }
        }
        Ok(framing)
    }
}

/// Splits off one line ending in LF (its CR dropped) and the bytes it
/// took with its end, or None while it has not ended within `max` bytes.
fn split_line(rest: &[u8], max: usize) -> Result<Option<(&[u8], usize)>, String> {
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        if rest.len() > max {
            return Err("an HTTP chunk line or trailer is too long".into());
        }
        return Ok(None);
    };
    if end > max {
        return Err("an HTTP chunk line or trailer is too long".into());
    }
    let line = rest.get(..end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Ok(Some((line, end.saturating_add(1))))
}

/// A chunk-size line: hex digits, then extensions after ';' (ignored).
fn chunk_size(line: &[u8]) -> Result<usize, String> {
    let digits = line.split(|&b| b == b';').next().unwrap_or_default();
    let digits = digits.trim_ascii();
    let invalid = || {
        format!(
            "invalid HTTP chunk size {:?}",
            String::from_utf8_lossy(line)
        )
    };
    if digits.is_empty() {
        return Err(invalid());
    }
    digits.iter().try_fold(0usize, |size, &b| {
        let digit = char::from(b).to_digit(16).ok_or_else(invalid)?;
        size.checked_mul(16)
            .and_then(|size| size.checked_add(digit as usize))
            .ok_or_else(invalid)
    })
}

/// A Content-Length value: decimal digits only (no sign, unlike `parse`).
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = char::from(b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The fuzz target's way in (see `crate::fuzzing`): `data` as a response
/// read whole and in pieces of 1 to 7 bytes. Never a panic, the body never
/// over the limit, and the outcome the same however the bytes arrive.
#[cfg(any(fuzzing, test))]
pub(crate) fn fuzz_response(data: &[u8]) {
    const LIMIT: usize = 4096;
    fn read_in(data: &[u8], piece: usize) -> Result<Response, String> {
        let mut reader = ResponseReader::new(LIMIT);
        let mut at = 0;
        while at < data.len() {
            let end = at.saturating_add(piece).min(data.len());
            match reader.feed(data.get(at..end).unwrap_or_default())? {
                Progress::Done(r) if end == data.len() => return Ok(r),
                // Bytes left after a whole response: what feeding them all at once says.
                Progress::Done(_) => return Err("more than one response".into()),
                Progress::NeedMore => at = end,
            }
        }
        match reader.eof()? {
            Progress::Done(r) => Ok(r),
            Progress::NeedMore => Err("eof was not the end".into()),
        }
    }
    let whole = read_in(data, data.len().max(1));
    if let Ok(r) = &whole {
        assert!(r.body.len() <= LIMIT, "a body over the limit");
    }
    for piece in 1..=7 {
        let split = read_in(data, piece);
        match (&whole, &split) {
            (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "pieces of {piece}"),
            (Err(_), Err(_)) => {}
            _ => panic!("whole: {whole:?}, in pieces of {piece}: {split:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1000;

    fn request(host: &str, path: &str, headers: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut out = b"kept".to_vec();
        let result = write_request(&mut out, host, path, headers, b"<body/>");
        if result.is_err() {
            assert_eq!(out, b"kept", "a refused request writes nothing");
        }
        result.map(|()| out)
    }

    /// Feeds `data` in pieces of `step` bytes (0: whole) and then, if the
    /// response still needs more, the end of the stream.
    fn read(data: &[u8], step: usize) -> Result<Response, String> {
        let mut reader = ResponseReader::new(MAX);
        let pieces: Vec<&[u8]> = match step {
            0 => vec![data],
            n => data.chunks(n).collect(),
        };
        for (i, piece) in pieces.iter().enumerate() {
            if let Progress::Done(response) = reader.feed(piece)? {
                assert_eq!(i + 1, pieces.len(), "done before the last byte");
                return Ok(response);
            }
        }
        match reader.eof()? {
            Progress::Done(response) => Ok(response),
            Progress::NeedMore => panic!("eof() needs more"),
        }
    }

    /// Reads `data` whole and byte by byte; both must agree.
    fn read_both(data: &[u8]) -> Result<Response, String> {
        let whole = read(data, 0);
        let bytewise = read(data, 1);
        assert_eq!(format!("{whole:?}"), format!("{bytewise:?}"));
        whole
    }

    #[test]
    fn a_request_is_written_exactly() {
        let headers = [
            ("Content-Type", "text/xml; charset=utf-8"),
            ("Cookie", "a=1"),
        ];
        let out = request("[::1]:5280", "/http-bind?x=1", &headers).unwrap();
        let expected = "keptPOST /http-bind?x=1 HTTP/1.1\r\nHost: [::1]:5280\r\n\
            Content-Type: text/xml; charset=utf-8\r\nCookie: a=1\r\n\
            Content-Length: 7\r\n\r\n<body/>";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn requests_that_would_break_framing_are_refused() {
        for path in ["", "http-bind", "/a b", "/a\r\n", "/a\0"] {
            assert!(request("h", path, &[]).is_err(), "{path:?}");
        }
        for host in ["", "a b", "a\r\nX: y", "a\0"] {
            assert!(request(host, "/", &[]).is_err(), "{host:?}");
        }
        for name in ["", "Bad Name", "Bad:", "Bad\r\n", "Ünï"] {
            let e = request("h", "/", &[(name, "v")]).unwrap_err();
            assert!(e.contains(&format!("{name:?}")), "{e}");
        }
        for value in ["a\rb", "a\nb", "a\0b"] {
            let e = request("h", "/", &[("X-Custom", value)]).unwrap_err();
            assert!(e.contains("X-Custom"), "{e}");
        }
        for name in ["content-length", "HOST", "Transfer-Encoding"] {
            let e = request("h", "/", &[(name, "1")]).unwrap_err();
            assert!(e.contains(name), "{e}");
        }
        assert!(request("h", "/", &[("X-Ok!#~", "")]).is_ok());
    }

    #[test]
    fn a_content_length_body() {
        let r = read_both(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n<body/>").unwrap();
        assert_eq!(
            (r.status, &r.body[..], r.keep_alive),
            (200, &b"<body/>"[..], true)
        );
        let r = read_both(b"HTTP/1.1 200 OK\nContent-Length: 0\n\n").unwrap();
        assert!(r.body.is_empty());
    }

    #[test]
    fn a_chunked_body_with_extensions_and_trailers() {
        let data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n\
            3;name=value\r\n<bo\r\n4 ; x\r\ndy/>\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n";
        let r = read_both(data).unwrap();
        assert_eq!((&r.body[..], r.keep_alive), (&b"<body/>"[..], true));
        let bad_end = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n";
        assert!(read_both(bad_end).is_err());
        for size in ["x", "", "+1", "10000000000000000000"] {
            let data = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\n");
            assert!(read_both(data.as_bytes()).is_err(), "{size:?}");
        }
        let long = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;{}",
            "x".repeat(2000)
        );
        assert!(read_both(long.as_bytes()).is_err());
    }

    #[test]
    fn interim_responses_are_skipped_but_a_protocol_switch_is_an_error() {
        let data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let r = read_both(data).unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"ok"[..]));
        let e = read_both(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n").unwrap_err();
        assert!(e.contains("protocol switch"), "{e}");
    }

    #[test]
    fn a_close_delimited_body_ends_at_eof() {
        for data in [
            &b"HTTP/1.1 200 OK\r\n\r\n<body/>"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n<body/>",
        ] {
            let r = read_both(data).unwrap();
            assert_eq!((&r.body[..], r.keep_alive), (&b"<body/>"[..], false));
        }
    }

    #[test]
    fn eof_before_the_end_is_an_error() {
        for data in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n<bod",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n<body/>\r\n",
        ] {
            let e = read(data, 0).unwrap_err();
            assert!(e.contains("before the response was complete"), "{e}");
        }
    }

    #[test]
    fn content_lengths_must_agree_and_be_digits() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok";
        assert_eq!(read_both(ok).unwrap().body, b"ok");
        for lengths in [
            "2, 3",
            "2\r\nContent-Length: 3",
            "+2",
            "-1",
            "0x2",
            "",
            "99999999999999999999",
        ] {
            let data = format!("HTTP/1.1 200 OK\r\nContent-Length: {lengths}\r\n\r\nok");
            assert!(read_both(data.as_bytes()).is_err(), "{lengths:?}");
        }
    }

    #[test]
    fn a_body_over_the_limit_is_an_error() {
        let big = "x".repeat(MAX + 1);
        let data = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{big}",
            big.len()
        );
        assert!(read_both(data.as_bytes()).unwrap_err().contains("over"));
        let data = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n{:x}\r\n",
            MAX
        );
        assert!(read_both(data.as_bytes()).unwrap_err().contains("over"));
        let data = format!("HTTP/1.1 200 OK\r\n\r\n{big}");
        assert!(read_both(data.as_bytes()).unwrap_err().contains("over"));
        let exact = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {MAX}\r\n\r\n{}",
            "x".repeat(MAX)
        );
        assert_eq!(read_both(exact.as_bytes()).unwrap().body.len(), MAX);
    }

    #[test]
    fn every_set_cookie_is_collected_in_order() {
        let data = b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nContent-Length: 0\r\n\
            set-cookie: b=\xff\r\nSET-COOKIE: c=3\r\n\r\n";
        assert_eq!(read_both(data).unwrap().set_cookies, ["a=1; Path=/", "c=3"]);
    }

    #[test]
    fn keep_alive_follows_version_connection_and_framing() {
        let cases: [(&[u8], bool); 6] = [
            (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
            (b"HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n", false),
            (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
            (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true),
            (b"HTTP/1.1 200 OK\r\n\r\n", false),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false),
        ];
        for (data, keep_alive) in cases {
            let r = read_both(data).unwrap();
            assert_eq!(
                r.keep_alive,
                keep_alive,
                "{}",
                String::from_utf8_lossy(data)
            );
        }
    }

    #[test]
    fn no_content_is_done_right_after_the_head() {
        for status in [204, 304] {
            let data = format!("HTTP/1.1 {status} X\r\nContent-Length: 5\r\n\r\n");
            let mut reader = ResponseReader::new(MAX);
            let Ok(Progress::Done(r)) = reader.feed(data.as_bytes()) else {
                panic!("{status} not done")
            };
            assert_eq!((r.status, r.body.len(), r.keep_alive), (status, 0, true));
        }
    }

    #[test]
    fn bytes_after_the_response_are_an_error() {
        let e = read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1", 0).unwrap_err();
        assert!(e.contains("more than one response"), "{e}");
        let mut reader = ResponseReader::new(MAX);
        assert!(matches!(
            reader.feed(b"HTTP/1.1 204 No Content\r\n\r\n"),
            Ok(Progress::Done(_))
        ));
        assert!(reader.feed(b"x").is_err());
        assert!(reader.eof().is_err());
    }

    #[test]
    fn a_garbage_head_is_an_error() {
        for data in [
            &b"garbage\r\n\r\n"[..],
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/2 200\r\n\r\n",
        ] {
            assert!(
                read_both(data).is_err(),
                "{}",
                String::from_utf8_lossy(data)
            );
        }
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        assert!(read_both(many.as_bytes()).is_err());
        let mut reader = ResponseReader::new(MAX);
        let long = format!("HTTP/1.1 200 OK\r\nX: {}", "y".repeat(MAX_HEAD));
        assert!(reader
            .feed(long.as_bytes())
            .unwrap_err()
            .contains("too long"));
    }

    #[test]
    fn started_once_any_byte_arrived() {
        let mut reader = ResponseReader::new(MAX);
        assert!(!reader.started());
        assert!(matches!(reader.feed(b""), Ok(Progress::NeedMore)));
        assert!(!reader.started());
        assert!(matches!(reader.feed(b"H"), Ok(Progress::NeedMore)));
        assert!(reader.started());
    }

    /// Any split or mutation of a response: only that nothing panics.
    #[test]
    fn no_input_panics() {
        let samples: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nSet-Cookie: a=1\r\n\r\n<body/>",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
              3;x\r\n<bo\r\n4\r\ndy/>\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nbody",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ];
        let run = |parts: &[&[u8]]| {
            let mut reader = ResponseReader::new(64);
            for part in parts {
                let _ = reader.feed(part);
            }
            let _ = reader.eof();
            let _ = reader.feed(b"x");
        };
        for sample in samples {
            for split in 0..=sample.len() {
                let (a, b) = sample.split_at(split);
                run(&[a, b]);
                run(&[a]);
            }
            run(&sample.chunks(1).collect::<Vec<_>>());
            for i in 0..sample.len() {
                for value in [0, b'\n', b'\r', b'0', b'f', b';', b',', b' ', 0xff] {
                    let mut mutated = sample.to_vec();
                    mutated[i] = value;
                    run(&[&mutated]);
                    run(&mutated.chunks(3).collect::<Vec<_>>());
                }
            }
        }
    }
}
