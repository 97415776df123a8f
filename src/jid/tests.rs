//! JIDs: splitting, escaping, normalisation and the errors.

use super::*;

#[test]
fn splits() {
    let cases: [(&str, Option<&str>, &str, Option<&str>); 8] = [
        (
            "node@domain/resource",
            Some("node"),
            "domain",
            Some("resource"),
        ),
        ("domain", None, "domain", None),
        ("domain/resource", None, "domain", Some("resource")),
        ("node@domain", Some("node"), "domain", None),
        (
            "a.example.com/b@example.net",
            None,
            "a.example.com",
            Some("b@example.net"),
        ),
        (
            "juliet@example.com/foo/bar",
            Some("juliet"),
            "example.com",
            Some("foo/bar"),
        ),
        (
            "juliet@example.com/foo@bar",
            Some("juliet"),
            "example.com",
            Some("foo@bar"),
        ),
        ("", None, "", None),
    ];
    for (jid, n, d, r) in cases {
        assert_eq!(split(jid), (n, d, r), "{jid}");
        assert_eq!(join(n, d, r), jid);
    }
    assert_eq!(bare("juliet@example.com/foo/bar"), "juliet@example.com");
    assert_eq!(bare("a.example.com/b@example.net"), "a.example.com");
}

#[test]
fn strophe_jid_tests() {
    let jid = "darcy@pemberley.lit/library";
    assert_eq!(
        split(jid),
        (Some("darcy"), "pemberley.lit", Some("library"))
    );
    assert_eq!(bare(jid), "darcy@pemberley.lit");
    let weird = "darcy@netherfield.lit@pemberley.lit/library";
    assert_eq!(
        split(weird),
        (
            Some("darcy"),
            "netherfield.lit@pemberley.lit",
            Some("library")
        )
    );
    let escaped = format!(
        "{}@pemberley.lit/library",
        escape_node("darcy@netherfield.lit")
    );
    assert_eq!(node(&escaped), Some("darcy\\40netherfield.lit"));
    assert_eq!(bare(&escaped), "darcy\\40netherfield.lit@pemberley.lit");
    let room = "books@chat.pemberley.lit/darcy@pemberley.lit/library";
    assert_eq!(
        split(room),
        (
            Some("books"),
            "chat.pemberley.lit",
            Some("darcy@pemberley.lit/library")
        )
    );
}

#[test]
fn raw_helpers_on_odd_input() {
    assert_eq!(split("@x"), (Some(""), "x", None));
    assert_eq!(split("x/"), (None, "x", Some("")));
    assert_eq!(split("/r@x"), (None, "", Some("r@x")));
    assert_eq!(split("é@ü/ß"), (Some("é"), "ü", Some("ß")));
}

#[test]
fn xep0106_table() {
    let cases = [
        ("space cadet", "space\\20cadet"),
        ("call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22"),
        ("at&t guy", "at\\26t\\20guy"),
        ("d'artagnan", "d\\27artagnan"),
        ("/.fanboy", "\\2f.fanboy"),
        ("::foo::", "\\3a\\3afoo\\3a\\3a"),
        ("<foo>", "\\3cfoo\\3e"),
        ("user@host", "user\\40host"),
        ("c:\\net", "c\\3a\\net"),
        ("c:\\\\net", "c\\3a\\\\net"),
        ("c:\\cool stuff", "c\\3a\\cool\\20stuff"),
        ("c:\\5commas", "c\\3a\\5c5commas"),
    ];
    for (raw, escaped) in cases {
        assert_eq!(escape_node(raw), escaped, "{raw}");
        assert_eq!(unescape_node(escaped), raw, "{escaped}");
    }
}

#[test]
fn xep0106_left_alone() {
    for s in [
        "\\2plus\\2is\\4",
        "foo\\bar",
        "foob\\41r",
        "\\",
        "a\\",
        "\\5C",
        "\\2F",
    ] {
        assert_eq!(escape_node(s), s);
        assert_eq!(unescape_node(s), s);
    }
}

#[test]
fn every_sequence_round_trips() {
    let all = "a \"&'/:<>@\\5cz";
    let escaped = escape_node(all);
    assert_eq!(escaped, "a\\20\\22\\26\\27\\2f\\3a\\3c\\3e\\40\\5c5cz");
    assert_eq!(unescape_node(&escaped), all);
    assert_eq!(unescape_node("\\5c5c"), "\\5c");
    assert_eq!(unescape_node("\\40\\5c\\2f"), "@\\/");
}

#[test]
fn escape_trims_like_strophe() {
    assert_eq!(escape_node("  alice smith \t\n"), "alice\\20smith");
    assert_eq!(escape_node(""), "");
    assert_eq!(escape_node("   "), "");
}

#[test]
fn unescape_only_lowercase() {
    assert_eq!(unescape_node("a\\3Ab"), "a\\3Ab");
    assert_eq!(unescape_node("a\\3ab"), "a:b");
    assert_eq!(unescape_node("ü\\20ö"), "ü ö");
}

