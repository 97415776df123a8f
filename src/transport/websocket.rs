//! RFC 7395: XMPP over WebSocket. One stanza per text message, `<open/>`
//! and `<close/>` in the framing namespace, subprotocol `xmpp`.

use super::cookies::cookie_header;
use super::handshake_line::HandshakeLine;
use super::net::{connect_tcp, past, remaining, set_keepalive, split_url, tls_connector};
use super::{send_queue_full, HookOutput, Incoming, Notify, Transport};
use crate::error::{Error, Result};
use crate::mailbox::lock;
use crate::options::Options;
use crate::outgoing::Outgoing;
use crate::status::Status;
use crate::xml::{ns, Element, Limits, StreamEvent, StreamParser};
use std::io::ErrorKind;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Bytes, Message, Utf8Bytes, WebSocket};

/// How long freeing a connection waits for the server's `<close/>`.
const END_TIMEOUT: Duration = Duration::from_secs(2);

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Where the handshake thread leaves its result.
type Pending = Arc<Mutex<Option<Result<Socket>>>>;

/// A handshake running on its helper thread.
struct Connecting {
    result: Pending,
    /// The domain to open once it is done.
    domain: String,
    line: HandshakeLine,
}

pub(crate) struct WebSocketTransport {
    url: String,
    options: Options,
    notify: Notify,
    socket: Option<Socket>,
    connecting: Option<Connecting>,
    parser: StreamParser,
    /// Output queued in tungstenite that the socket has not taken yet.
    pending_flush: bool,
    raw_input: bool,
    /// For the output hooks: the text sent, and the `<open/>`s and
    /// `<close/>` (the engine reports the stanzas itself), as Strophe does.
    hook_output: HookOutput,
    /// Reused for each message's parse events.
    events: Vec<StreamEvent>,
    /// When the last message or control frame arrived.
    heard: Option<Instant>,
}

impl WebSocketTransport {
    pub fn new(url: &str, options: &Options, notify: Notify) -> WebSocketTransport {
        let limits = Limits {
            max_stanza_bytes: options.max_stanza_bytes,
            max_depth: options.max_depth,
        };
        WebSocketTransport {
            url: url.to_string(),
            options: options.clone(),
            notify,
            socket: None,
            connecting: None,
            parser: StreamParser::with_limits(limits),
            pending_flush: false,
            raw_input: false,
            hook_output: HookOutput::default(),
            events: Vec::new(),
            heard: None,
        }
    }

    fn socket(&mut self) -> Result<&mut Socket> {
        self.socket
            .as_mut()
            .ok_or_else(|| Error::io("the WebSocket is closed"))
    }

    /// Queues `elem` (an `<open/>` or `<close/>`), for the xmlOutput hook too.
    fn queue_framing(&mut self, elem: Element) -> Result<()> {
        let text = elem.to_string().into();
        self.hook_output.xml(|| elem);
        self.send_text(text)
    }

    /// Queues one text message. The text is shared with the sender (and
    /// the rawOutput hook): the only copy is its frame in the write buffer.
    pub(crate) fn send_text(&mut self, text: Arc<str>) -> Result<()> {
        self.hook_output.raw(&text);
        let ws = self.socket()?;
        match ws.write(text_message(text)) {
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Err(tungstenite::Error::WriteBufferFull(_)) => {
                return Err(send_queue_full(self.options.max_send_queue_bytes))
            }
            Err(e) => return Err(ws_error(e)),
        }
        self.pending_flush = true;
        Ok(())
    }

    /// Connects on the caller's thread, blocking until `deadline`: for a
    /// thread that waits for the outcome anyway (the engine's, the shared
    /// connection's manager), which saves a helper thread and a hand-off.
    /// `line` lets another thread cut it.
    pub(crate) fn open_here(
        &mut self,
        domain: &str,
        deadline: Instant,
        line: &HandshakeLine,
    ) -> Result<()> {
        let result = handshake(&self.url, &self.options, deadline, line);
        line.done();
        self.finish_connect(result, domain)
    }

