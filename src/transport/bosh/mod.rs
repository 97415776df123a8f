//! BOSH (XEP-0124 / XEP-0206): XMPP over long-polling HTTP requests.
//!
//! This file is the session: its state, the bodies it builds and the
//! answers it reads. Requests go out on the engine's own thread, over
//! non-blocking sockets (client.rs, with the HTTP/1.1 codec in http1.rs);
//! which rid may leave when is requests.rs. A request leaves as soon as there is
//! something to send, a free slot and the requests before it have arrived
//! at the server — no timer tick, unlike Strophe's 100 ms.

mod answers;
mod client;
mod http1;
mod requests;
mod wrappers;

#[cfg(any(fuzzing, test))]
pub(crate) use answers::fuzz_body;
#[cfg(any(fuzzing, test))]
pub(crate) use http1::fuzz_response;

use super::cookies::{cookie_header, CookieJar};
use super::keepalive::{self, StoredSession};
use super::net::split_url;
use super::{send_queue_full, HookOutput, Incoming, Transport};
use crate::error::Result;
use crate::options::Options;
use crate::outgoing::Outgoing;
use crate::xml::ns;
use crate::xml::{Element, Limits, StreamParser};
use client::{Client, Endpoint, Job};
use requests::{Requests, Retry};
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long freeing a connection waits for the server to take its terminate.
const END_TIMEOUT: Duration = Duration::from_secs(2);