#[test]
fn parse_valid() {
    let j = Jid::parse("juliet@example.com/foo@bar").unwrap();
    assert_eq!(j.node(), Some("juliet"));
    assert_eq!(j.domain(), "example.com");
    assert_eq!(j.resource(), Some("foo@bar"));
    assert_eq!(j.bare().to_string(), "juliet@example.com");
    assert!(j.bare().is_bare());
    assert_eq!(j.to_string(), "juliet@example.com/foo@bar");
    let d: Jid = "a.example.com/b@example.net".parse().unwrap();
    assert_eq!((d.node(), d.resource()), (None, Some("b@example.net")));
    assert_eq!(
        Jid::parse("example.com.").unwrap().to_string(),
        "example.com"
    );
}

#[test]
fn parse_errors() {
    assert_eq!(Jid::parse(""), Err(JidError::EmptyDomain));
    assert_eq!(Jid::parse("a@"), Err(JidError::EmptyDomain));
    assert_eq!(Jid::parse("/res"), Err(JidError::EmptyDomain));
    assert_eq!(Jid::parse("."), Err(JidError::EmptyDomain));
    assert_eq!(Jid::parse("@x"), Err(JidError::EmptyNode));
    assert_eq!(Jid::parse("x/"), Err(JidError::EmptyResource));
    assert_eq!(
        Jid::parse("a@b@c"),
        Err(JidError::InvalidCharacter("domain"))
    );
    assert!(Jid::new(Some("a/b"), "x", None).is_err());
}

#[test]
fn a_domain_of_dots_is_refused() {
    // Found by the jid fuzz target: ".." parsed as the domain ".",
    // which printed as "." and then did not parse.
    assert_eq!(Jid::parse(".."), Err(JidError::InvalidCharacter("domain")));
    assert_eq!(
        Jid::parse("a@b.."),
        Err(JidError::InvalidCharacter("domain"))
    );
    assert_eq!(Jid::parse("."), Err(JidError::EmptyDomain));
    assert_eq!(Jid::parse("b.").unwrap().to_string(), "b");
}

#[test]
fn length_limits() {
    let max = "a".repeat(MAX_PART_LEN);
    let over = "a".repeat(MAX_PART_LEN + 1);
    assert!(Jid::parse(&format!("{max}@{max}/{max}")).is_ok());
    assert_eq!(
        Jid::parse(&format!("{over}@x")),
        Err(JidError::TooLong("node"))
    );
    assert_eq!(Jid::parse(&over), Err(JidError::TooLong("domain")));
    assert_eq!(
        Jid::parse(&format!("x/{over}")),
        Err(JidError::TooLong("resource"))
    );
    // Bytes, not characters.
    assert!(Jid::parse(&format!("{}@x", "é".repeat(512))).is_err());
}

/// RFC 7622 §3.5: its examples of valid JIDs, and what each is once
/// normalised.
#[test]
fn rfc7622_valid_examples() {
    let cases = [
        ("juliet@example.com", "juliet@example.com"),
        ("juliet@example.com/foo", "juliet@example.com/foo"),
        ("juliet@example.com/foo bar", "juliet@example.com/foo bar"),
        ("juliet@example.com/foo@bar", "juliet@example.com/foo@bar"),
        ("foo\\20bar@example.com", "foo\\20bar@example.com"),
        ("fussball@example.com", "fussball@example.com"),
        ("fußball@example.com", "fußball@example.com"),
        ("π@example.com", "π@example.com"),
        ("Σ@example.com/foo", "σ@example.com/foo"),
        ("σ@example.com/foo", "σ@example.com/foo"),
        ("ς@example.com/foo", "ς@example.com/foo"),
        ("king@example.com/♚", "king@example.com/♚"),
        ("example.com", "example.com"),
        ("example.com/foobar", "example.com/foobar"),
        ("a.example.com/b@example.net", "a.example.com/b@example.net"),
    ];
    for (raw, want) in cases {
        assert_eq!(normalize(raw).as_deref(), Ok(want), "{raw:?}");
    }
    // Final sigma is its own letter; ß is not ss (PRECIS, not IDNA2003).
    assert_eq!(equal("Σ@example.com", "σ@example.com"), Ok(true));
    assert_eq!(equal("ς@example.com", "σ@example.com"), Ok(false));
    assert_eq!(
        equal("fußball@example.com", "fussball@example.com"),
        Ok(false)
    );
}

/// RFC 7622 §3.5: its examples of invalid JIDs (but the leading space
/// of a resource, which RFC 8265's OpaqueString keeps).
#[test]
fn rfc7622_invalid_examples() {
    let disallowed = |part, code_point| JidError::Disallowed { part, code_point };
    let cases = [
        ("\"juliet\"@example.com", disallowed("node", '"')),
        ("foo bar@example.com", disallowed("node", ' ')),
        ("@example.com/", JidError::EmptyNode),
        ("henry\u{2163}@example.com", disallowed("node", '\u{2163}')),
        ("♚@example.com", disallowed("node", '♚')),
        ("juliet@", JidError::EmptyDomain),
        ("/foobar", JidError::EmptyDomain),
    ];
    for (raw, why) in cases {
        assert_eq!(Jid::parse(raw), Err(why.clone()), "{raw:?}");
        assert_eq!(normalize(raw), Err(why), "{raw:?}");
    }
    assert!(Jid::parse("juliet@example.com/ foo").is_ok());
}

