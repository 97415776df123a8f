//! Every XML namespace the library speaks, in one place, each with the
//! specification that defines it. Code elsewhere names these constants and
//! never spells a namespace out.

/// Stanzas between a client and its server (RFC 6120 §4.8.3).
pub const CLIENT: &str = "jabber:client";
/// The `<stream:stream>` wrapper and its features and errors (RFC 6120 §4.8.1).
pub const STREAMS: &str = "http://etherx.jabber.org/streams";
/// STARTTLS: `<starttls/>`, `<proceed/>`, `<failure/>` (RFC 6120 §5.4).
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL negotiation: `<mechanisms>`, `<auth>`, `<challenge>`, … (RFC 6120 §6.4).
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// Resource binding (RFC 6120 §7).
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// Session establishment, which old servers still require (RFC 3921 §3;
/// optional since RFC 6121, draft-cridland-xmpp-session).
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// Stanza error conditions (RFC 6120 §8.3.3).
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// WebSocket framing: `<open/>` and `<close/>` (RFC 7395 §3.3).
pub const FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
/// The BOSH `<body>` wrapper (XEP-0124 §4).
pub const HTTPBIND: &str = "http://jabber.org/protocol/httpbind";
/// XMPP over BOSH: `xmpp:version`, `xmpp:restart` (XEP-0206 §4).
pub const XBOSH: &str = "urn:xmpp:xbosh";
/// Stream management: acks and resumption (XEP-0198 §3).
pub const SM: &str = "urn:xmpp:sm:3";
/// XMPP ping (XEP-0199 §3).
pub const PING: &str = "urn:xmpp:ping";
/// The reserved `xml` prefix's namespace (Namespaces in XML 1.0 §3).
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
/// The reserved `xmlns` prefix's namespace (Namespaces in XML 1.0 §3).
pub const XMLNS: &str = "http://www.w3.org/2000/xmlns/";