    /// Takes the finished handshake: the socket goes non-blocking (the
    /// engine waits in poll() from now on) and the stream header goes out.
    fn finish_connect(&mut self, result: Result<Socket>, domain: &str) -> Result<()> {
        let mut ws = result?;
        let tcp = match ws.get_mut() {
            MaybeTlsStream::Plain(s) => s,
            MaybeTlsStream::NativeTls(s) => s.get_mut(),
            _ => return Err(Error::io("unexpected stream type")),
        };
        tcp.set_nonblocking(true)?;
        self.socket = Some(ws);
        self.parser.reset();
        self.queue_framing(open_element(domain))
    }
}

/// RFC 7395's stream header: `<open/>` in the framing namespace.
pub(crate) fn open_element(domain: &str) -> Element {
    let mut open = Element::new("open");
    open.set_attr("xmlns", ns::FRAMING);
    open.set_attr("to", domain);
    open.set_attr("version", "1.0");
    open
}

/// RFC 7395's stream close.
pub(crate) fn close_element() -> Element {
    let mut close = Element::new("close");
    close.set_attr("xmlns", ns::FRAMING);
    close
}

/// TCP, TLS and the WebSocket upgrade, blocking until `deadline`. It runs on
/// a short-lived thread: the engine stays free for commands meanwhile, and
/// the deep stack of a TLS handshake is not kept by every idle connection
/// (it was 24 KB of each engine thread's memory).
fn handshake(
    url: &str,
    options: &Options,
    deadline: Instant,
    line: &HandshakeLine,
) -> Result<Socket> {
    let parts = split_url(url)?;
    let tcp = connect_tcp(&parts.host, parts.port, deadline, line)?;
    set_keepalive(&tcp, options.ping_interval, options.ping_timeout)?;
    tcp.set_read_timeout(Some(remaining(deadline)))?;
    tcp.set_write_timeout(Some(remaining(deadline)))?;
    let stream = if parts.secure {
        let connector = tls_connector(options, &[])?;
        let tls = connector
            .connect(&parts.host, tcp)
            .map_err(|e| past(deadline, Error::tls_from(e.to_string(), e)))?;
        MaybeTlsStream::NativeTls(tls)
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::InvalidArgument(format!("{url}: {e}")))?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("xmpp"));
    if let Some(cookie) = cookie_header(&options.cookies, &parts.host, &parts.path) {
        let value = HeaderValue::from_str(&cookie)
            .map_err(|e| Error::InvalidArgument(format!("cookie: {e}")))?;
        request.headers_mut().insert("Cookie", value);
    }
    // tungstenite zero-fills its whole read buffer (128 KiB by default)
    // on every read: that was most of an idle connection's memory.
    // Output the socket does not take waits in tungstenite's write buffer,
    // up to max_send_queue_bytes (which must exceed write_buffer_size).
    let max_queue = options.max_send_queue_bytes.max(2);
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size((128 * 1024).min(max_queue / 2))
        .max_write_buffer_size(max_queue)
        .max_message_size(Some(options.max_stanza_bytes))
        .max_frame_size(Some(options.max_stanza_bytes));
    let (ws, response) = tungstenite::client::client_with_config(request, stream, Some(config))
        .map_err(|e| {
            past(
                deadline,
                Error::io_caused(format!("WebSocket handshake with {url}: {e}"), None, e),
            )
        })?;
    // RFC 7395 §3.3: without the xmpp subprotocol this is no XMPP endpoint.
    let protocol = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if protocol != Some("xmpp") {
        return Err(Error::io(format!(
            "{url} did not agree to the xmpp WebSocket subprotocol"
        )));
    }
    Ok(ws)
}

impl Transport for WebSocketTransport {
    fn open(&mut self, domain: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let pending: Pending = Arc::new(Mutex::new(None));
        let line = HandshakeLine::default();
        let (slot, notify) = (Arc::clone(&pending), Arc::clone(&self.notify));
        let (url, options, thread_line) = (self.url.clone(), self.options.clone(), line.clone());
        std::thread::Builder::new()
            .name("epode-connect".into())
            .spawn(move || {
                let result = handshake(&url, &options, deadline, &thread_line);
                thread_line.done();
                *lock(&slot) = Some(result);
                notify();
            })
            .map_err(|e| Error::io_from(format!("cannot start the connect thread: {e}"), e))?;
        self.connecting = Some(Connecting {
            result: pending,
            domain: domain.to_string(),
            line,
        });
        Ok(())
    }

