//! Well-formedness: what is not XML (or not namespace-well-formed) is
//! refused from anyone, whole or byte by byte alike, with errors that stay
//! until a reset; entities, character references, UTF-8 and line ends are
//! read as XML 1.0 says; random garbage never panics.

use super::*;

#[test]
fn malformed_xml() {
    assert_eq!(
        feed_error(b"<a><b></a>"),
        XmlError::MismatchedEnd {
            expected: "b".into(),
            found: "a".into()
        }
    );
    assert!(matches!(feed_error(b"<>"), XmlError::Syntax(_)));
    assert!(matches!(feed_error(b"< a/>"), XmlError::Syntax(_)));
    assert!(matches!(
        feed_error(b"<a b='1' b='2'/>"),
        XmlError::Syntax(_)
    ));
    assert!(matches!(feed_error(b"<a b/>"), XmlError::Syntax(_)));
    assert!(matches!(feed_error(b"<a b=1/>"), XmlError::Syntax(_)));
    assert!(matches!(feed_error(b"<a b='x<y'/>"), XmlError::Syntax(_)));
    assert!(matches!(feed_error(b"<1a/>"), XmlError::Syntax(_)));
    assert!(matches!(
        feed_error(b"<a:b:c xmlns:a='x'/>"),
        XmlError::Syntax(_)
    ));
    assert!(matches!(feed_error(b"</a>"), XmlError::Syntax(_)));
    assert!(matches!(feed_error(b"hello <a/>"), XmlError::Syntax(_)));
    assert!(matches!(feed_error(b"<a>\x01</a>"), XmlError::Syntax(_)));
    assert!(matches!(
        feed_error(b"<a/><?xml version='1.0'?>"),
        XmlError::Syntax(_)
    ));
    assert!(matches!(feed_error(b"<a>x & y</a>"), XmlError::Syntax(_)));
    assert_eq!(parse_element("<a b='1>"), Err(XmlError::Incomplete));
    assert!(matches!(parse_element("<>"), Err(XmlError::Syntax(_))));
    assert!(matches!(
        parse_element("<a><b></a>"),
        Err(XmlError::MismatchedEnd { .. })
    ));
}

#[test]
fn errors_are_sticky_until_reset() {
    let mut parser = StreamParser::new();
    let err = parser.feed(b"<a></b>").expect_err("mismatch");
    assert_eq!(parser.feed(b"<ok/>"), Err(err.clone()));
    assert_eq!(parser.feed(b""), Err(err));
    parser.reset();
    assert_eq!(parser.feed(b"<ok/>").map(|e| e.len()), Ok(1));
}

#[test]
fn undeclared_prefixes() {
    assert_eq!(
        feed_error(b"<p:a/>"),
        XmlError::UndeclaredPrefix("p".into())
    );
    assert_eq!(
        feed_error(b"<a p:x='1'/>"),
        XmlError::UndeclaredPrefix("p".into())
    );
    assert_eq!(
        feed_error(b"<a xmlns:p='u'><p:b/></a><p:c/>"),
        XmlError::UndeclaredPrefix("p".into())
    );
    assert_eq!(
        parse_element("<p:a xmlns:p='u' xml:lang='en'/>").map(|e| e.local_name().to_owned()),
        Ok("a".into())
    );
}

#[test]
fn invalid_utf8() {
    assert_eq!(feed_error(b"<a>ok \xff\xfe bad</a>"), XmlError::InvalidUtf8);
    // An overlong encoding of '/'.
    assert_eq!(feed_error(b"<a>\xc0\xaf</a>"), XmlError::InvalidUtf8);
    assert_eq!(feed_error(b"<a k='\xed\xa0\x80'/>"), XmlError::InvalidUtf8);
    assert_eq!(
        parse_element_bytes(b"<a>\xff</a>"),
        Err(XmlError::InvalidUtf8)
    );
    assert_eq!(
        parse_element_bytes("<a>é</a>".as_bytes()).map(|e| e.text()),
        Ok("é".into())
    );
}

#[test]
fn utf8_split_across_feeds() {
    let input = "<a>😀漢字é</a>".as_bytes();
    let events = feed_sized(input, &mut || 1).expect("bytewise");
    assert_eq!(events, [stanza("<a>😀漢字é</a>")]);
}

#[test]
fn doctypes_and_entity_bombs_are_refused() {
    let lol = b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>\
                <!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]>\
                <lolz>&lol2;</lolz>";
    assert_eq!(feed_error(lol), XmlError::Doctype);
    let lol = std::str::from_utf8(lol).expect("UTF-8");
    assert_eq!(parse_received(lol), Err(XmlError::Doctype));
    let without_declaration = lol.trim_start_matches("<?xml version='1.0'?>");
    assert_eq!(parse_element(without_declaration), Err(XmlError::Doctype));
    assert_eq!(feed_error(b"<a><!ENTITY x 'y'></a>"), XmlError::Doctype);
}

#[test]
fn entities_and_character_references() {
    assert_eq!(
        feed_error(b"<a>&nbsp;</a>"),
        XmlError::UnknownEntity("nbsp".into())
    );
    assert_eq!(
        feed_error(b"<a b='&foo;'/>"),
        XmlError::UnknownEntity("foo".into())
    );
    assert!(matches!(feed_error(b"<a>&#0;</a>"), XmlError::Syntax(_)));
    assert!(matches!(
        feed_error(b"<a>&#xFFFF;</a>"),
        XmlError::Syntax(_)
    ));
    let e = el("<a b='&#x1F600;&lt;'>&#65;&#x3b1;&amp;&quot;&apos;&gt;</a>");
    assert_eq!(e.attr("b"), Some("😀<"));
    assert_eq!(e.text(), "Aα&\"'>");
}

