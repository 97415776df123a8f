//! A scripted XMPP-over-WebSocket peer on 127.0.0.1, for what no real
//! server does on demand (other SASL mechanisms, tampered signatures,
//! malformed streams, odd close codes).
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;
use tungstenite::handshake::server::{Request, Response};
use tungstenite::{Message, WebSocket};

pub const FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";

pub struct Peer {
    pub ws: WebSocket<TcpStream>,
}

impl Peer {
    /// The next text message from the client (panics on anything else).
    pub fn recv(&mut self) -> String {
        loop {
            match self.ws.read().expect("client message") {
                Message::Text(t) => return t.to_string(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    pub fn send(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .expect("send to client");
    }

    /// Answers the client's <open/> with ours.
    pub fn open(&mut self) {
        let open = self.recv();
        assert!(open.starts_with("<open"), "expected <open/>, got {open}");
        self.send(&format!(
            "<open xmlns='{FRAMING}' from='localhost' id='s1' version='1.0' xml:lang='en'/>"
        ));
    }

    pub fn features(&mut self, mechanisms: &[&str]) {
        let mechs: String = mechanisms
            .iter()
            .map(|m| format!("<mechanism>{m}</mechanism>"))
            .collect();
        self.send(&format!(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='{SASL}'>{mechs}</mechanisms></stream:features>"
        ));
    }

    /// The stream opened and the client's PLAIN auth accepted.
    pub fn authenticate(&mut self) {
        self.open();
        self.features(&["PLAIN"]);
        let _auth = self.recv();
        self.send(&format!("<success xmlns='{SASL}'/>"));
    }

    /// The whole login of a client: stream, PLAIN accepted, bind as `jid`.
    pub fn log_in(&mut self, jid: &str) {
        self.authenticate();
        self.bind(jid);
    }

    /// After SASL success: the restarted stream, bind, CONNECTED.
    pub fn bind(&mut self, jid: &str) {
        self.bind_offering(jid, "");
    }

    /// `bind`, with `features` (e.g. `<sm xmlns='urn:xmpp:sm:3'/>`) offered
    /// beside `<bind/>`.
    pub fn bind_offering(&mut self, jid: &str, features: &str) {
        self.open();
        self.send(&format!("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{features}</stream:features>"));
        let iq = self.recv();
        let id = attr(&iq, "id");
        self.send(&format!(
            "<iq xmlns='jabber:client' type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{jid}</jid></bind></iq>"
        ));
    }
}

/// The value of attribute `name` in a serialized element (test helper).
pub fn attr(xml: &str, name: &str) -> String {
    let e = epode::xml::parse_element(xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    e.attr(name).unwrap_or_default().to_string()
}

/// The text of a serialized element.
pub fn text(xml: &str) -> String {
    epode::xml::parse_element(xml).unwrap().text()
}

/// Listens on a free loopback port; `script` runs with the accepted peer.
/// Returns the ws:// URL and the thread (join it to see the script's panics).
#[allow(clippy::result_large_err)] // tungstenite's callback signature
pub fn with_xmpp_protocol(
    req: &Request,
    mut resp: Response,
) -> Result<Response, tungstenite::handshake::server::ErrorResponse> {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| format!("{}: {}", k.as_str(), v.to_str().unwrap_or("")))
        .collect();
    HANDSHAKES.lock().unwrap().push(headers);
    resp.headers_mut()
        .insert("Sec-WebSocket-Protocol", "xmpp".parse().unwrap());
    Ok(resp)
}

/// The handshake request headers ("name: value") of every client accepted
/// in this test process; tests run in parallel, so it only ever grows.
pub static HANDSHAKES: std::sync::Mutex<Vec<Vec<String>>> = std::sync::Mutex::new(Vec::new());

pub fn serve(script: impl FnOnce(&mut Peer) + Send + 'static) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "ws://127.0.0.1:{}/ws",
        listener.local_addr().unwrap().port()
    );
    let thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let ws = tungstenite::accept_hdr(stream, with_xmpp_protocol).unwrap();
        let mut peer = Peer { ws };
        script(&mut peer);
        // Linger, so the client reads what was sent before the socket goes.
        std::thread::sleep(Duration::from_millis(300));
        drop(peer);
    });
    (url, thread)
}
