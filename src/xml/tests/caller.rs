//! XML from the application against XML from a server: `parse_element`
//! takes exactly one element fit to send as written and refuses what XMPP
//! does not allow, while received streams keep tolerating comments, PIs and
//! CDATA.

use super::*;

#[test]
fn parse_element_accepts_exactly_one_element() {
    let decorated =
        "\u{FEFF}<?xml version='1.0' encoding='UTF-8'?>\n<!-- hi -->\n<a x='1'>t</a>\n<!-- bye -->\n";
    let e = parse_received(decorated).expect("received XML");
    assert_eq!(e.to_string(), "<a x=\"1\">t</a>");
    // XML from the application is sent as written: no decorations.
    assert!(matches!(
        parse_element(decorated),
        Err(XmlError::Restricted(_))
    ));
    assert_eq!(el("\n <a x='1'>t</a>\n\t"), e);
    assert_eq!(parse_element("<a/><b/>"), Err(XmlError::SecondRoot));
    assert_eq!(parse_element("<a/><b"), Err(XmlError::SecondRoot));
    assert_eq!(parse_element("<a/>"), Ok(Element::new("a")));
    for incomplete in ["", "  ", "<a>", "<a", "<a>text", "<a><b/>", "<!-- x"] {
        assert_eq!(
            parse_element(incomplete),
            Err(XmlError::Incomplete),
            "{incomplete:?}"
        );
    }
    assert!(matches!(
        parse_element("<a/>junk"),
        Err(XmlError::Syntax(_))
    ));
    // No wrapper detection for a lone document.
    let s =
        el("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><x/></stream:stream>");
    assert_eq!(s.children().len(), 1);
    assert_eq!(
        "<a>b</a>".parse::<Element>().map(|e| e.text()),
        Ok("b".into())
    );
}

/// The error kinds the caller-XML table expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Restricted,
    Syntax,
    Doctype,
    UnknownEntity,
}

fn kind(err: &XmlError) -> Option<Kind> {
    match err {
        XmlError::Restricted(_) => Some(Kind::Restricted),
        XmlError::Syntax(_) => Some(Kind::Syntax),
        XmlError::Doctype => Some(Kind::Doctype),
        XmlError::UnknownEntity(_) => Some(Kind::UnknownEntity),
        _ => None,
    }
}

#[test]
fn caller_xml_that_xmpp_does_not_allow_is_refused() {
    use Kind::*;
    // (input, error kind, a fragment of the message that names the fault)
    let refused: &[(&str, Kind, &str)] = &[
        // Well-formed, but not allowed in XMPP (RFC 6120 §11.1) or not
        // sendable as written: refused here, tolerated from a server.
        ("<?xml version='1.0'?><a/>", Restricted, "XML declaration"),
        (
            "<?xml version='1.0' encoding='UTF-8'?>\n<a/>",
            Restricted,
            "XML declaration",
        ),
        ("<!-- c --><a/>", Restricted, "comments"),
        ("<a><!-- c --></a>", Restricted, "comments"),
        ("<a/><!-- c -->", Restricted, "comments"),
        ("<a>x<!---->y</a>", Restricted, "comments"),
        ("<?pi x?><a/>", Restricted, "processing instructions"),
        ("<a><?pi x?></a>", Restricted, "processing instructions"),
        ("<a/><?pi?>", Restricted, "processing instructions"),
        ("<a><![CDATA[x]]></a>", Restricted, "CDATA"),
        ("<a><![CDATA[<b> & ]]></a>", Restricted, "CDATA"),
        ("<a><![CDATA[]]></a>", Restricted, "CDATA"),
        ("<xml:a/>", Restricted, "'xml' prefix"),
        ("<a><xml:b>t</xml:b></a>", Restricted, "'xml' prefix"),
        ("\u{FEFF}<a/>", Restricted, "byte order mark"),
        // DTDs: refused from anyone.
        ("<!DOCTYPE a><a/>", Doctype, "DOCTYPE"),
        (
            "<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>",
            Doctype,
            "DOCTYPE",
        ),
        ("<a><!ENTITY e 'x'></a>", Doctype, "DOCTYPE"),
        // Not well-formed: refused from anyone.
        ("<a>]]></a>", Syntax, "']]>'"),
        ("<a>x ]]> y</a>", Syntax, "']]>'"),
        ("<a><b/>]]></a>", Syntax, "']]>'"),
        (
            "<a x='1'y='2'/>",
            Syntax,
            "white space after the value of attribute 'x'",
        ),
        ("<a x=\"1\"y=\"2\"/>", Syntax, "white space"),
        ("<a x='1'y='2'>t</a>", Syntax, "white space"),
        ("<a b='' x:c='1'xmlns:x='u'/>", Syntax, "white space"),
        ("<a xmlns:p=''/>", Syntax, "xmlns:p=''"),
        ("<a xmlns:p=\"\"><b/></a>", Syntax, "xmlns:p=''"),
        (
            "<p:a xmlns:p='u'><b xmlns:p=''/></p:a>",
            Syntax,
            "undeclares",
        ),
        ("<a xmlns:xmlns='u'/>", Syntax, "'xmlns' cannot be declared"),
        (
            "<a xmlns:xml='urn:other'/>",
            Syntax,
            "'xml' can only be bound",
        ),
        (
            "<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>",
            Syntax,
            "reserved",
        ),
        (
            "<a xmlns:p='http://www.w3.org/2000/xmlns/'/>",
            Syntax,
            "reserved",
        ),
        (
            "<a xmlns='http://www.w3.org/2000/xmlns/'/>",
            Syntax,
            "reserved",
        ),
        ("<a>&#0;</a>", Syntax, "'&#0;'"),
        ("<a>&#x1;</a>", Syntax, "'&#x1;'"),
        ("<a x='&#x1F;'/>", Syntax, "character reference"),
        ("<a>&#xD800;</a>", Syntax, "character reference"),
        ("<a>&#xFFFE;</a>", Syntax, "character reference"),
        ("<a>&#x110000;</a>", Syntax, "character reference"),
        ("<a>\u{1}</a>", Syntax, "control character"),
        ("<a>a & b</a>", Syntax, "'&'"),
        // Entities beyond the five predefined ones: refused from anyone.
        ("<a>&nbsp;</a>", UnknownEntity, "&nbsp;"),
        ("<a x='&copy;'/>", UnknownEntity, "RFC 6120"),
    ];
    for &(input, want, fragment) in refused {
        let err = parse_element(input).expect_err(input);
        assert_eq!(kind(&err), Some(want), "{input:?}: {err}");
        let message = err.to_string();
        assert!(message.contains(fragment), "{input:?}: {message:?}");
        // Errors go to C as EPODE_ERR_MALFORMED_XML (see ffi::stanza).
        let received = parse_received(input);
        match want {
            // From a server these are dropped (comments, PIs, a leading
            // declaration or BOM) or read as text (CDATA), as before.
            Restricted => assert!(received.is_ok(), "{input:?}: {received:?}"),
            _ => assert_eq!(received.map_err(|e| kind(&e)), Err(Some(want)), "{input:?}"),
        }
    }
    // The messages of §11.1's constructs cite it.
    for input in ["<!-- c --><a/>", "<?pi?><a/>", "<?xml version='1.0'?><a/>"] {
        let message = parse_element(input).expect_err(input).to_string();
        assert!(message.contains("not allowed in"), "{message}");
        assert!(message.contains("RFC 6120 §11.1"), "{message}");
    }
}

