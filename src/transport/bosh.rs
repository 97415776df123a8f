//! BOSH (XEP-0124 / XEP-0206): XMPP over long-polling HTTP requests.
//!
//! Requests run on small worker threads (one per request slot, blocking
//! ureq calls) and their answers come back to the engine through a queue
//! and a wake-up. A request leaves as soon as there is something to send
//! and a free slot — no timer tick, unlike Strophe's 100 ms.

use super::cookies::{cookie_header, CookieJar};
use super::http;
use super::keepalive::{self, StoredSession};
use super::net::split_url;
use super::{send_queue_full, Incoming, Notify, Transport};
use crate::error::{Error, Result};
use crate::options::Options;
use crate::outgoing::Outgoing;
use crate::status::Status;
use crate::xml::ns;
use crate::xml::{Element, Limits, StreamEvent, StreamParser};
use std::collections::{BTreeMap, VecDeque};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long freeing a connection waits for the server to take its terminate.
const END_TIMEOUT: Duration = Duration::from_secs(2);

/// Failed sends of one request after which the session is given up.
const MAX_ERRORS: u32 = 5;

/// How long to wait before sending a failed request again, after its
/// `failures`-th failure: at once-ish for a cut link, then Strophe's
/// `sends³` seconds, so that the four retries span about 100 s and a
/// server restarting or failing over is survived. Each wait is also capped
/// by the request timeout (TIMEOUT × wait).
fn retry_delay(failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::from_millis(100),
        n => Duration::from_secs(u64::from(n.min(10)).pow(3)),
    }
}

struct Job {
    rid: u64,
    attempt: u32,
    body: Arc<str>,
    cookie: Option<String>,
    timeout: Duration,
}

struct Answer {
    rid: u64,
    attempt: u32,
    outcome: Outcome,
}

enum Outcome {
    /// The request is on the wire in full: the next rid may follow.
    Written,
    Reply(Reply),
    Failed(Failure),
}

/// A request that got no HTTP answer. `fatal`: retrying cannot help
/// (an untrusted certificate, a bad URL), so the session fails at once.
struct Failure {
    fatal: bool,
    message: String,
}

impl Failure {
    fn transient(message: &str) -> Failure {
        Failure {
            fatal: false,
            message: message.to_string(),
        }
    }

    fn from_ureq(e: ureq::Error) -> Failure {
        use ureq::Error as E;
        let fatal = matches!(
            e,
            E::NativeTls(_)
                | E::Tls(_)
                | E::BadUri(_)
                | E::HostNotFound
                | E::Der(_)
                | E::RequireHttpsOnly(_)
        );
        Failure {
            fatal,
            message: e.to_string(),
        }
    }
}

struct Reply {
    status: u16,
    body: String,
    set_cookies: Vec<String>,
}

struct InFlight {
    body: Arc<str>,
    attempt: u32,
    /// Fully sent (see transport/http.rs): a later rid may now be sent.
    written: bool,
    /// Set while waiting to retransmit after an error.
    resend_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Creating,
    Open,
    Terminating,
}

/// Session tokens, for keepalive/restore and attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTokens {
    pub sid: String,
    /// The next rid to use.
    pub rid: u64,
}

