//! JID helpers, RFC 7622 normalisation and XEP-0106 node escaping.
//!
//! The free functions [`split`], [`bare`] … cut any string the way Strophe
//! does, except that an `@` after the first `/` belongs to the resource
//! (RFC 7622 §3.1); they never change the text. [`Jid`] is the validated,
//! normalised form (see `prep` for the profiles), and [`equal`],
//! [`bare_equal`] and [`normalize`] compare and print addresses in it.
//! What the user gave is what goes on the wire; only comparisons normalise.

mod prep;

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
    /// No domain: an empty JID, `alice@`, `/res`.
    EmptyDomain,
    /// `@example.com`
    EmptyNode,
    /// `example.com/`
    EmptyResource,
    /// The part is refused as a whole: a domain that is neither an IDN nor
    /// an IP literal, an empty label, a bidi or context rule broken.
    InvalidCharacter(&'static str),
    /// A code point the part's profile does not allow (a space, a symbol
    /// or a control in a node, one of `"&'/:<>@` in a node …).
    Disallowed {
        /// Which part: "node", "domain" or "resource".
        part: &'static str,
        /// The first code point refused.
        code_point: char,
    },
    /// The part is longer than 1023 bytes once normalised.
    TooLong(&'static str),
}

impl fmt::Display for JidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JidError::EmptyDomain => f.write_str("empty domain"),
            JidError::EmptyNode => f.write_str("empty node before '@'"),
            JidError::EmptyResource => f.write_str("empty resource after '/'"),
            JidError::InvalidCharacter(part) => write!(f, "invalid character in the {part}"),
            JidError::Disallowed { part, code_point } => write!(
                f,
                "U+{:04X} is not allowed in the {part}",
                u32::from(*code_point)
            ),
            JidError::TooLong(part) => write!(f, "{part} longer than {MAX_PART_LEN} bytes"),
        }
    }
}

impl std::error::Error for JidError {}

/// A valid JID in its normalised form (RFC 7622): the node case-mapped by
/// PRECIS UsernameCaseMapped, the domain lowercased and in U-labels by
/// UTS-46, the resource by OpaqueString. So `==` and [`Jid::bare_eq`]
/// compare addresses as XMPP does, and `to_string()` prints the normalised
/// form (`Alice@LocalHost` parses to `alice@localhost`).
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

    /// Builds a JID from its parts, normalising and checking each. One
    /// trailing dot of the domain is dropped (RFC 7622 §3.2).
    pub fn new(node: Option<&str>, domain: &str, resource: Option<&str>) -> Result<Jid, JidError> {
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        let node = prepare(node, "node", JidError::EmptyNode, prep::localpart)?;
        let domain = prepare(
            Some(domain),
            "domain",
            JidError::EmptyDomain,
            prep::domainpart,
        )?
        .unwrap_or_default();
        let resource = prepare(
            resource,
            "resource",
            JidError::EmptyResource,
            prep::resourcepart,
        )?;
        Ok(Jid {
            node,
            domain,
            resource,
        })
    }

    /// The local part before `@`, if any (normalised).
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// The domain part, which every JID has (normalised).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The resource after `/`, if any.
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

    /// True when there is no resource (an account, not one of its clients).
    pub fn is_bare(&self) -> bool {
        self.resource.is_none()
    }

    /// Same account: node and domain equal, resources ignored.
    pub fn bare_eq(&self, other: &Jid) -> bool {
        self.node == other.node && self.domain == other.domain
    }
}

/// Input past this is refused before it is normalised, so that a hostile
/// address costs little. The mappings shrink text to a third at most
/// (width, Hangul composition) or, in a domain, a quarter (UTS-46 maps
/// 𝐀 to a); only a domain padded with characters UTS-46 drops (soft
/// hyphens, variation selectors) could still have fitted.
const MAX_RAW_PART_LEN: usize = 4 * MAX_PART_LEN;

/// One part normalised by `enforce`, with RFC 7622's lengths checked on the
/// result (§3.1: 1 to 1023 bytes).
fn prepare(
    part: Option<&str>,
    name: &'static str,
    empty: JidError,
    enforce: fn(&str) -> Result<String, JidError>,
) -> Result<Option<String>, JidError> {
    let Some(raw) = part else { return Ok(None) };
    if raw.is_empty() {
        return Err(empty);
    }
    if raw.len() > MAX_RAW_PART_LEN {
        return Err(JidError::TooLong(name));
    }
    let normalised = enforce(raw)?;
    if normalised.len() > MAX_PART_LEN {
        return Err(JidError::TooLong(name));
    }
    Ok(Some(normalised))
}

/// `jid` in its normalised form (`Alice@LocalHost/Phone` →
/// `alice@localhost/Phone`); an invalid JID is an error.
pub fn normalize(jid: &str) -> Result<String, JidError> {
    Jid::parse(jid).map(|j| j.to_string())
}

/// Whether `a` and `b` are the same address, compared as XMPP compares
/// them (normalised); an invalid JID on either side is an error.
pub fn equal(a: &str, b: &str) -> Result<bool, JidError> {
    Ok(Jid::parse(a)? == Jid::parse(b)?)
}

/// Whether `a` and `b` are the same account (resources ignored, but each
/// must be valid), compared normalised.
pub fn bare_equal(a: &str, b: &str) -> Result<bool, JidError> {
    Ok(Jid::parse(a)?.bare_eq(&Jid::parse(b)?))
}

/// For addresses a server or a peer sent, which may be anything: the same
/// address, normalised; text that is not a valid JID equals only itself.
pub(crate) fn same_address(a: &str, b: &str) -> bool {
    a == b || equal(a, b).unwrap_or(false)
}

/// As [`same_address`] for the bare JIDs only: whatever the resources hold.
pub(crate) fn same_account(a: &str, b: &str) -> bool {
    same_address(bare(a), bare(b))
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
mod tests;
