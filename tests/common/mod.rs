//! Shared by the integration tests: the private servers' settings (from the
//! env files the server scripts write) and a status recorder.
#![allow(dead_code)]

pub mod dns;
pub mod fake_http;
pub mod fake_ws;
pub mod proxy;

use epode::{Connection, Element, Options, Status};
use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One running test server, as its `DIR/env` file describes it.
#[derive(Debug, Clone)]
pub struct Server {
    pub vars: HashMap<String, String>,
}

impl Server {
    /// The server named `which` ("prosody" or "ejabberd"). A test that needs
    /// a server and finds none fails: it never skips in silence.
    pub fn get(which: &str) -> Server {
        let var = format!("EPODE_TEST_{}", which.to_ascii_uppercase());
        let dir = std::env::var(&var).unwrap_or_else(|_| {
            panic!("{var} is not set: start the servers with tests/run-all.sh (or tests/servers/{which}.sh start DIR and export {var}=DIR)")
        });
        let path = format!("{dir}/env");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let mut vars = HashMap::new();
        for line in text.lines() {
            let line = line.trim().trim_start_matches("export ");
            if let Some((k, v)) = line.split_once('=') {
                vars.insert(k.to_string(), v.trim_matches('\'').to_string());
            }
        }
        Server { vars }
    }

    pub fn var(&self, name: &str) -> String {
        self.vars
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("the server's env has no {name}"))
    }

    pub fn name(&self) -> String {
        self.var("XMPP_SERVER")
    }

    pub fn jid(&self, user: &str) -> String {
        format!("{user}@{}", self.var("XMPP_DOMAIN"))
    }

    pub fn password(&self, user: &str) -> String {
        format!("{user}-pass")
    }

    pub fn ws(&self) -> String {
        self.var("XMPP_WS_URL")
    }

    pub fn wss(&self) -> String {
        self.var("XMPP_WSS_URL")
    }

    pub fn bosh(&self) -> String {
        self.var("XMPP_BOSH_URL")
    }

    pub fn bosh_https(&self) -> String {
        self.var("XMPP_BOSH_HTTPS_URL")
    }

    /// The c2s port with STARTTLS.
    pub fn tcp(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.var("XMPP_C2S_PORT"))
    }

    /// The c2s port with TLS from the first byte (XEP-0368).
    pub fn tls(&self) -> String {
        format!("tls://127.0.0.1:{}", self.var("XMPP_C2S_TLS_PORT"))
    }

    pub fn tls_options(&self) -> Options {
        let mut o = Options::default();
        o.set("ca_file", &self.var("XMPP_CA_FILE")).unwrap();
        o
    }
}

pub type Event = (Status, Option<String>);

/// Records every status a connection reports.
pub struct Recorder {
    pub rx: Receiver<Event>,
    pub seen: Vec<Event>,
}

/// A status callback, as `Connection::connect` takes it.
pub type StatusCallback =
    Box<dyn FnMut(&Connection, Status, Option<&str>, Option<&Element>) + Send>;

/// Items shared between a test and its callbacks.
pub type Shared<T> = Arc<Mutex<Vec<T>>>;

pub fn recorder() -> (Recorder, StatusCallback) {
    let (tx, rx): (Sender<Event>, Receiver<Event>) = channel();
    let tx = Mutex::new(tx);
    let cb = move |_: &Connection, s: Status, c: Option<&str>, _: Option<&Element>| {
        let _ = tx.lock().unwrap().send((s, c.map(str::to_string)));
    };
    (
        Recorder {
            rx,
            seen: Vec::new(),
        },
        Box::new(cb),
    )
}

/// A recorder whose callback also keeps, for each status, the element
/// that came with it (serialized), or None.
pub fn recorder_with_elements() -> (Recorder, StatusCallback, Shared<(Status, Option<String>)>) {
    let (rec, mut inner) = recorder();
    let (elements, kept) = collector::<(Status, Option<String>)>();
    let cb = move |c: &Connection, s: Status, cond: Option<&str>, e: Option<&Element>| {
        kept.lock().unwrap().push((s, e.map(|e| e.to_xml())));
        inner(c, s, cond, e);
    };
    (rec, Box::new(cb), elements)
}

impl Recorder {
    /// Waits until `status` is reported (or fails after `secs`), returning
    /// every status seen so far.
    pub fn wait_for(&mut self, status: Status, secs: u64) -> Vec<Event> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.seen.iter().any(|(s, _)| *s == status) {
                return self.seen.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(e) => self.seen.push(e),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {status} within {secs}s; saw {:?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("callback gone before {status}; saw {:?}", self.seen)
                }
            }
        }
    }

    pub fn statuses(&self) -> Vec<Status> {
        self.seen.iter().map(|(s, _)| *s).collect()
    }
}

/// Collects items sent from callbacks.
pub fn collector<T: Send + 'static>() -> (Shared<T>, Shared<T>) {
    let v = Arc::new(Mutex::new(Vec::new()));
    (Arc::clone(&v), v)
}

