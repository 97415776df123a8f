#![deny(missing_docs)]
//! epode: a native XMPP client transport library — Strophe.js's connection
//! model (BOSH, WebSocket, shared connections) as a blocking library with a
//! stable C ABI.
//!
//! A [`Connection`] logs in to a server over WebSocket (`ws://`, `wss://`),
//! BOSH (`http://`, `https://`) or TCP (`tcp://` with STARTTLS, `tls://`,
//! or a bare domain found by DNS SRV: [`discovery`]), reports every step through one status
//! callback with Strophe's [`Status`] numbers, and then sends and receives
//! stanzas ([`Element`], built with [`Builder`]) through handlers. No async
//! runtime: each connection has an engine thread of its own, or, with the
//! `sync` option, runs on the caller's thread inside the calls that need it
//! and [`Connection::run_once`].
//!
//! # Quick start
//!
//! Log in, say hello to bob, wait for his answer, log out — blocking:
//!
//! ```no_run
//! use epode::{xml::NO_ATTRS, Builder, Connection, Keep, Matcher, Options, Status};
//! use std::sync::mpsc;
//! use std::time::Duration;
//!
//! let conn = Connection::new("wss://example.com/xmpp-websocket", Options::default())?;
//! let (tx, rx) = mpsc::channel();
//!
//! // Handlers run on the engine thread; a channel brings the news back.
//! let replies = tx.clone();
//! let from_bob = Matcher {
//!     match_bare_from_jid: true, // any of bob's resources
//!     ..Matcher::new().name("message").from("bob@example.com")
//! };
//! conn.add_handler(from_bob, move |_, msg| {
//!     replies.send(msg.child_text("body")).ok();
//!     Keep::Remove
//! })?;
//! conn.connect("alice@example.com", Some("secret"), move |conn, status, condition, _| {
//!     println!("{status} {}", condition.unwrap_or(""));
//!     match status {
//!         Status::Connected => {
//!             let hi = Builder::msg([("to", "bob@example.com"), ("type", "chat")])
//!                 .c_text("body", NO_ATTRS, "hi")
//!                 .build();
//!             conn.send(&hi).ok();
//!         }
//!         Status::Disconnected => {
//!             tx.send(None).ok();
//!         }
//!         _ => {}
//!     }
//! })?;
//! if let Ok(Some(body)) = rx.recv_timeout(Duration::from_secs(30)) {
//!     println!("bob says {body}");
//! }
//! conn.disconnect(None)?;
//! # Ok::<(), epode::Error>(())
//! ```
//!
//! `tests/examples/echo_bot.rs` is a complete program in this style
//! (`cargo run --example echo_bot -- SERVICE JID PASSWORD`).
//!
//! # Where to look
//!
//! - [`Connection`]: connect, attach/restore (BOSH), send, `send_iq`,
//!   handlers, hooks, pause/resume, sync mode, getters.
//! - [`Options`]: every option by its Strophe name ([`Options::set`],
//!   [`Options::get`]).
//! - [`xml`]: elements, the parser, Strophe's builder; [`jid`]: JID helpers.
//! - [`log`]: a log handler per connection or for the process
//!   ([`Connection::set_log_handler`]); passwords are never logged.
//! - [`sasl`]: the mechanisms, and the trait for custom ones.
//! - The C ABI (`include/epode.h`) is a thin layer over this API, in
//!   `src/ffi/`; it is not part of the Rust API.

// The public surface is what a Rust program uses: the types re-exported
// below, and the modules `xml`, `jid`, `log` and `sasl` for their helpers.
// Everything else is the library's inside. The C ABI (`ffi`) is private
// too: its `#[no_mangle] extern "C"` functions are exported from the
// cdylib and staticlib whatever the module's visibility.
mod connection;
pub mod discovery;
mod engine;
mod error;
mod ffi;
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod fuzzing;
/// The fuzz targets' ways in through the C ABI (`fuzz/`).
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub use ffi::fuzzing as c_fuzzing;
mod handler;
mod http_tls;
pub mod jid;
#[cfg(test)]
mod layers;
mod liveness;
pub mod log;
mod mailbox;
mod options;
mod outgoing;
mod panic;
mod ping;
mod readiness;
mod reconnect;
pub mod sasl;
mod send_tickets;
mod sm;
mod stack;
mod status;
mod transport;
pub mod xml;

pub use connection::Connection;
pub use error::{Cause, Error, Result};
pub use handler::{HandlerId, Keep, Matcher};
pub use jid::Jid;
pub use log::LogLevel;
pub use options::{Cookie, Options};
pub use status::Status;
pub use xml::{Builder, Element, Node};
