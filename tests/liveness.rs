//! Keepalives and liveness checks (issue 19) against real Prosody and
//! ejabberd: a proxy on loopback black-holes the link (nothing passes, no
//! FIN, no RST) and the session must notice within pingInterval +
//! pingTimeout, come back, and lose nothing; a busy session sends no
//! probe; pings sent to us are answered.

#[macro_use]
mod common;

use common::proxy::Proxy;
use common::{collect_bodies, collector, eventually, login, tally, Recorder, Server};
use epode::{Builder, Connection, Element, Keep, Matcher, Options, Status};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// The tests run side by side: each has its own proxy, and the sessions
// they watch are distinct (an account may have several).

on_both_servers!(
    a_silent_link_is_noticed_in_time_and_resumed_with_nothing_lost,
    over_tcp_a_silent_link_is_noticed_in_time_and_resumed_with_nothing_lost,
    without_reconnect_a_silent_link_is_error_then_disconnected,
    over_tcp_without_reconnect_a_silent_link_is_error_then_disconnected,
    a_busy_session_sends_no_probe_and_an_idle_one_only_what_the_interval_needs,
    pings_sent_to_us_are_answered_once_on_every_transport,
    bosh_notices_a_silent_link_within_its_long_poll_deadline_plus_the_timeout,
    before_bind_websocket_ping_frames_keep_watch,
    a_shared_session_is_watched_by_its_worker,
    the_sockets_keep_alive_as_the_check_says,
);

const INTERVAL: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(2);
/// What the engine thread may take to wake and act, beyond the bound.
const SCHEDULING: Duration = Duration::from_millis(500);

/// Options with a quick liveness check.
fn watched(reconnect: bool) -> Options {
    let mut o = Options::default();
    o.set("pingInterval", &INTERVAL.as_millis().to_string())
        .unwrap();
    o.set("pingTimeout", &TIMEOUT.as_millis().to_string())
        .unwrap();
    if reconnect {
        o.set("reconnect", "true").unwrap();
        o.set("maxRetries", "50").unwrap();
        o.set("reconnect_delay", "100").unwrap();
        o.set("reconnect_max_delay", "1000").unwrap();
        // An attempt lost in the black hole gives up after 5 s (not 30)
        // and tries again; a login takes far less, even on a loaded machine.
        o.set("connect_timeout", "5000").unwrap();
    }
    o
}

/// Waits for the next `status` after those already seen.
fn next(rec: &mut Recorder, status: Status, secs: u64) -> (Status, Option<String>) {
    let from = rec.seen.len();
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(e) = rec.seen[from..].iter().find(|e| e.0 == status) {
            return e.clone();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match rec.rx.recv_timeout(left) {
            Ok(e) => rec.seen.push(e),
            Err(_) => panic!("no {status} within {secs}s; saw {:?}", rec.seen),
        }
    }
}

fn chat(to: &str, body: &str) -> Element {
    Builder::msg([("to", to), ("type", "chat")])
        .c_text("body", epode::xml::NO_ATTRS, body)
        .build()
}

/// Every element `conn` writes, serialized, as it goes out (the xmlOutput
/// hook runs as each is written; rawOutput would miss the last ones
/// written into a link that then fails).
fn wire_output(conn: &Connection) -> Arc<Mutex<Vec<String>>> {
    let (out, cb) = collector::<String>();
    conn.set_xml_output(Some(move |_: &Connection, e: &Element| {
        cb.lock().unwrap().push(e.to_xml())
    }));
    out
}

/// The probes among `output`: `<r/>`s and pings.
fn probes(output: &Arc<Mutex<Vec<String>>>) -> usize {
    output
        .lock()
        .unwrap()
        .iter()
        .map(|t| t.matches("<r xmlns").count() + t.matches("urn:xmpp:ping").count())
        .sum()
}

/// A black-hole proxy in front of `server`, and the URL that goes through
/// it: the HTTP port's WebSocket, or the c2s port (STARTTLS, so the
/// options carry the test CA).
fn proxied(server: &Server, tcp: bool, mut options: Options) -> (Proxy, String, Options) {
    if !tcp {
        let proxy = Proxy::to_http_of(server);
        let url = proxy.url(&server.ws());
        return (proxy, url, options);
    }
    let proxy = Proxy::start(server.var("XMPP_C2S_PORT").parse().unwrap());
    let url = proxy.url(&server.tcp());
    options.set("ca_file", &server.var("XMPP_CA_FILE")).unwrap();
    (proxy, url, options)
}

