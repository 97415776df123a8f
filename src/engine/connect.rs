//! Opening the link: `connect()` (a new transport, then negotiation),
//! `attach()`/`restore()` (a prebound BOSH session), joining a shared
//! connection's session, and following a see-other-uri redirect.

use super::{AttachRequest, ConnectRequest, Engine, Phase, StatusFn, MAX_REDIRECTS, REDIRECTED};
use crate::error::{Error, Result};
use crate::jid;
use crate::log::log_at;
use crate::options::{TcpTarget, TransportKind};
use crate::sasl::Credentials;
use crate::status::Status;
use crate::transport::bosh::{BoshTransport, SessionTokens};
use crate::transport::shared::SharedTransport;
use crate::transport::tcp::TcpTransport;
use crate::transport::websocket::WebSocketTransport;
use crate::transport::Transport;
use std::sync::Arc;
use std::time::Instant;

impl Engine {
    pub(super) fn start_connect(&mut self, req: ConnectRequest) {
        if self.phase != Phase::Idle {
            if let Some(conn) = self.handle() {
                let mut cb = req.callback;
                cb(&conn, Status::Error, Some("already connected"), None);
            }
            return;
        }
        let domain = jid::domain(&req.jid).to_string();
        let node = jid::node(&req.jid).map(str::to_string);
        self.login.creds = Credentials {
            jid: req.jid.clone(),
            domain: domain.clone(),
            authzid: jid::bare(&req.jid).to_string(),
            authcid: req.authcid.or(node),
            password: req.password,
            scram_keys: None,
        };
        if let Some(r) = jid::resource(&req.jid) {
            self.login.resource = Some(r.to_string());
        }
        self.status_cb = Some(req.callback);
        self.redirects = 0;
        let (authzid, jid) = (self.login.creds.authzid.clone(), req.jid);
        self.publish(|s| {
            s.jid = jid;
            s.authzid = authzid;
            s.domain = domain;
            s.failure_detail = None;
        });
        self.open_transport();
    }

    /// Strophe's `attach`: join a prebound BOSH session (also `restore`).
    pub(super) fn start_attach(&mut self, req: AttachRequest) {
        self.status_cb = Some(req.callback);
        if self.phase != Phase::Idle {
            self.change_status(Status::AttachFail, Some("already connected"), None);
            return;
        }
        let domain = jid::domain(&req.jid).to_string();
        self.login.creds = Credentials {
            jid: req.jid.clone(),
            domain: domain.clone(),
            authzid: jid::bare(&req.jid).to_string(),
            ..Credentials::default()
        };
        let (authzid, full) = (self.login.creds.authzid.clone(), req.jid.clone());
        self.publish(|s| {
            s.jid = full;
            s.authzid = authzid;
            s.domain = domain.clone();
        });
        let mut bosh = match BoshTransport::new(&self.url, &self.options) {
            Ok(t) => t,
            Err(e) => {
                self.change_status(Status::AttachFail, Some(&e.to_string()), None);
                self.finish(Some(&e.to_string()));
                return;
            }
        };
        self.announce_hooks(&mut bosh);
        self.set_phase(Phase::Attaching);
        let tokens = SessionTokens {
            sid: req.sid,
            rid: req.rid,
        };
        match bosh.attach(&domain, tokens) {
            Ok(()) => self.transport = Some(Box::new(bosh)),
            Err(e) => {
                self.change_status(Status::AttachFail, Some(&e.to_string()), None);
                self.finish(Some(&e.to_string()));
            }
        }
    }

    /// Joins the session of this connection's worker, if one is up:
    /// ATTACHED with its JID, or ATTACHFAIL. Never logs in.
    pub(super) fn start_shared_attach(&mut self, callback: StatusFn) {
        self.status_cb = Some(callback);
        if self.phase != Phase::Idle {
            self.change_status(Status::AttachFail, Some("already connected"), None);
            return;
        }
        let TransportKind::Shared { worker, url } = &self.kind else {
            self.change_status(Status::AttachFail, Some("no worker option set"), None);
            return;
        };
        let made = SharedTransport::new(worker, url, &self.options, self.waker(), None);
        let mut shared = match made {
            Ok(t) => t,
            Err(e) => {
                self.fail(Status::AttachFail, &e.to_string());
                return;
            }
        };
        self.announce_hooks(&mut shared);
        self.set_phase(Phase::Attaching);
        self.connect_deadline = Some(Instant::now() + self.options.connect_timeout);
        match shared.open("", self.options.connect_timeout) {
            Ok(()) => self.transport = Some(Box::new(shared)),
            Err(e) => self.fail(Status::AttachFail, &e.to_string()),
        }
    }

    /// How a transport's helper threads wake this engine.
    pub(super) fn waker(&self) -> crate::transport::Notify {
        // Only the mailbox: a helper thread holding the connection, even
        // for a moment, could end up freeing it (and its userdata) late.
        let mailbox = self.core.upgrade().map(|core| Arc::clone(&core.mailbox));
        Arc::new(move || {
            if let Some(mailbox) = &mailbox {
                mailbox.wake();
            }
        })
    }