    fn open_blocking(
        &mut self,
        domain: &str,
        deadline: Instant,
        line: &HandshakeLine,
    ) -> Result<()> {
        self.open_here(domain, deadline, line)
    }

    fn restart(&mut self, domain: &str) -> Result<()> {
        self.parser.reset();
        self.queue_framing(open_element(domain))
    }

    fn send(&mut self, item: &Outgoing) -> Result<()> {
        self.send_text(Arc::clone(item.shared_text()))
    }

    fn close(&mut self) -> Result<()> {
        self.queue_framing(close_element())
    }

    fn flush(&mut self) -> Result<()> {
        if !self.pending_flush {
            return Ok(());
        }
        let ws = self.socket()?;
        match ws.flush() {
            Ok(()) => {
                self.pending_flush = false;
                Ok(())
            }
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(ws_error(e)),
        }
    }

    /// Also what was written but not yet shown to the output hooks: they
    /// run as the text goes out, not when the server next says something.
    fn has_pending(&self) -> bool {
        self.hook_output.pending()
            || self
                .connecting
                .as_ref()
                .is_some_and(|c| lock(&c.result).is_some())
    }

    fn read(&mut self, out: &mut Vec<Incoming>) -> Result<()> {
        if let Some(connecting) = self.connecting.take() {
            let result = lock(&connecting.result).take();
            match result {
                Some(result) => self.finish_connect(result, &connecting.domain)?,
                None => {
                    self.connecting = Some(connecting);
                    return Ok(());
                }
            }
        }
        self.hook_output.drain_into(out);
        loop {
            let Some(ws) = self.socket.as_mut() else {
                return Ok(());
            };
            let message = ws.read();
            if message.is_ok() {
                self.heard = Some(Instant::now());
            }
            match message {
                Ok(Message::Text(text)) => {
                    if self.raw_input {
                        out.push(Incoming::Raw(text.to_string()));
                    }
                    let mut events = std::mem::take(&mut self.events);
                    let parsed = parse_message(&mut self.parser, &text, &mut events);
                    out.extend(events.drain(..).map(Incoming::Stream));
                    self.events = events;
                    if let Some(condition) = parsed? {
                        out.push(Incoming::Failed {
                            status: Status::ConnFail,
                            condition,
                            code: None,
                        });
                        self.socket = None;
                        return Ok(());
                    }
                }
                Ok(Message::Binary(_)) => {
                    return Err(Error::io(
                        "the server sent a binary WebSocket message (RFC 7395 allows text only)",
                    ))
                }
                Ok(Message::Close(frame)) => {
                    let (code, reason) = frame.map_or((None, String::new()), |f| {
                        (Some(u16::from(f.code)), f.reason.to_string())
                    });
                    out.push(Incoming::Lost { code, reason });
                    self.pending_flush = true; // tungstenite queued the close reply
                    let _ = self.flush();
                    self.socket = None;
                    return Ok(());
                }
                Ok(_) => self.pending_flush = true, // ping: tungstenite queued the pong
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                    return Ok(())
                }
                // A message over the size limit is the server's fault, not a lost link.
                Err(tungstenite::Error::Capacity(_)) => {
                    return Err(Error::Xml(crate::xml::XmlError::TooLarge {
                        limit: self.options.max_stanza_bytes,
                    }))
                }
                Err(tungstenite::Error::ConnectionClosed)
                | Err(tungstenite::Error::AlreadyClosed) => {
                    out.push(Incoming::Lost {
                        code: None,
                        reason: "the WebSocket closed".into(),
                    });
                    self.socket = None;
                    return Ok(());
                }
                Err(e) => {
                    out.push(Incoming::Lost {
                        code: None,
                        reason: e.to_string(),
                    });
                    self.socket = None;
                    return Ok(());
                }
            }
        }
    }

    fn poll_fd(&self) -> Option<(RawFd, bool)> {
        let ws = self.socket.as_ref()?;
        let fd = match ws.get_ref() {
            MaybeTlsStream::Plain(s) => s.as_raw_fd(),
            MaybeTlsStream::NativeTls(s) => s.get_ref().as_raw_fd(),
            _ => return None,
        };
        Some((fd, self.pending_flush))
    }

    fn abort(&mut self) {
        // A handshake still running is cut off; it finishes at once, into
        // a slot nobody reads.
        if let Some(connecting) = self.connecting.take() {
            connecting.line.abort();
        }
        if let Some(mut ws) = self.socket.take() {
            let _ = ws.close(None);
            let _ = ws.flush();
        }
    }

    /// Freed: what is queued (the engine's last presence and ack) and our
    /// `<close/>` go out, and the server's `<close/>` is awaited for up to
    /// END_TIMEOUT, so that it ends the session at once instead of keeping
    /// it for resumption (ejabberd does when the TCP close comes first).
    fn end(&mut self) {
        if self.socket.is_some() && self.connecting.is_none() {
            super::close_and_wait(self, END_TIMEOUT);
        }
        self.abort();
    }

    fn set_raw_input(&mut self, on: bool) {
        self.raw_input = on;
    }

    fn set_raw_output(&mut self, on: bool) {
        self.hook_output.want_raw(on);
    }

    fn set_xml_hooks(&mut self, _input: bool, output: bool) {
        self.hook_output.want_xml(output);
    }

    fn idle(&self) -> bool {
        !self.pending_flush
    }

    fn last_heard(&self) -> Option<Instant> {
        self.heard
    }

    fn ping_frame(&mut self) -> Result<bool> {
        if self.socket.is_none() {
            return Ok(false);
        }
        let ws = self.socket()?;
        match ws.write(Message::Ping(Default::default())) {
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(ws_error(e)),
        }
        self.pending_flush = true;
        Ok(true)
    }
}