pub(crate) struct BoshTransport {
    url: String,
    host: String,
    path: String,
    options: Options,
    notify: Notify,
    agent: Option<ureq::Agent>,
    answers: Arc<Mutex<VecDeque<Answer>>>,
    workers: Vec<Sender<Job>>,
    /// The workers' threads, joined when the transport ends.
    threads: Vec<std::thread::JoinHandle<()>>,
    busy: Vec<bool>,
    domain: String,
    route: Option<String>,
    rid: u64,
    sid: Option<String>,
    wait: u64,
    hold: u64,
    window: usize,
    state: State,
    queue: Vec<Outgoing>,
    /// The bytes in `queue`, held under `max_send_queue_bytes`.
    queued_bytes: usize,
    pending_restart: bool,
    in_flight: BTreeMap<u64, InFlight>,
    worker_of: BTreeMap<u64, usize>,
    jar: CookieJar,
    raw_input: bool,
    raw_output_on: bool,
    raw_output: Vec<Arc<str>>,
    /// Bodies sent, for xmlOutput (only while that hook wants bodies).
    xml_output: Vec<Element>,
    /// The xmlInput / xmlOutput hooks want whole bodies (no `strip`).
    xml_in: bool,
    xml_out: bool,
    /// keepalive: where to persist the session, and for whom.
    keepalive: Option<(PathBuf, String)>,
    /// Attached to an existing session: waiting for proof it is alive.
    attaching: bool,
    /// When to send the second request of an attach.
    probe_at: Option<Instant>,
    /// The highest rid known to be fully written to the server.
    last_written: Option<u64>,
    /// For a polling session (hold 0): the server's minimum interval
    /// between empty requests, and when the next one may leave.
    polling: Option<Duration>,
    poll_at: Option<Instant>,
    parser: StreamParser,
    /// When the server last answered a request (for the liveness check).
    heard: Option<Instant>,
}

fn random_rid() -> u64 {
    let mut b = [0u8; 4];
    if crate::sasl::random::fill(&mut b).is_err() {
        // No OS randomness: any start works, the rid only has to increase.
        b = std::process::id().to_be_bytes();
    }
    // Leave room below 2^53 for a long session (XEP-0124 §14).
    u64::from(u32::from_be_bytes(b) & 0x7fff_ffff) + 1
}

impl BoshTransport {
    pub fn new(url: &str, options: &Options, notify: Notify) -> Result<BoshTransport> {
        let parts = split_url(url)?;
        let limits = Limits {
            max_stanza_bytes: options.max_stanza_bytes,
            max_depth: options.max_depth,
        };
        Ok(BoshTransport {
            url: url.to_string(),
            host: parts.host,
            path: parts.path,
            options: options.clone(),
            notify,
            agent: None,
            answers: Arc::new(Mutex::new(VecDeque::new())),
            workers: Vec::new(),
            threads: Vec::new(),
            busy: Vec::new(),
            domain: String::new(),
            route: options.route.clone(),
            rid: random_rid(),
            sid: None,
            wait: options.wait,
            hold: options.hold,
            window: options.hold as usize + 1,
            state: State::Closed,
            queue: Vec::new(),
            queued_bytes: 0,
            pending_restart: false,
            in_flight: BTreeMap::new(),
            worker_of: BTreeMap::new(),
            jar: CookieJar::new(&options.cookies),
            raw_input: false,
            raw_output_on: false,
            raw_output: Vec::new(),
            xml_output: Vec::new(),
            xml_in: false,
            xml_out: false,
            keepalive: None,
            attaching: false,
            probe_at: None,
            last_written: None,
            polling: None,
            poll_at: None,
            parser: StreamParser::with_limits(limits),
            heard: None,
        })
    }

    /// Joins an existing session (attach/restore): the next body uses
    /// exactly `rid`. Two empty requests go out at once, so the server
    /// answers the first without waiting `wait` seconds: that answer proves
    /// the session alive (`Incoming::Alive`), a terminate or 404 that it is not.
    pub fn attach(&mut self, domain: &str, tokens: SessionTokens) -> Result<()> {
        self.start_agent()?;
        self.domain = domain.to_string();
        self.sid = Some(tokens.sid);
        self.rid = tokens.rid;
        self.last_written = tokens.rid.checked_sub(1);
        self.state = State::Open;
        self.attaching = true;
        self.window = 2;
        let body = self.body_start(self.rid);
        self.send_body(body, Vec::new());
        // The second follows once the first is written (see `pump`).
        self.probe_at = Some(Instant::now());
        Ok(())
    }

    /// Stores the session for `restore()`. The rid kept is the one after
    /// the last request known to be *written*: a request still queued when
    /// the process dies never reached the server, and restoring past it
    /// would leave a gap the server waits on (or terminates for).
    fn save_keepalive(&self) {
        if let (Some((path, jid)), Some(sid), Some(written)) =
            (&self.keepalive, &self.sid, self.last_written)
        {
            let session = StoredSession {
                service: self.url.clone(),
                jid: jid.clone(),
                sid: sid.clone(),
                rid: written + 1,
            };
            // A failed save must not end the session; restore will say "no session".
            let _ = keepalive::save(path, &session);
        }
    }

