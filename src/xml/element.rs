//! The owned element tree.
//!
//! `Clone`, `PartialEq` and `Drop` are written by hand with explicit stacks:
//! the derived versions recurse once per level, and a tree built with
//! [`super::Builder`] or `append_child` can be arbitrarily deep.

use std::borrow::Cow;

/// A child of an element: another element or a run of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Real (unescaped) character data.
    Text(String),
}

impl Node {
    /// The element, if this node is one.
    pub fn as_element(&self) -> Option<&Element> {
        match self {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        }
    }

    /// The text, if this node is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Node::Text(t) => Some(t),
            Node::Element(_) => None,
        }
    }
}

/// Element and attribute names. The ones every stanza carries are shared
/// static strings instead of a fresh allocation each (see `intern`).
pub(super) type Name = Cow<'static, str>;

/// Names common enough in XMPP traffic to keep as static strings: on the
/// hot path of every stanza they were a third of the allocations.
const COMMON_NAMES: [&str; 20] = [
    "message", "presence", "iq", "body", "xmlns", "type", "to", "from", "id", "xml:lang", "jid",
    "bind", "query", "show", "status", "priority", "error", "thread", "x", "c",
];

/// A name, shared when it is a common one.
pub(super) fn intern(name: &str) -> Name {
    match COMMON_NAMES.iter().find(|n| **n == name) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(name.to_owned()),
    }
}

/// Like `intern`, for a name already in a String.
pub(super) fn intern_owned(name: String) -> Name {
    match COMMON_NAMES.iter().find(|n| **n == name) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(name),
    }
}

/// An XML element: a qualified name, attributes in document order, children.
///
/// Namespace declarations are ordinary attributes (`xmlns`, `xmlns:p`), so
/// an element serializes exactly as it was parsed or built.
#[derive(Default)]
pub struct Element {
    pub(super) name: Name,
    pub(super) attrs: Vec<(Name, String)>,
    pub(super) children: Vec<Node>,
}

