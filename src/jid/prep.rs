//! RFC 7622's enforcement of each JID part, the form comparisons use:
//! the localpart by the PRECIS profile UsernameCaseMapped (RFC 8265 §3.3)
//! less the eight characters RFC 7622 §3.3.1 excludes, the domainpart by
//! UTS-46 (IDNA2008 mapping: case, width, NFC, A-labels to U-labels) or as
//! an IP literal, the resourcepart by OpaqueString (RFC 8265 §4.2). The
//! tables are the crates' (precis-profiles, idna), not ours.

use super::JidError;
use idna::uts46::{AsciiDenyList, Hyphens, Uts46};
use precis_core::profile::PrecisFastInvocation;
use precis_profiles::{OpaqueString, UsernameCaseMapped};
use std::net::Ipv6Addr;

/// RFC 7622 §3.3.1: ASCII characters UsernameCaseMapped allows but a
/// localpart must not hold (XEP-0106 escapes them).
const LOCALPART_EXCLUDED: [char; 8] = ['"', '&', '\'', '/', ':', '<', '>', '@'];

/// RFC 8264 §7: the rules are applied again until the result is stable,
/// three more times at most, else the input is refused. Once is not
/// enough: NFC can turn an allowed code point into one a class refuses
/// (U+0387 GREEK ANO TELEIA becomes U+00B7 MIDDLE DOT, which OpaqueString
/// allows only between two `l`s), so a once-enforced part failed its own
/// second enforcement.
fn until_stable(
    part: &'static str,
    raw: &str,
    enforce: impl Fn(&str) -> Result<String, precis_core::Error>,
) -> Result<String, JidError> {
    let mut current = enforce(raw).map_err(|e| refused(part, e))?;
    for _ in 0..3 {
        let next = enforce(&current).map_err(|e| refused(part, e))?;
        if next == current {
            return Ok(current);
        }
        current = next;
    }
    Err(JidError::InvalidCharacter(part))
}

pub(super) fn localpart(raw: &str) -> Result<String, JidError> {
    let prepared = until_stable("node", raw, |s| {
        UsernameCaseMapped::enforce(s).map(|p| p.into_owned())
    })?;
    match prepared.chars().find(|c| LOCALPART_EXCLUDED.contains(c)) {
        Some(code_point) => Err(JidError::Disallowed {
            part: "node",
            code_point,
        }),
        None => Ok(prepared),
    }
}

pub(super) fn resourcepart(raw: &str) -> Result<String, JidError> {
    until_stable("resource", raw, |s| {
        OpaqueString::enforce(s).map(|r| r.into_owned())
    })
}

/// A domain name in its U-label form, or an IP literal (RFC 7622 §3.2).
pub(super) fn domainpart(raw: &str) -> Result<String, JidError> {
    if let Some(v6) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        // Written out the one way RFC 5952 gives (lowercase, `::`).
        return v6
            .parse::<Ipv6Addr>()
            .map(|ip| format!("[{ip}]"))
            .map_err(|_| JidError::InvalidCharacter("domain"));
    }
    // STD3: only letters, digits and hyphens in ASCII labels (RFC 7622
    // wants NR-LDH labels or U-labels); Check: no hyphen first, last or in
    // the 3rd and 4th places of a label that is not an A-label.
    let (domain, result) =
        Uts46::new().to_unicode(raw.as_bytes(), AsciiDenyList::STD3, Hyphens::Check);
    // UTS-46 lets empty labels through ("a..b"); a domainpart has none.
    if result.is_err() || domain.split('.').any(str::is_empty) {
        return Err(JidError::InvalidCharacter("domain"));
    }
    Ok(domain.into_owned())
}