    fn start_agent(&mut self) -> Result<()> {
        if self.agent.is_some() {
            return Ok(());
        }
        use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
        let mut tls = TlsConfig::builder().provider(TlsProvider::NativeTls);
        if let Some(path) = &self.options.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                Error::io_from(format!("cannot read ca_file {}: {e}", path.display()), e)
            })?;
            let cert = ureq::tls::Certificate::from_pem(&pem)
                .map_err(|e| Error::tls_from(format!("ca_file {}: {e}", path.display()), e))?;
            tls = tls.root_certs(RootCerts::new_with_certs(&[cert.to_owned()]));
        } else {
            tls = tls.root_certs(RootCerts::PlatformVerifier);
        }
        if self.options.accept_invalid_certs {
            tls = tls.disable_verification(true);
        }
        let config = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .no_delay(true)
            .max_idle_connections_per_host(8)
            .user_agent(concat!("epode/", env!("CARGO_PKG_VERSION")))
            // ureq's 128 KiB buffers per connection were most of an idle
            // session's memory; a body bigger than this still streams.
            .input_buffer_size(16 * 1024)
            .output_buffer_size(16 * 1024)
            .build();
        self.agent = Some(http::agent(config));
        Ok(())
    }

    fn body_start(&self, rid: u64) -> Element {
        let mut body = Element::new("body");
        body.set_attr("rid", rid.to_string());
        if let Some(sid) = &self.sid {
            body.set_attr("sid", sid.clone());
        }
        body.set_attr("xmlns", ns::HTTPBIND);
        body
    }

    fn session_request(&self, rid: u64) -> Element {
        let mut body = Element::new("body");
        let attrs = [
            // Always this, as in Strophe: the contentType option is only
            // the HTTP Content-Type header of the requests.
            ("content", "text/xml; charset=utf-8".to_string()),
            ("hold", self.hold.to_string()),
            ("rid", rid.to_string()),
            ("to", self.domain.clone()),
            ("ver", "1.6".to_string()),
            ("wait", self.wait.to_string()),
            ("xml:lang", "en".to_string()),
            ("xmpp:version", "1.0".to_string()),
            ("xmlns", ns::HTTPBIND.to_string()),
            ("xmlns:xmpp", ns::XBOSH.to_string()),
        ];
        for (k, v) in attrs {
            body.set_attr(k, v);
        }
        if let Some(route) = &self.route {
            body.set_attr("route", route.clone());
        }
        body
    }

    fn primary_timeout(&self) -> Duration {
        Duration::from_secs_f64(
            (self.options.timeout_multiplier * self.wait as f64)
                .floor()
                .max(1.0),
        )
    }

    /// Sends one body on a free worker (starting one if needed).
    fn dispatch(&mut self, rid: u64, body: Arc<str>, attempt: u32) {
        let worker = match self.busy.iter().position(|b| !b) {
            Some(i) => i,
            None => {
                self.spawn_worker();
                self.workers.len() - 1
            }
        };
        self.busy[worker] = true;
        self.worker_of.insert(rid, worker);
        if self.raw_output_on {
            self.raw_output.push(Arc::clone(&body));
        }
        let job = Job {
            rid,
            attempt,
            body,
            cookie: self.cookie(),
            timeout: self.primary_timeout(),
        };
        if self.workers[worker].send(job).is_err() {
            // The worker died: the answer is an error, handled like any other.
            self.answers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_back(Answer {
                    rid,
                    attempt,
                    outcome: Outcome::Failed(Failure::transient("request thread is gone")),
                });
        }
    }

    /// The Cookie header for the next request.
    fn cookie(&self) -> Option<String> {
        if self.options.with_credentials {
            self.jar.header(&self.host, &self.path)
        } else {
            cookie_header(&self.options.cookies, &self.host, &self.path)
        }
    }

    fn spawn_worker(&mut self) {
        let (tx, rx) = channel::<Job>();
        let agent = self.agent.clone();
        let answers = Arc::clone(&self.answers);
        let notify = Arc::clone(&self.notify);
        let url = self.url.clone();
        let headers = self.options.custom_headers.clone();
        let content_type = self.options.content_type.clone();
        let spawned = std::thread::Builder::new()
            .name("epode-bosh".into())
            .spawn(move || {
                let report = move |rid: u64, attempt: u32, outcome: Outcome| {
                    answers
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_back(Answer {
                            rid,
                            attempt,
                            outcome,
                        });
                    notify();
                };
                while let Ok(job) = rx.recv() {
                    let (rid, attempt) = (job.rid, job.attempt);
                    let written = report.clone();
                    http::on_request_written(move || written(rid, attempt, Outcome::Written));
                    let outcome = match &agent {
                        Some(agent) => match post(agent, &url, &content_type, &headers, &job) {
                            Ok(reply) => Outcome::Reply(reply),
                            Err(failure) => Outcome::Failed(failure),
                        },
                        None => Outcome::Failed(Failure::transient("no HTTP agent")),
                    };
                    http::clear_request_written();
                    report(rid, attempt, outcome);
                }
            });
        // A thread that cannot start leaves a dead sender: dispatch then
        // reports the request as failed instead of hanging.
        if let Ok(thread) = spawned {
            self.threads.push(thread);
        }
        self.workers.push(tx);
        self.busy.push(false);
    }

    /// Sends `body` with `stanzas` in it. The xmlOutput hook gets the body
    /// as built, with the stanzas' elements: nothing is parsed back.
    fn send_body(&mut self, body: Element, stanzas: Vec<Outgoing>) {
        let text = wrap(&body, &stanzas);
        if self.xml_out {
            self.xml_output.push(super::sent_wrapper(body, &stanzas));
        }
        let rid = self.rid;
        self.rid += 1;
        let body: Arc<str> = text.into();
        self.in_flight.insert(
            rid,
            InFlight {
                body: Arc::clone(&body),
                attempt: 0,
                written: false,
                resend_at: None,
            },
        );
        self.dispatch(rid, body, 0);
    }

    /// The queued stanzas, for the next body.
    fn take_queue(&mut self) -> Vec<Outgoing> {
        self.queued_bytes = 0;
        std::mem::take(&mut self.queue)
    }

    /// The failed request to send again next, and when. XEP-0124 §14:
    /// requests reach the server in rid order, so a failed one goes again
    /// before any later rid, and a later failed one waits until every
    /// earlier one is written in full.
    fn next_resend(&self) -> Option<(u64, Instant)> {
        for (rid, f) in &self.in_flight {
            match f.resend_at {
                Some(t) => return Some((*rid, t)),
                None if !f.written => return None,
                None => {}
            }
        }
        None
    }

    /// Starts whatever requests are due now.
    fn pump(&mut self) {
        let now = Instant::now();
        let due = self
            .next_resend()
            .filter(|(_, t)| *t <= now)
            .map(|(rid, _)| rid);
        if let Some(rid) = due {
            if let Some(f) = self.in_flight.get_mut(&rid) {
                f.resend_at = None;
                f.written = false;
                f.attempt += 1;
                let (body, attempt) = (Arc::clone(&f.body), f.attempt);
                self.dispatch(rid, body, attempt);
            }
        }
        if !matches!(self.state, State::Open | State::Terminating)
            || self.in_flight.len() >= self.window
        {
            return;
        }
        if self.in_flight.values().any(|f| !f.written) {
            return; // the Written answer brings us back
        }
        if self.probe_at.is_some_and(|t| t <= now) {
            self.probe_at = None;
            let body = self.body_start(self.rid);
            self.send_body(body, Vec::new());
        } else if self.pending_restart {
            self.pending_restart = false;
            let mut body = self.body_start(self.rid);
            body.set_attr("to", self.domain.clone());
            body.set_attr("xml:lang", "en");
            body.set_attr("xmpp:restart", "true");
            body.set_attr("xmlns:xmpp", ns::XBOSH);
            self.send_body(body, Vec::new());
        } else if self.state == State::Terminating {
            let mut body = self.body_start(self.rid);
            body.set_attr("type", "terminate");
            let stanzas = self.take_queue();
            self.send_body(body, stanzas);
            self.state = State::Closed;
        } else if !self.queue.is_empty() {
            let body = self.body_start(self.rid);
            let stanzas = self.take_queue();
            self.send_body(body, stanzas);
        } else if self.in_flight.is_empty() {
            if self.poll_at.is_some_and(|t| t > now) {
                return; // a polling session: next_deadline brings us back
            }
            // Keep one request waiting at the server so it can push to us.
            let body = self.body_start(self.rid);
            self.send_body(body, Vec::new());
            self.poll_at = self.polling.map(|p| now + p);
        }
    }

    fn on_answer(&mut self, answer: Answer, out: &mut Vec<Incoming>) {
        let current = self
            .in_flight
            .get(&answer.rid)
            .is_some_and(|f| f.attempt == answer.attempt);
        if let Outcome::Written = answer.outcome {
            if let Some(f) = self.in_flight.get_mut(&answer.rid).filter(|_| current) {
                f.written = true;
                if self.last_written.is_none_or(|w| answer.rid > w) {
                    self.last_written = Some(answer.rid);
                    self.save_keepalive();
                }
            }
            return;
        }
        if let Some(w) = self.worker_of.remove(&answer.rid) {
            if let Some(b) = self.busy.get_mut(w) {
                *b = false;
            }
        }
        if !current {
            return; // an answer to a request we already gave up on
        }
        match answer.outcome {
            Outcome::Written => {}
            Outcome::Reply(reply) if reply.status == 200 => {
                self.heard = Some(Instant::now());
                self.in_flight.remove(&answer.rid);
                for c in &reply.set_cookies {
                    self.jar.store(c);
                }
                self.on_body(&reply.body, out);
            }
            Outcome::Reply(reply) if (400..500).contains(&reply.status) => {
                self.in_flight.remove(&answer.rid);
                self.give_up(
                    out,
                    Status::ConnFail,
                    &format!("HTTP {}", reply.status),
                    Some(reply.status),
                );
            }
            Outcome::Reply(reply) => self.on_error(
                answer.rid,
                &format!("HTTP {}", reply.status),
                Some(reply.status),
                out,
            ),
            Outcome::Failed(e) if e.fatal => {
                self.in_flight.remove(&answer.rid);
                self.give_up(out, Status::ConnFail, &e.message, None);
            }
            Outcome::Failed(e) => self.on_error(answer.rid, &e.message, None, out),
        }
    }

    fn on_error(&mut self, rid: u64, why: &str, code: Option<u16>, out: &mut Vec<Incoming>) {
        if let Some(code) = code {
            out.push(Incoming::ProtocolError { code });
        }
        let timeout = self.primary_timeout();
        let Some(f) = self.in_flight.get_mut(&rid) else {
            return;
        };
        // The failures of this very request count, not every request that
        // a single cut broke at once.
        let failures = f.attempt + 1;
        if failures >= MAX_ERRORS {
            self.in_flight.clear();
            self.give_up(
                out,
                Status::ConnTimeout,
                &format!("giving-up ({why})"),
                None,
            );
            return;
        }
        // The same rid and body again; until it is written, nothing later.
        f.written = false;
        f.resend_at = Some(Instant::now() + retry_delay(failures).min(timeout));
    }

    fn give_up(
        &mut self,
        out: &mut Vec<Incoming>,
        status: Status,
        condition: &str,
        code: Option<u16>,
    ) {
        self.state = State::Closed;
        self.in_flight.clear();
        out.push(Incoming::Failed {
            status,
            condition: condition.to_string(),
            code,
        });
    }

    fn on_body(&mut self, text: &str, out: &mut Vec<Incoming>) {
        if self.raw_input {
            out.push(Incoming::Raw(text.to_string()));
        }
        self.parser.reset();
        let events = match self.parser.feed(text.as_bytes()) {
            Ok(events) if self.parser.buffered() == 0 => events,
            _ => {
                self.give_up(out, Status::ConnFail, "bad-format", None);
                return;
            }
        };
        if self.xml_in {
            // The hook sees the whole body, before its stanzas are handled:
            // built from what was just parsed, not parsed a second time.
            if let Some(body) = super::received_wrapper(&events) {
                out.push(Incoming::XmlIn(body));
            }
        }
        // Strophe: a remote-stream-error terminate with a <conflict/> in it
        // (bare, or inside <stream:error>) is condition "conflict".
        let conflict = events
            .iter()
            .any(|e| matches!(e, StreamEvent::Stanza(s) if contains_conflict(s)));
        for event in events {
            match event {
                StreamEvent::Open(body) => {
                    if !self.on_body_attrs(&body, conflict, out) {
                        return;
                    }
                }
                StreamEvent::Stanza(mut stanza) => {
                    // A stanza that relied on the body's default namespace is jabber:client.
                    if stanza.attr("xmlns") == Some(ns::HTTPBIND) {
                        stanza.set_attr("xmlns", ns::CLIENT);
                    }
                    out.push(Incoming::Stream(StreamEvent::Stanza(stanza)));
                }
                StreamEvent::Close(_) => {}
            }
        }
    }

    /// Reads the body's attributes; false when the session ends here.
    /// `conflict`: the body holds a `<conflict/>` element.
    fn on_body_attrs(&mut self, body: &Element, conflict: bool, out: &mut Vec<Incoming>) -> bool {
        if body.local_name() != "body" || body.attr("xmlns") != Some(ns::HTTPBIND) {
            self.give_up(out, Status::ConnFail, "bad-format", None);
            return false;
        }
        if body.attr("type") == Some("terminate") {
            let condition = match body.attr("condition") {
                Some("remote-stream-error") if conflict => "conflict",
                Some(c) => c,
                None => "unknown",
            }
            .to_string();
            if self.state == State::Closed && self.sid.is_some() {
                // The answer to our own terminate.
                out.push(Incoming::Stream(StreamEvent::Close(None)));
            } else {
                self.give_up(out, Status::ConnFail, &condition, None);
            }
            self.sid = None;
            return false;
        }
        // An attached session that answers without terminating is alive;
        // said before the body's stanzas, which belong to it.
        if std::mem::take(&mut self.attaching) {
            out.push(Incoming::Alive);
        }
        if self.state == State::Creating {
            let Some(sid) = body.attr("sid") else {
                self.give_up(out, Status::ConnFail, "bad-format", None);
                return false;
            };
            self.sid = Some(sid.to_string());
            let number = |name: &str| body.attr(name).and_then(|v| v.parse::<u64>().ok());
            // XEP-0124 §7.1: the server's wait and hold are at most ours. A
            // server that claims more is held to what we asked for (an
            // unchecked u64::MAX overflowed the timeouts).
            if let Some(wait) = number("wait") {
                self.wait = wait.min(self.wait);
            }
            if let Some(hold) = number("hold") {
                self.hold = hold.min(self.hold);
            }
            let requests = number("requests").unwrap_or(self.hold + 1).clamp(1, 16);
            self.window = requests as usize;
            // A polling session (hold 0) answers at once: empty requests
            // must then be spaced by the server's `polling` seconds.
            if self.hold == 0 {
                self.polling = Some(Duration::from_secs(number("polling").unwrap_or(1).min(60)));
            }
            self.state = State::Open;
        }
        true
    }
}