/// A whole session as the status callback reports it, from `connect()` to
/// the end of a `disconnect()`.
pub const CLEAN_SESSION: [Status; 5] = [
    Status::Connecting,
    Status::Authenticating,
    Status::Connected,
    Status::Disconnecting,
    Status::Disconnected,
];

/// Everything `conn` writes, as the rawOutput hook sees it.
pub fn collect_output(conn: &Connection) -> Shared<String> {
    let (sent, cb) = collector::<String>();
    conn.set_raw_output(Some(move |_: &Connection, t: &str| {
        cb.lock().unwrap().push(t.to_string())
    }));
    sent
}

/// Registers a handler that collects the body of every message `conn` gets.
pub fn collect_bodies(conn: &Connection) -> Shared<String> {
    let (bodies, cb) = collector::<String>();
    conn.add_handler(epode::Matcher::new().name("message"), move |_, m| {
        cb.lock()
            .unwrap()
            .push(m.child_text("body").unwrap_or_default());
        epode::Keep::Keep
    })
    .unwrap();
    bodies
}

/// Polls `cond` until true or `secs` pass.
pub fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Logs `user` in over `url` and waits for CONNECTED.
pub fn login(server: &Server, url: &str, user: &str, options: Options) -> (Connection, Recorder) {
    let conn = Connection::new(url, options).expect("connection");
    let (mut rec, cb) = recorder();
    conn.connect(&server.jid(user), Some(&server.password(user)), cb)
        .expect("connect");
    rec.wait_for(Status::Connected, 20);
    (conn, rec)
}

/// The cdylib that child processes (Python through ctypes) load:
/// `$EPODE_LIB`, else the one beside this test binary's target directory.
/// A test that needs it and finds none fails.
pub fn cdylib() -> std::path::PathBuf {
    let lib = std::env::var_os("EPODE_LIB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().and_then(std::path::Path::parent).unwrap();
            dir.join("libepode.so")
        });
    assert!(
        lib.exists(),
        "{} is missing: `cargo build --lib` first, or set EPODE_LIB (tests/run-all.sh does)",
        lib.display()
    );
    lib
}

/// The sessions of `user` as the server lists them: one line per
/// session of Prosody's admin shell (`c2s:show()`, which also lists those
/// kept for resumption, marked "hibernating"), or ejabberd's resources of
/// the user from its HTTP API. The API answers in milliseconds, where an
/// `erl` node started for each probe took seconds of CPU under load: too
/// slow for a test that must look within a grace period.
pub fn session_lines(server: &Server, user: &str) -> Vec<String> {
    let domain = server.var("XMPP_DOMAIN");
    if server.name() == "prosody" {
        let output = std::process::Command::new(server.var("XMPP_CTL"))
            .args(["shell", "c2s:show()"])
            .output()
            .expect("prosodyctl shell");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("c2s sessions shown"), "{text}");
        // One table row per session: "c2s… | alice@localhost/res | …"
        let jid = format!("| {user}@{domain}/");
        return text
            .lines()
            .filter(|l| l.contains(&jid))
            .map(str::to_string)
            .collect();
    }
    let url = format!("{}/user_resources", server.var("XMPP_API_URL"));
    let request = format!(r#"{{"user":"{user}","host":"{domain}"}}"#);
    let text = ureq::post(&url)
        .header("Content-Type", "application/json")
        .send(request.as_bytes())
        .and_then(|mut r| r.body_mut().read_to_string())
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    // A JSON list of strings; resources hold no quotes or commas here.
    let list = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'));
    let list = list.unwrap_or_else(|| panic!("{url}: not a list: {text:?}"));
    list.split(',')
        .map(|r| r.trim().trim_matches('"').to_string())
        .filter(|r| !r.is_empty())
        .map(|resource| format!("{user}@{domain}/{resource}"))
        .collect()
}

/// How many sessions `user` has on the server, as the server counts them.
pub fn sessions_of(server: &Server, user: &str) -> usize {
    session_lines(server, user).len()
}

/// Duplicates, losses and order among message bodies numbered 0..n.
pub fn tally(got: &[String], n: usize) -> (usize, usize, bool) {
    let numbers: Vec<usize> = got.iter().filter_map(|b| b.parse().ok()).collect();
    let mut seen = vec![0usize; n];
    for &k in numbers.iter().filter(|&&k| k < n) {
        seen[k] += 1;
    }
    let dups = seen.iter().map(|&c| c.saturating_sub(1)).sum();
    let lost = seen.iter().filter(|&&c| c == 0).count();
    (dups, lost, numbers.windows(2).all(|w| w[0] < w[1]))
}

/// Each test once per server, as tests of their own that run side by side
/// (`#[macro_use] mod common;` to use it).
#[allow(unused_macros)]
macro_rules! on_both_servers {
    ($($name:ident),* $(,)?) => {
        mod prosody {
            $(#[test]
            fn $name() {
                super::$name(super::Server::get("prosody"))
            })*
        }
        mod ejabberd {
            $(#[test]
            fn $name() {
                super::$name(super::Server::get("ejabberd"))
            })*
        }
    };
}
