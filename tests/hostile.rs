//! Limits against a hostile server (issue #8): a peer that trickles one
//! byte a second, announces a frame larger than the limit, never reads
//! what we send, or sends oversize, deep or DTD-laden bodies. Each case
//! ends in a clear status and condition, in bounded time and memory.
//! (The WebSocket stanza size, depth and DTD cases are in scripted_ws.rs,
//! a BOSH server that never answers in scripted_bosh.rs.)

mod common;

use common::fake_http::{self, session_script, Reply};
use common::fake_ws::{self, Peer};
use common::{recorder, Recorder};
use epode::{Builder, Connection, Options, Status};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn options(pairs: &[(&str, &str)]) -> Options {
    let mut o = Options::default();
    for (k, v) in pairs {
        o.set(k, v).unwrap();
    }
    o
}

fn connect(url: &str, jid: &str, o: Options) -> (Connection, Recorder) {
    let conn = Connection::new(url, o).unwrap();
    let (rec, cb) = recorder();
    conn.connect(jid, Some("pw"), cb).unwrap();
    (conn, rec)
}

/// The condition reported with `status`, which must have been reported.
fn condition(rec: &Recorder, status: Status) -> String {
    let found = rec.seen.iter().find(|(s, _)| *s == status);
    let (_, c) = found.unwrap_or_else(|| panic!("no {status} in {:?}", rec.seen));
    c.clone().unwrap_or_default()
}

/// Writes `bytes` one a second until the peer is gone; returns how long
/// after `since` the writes started failing (None: they never did).
fn trickle(stream: &mut TcpStream, bytes: &[u8], since: Instant) -> Option<Duration> {
    for b in bytes {
        if stream.write_all(&[*b]).is_err() {
            return Some(since.elapsed());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    None
}

/// Threaded, and in sync mode (where `connect()` itself makes the
/// handshake, on the caller's thread, and returns when it is over).
#[test]
fn a_websocket_handshake_trickled_one_byte_a_second_is_conntimeout_and_lets_go() {
    for sync in ["false", "true"] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "ws://127.0.0.1:{}/ws",
            listener.local_addr().unwrap().port()
        );
        let started = Instant::now();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            // Never completes: each byte keeps a per-read timeout from firing.
            let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n".repeat(4);
            trickle(&mut stream, response.as_bytes(), started)
        });
        let o = options(&[("connect_timeout", "2000"), ("sync", sync)]);
        let (_conn, mut rec) = connect(&url, "a@localhost", o);
        rec.wait_for(Status::Disconnected, 10);
        assert_eq!(
            rec.statuses(),
            vec![
                Status::Connecting,
                Status::ConnTimeout,
                Status::Disconnected
            ],
            "sync {sync}"
        );
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(4),
            "sync {sync}: CONNTIMEOUT after {took:?}"
        );
        // The handshake gives the socket up with the session: nothing keeps
        // reading a trickle for as long as the server cares to send it.
        let gone = server
            .join()
            .unwrap()
            .expect("the client never let go of the socket");
        assert!(
            gone < Duration::from_secs(8),
            "sync {sync}: socket closed only after {gone:?}"
        );
    }
}

#[test]
fn a_websocket_open_trickled_one_byte_a_second_is_conntimeout() {
    let started = Instant::now();
    let (url, server) = fake_ws::serve(move |peer: &mut Peer| {
        let _open = peer.recv();
        let open = b"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='localhost' id='s' version='1.0'/>";
        let mut frame = vec![0x81, open.len() as u8];
        frame.extend_from_slice(open);
        trickle(peer.ws.get_mut(), &frame, started);
    });
    let (_conn, mut rec) = connect(&url, "a@localhost", options(&[("connect_timeout", "2000")]));
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(
        rec.statuses(),
        vec![
            Status::Connecting,
            Status::ConnTimeout,
            Status::Disconnected
        ]
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    server.join().unwrap();
}

/// A server that accepts one connection, reads the client's first bytes
/// (a WebSocket upgrade, a TLS ClientHello, a stream header) and never
/// answers. It reports when they arrived, then returns how long after that
/// the client let the socket go (None: not within 10 s). The URL is
/// `scheme://127.0.0.1:PORT` + `path`.
fn never_answers(
    scheme: &str,
    path: &str,
) -> (
    String,
    std::sync::mpsc::Receiver<()>,
    std::thread::JoinHandle<Option<Duration>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("{scheme}://127.0.0.1:{port}{path}");
    let (asked, heard) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = stream.read(&mut request);
        let since = Instant::now();
        asked.send(()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        match stream.read(&mut request) {
            Ok(0) => Some(since.elapsed()),
            Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => Some(since.elapsed()),
            _ => None,
        }
    });
    (url, heard, server)
}