/// The BOSH fuzz target's way in (see `crate::fuzzing`): `text` as the
/// answer that creates the session, then as an answer in an open session.
#[cfg(any(fuzzing, test))]
pub(crate) fn fuzz_body(text: &str, limits: Limits) {
    let notify: Notify = Arc::new(|| {});
    let url = "http://127.0.0.1/http-bind";
    let mut t = BoshTransport::new(url, &Options::default(), notify).expect("a valid URL");
    t.parser = StreamParser::with_limits(limits);
    t.raw_input = true;
    t.set_xml_hooks(true, true);
    for state in [State::Creating, State::Open] {
        t.state = state;
        let mut out = Vec::new();
        t.on_body(text, &mut out);
        let failed = out.iter().any(|i| matches!(i, Incoming::Failed { .. }));
        assert!(!failed || t.state == State::Closed, "failed yet not closed");
        assert!(t.window >= 1, "an empty request window");
        let _ = t.primary_timeout();
    }
}

/// `body` with the queued stanzas inside.
/// Whether `elem` is or holds a `<conflict/>` (Strophe looks it up by tag
/// name, at any depth). Iterative, so a deep body cannot exhaust the stack.
fn contains_conflict(elem: &Element) -> bool {
    let mut todo = vec![elem];
    while let Some(e) = todo.pop() {
        if e.name() == "conflict" {
            return true;
        }
        todo.extend(e.child_elements());
    }
    false
}