/// The issue that asked for all this: a user writes the address in
/// another case than the server hands it back.
#[test]
fn addresses_compare_normalised() {
    let same = [
        ("Alice@LocalHost", "alice@localhost"),
        ("ALICE@localhost/phone", "alice@LOCALHOST/phone"),
        ("ａｌｉｃｅ@ｌｏｃａｌｈｏｓｔ", "alice@localhost"),
        ("élise@bücher.example", "E\u{301}LISE@xn--bcher-kva.example"),
        (
            "room@conference.example.com.",
            "room@Conference.Example.Com",
        ),
        ("a@[2001:DB8::1]/r", "a@[2001:db8:0::1]/r"),
    ];
    for (a, b) in same {
        assert_eq!(equal(a, b), Ok(true), "{a} = {b}");
        assert_eq!(bare_equal(a, b), Ok(true), "{a} ~ {b}");
        assert_eq!(normalize(a), normalize(b));
        assert!(same_address(a, b) && same_account(a, b));
        assert_eq!(Jid::parse(a).unwrap(), Jid::parse(b).unwrap());
    }
    // Resources keep their case: another resource, the same account.
    let (phone, other) = ("alice@localhost/Phone", "Alice@localhost/phone");
    assert_eq!(equal(phone, other), Ok(false));
    assert_eq!(bare_equal(phone, other), Ok(true));
    assert!(!same_address(phone, other) && same_account(phone, other));
    assert_eq!(equal("alice@localhost", "alice@localhost/r"), Ok(false));
    assert_eq!(equal("alice@localhost", "bob@localhost"), Ok(false));
    assert_eq!(equal("localhost", "alice@localhost"), Ok(false));
    assert_eq!(
        normalize("Alice@LocalHost/Phone").as_deref(),
        Ok("alice@localhost/Phone")
    );
}

#[test]
fn invalid_input_is_an_error_or_only_itself() {
    assert_eq!(
        equal("a b@x", "a b@x"),
        Err(JidError::Disallowed {
            part: "node",
            code_point: ' '
        })
    );
    assert!(bare_equal("a@x", "a@x/\u{7}").is_err());
    // What a server or a peer sends may be anything: it equals itself
    // byte for byte and nothing else.
    assert!(same_address("a b@x", "a b@x"));
    assert!(!same_address("A b@x", "a b@x"));
    assert!(!same_address("a b@x", "a@x"));
    // An account comparison looks at the bare JIDs only.
    assert!(same_account("Alice@x/\u{7}", "alice@x"));
}

#[test]
fn lengths_count_after_normalisation() {
    // Fullwidth letters are 3 bytes each, 1 once normalised.
    let wide = |n| "Ａ".repeat(n);
    assert_eq!(
        normalize(&format!("{}@x", wide(MAX_PART_LEN))),
        Ok(format!("{}@x", "a".repeat(MAX_PART_LEN)))
    );
    assert_eq!(
        Jid::parse(&format!("{}@x", wide(MAX_PART_LEN + 1))),
        Err(JidError::TooLong("node"))
    );
    // A decomposed é (3 bytes) is 2 once composed.
    let decomposed = "e\u{301}".repeat(511);
    assert!(Jid::parse(&format!("x/{decomposed}")).is_ok());
    assert_eq!(
        Jid::parse(&format!("x/{decomposed}e\u{301}")),
        Err(JidError::TooLong("resource"))
    );
    // Hostile lengths are refused before any normalising.
    let huge = "a".repeat(MAX_RAW_PART_LEN + 1);
    assert_eq!(Jid::parse(&huge), Err(JidError::TooLong("domain")));
    assert_eq!(
        Jid::parse(&format!("x/{}", "\u{3000}".repeat(100_000))),
        Err(JidError::TooLong("resource"))
    );
}

#[test]
fn errors_say_what_and_where() {
    let e = Jid::parse("foo bar@example.com").unwrap_err();
    assert_eq!(e.to_string(), "U+0020 is not allowed in the node");
    assert_eq!(
        Jid::parse("a@b_c").unwrap_err().to_string(),
        "invalid character in the domain"
    );
}

#[test]
fn bare_eq_ignores_resource() {
    let a = Jid::parse("romeo@example.net/orchard").unwrap();
    let b = Jid::parse("romeo@example.net/balcony").unwrap();
    let c = Jid::parse("juliet@example.net/orchard").unwrap();
    assert!(a.bare_eq(&b) && a.bare_eq(&a.bare()));
    assert!(!a.bare_eq(&c));
    assert_ne!(a, b);
    assert!(JidError::EmptyNode.to_string().contains("node"));
}