#[test]
fn cdata_comments_and_pis() {
    let input = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>\
                 <!-- between --><?pi between?>\
                 <a>x<!-- inside -->y<![CDATA[<not a tag> & ]]]]>z<?pi inside?></a>\
                 </stream:stream>";
    let events = feed_sized(input.as_bytes(), &mut || 2).expect("parse");
    let StreamEvent::Stanza(a) = &events[1] else {
        panic!("stanza")
    };
    assert_eq!(a.children(), [Node::Text("xy<not a tag> & ]]z".into())]);
    assert_eq!(a.to_string(), "<a>xy&lt;not a tag&gt; &amp; ]]z</a>");
}

#[test]
fn a_bom_is_accepted_only_as_the_first_character() {
    // Found by the xml_stream fuzz target: a BOM after whitespace passed
    // when the two arrived in separate chunks, and failed when together.
    let late = "\t\t\u{FEFF}\t<a/>".as_bytes();
    assert!(matches!(feed_error(late), XmlError::Syntax(_)));
    let first = "\u{FEFF}\t<a/>".as_bytes();
    assert_eq!(feed_whole(first), Ok(vec![stanza("<a/>")]));
    assert_eq!(feed_sized(first, &mut || 1), Ok(vec![stanza("<a/>")]));
}

#[test]
fn error_messages() {
    assert_eq!(
        XmlError::TooLarge { limit: 1_048_576 }.to_string(),
        "stanza exceeds 1048576 bytes"
    );
    assert!(XmlError::Syntax("x".into())
        .to_string()
        .starts_with("XML syntax error: "));
    assert!(XmlError::MismatchedEnd {
        expected: "a".into(),
        found: "b".into()
    }
    .to_string()
    .contains("expected </a>, found </b>"));
    let err: Box<dyn std::error::Error> = Box::new(XmlError::Doctype);
    assert!(err.to_string().contains("DOCTYPE"));
}

#[test]
fn line_ends_are_normalized() {
    let e = el("<a k='x\r\ny'>1\r\n2\r3&#xD;</a>");
    assert_eq!(e.attr("k"), Some("x y"));
    assert_eq!(e.text(), "1\n2\n3\r");
    assert_eq!(el(&e.to_string()), e);
}

#[test]
fn random_garbage_never_panics() {
    let alphabet: &[&[u8]] = &[
        b"<",
        b">",
        b"/",
        b"a",
        b"b:",
        b"='",
        b"'",
        b"\"",
        b" ",
        b"&amp;",
        b"&",
        b";",
        b"<!--",
        b"-->",
        b"<![CDATA[",
        b"]]>",
        b"<?",
        b"?>",
        b"xmlns='u'",
        b"xmlns:b='v'",
        b"\xff",
        "é".as_bytes(),
        b"\r",
    ];
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let mut input = Vec::new();
        for _ in 0..rng.below(40) {
            input.extend_from_slice(alphabet[rng.below(alphabet.len())]);
        }
        let whole = feed_whole(&input);
        let mut parser = StreamParser::new();
        let mut events = Vec::new();
        let bytewise = input
            .iter()
            .try_for_each(|b| parser.feed_into(std::slice::from_ref(b), &mut events))
            .map(|()| events);
        assert_eq!(whole, bytewise, "{:?}", String::from_utf8_lossy(&input));
        let _ = parse_element_bytes(&input);
    }
}

#[test]
fn not_well_formed_xml_is_refused_from_anyone() {
    // Found accepted before: quick-xml does not require white space between
    // attributes, nothing checked declarations, and `]]>` passed in text.
    for (bad, fragment) in [
        ("<a>]]></a>", "']]>'"),
        ("<a>x ]]> y</a>", "']]>'"),
        (
            "<a x='1'y='2'/>",
            "white space after the value of attribute 'x'",
        ),
        ("<a x=\"1\"y=\"2\"></a>", "white space"),
        ("<a xmlns:p=''/>", "xmlns:p=''"),
        ("<p:a xmlns:p='u'><b xmlns:p=\"\"/></p:a>", "undeclares"),
        ("<a xmlns:xmlns='u'/>", "'xmlns' cannot be declared"),
        ("<a xmlns:xml='urn:other'/>", "'xml' can only be bound"),
        (
            "<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>",
            "reserved",
        ),
        ("<a xmlns='http://www.w3.org/2000/xmlns/'/>", "reserved"),
    ] {
        let err = parse_element(bad).expect_err(bad);
        assert!(matches!(err, XmlError::Syntax(_)), "{bad}: {err:?}");
        assert!(err.to_string().contains(fragment), "{bad}: {err}");
        let stream = format!("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>{bad}");
        assert_eq!(feed_error(stream.as_bytes()), err, "{bad}");
    }
    for good in [
        "<a>]]&gt; ]] ]> ] ></a>",
        "<a x=']]>'/>",
        "<a\tx='1'\n y='2'\r\n\tz='3'  />",
        "<a xmlns='urn:a'><b xmlns=''/></a>",
        "<a xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:lang='en'/>",
    ] {
        assert!(parse_element(good).is_ok(), "{good}");
    }
    // The serializer writes every `>` as `&gt;`, so its output never holds
    // `]]>` outside markup.
    let mut e = Element::with_attrs("a", [("v", "]]>")]);
    e.append_text("x]]>y ]]]]>");
    let xml = e.to_string();
    assert_eq!(xml, "<a v=\"]]&gt;\">x]]&gt;y ]]]]&gt;</a>");
    assert_eq!(parse_element(&xml), Ok(e));
}
