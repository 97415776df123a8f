//! Options by name, as text: [`Options::set`] and [`Options::get`], the
//! interface of the C API and the `status` example, with Strophe's names
//! and their snake_case aliases. Each arm gives the bounds of its option
//! and why; the parsing of each kind of value is in `values.rs`.

use super::http::{cookie_text, parse_cookie, parse_header_line};
use super::values::{
    float_in, int_in, parse_bool, parse_dns_server, parse_ms, path_or_none, BYTES, MIN_PING,
};
use super::Options;
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::time::Duration;

impl Options {
    /// Sets an option by its Strophe name (or snake_case alias) from text,
    /// as the C API and the `status` example do. List options (`cookies`,
    /// `customHeaders`) add one entry per call.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "mechanisms" => {
                let names: Vec<String> = value
                    .split(',')
                    .map(|m| m.trim().to_ascii_uppercase())
                    .filter(|m| !m.is_empty())
                    .collect();
                if names.is_empty() {
                    return Err(Error::InvalidArgument("mechanisms is empty".into()));
                }
                self.mechanisms = Some(names);
            }
            "explicitResourceBinding" | "explicit_resource_binding" => {
                self.explicit_resource_binding = parse_bool(key, value)?
            }
            "protocol" => match value {
                "ws" | "wss" => self.protocol = Some(value.to_string()),
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "protocol must be ws or wss, not {value:?}"
                    )))
                }
            },
            "worker" => self.worker = Some(value.to_string()).filter(|v| !v.is_empty()),
            "sync" => self.sync = parse_bool(key, value)?,
            "pollable" => self.pollable = parse_bool(key, value)?,
            "customHeaders" | "custom_headers" | "header" => {
                let header = parse_header_line(value)?;
                self.custom_headers.push(header);
            }
            "cookies" | "cookie" => {
                let cookie = parse_cookie(value)?;
                self.cookies.retain(|c| c.name != cookie.name);
                self.cookies.push(cookie);
            }
            "keepalive" => self.keepalive = parse_bool(key, value)?,
            "keepalive_path" | "keepalivePath" => self.keepalive_path = path_or_none(value),
            "withCredentials" | "with_credentials" => {
                self.with_credentials = parse_bool(key, value)?
            }
            "contentType" | "content_type" => {
                if value.bytes().any(|b| b == b'\r' || b == b'\n') {
                    return Err(Error::InvalidArgument(
                        "contentType contains a line break".into(),
                    ));
                }
                self.content_type = value.to_string();
            }
            "origin" => self.origin = Some(value.to_string()).filter(|v| !v.is_empty()),
            "ca_file" | "caFile" => self.ca_file = path_or_none(value),
            "accept_invalid_certs" | "acceptInvalidCerts" => {
                self.accept_invalid_certs = parse_bool(key, value)?
            }
            "client_cert" | "clientCert" => self.client_cert = path_or_none(value),
            "client_key" | "clientKey" => self.client_key = path_or_none(value),
            "allow_plaintext" | "allowPlaintext" => self.allow_plaintext = parse_bool(key, value)?,
            "dns_server" | "dnsServer" => self.dns_server = parse_dns_server(key, value)?,
            "strip" => self.strip = parse_bool(key, value)?,
            // The primary BOSH timeout is TIMEOUT × wait: below 1 a request
            // is given up before the server's wait is over, above 10 a dead
            // link goes unnoticed for ten waits.
            "timeout" | "TIMEOUT" => self.timeout_multiplier = float_in(key, value, 1.0..=10.0)?,
            // A grace period for a request already overdue: some, never
            // none, and no longer than TIMEOUT may be.
            "secondary_timeout" | "SECONDARY_TIMEOUT" => {
                self.secondary_timeout_multiplier = float_in(key, value, 0.01..=10.0)?
            }
            // 0 never reconnects; a million attempts is "keep trying" (a
            // year at the 30 s cap) with the attempt counter far from overflow.
            "maxRetries" | "max_retries" => {
                self.max_retries = int_in(key, value, 0..=1_000_000, "attempts")?
            }
            // 0: close without waiting for the server's answer (Strophe's way).
            "disconnection_timeout" | "disconnectionTimeout" => {
                self.disconnection_timeout = parse_ms(key, value, 0)?
            }
            // 0 would time out every connection before it starts.
            "connect_timeout" | "connectTimeout" => self.connect_timeout = parse_ms(key, value, 1)?,
            // XEP-0124 `wait` (seconds): 0 would turn long polling into a
            // busy loop; an hour outlasts any proxy's idle limit already.
            "wait" => self.wait = int_in(key, value, 1..=3600, "seconds")?,
            // XEP-0124 `hold`: 0 is a polling session; the request window
            // (hold + 1) is capped at 16 requests like the server's `requests`.
            "hold" => self.hold = int_in(key, value, 0..=15, "requests")?,
            "route" => self.route = Some(value.to_string()).filter(|v| !v.is_empty()),
            "resource" => self.resource = Some(value.to_string()).filter(|v| !v.is_empty()),
            "max_stanza_bytes" => self.max_stanza_bytes = int_in(key, value, BYTES, "bytes")?,
            // Stream features, a roster item's groups and a pubsub payload
            // need a few levels; past 1024 nesting is an attack, not a document.
            "max_depth" => self.max_depth = int_in(key, value, 8..=1024, "levels")?,
            "reconnect" => self.reconnect = parse_bool(key, value)?,
            // 0 would retry at once, every time: 0 doubled stays 0, and a
            // cap of 0 makes every wait 0.
            "reconnect_delay" | "reconnectDelay" => self.reconnect_delay = parse_ms(key, value, 1)?,
            "reconnect_max_delay" | "reconnectMaxDelay" => {
                self.reconnect_max_delay = parse_ms(key, value, 1)?
            }
            "streamManagement" | "stream_management" => {
                self.stream_management = parse_bool(key, value)?
            }
            "resendUnacked" | "resend_unacked" => self.resend_unacked = parse_bool(key, value)?,
            "max_send_queue_bytes" => {
                self.max_send_queue_bytes = int_in(key, value, BYTES, "bytes")?
            }
            // 0 turns the check off; under a second would ping as fast
            // as the server answers.
            "pingInterval" | "ping_interval" => {
                let interval = parse_ms(key, value, 0)?;
                if !interval.is_zero() && interval < MIN_PING {
                    return Err(Error::InvalidArgument(format!(
                        "{key} must be 0 (off) or at least 1000 milliseconds, not {value:?}"
                    )));
                }
                self.ping_interval = interval;
            }
            // Under a second, a healthy but busy link could miss it.
            "pingTimeout" | "ping_timeout" => {
                self.ping_timeout = parse_ms(key, value, MIN_PING.as_millis() as u64)?
            }
            _ => return Err(Error::UnknownOption(key.to_string())),
        }
        Ok(())
    }
}