/// What a stuck attempt's server returns from `never_answers`: the client
/// must have let the socket go within a second of being told to.
fn assert_let_go(case: &str, server: std::thread::JoinHandle<Option<Duration>>) {
    let gone = server.join().unwrap();
    let gone = gone.unwrap_or_else(|| panic!("{case}: the client kept the socket"));
    assert!(
        gone < Duration::from_secs(1),
        "{case}: closed after {gone:?}"
    );
}

/// A connection to `url` for an attempt that never finishes: a long
/// connect timeout, plaintext allowed, and the `extra` options.
fn stuck_options(extra: &[(&str, &str)]) -> Options {
    let mut o = options(&[("connect_timeout", "20000"), ("allow_plaintext", "true")]);
    for (k, v) in extra {
        o.set(k, v).unwrap();
    }
    o
}

/// Connects to `url` (threaded, or sync mode where `connect()` waits),
/// waits for `ready`, then calls `disconnect()` from another thread than
/// `connect()`'s: DISCONNECTED must follow within a second, with the
/// statuses of any disconnect before the session.
fn disconnect_while_connecting(
    case: &str,
    url: &str,
    extra: &[(&str, &str)],
    ready: impl FnOnce(),
) {
    let conn = Connection::new(url, stuck_options(extra)).unwrap();
    let (mut rec, cb) = recorder();
    std::thread::scope(|s| {
        // Threaded: returns at once. Sync: returns once it is over.
        let connecting = s.spawn(|| conn.connect("a@localhost", Some("pw"), cb));
        ready();
        let asked = Instant::now();
        conn.disconnect(None).unwrap();
        rec.wait_for(Status::Disconnected, 5);
        let took = asked.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "{case}: DISCONNECTED after {took:?}"
        );
        connecting.join().unwrap().unwrap();
    });
    assert_eq!(
        rec.statuses(),
        vec![
            Status::Connecting,
            Status::Disconnecting,
            Status::Disconnected
        ],
        "{case}"
    );
}

/// Connects to `url` (threaded), waits for `ready`, then frees the
/// connection: that must return within a second.
fn free_while_connecting(case: &str, url: &str, extra: &[(&str, &str)], ready: impl FnOnce()) {
    let (conn, _rec) = connect(url, "a@localhost", stuck_options(extra));
    ready();
    let asked = Instant::now();
    drop(conn);
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(1), "{case}: free took {took:?}");
}

/// Each transport whose open blocks, threaded and in sync mode (where
/// `connect()` itself waits): `disconnect()` cuts a handshake that never
/// finishes at once, and the socket is let go.
#[test]
fn disconnect_during_a_stuck_handshake_ends_it_at_once_on_every_blocking_transport() {
    for (scheme, path) in [("ws", "/ws"), ("tcp", ""), ("tls", "")] {
        for sync in ["false", "true"] {
            let case = format!("{scheme}, sync {sync}");
            let (url, heard, server) = never_answers(scheme, path);
            disconnect_while_connecting(&case, &url, &[("sync", sync)], || {
                heard.recv_timeout(Duration::from_secs(5)).unwrap()
            });
            assert_let_go(&case, server);
        }
    }
}

/// A listener whose accept queue is full: the kernel drops further SYNs,
/// so a connect to it waits, as to a host that swallows them.
fn swallowing_listener() -> (TcpListener, u16, Vec<TcpStream>) {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen() on our own listening socket, to shrink its queue.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let addr = listener.local_addr().unwrap();
    let fillers = (0..3)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
        .collect();
    (listener, addr.port(), fillers)
}

/// A connect that no SYN-ACK answers (a dead host, a firewall) is cut at
/// once too: by `disconnect()`, threaded and in sync mode, and by free.
#[test]
fn disconnect_or_free_during_a_connect_nobody_answers_ends_it_at_once() {
    let (_listener, port, _fillers) = swallowing_listener();
    let url = format!("ws://127.0.0.1:{port}/ws");
    let a_moment = || std::thread::sleep(Duration::from_millis(300));
    for sync in ["false", "true"] {
        disconnect_while_connecting(&format!("sync {sync}"), &url, &[("sync", sync)], a_moment);
    }
    free_while_connecting("free", &url, &[], a_moment);
}

