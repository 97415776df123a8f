//! Strophe's `$build`, `$msg`, `$iq` and `$pres`: build a tree by moving a
//! cursor.
//!
//! The builder keeps the cursor's ancestors detached from each other (each
//! one's last child is the next, and the cursor comes last), so every step
//! costs the same at any depth. [`Builder::tree`] joins them on demand.

use super::element::{Element, Node};
use super::ns;
use super::serialize::write_spine;
use std::cell::OnceCell;
use std::fmt;

/// No attributes, for calls such as `c_text("body", NO_ATTRS, "hi")`.
pub const NO_ATTRS: [(&str, &str); 0] = [];

/// A tree under construction with a cursor, as in Strophe.js.
#[derive(Debug, Clone)]
pub struct Builder {
    /// The ancestors of the cursor, root first; each lacks its last child.
    ancestors: Vec<Element>,
    /// The element new children and text go into.
    cursor: Element,
    /// The joined tree handed out by `tree()` while the cursor is below the
    /// root; cleared by every change.
    joined: OnceCell<Element>,
}

impl Builder {
    /// `$build(name, attrs)`. As in Strophe, `message`, `iq` and `presence`
    /// get `xmlns="jabber:client"` unless `attrs` give one.
    pub fn new<K: AsRef<str>, V: Into<String>>(
        name: &str,
        attrs: impl IntoIterator<Item = (K, V)>,
    ) -> Builder {
        let mut root = Element::named(name);
        if matches!(name, "message" | "iq" | "presence") {
            root.set_attr_str("xmlns", ns::CLIENT);
        }
        for (k, v) in attrs {
            root.set_attr_str(k.as_ref(), v);
        }
        Builder {
            ancestors: Vec::new(),
            cursor: root,
            joined: OnceCell::new(),
        }
    }

    /// `$msg(attrs)`: `<message xmlns="jabber:client" …>`.
    pub fn msg<K: AsRef<str>, V: Into<String>>(attrs: impl IntoIterator<Item = (K, V)>) -> Builder {
        Builder::new("message", attrs)
    }

    /// `$iq(attrs)`: `<iq xmlns="jabber:client" …>`.
    pub fn iq<K: AsRef<str>, V: Into<String>>(attrs: impl IntoIterator<Item = (K, V)>) -> Builder {
        Builder::new("iq", attrs)
    }

    /// `$pres(attrs)`: `<presence xmlns="jabber:client" …>`.
    pub fn pres<K: AsRef<str>, V: Into<String>>(
        attrs: impl IntoIterator<Item = (K, V)>,
    ) -> Builder {
        Builder::new("presence", attrs)
    }

    /// `c(name, attrs)`: adds a child and moves the cursor into it.
    pub fn c<K: AsRef<str>, V: Into<String>>(
        mut self,
        name: &str,
        attrs: impl IntoIterator<Item = (K, V)>,
    ) -> Builder {
        self.c_mut(name, attrs);
        self
    }

    /// `c(name, attrs, text)`: adds a child holding `text`; the cursor stays.
    pub fn c_text<K: AsRef<str>, V: Into<String>>(
        mut self,
        name: &str,
        attrs: impl IntoIterator<Item = (K, V)>,
        text: &str,
    ) -> Builder {
        self.c_text_mut(name, attrs, text);
        self
    }

    /// `cnode(elem)`: appends `elem` and moves the cursor into it.
    pub fn cnode(mut self, elem: Element) -> Builder {
        self.cnode_mut(elem);
        self
    }

    /// `t(text)`: appends text at the cursor.
    pub fn t(mut self, text: &str) -> Builder {
        self.t_mut(text);
        self
    }

    /// `up()`: moves the cursor to its parent; stays put at the root.
    pub fn up(mut self) -> Builder {
        self.up_mut();
        self
    }

    /// `attrs(attrs)`: sets attributes on the cursor; `None` removes one.
    pub fn attrs<'v, K: AsRef<str>>(
        mut self,
        attrs: impl IntoIterator<Item = (K, Option<&'v str>)>,
    ) -> Builder {
        self.attrs_mut(attrs);
        self
    }

