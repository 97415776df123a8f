//! JID helpers (RFC 7622 shape, no PRECIS) and XEP-0106 node escaping.
//!
//! The free functions split any string the way Strophe does, except that an
//! `@` after the first `/` belongs to the resource (RFC 7622 §3.1). [`Jid`]
//! is the validated form.

use std::fmt;
use std::str::FromStr;

/// RFC 7622 §3.1: each part is at most 1023 bytes.
pub(crate) const MAX_PART_LEN: usize = 1023;

/// XEP-0106 §3: the ten characters and their escape codes.
const ESCAPES: [(char, &str); 10] = [
    (' ', "20"),
    ('"', "22"),
    ('&', "26"),
    ('\'', "27"),
    ('/', "2f"),
    (':', "3a"),
    ('<', "3c"),
    ('>', "3e"),
    ('@', "40"),
    ('\\', "5c"),
];

/// The part before the first `/`.
pub fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(bare, _)| bare)
}

/// The part after the first `/` (it may contain `/` and `@`).
pub fn resource(jid: &str) -> Option<&str> {
    jid.split_once('/').map(|(_, resource)| resource)
}

/// The part before the first `@`, if that `@` comes before any `/`.
pub fn node(jid: &str) -> Option<&str> {
    bare(jid).split_once('@').map(|(node, _)| node)
}

/// The bare JID without its node.
pub fn domain(jid: &str) -> &str {
    let bare = bare(jid);
    bare.split_once('@').map_or(bare, |(_, domain)| domain)
}

/// `(node, domain, resource)`.
pub fn split(jid: &str) -> (Option<&str>, &str, Option<&str>) {
    (node(jid), domain(jid), resource(jid))
}

/// `node@domain/resource`, leaving out absent parts.
pub fn join(node: Option<&str>, domain: &str, resource: Option<&str>) -> String {
    let mut out = String::with_capacity(domain.len() + 2);
    if let Some(node) = node {
        out.push_str(node);
        out.push('@');
    }
    out.push_str(domain);
    if let Some(resource) = resource {
        out.push('/');
        out.push_str(resource);
    }
    out
}

