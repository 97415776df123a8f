//! The connection handle from C: `epode_conn`, the opaque object every
//! `epode_conn_*` function takes, with the last error it keeps. The
//! functions on it are cut by concern, one submodule each, declared in the
//! order the header presents them (cbindgen keeps source order): its life,
//! the session (login, attach, restore, disconnect), sending, handlers,
//! hooks, the output's flow and sync mode. Its getters are in `getters.rs`.
//!
//! Callbacks run on the connection's engine thread (or, in sync mode, on
//! the thread inside `epode_conn_connect`/`_run_once`/…), one at a time.
//! Pointers passed to a callback (condition, stanza, text) are borrowed and
//! valid only until it returns.

// One per line, apart, so that rustfmt keeps the header's order.
pub mod life;

pub mod session;

pub mod send;

pub mod handlers;

pub mod hooks;

pub mod flow;

pub mod sync;

use super::guard::KeepsLastError;
use super::stanza::epode_stanza;
use crate::connection::Connection;
use crate::mailbox::lock;
use crate::xml::Element;
use std::sync::Mutex;

/// An XMPP connection. Opaque; created by `epode_conn_new`, freed by `epode_conn_free`.
#[allow(non_camel_case_types)]
pub struct epode_conn {
    conn: Connection,
    last_error: Mutex<String>,
}

impl epode_conn {
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl KeepsLastError for epode_conn {
    const WHAT: &'static str = "conn";
    fn keep_last_error(&self, message: &str) {
        message.clone_into(&mut lock(&self.last_error));
    }
}

/// An element lent to a C callback as a stanza pointer, valid until it
/// returns.
fn borrowed(elem: &Element) -> *const epode_stanza {
    (elem as *const Element).cast()
}