/// What a PRECIS profile's refusal means for the part: the code point it
/// named, or (for the bidi and context rules) the part as a whole.
fn refused(part: &'static str, error: precis_core::Error) -> JidError {
    match error {
        precis_core::Error::BadCodepoint(info) => char::from_u32(info.cp)
            .map(|code_point| JidError::Disallowed { part, code_point })
            .unwrap_or(JidError::InvalidCharacter(part)),
        _ => JidError::InvalidCharacter(part),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7622 §3.5 (examples), RFC 8265 §3.3 and UTS-46: what each part
    /// becomes, or that it is refused.
    #[test]
    fn localparts() {
        let valid = [
            ("juliet", "juliet"),
            ("Juliet", "juliet"),
            ("JULIET", "juliet"),
            // Width: fullwidth letters are their ASCII selves.
            ("ＪＵＬＩＥＴ", "juliet"),
            ("Ｊuliet", "juliet"),
            // Case of other scripts; final sigma is not special.
            ("ΣΑΣ", "σασ"),
            ("Σ", "σ"),
            ("Ägir", "ägir"),
            // NFC: a decomposed é is the precomposed one.
            ("e\u{301}lise", "élise"),
            ("élise", "élise"),
            ("ß", "ß"),
            ("中文", "中文"),
            // XEP-0106 escapes are ordinary ASCII here.
            ("d\\27artagnan", "d\\27artagnan"),
            ("space\\20cadet", "space\\20cadet"),
            ("-1.x_y+z", "-1.x_y+z"),
        ];
        for (raw, want) in valid {
            assert_eq!(localpart(raw).as_deref(), Ok(want), "{raw:?}");
            // Enforcement is idempotent.
            assert_eq!(localpart(want).as_deref(), Ok(want), "{want:?} again");
        }
    }

    #[test]
    fn refused_localparts() {
        let disallowed = [
            ("juliet capulet", ' '),
            ("\u{3000}juliet", ' '), // width-mapped to U+0020 first
            // Symbols, compatibility characters and controls.
            ("♚", '♚'),
            ("ﬀ", 'ﬀ'),
            ("\u{212B}ngstrom", '\u{212B}'),
            ("a\u{0}b", '\u{0}'),
            ("a\u{7f}", '\u{7f}'),
            ("x\u{200b}y", '\u{200b}'),
            ("ǅ", 'ǅ'),
            // RFC 7622 §3.3.1's eight.
            ("a\"b", '"'),
            ("at&t", '&'),
            ("d'artagnan", '\''),
            ("a/b", '/'),
            ("a:b", ':'),
            ("<a", '<'),
            ("a>", '>'),
            ("a@b", '@'),
        ];
        for (raw, code_point) in disallowed {
            assert_eq!(
                localpart(raw),
                Err(JidError::Disallowed {
                    part: "node",
                    code_point
                }),
                "{raw:?}"
            );
        }
        assert_eq!(localpart(""), Err(JidError::InvalidCharacter("node")));
    }

    #[test]
    fn resourceparts() {
        let valid = [
            ("balcony", "balcony"),
            // OpaqueString keeps case and width.
            ("Balcony", "Balcony"),
            ("ＢＡＬ", "ＢＡＬ"),
            ("foo bar", "foo bar"),
            (" lead and trail ", " lead and trail "),
            // Other spaces are U+0020.
            ("a\u{3000}b", "a b"),
            ("a\u{a0}b", "a b"),
            ("♚ King", "♚ King"),
            ("e\u{301}", "é"),
            ("foo@bar/baz", "foo@bar/baz"),
            ("\"&'/:<>@", "\"&'/:<>@"),
        ];
        for (raw, want) in valid {
            assert_eq!(resourcepart(raw).as_deref(), Ok(want), "{raw:?}");
            assert_eq!(resourcepart(want).as_deref(), Ok(want), "{want:?} again");
        }
        for (raw, code_point) in [
            ("a\u{7}", '\u{7}'),
            ("line\u{2028}", '\u{2028}'),
            ("tab\there", '\t'),
            ("\u{feff}bom", '\u{feff}'),
            // Found by the jid fuzz target: NFC makes U+0387 a MIDDLE DOT,
            // allowed only between two `l`s, so the result of one
            // enforcement failed the next; now the first refuses it.
            ("@Lo\u{387}Я", '\u{b7}'),
        ] {
            assert_eq!(
                resourcepart(raw),
                Err(JidError::Disallowed {
                    part: "resource",
                    code_point
                }),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn domainparts() {
        let valid = [
            ("example.com", "example.com"),
            ("LocalHost", "localhost"),
            ("EXAMPLE.COM", "example.com"),
            // Width, and the ideographic full stop as a dot.
            ("ＥＸＡＭＰＬＥ．ｃｏｍ", "example.com"),
            ("example\u{3002}com", "example.com"),
            // IDNs: the U-label form, from either form or case.
            ("bücher.example", "bücher.example"),
            ("BÜCHER.example", "bücher.example"),
            ("xn--bcher-kva.example", "bücher.example"),
            ("XN--BCHER-KVA.example", "bücher.example"),
            ("bu\u{308}cher.example", "bücher.example"),
            ("faß.de", "faß.de"),
            ("例え.テスト", "例え.テスト"),
            ("127.0.0.1", "127.0.0.1"),
            ("[::1]", "[::1]"),
            ("[2001:DB8:0:0:0:0:0:1]", "[2001:db8::1]"),
            ("a-b.example", "a-b.example"),
            ("localhost", "localhost"),
        ];
        for (raw, want) in valid {
            assert_eq!(domainpart(raw).as_deref(), Ok(want), "{raw:?}");
            assert_eq!(domainpart(want).as_deref(), Ok(want), "{want:?} again");
        }
        for raw in [
            "a b.example",
            "a_b.example",
            "a@b",
            "a/b",
            "a..b",
            ".a",
            "-a.example",
            "a-.example",
            "ab--c.example",
            "xn--zz.example",
            "\u{200d}x.example",
            "[::1",
            "[not-an-ip]",
            "[127.0.0.1]",
            "exa\u{0}mple",
        ] {
            assert_eq!(
                domainpart(raw),
                Err(JidError::InvalidCharacter("domain")),
                "{raw:?}"
            );
        }
        // UTS-46 is IDNA2008 with IDNA2003's leniency for symbols (NV8):
        // a domain no registry would hand out, kept as the crate has it.
        assert_eq!(domainpart("♚.example").as_deref(), Ok("♚.example"));
    }
}
