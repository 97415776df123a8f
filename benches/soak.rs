//! The soak test (issue #8), a program rather than a `#[test]`: many
//! WebSocket connections in one process against a private ejabberd on
//! loopback, exchanging messages for minutes. It checks that every
//! message arrived exactly once, that memory stayed flat, and that no
//! thread or file descriptor is left once all have disconnected.
//!
//!   benches/soak.sh [CONNECTIONS] [SECONDS] [--bosh] [--pollable]   # starts ejabberd, default 1000 120
//!   EPODE_TEST_EJABBERD=DIR cargo bench --bench soak -- [CONNECTIONS] [SECONDS] [--bosh] [--pollable]
//!
//! WebSocket unless `--bosh`; a thread per connection (two or so for BOSH)
//! unless `--pollable`, where one driver thread runs them all from one
//! epoll set (support/driver.rs).
//!
//! Connection i sends a chat message to connection i+1 (a ring) once per
//! round; a round takes ROUND. The last line is "soak: 1 passed, 0 failed"
//! (or 0 passed, 1 failed), for tests/run-all.sh's closing count.

use epode::{Builder, Connection, Keep, Matcher, Options, Status};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::driver::Driver;
use support::{
    args, flag, log_in_all, note_answer, register_accounts, report_to, server_env, usage, PASSWORD,
};

mod support;

/// Every connection sends one message per round.
const ROUND: Duration = Duration::from_secs(2);
/// How long the logged-in connections sit idle before the soak, for the
/// idle CPU figure.
const IDLE: Duration = Duration::from_secs(10);
fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

/// (threads, open descriptors) of this process.
fn threads_and_fds() -> (usize, usize) {
    (count_dir("/proc/self/task"), count_dir("/proc/self/fd"))
}

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// What all connections share: receipts and failures.
struct Tally {
    n: usize,
    rounds: usize,
    /// How often message (sender, round) arrived: index sender * rounds + round.
    received: Vec<AtomicU8>,
    /// Messages that reached the wrong connection or carried a bad body.
    misrouted: AtomicUsize,
    /// Connections that ended while they should have been up.
    dropped: AtomicUsize,
    soaking: AtomicBool,
}

