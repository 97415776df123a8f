//! Pollable mode (issue 17) against real Prosody and ejabberd: one thread
//! drives many connections of every transport from one poll() over their
//! descriptors, and no call waits for the engine.

#[macro_use]
mod common;

use common::{collector, Server, Shared};
use epode::{Builder, Connection, Element, Keep, Matcher, Options, Status};
use std::time::{Duration, Instant};

on_both_servers!(
    one_thread_drives_many_connections_of_every_transport,
    an_idle_pollable_connection_leaves_its_descriptor_quiet,
);

/// Connections per transport.
const EACH: usize = 6;

/// The connections one loop drives, what each has seen, and how long the
/// longest step took.
struct Loop {
    conns: Vec<Connection>,
    statuses: Vec<Shared<Status>>,
    bodies: Vec<Shared<String>>,
    steps: usize,
    longest_step: Duration,
}

impl Loop {
    fn new() -> Loop {
        Loop {
            conns: Vec::new(),
            statuses: Vec::new(),
            bodies: Vec::new(),
            steps: 0,
            longest_step: Duration::ZERO,
        }
    }

    /// Adds a pollable connection to `url` and starts its login, which
    /// must not wait: not a status is reported before the loop runs.
    fn connect(&mut self, server: &Server, url: &str, user: &str, mut options: Options) {
        options.set("pollable", "true").unwrap();
        let conn = Connection::new(url, options).unwrap();
        let (statuses, seen) = collector::<Status>();
        let (bodies, got) = collector::<String>();
        conn.add_handler(Matcher::new().name("message"), move |_, m| {
            if let Some(b) = m.find_child("body", None) {
                got.lock().unwrap().push(b.text());
            }
            Keep::Keep
        })
        .unwrap();
        let start = Instant::now();
        conn.connect(
            &server.jid(user),
            Some(&server.password(user)),
            move |_, status, _, _| seen.lock().unwrap().push(status),
        )
        .unwrap();
        assert!(start.elapsed() < Duration::from_secs(2), "connect() waited");
        assert!(statuses.lock().unwrap().is_empty(), "{url}: {statuses:?}");
        self.conns.push(conn);
        self.statuses.push(statuses);
        self.bodies.push(bodies);
    }

    /// One poll() over every descriptor, bounded by the nearest timer; then
    /// a non-blocking step for each connection that is ready or due.
    fn turn(&mut self, most: Duration) {
        let now = Instant::now();
        let due: Vec<Option<Instant>> = self
            .conns
            .iter()
            .map(|c| c.next_timeout().unwrap().map(|t| now + t))
            .collect();
        let wait = due
            .iter()
            .flatten()
            .min()
            .map_or(most, |d| d.saturating_duration_since(now).min(most));
        let mut fds: Vec<libc::pollfd> = self
            .conns
            .iter()
            .map(|c| libc::pollfd {
                fd: c.poll_fd().unwrap(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = wait.as_micros().div_ceil(1000) as libc::c_int;
        // SAFETY: fds is a live array of pollfd of the length passed.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        assert!(rc >= 0, "{}", std::io::Error::last_os_error());
        let now = Instant::now();
        for (i, conn) in self.conns.iter().enumerate() {
            if fds[i].revents != 0 || due[i].is_some_and(|d| d <= now) {
                let start = Instant::now();
                conn.run_once(Duration::ZERO).unwrap();
                self.longest_step = self.longest_step.max(start.elapsed());
                self.steps += 1;
            }
        }
    }

    fn run_until(&mut self, what: &str, secs: u64, done: impl Fn(&Loop) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what}: not within {secs} s: {:?}",
                self.statuses
            );
            self.turn(Duration::from_millis(500));
        }
    }

    fn all_have(&self, status: Status) -> bool {
        self.statuses
            .iter()
            .all(|s| s.lock().unwrap().contains(&status))
    }
}

fn chat(to: &str, body: &str) -> Element {
    Builder::msg([("to", to), ("type", "chat")])
        .c_text("body", epode::xml::NO_ATTRS, body)
        .build()
}

/// Every transport: WebSocket, BOSH, TCP with STARTTLS, the shared
/// connection's too.
fn services(server: &Server) -> Vec<(String, Options)> {
    let mut tls = Options::default();
    tls.set("ca_file", &server.var("XMPP_CA_FILE")).unwrap();
    vec![
        (server.ws(), Options::default()),
        (server.bosh(), Options::default()),
        (server.tcp(), tls),
    ]
}

