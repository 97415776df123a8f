//! Streams as servers send them: a real Prosody stream, WebSocket framing
//! and BOSH bodies under every chunking, whitespace keepalives, the
//! namespaces a stanza takes from its wrapper, and feeding, resetting and
//! restarting the parser.

use super::*;

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
fn events_before_an_error_are_kept_by_feed_into() {
    let mut parser = StreamParser::new();
    let mut out = Vec::new();
    let err = parser.feed_into(b"<a/><b/></c>", &mut out);
    assert!(matches!(err, Err(XmlError::Syntax(_))));
    assert_eq!(out, [stanza("<a/>"), stanza("<b/>")]);
}
