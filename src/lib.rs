//! epode: a native XMPP client transport library — Strophe.js's connection
//! model (BOSH, WebSocket, shared connections) as a blocking library with a
//! stable C ABI.
//!
//! ```no_run
//! use epode::{Connection, Options, Status, Builder};
//!
//! let conn = Connection::new("ws://127.0.0.1:5280/xmpp-websocket", Options::default())?;
//! conn.connect("alice@localhost", Some("secret"), |conn, status, condition, _| {
//!     println!("{status} {}", condition.unwrap_or(""));
//!     if status == Status::Connected {
//!         let msg = Builder::msg([("to", "bob@localhost"), ("type", "chat")]).c_text("body", epode::xml::NO_ATTRS, "hi").build();
//!         conn.send(&msg).ok();
//!     }
//! })?;
//! # Ok::<(), epode::Error>(())
//! ```

pub mod connection;
mod engine;
pub mod error;
pub mod ffi;
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod fuzzing;
pub mod handler;
pub mod jid;
mod mailbox;
pub mod options;
pub mod sasl;
mod stack;
pub mod status;
pub mod transport;
pub mod xml;

pub use connection::Connection;
pub use error::{Error, Result};
pub use handler::{HandlerId, Keep, Matcher};
pub use options::Options;
pub use status::Status;
pub use xml::{Builder, Element, Node};