/// Freeing a connection during a handshake that never finishes returns at
/// once and lets the socket go.
#[test]
fn freeing_during_a_stuck_handshake_lets_go_at_once() {
    for (scheme, path) in [("ws", "/ws"), ("tls", "")] {
        let (url, heard, server) = never_answers(scheme, path);
        free_while_connecting(scheme, &url, &[], || {
            heard.recv_timeout(Duration::from_secs(5)).unwrap()
        });
        assert_let_go(scheme, server);
    }
}

/// A shared connection's manager makes its WebSocket handshake on its own
/// thread: the driving handle's `disconnect()` cuts a handshake that never
/// finishes at once, and the socket is let go.
#[test]
fn a_shared_handle_disconnecting_during_a_stuck_handshake_ends_it_at_once() {
    let (url, heard, server) = never_answers("ws", "/ws");
    let worker = [("worker", "hostile-stuck-disconnect")];
    disconnect_while_connecting("shared", &url, &worker, || {
        heard.recv_timeout(Duration::from_secs(5)).unwrap()
    });
    assert_let_go("shared", server);
}

/// Freeing the driving handle during a stuck handshake returns at once and
/// lets the socket go.
#[test]
fn a_shared_handle_freed_during_a_stuck_handshake_lets_go_at_once() {
    let (url, heard, server) = never_answers("ws", "/ws");
    let worker = [("worker", "hostile-stuck-free")];
    free_while_connecting("shared", &url, &worker, || {
        heard.recv_timeout(Duration::from_secs(5)).unwrap()
    });
    assert_let_go("shared", server);
}

/// A peer that logs the client in, then runs `then`.
fn after_login(
    o: Options,
    then: impl FnOnce(&mut Peer) + Send + 'static,
) -> (Connection, Recorder, std::thread::JoinHandle<()>) {
    let (url, server) = fake_ws::serve(move |peer: &mut Peer| {
        peer.log_in("a@localhost/x");
        then(peer);
    });
    let (conn, mut rec) = connect(&url, "a@localhost", o);
    rec.wait_for(Status::Connected, 10);
    (conn, rec, server)
}