/// After an answer leaves no request at the server, how long the empty
/// request that keeps one waiting there is put off. What the engine or
/// the application sends meanwhile goes instead, at once; sent right after
/// the poll it would have to wait for the poll to arrive (requests.rs).
const POLL_DEFER: Duration = Duration::from_millis(10);

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
    host: String,
    path: String,
    options: Options,
    client: Client,
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
    requests: Requests,
    jar: CookieJar,
    raw_input: bool,
    /// For the output hooks: the bodies sent, as text and (unless
    /// `strip`) as elements.
    hook_output: HookOutput,
    /// The xmlInput hook wants whole bodies (no `strip`).
    xml_in: bool,
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
    pub fn new(url: &str, options: &Options) -> Result<BoshTransport> {
        let parts = split_url(url)?;
        let limits = Limits {
            max_stanza_bytes: options.max_stanza_bytes,
            max_depth: options.max_depth,
        };
        let endpoint = Endpoint {
            url: url.to_string(),
            content_type: options.content_type.clone(),
            headers: options.custom_headers.clone(),
        };
        Ok(BoshTransport {
            host: parts.host.clone(),
            path: parts.path.clone(),
            options: options.clone(),
            client: Client::new(endpoint, parts, options),
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
            requests: Requests::default(),
            jar: CookieJar::new(&options.cookies),
            raw_input: false,
            hook_output: HookOutput::default(),
            xml_in: false,
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
        self.client.prepare()?;
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

    /// Request `rid` is written in full: the kept session resumes after it.
    fn note_written(&mut self, rid: u64) {
        if self.last_written.is_none_or(|w| rid > w) {
            self.last_written = Some(rid);
            self.save_keepalive();
        }
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
                service: self.client.endpoint().url.clone(),
                jid: jid.clone(),
                sid: sid.clone(),
                rid: written + 1,
            };
            // A failed save must not end the session; restore will say "no session".
            let _ = keepalive::save(path, &session);
        }
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

    /// Sends one body on a free connection.
    fn dispatch(&mut self, rid: u64, body: Arc<str>, attempt: u32) {
        self.hook_output.raw(&body);
        let job = Job {
            rid,
            attempt,
            body,
            cookie: self.cookie(),
            timeout: self.primary_timeout(),
        };
        self.client.start(job);
    }

    /// The Cookie header for the next request.
    fn cookie(&self) -> Option<String> {
        if self.options.with_credentials {
            self.jar.header(&self.host, &self.path)
        } else {
            cookie_header(&self.options.cookies, &self.host, &self.path)
        }
    }

    /// Sends `body` with `stanzas` in it. The xmlOutput hook gets the body
    /// as built, with the stanzas' elements: nothing is parsed back.
    fn send_body(&mut self, body: Element, stanzas: Vec<Outgoing>) {
        let text = wrap(&body, &stanzas);
        self.hook_output
            .xml(|| wrappers::sent_wrapper(body, &stanzas));
        let rid = self.rid;
        self.rid += 1;
        let body: Arc<str> = text.into();
        self.requests.add(rid, &body);
        self.dispatch(rid, body, 0);
    }

    /// The queued stanzas, for the next body.
    fn take_queue(&mut self) -> Vec<Outgoing> {
        self.queued_bytes = 0;
        std::mem::take(&mut self.queue)
    }

    /// Starts whatever requests are due now (see requests.rs for the order).
    fn pump(&mut self) {
        let now = Instant::now();
        if let Some((rid, body, attempt)) = self.requests.take_due_resend(now) {
            self.dispatch(rid, body, attempt);
        }
        if !matches!(self.state, State::Open | State::Terminating)
            || self.requests.len() >= self.window
            || !self.requests.all_settled(now)
        {
            return; // an answer or next_deadline brings us back
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
        } else if self.requests.is_empty() {
            if self.poll_at.is_some_and(|t| t > now) {
                return; // next_deadline brings us back
            }
            // Keep one request waiting at the server so it can push to us.
            let body = self.body_start(self.rid);
            self.send_body(body, Vec::new());
            self.poll_at = self.polling.map(|p| now + p);
        }
    }
}

/// `body` with the queued stanzas inside.
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

impl Transport for BoshTransport {
    fn open(&mut self, domain: &str, _timeout: Duration) -> Result<()> {
        self.client.prepare()?;
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
        self.client.tick(Instant::now());
        self.pump();
        Ok(())
    }

    fn read(&mut self, out: &mut Vec<Incoming>) -> Result<()> {
        self.client.drive();
        self.hook_output.drain_into(out);
        while let Some(answer) = self.client.next_answer() {
            self.on_answer(answer, out);
        }
        Ok(())
    }

    /// The epoll set of the request sockets: readable when one of them
    /// has work (writing included), so the engine never waits to write.
    fn poll_fd(&self) -> Option<(RawFd, bool)> {
        self.client.poll_fd().map(|fd| (fd, false))
    }

    fn has_pending(&self) -> bool {
        self.hook_output.pending() || self.client.has_answers()
    }

    fn next_deadline(&self) -> Option<Instant> {
        let resend = self.requests.next_resend(Instant::now()).map(|(_, t)| t);
        let poll = self
            .poll_at
            .filter(|_| self.requests.is_empty() && self.state == State::Open);
        // Something waits for the requests before it to arrive.
        let waiting = !self.queue.is_empty()
            || self.pending_restart
            || self.state == State::Terminating
            || self.probe_at.is_some()
            || self.requests.resend_pending();
        let settle = self.requests.next_settle().filter(|_| waiting);
        [
            resend,
            self.probe_at,
            poll,
            settle,
            self.client.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
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
        // Every connection closes at once, the held long-poll's too.
        self.client.abort();
        self.requests.clear();
        self.state = State::Closed;
        // A request written just before the end (its report still queued)
        // reached the server: a kept session must resume after it, or the
        // restored client would send its rid again, which servers may
        // never answer.
        if let Some(rid) = self.client.take_last_written() {
            self.note_written(rid);
        }
    }

    /// Freed while the session is up: a terminate (with what is queued) the
    /// server gets within END_TIMEOUT, so it does not keep the session for
    /// `inactivity` seconds. With keepalive the session is another
    /// process's to restore, and stays.
    fn end(&mut self) {
        if self.state == State::Open && self.keepalive.is_none() {
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
            // The answer does not matter: the session ends either way.
            self.client.post_and_wait(job, Instant::now() + END_TIMEOUT);
        }
        self.abort();
    }

    fn set_raw_input(&mut self, on: bool) {
        self.raw_input = on;
    }

    fn set_raw_output(&mut self, on: bool) {
        self.hook_output.want_raw(on);
    }

    fn set_xml_hooks(&mut self, input: bool, output: bool) {
        let whole = !self.options.strip;
        self.xml_in = input && whole;
        self.hook_output.want_xml(output && whole);
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
            && self.requests.all_written()
    }
}
