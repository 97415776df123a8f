//! Stream parser tests: real streams under every chunking, framing, limits
//! and hostile input.

use super::*;

/// xorshift64*: a tiny deterministic PRNG for random chunkings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Feeds `input` in chunks of the given sizes (cycled) and collects events.
fn feed_sized(
    input: &[u8],
    sizes: &mut dyn FnMut() -> usize,
) -> Result<Vec<StreamEvent>, XmlError> {
    let mut parser = StreamParser::new();
    let mut events = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(sizes().clamp(1, rest.len()));
        parser.feed_into(chunk, &mut events)?;
        rest = tail;
    }
    assert_eq!(parser.buffered(), 0, "bytes left over");
    Ok(events)
}

fn feed_whole(input: &[u8]) -> Result<Vec<StreamEvent>, XmlError> {
    StreamParser::new().feed(input)
}

fn el(xml: &str) -> Element {
    parse_element(xml).unwrap_or_else(|e| panic!("{xml}: {e}"))
}

fn stanza(xml: &str) -> StreamEvent {
    StreamEvent::Stanza(el(xml))
}

/// Error from feeding `input` whole and one byte at a time (which must agree).
fn feed_error(input: &[u8]) -> XmlError {
    let whole = feed_whole(input).expect_err("whole input accepted");
    let bytewise = feed_sized(input, &mut || 1).expect_err("bytewise input accepted");
    assert_eq!(whole, bytewise);
    whole
}

const PROSODY: &str = "<?xml version='1.0'?>\
<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
id='4f5c5a4e-1234' from='localhost' version='1.0' xml:lang='en'>\
<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
<mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>\
<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>\
<message from='bob@localhost/phone' to='alice@localhost' type='chat' id='m1'>\
<body>Hello &amp; &lt;welcome&gt; 😀 漢字</body>\
<active xmlns='http://jabber.org/protocol/chatstates'/></message>\n \n\
<iq type='result' id='roster_1'><query xmlns='jabber:iq:roster' ver='v7'>\
<item jid='bob@localhost' name='Bob &apos;B&apos;' subscription='both'><group>Friends</group></item>\
</query></iq> \
</stream:stream>";

fn prosody_events() -> Vec<StreamEvent> {
    vec![
        StreamEvent::Open(el(
            "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
             id='4f5c5a4e-1234' from='localhost' version='1.0' xml:lang='en'/>",
        )),
        stanza(
            "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
             <mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>\
             <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
             </stream:features>"
                .replace("<stream:features>", "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>")
                .as_str(),
        ),
        stanza(
            "<message xmlns='jabber:client' from='bob@localhost/phone' to='alice@localhost' type='chat' id='m1'>\
             <body>Hello &amp; &lt;welcome&gt; 😀 漢字</body>\
             <active xmlns='http://jabber.org/protocol/chatstates'/></message>",
        ),
        stanza(
            "<iq xmlns='jabber:client' type='result' id='roster_1'><query xmlns='jabber:iq:roster' ver='v7'>\
             <item jid='bob@localhost' name=\"Bob 'B'\" subscription='both'><group>Friends</group></item>\
             </query></iq>",
        ),
        StreamEvent::Close(None),
    ]
}

#[test]
fn prosody_stream_fed_whole() {
    assert_eq!(feed_whole(PROSODY.as_bytes()), Ok(prosody_events()));
}

#[test]
fn prosody_stream_serializes_self_contained_stanzas() {
    let events = feed_whole(PROSODY.as_bytes()).expect("parse");
    let xml: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Stanza(s) => Some(s.to_string()),
            _ => None,
        })
        .collect();
    assert!(
        xml[0].starts_with("<stream:features xmlns:stream=\"http://etherx.jabber.org/streams\">")
    );
    assert!(xml[1].starts_with("<message xmlns=\"jabber:client\" from=\"bob@localhost/phone\""));
    assert!(xml[2].starts_with("<iq xmlns=\"jabber:client\" type=\"result\" id=\"roster_1\">"));
    for s in &xml {
        assert_eq!(&parse_element(s).expect("stanza reparses").to_string(), s);
    }
    let StreamEvent::Stanza(features) = &events[1] else {
        panic!("features")
    };
    let mechs = features
        .find_child("mechanisms", Some("urn:ietf:params:xml:ns:xmpp-sasl"))
        .expect("mechanisms");
    let names: Vec<String> = mechs
        .find_children("mechanism", None)
        .map(Element::text)
        .collect();
    assert_eq!(names, ["SCRAM-SHA-1", "PLAIN"]);
    let StreamEvent::Stanza(msg) = &events[2] else {
        panic!("message")
    };
    assert_eq!(
        msg.child_text("body").as_deref(),
        Some("Hello & <welcome> 😀 漢字")
    );
    assert!(msg.find_child("body", Some("jabber:client")).is_some());
}

