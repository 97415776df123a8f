//! The shared connection (seed 000, issue #5) against real Prosody and
//! ejabberd: several handles, one socket, in one process and across
//! processes; the server counts the sessions.

mod common;

use common::{
    collect_bodies, collector, eventually, login, recorder, sessions_of, Recorder, Server,
};
use epode::{Builder, Connection, Options, Status};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn servers() -> Vec<Server> {
    vec![Server::get("prosody"), Server::get("ejabberd")]
}

/// The tests count erin's sessions on the server: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

fn assert_sessions(server: &Server, user: &str, want: usize) {
    // The server may take a moment to drop a closed session.
    let mut last = 0;
    for _ in 0..100 {
        last = sessions_of(server, user);
        if last == want {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{}: {user} has {last} sessions, expected {want}",
        server.name()
    );
}

fn worker_options(worker: &str) -> Options {
    let mut o = Options::default();
    o.set("worker", worker).unwrap();
    o
}

fn handle(server: &Server, worker: &str) -> Connection {
    Connection::new(&server.ws(), worker_options(worker)).unwrap()
}

fn connect(conn: &Connection, server: &Server, user: &str) -> Recorder {
    connect_as(conn, &server.jid(user), &server.password(user))
}

fn connect_as(conn: &Connection, jid: &str, password: &str) -> Recorder {
    let (rec, cb) = recorder();
    conn.connect(jid, Some(password), cb).unwrap();
    rec
}

/// A handle of `worker` that logs erin in (the first one drives the login).
fn log_in(server: &Server, worker: &str) -> (Connection, Recorder) {
    let conn = handle(server, worker);
    let mut rec = connect(&conn, server, "erin");
    rec.wait_for(Status::Connected, 20);
    (conn, rec)
}

fn attach(conn: &Connection) -> Recorder {
    let (rec, cb) = recorder();
    conn.attach_shared(cb).unwrap();
    rec
}

fn chat(to: &str, body: &str) -> epode::Element {
    Builder::msg([("to", to), ("type", "chat")])
        .c_text("body", [] as [(&str, &str); 0], body)
        .build()
}

fn unique(tag: &str, server: &Server) -> String {
    format!("{tag}-{}-{}", server.name(), std::process::id())
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("epode-shared-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn three_handles_in_one_process_share_one_session() {
    let _serial = serial();
    for server in servers() {
        let worker = unique("three", &server);
        let (a, mut ra) = log_in(&server, &worker);
        assert_eq!(
            ra.statuses(),
            [
                Status::Connecting,
                Status::Authenticating,
                Status::Connected
            ]
        );

        // A later connect() for the same account attaches: no second login.
        let b = handle(&server, &worker);
        let mut rb = connect(&b, &server, "erin");
        rb.wait_for(Status::Attached, 20);
        assert_eq!(rb.statuses(), [Status::Connecting, Status::Attached]);
        let c = handle(&server, &worker);
        let mut rc = attach(&c);
        rc.wait_for(Status::Attached, 20);
        assert_eq!(rc.statuses(), [Status::Attached]);
        assert_eq!(b.jid(), a.jid());
        assert_eq!(c.jid(), a.jid());
        assert!(b.authenticated() && c.authenticated());
        assert_sessions(&server, "erin", 1);

        // Every handle hears what is sent to the session's JID.
        let bodies = [&a, &b, &c].map(collect_bodies);
        let (bob, _rbob) = login(&server, &server.ws(), "bob", Options::default());
        let bob_got = collect_bodies(&bob);
        bob.send(&chat(&a.jid(), "to all three")).unwrap();
        for (n, got) in bodies.iter().enumerate() {
            eventually(10, &format!("handle {n} hears bob"), || {
                got.lock().unwrap().contains(&"to all three".to_string())
            });
        }

        // Every handle can send.
        for (conn, body) in [(&a, "from a"), (&b, "from b"), (&c, "from c")] {
            conn.send(&chat(&bob.jid(), body)).unwrap();
        }
        eventually(10, "bob hears all three handles", || {
            let got = bob_got.lock().unwrap();
            ["from a", "from b", "from c"]
                .iter()
                .all(|w| got.contains(&w.to_string()))
        });

        // An IQ's answer reaches the handle that asked, once.
        let (answers, answers_cb) = collector::<String>();
        let ping = Builder::iq([("type", "get"), ("to", server.var("XMPP_DOMAIN").as_str())])
            .c("ping", [("xmlns", "urn:xmpp:ping")])
            .build();
        let (ok, err) = (answers_cb.clone(), answers_cb.clone());
        c.send_iq(
            ping,
            move |conn, _| {
                ok.lock()
                    .unwrap()
                    .push(format!("result for {}", conn.jid()))
            },
            move |_, _| err.lock().unwrap().push("error".into()),
            Some(Duration::from_secs(5)),
        )
        .unwrap();
        eventually(10, "the ping's answer", || {
            !answers.lock().unwrap().is_empty()
        });
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            *answers.lock().unwrap(),
            [format!("result for {}", a.jid())]
        );

        // A handle that goes away detaches only.
        drop(c);
        bob.send(&chat(&a.jid(), "after c left")).unwrap();
        for got in &bodies[..2] {
            eventually(10, "a and b still hear", || {
                got.lock().unwrap().contains(&"after c left".to_string())
            });
        }
        assert_sessions(&server, "erin", 1);

        // disconnect() from any handle ends the session for every handle at once.
        a.disconnect(None).unwrap();
        ra.wait_for(Status::Disconnected, 10);
        let seen = rb.wait_for(Status::Disconnected, 10);
        let condition = seen.last().unwrap().1.clone().unwrap_or_default();
        assert!(condition.contains("another handle"), "{condition}");
        assert_sessions(&server, "erin", 0);

        // With the socket gone a new handle's attach fails; connect logs in afresh.
        let d = handle(&server, &worker);
        let mut rd = attach(&d);
        rd.wait_for(Status::Disconnected, 10);
        assert_eq!(rd.statuses(), [Status::AttachFail, Status::Disconnected]);
        let mut rd = connect(&d, &server, "erin");
        rd.wait_for(Status::Connected, 20);
        assert_eq!(
            rd.statuses(),
            [
                Status::Connecting,
                Status::Authenticating,
                Status::Connected
            ]
        );
        assert_sessions(&server, "erin", 1);
        d.disconnect(None).unwrap();
        rd.wait_for(Status::Disconnected, 10);
        bob.disconnect(None).unwrap();
    }
}

/// Two handles of one process send at once from their own threads (each
/// serves its sends on the manager itself while the manager's thread reads
/// the server): every handle hears both bursts whole and each in order.
#[test]
fn bursts_sent_from_two_handles_at_once_all_arrive_in_order() {
    let _serial = serial();
    const N: usize = 300;
    for server in servers() {
        let worker = unique("bursts", &server);
        let (a, mut ra) = log_in(&server, &worker);
        let b = handle(&server, &worker);
        let mut rb = connect(&b, &server, "erin");
        rb.wait_for(Status::Attached, 20);
        let heard = [&a, &b].map(collect_bodies);
        let to = a.jid();
        std::thread::scope(|s| {
            for (conn, tag) in [(&a, "a"), (&b, "b")] {
                let to = to.clone();
                s.spawn(move || {
                    for i in 0..N {
                        conn.send(&chat(&to, &format!("{tag}-{i}"))).unwrap();
                    }
                });
            }
        });
        for (n, got) in heard.iter().enumerate() {
            eventually(30, &format!("handle {n} hears {} messages", 2 * N), || {
                got.lock().unwrap().len() >= 2 * N
            });
            let got = got.lock().unwrap().clone();
            assert_eq!(got.len(), 2 * N, "handle {n}");
            for tag in ["a", "b"] {
                let mine: Vec<String> = got
                    .iter()
                    .filter(|body| body.starts_with(&format!("{tag}-")))
                    .cloned()
                    .collect();
                let want: Vec<String> = (0..N).map(|i| format!("{tag}-{i}")).collect();
                assert_eq!(mine, want, "handle {n}: {tag}'s burst");
            }
        }
        b.disconnect(None).unwrap();
        rb.wait_for(Status::Disconnected, 10);
        ra.wait_for(Status::Disconnected, 10);
    }
}

#[test]
fn a_handle_joining_during_the_login_waits_for_it() {
    let _serial = serial();
    for server in servers() {
        let worker = unique("late", &server);
        let (a, b) = (handle(&server, &worker), handle(&server, &worker));
        let mut ra = connect(&a, &server, "erin");
        // Whoever opens first drives: let a open, then b joins mid-login.
        ra.wait_for(Status::Authenticating, 20);
        let mut rb = connect(&b, &server, "erin");
        rb.wait_for(Status::Attached, 20);
        ra.wait_for(Status::Connected, 20);
        assert_eq!(rb.statuses(), [Status::Connecting, Status::Attached]);
        assert_eq!(b.jid(), a.jid());
        assert_sessions(&server, "erin", 1);
        b.disconnect(None).unwrap();
        rb.wait_for(Status::Disconnected, 10);
        ra.wait_for(Status::Disconnected, 10);
    }
}

#[test]
fn a_failed_login_fails_the_handles_waiting_for_it() {
    let _serial = serial();
    for server in servers() {
        let worker = unique("failed", &server);
        let (a, b) = (handle(&server, &worker), handle(&server, &worker));
        let (mut ra, cb) = recorder();
        a.connect(&server.jid("erin"), Some("wrong password"), cb)
            .unwrap();
        // a drives the login (whoever opens first drives; a joining handle
        // is not asked for the password: the worker is its user's own).
        ra.wait_for(Status::Authenticating, 20);
        let mut rb = connect(&b, &server, "erin");
        ra.wait_for(Status::Disconnected, 20);
        assert!(ra.statuses().contains(&Status::AuthFail), "{:?}", ra.seen);
        rb.wait_for(Status::Disconnected, 20);
        assert_eq!(
            rb.statuses(),
            [Status::Connecting, Status::AttachFail, Status::Disconnected]
        );
    }
}

/// The manager makes the TLS handshake on its own thread: over wss the
/// certificate is verified there (the test CA), and a second handle joins.
#[test]
fn a_worker_over_wss_verifies_the_certificate_and_shares_the_session() {
    let _serial = serial();
    for server in servers() {
        let worker = unique("wss", &server);
        let mut o = server.tls_options();
        o.set("worker", &worker).unwrap();
        let a = Connection::new(&server.wss(), o.clone()).unwrap();
        let mut ra = connect(&a, &server, "erin");
        ra.wait_for(Status::Connected, 20);
        let b = Connection::new(&server.wss(), o).unwrap();
        let mut rb = connect(&b, &server, "erin");
        rb.wait_for(Status::Attached, 20);
        assert_eq!(b.jid(), a.jid());
        assert_sessions(&server, "erin", 1);
        a.disconnect(None).unwrap();
        ra.wait_for(Status::Disconnected, 10);
        rb.wait_for(Status::Disconnected, 10);
        // Without the test CA the same worker name cannot log in.
        let untrusted = Connection::new(
            &server.wss(),
            worker_options(&unique("wss-untrusted", &server)),
        )
        .unwrap();
        let mut ru = connect(&untrusted, &server, "erin");
        let seen = ru.wait_for(Status::Disconnected, 20);
        assert_eq!(
            ru.statuses(),
            [Status::Connecting, Status::ConnFail, Status::Disconnected]
        );
        let why = seen[1].1.clone().unwrap_or_default();
        assert!(why.contains("certificate verify failed"), "{why}");
        assert_sessions(&server, "erin", 0);
    }
}

#[test]
fn connect_as_another_account_on_a_busy_worker_is_refused() {
    let _serial = serial();
    for server in servers() {
        let worker = unique("busy", &server);
        let (a, mut ra) = log_in(&server, &worker);
        let b = handle(&server, &worker);
        let mut rb = connect(&b, &server, "bob");
        let seen = rb.wait_for(Status::Disconnected, 10);
        assert_eq!(seen[1].0, Status::ConnFail, "{seen:?}");
        let why = seen[1].1.clone().unwrap_or_default();
        assert!(why.contains("logged in as"), "{why}");
        // erin's session is untouched.
        assert!(a.authenticated());
        a.disconnect(None).unwrap();
        ra.wait_for(Status::Disconnected, 10);
    }
}

/// Issue 20: the same account written in another case is the same
/// account: the handle joins the worker's session (ATTACHED), no refusal.
#[test]
fn connect_as_the_same_account_in_another_case_joins() {
    let _serial = serial();
    for server in servers() {
        let worker = unique("case", &server);
        let (a, mut ra) = log_in(&server, &worker);
        let b = handle(&server, &worker);
        let shouted = format!("ERIN@{}", server.var("XMPP_DOMAIN").to_uppercase());
        let mut rb = connect_as(&b, &shouted, &server.password("erin"));
        rb.wait_for(Status::Attached, 10);
        assert_eq!(rb.statuses(), [Status::Connecting, Status::Attached]);
        assert_eq!(b.jid(), a.jid());
        assert_sessions(&server, "erin", 1);
        b.disconnect(None).unwrap();
        rb.wait_for(Status::Disconnected, 10);
        ra.wait_for(Status::Disconnected, 10);
    }
}

#[test]
fn a_bosh_service_with_a_worker_is_a_clear_error() {
    let server = Server::get("prosody");
    let err = Connection::new(&server.bosh(), worker_options("w"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("WebSocket"), "{err}");
}

#[test]
fn a_path_worker_is_an_owner_only_socket_that_survives_garbage() {
    let _serial = serial();
    for server in servers() {
        let dir = temp_dir(&format!("garbage-{}", server.name()));
        let path = dir.join("w.sock");
        let worker = path.to_str().unwrap();
        let (a, _ra) = log_in(&server, worker);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);

        // Garbage from a local peer drops that peer, nobody else.
        let mut peer = UnixStream::connect(&path).unwrap();
        peer.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut rest = Vec::new();
        assert_eq!(peer.read_to_end(&mut rest).unwrap(), 0, "{rest:?}");

        let b = handle(&server, worker);
        let mut rb = connect(&b, &server, "erin");
        rb.wait_for(Status::Attached, 10);
        let bodies = [&a, &b].map(collect_bodies);
        let (bob, _rbob) = login(&server, &server.ws(), "bob", Options::default());
        bob.send(&chat(&a.jid(), "after garbage")).unwrap();
        for got in &bodies {
            eventually(10, "both handles hear bob", || {
                got.lock().unwrap().contains(&"after garbage".to_string())
            });
        }
        a.disconnect(None).unwrap();
        rb.wait_for(Status::Disconnected, 10);
        eventually(5, "the socket file removed", || !path.exists());
        bob.disconnect(None).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_stale_socket_left_by_a_killed_host_is_taken_over() {
    let _serial = serial();
    let server = Server::get("prosody");
    let dir = temp_dir("stale");
    let path = dir.join("w.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let (a, mut ra) = log_in(&server, path.to_str().unwrap());
    assert!(UnixStream::connect(&path).is_ok());
    a.disconnect(None).unwrap();
    ra.wait_for(Status::Disconnected, 10);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_worker_path_where_nobody_may_write_is_a_clear_failure() {
    let server = Server::get("prosody");
    // Root may write anywhere but in /proc.
    let root = unsafe { libc::geteuid() } == 0;
    let dir = temp_dir("readonly");
    let path = if root {
        PathBuf::from("/proc/epode-worker.sock")
    } else {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        dir.join("w.sock")
    };
    let a = handle(&server, path.to_str().unwrap());
    let mut ra = connect(&a, &server, "erin");
    let seen = ra.wait_for(Status::Disconnected, 10);
    assert_eq!(seen[1].0, Status::ConnFail, "{seen:?}");
    let why = seen[1].1.clone().unwrap_or_default();
    assert!(why.contains("worker"), "{why}");
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `script` with python3 as the unprivileged user nobody.
fn as_nobody(script: &str) -> String {
    use std::os::unix::process::CommandExt;
    // Debian's python3: another user cannot enter root's own toolchains.
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .output()
        .expect("/usr/bin/python3 as nobody");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "the probe failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_peer_of_another_user_is_refused() {
    // Acting as another user takes root; CI runs as root.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test must run as root, to try the socket as the user nobody"
    );
    let _serial = serial();
    let server = Server::get("prosody");
    let dir = temp_dir("otheruser");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.join("w.sock");
    let (a, mut ra) = log_in(&server, path.to_str().unwrap());
    let probe = format!(
        r#"
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect({path:?})
except OSError as e:
    print("connect-refused", e.errno)
    raise SystemExit
s.settimeout(5)
try:
    s.sendall(b"\x00\x00\x00\x01A")
    data = s.recv(100)
except (BrokenPipeError, ConnectionResetError):
    data = b""
print("eof" if data == b"" else "data", len(data))
"#,
        path = path.to_str().unwrap()
    );
    // Owner-only mode: another user cannot even connect.
    assert_eq!(as_nobody(&probe), "connect-refused 13");
    // Even with the mode opened up, the manager refuses the peer.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(as_nobody(&probe), "eof 0");
    assert!(a.authenticated());
    a.disconnect(None).unwrap();
    ra.wait_for(Status::Disconnected, 10);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A handle in another process: tests/python/shared_child.py.
struct ChildHandle {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl ChildHandle {
    fn start(server: &Server, worker: &Path, user: &str) -> ChildHandle {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let lib = common::cdylib();
        let mut child = Command::new("python3")
            .arg(root.join("tests/python/shared_child.py"))
            .args([
                server.ws(),
                worker.to_str().unwrap().to_string(),
                server.jid(user),
                server.password(user),
            ])
            .env("EPODE_LIB", &lib)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        ChildHandle {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line starting with `prefix`.
    fn expect(&mut self, prefix: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.starts_with(prefix)) {
            return line.clone();
        }
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "the child never printed {prefix:?}; it printed {:?}",
                    self.seen
                ),
            }
        }
    }

    fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }
}

impl Drop for ChildHandle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_processes_share_one_session_and_survive_the_host_being_killed() {
    let _serial = serial();
    for server in servers() {
        let dir = temp_dir(&format!("procs-{}", server.name()));
        let path = dir.join("w.sock");
        let (bob, _rbob) = login(&server, &server.ws(), "bob", Options::default());
        let bob_got = collect_bodies(&bob);

        // The child process logs in and hosts the socket.
        let mut host = ChildHandle::start(&server, &path, "erin");
        host.expect("status CONNECTED");
        assert!(
            host.seen.iter().all(|l| !l.contains("ATTACHED")),
            "{:?}",
            host.seen
        );

        // This process's handle attaches to the child's session.
        let mine = handle(&server, path.to_str().unwrap());
        let mut rm = connect(&mine, &server, "erin");
        rm.wait_for(Status::Attached, 20);
        assert_eq!(rm.statuses(), [Status::Connecting, Status::Attached]);
        assert!(mine.jid().starts_with(&server.jid("erin")));
        assert_sessions(&server, "erin", 1);

        // Both processes hear the session and both can send.
        let my_bodies = collect_bodies(&mine);
        bob.send(&chat(&mine.jid(), "to both processes")).unwrap();
        host.expect("message to both processes");
        eventually(10, "this process hears bob", || {
            my_bodies
                .lock()
                .unwrap()
                .contains(&"to both processes".to_string())
        });
        mine.send(&chat(&bob.jid(), "from the guest")).unwrap();
        host.command(&format!("send {} from the host", bob.jid()));
        eventually(10, "bob hears both processes", || {
            let got = bob_got.lock().unwrap();
            got.contains(&"from the guest".to_string())
                && got.contains(&"from the host".to_string())
        });

        // SIGKILL the host: this handle learns it, and takes over by connecting.
        host.child.kill().unwrap();
        host.child.wait().unwrap();
        let seen = rm.wait_for(Status::Disconnected, 10);
        let why = seen.last().unwrap().1.clone().unwrap_or_default();
        assert!(why.contains("went away"), "{why}");
        assert!(path.exists(), "the killed host's socket file stays behind");
        let mut rm = connect(&mine, &server, "erin");
        rm.wait_for(Status::Connected, 20);
        assert_eq!(
            rm.statuses(),
            [
                Status::Connecting,
                Status::Authenticating,
                Status::Connected
            ]
        );
        assert_sessions(&server, "erin", 1);

        // Now another process joins this one's session.
        let mut guest = ChildHandle::start(&server, &path, "erin");
        guest.expect("status ATTACHED");
        bob.send(&chat(&mine.jid(), "to the new guest")).unwrap();
        guest.expect("message to the new guest");
        assert_sessions(&server, "erin", 1);

        // The host's disconnect ends the guest's session too.
        mine.disconnect(None).unwrap();
        rm.wait_for(Status::Disconnected, 10);
        guest.expect("status DISCONNECTED");
        guest.command("quit");
        bob.disconnect(None).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_session_without_handles_lingers_for_the_grace_period_then_closes() {
    let _serial = serial();
    let server = Server::get("ejabberd");
    let worker = unique("grace", &server);
    let (a, _ra) = log_in(&server, &worker);
    let jid = a.jid();
    // Freeing the only handle detaches it; the session stays for a while.
    drop(a);
    std::thread::sleep(Duration::from_millis(500));
    assert_sessions(&server, "erin", 1);
    // A handle that comes back within the grace period attaches: no new login.
    let b = handle(&server, &worker);
    let mut rb = connect(&b, &server, "erin");
    rb.wait_for(Status::Attached, 10);
    assert_eq!(b.jid(), jid);
    drop(b);
    // With nobody back, the session closes after the 10 s grace period.
    // A probe (an Erlang node starting up) takes its time under load: only
    // one that *ended* before the grace period was over tells that the
    // session was still there; one that ended later may see either.
    let grace_over = Instant::now() + Duration::from_secs(10);
    let mut in_time = 0;
    let closed_at = loop {
        let count = sessions_of(&server, "erin");
        let probed = Instant::now();
        if probed < grace_over {
            assert_eq!(
                count,
                1,
                "closed {:?} before the grace period was over",
                grace_over - probed
            );
            in_time += 1;
        } else if count == 0 {
            break probed;
        }
        assert!(
            probed < grace_over + Duration::from_secs(10),
            "still open 10 s after the grace period"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(in_time >= 1, "no probe ended within the grace period");
    println!(
        "closed {:?} after the grace period; {in_time} probes saw it open before",
        closed_at - grace_over
    );
    assert_sessions(&server, "erin", 0);
    let c = handle(&server, &worker);
    let mut rc = attach(&c);
    rc.wait_for(Status::AttachFail, 10);
}