    pub(super) fn open_transport(&mut self) {
        self.set_phase(Phase::Negotiating);
        // A reconnection reports RECONNECTING, then CONNECTED (or the end).
        if self.recovery.reconnecting.is_none() {
            self.change_status(Status::Connecting, None, None);
        }
        let timeout = self.options.connect_timeout;
        // The watchdog of an inline handshake cuts it at this same deadline,
        // so the connect timer finds it passed.
        let deadline = Instant::now() + timeout;
        self.connect_deadline = Some(deadline);
        log_at!(self.log, Info, "opening {}", self.url);
        let mut transport: Box<dyn Transport> = match &self.kind {
            TransportKind::WebSocket { .. } => Box::new(WebSocketTransport::new(
                &self.url,
                &self.options,
                self.waker(),
            )),
            TransportKind::Tcp { target } => {
                Box::new(TcpTransport::new(target, &self.options, self.waker()))
            }
            TransportKind::Bosh { .. } => match BoshTransport::new(&self.url, &self.options) {
                Ok(t) => Box::new(t),
                Err(e) => {
                    self.fail(Status::ConnFail, &e.to_string());
                    return;
                }
            },
            TransportKind::Shared { worker, url } => {
                let account = Some(self.login.creds.jid.as_str());
                match SharedTransport::new(worker, url, &self.options, self.waker(), account) {
                    Ok(t) => Box::new(t),
                    Err(e) => {
                        self.fail(Status::ConnFail, &e.to_string());
                        return;
                    }
                }
            }
        };
        self.announce_hooks(transport.as_mut());
        let domain = self.login.creds.domain.clone();
        let opened = match self.open_inline(transport.as_mut(), &domain, deadline) {
            Some(result) => result,
            None => transport.open(&domain, timeout),
        };
        match opened {
            Ok(()) => self.transport = Some(transport),
            Err(Error::Timeout(m)) => self.fail(Status::ConnTimeout, &m),
            Err(e) => self.login_failed(&e),
        }
    }

    /// Opens on this thread, blocking, when the step may block and nothing
    /// waits to end the attempt; None: `open` it (on a helper thread).
    fn open_inline(
        &self,
        transport: &mut dyn Transport,
        domain: &str,
        deadline: Instant,
    ) -> Option<Result<()>> {
        // The transports whose open blocks; the others never wait, and
        // need no watchdog.
        let blocks = matches!(
            self.kind,
            TransportKind::WebSocket { .. } | TransportKind::Tcp { .. }
        );
        // A timed handler or an IQ's timeout due meanwhile must fire on time.
        let app_timer = [self.handlers.next_deadline(), self.iqs.next_deadline()]
            .into_iter()
            .flatten()
            .min();
        if !self.may_block || self.cut_queued || !blocks || app_timer.is_some_and(|t| t < deadline)
        {
            return None;
        }
        let core = self.core.upgrade()?;
        let line = core.inline.begin(self.cuts_seen, deadline)?;
        let result = transport.open_blocking(domain, deadline, &line);
        core.inline.end();
        // Cut by disconnect() or free, or at the deadline: the command or
        // the connect timer ends the attempt, as with a helper thread.
        Some(result.or_else(|e| if line.aborted() { Ok(()) } else { Err(e) }))
    }

    /// RFC 7395 §3.6: `<close see-other-uri=…/>`. Never to a weaker
    /// scheme, never off WebSocket.
    pub(super) fn redirect(&mut self, uri: &str) {
        let lower = uri.to_ascii_lowercase();
        let secure_now = self.url.to_ascii_lowercase().starts_with("wss:");
        let allowed = lower.starts_with("wss://") || (lower.starts_with("ws://") && !secure_now);
        if !allowed {
            self.drop_transport();
            self.fail(
                Status::ConnFail,
                "see-other-uri would downgrade or leave WebSocket; refused",
            );
            return;
        }
        let kind = match &self.kind {
            TransportKind::Shared { worker, .. } => TransportKind::Shared {
                worker: worker.clone(),
                url: uri.to_string(),
            },
            _ => TransportKind::WebSocket {
                url: uri.to_string(),
            },
        };
        self.follow(uri, kind);
    }

    /// RFC 6120 §4.9.3.19: `<see-other-host>host[:port]</see-other-host>`
    /// over TCP, in the same TLS mode (TLS stays required, and the
    /// certificate is still checked for the JID's domain).
    pub(super) fn redirect_tcp(&mut self, to: &str) {
        let TransportKind::Tcp { target } = &self.kind else {
            return;
        };
        let direct = matches!(
            target,
            TcpTarget::Host {
                direct_tls: true,
                ..
            } | TcpTarget::Srv {
                direct_tls: Some(true),
                ..
            }
        );
        match crate::options::tcp_redirect(to.trim(), direct) {
            Ok(target) => self.follow(&target.to_string(), TransportKind::Tcp { target }),
            Err(e) => {
                self.drop_transport();
                self.fail(Status::ConnFail, &format!("see-other-host refused: {e}"));
            }
        }
    }

    fn drop_transport(&mut self) {
        self.generation += 1;
        if let Some(mut t) = self.transport.take() {
            t.abort();
        }
    }

    /// Opens a new transport to where a redirect points.
    fn follow(&mut self, url: &str, kind: TransportKind) {
        self.drop_transport();
        // A server pointing back at itself (or a ring of them) would
        // otherwise keep us reconnecting for ever, as fast as it answers.
        self.redirects += 1;
        if self.redirects > MAX_REDIRECTS {
            let why = format!("too many redirects ({MAX_REDIRECTS}), the last to {url}");
            self.change_status(Status::ConnFail, Some(&why), None);
            self.finish(Some(&why));
            return;
        }
        // Strophe's fixed text; the new URL is service().
        log_at!(self.log, Info, "redirected to {url}");
        self.change_status(Status::Redirect, Some(REDIRECTED), None);
        self.url = url.to_string();
        self.publish(|s| s.service = url.to_string());
        self.kind = kind;
        self.login.sasl = None;
        // connect_timeout bounds the whole login, redirects included.
        let deadline = self.connect_deadline;
        self.open_transport();
        if self.connect_deadline.is_some() {
            self.connect_deadline = deadline.or(self.connect_deadline);
        }
    }
}