#[test]
fn caller_xml_that_xmpp_allows_is_accepted() {
    let accepted: &[(&str, &str)] = &[
        // (input, the text of the root)
        ("<x:a xmlns:x='urn:x'/>", ""),
        ("<x:a xmlns:x='urn:x'><x:b/>t</x:a>", "t"),
        ("<a xmlns:x='urn:x' x:y='1'/>", ""),
        ("<a xmlns='urn:a'><b xmlns=''/></a>", ""),
        ("<a xml:lang='en'/>", ""),
        (
            "<a xmlns:xml='http://www.w3.org/XML/1998/namespace' xml:lang='en'/>",
            "",
        ),
        ("<a>&lt;&gt;&amp;&quot;&apos;</a>", "<>&\"'"),
        (
            "<a>&#65;&#x42;&#x1F600;&#9;&#xA;&#xD;&#xE000;</a>",
            "AB😀\t\n\r\u{E000}",
        ),
        ("<a x='1' y=\"2\"/>", ""),
        ("<a x=\"it's\" y='say \"hi\"'/>", ""),
        ("<a>héllo 漢字 😀</a>", "héllo 漢字 😀"),
        ("<a\tx='1'\n y='2'\r\n\tz='3'  />", ""),
        ("<a x = '1'\ty\t=\t\"2\"></a>", ""),
        ("<a>]]&gt; ]] ]> ] ></a>", "]]> ]] ]> ] >"),
        ("<a x=']]>'/>", ""),
        ("\n  <a/>\r\n\t", ""),
        (
            "<message xmlns='jabber:client' to='b@x' type='chat'><body>hi</body></message>",
            "",
        ),
    ];
    for &(input, text) in accepted {
        let e = parse_element(input).unwrap_or_else(|err| panic!("{input:?}: {err}"));
        assert_eq!(e.text(), text, "{input:?}");
        assert_eq!(parse_received(input).as_ref(), Ok(&e), "{input:?}");
        // What epode writes back is caller XML too.
        assert_eq!(parse_element(&e.to_string()), Ok(e.clone()), "{input:?}");
    }
    let e = el("<a x='1' y=\"it's\" z='é'\n\tw=\"&quot;\"/>");
    let attrs: Vec<_> = e.attrs().collect();
    assert_eq!(attrs, [("x", "1"), ("y", "it's"), ("z", "é"), ("w", "\"")]);
}

#[test]
fn cdata_from_a_server_is_written_as_escaped_text() {
    let cdata = parse_received("<a><![CDATA[<b> ]]]]><![CDATA[> &]]></a>").expect("CDATA");
    assert_eq!(cdata.text(), "<b> ]]> &");
    assert_eq!(cdata.to_string(), "<a>&lt;b&gt; ]]&gt; &amp;</a>");
    assert_eq!(parse_element(&cdata.to_string()), Ok(cdata));
}

#[test]
fn server_streams_keep_tolerating_what_they_tolerated() {
    // Comments, PIs and CDATA inside a stream are dropped or read as text,
    // and elements in the xml prefix pass, as before: only XML that is not
    // well-formed is refused (not_well_formed_xml_is_refused_from_anyone).
    let ok =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
              <!-- c --><?pi x?><message><body>a<![CDATA[<b>]]><!-- c --></body><xml:x/></message>";
    let events = feed_sized(ok.as_bytes(), &mut || 3).expect("tolerated");
    let StreamEvent::Stanza(m) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(m.child_text("body").as_deref(), Some("a<b>"));
}
