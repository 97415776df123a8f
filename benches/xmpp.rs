//! epode's benchmark program (not a test): the scenarios of
//! ../shared/reference/performance.md against a private Prosody.
//!
//!   benches/run.sh                 # starts Prosody, runs everything
//!   EPODE_TEST_PROSODY=DIR cargo bench --bench xmpp [-- ws|bosh|tcp] [N]
//!
//! connect: login time (connect() → CONNECTED) over N logins.
//! echo:    20,000 chat messages to our own full JID, ≤1,000 in flight,
//!          wall time, msgs/s, client CPU (user+sys) per message, peak RSS.
//! idle:    200 logged-in connections in one process: RSS per connection.
//! senders: 8 threads send 2,000 messages over one connection, threaded
//!          and in sync mode: msgs/s until all came back.
//! fanout:  (WebSocket) 10 handles receive the same 2,000 headlines, once
//!          sharing one socket (worker), once as 10 separate connections:
//!          client CPU per message received by each handle.

use epode::{Builder, Connection, Keep, Matcher, Options, Status};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

fn server_env() -> HashMap<String, String> {
    let dir =
        std::env::var("EPODE_TEST_PROSODY").expect("EPODE_TEST_PROSODY=DIR (see benches/run.sh)");
    let text = std::fs::read_to_string(format!("{dir}/env")).expect("DIR/env");
    text.lines()
        .filter_map(|l| l.trim_start_matches("export ").split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// (user, system) CPU seconds of this process so far.
fn cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (tv(u.ru_utime), tv(u.ru_stime))
}

fn rss_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn login(url: &str, user: &str, password: &str) -> (Connection, Duration) {
    login_with(url, user, password, Options::default())
}

/// Logs in (or, for a later handle of a worker, attaches).
/// The test server's CA, for TLS over TCP (the private Prosody's
/// certificate is signed by it).
static CA_FILE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn login_with(url: &str, user: &str, password: &str, options: Options) -> (Connection, Duration) {
    let mut o = options;
    o.set("mechanisms", "PLAIN").unwrap(); // as the peers' figures were taken
    if let (true, Some(ca)) = (url.starts_with("tcp://"), CA_FILE.get()) {
        o.set("ca_file", ca).unwrap();
    }
    let conn = Connection::new(url, o).unwrap();
    let (tx, rx) = channel();
    let tx = Mutex::new(tx);
    let start = Instant::now();
    conn.connect(
        &format!("{user}@localhost"),
        Some(password),
        move |_, s, c, _| {
            if matches!(
                s,
                Status::Connected | Status::Attached | Status::Disconnected
            ) {
                let _ = tx.lock().unwrap().send((s, c.map(str::to_string)));
            }
        },
    )
    .unwrap();
    let (status, cond) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a login result");
    assert_ne!(status, Status::Disconnected, "login failed: {cond:?}");
    (conn, start.elapsed())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Login time with the engine on its own thread, and in sync mode (the
/// engine on the caller's thread inside connect()).
fn connect_scenario(name: &str, url: &str, rounds: usize) {
    for sync in [false, true] {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let mut o = Options::default();
            if sync {
                o.set("sync", "true").unwrap();
            }
            let (conn, t) = login_with(url, "alice", "alice-pass", o);
            times.push(t.as_secs_f64() * 1000.0);
            conn.close().unwrap();
        }
        println!(
            "{name:5} connect ({}): login median {:.2} ms (min {:.2}, {rounds} logins)",
            if sync { "sync" } else { "threaded" },
            median(times.clone()),
            times.iter().cloned().fold(f64::MAX, f64::min)
        );
    }
}

fn echo_scenario(name: &str, url: &str, total: u64, window: u64) {
    let (conn, _) = login(url, "bob", "bob-pass");
    let me = conn.jid();
    // The harness wakes the sender only when the window is half empty, so
    // its own cost per message stays small next to the library's.
    let received = Arc::new((Mutex::new(0u64), Condvar::new()));
    let count = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let (r, c, s) = (Arc::clone(&received), Arc::clone(&count), Arc::clone(&sent));
    conn.add_handler(Matcher::new().name("message").type_("chat"), move |_, _| {
        let got = c.fetch_add(1, Ordering::AcqRel) + 1;
        let outstanding = s.load(Ordering::Acquire).saturating_sub(got);
        if outstanding <= window / 2 || got == total {
            let (lock, cv) = &*r;
            *lock.lock().unwrap() = got;
            cv.notify_one();
        }
        Keep::Keep
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let body = "x".repeat(100);
    let rss_before = rss_kb("VmRSS:");
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let (lock, cv) = &*received;
    while sent.load(Ordering::Relaxed) < total {
        let got = count.load(Ordering::Acquire);
        let in_flight = sent.load(Ordering::Relaxed) - got;
        if in_flight >= window {
            let guard = lock.lock().unwrap();
            let _ = cv.wait_timeout(guard, Duration::from_millis(20)).unwrap();
            continue;
        }
        let msg = Builder::msg([("to", me.as_str()), ("type", "chat")])
            .c_text("body", epode::xml::NO_ATTRS, &body)
            .build();
        conn.send(&msg).unwrap();
        sent.fetch_add(1, Ordering::Relaxed);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let guard = lock.lock().unwrap();
        if count.load(Ordering::Acquire) >= total || Instant::now() > deadline {
            break;
        }
        let _ = cv.wait_timeout(guard, Duration::from_millis(20)).unwrap();
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_seconds();
    let (user, sys) = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
    let cpu = user + sys;
    let got = count.load(Ordering::Acquire);
    println!(
        "{name:5} echo: {got}/{total} back in {wall:.2} s = {:.0} msgs/s; client CPU {:.2} µs/msg (user {:.2}, sys {:.2}); peak RSS {:.1} MB (start {:.1} MB)",
        got as f64 / wall,
        cpu / got.max(1) as f64 * 1e6,
        user / got.max(1) as f64 * 1e6,
        sys / got.max(1) as f64 * 1e6,
        rss_kb("VmHWM:") as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    conn.close().unwrap();
}

fn idle_scenario(name: &str, url: &str, count: usize) {
    let before = rss_kb("VmRSS:");
    let mut conns = Vec::new();
    for i in 0..count {
        let user = ["alice", "bob", "carol"][i % 3];
        let (c, _) = login(url, user, &format!("{user}-pass"));
        conns.push(c);
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kb("VmRSS:");
    println!(
        "{name:5} idle: {count} connections, {:.1} KB RSS per connection ({} → {} KB)",
        (after.saturating_sub(before)) as f64 / count as f64,
        before,
        after
    );
    for c in conns {
        c.close().unwrap();
    }
}

/// 10 handles of alice receive every headline bob sends to her bare JID
/// (the server gives one copy to each available session).
fn fanout_scenario(url: &str, handles: usize, total: u64, shared: bool) {
    let received = Arc::new(AtomicU64::new(0));
    let mut receivers = Vec::new();
    for _ in 0..handles {
        let mut o = Options::default();
        if shared {
            o.set("worker", "bench-fanout").unwrap();
        }
        let (conn, _) = login_with(url, "alice", "alice-pass", o);
        let r = Arc::clone(&received);
        conn.add_handler(
            Matcher::new().name("message").type_("headline"),
            move |_, _| {
                r.fetch_add(1, Ordering::Relaxed);
                Keep::Keep
            },
        )
        .unwrap();
        if !shared || receivers.is_empty() {
            conn.send(&Builder::pres(epode::xml::NO_ATTRS).build())
                .unwrap();
        }
        receivers.push(conn);
    }
    let (bob, _) = login(url, "bob", "bob-pass");
    std::thread::sleep(Duration::from_millis(300));
    let body = "x".repeat(100);
    let want = total * handles as u64;
    let window = 200;
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(120);
    for sent in 1..=total {
        // Keep at most `window` headlines in flight.
        while received.load(Ordering::Relaxed) + window * (handles as u64) < sent * handles as u64
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        let msg = Builder::msg([("to", "alice@localhost"), ("type", "headline")])
            .c_text("body", epode::xml::NO_ATTRS, &body)
            .build();
        bob.send(&msg).unwrap();
    }
    while received.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_seconds();
    let (user, sys) = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
    let got = received.load(Ordering::Relaxed);
    let per = |t: f64| t / got.max(1) as f64 * 1e6;
    let how = if shared {
        "one shared socket"
    } else {
        "separate sockets"
    };
    println!(
        "ws    fanout: {handles} handles, {how}: {got}/{want} received in {wall:.2} s; client CPU {:.2} µs per message per handle (user {:.2}, sys {:.2}; sender included)",
        per(user + sys), per(user), per(sys)
    );
    bob.close().unwrap();
    for c in receivers {
        c.close().unwrap();
    }
}

/// `threads` threads share one connection and each send `total / threads`
/// chat messages to its own JID, one at a time; in sync mode each send
/// returns once its exchange is done (Strophe's `sync`), and the main
/// thread drives the engine for what arrives after the last send.
fn senders_scenario(name: &str, url: &str, total: u64, threads: u64, sync: bool) {
    let mut o = Options::default();
    if sync {
        o.set("sync", "true").unwrap();
    }
    let (conn, _) = login_with(url, "carol", "carol-pass", o);
    let conn = Arc::new(conn);
    let me = conn.jid();
    let got = Arc::new(AtomicU64::new(0));
    let g = Arc::clone(&got);
    conn.add_handler(Matcher::new().name("message").type_("chat"), move |_, _| {
        g.fetch_add(1, Ordering::AcqRel);
        Keep::Keep
    })
    .unwrap();
    // Bodies (BOSH) or frames (WebSocket) written: how sends were batched.
    let writes = Arc::new(AtomicU64::new(0));
    let w = Arc::clone(&writes);
    conn.set_raw_output(Some(move |_: &Connection, _: &str| {
        w.fetch_add(1, Ordering::AcqRel);
    }));
    let per_thread = total / threads;
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (conn, me) = (Arc::clone(&conn), me.clone());
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let msg = Builder::msg([("to", me.as_str()), ("type", "chat")])
                        .c("body", None::<(&str, &str)>)
                        .t(&format!("{t}-{i}"))
                        .build();
                    conn.send(&msg).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let want = per_thread * threads;
    let deadline = Instant::now() + Duration::from_secs(120);
    while got.load(Ordering::Acquire) < want && Instant::now() < deadline {
        if sync {
            conn.run_once(Duration::from_millis(50)).unwrap();
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let mode = if sync { "sync" } else { "threaded" };
    println!(
        "{name:5} senders: {threads} threads, {mode}: {} of {want} messages in {wall:.2} s, {:.0} msgs/s, {} writes",
        got.load(Ordering::Acquire),
        want as f64 / wall,
        writes.load(Ordering::Acquire)
    );
    conn.close().unwrap();
}

fn main() {
    let env = server_env();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let only = args.first().cloned();
    let total: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let _ = CA_FILE.set(env["XMPP_CA_FILE"].clone());
    let transports = [
        ("ws", env["XMPP_WS_URL"].clone()),
        ("bosh", env["XMPP_BOSH_URL"].clone()),
        // STARTTLS: the private Prosody requires nothing less of us.
        ("tcp", format!("tcp://127.0.0.1:{}", env["XMPP_C2S_PORT"])),
    ];
    for (name, url) in &transports {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        let scenario = std::env::var("EPODE_BENCH_SCENARIO").unwrap_or_default();
        let wants = |s: &str| scenario.is_empty() || scenario == s;
        if wants("connect") {
            connect_scenario(name, url, 50);
        }
        if wants("echo") {
            echo_scenario(name, url, total, 1000);
        }
        if wants("idle") {
            idle_scenario(name, url, 200);
        }
        if wants("senders") {
            let n = total.min(2000);
            senders_scenario(name, url, n, 8, false);
            senders_scenario(name, url, n, 8, true);
        }
        if *name == "ws" && wants("fanout") {
            let n = total.min(2000);
            if std::env::var("EPODE_BENCH_FANOUT").as_deref() != Ok("separate") {
                fanout_scenario(url, 10, n, true);
            }
            if std::env::var("EPODE_BENCH_FANOUT").as_deref() != Ok("shared") {
                fanout_scenario(url, 10, n, false);
            }
        }
    }
}
