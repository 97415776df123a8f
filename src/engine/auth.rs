//! One SASL exchange as a step machine: it starts with the `<auth/>` to
//! send, then takes each element the server answers with and says what to
//! do — send a response, restart the stream, or fail with a condition.
//! It holds the mechanism and nothing of the engine, so it is tested here
//! without a connection; the engine (negotiation.rs) drives it.

use crate::sasl::{self, Credentials, Mechanism};
use crate::xml::ns;
use crate::xml::Element;

/// A SASL exchange under way.
pub(super) struct SaslExchange {
    mech: Box<dyn Mechanism>,
}

/// What the server's element asks for.
#[derive(Debug, PartialEq)]
pub(super) enum SaslStep {
    /// Not part of the exchange (another namespace, an unknown element).
    Ignored,
    /// Send this and wait for the server's next element.
    Reply(Element),
    /// Authenticated (and, for SCRAM, the server proved it knows the
    /// password): the stream restarts.
    Success,
    /// We end the exchange: the server's data was malformed or its proof
    /// wrong. AUTHFAIL with this condition.
    Refused(String),
    /// The server's `<failure/>`: AUTHFAIL with its condition, and the
    /// element goes along.
    Rejected(String),
}

/// The mechanisms a `<stream:features/>` offers, in the server's order.
pub(super) fn offered(features: &Element) -> Vec<String> {
    features
        .find_child("mechanisms", Some(ns::SASL))
        .map(|m| {
            m.find_children("mechanism", None)
                .map(|e| e.text().trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

impl SaslExchange {
    /// Starts `mech`: the `<auth/>` to send (with the initial response of
    /// a client-first mechanism), or why it cannot start.
    pub fn start(
        mut mech: Box<dyn Mechanism>,
        creds: &Credentials,
    ) -> Result<(SaslExchange, Element), String> {
        let mut auth = Element::new("auth");
        auth.set_attr("xmlns", ns::SASL);
        auth.set_attr("mechanism", mech.name());
        let initial = if mech.is_client_first() {
            mech.start(creds)
        } else {
            Ok(None)
        };
        match initial {
            Ok(Some(bytes)) if bytes.is_empty() => auth.append_text("="),
            Ok(Some(bytes)) => auth.append_text(sasl::encode(&bytes)),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        Ok((SaslExchange { mech }, auth))
    }

    /// The server's next element.
    pub fn step(&mut self, creds: &Credentials, elem: &Element) -> SaslStep {
        if elem.attr("xmlns") != Some(ns::SASL) {
            return SaslStep::Ignored;
        }
        let decoded = match elem.text().trim() {
            "" | "=" => Ok(Vec::new()),
            text => sasl::decode(text),
        };
        let Ok(decoded) = decoded else {
            return SaslStep::Refused("malformed-request".into());
        };
        match elem.local_name() {
            "challenge" => match self.mech.challenge(creds, &decoded) {
                Ok(response) => {
                    let mut r = Element::new("response");
                    r.set_attr("xmlns", ns::SASL);
                    if !response.is_empty() {
                        r.append_text(sasl::encode(&response));
                    }
                    SaslStep::Reply(r)
                }
                Err(e) => SaslStep::Refused(e.to_string()),
            },
            "success" => {
                let additional = (!decoded.is_empty()).then_some(decoded.as_slice());
                match self.mech.success(creds, additional) {
                    Ok(()) => SaslStep::Success,
                    Err(e) => SaslStep::Refused(e.to_string()),
                }
            }
            "failure" => SaslStep::Rejected(
                elem.child_elements()
                    .find(|c| c.local_name() != "text")
                    .map(|c| c.local_name().to_string())
                    .unwrap_or_else(|| "not-authorized".to_string()),
            ),
            _ => SaslStep::Ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::mechanism_by_name;

    fn creds() -> Credentials {
        Credentials::from_jid("alice@localhost/res", Some("alice-pass"), None)
    }

    fn el(xml: &str) -> Element {
        xml.parse().unwrap()
    }

    fn start(name: &str) -> (SaslExchange, Element) {
        SaslExchange::start(mechanism_by_name(name).unwrap(), &creds()).unwrap()
    }

    const SASL: &str = "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'";

    #[test]
    fn offered_mechanisms_in_order() {
        let features = el(&format!(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
             <mechanisms {SASL}><mechanism> PLAIN </mechanism>\
             <mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"
        ));
        assert_eq!(offered(&features), ["PLAIN", "SCRAM-SHA-1"]);
        assert!(offered(&el("<stream:features xmlns:stream='s'/>")).is_empty());
    }

    #[test]
    fn plain_sends_its_initial_response_and_succeeds() {
        let (mut x, auth) = start("PLAIN");
        assert_eq!(auth.attr("mechanism"), Some("PLAIN"));
        assert_eq!(auth.attr("xmlns"), Some(ns::SASL));
        let sent = sasl::decode(&auth.text()).unwrap();
        // No authzid: it is the bare JID the server derives anyway.
        assert_eq!(sent, b"\0alice\0alice-pass");
        let step = x.step(&creds(), &el(&format!("<success {SASL}/>")));
        assert_eq!(step, SaslStep::Success);
    }

    #[test]
    fn initial_responses_empty_and_absent() {
        // EXTERNAL with nothing to add sends "=": an empty response.
        let mut me = creds();
        me.authcid = Some(me.authzid.clone());
        let mech = mechanism_by_name("EXTERNAL").unwrap();
        let (_, auth) = SaslExchange::start(mech, &me).unwrap();
        assert_eq!(auth.text(), "=");
        // ANONYMOUS is server-first: <auth/> carries nothing.
        let anon = Credentials::from_jid("anon.localhost", None, None);
        let mech = mechanism_by_name("ANONYMOUS").unwrap();
        let (_, auth) = SaslExchange::start(mech, &anon).unwrap();
        assert!(auth.children().is_empty(), "{auth:?}");
    }

    #[test]
    fn failure_carries_the_servers_condition() {
        let (mut x, _) = start("PLAIN");
        let failure = el(&format!(
            "<failure {SASL}><text>no</text><not-authorized/></failure>"
        ));
        let step = x.step(&creds(), &failure);
        assert_eq!(step, SaslStep::Rejected("not-authorized".into()));
        let bare = el(&format!("<failure {SASL}/>"));
        let step = x.step(&creds(), &bare);
        assert_eq!(step, SaslStep::Rejected("not-authorized".into()));
    }

    #[test]
    fn other_elements_are_ignored() {
        let (mut x, _) = start("PLAIN");
        let iq = el("<iq type='result' id='1'/>");
        assert_eq!(x.step(&creds(), &iq), SaslStep::Ignored);
        let odd = el(&format!("<odd {SASL}/>"));
        assert_eq!(x.step(&creds(), &odd), SaslStep::Ignored);
    }

    #[test]
    fn malformed_base64_is_refused() {
        let (mut x, _) = start("SCRAM-SHA-1");
        let bad = el(&format!("<challenge {SASL}>%%%</challenge>"));
        let step = x.step(&creds(), &bad);
        assert_eq!(step, SaslStep::Refused("malformed-request".into()));
    }

    #[test]
    fn scram_answers_a_challenge_and_checks_the_server() {
        let (mut x, auth) = start("SCRAM-SHA-1");
        let first = String::from_utf8(sasl::decode(&auth.text()).unwrap()).unwrap();
        let nonce = first.split("r=").nth(1).unwrap();
        let server_first = format!("r={nonce}server,s=QSXCR+Q6sek8bf92,i=4096");
        let challenge = el(&format!(
            "<challenge {SASL}>{}</challenge>",
            sasl::encode(server_first.as_bytes())
        ));
        let SaslStep::Reply(response) = x.step(&creds(), &challenge) else {
            panic!("no response to the challenge");
        };
        assert_eq!(response.name(), "response");
        let final_msg = String::from_utf8(sasl::decode(&response.text()).unwrap()).unwrap();
        assert!(final_msg.contains(",p="), "{final_msg}");
        // A success without the server's proof is never a login.
        let success = el(&format!("<success {SASL}/>"));
        assert!(matches!(x.step(&creds(), &success), SaslStep::Refused(_)));
    }

    #[test]
    fn a_challenge_out_of_place_is_refused() {
        let (mut x, _) = start("SCRAM-SHA-1");
        let challenge = el(&format!(
            "<challenge {SASL}>{}</challenge>",
            sasl::encode(b"r=someone-elses-nonce,s=QSXCR+Q6sek8bf92,i=4096")
        ));
        assert!(matches!(x.step(&creds(), &challenge), SaslStep::Refused(_)));
    }
}
