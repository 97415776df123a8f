//! Idle CPU (issue 19): many WebSocket connections logged in to the test
//! ejabberd and then left alone; the CPU time this process uses meanwhile
//! (getrusage, every thread), and how often its threads woke (voluntary
//! context switches). Run with the liveness check at its default interval,
//! off, and at a short interval: an idle connection should wake once per
//! interval and no more, and cost next to nothing.
//!
//!   ulimit -n 20000; EPODE_TEST_EJABBERD=DIR cargo bench --bench idle -- [CONNECTIONS] [SECONDS]
//!
//! (default 1000 connections, 60 s each; DIR is a running test ejabberd,
//! `tests/servers/ejabberd.sh start DIR BASE`). ejabberd itself sends each
//! WebSocket a ping frame every 60 s (`websocket_ping_interval`), which
//! wakes every connection that often whatever epode does. A program, not a
//! test: it asserts nothing about time, it reports. With `--pollable`, one
//! driver thread runs every connection from one epoll set instead.

use epode::{Connection, Options, Status};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::driver::Driver;
use support::{
    args, flag, log_in_all, note_answer, register_accounts, report_to, server_env, usage, PASSWORD,
};

mod support;

/// The liveness intervals compared (ms; 0 = off).
const INTERVALS: [&str; 3] = ["60000", "0", "10000"];
/// After the logins, before measuring: the last answers settle.
const SETTLE: Duration = Duration::from_secs(5);

/// Logs in soak0 … soak{n-1} with `interval`, driven by `driver` if given.
fn log_in(
    url: &str,
    domain: &str,
    n: usize,
    interval: &str,
    driver: Option<&Driver>,
) -> Vec<Arc<Connection>> {
    let (tx, rx) = channel();
    log_in_all(n, &rx, |i, heard| {
        let mut o = Options::default();
        o.set("mechanisms", "PLAIN").unwrap(); // no PBKDF2 × 1,000 on a shared machine
        o.set("pingInterval", interval).unwrap();
        let conn = Driver::connection(driver, url, o);
        note_answer(&conn, heard);
        conn.connect(
            &format!("soak{i}@{domain}"),
            Some(PASSWORD),
            report_to(i, tx.clone()),
        )
        .expect("connect");
        conn
    })
}

fn main() {
    let (n, seconds) = args(1000, 60);
    let env = server_env();
    let (url, domain) = (env["XMPP_WS_URL"].clone(), env["XMPP_DOMAIN"].clone());
    register_accounts(&env, n);
    let pollable = flag("pollable");
    for interval in INTERVALS {
        let driver = pollable.then(Driver::start);
        let t0 = Instant::now();
        let conns = log_in(
            &url,
            &domain,
            n,
            interval,
            driver.as_ref().map(|(d, _)| &**d),
        );
        let login_time = t0.elapsed();
        std::thread::sleep(SETTLE);
        let (cpu0, switches0) = usage();
        let start = Instant::now();
        std::thread::sleep(Duration::from_secs(seconds));
        let (cpu1, switches1) = usage();
        let wall = start.elapsed().as_secs_f64();
        let cpu = (cpu1 - cpu0).as_secs_f64();
        let wakes = (switches1 - switches0) as f64;
        let still_up = conns
            .iter()
            .filter(|c| c.status() == Some(Status::Connected))
            .count();
        println!(
            "idle: {n} connections, pingInterval {interval} ms: {cpu:.3} s CPU in {wall:.0} s \
             ({:.3}% of a core), {wakes:.0} wake-ups ({:.2} per connection per minute); \
             {still_up} still connected; logins took {:.1} s{}",
            cpu * 100.0 / wall,
            wakes / n as f64 / (wall / 60.0),
            login_time.as_secs_f64(),
            if pollable {
                " (pollable, one thread)"
            } else {
                ""
            }
        );
        for conn in &conns {
            let _ = conn.disconnect(None);
        }
        drop(conns);
        if let Some(driver) = driver {
            std::thread::sleep(Duration::from_secs(2)); // the driver sends the closes
            Driver::finish(driver);
        }
        // Freed handles end their sessions; give the server a moment.
        std::thread::sleep(Duration::from_secs(3));
    }
}