fn one_thread_drives_many_connections_of_every_transport(server: Server) {
    let mut lp = Loop::new();
    for (url, mut options) in services(&server) {
        // SCRAM's key derivation is CPU work inside a step (a quarter of a
        // second in a debug build): PLAIN, so the longest step measures
        // waiting, which must never happen.
        options.set("mechanisms", "PLAIN").unwrap();
        for n in 0..EACH {
            let user = ["alice", "bob", "carol", "dave"][n % 4];
            lp.connect(&server, &url, user, options.clone());
        }
    }
    let shared = format!("pollable-{}-{}", server.name(), std::process::id());
    let mut o = Options::default();
    o.set("worker", &shared).unwrap();
    o.set("mechanisms", "PLAIN").unwrap();
    lp.connect(&server, &server.ws(), "carol", o);
    lp.run_until("every login", 60, |lp| lp.all_have(Status::Connected));
    // Each sends a numbered message to itself, through the server.
    for (i, conn) in lp.conns.iter().enumerate() {
        conn.send(&chat(&conn.jid(), &format!("to myself {i}")))
            .unwrap();
    }
    lp.run_until("every message back", 30, |lp| {
        lp.bodies.iter().all(|b| !b.lock().unwrap().is_empty())
    });
    for (i, bodies) in lp.bodies.iter().enumerate() {
        assert_eq!(*bodies.lock().unwrap(), [format!("to myself {i}")]);
    }
    for conn in &lp.conns {
        conn.disconnect(None).unwrap();
    }
    lp.run_until("every logout", 30, |lp| lp.all_have(Status::Disconnected));
    println!(
        "{}: {} connections, {} steps, the longest {:?}",
        server.name(),
        lp.conns.len(),
        lp.steps,
        lp.longest_step
    );
    for (i, s) in lp.statuses.iter().enumerate() {
        let s = s.lock().unwrap();
        assert_eq!(s.first(), Some(&Status::Connecting), "{i}: {s:?}");
        assert_eq!(s.last(), Some(&Status::Disconnected), "{i}: {s:?}");
    }
    // A bound against a step that waits, far above what one takes.
    assert!(
        lp.longest_step < Duration::from_secs(1),
        "{:?}",
        lp.longest_step
    );
}

/// Once logged in and idle, nothing is ready: the loop sleeps in poll()
/// rather than spinning, until a timer or the server has something.
fn an_idle_pollable_connection_leaves_its_descriptor_quiet(server: Server) {
    let mut lp = Loop::new();
    for (url, options) in services(&server) {
        lp.connect(&server, &url, "dave", options);
    }
    lp.run_until("every login", 30, |lp| lp.all_have(Status::Connected));
    // Let the last answers after the login arrive.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(1) {
        lp.turn(Duration::from_millis(100));
    }
    let before = lp.steps;
    let idle = Instant::now();
    while idle.elapsed() < Duration::from_secs(3) {
        lp.turn(Duration::from_millis(500));
    }
    let steps = lp.steps - before;
    println!("{}: {steps} steps in 3 s idle", server.name());
    // A BOSH session is answered every `wait` (60 s): a few steps, not
    // the thousands of a descriptor that stays readable.
    assert!(steps <= 3 * lp.conns.len(), "{steps} steps");
    for conn in &lp.conns {
        conn.disconnect(None).unwrap();
    }
    lp.run_until("every logout", 30, |lp| lp.all_have(Status::Disconnected));
}

/// The pollable calls on a connection that is not, and leaving sync mode
/// on one that is: clear errors, nothing changed.
#[test]
fn pollable_calls_in_the_wrong_mode_are_refused() {
    let plain = Connection::new("ws://127.0.0.1:1/ws", Options::default()).unwrap();
    assert!(matches!(plain.poll_fd(), Err(epode::Error::WrongState(_))));
    assert!(matches!(
        plain.next_timeout(),
        Err(epode::Error::WrongState(_))
    ));
    let mut o = Options::default();
    o.set("pollable", "true").unwrap();
    let pollable = Connection::new("ws://127.0.0.1:1/ws", o).unwrap();
    assert_eq!(pollable.option("sync").as_deref(), Ok("true"));
    assert!(matches!(
        pollable.set_sync(false),
        Err(epode::Error::WrongState(_))
    ));
    let fd = pollable.poll_fd().unwrap();
    assert_eq!(pollable.poll_fd().unwrap(), fd, "one descriptor for life");
    assert_eq!(pollable.next_timeout(), Ok(None), "no timer before connect");
}
