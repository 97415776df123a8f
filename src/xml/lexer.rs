//! Finds where the next complete token ends, resumably.
//!
//! The parser keeps received bytes until they form whole tokens. The lexer
//! remembers how far it scanned into an incomplete token, so each byte is
//! looked at about once however the input is chunked. Every token starts and
//! ends on an ASCII byte (`<`, `>` or the byte before `<`), so a complete
//! token never splits a UTF-8 sequence.

use super::error::XmlError;

/// The kinds of markup the parser handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Token {
    /// Character data up to the next `<`.
    Text,
    /// `<name ...>` or `<name .../>`.
    Start,
    /// `</name>`.
    End,
    /// `<!-- ... -->`.
    Comment,
    /// `<![CDATA[ ... ]]>`.
    CData,
    /// `<? ... ?>`, including the XML declaration.
    Pi,
}

const COMMENT_OPEN: &[u8] = b"<!--";
const CDATA_OPEN: &[u8] = b"<![CDATA[";

/// The bytes that matter inside a start tag: `>`, `"` and `'`.
static TAG_MARKS: [bool; 256] = {
    let mut m = [false; 256];
    m[b'>' as usize] = true;
    m[b'"' as usize] = true;
    m[b'\'' as usize] = true;
    m
};

/// Resume state for the token at the front of the unconsumed input.
#[derive(Debug, Default)]
pub(super) struct Lexer {
    /// Offset within the token where scanning resumes.
    scan: usize,
    /// The quote of an attribute value the scan is inside, or 0.
    quote: u8,
}

impl Lexer {
    pub(super) fn reset(&mut self) {
        *self = Lexer::default();
    }

    /// Keeps the resume point right after `n` leading bytes were dropped.
    pub(super) fn skip(&mut self, n: usize) {
        self.scan = self.scan.saturating_sub(n);
    }

    /// The kind and length of the complete token at the start of `rest`,
    /// or `None` if more input is needed.
    pub(super) fn next(&mut self, rest: &[u8]) -> Result<Option<(Token, usize)>, XmlError> {
        let found = match rest.first() {
            None => return Ok(None),
            Some(b'<') => self.markup(rest)?,
            Some(_) => self.find(rest, 1, b"<").map(|i| (Token::Text, i)),
        };
        if found.is_some() {
            self.reset();
        }
        Ok(found)
    }

    fn markup(&mut self, rest: &[u8]) -> Result<Option<(Token, usize)>, XmlError> {
        let Some(&second) = rest.get(1) else {
            return Ok(None);
        };
        Ok(match second {
            b'/' => self.find(rest, 2, b">").map(|i| (Token::End, i + 1)),
            b'?' => self.find(rest, 2, b"?>").map(|i| (Token::Pi, i + 2)),
            b'!' => self.bang(rest)?,
            _ => self.start_tag(rest).map(|n| (Token::Start, n)),
        })
    }

    /// `<!`: a comment or CDATA section; anything else is DTD syntax.
    fn bang(&mut self, rest: &[u8]) -> Result<Option<(Token, usize)>, XmlError> {
        if rest.starts_with(COMMENT_OPEN) {
            return Ok(self.find(rest, 4, b"-->").map(|i| (Token::Comment, i + 3)));
        }
        if rest.starts_with(CDATA_OPEN) {
            return Ok(self.find(rest, 9, b"]]>").map(|i| (Token::CData, i + 3)));
        }
        if COMMENT_OPEN.starts_with(rest) || CDATA_OPEN.starts_with(rest) {
            return Ok(None);
        }
        match rest.get(2) {
            Some(b'-' | b'[') => Err(XmlError::Syntax(
                "malformed comment or CDATA section".into(),
            )),
            // <!DOCTYPE, <!ENTITY, <!ELEMENT...: no DTDs, hence no entity bombs.
            _ => Err(XmlError::Doctype),
        }
    }

    /// Finds `>` outside quoted attribute values. Only `>` and the two
    /// quotes matter, so the scan skips every other byte with one lookup.
    fn start_tag(&mut self, rest: &[u8]) -> Option<usize> {
        let mut i = self.scan.max(1);
        let mut quote = self.quote;
        while let Some(&b) = rest.get(i) {
            if TAG_MARKS[usize::from(b)] {
                if quote != 0 {
                    if b == quote {
                        quote = 0;
                    }
                } else if b == b'>' {
                    return Some(i + 1);
                } else {
                    quote = b; // one of the two quotes
                }
            }
            i += 1;
        }
        self.scan = i;
        self.quote = quote;
        None
    }

    /// The offset of `pat` in `rest`, searching from `min` or where the last
    /// search stopped. On failure remembers where to resume, backing up so a
    /// pattern split across chunks is still found.
    fn find(&mut self, rest: &[u8], min: usize, pat: &[u8]) -> Option<usize> {
        let from = self.scan.max(min);
        let hay = rest.get(from..).unwrap_or_default();
        let found = match pat {
            [one] => hay.iter().position(|b| b == one),
            _ => hay.windows(pat.len()).position(|w| w == pat),
        };
        match found {
            Some(i) => Some(from + i),
            None => {
                let back = pat.len().saturating_sub(1);
                self.scan = rest.len().saturating_sub(back).max(min);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lexes `input` fed one byte more at a time, as the parser would.
    fn tokens(input: &[u8]) -> Result<Vec<(Token, usize)>, XmlError> {
        let mut lexer = Lexer::default();
        let mut out = Vec::new();
        let mut start = 0;
        for end in 1..=input.len() {
            let rest = input.get(start..end).unwrap_or_default();
            if let Some((kind, len)) = lexer.next(rest)? {
                out.push((kind, len));
                start += len;
            }
        }
        Ok(out)
    }

    #[test]
    fn finds_every_kind_of_token() {
        let input = b"<?xml version='1.0'?><a b='>' c=\"'\">t<!-- - -- --><![CDATA[ ]] ]]>x</a>";
        let kinds: Vec<Token> = tokens(input).expect("lex").iter().map(|t| t.0).collect();
        use Token::*;
        assert_eq!(kinds, [Pi, Start, Text, Comment, CData, Text, End]);
        let lens: usize = tokens(input).expect("lex").iter().map(|t| t.1).sum();
        assert_eq!(lens, input.len());
    }

    #[test]
    fn waits_for_complete_tokens() {
        let mut lexer = Lexer::default();
        assert_eq!(lexer.next(b"<a b='>"), Ok(None));
        assert_eq!(lexer.next(b"<a b='>'>"), Ok(Some((Token::Start, 9))));
        assert_eq!(lexer.next(b"<!-"), Ok(None));
        assert_eq!(lexer.next(b"<!-->"), Ok(None));
        assert_eq!(lexer.next(b"<!---->"), Ok(Some((Token::Comment, 7))));
        assert_eq!(lexer.next(b"text"), Ok(None));
    }

    #[test]
    fn refuses_dtds() {
        assert_eq!(
            Lexer::default().next(b"<!DOCTYPE x>"),
            Err(XmlError::Doctype)
        );
        assert_eq!(Lexer::default().next(b"<!ENTITY"), Err(XmlError::Doctype));
        assert!(matches!(
            Lexer::default().next(b"<!-x"),
            Err(XmlError::Syntax(_))
        ));
    }
}
