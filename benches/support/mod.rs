//! What the soak and idle programs share: the test ejabberd's settings
//! and its accounts soak0 … soak{n-1}.

use epode::{Connection, Element, Status};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

pub mod driver;

/// What a connection's status callback reports: (index, status,
/// condition, the failure's detail).
pub type Event = (usize, Status, Option<String>, Option<String>);

/// CPU time of the whole process, and its voluntary context switches.
pub fn usage() -> (Duration, i64) {
    // SAFETY: getrusage fills the zeroed struct we pass it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(ru.ru_utime) + tv(ru.ru_stime), ru.ru_nvcsw)
}

/// Whether `--NAME` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a.strip_prefix("--") == Some(name))
}

/// `[CONNECTIONS] [SECONDS]` from the command line (cargo's own flags
/// such as --bench are passed over).
pub fn args(connections: usize, seconds: u64) -> (usize, u64) {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let n = args
        .first()
        .map_or(connections, |a| a.parse().expect("CONNECTIONS"));
    let secs = args.get(1).map_or(seconds, |a| a.parse().expect("SECONDS"));
    (n, secs)
}

/// How many logins per run may go unanswered by the server before the run
/// fails (see `log_in_all`): 1 % of the soak's. CI's ejabberd, which has
/// served every test before the soak, left one per run in 2 of 4 runs.
const UNANSWERED_ALLOWED: usize = 10;

/// Logs in connections 0 … n-1, LOGIN_BATCH at a time. `start(i, heard)`
/// makes connection i and connects it, its status callback sending to
/// `events`, after `note_answer(&conn, heard)`. Any outcome other than
/// CONNECTED panics, with one exception: ejabberd 23.01, under load, now
/// and then never answers the `<open/>` of a fresh WebSocket (packet
/// captures show our frame delivered and acknowledged 1 ms after its
/// 101, then 30 s of silence and its close: 7 logins in about 110,000
/// here, with the cores loaded).
/// A login that heard nothing at all after the upgrade is the server's,
/// so it is made again, and said so; at most UNANSWERED_ALLOWED per run.
pub fn log_in_all(
    n: usize,
    events: &Receiver<Event>,
    mut start: impl FnMut(usize, Arc<AtomicBool>) -> Arc<Connection>,
) -> Vec<Arc<Connection>> {
    let mut heard: Vec<Arc<AtomicBool>> = (0..n).map(|_| Arc::default()).collect();
    let mut conns: Vec<Arc<Connection>> = Vec::with_capacity(n);
    let mut unanswered = 0;
    for batch in (0..n).collect::<Vec<_>>().chunks(LOGIN_BATCH) {
        for &i in batch {
            conns.push(start(i, Arc::clone(&heard[i])));
        }
        let mut retrying = vec![false; n];
        let mut up = 0;
        while up < batch.len() {
            let (i, status, condition, detail) = events
                .recv_timeout(Duration::from_secs(60))
                .expect("a login result within 60 s");
            match status {
                Status::Connected => {
                    up += 1;
                    conns[i].set_raw_input(None::<fn(&Connection, &str)>);
                }
                Status::Connecting | Status::Authenticating => {}
                Status::ConnFail | Status::ConnTimeout
                    if unanswered_header(&heard[i], condition.as_deref(), detail.as_deref())
                        && unanswered < UNANSWERED_ALLOWED =>
                {
                    unanswered += 1;
                    retrying[i] = true;
                    println!(
                        "soak: the server never answered soak{i}'s stream header \
                         ({status}: {condition:?}, {detail:?}); logging in again"
                    );
                }
                // The end of the unanswered attempt: then the next one.
                Status::Disconnected if retrying[i] => {
                    retrying[i] = false;
                    heard[i] = Arc::default();
                    conns[i] = start(i, Arc::clone(&heard[i]));
                }
                _ => panic!("soak{i}: {status} {condition:?} ({detail:?})"),
            }
        }
    }
    conns
}

/// A login that heard nothing after the WebSocket upgrade and ended by
/// the login's deadline or the server's wordless close.
fn unanswered_header(heard: &AtomicBool, condition: Option<&str>, detail: Option<&str>) -> bool {
    !heard.load(Ordering::Acquire)
        && (condition == Some("connection timeout")
            || detail.is_some_and(|d| d.ends_with(": the link was lost")))
}

/// A status callback that reports connection `i`'s statuses to `events`.
pub fn report_to(
    i: usize,
    events: Sender<Event>,
) -> impl FnMut(&Connection, Status, Option<&str>, Option<&Element>) + Send + 'static {
    move |c, status, condition, _| {
        let detail = c.failure_detail();
        let _ = events.send((i, status, condition.map(str::to_string), detail));
    }
}

/// Sets `heard` when the server first sends anything on `conn`.
pub fn note_answer(conn: &Connection, heard: Arc<AtomicBool>) {
    conn.set_raw_input(Some(move |_: &Connection, _: &str| {
        heard.store(true, Ordering::Release)
    }));
}

/// Logins in flight at once.
const LOGIN_BATCH: usize = 100;
pub const PASSWORD: &str = "soak-pass";

pub fn server_env() -> HashMap<String, String> {
    let dir = std::env::var("EPODE_TEST_EJABBERD")
        .expect("EPODE_TEST_EJABBERD=DIR of a running test ejabberd (see benches/soak.sh)");
    let text = std::fs::read_to_string(format!("{dir}/env")).expect("DIR/env");
    text.lines()
        .filter_map(|l| l.trim_start_matches("export ").split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// soak0 … soak{n-1} on the server, in one call of its `eval` script.
pub fn register_accounts(env: &HashMap<String, String>, n: usize) {
    let expr = format!(
        "[ejabberd_auth:try_register(<<\"soak\", (integer_to_binary(I))/binary>>, <<\"{}\">>, <<\"{PASSWORD}\">>) || I <- lists:seq(0, {})], ok.",
        env["XMPP_DOMAIN"],
        n - 1
    );
    let out = std::process::Command::new(&env["XMPP_EVAL"])
        .arg(expr)
        .output()
        .expect("run the server's eval script");
    assert!(
        out.status.success(),
        "registering the soak accounts failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
