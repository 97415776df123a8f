//! Limits and cost: how deep, how large and how long a peer can make the
//! parser hold or work, however the input is chunked.

use super::*;

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