/// One RFC 7395 message: a whole document (§3.3.3), so the parser starts
/// afresh. The events are appended to `events`: none from a malformed
/// message, all of them (for the hooks) otherwise. A server `<open/>` that
/// fails [`check_open`] gives `Ok(Some(condition))`.
pub(crate) fn parse_message(
    parser: &mut StreamParser,
    text: &str,
    events: &mut Vec<StreamEvent>,
) -> Result<Option<String>> {
    parser.reset();
    let start = events.len();
    let mut fed = parser
        .feed_into(text.as_bytes(), events)
        .map_err(Error::Xml);
    if fed.is_ok() && parser.buffered() > 0 {
        fed = Err(Error::Xml(crate::xml::XmlError::Incomplete));
    }
    if let Err(e) = fed {
        events.truncate(start);
        return Err(e);
    }
    let refused = events
        .get(start..)
        .unwrap_or_default()
        .iter()
        .find_map(|event| match event {
            StreamEvent::Open(open) => check_open(open),
            // An <open/> outside the framing namespace parses as a stanza.
            StreamEvent::Stanza(e) if e.local_name() == "open" => check_open(e),
            _ => None,
        });
    Ok(refused)
}

/// RFC 7395 §3.4: the server's <open/> carries the framing namespace and
/// version 1.0; anything else is no XMPP-over-WebSocket server. The
/// conditions are Strophe's texts, its version check winning as there.
fn check_open(open: &Element) -> Option<String> {
    let version = match open.attr("version") {
        None => Some("Missing version in <open />".to_string()),
        Some("1.0") => None,
        Some(v) => Some(format!("Wrong version in <open />: {v}")),
    };
    let namespace = match open.attr("xmlns") {
        None => Some("Missing xmlns in <open />".to_string()),
        Some(ns::FRAMING) => None,
        Some(ns) => Some(format!("Wrong xmlns in <open />: {ns}")),
    };
    version.or(namespace)
}

/// `text` as a text message that shares it instead of copying it.
fn text_message(text: Arc<str>) -> Message {
    struct Shared(Arc<str>);
    impl AsRef<[u8]> for Shared {
        fn as_ref(&self) -> &[u8] {
            self.0.as_bytes()
        }
    }
    let bytes = Bytes::from_owner(Shared(text));
    // SAFETY: the bytes are those of a `str`, so they are UTF-8.
    Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(bytes) })
}

/// A tungstenite error as ours: its text as before, the OS error's kind
/// when a socket failed, and the error itself as the source.
fn ws_error(e: tungstenite::Error) -> Error {
    let kind = match &e {
        tungstenite::Error::Io(io) => Some(io.kind()),
        _ => None,
    };
    Error::io_caused(e.to_string(), kind, e)
}