impl Element {
    /// An element with no attributes and no children.
    pub fn new(name: impl Into<String>) -> Element {
        Element {
            name: intern_owned(name.into()),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// An element with attributes; a repeated name keeps the last value.
    pub fn with_attrs<K: AsRef<str>, V: Into<String>>(
        name: impl AsRef<str>,
        attrs: impl IntoIterator<Item = (K, V)>,
    ) -> Element {
        let mut elem = Element::named(name.as_ref());
        let attrs = attrs.into_iter();
        elem.attrs.reserve(attrs.size_hint().0);
        for (k, v) in attrs {
            elem.set_attr_str(k.as_ref(), v);
        }
        elem
    }

    /// `new` for a borrowed name: no allocation for a common one.
    pub(super) fn named(name: &str) -> Element {
        Element {
            name: intern(name),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    /// The qualified name as written, e.g. `stream:features`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name without its prefix.
    pub fn local_name(&self) -> &str {
        match self.colon() {
            Some(at) => &self.name[at + 1..],
            None => &self.name,
        }
    }

    /// The prefix of the name, if any.
    pub fn prefix(&self) -> Option<&str> {
        self.colon().map(|at| &self.name[..at])
    }

    /// Where the name's prefix ends: a byte search, which costs a fraction
    /// of `str::split_once`'s char searcher on these short names.
    fn colon(&self) -> Option<usize> {
        self.name.bytes().position(|b| b == b':')
    }

    /// The value of an attribute, by its name as written.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets an attribute, keeping its position if it already exists.
    pub fn set_attr(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.attrs.iter_mut().find(|(k, _)| *k == name) {
            Some((_, v)) => *v = value,
            None => self.attrs.push((intern_owned(name), value)),
        }
    }

    /// `set_attr` for a borrowed name: no allocation for a common one.
    pub(super) fn set_attr_str(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.attrs.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.attrs.push((intern(name), value)),
        }
    }

    /// Removes an attribute and returns its value.
    pub fn remove_attr(&mut self, name: &str) -> Option<String> {
        let pos = self.attrs.iter().position(|(k, _)| k == name)?;
        Some(self.attrs.remove(pos).1)
    }

    /// Attributes in document (or insertion) order.
    pub fn attrs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attrs.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// The namespace this element declares for its own prefix: `xmlns`, or
    /// `xmlns:p` for a name `p:local`.
    pub fn xmlns(&self) -> Option<&str> {
        self.declared_namespace(self.prefix())
    }

    /// The namespace declared on this element for `prefix` (`None` is the
    /// default namespace). Declarations on ancestors are not seen.
    pub fn declared_namespace(&self, prefix: Option<&str>) -> Option<&str> {
        let found = match prefix {
            None => self.attrs.iter().find(|(k, _)| k == "xmlns"),
            Some(p) => self
                .attrs
                .iter()
                .find(|(k, _)| k.strip_prefix("xmlns:") == Some(p)),
        };
        found.map(|(_, v)| v.as_str())
    }

    /// Children, text and elements, in order.
    pub fn children(&self) -> &[Node] {
        &self.children
    }

    /// Mutable access to the children.
    pub fn children_mut(&mut self) -> &mut Vec<Node> {
        &mut self.children
    }

    /// The child elements, skipping text.
    pub fn child_elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(Node::as_element)
    }

    /// The first child element with this local name and, if given, this
    /// namespace.
    pub fn find_child(&self, name: &str, ns: Option<&str>) -> Option<&Element> {
        self.child_elements().find(|c| self.is_child(c, name, ns))
    }

    /// All child elements with this local name and, if given, namespace.
    ///
    /// A child's namespace is its own declaration for its prefix, else the
    /// one this element declares (children of a stanza inherit from it).
    pub fn find_children<'a>(
        &'a self,
        name: &'a str,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Element> {
        self.child_elements()
            .filter(move |c| self.is_child(c, name, ns))
    }

    fn is_child(&self, child: &Element, name: &str, ns: Option<&str>) -> bool {
        child.local_name() == name && ns.is_none_or(|ns| self.child_namespace(child) == Some(ns))
    }

    fn child_namespace<'a>(&'a self, child: &'a Element) -> Option<&'a str> {
        let prefix = child.prefix();
        child
            .declared_namespace(prefix)
            .or_else(|| self.declared_namespace(prefix))
    }

    /// The direct text children joined (Strophe's `getText`), unescaped.
    pub fn text(&self) -> String {
        let mut texts = self.children.iter().filter_map(Node::as_text);
        let Some(first) = texts.next() else {
            return String::new();
        };
        let mut out = first.to_owned();
        texts.for_each(|t| out.push_str(t));
        out
    }

    /// The text of the first child element with this local name.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.find_child(name, None).map(Element::text)
    }

    /// Appends a child element and returns it, ready for more changes.
    pub fn append_child(&mut self, child: Element) -> &mut Element {
        self.children.push(Node::Element(child));
        match self.children.last_mut() {
            Some(Node::Element(e)) => e,
            // The element pushed just above is the last child.
            _ => unreachable!("last child is the element just appended"),
        }
    }

    /// Appends text, merged into a preceding text node so that parsing the
    /// serialized form gives back the same tree. Empty text is ignored for
    /// the same reason.
    pub fn append_text(&mut self, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        match self.children.last_mut() {
            Some(Node::Text(prev)) => prev.push_str(&text),
            _ => self.children.push(Node::Text(text)),
        }
    }

    /// True when the element has no children at all.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// A copy of the name and attributes, without children.
    pub(super) fn shallow_clone(&self) -> Element {
        Element {
            name: self.name.clone(),
            attrs: self.attrs.clone(),
            children: Vec::with_capacity(self.children.len()),
        }
    }
}

