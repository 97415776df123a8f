//! Logging in, by protocol phase: the first features, SASL (the exchange
//! itself is the step machine in auth.rs), the restarted stream's
//! features, resource binding and the legacy session. Where it ends:
//! `session_up` (or AUTHFAIL, CONNFAIL).

use super::auth::{self, SaslExchange, SaslStep};
use super::{Arrival, Engine, MechanismFactory, Phase};
use crate::jid;
use crate::log::log_at;
use crate::sasl::{self, Credentials, Mechanism};
use crate::status::Status;
use crate::xml::ns;
use crate::xml::{Builder, Element};

/// What the login needs: who we are, how we prove it, what we ask for.
pub(super) struct Login {
    pub creds: Credentials,
    /// The bind resource asked for.
    pub resource: Option<String>,
    /// The application's SASL mechanisms (they replace built-ins by name).
    pub custom_mechanisms: Vec<MechanismFactory>,
    /// The SASL exchange under way.
    pub sasl: Option<SaslExchange>,
    /// The restarted stream requires a legacy session (RFC 3921).
    pub session_required: bool,
}

impl Login {
    pub fn new(resource: Option<String>) -> Login {
        Login {
            creds: Credentials::default(),
            resource,
            custom_mechanisms: Vec::new(),
            sasl: None,
            session_required: false,
        }
    }
}

impl Engine {
    /// Fresh instances of every mechanism this login may use: the
    /// built-ins, replaced by custom ones of the same name, filtered by the
    /// `mechanisms` option.
    pub(super) fn enabled_mechanisms(&self) -> Vec<Box<dyn Mechanism>> {
        let custom: Vec<Box<dyn Mechanism>> = self
            .login
            .custom_mechanisms
            .iter()
            .map(|make| make())
            .collect();
        let mut all = sasl::default_mechanisms();
        all.retain(|m| {
            !custom
                .iter()
                .any(|c| c.name().eq_ignore_ascii_case(m.name()))
        });
        all.extend(custom);
        if let Some(allowed) = &self.options.mechanisms {
            all.retain(|m| allowed.iter().any(|a| a.eq_ignore_ascii_case(m.name())));
        }
        all
    }

    /// The first features: choose a SASL mechanism and start it.
    pub(super) fn on_features(&mut self, features: &Element) {
        if features.local_name() != "features" {
            return;
        }
        let offered = auth::offered(features);
        let mut enabled = self.enabled_mechanisms();
        let chosen = sasl::select(&offered, &enabled, &self.login.creds);
        let Some(index) = chosen else {
            let anonymous_jid = jid::node(&self.login.creds.jid).is_none();
            let condition = if anonymous_jid {
                "x-strophe-bad-non-anon-jid"
            } else {
                "no-auth-mech"
            };
            self.change_status(Status::ConnFail, Some(condition), None);
            // Strophe disconnect()s after this one (DISCONNECTING), and
            // drops the link after no-auth-mech.
            if anonymous_jid {
                self.change_status(Status::Disconnecting, Some(condition), None);
            }
            self.begin_close();
            return;
        };
        let mech = enabled.swap_remove(index);
        log_at!(
            self.log,
            Info,
            "SASL mechanism {} (offered: {})",
            mech.name(),
            offered.join(" ")
        );
        self.set_phase(Phase::Authenticating);
        if self.recovery.reconnecting.is_none() {
            self.change_status(Status::Authenticating, None, None);
        }
        match SaslExchange::start(mech, &self.login.creds) {
            Ok((exchange, auth)) => {
                self.login.sasl = Some(exchange);
                self.write_now(auth);
            }
            Err(why) => self.auth_failed(&why),
        }
    }

    /// AUTHFAIL, then the stream is closed (no DISCONNECTING: nobody asked).
    pub(super) fn auth_failed(&mut self, condition: &str) {
        self.auth_failed_with(Some(condition), None);
    }

    /// AUTHFAIL with the server's answer that caused it (the SASL
    /// `<failure/>`, the bind or session error `<iq/>`), as Strophe passes it.
    pub(super) fn auth_failed_with(&mut self, condition: Option<&str>, elem: Option<&Element>) {
        self.change_status(Status::AuthFail, condition, elem);
        self.begin_close();
    }

