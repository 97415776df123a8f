//! A TCP proxy on loopback that a test controls: it forwards to a real
//! server and can cut every link at once (both ends see the TCP close, as
//! on a network failure), swallow what the client sends (a stalled
//! link whose data never arrives), or black-hole every link (a dead NAT
//! path: nothing passes either way, and no FIN or RST tells anyone).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Proxy {
    pub port: u16,
    links: Arc<Mutex<Vec<TcpStream>>>,
    swallow: Arc<AtomicBool>,
    refuse: Arc<AtomicBool>,
    blackhole: Arc<AtomicBool>,
}

impl Proxy {
    /// Forwards 127.0.0.1:<new port> to 127.0.0.1:`target`.
    pub fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let port = listener.local_addr().unwrap().port();
        let links: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let swallow = Arc::new(AtomicBool::new(false));
        let refuse = Arc::new(AtomicBool::new(false));
        let blackhole = Arc::new(AtomicBool::new(false));
        let (l, s, r, b) = (
            Arc::clone(&links),
            Arc::clone(&swallow),
            Arc::clone(&refuse),
            Arc::clone(&blackhole),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if r.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the link close at once
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut links = l.lock().unwrap();
                    links.push(client.try_clone().unwrap());
                    links.push(server.try_clone().unwrap());
                }
                pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    Some(Arc::clone(&s)),
                    Arc::clone(&b),
                );
                pump(server, client, None, Arc::clone(&b));
            }
        });
        Proxy {
            port,
            links,
            swallow,
            refuse,
            blackhole,
        }
    }

    /// A proxy to `server`'s HTTP port (BOSH and WebSocket).
    pub fn to_http_of(server: &super::Server) -> Proxy {
        Proxy::start(
            server
                .var("XMPP_HTTP_PORT")
                .parse()
                .expect("XMPP_HTTP_PORT"),
        )
    }

    /// `url` with its port replaced by the proxy's.
    pub fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
        format!("{scheme}://{host}:{}/{path}", self.port)
    }

    /// Cuts every link now.
    pub fn cut(&self) {
        for s in self.links.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// From now on, what clients send is dropped instead of forwarded.
    pub fn swallow(&self, on: bool) {
        self.swallow.store(on, Ordering::SeqCst);
    }

    /// From now on nothing passes, either way, on any link (new ones
    /// included), and a side that closes its end is not heard of: the
    /// bytes are dropped, as a dead path loses them. Off again, traffic
    /// passes; a link that lost bytes meanwhile is corrupt, as it would be.
    pub fn blackhole(&self, on: bool) {
        self.blackhole.store(on, Ordering::SeqCst);
    }

    /// From now on, new links are closed as soon as they open (an outage).
    pub fn refuse(&self, on: bool) {
        self.refuse.store(on, Ordering::SeqCst);
    }

    /// How many links are open.
    pub fn links(&self) -> usize {
        self.links.lock().unwrap().len() / 2
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    swallow: Option<Arc<AtomicBool>>,
    blackhole: Arc<AtomicBool>,
) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                // A close into a black hole reaches nobody: the other end
                // stays open, as the peer of a dead path does.
                Ok(0) | Err(_) if blackhole.load(Ordering::SeqCst) => return,
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let dropped = swallow.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
                        || blackhole.load(Ordering::SeqCst);
                    if dropped {
                        continue;
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
        std::thread::sleep(Duration::from_millis(1));
    });
}