/// XEP-0106 escaping of a node. Leading and trailing whitespace is trimmed
/// (Strophe); a backslash is escaped only where it would otherwise start
/// one of the ten escape sequences (XEP-0106, where Strophe escapes all).
pub fn escape_node(node: &str) -> String {
    let node = node.trim();
    let mut out = String::with_capacity(node.len());
    for (i, c) in node.char_indices() {
        let code = ESCAPES
            .iter()
            .find(|(ch, _)| *ch == c)
            .map(|(_, code)| *code);
        let needed = c != '\\' || node.get(i + 1..).is_some_and(starts_with_escape);
        match code {
            Some(code) if needed => {
                out.push('\\');
                out.push_str(code);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Inverse of [`escape_node`]: only the ten lowercase sequences of
/// XEP-0106 are decoded; any other backslash is kept as is.
pub fn unescape_node(node: &str) -> String {
    let mut out = String::with_capacity(node.len());
    let mut rest = node;
    while let Some((before, after)) = rest.split_once('\\') {
        out.push_str(before);
        let hit = ESCAPES
            .iter()
            .find_map(|(c, code)| after.strip_prefix(code).map(|tail| (*c, tail)));
        match hit {
            Some((c, tail)) => {
                out.push(c);
                rest = tail;
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn starts_with_escape(text: &str) -> bool {
    ESCAPES.iter().any(|(_, code)| text.starts_with(code))
}

/// Why a string is not a valid JID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JidError {
    EmptyDomain,
    /// `@example.com`
    EmptyNode,
    /// `example.com/`
    EmptyResource,
    /// A node holding `@` or `/`, or a domain holding `@`.
    InvalidCharacter(&'static str),
    /// The part is longer than 1023 bytes.
    TooLong(&'static str),
}

impl fmt::Display for JidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JidError::EmptyDomain => f.write_str("empty domain"),
            JidError::EmptyNode => f.write_str("empty node before '@'"),
            JidError::EmptyResource => f.write_str("empty resource after '/'"),
            JidError::InvalidCharacter(part) => write!(f, "invalid character in the {part}"),
            JidError::TooLong(part) => write!(f, "{part} longer than {MAX_PART_LEN} bytes"),
        }
    }
}

impl std::error::Error for JidError {}

/// A JID with the shape and lengths RFC 7622 requires (no PRECIS
/// normalisation: parts compare byte for byte).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Jid {
    node: Option<String>,
    domain: String,
    resource: Option<String>,
}

impl Jid {
    /// Parses `[node@]domain[/resource]`.
    pub fn parse(text: &str) -> Result<Jid, JidError> {
        let (node, domain, resource) = split(text);
        Jid::new(node, domain, resource)
    }

    /// Builds a JID from its parts, checking each. One trailing dot of the
    /// domain is dropped (RFC 7622 §3.2).
    pub fn new(node: Option<&str>, domain: &str, resource: Option<&str>) -> Result<Jid, JidError> {
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        check_part(node, "node", JidError::EmptyNode)?;
        check_part(Some(domain), "domain", JidError::EmptyDomain)?;
        check_part(resource, "resource", JidError::EmptyResource)?;
        if node.is_some_and(|n| n.contains(['@', '/'])) {
            return Err(JidError::InvalidCharacter("node"));
        }
        // Still a dot at the end ("..", "a.."): an empty label, and no
        // longer the same JID once written out and parsed again.
        if domain.contains(['@', '/']) || domain.ends_with('.') {
            return Err(JidError::InvalidCharacter("domain"));
        }
        Ok(Jid {
            node: node.map(str::to_string),
            domain: domain.to_string(),
            resource: resource.map(str::to_string),
        })
    }

    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// This JID without its resource.
    pub fn bare(&self) -> Jid {
        Jid {
            resource: None,
            ..self.clone()
        }
    }

    pub fn is_bare(&self) -> bool {
        self.resource.is_none()
    }

    /// Same account: node and domain equal, resources ignored.
    pub fn bare_eq(&self, other: &Jid) -> bool {
        self.node == other.node && self.domain == other.domain
    }
}

fn check_part(part: Option<&str>, name: &'static str, empty: JidError) -> Result<(), JidError> {
    match part {
        Some("") => Err(empty),
        Some(p) if p.len() > MAX_PART_LEN => Err(JidError::TooLong(name)),
        _ => Ok(()),
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&join(self.node(), self.domain(), self.resource()))
    }
}

impl FromStr for Jid {
    type Err = JidError;

    fn from_str(text: &str) -> Result<Jid, JidError> {
        Jid::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        let cases: [(&str, Option<&str>, &str, Option<&str>); 8] = [
            (
                "node@domain/resource",
                Some("node"),
                "domain",
                Some("resource"),
            ),
            ("domain", None, "domain", None),
            ("domain/resource", None, "domain", Some("resource")),
            ("node@domain", Some("node"), "domain", None),
            (
                "a.example.com/b@example.net",
                None,
                "a.example.com",
                Some("b@example.net"),
            ),
            (
                "juliet@example.com/foo/bar",
                Some("juliet"),
                "example.com",
                Some("foo/bar"),
            ),
            (
                "juliet@example.com/foo@bar",
                Some("juliet"),
                "example.com",
                Some("foo@bar"),
            ),
            ("", None, "", None),
        ];
        for (jid, n, d, r) in cases {
            assert_eq!(split(jid), (n, d, r), "{jid}");
            assert_eq!(join(n, d, r), jid);
        }
        assert_eq!(bare("juliet@example.com/foo/bar"), "juliet@example.com");
        assert_eq!(bare("a.example.com/b@example.net"), "a.example.com");
    }

    #[test]
    fn strophe_jid_tests() {
        let jid = "darcy@pemberley.lit/library";
        assert_eq!(
            split(jid),
            (Some("darcy"), "pemberley.lit", Some("library"))
        );
        assert_eq!(bare(jid), "darcy@pemberley.lit");
        let weird = "darcy@netherfield.lit@pemberley.lit/library";
        assert_eq!(
            split(weird),
            (
                Some("darcy"),
                "netherfield.lit@pemberley.lit",
                Some("library")
            )
        );
        let escaped = format!(
            "{}@pemberley.lit/library",
            escape_node("darcy@netherfield.lit")
        );
        assert_eq!(node(&escaped), Some("darcy\\40netherfield.lit"));
        assert_eq!(bare(&escaped), "darcy\\40netherfield.lit@pemberley.lit");
        let room = "books@chat.pemberley.lit/darcy@pemberley.lit/library";
        assert_eq!(
            split(room),
            (
                Some("books"),
                "chat.pemberley.lit",
                Some("darcy@pemberley.lit/library")
            )
        );
    }

    #[test]
    fn raw_helpers_on_odd_input() {
        assert_eq!(split("@x"), (Some(""), "x", None));
        assert_eq!(split("x/"), (None, "x", Some("")));
        assert_eq!(split("/r@x"), (None, "", Some("r@x")));
        assert_eq!(split("é@ü/ß"), (Some("é"), "ü", Some("ß")));
    }

    #[test]
    fn xep0106_table() {
        let cases = [
            ("space cadet", "space\\20cadet"),
            ("call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22"),
            ("at&t guy", "at\\26t\\20guy"),
            ("d'artagnan", "d\\27artagnan"),
            ("/.fanboy", "\\2f.fanboy"),
            ("::foo::", "\\3a\\3afoo\\3a\\3a"),
            ("<foo>", "\\3cfoo\\3e"),
            ("user@host", "user\\40host"),
            ("c:\\net", "c\\3a\\net"),
            ("c:\\\\net", "c\\3a\\\\net"),
            ("c:\\cool stuff", "c\\3a\\cool\\20stuff"),
            ("c:\\5commas", "c\\3a\\5c5commas"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape_node(raw), escaped, "{raw}");
            assert_eq!(unescape_node(escaped), raw, "{escaped}");
        }
    }

    #[test]
    fn xep0106_left_alone() {
        for s in [
            "\\2plus\\2is\\4",
            "foo\\bar",
            "foob\\41r",
            "\\",
            "a\\",
            "\\5C",
            "\\2F",
        ] {
            assert_eq!(escape_node(s), s);
            assert_eq!(unescape_node(s), s);
        }
    }

    #[test]
    fn every_sequence_round_trips() {
        let all = "a \"&'/:<>@\\5cz";
        let escaped = escape_node(all);
        assert_eq!(escaped, "a\\20\\22\\26\\27\\2f\\3a\\3c\\3e\\40\\5c5cz");
        assert_eq!(unescape_node(&escaped), all);
        assert_eq!(unescape_node("\\5c5c"), "\\5c");
        assert_eq!(unescape_node("\\40\\5c\\2f"), "@\\/");
    }

    #[test]
    fn escape_trims_like_strophe() {
        assert_eq!(escape_node("  alice smith \t\n"), "alice\\20smith");
        assert_eq!(escape_node(""), "");
        assert_eq!(escape_node("   "), "");
    }

    #[test]
    fn unescape_only_lowercase() {
        assert_eq!(unescape_node("a\\3Ab"), "a\\3Ab");
        assert_eq!(unescape_node("a\\3ab"), "a:b");
        assert_eq!(unescape_node("ü\\20ö"), "ü ö");
    }

    #[test]
    fn parse_valid() {
        let j = Jid::parse("juliet@example.com/foo@bar").unwrap();
        assert_eq!(j.node(), Some("juliet"));
        assert_eq!(j.domain(), "example.com");
        assert_eq!(j.resource(), Some("foo@bar"));
        assert_eq!(j.bare().to_string(), "juliet@example.com");
        assert!(j.bare().is_bare());
        assert_eq!(j.to_string(), "juliet@example.com/foo@bar");
        let d: Jid = "a.example.com/b@example.net".parse().unwrap();
        assert_eq!((d.node(), d.resource()), (None, Some("b@example.net")));
        assert_eq!(
            Jid::parse("example.com.").unwrap().to_string(),
            "example.com"
        );
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Jid::parse(""), Err(JidError::EmptyDomain));
        assert_eq!(Jid::parse("a@"), Err(JidError::EmptyDomain));
        assert_eq!(Jid::parse("/res"), Err(JidError::EmptyDomain));
        assert_eq!(Jid::parse("."), Err(JidError::EmptyDomain));
        assert_eq!(Jid::parse("@x"), Err(JidError::EmptyNode));
        assert_eq!(Jid::parse("x/"), Err(JidError::EmptyResource));
        assert_eq!(
            Jid::parse("a@b@c"),
            Err(JidError::InvalidCharacter("domain"))
        );
        assert!(Jid::new(Some("a/b"), "x", None).is_err());
    }

    #[test]
    fn a_domain_of_dots_is_refused() {
        // Found by the jid fuzz target: ".." parsed as the domain ".",
        // which printed as "." and then did not parse.
        assert_eq!(Jid::parse(".."), Err(JidError::InvalidCharacter("domain")));
        assert_eq!(
            Jid::parse("a@b.."),
            Err(JidError::InvalidCharacter("domain"))
        );
        assert_eq!(Jid::parse("."), Err(JidError::EmptyDomain));
        assert_eq!(Jid::parse("b.").unwrap().to_string(), "b");
    }

    #[test]
    fn length_limits() {
        let max = "a".repeat(MAX_PART_LEN);
        let over = "a".repeat(MAX_PART_LEN + 1);
        assert!(Jid::parse(&format!("{max}@{max}/{max}")).is_ok());
        assert_eq!(
            Jid::parse(&format!("{over}@x")),
            Err(JidError::TooLong("node"))
        );
        assert_eq!(Jid::parse(&over), Err(JidError::TooLong("domain")));
        assert_eq!(
            Jid::parse(&format!("x/{over}")),
            Err(JidError::TooLong("resource"))
        );
        // Bytes, not characters.
        assert!(Jid::parse(&format!("{}@x", "é".repeat(512))).is_err());
    }

    #[test]
    fn bare_eq_ignores_resource() {
        let a = Jid::parse("romeo@example.net/orchard").unwrap();
        let b = Jid::parse("romeo@example.net/balcony").unwrap();
        let c = Jid::parse("juliet@example.net/orchard").unwrap();
        assert!(a.bare_eq(&b) && a.bare_eq(&a.bare()));
        assert!(!a.bare_eq(&c));
        assert_ne!(a, b);
        assert!(JidError::EmptyNode.to_string().contains("node"));
    }
}
