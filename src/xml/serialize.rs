//! Serialization: no whitespace is added, attributes keep their order and
//! are quoted with `"`, and an element without children is written `<x/>`.
//! Parsing the output gives back an equal tree.

use super::element::{Element, Node, Step, Walk};
use super::escape::{write_attr, write_text};
use std::fmt::{self, Write};

pub use super::escape::{escape_attr, escape_text};

/// Levels written by plain recursion before switching to an explicit stack:
/// fast for real stanzas, bounded stack use for any tree.
const RECURSION_BUDGET: u32 = 32;

impl Element {
    /// Appends the serialized element to `out`.
    pub fn write_to(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write_element(self, out);
    }

    /// The serialized element. Like `to_string()`, but starts with room for
    /// a typical stanza instead of growing through several reallocations.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write_to(&mut out);
        out
    }
}

/// Writes `elem` and its subtree.
pub(super) fn write_element<W: Write>(elem: &Element, w: &mut W) -> fmt::Result {
    write_recursive(elem, w, RECURSION_BUDGET)
}

fn write_recursive<W: Write>(elem: &Element, w: &mut W, budget: u32) -> fmt::Result {
    if budget == 0 {
        return write_iterative(elem, w);
    }
    write_start(elem, w)?;
    for child in &elem.children {
        match child {
            Node::Text(t) => write_text(t, w)?,
            Node::Element(e) => write_recursive(e, w, budget - 1)?,
        }
    }
    write_end(elem, w)
}

fn write_iterative<W: Write>(elem: &Element, w: &mut W) -> fmt::Result {
    for step in Walk::new(elem) {
        match step {
            Step::Open(e) => write_start(e, w)?,
            Step::Text(t) => write_text(t, w)?,
            Step::Close(e) => write_end(e, w)?,
        }
    }
    Ok(())
}

/// `<name a="v"` without the closing `>`.
fn write_tag_head<W: Write>(elem: &Element, w: &mut W) -> fmt::Result {
    w.write_char('<')?;
    w.write_str(&elem.name)?;
    for (k, v) in &elem.attrs {
        w.write_char(' ')?;
        w.write_str(k)?;
        w.write_str("=\"")?;
        write_attr(v, w)?;
        w.write_char('"')?;
    }
    Ok(())
}

/// The start tag, or the whole `<x/>` for an element without children.
fn write_start<W: Write>(elem: &Element, w: &mut W) -> fmt::Result {
    write_tag_head(elem, w)?;
    w.write_str(if elem.children.is_empty() { "/>" } else { ">" })
}

/// The end tag; nothing for an element already written as `<x/>`.
fn write_end<W: Write>(elem: &Element, w: &mut W) -> fmt::Result {
    if elem.children.is_empty() {
        return Ok(());
    }
    w.write_str("</")?;
    w.write_str(&elem.name)?;
    w.write_char('>')
}

/// Writes a tree held as a spine of detached elements (the builder's form):
/// the last child of each element of `outer` is the next one, then `last`.
pub(super) fn write_spine<W: Write>(outer: &[Element], last: &Element, w: &mut W) -> fmt::Result {
    for elem in outer {
        write_tag_head(elem, w)?;
        w.write_char('>')?;
        for child in &elem.children {
            match child {
                Node::Text(t) => write_text(t, w)?,
                Node::Element(e) => write_element(e, w)?,
            }
        }
    }
    write_element(last, w)?;
    for elem in outer.iter().rev() {
        w.write_str("</")?;
        w.write_str(&elem.name)?;
        w.write_char('>')?;
    }
    Ok(())
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_element(self, f)
    }
}