/// One step of a depth-first walk: the iterative replacement for recursion.
pub(super) enum Step<'a> {
    Open(&'a Element),
    Text(&'a str),
    Close(&'a Element),
}

/// Depth-first walk over a tree with an explicit stack.
pub(super) struct Walk<'a> {
    root: Option<&'a Element>,
    stack: Vec<(&'a Element, usize)>,
}

impl<'a> Walk<'a> {
    pub(super) fn new(root: &'a Element) -> Walk<'a> {
        Walk {
            root: Some(root),
            stack: Vec::new(),
        }
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Step<'a>;

    fn next(&mut self) -> Option<Step<'a>> {
        if let Some(root) = self.root.take() {
            self.stack.push((root, 0));
            return Some(Step::Open(root));
        }
        let (elem, next) = self.stack.last_mut()?;
        let elem: &'a Element = elem;
        match elem.children.get(*next) {
            Some(Node::Text(t)) => {
                *next += 1;
                Some(Step::Text(t))
            }
            Some(Node::Element(child)) => {
                *next += 1;
                self.stack.push((child, 0));
                Some(Step::Open(child))
            }
            None => {
                self.stack.pop();
                Some(Step::Close(elem))
            }
        }
    }
}

impl Drop for Element {
    fn drop(&mut self) {
        // Shallow trees (the common case) drop with bounded recursion.
        let deep = self
            .children
            .iter()
            .any(|c| matches!(c, Node::Element(e) if !e.children.is_empty()));
        if !deep {
            return;
        }
        // Flatten: every element is dropped after its children moved out.
        let mut stack = std::mem::take(&mut self.children);
        while let Some(node) = stack.pop() {
            if let Node::Element(mut e) = node {
                stack.append(&mut e.children);
            }
        }
    }
}

impl Clone for Element {
    fn clone(&self) -> Element {
        let mut stack: Vec<Element> = Vec::new();
        for step in Walk::new(self) {
            match step {
                Step::Open(e) => stack.push(e.shallow_clone()),
                Step::Text(t) => {
                    if let Some(top) = stack.last_mut() {
                        top.children.push(Node::Text(t.to_owned()));
                    }
                }
                Step::Close(_) => {
                    let Some(done) = stack.pop() else { break };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(done)),
                        None => return done,
                    }
                }
            }
        }
        // The walk always closes the root, so this is never reached.
        self.shallow_clone()
    }
}

impl PartialEq for Element {
    fn eq(&self, other: &Element) -> bool {
        let mut a = Walk::new(self);
        let mut b = Walk::new(other);
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(x), Some(y)) if same_step(&x, &y) => {}
                _ => return false,
            }
        }
    }
}

impl Eq for Element {}