#[test]
fn a_websocket_frame_announcing_more_than_the_limit_ends_the_session_at_once() {
    let (_conn, mut rec, server) = after_login(options(&[("max_stanza_bytes", "65536")]), |peer| {
        // A text frame header for 1 GiB, and nothing after it: the client
        // must neither allocate it nor wait for it.
        let mut header = vec![0x81, 127];
        header.extend_from_slice(&(1u64 << 30).to_be_bytes());
        peer.ws.get_mut().write_all(&header).unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    let before = Instant::now();
    rec.wait_for(Status::Disconnected, 5);
    assert!(before.elapsed() < Duration::from_secs(2));
    assert_eq!(condition(&rec, Status::Error), "stanza exceeds 65536 bytes");
    server.join().unwrap();
}

#[test]
fn a_websocket_message_over_the_limit_in_small_frames_ends_the_session() {
    let (_conn, mut rec, server) = after_login(options(&[("max_stanza_bytes", "65536")]), |peer| {
        // 100 fragments of 1 KiB: each frame is small, the message is not.
        let chunk = vec![b'x'; 1024];
        let stream = peer.ws.get_mut();
        let mut frames = Vec::new();
        for i in 0..100 {
            let opcode = if i == 0 { 0x01 } else { 0x00 }; // text, then continuation
            frames.extend_from_slice(&[opcode, 126, 4, 0]);
            frames.extend_from_slice(&chunk);
        }
        let _ = stream.write_all(&frames);
        std::thread::sleep(Duration::from_millis(500));
    });
    rec.wait_for(Status::Disconnected, 10);
    assert_eq!(condition(&rec, Status::Error), "stanza exceeds 65536 bytes");
    server.join().unwrap();
}

/// Sends 64 KiB messages until `conn` refuses (the session ended) or
/// `cap` were sent; returns how many went.
fn send_until_refused(conn: &Connection, cap: usize) -> usize {
    let body = "x".repeat(64 * 1024);
    let msg = Builder::msg([("to", "b@localhost")])
        .c_text("body", epode::xml::NO_ATTRS, &body)
        .build();
    for sent in 0..cap {
        if conn.send(&msg).is_err() {
            return sent;
        }
        // Let the engine take each one: the limit is on what the server
        // has not read, not on a burst of calls.
        std::thread::sleep(Duration::from_millis(1));
    }
    cap
}

#[test]
fn a_websocket_server_that_never_reads_meets_the_send_queue_limit() {
    let (conn, mut rec, server) =
        after_login(options(&[("max_send_queue_bytes", "1048576")]), |_peer| {
            // Logged in; now read nothing at all for a while.
            std::thread::sleep(Duration::from_secs(8));
        });
    // The loopback socket buffers take several MiB before our own queue
    // fills; 1,000 × 64 KiB (64 MiB) would mean there is no bound.
    let sent = send_until_refused(&conn, 1000);
    rec.wait_for(Status::Disconnected, 10);
    assert!(sent < 1000, "every send was taken: no bound");
    assert_eq!(
        condition(&rec, Status::Error),
        "I/O error: send queue full: the server has not taken 1048576 bytes of output"
    );
    server.join().unwrap();
}

#[test]
fn a_bosh_server_that_stops_answering_meets_the_send_queue_limit() {
    let (url, _log) = fake_http::serve(|req, _| {
        let mut reply = session_script(req, None);
        if req.body.contains("<message") {
            reply.delay = Duration::from_secs(30); // holds every request now
        }
        reply
    });
    let conn = Connection::new(&url, options(&[("max_send_queue_bytes", "262144")])).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect("localhost", None, cb).unwrap();
    rec.wait_for(Status::Connected, 10);
    let sent = send_until_refused(&conn, 100);
    rec.wait_for(Status::Disconnected, 10);
    assert!(sent < 100, "every send was taken: no bound");
    assert_eq!(
        condition(&rec, Status::Error),
        "I/O error: send queue full: the server has not taken 262144 bytes of output"
    );
}

#[test]
fn a_bosh_response_trickled_one_byte_a_second_is_conntimeout() {
    let (url, log) = fake_http::serve(|_, _| {
        let mut r = Reply::ok(
            "<body xmlns='http://jabber.org/protocol/httpbind' sid='T' wait='1' hold='1'/>",
        );
        r.trickle = true;
        r
    });
    let started = Instant::now();
    let conn = Connection::new(&url, options(&[("wait", "1")])).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect("localhost", None, cb).unwrap();
    rec.wait_for(Status::Disconnected, 30);
    assert_eq!(
        rec.statuses(),
        vec![
            Status::Connecting,
            Status::ConnTimeout,
            Status::Disconnected
        ]
    );
    assert!(condition(&rec, Status::ConnTimeout).starts_with("giving-up"));
    // Five attempts of at most the primary timeout (1.1 s) each, plus backoff.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(log.lock().unwrap().len(), 5);
}

/// A BOSH server whose first answer is `body`.
fn bosh_first_answer(body: String, o: Options) -> Recorder {
    let (url, _log) = fake_http::serve(move |_, _| Reply::ok(&body));
    let conn = Connection::new(&url, o).unwrap();
    let (mut rec, cb) = recorder();
    conn.connect("localhost", None, cb).unwrap();
    rec.wait_for(Status::Disconnected, 10);
    rec
}

#[test]
fn hostile_bosh_bodies_are_connfail_bad_format() {
    let wrap = |inner: &str| {
        format!("<body xmlns='http://jabber.org/protocol/httpbind' sid='H' wait='60' hold='1'>{inner}</body>")
    };
    let big = format!("<message><body>{}</body></message>", "x".repeat(200_000));
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    let laughs = "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>";
    let cases = [
        ("oversize", wrap(&big)),
        ("deep", wrap(&deep)),
        (
            "billion laughs",
            format!("{laughs}{}", wrap("<message>&lol2;</message>")),
        ),
        ("entity", wrap("<message>&lol2;</message>")),
    ];
    for (what, body) in cases {
        let rec = bosh_first_answer(body, options(&[("max_stanza_bytes", "65536")]));
        assert_eq!(
            rec.seen,
            vec![
                (Status::Connecting, None),
                (Status::ConnFail, Some("bad-format".into())),
                (Status::Disconnected, Some("bad-format".into()))
            ],
            "{what}"
        );
    }
}
