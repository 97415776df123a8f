//! BOSH under link faults (issue 13, items 1, 7 and 8), against real
//! Prosody and ejabberd through a loopback proxy the test cuts: a short cut
//! loses nothing and ends nothing, an outage of seconds is ridden out, and
//! freeing a connection ends its session at once and leaves no thread.

mod common;

use common::proxy::Proxy;
use common::{collect_bodies, eventually, login, recorder, session_lines, tally, Server};
use epode::{Builder, Connection, Element, Options, Status};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// These tests cut links on timers: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn servers() -> Vec<Server> {
    vec![Server::get("prosody"), Server::get("ejabberd")]
}

fn chat(to: &str, body: &str) -> Element {
    Builder::msg([("to", to), ("type", "chat")])
        .c_text("body", epode::xml::NO_ATTRS, body)
        .build()
}

/// Whether the server has a live session for `full_jid` (Prosody also
/// lists sessions kept for stream-management resumption: those do not count).
fn has_session(server: &Server, full_jid: &str) -> bool {
    let user = full_jid.split_once('@').unwrap().0;
    session_lines(server, user).iter().any(|l| {
        if server.name() == "prosody" {
            l.contains(&format!("| {full_jid} ")) && !l.contains("hibernating")
        } else {
            l == full_jid
        }
    })
}

/// The threads of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> usize {
    tasks_named(prefix).len()
}

/// Where each thread named `prefix…` is: its kernel wait channel and
/// system call, for the message when one is left behind.
fn tasks_named(prefix: &str) -> Vec<String> {
    let read = |dir: &std::path::Path, file: &str| {
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| Some(t.ok()?.path()))
        .filter(|dir| read(dir, "comm").starts_with(prefix))
        .map(|dir| {
            format!(
                "{}: wchan {}, syscall {}",
                dir.display(),
                read(&dir, "wchan"),
                read(&dir, "syscall")
            )
        })
        .collect()
}