fn wrap(body: &Element, stanzas: &[Outgoing]) -> String {
    let mut text = body.to_string();
    if stanzas.is_empty() {
        return text;
    }
    // "<body …/>" → "<body …>" + stanzas + "</body>"
    text.truncate(text.len() - 2);
    text.push('>');
    for s in stanzas {
        text.push_str(s.text());
    }
    text.push_str("</body>");
    text
}

fn post(
    agent: &ureq::Agent,
    url: &str,
    content_type: &str,
    headers: &[(String, String)],
    job: &Job,
) -> std::result::Result<Reply, Failure> {
    let mut req = agent.post(url).header("Content-Type", content_type);
    for (name, value) in headers {
        req = req.header(name.as_str(), value.as_str());
    }
    if let Some(cookie) = &job.cookie {
        req = req.header("Cookie", cookie.as_str());
    }
    let mut resp = req
        .config()
        .timeout_global(Some(job.timeout))
        .build()
        .send(job.body.as_bytes())
        .map_err(Failure::from_ureq)?;
    let status = resp.status().as_u16();
    let set_cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(Failure::from_ureq)?;
    Ok(Reply {
        status,
        body,
        set_cookies,
    })
}

impl Transport for BoshTransport {
    fn open(&mut self, domain: &str, _timeout: Duration) -> Result<()> {
        self.start_agent()?;
        self.domain = domain.to_string();
        self.state = State::Creating;
        let body = self.session_request(self.rid);
        self.send_body(body, Vec::new());
        Ok(())
    }