    /// The server's next SASL element, for the exchange to judge.
    pub(super) fn on_sasl(&mut self, elem: &Element) {
        let Some(exchange) = self.login.sasl.as_mut() else {
            return;
        };
        match exchange.step(&self.login.creds, elem) {
            SaslStep::Ignored => {}
            SaslStep::Reply(response) => self.write_now(response),
            SaslStep::Success => {
                self.login.sasl = None;
                self.set_phase(Phase::Restarting);
                let domain = self.login.creds.domain.clone();
                if let Some(Err(e)) = self.transport.as_mut().map(|t| t.restart(&domain)) {
                    self.on_transport_error(e);
                }
            }
            SaslStep::Refused(condition) => {
                self.login.sasl = None;
                self.auth_failed(&condition);
            }
            SaslStep::Rejected(condition) => {
                self.login.sasl = None;
                self.auth_failed_with(Some(&condition), Some(elem));
            }
        }
    }

    pub(super) fn on_restart_features(&mut self, features: &Element) {
        if features.local_name() != "features" {
            return;
        }
        self.login.session_required = features
            .find_child("session", Some(ns::SESSION))
            .is_some_and(|s| s.find_child("optional", None).is_none());
        self.recovery.sm_offered = features.find_child("sm", Some(ns::SM)).is_some();
        if self.try_resume() {
            return;
        }
        if features.find_child("bind", Some(ns::BIND)).is_none() {
            // Strophe: AUTHFAIL, without a condition.
            log_at!(self.log, Warn, "the server offers no resource binding");
            self.auth_failed_with(None, None);
            return;
        }
        self.bind_or_wait();
    }

    /// Binds now, or with `explicitResourceBinding` reports BINDREQUIRED
    /// and waits for `bind()`.
    pub(super) fn bind_or_wait(&mut self) {
        if self.options.explicit_resource_binding {
            self.set_phase(Phase::BindRequired);
            self.connect_deadline = None;
            self.change_status(Status::BindRequired, None, None);
        } else {
            self.send_bind();
        }
    }

    pub(super) fn send_bind(&mut self) {
        self.set_phase(Phase::Binding);
        let id = self.next_id("bind");
        let mut b =
            Builder::iq([("type", "set"), ("id", id.as_str())]).c("bind", [("xmlns", ns::BIND)]);
        if let Some(resource) = self.login.resource.clone() {
            b = b.c_text("resource", crate::xml::NO_ATTRS, &resource);
        }
        let iq = b.build();
        self.write_now(iq);
    }

    pub(super) fn on_bind_result(&mut self, iq: &Element) {
        if iq.name() != "iq" {
            return;
        }
        if iq.attr("type") == Some("error") {
            let conflict = iq
                .find_child("error", None)
                .and_then(|e| e.find_child("conflict", None))
                .is_some();
            let condition = if conflict { "conflict" } else { "bind-failed" };
            self.auth_failed_with(Some(condition), Some(iq));
            return;
        }
        let bound = iq
            .find_child("bind", Some(ns::BIND))
            .and_then(|b| b.child_text("jid"))
            .map(|j| j.trim().to_string());
        let Some(full) = bound else {
            self.auth_failed_with(Some("bind-failed"), Some(iq));
            return;
        };
        self.set_jid(full);
        if self.login.session_required {
            self.set_phase(Phase::Session);
            let id = self.next_id("session");
            let iq = Builder::iq([("type", "set"), ("id", id.as_str())])
                .c("session", [("xmlns", ns::SESSION)])
                .build();
            self.write_now(iq);
        } else {
            self.session_up(Arrival::Bound);
        }
    }

    pub(super) fn on_session_result(&mut self, iq: &Element) {
        if iq.name() != "iq" {
            return;
        }
        if iq.attr("type") == Some("result") {
            self.session_up(Arrival::Bound);
        } else {
            self.auth_failed_with(Some("session-failed"), Some(iq));
        }
    }
}