impl Tally {
    fn on_message(&self, me: usize, body: &str) {
        let parsed = body
            .strip_prefix('s')
            .and_then(|b| b.split_once(':'))
            .and_then(|(s, r)| Some((s.parse::<usize>().ok()?, r.parse::<usize>().ok()?)));
        match parsed {
            Some((sender, round)) if (sender + 1) % self.n == me && round < self.rounds => {
                self.received[sender * self.rounds + round].fetch_add(1, Ordering::AcqRel);
            }
            _ => {
                self.misrouted.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    fn delivered(&self) -> usize {
        self.received
            .iter()
            .filter(|c| c.load(Ordering::Acquire) > 0)
            .count()
    }
}

/// Starts the login of connection `i`; its statuses go to `events`.
fn start_login(
    url: &str,
    domain: &str,
    i: usize,
    tally: &Arc<Tally>,
    events: Sender<support::Event>,
    heard: Arc<AtomicBool>,
    driver: Option<&Driver>,
) -> Arc<Connection> {
    let mut o = Options::default();
    o.set("mechanisms", "PLAIN").unwrap(); // no PBKDF2 × 1,000 on a shared machine
    let conn = Driver::connection(driver, url, o);
    note_answer(&conn, heard);
    let t = Arc::clone(tally);
    conn.add_handler(Matcher::new().name("message").type_("chat"), move |_, m| {
        t.on_message(i, &m.child_text("body").unwrap_or_default());
        Keep::Keep
    })
    .unwrap();
    let t = Arc::clone(tally);
    let mut report = report_to(i, events);
    conn.connect(
        &format!("soak{i}@{domain}"),
        Some(PASSWORD),
        move |c, status, condition, e| {
            if matches!(status, Status::Error | Status::Disconnected)
                && t.soaking.load(Ordering::Acquire)
            {
                t.dropped.fetch_add(1, Ordering::AcqRel);
            }
            report(c, status, condition, e);
        },
    )
    .expect("connect");
    conn
}

fn main() {
    let (n, seconds) = args(1000, 120);
    let rounds = (Duration::from_secs(seconds).as_millis() / ROUND.as_millis()).max(1) as usize;
    let (bosh, pollable) = (flag("bosh"), flag("pollable"));
    let env = server_env();
    let url = env[if bosh { "XMPP_BOSH_URL" } else { "XMPP_WS_URL" }].clone();
    let domain = env["XMPP_DOMAIN"].clone();
    register_accounts(&env, n);
    println!(
        "soak: {} {}",
        if bosh { "BOSH" } else { "WebSocket" },
        if pollable {
            "pollable, one driver thread"
        } else {
            "threaded"
        }
    );

    let (threads_before, fds_before) = threads_and_fds();
    let rss_before = rss_kb();
    let driver = pollable.then(Driver::start);
    let tally = Arc::new(Tally {
        n,
        rounds,
        received: (0..n * rounds).map(|_| AtomicU8::new(0)).collect(),
        misrouted: AtomicUsize::new(0),
        dropped: AtomicUsize::new(0),
        soaking: AtomicBool::new(false),
    });

    // Log in, LOGIN_BATCH at a time.
    let t0 = Instant::now();
    let (tx, events) = channel();
    let conns = log_in_all(n, &events, |i, heard| {
        let driver = driver.as_ref().map(|(d, _)| &**d);
        start_login(&url, &domain, i, &tally, tx.clone(), heard, driver)
    });
    let jids: Vec<String> = conns.iter().map(|c| c.jid()).collect();
    let login_time = t0.elapsed();
    let (threads_up, fds_up) = threads_and_fds();
    let rss_up = rss_kb();
    let steps_at = |when: &str| {
        if let Some((d, _)) = &driver {
            println!(
                "soak: {when}: {} driver steps",
                d.steps.load(Ordering::Relaxed)
            );
        }
    };
    steps_at("logged in");
    println!(
        "soak: {n} connections up in {:.1} s ({:.0}/s): {threads_up} threads, {fds_up} fds, \
         RSS {} MiB, {:.1} KiB per connection",
        login_time.as_secs_f64(),
        n as f64 / login_time.as_secs_f64(),
        rss_up / 1024,
        rss_up.saturating_sub(rss_before) as f64 / n as f64
    );

    // Idle first: every connection logged in, nothing to do.
    std::thread::sleep(Duration::from_secs(2)); // the last logins' answers settle
    let (idle_cpu0, idle_wakes0) = usage();
    std::thread::sleep(IDLE);
    let (idle_cpu1, idle_wakes1) = usage();
    println!(
        "soak: idle for {:?}: {:.3} s CPU ({:.3}% of a core), {} wake-ups",
        IDLE,
        (idle_cpu1 - idle_cpu0).as_secs_f64(),
        (idle_cpu1 - idle_cpu0).as_secs_f64() * 100.0 / IDLE.as_secs_f64(),
        idle_wakes1 - idle_wakes0
    );

    // The soak: one message per connection per round, spread evenly.
    tally.soaking.store(true, Ordering::Release);
    let (soak_cpu0, _) = usage();
    let gap = ROUND / n as u32;
    let start = Instant::now();
    let mut rss_samples = Vec::new();
    let mut sent = 0usize;
    for round in 0..rounds {
        let round_start = start + ROUND * round as u32;
        for i in 0..n {
            let due = round_start + gap * i as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let to = &jids[(i + 1) % n];
            let msg = Builder::msg([("to", to.as_str()), ("type", "chat")])
                .c_text("body", epode::xml::NO_ATTRS, &format!("s{i}:{round}"))
                .build();
            conns[i].send(&msg).expect("send");
            sent += 1;
        }
        if round % 5 == 0 || round + 1 == rounds {
            rss_samples.push(rss_kb());
            println!(
                "soak: round {}/{rounds}, {sent} sent, {} delivered, RSS {} MiB",
                round + 1,
                tally.delivered(),
                rss_kb() / 1024
            );
        }
    }
    // Let the last messages land.
    let deadline = Instant::now() + Duration::from_secs(30);
    while tally.delivered() < sent && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let soak_time = start.elapsed();
    let soak_cpu = usage().0 - soak_cpu0;
    steps_at("soaked");
    let rss_end = rss_kb();
    tally.soaking.store(false, Ordering::Release);

    // Everyone leaves.
    drop(tx);
    for conn in &conns {
        conn.disconnect(None).expect("disconnect");
    }
    let mut gone = 0;
    while gone < n {
        match events.recv_timeout(Duration::from_secs(30)) {
            Ok((_, Status::Disconnected, _, _)) => gone += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    drop(conns);
    steps_at("all gone");
    if let Some(driver) = driver {
        Driver::finish(driver);
    }
    // Engine threads end as their handles go; give them a moment.
    let settle = Instant::now() + Duration::from_secs(10);
    let (mut threads_after, mut fds_after) = threads_and_fds();
    while (threads_after, fds_after) != (threads_before, fds_before) && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(100));
        (threads_after, fds_after) = threads_and_fds();
    }

    // The verdict.
    let counts: Vec<u8> = tally
        .received
        .iter()
        .map(|c| c.load(Ordering::Acquire))
        .collect();
    let lost = counts.iter().filter(|&&c| c == 0).count();
    let duplicated = counts.iter().filter(|&&c| c > 1).count();
    let misrouted = tally.misrouted.load(Ordering::Acquire);
    let dropped = tally.dropped.load(Ordering::Acquire);
    // Flat: the end of the soak within 10% (+4 MiB) of the sample taken
    // after a warm-up of five rounds, when every buffer has been used.
    let rss_start = rss_samples
        .get(1)
        .or(rss_samples.first())
        .copied()
        .unwrap_or(rss_end);
    let flat = rss_end <= rss_start + rss_start / 10 + 4096;
    println!(
        "soak: connections {n}, rounds {rounds} of {:?}, soak {:.0} s",
        ROUND,
        soak_time.as_secs_f64()
    );
    println!("soak: messages sent {sent}, received {}, lost {lost}, duplicated {duplicated}, misrouted {misrouted}", sent - lost);
    println!(
        "soak: client CPU {:.1} s, {:.1} µs per message sent and received",
        soak_cpu.as_secs_f64(),
        soak_cpu.as_secs_f64() * 1e6 / sent.max(1) as f64
    );
    println!(
        "soak: RSS before {} MiB, after the warm-up {} KiB, at the end {} KiB ({:+.1}%), samples {:?} MiB",
        rss_before / 1024,
        rss_start,
        rss_end,
        (rss_end as f64 - rss_start as f64) * 100.0 / rss_start as f64,
        rss_samples.iter().map(|k| k / 1024).collect::<Vec<_>>()
    );
    println!(
        "soak: threads before {threads_before}, with all up {threads_up}, after {threads_after}"
    );
    println!("soak: fds before {fds_before}, with all up {fds_up}, after {fds_after}");
    println!("soak: sessions ended early {dropped}, disconnected cleanly {gone}/{n}");
    let mut failures = Vec::new();
    if sent != n * rounds {
        failures.push(format!("sent {sent} of {}", n * rounds));
    }
    if lost + duplicated + misrouted > 0 {
        failures.push(format!(
            "lost {lost}, duplicated {duplicated}, misrouted {misrouted}"
        ));
    }
    if dropped > 0 || gone < n {
        failures.push(format!(
            "{dropped} sessions ended early, {gone}/{n} disconnected"
        ));
    }
    if !flat {
        failures.push(format!("RSS grew from {rss_start} KiB to {rss_end} KiB"));
    }
    if threads_after != threads_before || fds_after != fds_before {
        failures.push("threads or fds leaked".into());
    }
    if failures.is_empty() {
        println!("soak: 1 passed, 0 failed");
    } else {
        println!("soak: FAILED: {}", failures.join("; "));
        println!("soak: 0 passed, 1 failed");
        std::process::exit(1);
    }
}