/// Logs in through the proxy and waits until stream management is on.
fn login_watched(server: &Server, url: &str, options: Options) -> (Connection, Recorder) {
    let (conn, rec) = login(server, url, "alice", options);
    eventually(10, "stream management enabled", || {
        conn.sm_state().is_some()
    });
    (conn, rec)
}

fn a_silent_link_is_noticed_in_time_and_resumed_with_nothing_lost(server: Server) {
    silent_link_resumed(&server, false)
}

fn over_tcp_a_silent_link_is_noticed_in_time_and_resumed_with_nothing_lost(server: Server) {
    silent_link_resumed(&server, true)
}

fn silent_link_resumed(server: &Server, tcp: bool) {
    const MESSAGES: usize = 6;
    let (proxy, url, options) = proxied(server, tcp, watched(true));
    let (bob, _rb) = login(server, &server.ws(), "bob", Options::default());
    let (alice, mut rec) = login_watched(server, &url, options);
    let got = collect_bodies(&alice);
    let to = alice.jid();
    // Receive-only: alice sends nothing from here on.
    std::thread::sleep(INTERVAL + INTERVAL / 2);
    proxy.blackhole(true);
    let start = Instant::now();
    // Half before alice notices, half after: the server writes them
    // all into the dead link.
    for n in 0..MESSAGES / 2 {
        bob.send(&chat(&to, &n.to_string())).unwrap();
    }
    let lost = next(&mut rec, Status::Reconnecting, 10);
    let noticed = start.elapsed();
    for n in MESSAGES / 2..MESSAGES {
        bob.send(&chat(&to, &n.to_string())).unwrap();
    }
    let why = lost.1.unwrap_or_default();
    assert!(why.starts_with("ping-timeout: "), "{why}");
    assert!(
        noticed <= INTERVAL + TIMEOUT + SCHEDULING && noticed >= TIMEOUT,
        "{}: noticed after {noticed:?}",
        server.name()
    );
    assert!(
        got.lock().unwrap().is_empty(),
        "nothing passed the black hole"
    );
    // Attempts fail while the path stays dead; then it comes back.
    std::thread::sleep(Duration::from_secs(3));
    proxy.blackhole(false);
    let back = next(&mut rec, Status::Connected, 30);
    assert_eq!(back.1.as_deref(), Some("resumed"), "{:?}", rec.seen);
    eventually(10, "every message", || {
        got.lock().unwrap().len() >= MESSAGES
    });
    std::thread::sleep(Duration::from_millis(300));
    let got = got.lock().unwrap().clone();
    println!(
        "{} tcp={tcp}: black hole noticed after {noticed:?} ({why}); after resumption {got:?}",
        server.name()
    );
    assert_eq!(tally(&got, MESSAGES), (0, 0, true), "{got:?}");
    assert_eq!(got.len(), MESSAGES);
    alice.disconnect(None).unwrap();
    next(&mut rec, Status::Disconnected, 10);
    bob.disconnect(None).unwrap();
}

fn without_reconnect_a_silent_link_is_error_then_disconnected(server: Server) {
    silent_link_ends(&server, false)
}

fn over_tcp_without_reconnect_a_silent_link_is_error_then_disconnected(server: Server) {
    silent_link_ends(&server, true)
}

fn silent_link_ends(server: &Server, tcp: bool) {
    for sm in ["true", "false"] {
        let mut o = watched(false);
        o.set("streamManagement", sm).unwrap();
        let (proxy, url, o) = proxied(server, tcp, o);
        let (alice, mut rec) = login(server, &url, "carol", o);
        let output = wire_output(&alice);
        if sm == "true" {
            eventually(10, "stream management enabled", || {
                alice.sm_state().is_some()
            });
        }
        // Probes before the black hole (a slow test thread) do not count.
        let before = output.lock().unwrap().len();
        proxy.blackhole(true);
        let start = Instant::now();
        let error = next(&mut rec, Status::Error, 10);
        let noticed = start.elapsed();
        let end = next(&mut rec, Status::Disconnected, 5);
        let why = error.1.unwrap_or_default();
        assert!(why.starts_with("ping-timeout: nothing heard"), "{why}");
        assert_eq!(end.1.as_deref(), Some(why.as_str()));
        assert!(
            noticed <= INTERVAL + TIMEOUT + SCHEDULING && noticed >= TIMEOUT,
            "{} tcp={tcp} sm={sm}: noticed after {noticed:?}",
            server.name()
        );
        let after: Vec<Status> = rec
            .statuses()
            .into_iter()
            .skip_while(|s| *s != Status::Connected)
            .collect();
        assert_eq!(
            after,
            [Status::Connected, Status::Error, Status::Disconnected]
        );
        // The probe was the one the session allows: <r/> or a ping.
        let text = output.lock().unwrap()[before..].concat();
        let (acks, pings) = (
            text.matches("<r xmlns").count(),
            text.matches("urn:xmpp:ping").count(),
        );
        if sm == "true" {
            assert_eq!((acks >= 1, pings), (true, 0), "{text} {:?}", rec.seen);
        } else {
            assert_eq!((acks, pings >= 1), (0, true), "{text}");
        }
        println!(
            "{} tcp={tcp} sm={sm}: {why} after {noticed:?}",
            server.name()
        );
    }
}