    fn restart(&mut self, _domain: &str) -> Result<()> {
        self.pending_restart = true;
        Ok(())
    }

    fn send(&mut self, item: &Outgoing) -> Result<()> {
        let limit = self.options.max_send_queue_bytes;
        if self.queued_bytes.saturating_add(item.text().len()) > limit {
            return Err(send_queue_full(limit));
        }
        self.queued_bytes += item.text().len();
        self.queue.push(item.clone());
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if self.state == State::Open {
            self.state = State::Terminating;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.pump();
        Ok(())
    }

    fn read(&mut self, out: &mut Vec<Incoming>) -> Result<()> {
        for body in self.raw_output.drain(..) {
            out.push(Incoming::RawOut(body));
        }
        out.extend(self.xml_output.drain(..).map(Incoming::XmlOut));
        loop {
            let answer = self
                .answers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front();
            let Some(answer) = answer else { break };
            self.on_answer(answer, out);
        }
        Ok(())
    }

    fn poll_fd(&self) -> Option<(RawFd, bool)> {
        None
    }

    fn has_pending(&self) -> bool {
        !self.raw_output.is_empty()
            || !self
                .answers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty()
    }

    fn next_deadline(&self) -> Option<Instant> {
        let resend = self.next_resend().map(|(_, t)| t);
        let poll = self
            .poll_at
            .filter(|_| self.in_flight.is_empty() && self.state == State::Open);
        resend.into_iter().chain(self.probe_at).chain(poll).min()
    }

    fn last_heard(&self) -> Option<Instant> {
        self.heard
    }

    /// A held request is answered within `wait`, given up after the
    /// primary timeout: until then silence is normal.
    fn silence_allowed(&self) -> Duration {
        self.primary_timeout()
    }

    fn abort(&mut self) {
        // The agent's shutdown fails every request in flight at once (the
        // held long-poll too), and without senders each worker then ends.
        if let Some(agent) = self.agent.take() {
            agent.shutdown();
        }
        self.workers.clear();
        self.busy.clear();
        self.in_flight.clear();
        self.state = State::Closed;
        // No thread outlives the transport; one stuck in a TCP connect
        // (which the shutdown cannot interrupt) is left after a bound.
        let deadline = Instant::now() + END_TIMEOUT;
        while self.threads.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        for thread in self.threads.drain(..).filter(|t| t.is_finished()) {
            let _ = thread.join();
        }
    }

    /// Freed while the session is up: a terminate (with what is queued) the
    /// server gets within END_TIMEOUT, so it does not keep the session for
    /// `inactivity` seconds. With keepalive the session is another
    /// process's to restore, and stays.
    fn end(&mut self) {
        if self.state == State::Open && self.keepalive.is_none() {
            if let Some(agent) = self.agent.clone() {
                let mut body = self.body_start(self.rid);
                body.set_attr("type", "terminate");
                let job = Job {
                    rid: self.rid,
                    attempt: 0,
                    body: wrap(&body, &self.take_queue()).into(),
                    cookie: self.cookie(),
                    timeout: END_TIMEOUT,
                };
                self.rid += 1;
                let headers = &self.options.custom_headers;
                // The answer does not matter: the session ends either way.
                let _ = post(&agent, &self.url, &self.options.content_type, headers, &job);
            }
        }
        self.abort();
    }

    fn set_raw_input(&mut self, on: bool) {
        self.raw_input = on;
    }

    fn set_raw_output(&mut self, on: bool) {
        self.raw_output_on = on;
    }

    fn set_xml_hooks(&mut self, input: bool, output: bool) {
        let whole = !self.options.strip;
        self.xml_in = input && whole;
        self.xml_out = output && whole;
    }

    fn reports_wrappers(&self) -> bool {
        !self.options.strip
    }

    fn keepalive(&mut self, jid: Option<&str>) {
        match (jid, &self.options.keepalive_path) {
            (Some(jid), Some(path)) if self.options.keepalive => {
                self.keepalive = Some((path.clone(), jid.to_string()));
                self.save_keepalive();
            }
            _ => {
                if let Some((path, _)) = self.keepalive.take() {
                    keepalive::remove(&path);
                }
            }
        }
    }

    /// For sync mode: everything sent has reached the server, i.e. every
    /// request carrying data is written in full. Waiting for its *answer*
    /// could take `wait` seconds: with a poll already held, Prosody answers
    /// the poll and keeps the new request as its long-poll.
    fn idle(&self) -> bool {
        self.queue.is_empty()
            && !self.pending_restart
            && self.state != State::Terminating
            && self
                .in_flight
                .values()
                .all(|f| f.written && f.resend_at.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_claims_a_longer_wait_or_hold_is_held_to_ours() {
        let notify: Notify = Arc::new(|| {});
        let options = Options::default();
        let mut t = BoshTransport::new("http://127.0.0.1/http-bind", &options, notify).unwrap();
        let (asked_wait, asked_hold) = (t.wait, t.hold);
        t.state = State::Creating;
        let mut out = Vec::new();
        let huge = u64::MAX;
        t.on_body(
            &format!("<body xmlns='http://jabber.org/protocol/httpbind' sid='s1' wait='{huge}' hold='{huge}' requests='2'/>"),
            &mut out,
        );
        assert_eq!((t.wait, t.hold), (asked_wait, asked_hold));
        assert_eq!(
            t.primary_timeout(),
            Duration::from_secs((asked_wait as f64 * 1.1) as u64)
        );
        // A shorter wait is the server's right.
        let mut t =
            BoshTransport::new("http://127.0.0.1/http-bind", &options, Arc::new(|| {})).unwrap();
        t.state = State::Creating;
        t.on_body(
            "<body xmlns='http://jabber.org/protocol/httpbind' sid='s2' wait='10' hold='1'/>",
            &mut out,
        );
        assert_eq!(t.wait, 10);
    }
}