impl Options {
    /// An option by the names `set` takes, as text that `set` accepts back
    /// (Strophe users read `conn.options.x`; C has no struct to read).
    /// Unset values are "" (for `mechanisms`: every built-in is allowed);
    /// durations are milliseconds; list options have one entry per line.
    pub fn get(&self, key: &str) -> Result<String> {
        fn text(v: &Option<String>) -> String {
            v.clone().unwrap_or_default()
        }
        fn path(v: &Option<PathBuf>) -> String {
            v.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        }
        let ms = |d: Duration| d.as_millis().to_string();
        Ok(match key {
            "mechanisms" => self
                .mechanisms
                .as_ref()
                .map(|m| m.join(","))
                .unwrap_or_default(),
            "explicitResourceBinding" | "explicit_resource_binding" => {
                self.explicit_resource_binding.to_string()
            }
            "protocol" => text(&self.protocol),
            "worker" => text(&self.worker),
            "sync" => self.sync.to_string(),
            "pollable" => self.pollable.to_string(),
            "customHeaders" | "custom_headers" | "header" => self
                .custom_headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            "cookies" | "cookie" => self
                .cookies
                .iter()
                .map(cookie_text)
                .collect::<Vec<_>>()
                .join("\n"),
            "keepalive" => self.keepalive.to_string(),
            "keepalive_path" | "keepalivePath" => path(&self.keepalive_path),
            "withCredentials" | "with_credentials" => self.with_credentials.to_string(),
            "contentType" | "content_type" => self.content_type.clone(),
            "origin" => text(&self.origin),
            "ca_file" | "caFile" => path(&self.ca_file),
            "accept_invalid_certs" | "acceptInvalidCerts" => self.accept_invalid_certs.to_string(),
            "client_cert" | "clientCert" => path(&self.client_cert),
            "client_key" | "clientKey" => path(&self.client_key),
            "allow_plaintext" | "allowPlaintext" => self.allow_plaintext.to_string(),
            "dns_server" | "dnsServer" => {
                self.dns_server.map(|a| a.to_string()).unwrap_or_default()
            }
            "strip" => self.strip.to_string(),
            "timeout" | "TIMEOUT" => self.timeout_multiplier.to_string(),
            "secondary_timeout" | "SECONDARY_TIMEOUT" => {
                self.secondary_timeout_multiplier.to_string()
            }
            "maxRetries" | "max_retries" => self.max_retries.to_string(),
            "disconnection_timeout" | "disconnectionTimeout" => ms(self.disconnection_timeout),
            "connect_timeout" | "connectTimeout" => ms(self.connect_timeout),
            "wait" => self.wait.to_string(),
            "hold" => self.hold.to_string(),
            "route" => text(&self.route),
            "resource" => text(&self.resource),
            "max_stanza_bytes" => self.max_stanza_bytes.to_string(),
            "max_depth" => self.max_depth.to_string(),
            "max_send_queue_bytes" => self.max_send_queue_bytes.to_string(),
            "reconnect" => self.reconnect.to_string(),
            "reconnect_delay" | "reconnectDelay" => ms(self.reconnect_delay),
            "reconnect_max_delay" | "reconnectMaxDelay" => ms(self.reconnect_max_delay),
            "streamManagement" | "stream_management" => self.stream_management.to_string(),
            "resendUnacked" | "resend_unacked" => self.resend_unacked.to_string(),
            "pingInterval" | "ping_interval" => ms(self.ping_interval),
            "pingTimeout" | "ping_timeout" => ms(self.ping_timeout),
            _ => return Err(Error::UnknownOption(key.to_string())),
        })
    }
}