#[test]
fn prosody_stream_fed_one_byte_at_a_time() {
    assert_eq!(
        feed_sized(PROSODY.as_bytes(), &mut || 1),
        Ok(prosody_events())
    );
}

#[test]
fn prosody_stream_in_random_chunks() {
    let want = prosody_events();
    for seed in 1..=200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let max = 1 + rng.below(80);
        let got = feed_sized(PROSODY.as_bytes(), &mut || 1 + rng.below(max));
        assert_eq!(got.as_ref(), Ok(&want), "seed {seed}");
    }
}

#[test]
fn many_stanzas_in_one_feed_and_split_stanzas() {
    let mut parser = StreamParser::new();
    let open = parser
        .feed(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        .expect("open");
    assert!(matches!(open.as_slice(), [StreamEvent::Open(_)]));
    let three = parser
        .feed(b"<presence/><message to='a'><body>1</body></message><iq type='get' id='x'/><mess")
        .expect("three");
    assert_eq!(
        three,
        [
            stanza("<presence xmlns='jabber:client'/>"),
            stanza("<message xmlns='jabber:client' to='a'><body>1</body></message>"),
            stanza("<iq xmlns='jabber:client' type='get' id='x'/>"),
        ]
    );
    assert_eq!(parser.buffered(), 5);
    assert_eq!(parser.feed(b"age to='b'><bo").expect("part"), []);
    assert_eq!(parser.feed(b"dy>split &am").expect("part"), []);
    let last = parser.feed(b"p; done</body></message>").expect("last");
    assert_eq!(
        last,
        [stanza(
            "<message xmlns='jabber:client' to='b'><body>split &amp; done</body></message>"
        )]
    );
    assert_eq!(parser.buffered(), 0);
}

#[test]
fn whitespace_keepalives_are_ignored() {
    let mut parser = StreamParser::new();
    parser
        .feed(b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        .expect("open");
    for _ in 0..1000 {
        assert_eq!(parser.feed(b" ").expect("space"), []);
        assert_eq!(parser.feed(b"\r\n\t").expect("space"), []);
    }
    assert_eq!(parser.buffered(), 0);
    assert_eq!(parser.feed(b" <presence/> ").expect("presence").len(), 1);
    assert_eq!(parser.buffered(), 0);
}

#[test]
fn text_directly_in_the_wrapper_is_refused() {
    let input = b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>junk<a/>";
    assert!(matches!(feed_error(input), XmlError::Syntax(_)));
}

#[test]
fn websocket_framing() {
    let mut parser = StreamParser::new();
    let open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>";
    assert_eq!(
        parser.feed(open.as_bytes()),
        Ok(vec![StreamEvent::Open(el(open))])
    );
    parser.reset();
    let features = "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
                    <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>\
                    </stream:features>";
    assert_eq!(parser.feed(features.as_bytes()), Ok(vec![stanza(features)]));
    parser.reset();
    let msg = "<message xmlns='jabber:client' to='a@b'><body>x</body></message>";
    assert_eq!(parser.feed(msg.as_bytes()), Ok(vec![stanza(msg)]));
    parser.reset();
    let close = "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='wss://x/'/>";
    let events = parser.feed(close.as_bytes()).expect("close");
    assert_eq!(events, [StreamEvent::Close(Some(el(close)))]);
    let StreamEvent::Close(Some(c)) = &events[0] else {
        panic!("close")
    };
    assert_eq!(c.attr("see-other-uri"), Some("wss://x/"));
}

#[test]
fn websocket_open_with_end_tag_and_several_elements() {
    let input = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='x'></open>\
                 <message xmlns='jabber:client'/> <presence xmlns='jabber:client'/>";
    let events = feed_whole(input.as_bytes()).expect("parse");
    assert!(matches!(&events[0], StreamEvent::Open(e) if e.attr("to") == Some("x")));
    assert_eq!(events.len(), 3);
    // Undeclared prefixes stay errors without a wrapper to borrow from.
    assert_eq!(
        feed_error(b"<stream:features/>"),
        XmlError::UndeclaredPrefix("stream".into())
    );
}

#[test]
fn bosh_bodies() {
    let body = "<body xmlns='http://jabber.org/protocol/httpbind' sid='s1' rid='5'>\
                <message xmlns='jabber:client' to='a'><body>one</body></message>\
                <presence xmlns='jabber:client' from='b'/></body>";
    let want = vec![
        StreamEvent::Open(el(
            "<body xmlns='http://jabber.org/protocol/httpbind' sid='s1' rid='5'/>",
        )),
        stanza("<message xmlns='jabber:client' to='a'><body>one</body></message>"),
        stanza("<presence xmlns='jabber:client' from='b'/>"),
        StreamEvent::Close(None),
    ];
    assert_eq!(feed_whole(body.as_bytes()), Ok(want.clone()));
    assert_eq!(feed_sized(body.as_bytes(), &mut || 3), Ok(want));

    let mut parser = StreamParser::new();
    let empty = "<body xmlns='http://jabber.org/protocol/httpbind' sid='s1' type='terminate'/>";
    assert_eq!(
        parser.feed(empty.as_bytes()),
        Ok(vec![StreamEvent::Open(el(empty)), StreamEvent::Close(None)])
    );
    assert_eq!(parser.feed(b"<body/>"), Err(XmlError::SecondRoot));
    parser.reset();
    assert_eq!(parser.feed(empty.as_bytes()).map(|e| e.len()), Ok(2));
}

#[test]
fn bosh_child_without_xmlns_gets_the_body_namespace() {
    let body = "<body xmlns='http://jabber.org/protocol/httpbind'><iq type='get'/></body>";
    let events = feed_whole(body.as_bytes()).expect("parse");
    assert_eq!(
        events[1],
        stanza("<iq xmlns='http://jabber.org/protocol/httpbind' type='get'/>")
    );
}

#[test]
fn namespace_adoption_details() {
    let input = "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client' xmlns:x='urn:x'>\
                 <s:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></s:error>\
                 <message x:a='1'><x:y/><b xmlns:x='urn:other'><x:z/></b></message>\
                 <s:features><bind/></s:features>\
                 </s:stream>";
    let events = feed_whole(input.as_bytes()).expect("parse");
    assert_eq!(
        events[1..],
        [
            stanza("<s:error xmlns:s='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></s:error>"),
            stanza("<message xmlns='jabber:client' x:a='1' xmlns:x='urn:x'><x:y/><b xmlns:x='urn:other'><x:z/></b></message>"),
            stanza("<s:features xmlns='jabber:client' xmlns:s='http://etherx.jabber.org/streams'><bind/></s:features>"),
            StreamEvent::Close(None),
        ]
    );
}

#[test]
fn stanzas_after_the_wrapper_closes() {
    let input =
        b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'></stream:stream>  <a/>";
    assert_eq!(feed_error(input), XmlError::SecondRoot);
}

#[test]
fn reset_restarts_the_stream() {
    let mut parser = StreamParser::new();
    let open = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
    assert_eq!(parser.feed(open).map(|e| e.len()), Ok(2));
    parser.feed(b"<partial").expect("partial");
    parser.reset();
    assert_eq!(parser.buffered(), 0);
    assert_eq!(parser.feed(open).map(|e| e.len()), Ok(2));
}

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
fn deep_nesting_is_refused_quickly() {
    let deep = "<a>".repeat(10_000);
    assert_eq!(feed_error(deep.as_bytes()), XmlError::TooDeep { limit: 64 });
    assert_eq!(parse_element(&deep), Err(XmlError::TooDeep { limit: 64 }));
    // The wrapper counts as one level.
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let mut parser = StreamParser::with_limits(limits);
    let ok = b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><a><b/></a>";
    assert_eq!(parser.feed(ok).map(|e| e.len()), Ok(2));
    assert_eq!(
        parser.feed(b"<a><b><c/></b></a>"),
        Err(XmlError::TooDeep { limit: 3 })
    );
    let exact = "<a><a><a></a></a></a>";
    assert!(parse_element_with_limits(exact, limits).is_ok());
}

#[test]
fn a_megabyte_of_text() {
    let text: String = "0123456789abcdé&<>".chars().cycle().take(1 << 20).collect();
    let mut stanza_elem = Element::with_attrs("message", [("xmlns", "jabber:client")]);
    stanza_elem
        .append_child(Element::new("body"))
        .append_text(text.clone());
    let xml = stanza_elem.to_string();
    let parsed = el(&xml);
    assert_eq!(parsed, stanza_elem);
    assert_eq!(parsed.child_text("body").as_deref(), Some(text.as_str()));
    let events = feed_sized(xml.as_bytes(), &mut || 4096).expect("chunks");
    assert_eq!(events, [StreamEvent::Stanza(stanza_elem)]);
}

#[test]
fn oversized_stanzas() {
    let limits = Limits {
        max_stanza_bytes: 100,
        ..Limits::default()
    };
    let open =
        b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>";
    let mut parser = StreamParser::with_limits(limits);
    parser.feed(open).expect("the wrapper is not a stanza");
    let fits = format!("<message>{}</message>", "x".repeat(100 - 19));
    assert_eq!(fits.len(), 100);
    assert_eq!(parser.feed(fits.as_bytes()).map(|e| e.len()), Ok(1));
    let big = format!("<message>{}</message>", "x".repeat(100));
    assert_eq!(
        parser.feed(big.as_bytes()),
        Err(XmlError::TooLarge { limit: 100 })
    );
    // The same stanza split into small feeds.
    let mut parser = StreamParser::with_limits(limits);
    parser.feed(open).expect("open");
    let result = big
        .as_bytes()
        .chunks(7)
        .try_for_each(|c| parser.feed(c).map(drop));
    assert_eq!(result, Err(XmlError::TooLarge { limit: 100 }));
}

#[test]
fn a_never_closed_tag_is_refused_while_buffering() {
    let limits = Limits {
        max_stanza_bytes: 1024,
        ..Limits::default()
    };
    let mut parser = StreamParser::with_limits(limits);
    parser.feed(b"<message to='").expect("start");
    let mut fed = 0;
    let err = loop {
        match parser.feed(&[b'a'; 100]) {
            Ok(events) => assert!(events.is_empty()),
            Err(e) => break e,
        }
        fed += 100;
        assert!(fed < 2000, "still buffering {} bytes", parser.buffered());
    };
    assert_eq!(err, XmlError::TooLarge { limit: 1024 });
    // Same for an open element whose content never ends.
    let mut parser = StreamParser::with_limits(limits);
    parser.feed(b"<message><body>").expect("start");
    let err = (0..20).find_map(|_| parser.feed(&[b'a'; 100]).err());
    assert_eq!(err, Some(XmlError::TooLarge { limit: 1024 }));
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
fn markup_between_stanzas_obeys_the_size_limit_however_chunked() {
    // Found by the xml_stream fuzz target: a 5 KB processing instruction
    // was refused when it came in pieces and accepted when it came whole.
    let limits = Limits {
        max_stanza_bytes: 1024,
        max_depth: 8,
    };
    let feed = |input: &[u8], chunk: usize| {
        let mut parser = StreamParser::with_limits(limits);
        let mut events = Vec::new();
        for piece in input.chunks(chunk) {
            parser.feed_into(piece, &mut events)?;
        }
        Ok::<_, XmlError>(events)
    };
    let long = "x".repeat(2000);
    for markup in [
        format!("<?pi {long}?><a/>"),
        format!("<!-- {long} --><a/>"),
        format!("<![CDATA[{}]]><a/>", " ".repeat(2000)),
    ] {
        for chunk in [1, 7, 64, usize::MAX] {
            let got = feed(markup.as_bytes(), chunk);
            assert_eq!(got, Err(XmlError::TooLarge { limit: 1024 }), "{chunk}");
        }
    }
    // Idle whitespace is no stanza: any amount passes, however chunked.
    let spaces = format!("{}<a/>", " ".repeat(5000));
    for chunk in [1, 7, 64, usize::MAX] {
        assert_eq!(feed(spaces.as_bytes(), chunk), Ok(vec![stanza("<a/>")]));
    }
}

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

/// Run with `cargo test --release -- --ignored --nocapture bench`.
#[test]
#[ignore]
fn bench_parse_small_messages() {
    const N: usize = 100_000;
    let mut input =
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
            .to_vec();
    for i in 0..N {
        input.extend_from_slice(
            format!("<message from='bob@example.com/phone' to='alice@example.com' type='chat' id='m{i}'><body>Hello number {i}</body></message>").as_bytes(),
        );
    }
    let start = std::time::Instant::now();
    let mut parser = StreamParser::new();
    let mut events = Vec::new();
    let mut count = 0;
    for chunk in input.chunks(4096) {
        events.clear();
        parser.feed_into(chunk, &mut events).expect("parse");
        count += events.len();
    }
    let elapsed = start.elapsed();
    assert_eq!(count, N + 1);
    println!(
        "{} bytes/stanza, {:.0} ns/stanza",
        input.len() / N,
        elapsed.as_nanos() as f64 / N as f64
    );
}

#[test]
fn big_tokens_fed_bytewise_stay_linear() {
    // Quadratic rescanning would make each of these take minutes.
    let n = 256 * 1024;
    let inputs = [
        format!("<a>{}</a>", "t".repeat(n)),
        format!("<a k='{}'/>", "v>".repeat(n / 2)),
        format!("<a><![CDATA[{}]]></a>", "]".repeat(n)),
        format!("<a><!--{}--></a>", "-".repeat(n)),
    ];
    for input in &inputs {
        let events = feed_sized(input.as_bytes(), &mut || 1).expect("bytewise");
        assert_eq!(events.len(), 1);
    }
}

#[test]
fn events_before_an_error_are_kept_by_feed_into() {
    let mut parser = StreamParser::new();
    let mut out = Vec::new();
    let err = parser.feed_into(b"<a/><b/></c>", &mut out);
    assert!(matches!(err, Err(XmlError::Syntax(_))));
    assert_eq!(out, [stanza("<a/>"), stanza("<b/>")]);
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
