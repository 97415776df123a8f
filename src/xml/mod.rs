//! The XML layer: an owned element tree ([`Element`]), a serializer, a
//! Strophe-style [`Builder`] and an incremental [`StreamParser`] that cuts an
//! XMPP stream (TCP, BOSH bodies or RFC 7395 WebSocket messages) into
//! stanzas.
//!
//! Nothing here recurses on the depth of a tree: parsing, serializing,
//! cloning, comparing and dropping all use explicit stacks, so a hostile or
//! merely deep document cannot overflow the thread's stack.

mod builder;
mod element;
mod error;
mod escape;
mod lexer;
pub mod ns;
mod parser;
mod serialize;

#[cfg(test)]
mod tests;

pub use builder::{Builder, NO_ATTRS};
pub use element::{Element, Node};
pub use error::XmlError;
pub use parser::{
    parse_element, parse_element_bytes, parse_element_with_limits, parse_received, Limits,
    StreamEvent, StreamParser,
};
pub use serialize::{escape_attr, escape_text};

pub(crate) use escape::any_marked;
#[cfg(any(test, fuzzing))]
pub(crate) use parser::parse_document;