/// Shows the XML itself: far easier to read in a failed assertion than the
/// nested structs.
impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Element(")?;
        write_element(self, f)?;
        f.write_char(')')
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_element, parse_received};
    use super::*;

    fn round_trip(e: &Element) {
        let xml = e.to_string();
        let back = parse_element(&xml).unwrap_or_else(|err| panic!("{xml}: {err}"));
        assert_eq!(&back, e, "{xml}");
        assert_eq!(back.to_string(), xml);
    }

    #[test]
    fn writes_compact_xml() {
        let mut m = Element::with_attrs("message", [("to", "bob@x"), ("type", "chat")]);
        m.append_child(Element::new("body"))
            .append_text("hi & <bye>");
        m.append_child(Element::new("active"));
        assert_eq!(
            m.to_string(),
            "<message to=\"bob@x\" type=\"chat\"><body>hi &amp; &lt;bye&gt;</body><active/></message>"
        );
        let mut s = String::from("prefix:");
        Element::new("x").write_to(&mut s);
        assert_eq!(s, "prefix:<x/>");
        assert_eq!(format!("{:?}", Element::new("x")), "Element(<x/>)");
    }

    #[test]
    fn special_characters_round_trip() {
        let mut e = Element::with_attrs(
            "a",
            [
                ("q", "it's \"quoted\" & <tagged>"),
                ("ws", "line1\nline2\r\n\tindented  two spaces"),
                ("u", "emoji 😀 漢字 ünï"),
                ("empty", ""),
            ],
        );
        e.append_text("text & < > \" ' \r\n\r \t ]]> 😀 漢字");
        e.append_child(Element::new("b"));
        e.append_text("  ");
        e.append_child(Element::with_attrs("c", [("x", "1")]))
            .append_text("inner");
        round_trip(&e);
    }

    #[test]
    fn empty_and_prefixed_elements_round_trip() {
        round_trip(&Element::new("x"));
        let mut f = Element::with_attrs("stream:features", [("xmlns:stream", "S")]);
        f.append_child(Element::with_attrs("mechanisms", [("xmlns", "M")]))
            .append_child(Element::new("mechanism"))
            .append_text("PLAIN");
        round_trip(&f);
    }

    /// Issue 14: the bytes where epode and Strophe differ on purpose
    /// (README, "Where epode differs"); each is the same infoset.
    #[test]
    fn text_quotes_stay_literal_empty_text_adds_nothing_cdata_becomes_text() {
        let body = crate::xml::Builder::new("body", None::<(&str, &str)>)
            .t("it's \"x\" & <y>")
            .build();
        assert_eq!(body.to_xml(), "<body>it's \"x\" &amp; &lt;y&gt;</body>");
        let quoted = Element::with_attrs("a", [("v", "it's \"x\"")]);
        assert_eq!(quoted.to_xml(), "<a v=\"it&apos;s &quot;x&quot;\"/>");
        assert_eq!(
            crate::xml::Builder::new("body", None::<(&str, &str)>)
                .t("")
                .build()
                .to_xml(),
            "<body/>"
        );
        let received = parse_received("<body><![CDATA[<b> & ]]></body>").expect("parse");
        assert_eq!(received.to_xml(), "<body>&lt;b&gt; &amp; </body>");
    }

    #[test]
    fn parse_serialize_is_stable() {
        // Received XML may carry CDATA, comments and PIs; what is written
        // back carries none of them and reads the same as caller XML.
        let inputs = [
            "<a x='1' y=\"2\">t<b/>u<![CDATA[<raw> & stuff]]>v<!-- c --><?pi x?>w</a>",
            "<a>\r\nline\rbreaks&#xD;</a>",
            "<a v='tab\there&#9;'>&lt;&#x1F600;&gt;</a>",
        ];
        for input in inputs {
            let once = parse_received(input).expect(input).to_string();
            let twice = parse_element(&once).expect(&once).to_string();
            assert_eq!(once, twice);
        }
        let e = parse_received(inputs[0]).expect("parse");
        assert_eq!(e.text(), "tu<raw> & stuffvw");
        assert_eq!(e.children().len(), 3);
    }

    #[test]
    fn spine_matches_attached_tree() {
        let mut a = Element::new("a");
        a.append_text("x");
        let mut b = Element::with_attrs("b", [("k", "v")]);
        b.append_child(Element::new("c"));
        let d = Element::new("d");
        let outer = [a.clone(), b.clone()];
        let mut joined = String::new();
        write_spine(&outer, &d, &mut joined).expect("string");
        b.append_child(d);
        a.append_child(b);
        assert_eq!(joined, a.to_string());
    }
}
