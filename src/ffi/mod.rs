//! The `extern "C"` surface, and nothing else: every function here checks
//! its pointers, runs inside a panic guard and maps errors to
//! `epode_result`. The logic lives in the Rust modules it calls.
//!
//! Threading: every function may be called from any thread. Stanza and
//! builder handles are plain values: one thread at a time per handle.
//!
//! Every export's comment follows one template (checked by
//! `tests/header.rs`): what it does, then **Ownership**, **Lifetime**,
//! **Thread** and **Errors**. The **Lifetime** paragraph is the function's
//! safety contract (what every pointer must be, and for how long), so no
//! separate `# Safety` section repeats it.
//!
//! The modules are declared in the order the header presents them (cbindgen
//! keeps source order): the library, options, the connection and its
//! getters, stream management, logs, SASL, stanzas, the builder, JIDs,
//! discovery.
#![allow(clippy::missing_safety_doc)]

pub mod callback;
#[cfg(any(fuzzing, test))]
pub mod fuzzing;
pub mod guard;
pub mod result;
pub mod status;
pub mod version;

pub mod options;

pub mod conn;
pub mod getters;

pub mod sm;

pub mod log;

pub mod sasl;

pub mod stanza;

pub mod builder;

pub mod jid;

pub mod discovery;