fn a_busy_session_sends_no_probe_and_an_idle_one_only_what_the_interval_needs(server: Server) {
    const BUSY: Duration = Duration::from_secs(5);
    const IDLE: Duration = Duration::from_secs(5);
    for sm in ["true", "false"] {
        let mut o = watched(false);
        o.set("streamManagement", sm).unwrap();
        let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        let (alice, mut rec) = login(&server, &server.ws(), "dave", o);
        let output = wire_output(&alice);
        // The answers to our pings are ours: no handler sees them.
        let (iqs, seen_iq) = collector::<String>();
        alice
            .add_handler(Matcher::new().name("iq"), move |_, iq| {
                seen_iq.lock().unwrap().push(iq.to_xml());
                Keep::Keep
            })
            .unwrap();
        let got = collect_bodies(&alice);
        let bob_got = collect_bodies(&bob);
        // Busy: messages every 250 ms (a quarter interval), both ways
        // without stream management. With it, alice only receives:
        // what she sent would bring its own <r/>s for acks.
        let alice_sends = sm == "false";
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < BUSY {
            bob.send(&chat(&alice.jid(), &format!("to alice {n}")))
                .unwrap();
            if alice_sends {
                alice
                    .send(&chat(&bob.jid(), &format!("to bob {n}")))
                    .unwrap();
            }
            n += 1;
            std::thread::sleep(Duration::from_millis(250));
        }
        eventually(10, "alice hears bob", || got.lock().unwrap().len() >= n);
        let sent_by_alice = if alice_sends { n } else { 0 };
        eventually(10, "bob hears alice", || {
            bob_got.lock().unwrap().len() >= sent_by_alice
        });
        let busy_probes = probes(&output);
        // Idle: a probe per interval, answered, and nothing more.
        std::thread::sleep(IDLE);
        let idle_probes = probes(&output);
        println!(
            "{} sm={sm}: {n} messages to alice, {sent_by_alice} from her in {BUSY:?}: {busy_probes} probes; then {} probes in {IDLE:?} idle",
            server.name(),
            idle_probes - busy_probes
        );
        assert_eq!(busy_probes, 0, "{:?}", output.lock().unwrap());
        let expected = IDLE.as_secs() / INTERVAL.as_secs();
        assert!(
            (1..=expected as usize + 1).contains(&(idle_probes - busy_probes)),
            "{idle_probes} {:?}",
            output.lock().unwrap()
        );
        assert!(iqs.lock().unwrap().is_empty(), "{:?}", iqs.lock().unwrap());
        assert_eq!(alice.status(), Some(Status::Connected), "{:?}", rec.seen);
        alice.disconnect(None).unwrap();
        next(&mut rec, Status::Disconnected, 10);
        bob.disconnect(None).unwrap();
    }
}