/// A cut every 50 messages, the link back at once: the requests lost with
/// their connections go again with their own rids, before any later rid,
/// and the session never notices. Stream management stays off, so nothing
/// but BOSH itself can save a message.
#[test]
fn short_cuts_lose_nothing_and_end_nothing() {
    let _serial = serial();
    const MESSAGES: usize = 1000;
    const EVERY: usize = 50;
    for server in servers() {
        let proxy = Proxy::to_http_of(&server);
        let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        let got = collect_bodies(&bob);
        let mut o = Options::default();
        o.set("streamManagement", "false").unwrap();
        let (alice, mut ra) = login(&server, &proxy.url(&server.bosh()), "alice", o);
        let to = bob.jid();
        for n in 0..MESSAGES {
            if let Err(e) = alice.send(&chat(&to, &n.to_string())) {
                ra.seen.extend(ra.rx.try_iter());
                panic!("{}: send {n}: {e}; {:?}", server.name(), ra.seen);
            }
            if n % EVERY == EVERY - 1 {
                proxy.cut();
            }
            if n % 10 == 9 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while got.lock().unwrap().len() < MESSAGES && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        let got = got.lock().unwrap().clone();
        let (dups, lost, ordered) = tally(&got, MESSAGES);
        ra.seen.extend(ra.rx.try_iter());
        println!(
            "{} BOSH: {MESSAGES} messages, {} cuts: {} received, {dups} duplicates, {lost} lost, in order: {ordered}; statuses {:?}",
            server.name(),
            MESSAGES / EVERY,
            got.len(),
            ra.seen
        );
        assert_eq!((dups, lost, got.len()), (0, 0, MESSAGES), "{:?}", ra.seen);
        assert!(ordered, "out of order");
        let after_login = &ra.seen[ra
            .seen
            .iter()
            .position(|e| e.0 == Status::Connected)
            .unwrap()
            + 1..];
        assert!(
            after_login.is_empty(),
            "the session noticed the cuts: {after_login:?}"
        );
        alice.disconnect(None).unwrap();
        ra.wait_for(Status::Disconnected, 20);
        bob.disconnect(None).unwrap();
    }
}

/// A server unreachable for three seconds (every new connection closed at
/// once) is ridden out: the retries span tens of seconds, and what was
/// sent meanwhile arrives once it is back.
#[test]
fn a_three_second_outage_is_ridden_out() {
    let _serial = serial();
    for server in servers() {
        let proxy = Proxy::to_http_of(&server);
        let (bob, _rb) = login(&server, &server.ws(), "bob", Options::default());
        let got = collect_bodies(&bob);
        let mut o = Options::default();
        o.set("streamManagement", "false").unwrap();
        let (alice, mut ra) = login(&server, &proxy.url(&server.bosh()), "alice", o);
        let to = bob.jid();
        alice.send(&chat(&to, "before")).unwrap();
        eventually(10, "the first message", || got.lock().unwrap().len() == 1);
        proxy.refuse(true);
        proxy.cut();
        alice.send(&chat(&to, "during")).unwrap();
        std::thread::sleep(Duration::from_secs(3));
        proxy.refuse(false);
        alice.send(&chat(&to, "after")).unwrap();
        eventually(30, "the messages sent during and after the outage", || {
            got.lock().unwrap().len() == 3
        });
        assert_eq!(*got.lock().unwrap(), ["before", "during", "after"]);
        ra.seen.extend(ra.rx.try_iter());
        let after_login = &ra.seen[ra
            .seen
            .iter()
            .position(|e| e.0 == Status::Connected)
            .unwrap()
            + 1..];
        assert!(
            after_login.is_empty(),
            "{} BOSH: the outage ended the session: {after_login:?}",
            server.name()
        );
        alice.disconnect(None).unwrap();
        ra.wait_for(Status::Disconnected, 20);
        bob.disconnect(None).unwrap();
    }
}

/// Freeing a live connection, threaded and in sync mode, ends its session
/// on the server at once: over BOSH a terminate carrying the unavailable
/// presence (and no request thread is left behind, even with a long-poll
/// held for `wait` = 60 s), over WebSocket the presence and a `<close/>`.
/// Without them the server kept the session for its inactivity period
/// (BOSH: Prosody 60 s, ejabberd 30 s) or for resumption, online.
///
/// Prosody 0.12 keeps a BOSH session that had stream management hibernating
/// even after a terminate; it is no longer online, which is what counts.
#[test]
fn freeing_a_connection_ends_its_session_and_its_threads() {
    let _serial = serial();
    for server in servers() {
        for url in [server.bosh(), server.ws()] {
            for sync in ["false", "true"] {
                let before = threads_named("epode-bosh");
                let mut o = Options::default();
                o.set("sync", sync).unwrap();
                o.set("wait", "60").unwrap();
                let conn = Connection::new(&url, o).unwrap();
                let (mut rec, cb) = recorder();
                conn.connect(&server.jid("carol"), Some(&server.password("carol")), cb)
                    .unwrap();
                rec.wait_for(Status::Connected, 20);
                if sync == "true" {
                    conn.run_once(Duration::from_millis(200)).unwrap();
                }
                let jid = conn.jid();
                eventually(10, "the server has the session", || {
                    has_session(&server, &jid)
                });
                let t0 = Instant::now();
                drop(conn);
                let took = t0.elapsed();
                assert_eq!(
                    threads_named("epode-bosh"),
                    before,
                    "{url} sync={sync}: request threads left after {took:?}: {:?}",
                    tasks_named("epode-bosh")
                );
                assert!(
                    took < Duration::from_secs(3),
                    "{url} sync={sync}: freeing took {took:?}"
                );
                eventually(5, "the server ends the freed session", || {
                    !has_session(&server, &jid)
                });
                println!("{} {url} sync={sync}: freed in {took:?}", server.name());
            }
        }
    }
}
