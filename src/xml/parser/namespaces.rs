//! The namespace rules of the parser: every prefix a stanza uses must be
//! declared, declarations must keep Namespaces in XML 1.0 §3, and a stanza
//! leaves a stream self-contained, with the declarations it borrowed from
//! the wrapper copied in. One concern, because the three share one model
//! of what the wrapper declares and the stanza relies on.

use super::StreamParser;
use crate::xml::element::{intern, Element};
use crate::xml::error::{shorten, XmlError};
use crate::xml::ns;

impl StreamParser {
    /// Checks that every prefix in use is declared, and notes which
    /// declarations the stanza borrows from the wrapper.
    pub(super) fn resolve(&mut self, elem: &Element) -> Result<(), XmlError> {
        match elem.prefix() {
            Some(p) => self.resolve_prefix(elem, p)?,
            None => self.note_default(elem),
        }
        for (key, _) in &elem.attrs {
            if let Some((p, _)) = key.split_once(':') {
                if p != "xmlns" {
                    self.resolve_prefix(elem, p)?;
                }
            }
        }
        Ok(())
    }

    fn resolve_prefix(&mut self, elem: &Element, prefix: &str) -> Result<(), XmlError> {
        let declares = |e: &Element| e.declared_namespace(Some(prefix)).is_some();
        // `xml` is bound by definition.
        if prefix == "xml" || declares(elem) || self.open.iter().any(declares) {
            return Ok(());
        }
        match &self.wrapper {
            Some(w) if declares(w) => {
                if !self.borrowed_prefixes.iter().any(|p| p == prefix) {
                    self.borrowed_prefixes.push(prefix.to_owned());
                }
                Ok(())
            }
            _ => Err(XmlError::UndeclaredPrefix(prefix.to_owned())),
        }
    }

    /// An unprefixed element with no default namespace declared within the
    /// stanza is in the wrapper's default namespace (`jabber:client`).
    fn note_default(&mut self, elem: &Element) {
        let Some(wrapper) = &self.wrapper else {
            return;
        };
        let declares = |e: &Element| e.declared_namespace(None).is_some();
        if self.borrowed_default || declares(elem) || self.open.iter().any(declares) {
            return;
        }
        self.borrowed_default = wrapper
            .declared_namespace(None)
            .is_some_and(|ns| !ns.is_empty());
    }
}

/// The constraints of Namespaces in XML 1.0 §3 on declarations: no prefix
/// undeclaring (`xmlns:p=''`), and the reserved `xml` and `xmlns` prefixes
/// and namespaces only as defined.
pub(super) fn check_declaration(key: &str, value: &str) -> Result<(), XmlError> {
    let prefix = match key.strip_prefix("xmlns") {
        Some("") => None,
        Some(rest) => match rest.strip_prefix(':') {
            Some(p) => Some(p),
            None => return Ok(()),
        },
        None => return Ok(()),
    };
    let why = match prefix {
        Some("xmlns") => "the prefix 'xmlns' cannot be declared".to_owned(),
        Some("xml") if value != ns::XML => {
            format!("the prefix 'xml' can only be bound to {}", ns::XML)
        }
        Some("xml") => return Ok(()),
        Some(p) if value.is_empty() => format!(
            "xmlns:{}='' undeclares a prefix, which XML 1.0 does not allow",
            shorten(p)
        ),
        _ if value == ns::XML || value == ns::XMLNS => {
            format!("{value} cannot be declared: it is reserved")
        }
        _ => return Ok(()),
    };
    Err(XmlError::Syntax(why))
}

/// Makes a wrapper's child self-contained: copies the declarations it
/// relies on from the wrapper, the default namespace first.
pub(super) fn adopt_namespaces(
    elem: &mut Element,
    wrapper: &Element,
    default: bool,
    prefixes: &[String],
) {
    if default && elem.declared_namespace(None).is_none() {
        if let Some(ns) = wrapper.declared_namespace(None) {
            elem.attrs.insert(0, (intern("xmlns"), ns.to_owned()));
        }
    }
    for prefix in prefixes {
        if let Some(ns) = wrapper.declared_namespace(Some(prefix)) {
            elem.attrs
                .push((format!("xmlns:{prefix}").into(), ns.to_owned()));
        }
    }
}