fn pings_sent_to_us_are_answered_once_on_every_transport(server: Server) {
    let worker = format!("liveness-pings-{}", server.name());
    for (url, shared) in [
        (server.ws(), false),
        (server.bosh(), false),
        (server.tcp(), false),
        (server.ws(), true),
    ] {
        let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        let mut o = Options::default();
        if url.starts_with("tcp:") {
            o.set("ca_file", &server.var("XMPP_CA_FILE")).unwrap();
        }
        if shared {
            o.set("worker", &worker).unwrap();
        }
        let (pinged, mut rec) = login(&server, &url, "carol", o.clone());
        // A second handle of the shared session hears the ping too.
        let second = Connection::new(&url, o).unwrap();
        let (mut rec2, cb2) = common::recorder();
        if shared {
            second
                .connect(&server.jid("carol"), Some(&server.password("carol")), cb2)
                .unwrap();
            rec2.wait_for(Status::Attached, 10);
        }
        let (input, cb) = collector::<String>();
        bob.set_raw_input(Some(move |_: &Connection, t: &str| {
            cb.lock().unwrap().push(t.to_string())
        }));
        let (answers, cb) = collector::<String>();
        let (ok, err) = (cb.clone(), cb);
        let ping = Builder::iq([("type", "get"), ("to", pinged.jid().as_str())])
            .c("ping", [("xmlns", "urn:xmpp:ping")])
            .build();
        let id = bob
            .send_iq(
                ping,
                move |_, r| {
                    ok.lock()
                        .unwrap()
                        .push(format!("result {:?}", r.map(|e| e.to_xml())))
                },
                move |_, e| {
                    err.lock()
                        .unwrap()
                        .push(format!("error {:?}", e.map(|e| e.to_xml())))
                },
                Some(Duration::from_secs(10)),
            )
            .unwrap();
        eventually(15, "an answer", || !answers.lock().unwrap().is_empty());
        // Time for a second answer, if one were coming.
        std::thread::sleep(Duration::from_millis(500));
        let answers = answers.lock().unwrap().clone();
        let copies: usize = input
            .lock()
            .unwrap()
            .iter()
            .map(|t| t.matches(&id).count())
            .sum();
        println!(
            "{} {url} shared={shared}: {answers:?}, {copies} answer(s)",
            server.name()
        );
        assert!(answers[0].starts_with("result "), "{answers:?}");
        assert_eq!(copies, 1, "{:?}", input.lock().unwrap());
        pinged.disconnect(None).unwrap();
        next(&mut rec, Status::Disconnected, 10);
        drop(second);
        bob.disconnect(None).unwrap();
    }
}

fn bosh_notices_a_silent_link_within_its_long_poll_deadline_plus_the_timeout(server: Server) {
    // TIMEOUT × wait = 11 s: a held request is answered within wait
    // (10 s), so a healthy idle BOSH session never needs a probe; a
    // silent one is probed 11 s after the last answer.
    const WAIT: u64 = 10;
    let bound = Duration::from_secs(11) + TIMEOUT;
    let proxy = Proxy::to_http_of(&server);
    let mut o = watched(false);
    o.set("wait", &WAIT.to_string()).unwrap();
    let (alice, mut rec) = login(&server, &proxy.url(&server.bosh()), "alice", o);
    let output = wire_output(&alice);
    // Idle and healthy for longer than a wait: the long poll is the keepalive.
    std::thread::sleep(Duration::from_secs(WAIT + 3));
    assert_eq!(probes(&output), 0, "{:?}", output.lock().unwrap());
    proxy.blackhole(true);
    let start = Instant::now();
    let error = next(&mut rec, Status::Error, 30);
    let noticed = start.elapsed();
    next(&mut rec, Status::Disconnected, 10);
    let why = error.1.unwrap_or_default();
    println!("{} BOSH: {why} after {noticed:?}", server.name());
    assert!(why.starts_with("ping-timeout: "), "{why}");
    assert!(noticed <= bound + SCHEDULING, "{noticed:?}");
    assert!(probes(&output) >= 1);
}

fn before_bind_websocket_ping_frames_keep_watch(server: Server) {
    let proxy = Proxy::to_http_of(&server);
    let mut o = watched(false);
    o.set("explicitResourceBinding", "true").unwrap();
    let conn = Connection::new(&proxy.url(&server.ws()), o).unwrap();
    let (mut rec, cb) = common::recorder();
    conn.connect(&server.jid("carol"), Some(&server.password("carol")), cb)
        .unwrap();
    rec.wait_for(Status::BindRequired, 20);
    let output = wire_output(&conn);
    // No stanza may go before bind: the probes are ping frames, and
    // their pongs keep the session through more than interval + timeout.
    std::thread::sleep(INTERVAL * 3);
    assert_eq!(
        rec.rx.try_iter().collect::<Vec<_>>(),
        [],
        "{}",
        server.name()
    );
    assert_eq!(probes(&output), 0, "{:?}", output.lock().unwrap());
    proxy.blackhole(true);
    let start = Instant::now();
    let error = next(&mut rec, Status::Error, 10);
    let noticed = start.elapsed();
    next(&mut rec, Status::Disconnected, 5);
    let why = error.1.unwrap_or_default();
    println!("{} before bind: {why} after {noticed:?}", server.name());
    assert!(why.starts_with("ping-timeout: "), "{why}");
    assert!(noticed <= INTERVAL + TIMEOUT + SCHEDULING, "{noticed:?}");
}