/// Equal steps at every position mean equal trees: an `Open` compares the
/// child count, so both walks keep the same shape.
fn same_step(x: &Step<'_>, y: &Step<'_>) -> bool {
    match (x, y) {
        (Step::Open(a), Step::Open(b)) => {
            a.name == b.name && a.attrs == b.attrs && a.children.len() == b.children.len()
        }
        (Step::Text(a), Step::Text(b)) => a == b,
        (Step::Close(_), Step::Close(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Element {
        let mut iq = Element::with_attrs("iq", [("xmlns", "jabber:client"), ("type", "result")]);
        let query = iq.append_child(Element::with_attrs(
            "query",
            [("xmlns", "jabber:iq:roster")],
        ));
        query.append_child(Element::with_attrs("item", [("jid", "a@x")]));
        query.append_child(Element::with_attrs("item", [("jid", "b@x")]));
        let mut body = Element::new("body");
        body.append_text("hi");
        iq.append_child(body);
        iq
    }

    #[test]
    fn names_and_prefixes() {
        let e = Element::new("stream:features");
        assert_eq!(e.name(), "stream:features");
        assert_eq!(e.local_name(), "features");
        assert_eq!(e.prefix(), Some("stream"));
        let m = Element::new("message");
        assert_eq!(m.local_name(), "message");
        assert_eq!(m.prefix(), None);
    }

    #[test]
    fn attributes_keep_order() {
        let mut e = Element::with_attrs("a", [("x", "1"), ("y", "2"), ("x", "3")]);
        assert_eq!(e.attrs().collect::<Vec<_>>(), [("x", "3"), ("y", "2")]);
        e.set_attr("x", "4");
        e.set_attr("z", "5");
        assert_eq!(
            e.attrs().collect::<Vec<_>>(),
            [("x", "4"), ("y", "2"), ("z", "5")]
        );
        assert_eq!(e.remove_attr("y").as_deref(), Some("2"));
        assert_eq!(e.remove_attr("y"), None);
        assert_eq!(e.attr("z"), Some("5"));
        assert_eq!(e.attr("nope"), None);
    }

    #[test]
    fn xmlns_follows_prefix() {
        let f = Element::with_attrs(
            "stream:features",
            [("xmlns", "jabber:client"), ("xmlns:stream", "S")],
        );
        assert_eq!(f.xmlns(), Some("S"));
        assert_eq!(f.declared_namespace(None), Some("jabber:client"));
        assert_eq!(Element::new("x").xmlns(), None);
    }

    #[test]
    fn find_child_by_name_and_namespace() {
        let iq = sample();
        let q = iq.find_child("query", None).expect("query");
        assert_eq!(q.attr("xmlns"), Some("jabber:iq:roster"));
        assert!(iq.find_child("query", Some("jabber:iq:roster")).is_some());
        assert!(iq.find_child("query", Some("jabber:client")).is_none());
        // `body` has no xmlns of its own: it inherits the iq's.
        assert!(iq.find_child("body", Some("jabber:client")).is_some());
        assert!(iq.find_child("nope", None).is_none());
        let jids: Vec<_> = q
            .find_children("item", Some("jabber:iq:roster"))
            .filter_map(|i| i.attr("jid"))
            .collect();
        assert_eq!(jids, ["a@x", "b@x"]);
    }

    #[test]
    fn find_child_with_prefixes() {
        let mut f = Element::with_attrs("features", [("xmlns:stream", "S")]);
        f.append_child(Element::new("stream:x"));
        f.append_child(Element::with_attrs("stream:y", [("xmlns:stream", "T")]));
        assert!(f.find_child("x", Some("S")).is_some());
        assert!(f.find_child("y", Some("S")).is_none());
        assert!(f.find_child("y", Some("T")).is_some());
    }

    #[test]
    fn text_and_child_text() {
        let mut e = Element::new("a");
        e.append_text("one ");
        e.append_child(Element::new("b"));
        e.append_text("two");
        e.append_text(" three");
        e.append_text("");
        assert_eq!(e.children().len(), 3);
        assert_eq!(e.text(), "one two three");
        let iq = sample();
        assert_eq!(iq.child_text("body").as_deref(), Some("hi"));
        assert_eq!(iq.child_text("query").as_deref(), Some(""));
        assert_eq!(iq.child_text("nope"), None);
        assert!(Element::new("x").is_empty());
        assert!(!e.is_empty());
    }

    #[test]
    fn append_child_returns_the_child() {
        let mut e = Element::new("a");
        e.append_child(Element::new("b")).set_attr("k", "v");
        assert_eq!(e.find_child("b", None).and_then(|b| b.attr("k")), Some("v"));
        e.children_mut().clear();
        assert!(e.is_empty());
    }

    #[test]
    fn clone_and_eq() {
        let a = sample();
        let b = a.clone();
        assert_eq!(a, b);
        let mut c = a.clone();
        c.set_attr("type", "error");
        assert_ne!(a, c);
        let mut d = a.clone();
        d.append_text("x");
        assert_ne!(a, d);
        assert_ne!(Element::new("a"), Element::new("b"));
    }

    fn deep(n: usize) -> Element {
        let mut e = Element::new("leaf");
        e.append_text("bottom");
        for _ in 0..n {
            let mut parent = Element::new("d");
            parent.append_child(e);
            e = parent;
        }
        e
    }

    #[test]
    fn deep_trees_do_not_overflow_the_stack() {
        let a = deep(200_000);
        let b = a.clone();
        assert!(a == b);
        let xml = b.to_string();
        assert!(xml.starts_with("<d><d>"));
        assert!(xml.contains("<leaf>bottom</leaf>"));
        drop(a);
        drop(b);
    }
}