    /// [`c`](Self::c) in place.
    pub fn c_mut<K: AsRef<str>, V: Into<String>>(
        &mut self,
        name: &str,
        attrs: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Builder {
        self.cnode_mut(Element::with_attrs(name, attrs))
    }

    /// [`c_text`](Self::c_text) in place.
    pub fn c_text_mut<K: AsRef<str>, V: Into<String>>(
        &mut self,
        name: &str,
        attrs: impl IntoIterator<Item = (K, V)>,
        text: &str,
    ) -> &mut Builder {
        let mut child = Element::with_attrs(name, attrs);
        child.append_text(text);
        self.cursor_mut().children.push(Node::Element(child));
        self
    }

    /// [`cnode`](Self::cnode) in place.
    pub fn cnode_mut(&mut self, elem: Element) -> &mut Builder {
        self.joined.take();
        let parent = std::mem::replace(&mut self.cursor, elem);
        self.ancestors.push(parent);
        self
    }

    /// [`t`](Self::t) in place.
    pub fn t_mut(&mut self, text: &str) -> &mut Builder {
        self.cursor_mut().append_text(text);
        self
    }

    /// [`up`](Self::up) in place.
    pub fn up_mut(&mut self) -> &mut Builder {
        if let Some(parent) = self.ancestors.pop() {
            self.joined.take();
            let child = std::mem::replace(&mut self.cursor, parent);
            self.cursor.children.push(Node::Element(child));
        }
        self
    }

    /// [`attrs`](Self::attrs) in place.
    pub fn attrs_mut<'v, K: AsRef<str>>(
        &mut self,
        attrs: impl IntoIterator<Item = (K, Option<&'v str>)>,
    ) -> &mut Builder {
        let cursor = self.cursor_mut();
        for (k, v) in attrs {
            match v {
                Some(v) => cursor.set_attr(k.as_ref(), v),
                None => {
                    cursor.remove_attr(k.as_ref());
                }
            }
        }
        self
    }

    /// The element under the cursor.
    pub fn cursor(&self) -> &Element {
        &self.cursor
    }

    /// The cursor, for a change; forgets the joined tree.
    fn cursor_mut(&mut self) -> &mut Element {
        self.joined.take();
        &mut self.cursor
    }

    /// The whole tree built so far. Free with the cursor at the root;
    /// otherwise a joined copy is made (once per change).
    pub fn tree(&self) -> &Element {
        if self.ancestors.is_empty() {
            return &self.cursor;
        }
        self.joined.get_or_init(|| self.clone().build())
    }

    /// Takes the root.
    pub fn build(self) -> Element {
        let Builder {
            mut ancestors,
            cursor,
            ..
        } = self;
        let mut node = cursor;
        while let Some(mut parent) = ancestors.pop() {
            parent.children.push(Node::Element(node));
            node = parent;
        }
        node
    }
}

/// The serialized tree, written without joining it first.
impl fmt::Display for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_spine(&self.ancestors, &self.cursor, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_with_body() {
        let b = Builder::msg([("to", "bob@x"), ("type", "chat")])
            .c("body", NO_ATTRS)
            .t("hi");
        let want =
            "<message xmlns=\"jabber:client\" to=\"bob@x\" type=\"chat\"><body>hi</body></message>";
        assert_eq!(b.to_string(), want);
        assert_eq!(b.tree().to_string(), want);
        assert_eq!(b.build().to_string(), want);
    }

    #[test]
    fn iq_with_query() {
        let iq = Builder::iq([("type", "get"), ("id", "1")])
            .c("query", [("xmlns", "jabber:iq:roster")])
            .build();
        assert_eq!(
            iq.to_string(),
            "<iq xmlns=\"jabber:client\" type=\"get\" id=\"1\"><query xmlns=\"jabber:iq:roster\"/></iq>"
        );
        assert!(iq.find_child("query", Some("jabber:iq:roster")).is_some());
    }

    #[test]
    fn c_with_text_keeps_the_cursor() {
        let p = Builder::pres(Vec::<(&str, &str)>::new())
            .c_text("show", NO_ATTRS, "away")
            .c_text("status", NO_ATTRS, "lunch")
            .build();
        assert_eq!(
            p.to_string(),
            "<presence xmlns=\"jabber:client\"><show>away</show><status>lunch</status></presence>"
        );
    }

    #[test]
    fn up_moves_to_the_parent_and_stops_at_the_root() {
        let b = Builder::new("a", NO_ATTRS)
            .c("b", NO_ATTRS)
            .c("c", NO_ATTRS)
            .up()
            .t("in b")
            .up()
            .up()
            .up()
            .c("d", [("k", "v")]);
        assert_eq!(b.cursor().name(), "d");
        assert_eq!(b.to_string(), "<a><b><c/>in b</b><d k=\"v\"/></a>");
        assert_eq!(b.tree().to_string(), b.to_string());
    }

    #[test]
    fn attrs_set_and_remove() {
        let e = Builder::msg([("to", "bob@x"), ("type", "chat")])
            .attrs([("type", None), ("id", Some("7")), ("to", Some("eve@x"))])
            .build();
        assert_eq!(
            e.to_string(),
            "<message xmlns=\"jabber:client\" to=\"eve@x\" id=\"7\"/>"
        );
    }

    #[test]
    fn xmlns_can_be_overridden() {
        let e = Builder::iq([("type", "set"), ("xmlns", "jabber:server")]).build();
        assert_eq!(e.to_string(), "<iq xmlns=\"jabber:server\" type=\"set\"/>");
        assert_eq!(Builder::new("x", NO_ATTRS).to_string(), "<x/>");
        let owned = vec![("to".to_string(), "a@b".to_string())];
        assert_eq!(Builder::msg(owned).build().attr("to"), Some("a@b"));
    }

    #[test]
    fn cnode_appends_and_moves_in() {
        let mut x = Element::with_attrs("x", [("xmlns", "jabber:x:data")]);
        x.append_child(Element::new("field"));
        let e = Builder::msg([("to", "a@b")])
            .cnode(x.clone())
            .c_text("title", NO_ATTRS, "t")
            .up()
            .c_text("body", NO_ATTRS, "after")
            .build();
        assert_eq!(
            e.to_string(),
            "<message xmlns=\"jabber:client\" to=\"a@b\"><x xmlns=\"jabber:x:data\"><field/><title>t</title></x><body>after</body></message>"
        );
        assert_eq!(x.children().len(), 1);
    }

    #[test]
    fn in_place_variants() {
        let mut b = Builder::iq([("type", "set")]);
        b.c_mut("bind", [("xmlns", "urn:ietf:params:xml:ns:xmpp-bind")])
            .c_text_mut("resource", NO_ATTRS, "r")
            .up_mut()
            .attrs_mut([("id", Some("b1"))]);
        assert_eq!(
            b.build().to_string(),
            "<iq xmlns=\"jabber:client\" type=\"set\" id=\"b1\"><bind xmlns=\"urn:ietf:params:xml:ns:xmpp-bind\"><resource>r</resource></bind></iq>"
        );
    }

    #[test]
    fn tree_tracks_changes() {
        let b = Builder::new("a", NO_ATTRS).c("b", NO_ATTRS);
        assert_eq!(b.tree().to_string(), "<a><b/></a>");
        let b = b.t("x");
        assert_eq!(b.tree().to_string(), "<a><b>x</b></a>");
    }

    #[test]
    fn very_deep_builder_tree() {
        const DEPTH: usize = 100_000;
        let mut b = Builder::new("root", NO_ATTRS);
        for _ in 0..DEPTH {
            b.c_mut("d", NO_ATTRS);
        }
        b.t_mut("bottom");
        let xml = b.to_string();
        assert_eq!(
            xml.len(),
            "<root>".len() + DEPTH * "<d></d>".len() + "bottom</root>".len()
        );
        assert_eq!(b.tree().to_string(), xml);
        let tree = b.build();
        assert_eq!(tree.to_string(), xml);
        let copy = tree.clone();
        assert_eq!(copy, tree);
        drop(tree);
        drop(copy);
    }
}
