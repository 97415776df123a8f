//! A scripted BOSH peer on 127.0.0.1: records every request (headers and
//! body) and answers each as the test's script says — for faults no real
//! server produces on demand (503s, stalls, malformed bodies, 404s).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Request {
    /// The request line's target ("/http-bind").
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Which TCP connection it came on, counted from 0 in accept order.
    pub connection: usize,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn rid(&self) -> u64 {
        let e = epode::xml::parse_element(&self.body).expect("a BOSH body");
        e.attr("rid").and_then(|r| r.parse().ok()).expect("a rid")
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (a stalled server).
    pub delay: Duration,
    /// Send the body one byte a second (a trickling server).
    pub trickle: bool,
    /// Send the body chunked (Transfer-Encoding), a few bytes a chunk.
    pub chunked: bool,
    /// Close the connection after this reply without saying so (no
    /// `Connection: close`): a server dropping an idle keep-alive.
    pub close_after: bool,
}

impl Reply {
    pub fn ok(body: &str) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
            trickle: false,
            chunked: false,
            close_after: false,
        }
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
            trickle: false,
            chunked: false,
            close_after: false,
        }
    }
}

pub type Log = Arc<Mutex<Vec<Request>>>;

/// How the peer answers: given the request and its index in the log.
type Script = Arc<dyn Fn(&Request, usize) -> Reply + Send + Sync>;

fn read_request(reader: &mut BufReader<TcpStream>, connection: usize) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    Some(Request {
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        connection,
    })
}

fn serve_connection(stream: TcpStream, connection: usize, log: Log, script: Script) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader, connection) {
        let index = {
            let mut l = log.lock().unwrap();
            l.push(req.clone());
            l.len() - 1
        };
        let reply = script(&req, index);
        std::thread::sleep(reply.delay);
        let framing = match reply.chunked {
            true => "Transfer-Encoding: chunked".to_string(),
            false => format!("Content-Length: {}", reply.body.len()),
        };
        let mut head = format!(
            "HTTP/1.1 {} X\r\nContent-Type: text/xml; charset=utf-8\r\n{framing}\r\n",
            reply.status
        );
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        let pieces: Vec<Vec<u8>> = match (reply.trickle, reply.chunked) {
            (true, _) => reply.body.bytes().map(|b| vec![b]).collect(),
            (false, true) => reply
                .body
                .as_bytes()
                .chunks(7)
                .map(|c| [format!("{:x};ext=1\r\n", c.len()).as_bytes(), c, b"\r\n"].concat())
                .chain([b"0\r\nX-Trailer: t\r\n\r\n".to_vec()])
                .collect(),
            (false, false) => vec![reply.body.as_bytes().to_vec()],
        };
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 && reply.trickle {
                std::thread::sleep(Duration::from_secs(1));
            }
            if writer.write_all(piece).is_err() {
                return;
            }
        }
        if reply.close_after {
            let _ = writer.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

/// Serves BOSH on a free loopback port until the process ends; every
/// request is logged and answered by `script(request, index)`.
pub fn serve(script: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/http-bind",
        listener.local_addr().unwrap().port()
    );
    let log: Log = Arc::new(Mutex::new(Vec::new()));
    let script: Script = Arc::new(script);
    let l = Arc::clone(&log);
    std::thread::spawn(move || {
        for (connection, stream) in listener.incoming().flatten().enumerate() {
            let (log, script) = (Arc::clone(&l), Arc::clone(&script));
            std::thread::spawn(move || serve_connection(stream, connection, log, script));
        }
    });
    (url, log)
}

/// A minimal well-behaved BOSH server: session with ANONYMOUS, restart,
/// bind, empty polls held `hold` long, terminate.
pub fn session_script(req: &Request, set_cookie: Option<&str>) -> Reply {
    let b = &req.body;
    let mut reply = if !b.contains("sid=") {
        Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind' sid='S1' wait='60' hold='1' requests='2' ver='1.6' from='localhost' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'><stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features></body>")
    } else if b.contains("<auth") {
        Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind'><success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></body>")
    } else if b.contains("xmpp:restart") {
        Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind'><stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features></body>")
    } else if b.contains("<bind") {
        let iq = epode::xml::parse_element(b).unwrap();
        let id = iq
            .child_elements()
            .next()
            .and_then(|i| i.attr("id"))
            .unwrap_or("")
            .to_string();
        Reply::ok(&format!("<body xmlns='http://jabber.org/protocol/httpbind'><iq xmlns='jabber:client' type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>anon@localhost/r</jid></bind></iq></body>"))
    } else if b.contains("terminate") {
        Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind' type='terminate'/>")
    } else {
        let mut r = Reply::ok("<body xmlns='http://jabber.org/protocol/httpbind'/>");
        r.delay = Duration::from_millis(200);
        r
    };
    if let Some(c) = set_cookie {
        reply.headers.push(("Set-Cookie".into(), c.into()));
    }
    reply
}
