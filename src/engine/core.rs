//! What a connection's handles and its engine share: the mailbox that
//! carries commands in, the engine behind its lock, and the state getters
//! read. It sits here, below `connection/`, so that the engine needs
//! nothing from the layer above but the [`Connection`](crate::Connection) its callbacks get.

use super::{Command, Engine};
use crate::log::Logger;
use crate::mailbox::Mailbox;
use crate::options::Options;
use crate::readiness::Readiness;
use crate::send_tickets::SendTickets;
use crate::sm::StreamManagement;
use crate::status::Status;
use crate::transport::inline_handshake::InlineSlot;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, ThreadId};

/// What getters read without disturbing the engine.
#[derive(Debug, Clone, Default)]
pub(crate) struct PublicState {
    pub(crate) jid: String,
    pub(crate) authzid: String,
    pub(crate) domain: String,
    pub(crate) authenticated: bool,
    /// A session attempt or session is under way.
    pub(crate) connected: bool,
    pub(crate) disconnecting: bool,
    pub(crate) paused: bool,
    pub(crate) status: Option<Status>,
    /// The session came back by XEP-0198 resumption.
    pub(crate) resumed: bool,
    /// The service URL in use: the one given, or where a redirect led.
    pub(crate) service: String,
    /// The error behind the last failure status whose condition is one of
    /// Strophe's fixed texts (the refused port, the TLS error, the URL).
    pub(crate) failure_detail: Option<String>,
}

/// One connection, shared by all its handles (`Arc`) and its engine
/// (`Weak`: the engine must not keep the connection alive).
pub(crate) struct Core {
    /// Shared with the transports' wakers, which must not keep the
    /// connection itself alive (its last owner frees it, synchronously).
    pub(crate) mailbox: Arc<Mailbox<Command>>,
    pub(crate) engine: Mutex<Engine>,
    pub(crate) state: Mutex<PublicState>,
    pub(crate) thread: Mutex<Option<JoinHandle<()>>>,
    /// The thread driving the engine right now, to refuse self-deadlocks.
    pub(crate) driver: Mutex<Option<ThreadId>>,
    pub(crate) sync: AtomicBool,
    /// Pollable mode (option `pollable`): the caller's own loop drives the
    /// engine, and no call waits for it.
    pub(crate) pollable: bool,
    /// The descriptor that loop waits on, made on first request.
    pub(crate) readiness: OnceLock<Readiness>,
    /// What sends wait for in sync mode.
    pub(crate) tickets: SendTickets,
    /// A handshake the engine makes on its own thread, for the commands
    /// that end the attempt to cut.
    pub(crate) inline: InlineSlot,
    /// An xmlOutput hook is set: sends must keep the element.
    pub(crate) xml_output_hooked: AtomicBool,
    pub(crate) next_id: AtomicU64,
    /// XEP-0198 state, shared with the engine so it can be exported.
    pub(crate) sm: Arc<Mutex<StreamManagement>>,
    /// Random per connection: handles sharing one session (a worker) must
    /// not hand out the same stanza ids.
    pub(crate) id_prefix: String,
    /// Shared with the engine, so a handler set before connect applies at once.
    pub(crate) log: Logger,
    pub(crate) options: Options,
    pub(crate) service: String,
    pub(crate) bosh: bool,
}