/// The shared connection's socket belongs to its worker, which probes it
/// with WebSocket ping frames: an idle session stays up, a silent link is
/// lost for every handle within the bound.
fn a_shared_session_is_watched_by_its_worker(server: Server) {
    let proxy = Proxy::to_http_of(&server);
    let url = proxy.url(&server.ws());
    let worker = format!("watched-{}-{}", server.name(), std::process::id());
    let handle = || {
        let mut o = watched(false);
        o.set("worker", &worker).unwrap();
        Connection::new(&url, o).unwrap()
    };
    let (first, second) = (handle(), handle());
    let (mut r1, cb) = common::recorder();
    first
        .connect(&server.jid("carol"), Some(&server.password("carol")), cb)
        .unwrap();
    r1.wait_for(Status::Connected, 20);
    let (mut r2, cb) = common::recorder();
    second.attach_shared(cb).unwrap();
    r2.wait_for(Status::Attached, 20);
    // Idle for several intervals: the probes are answered, nothing ends.
    std::thread::sleep(3 * INTERVAL);
    assert!(first.connected() && second.connected(), "{:?}", r1.seen);
    proxy.blackhole(true);
    let start = Instant::now();
    let ends = [
        next(&mut r1, Status::Disconnected, 10),
        next(&mut r2, Status::Disconnected, 10),
    ];
    let noticed = start.elapsed();
    for (n, end) in ends.iter().enumerate() {
        let why = end.1.clone().unwrap_or_default();
        assert!(
            why.starts_with("ping-timeout: nothing heard"),
            "handle {n}: {why}"
        );
    }
    assert!(
        noticed <= INTERVAL + TIMEOUT + SCHEDULING && noticed >= TIMEOUT,
        "{}: noticed after {noticed:?}",
        server.name()
    );
    println!(
        "{}: shared session: {:?} after {noticed:?}",
        server.name(),
        ends[0].1
    );
}

/// The kernel options of this process's TCP socket to 127.0.0.1:`port`
/// (a proxy's, so no other test's socket goes there): SO_KEEPALIVE,
/// TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT (s), TCP_USER_TIMEOUT (ms).
fn keepalive_to(port: u16) -> Vec<[i32; 5]> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // SAFETY: plain getsockopt/getpeername calls on a descriptor of
        // ours into buffers of the sizes passed; a non-socket fails them.
        unsafe {
            let mut peer: libc::sockaddr_in = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            if libc::getpeername(fd, (&mut peer as *mut libc::sockaddr_in).cast(), &mut len) != 0
                || i32::from(peer.sin_family) != libc::AF_INET
                || u16::from_be(peer.sin_port) != port
            {
                continue;
            }
            let opt = |level, name| {
                let mut v: libc::c_int = -1;
                let mut l = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                libc::getsockopt(fd, level, name, (&mut v as *mut libc::c_int).cast(), &mut l);
                v
            };
            found.push([
                opt(libc::SOL_SOCKET, libc::SO_KEEPALIVE),
                opt(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
                opt(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
                opt(libc::IPPROTO_TCP, libc::TCP_KEEPCNT),
                opt(libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT),
            ]);
        }
    }
    found
}

/// TCP keepalive matched to the liveness check on the WebSocket and TCP
/// transports' sockets: the kernel's first probe after pingInterval, three
/// over pingTimeout, output given up after their sum; none with the check off.
fn the_sockets_keep_alive_as_the_check_says(server: Server) {
    for transport in ["ws", "tcp", "bosh"] {
        for (interval, timeout) in [("7000", "3000"), ("0", "3000")] {
            let mut o = Options::default();
            o.set("pingInterval", interval).unwrap();
            o.set("pingTimeout", timeout).unwrap();
            let (proxy, url, o) = match transport {
                "bosh" => {
                    let proxy = Proxy::to_http_of(&server);
                    let url = proxy.url(&server.bosh());
                    (proxy, url, o)
                }
                _ => proxied(&server, transport == "tcp", o),
            };
            let (conn, mut rec) = login(&server, &url, "dave", o);
            let found = keepalive_to(proxy.port);
            println!(
                "{} {transport} pingInterval={interval}: {found:?}",
                server.name()
            );
            // BOSH: a connection per request slot (the long poll's, and
            // the one that carried the last request, kept alive).
            let expected = if transport == "bosh" { 1..=2 } else { 1..=1 };
            assert!(
                expected.contains(&found.len()),
                "sockets to the proxy: {found:?}"
            );
            for socket in &found {
                if interval == "0" {
                    // Left as the kernel made it: no keepalive, no user timeout.
                    assert_eq!((socket[0], socket[4]), (0, 0), "{found:?}");
                } else {
                    assert_eq!(*socket, [1, 7, 1, 3, 10_000]);
                }
            }
            conn.disconnect(None).unwrap();
            next(&mut rec, Status::Disconnected, 10);
        }
    }
}
