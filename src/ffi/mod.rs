//! The `extern "C"` surface, and nothing else: every function here checks
//! its pointers, runs inside a panic guard and maps errors to
//! `epode_result`. The logic lives in the Rust modules it calls.
//!
//! Threading: every function may be called from any thread. Stanza and
//! builder handles are plain values: one thread at a time per handle.

pub mod builder;
pub mod callback;
pub mod conn;
pub mod getters;
pub mod guard;
pub mod jid;
pub mod log;
pub mod options;
pub mod result;
pub mod sasl;
pub mod sm;
pub mod stanza;
pub mod status;
pub mod version;

pub use result::epode_result;
