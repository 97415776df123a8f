//! A private DNS server (dnsmasq, through tests/servers/dns.sh) on a free
//! loopback port, with the records a test gives it, stopped when dropped:
//! so that discovery is tested against a real server and its query log,
//! never the network.

use epode::discovery::Resolver;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One record for the server to answer with.
#[derive(Debug, Clone)]
pub enum Record<'a> {
    /// An SRV record; `target` "." is "service not offered".
    Srv {
        name: &'a str,
        target: &'a str,
        port: u16,
        priority: u16,
        weight: u16,
    },
    /// An A or AAAA record.
    Host { name: &'a str, addr: IpAddr },
}

impl<'a> Record<'a> {
    /// An SRV record (target "." for "not offered").
    pub fn srv(name: &'a str, target: &'a str, port: u16, priority: u16, weight: u16) -> Self {
        Record::Srv {
            name,
            target,
            port,
            priority,
            weight,
        }
    }
}

/// A running dnsmasq; stopped (and its directory removed) on drop.
pub struct Dns {
    dir: PathBuf,
    addr: SocketAddr,
}

fn script() -> String {
    format!("{}/tests/servers/dns.sh", env!("CARGO_MANIFEST_DIR"))
}

/// A port free on 127.0.0.1 for both UDP and TCP, as far as can be known
/// before dnsmasq binds it. It is taken from below the kernel's ephemeral
/// range: a port from that range (what binding port 0 gives) can become
/// the local end of any outgoing connection before dnsmasq binds it (the
/// other tests connect all the time), and dnsmasq then fails with
/// "Address already in use" (seen in CI).
fn free_port() -> u16 {
    static TRIES: AtomicUsize = AtomicUsize::new(0);
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (low, high) = (20_000u16, ephemeral_low.max(20_001));
    loop {
        // Spread over the range by time, process and attempt.
        let nanos = Instant::now().elapsed().as_nanos() as u64
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
        let mix = nanos
            .wrapping_add(u64::from(std::process::id()) << 20)
            .wrapping_add(TRIES.fetch_add(1, Ordering::Relaxed) as u64 * 0x9E37_79B9)
            .wrapping_mul(0x2545_F491_4F6C_DD1D);
        let port = low + ((mix >> 33) % u64::from(high - low)) as u16;
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
            && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        {
            return port;
        }
    }
}

impl Dns {
    /// Starts a server answering with `records`; every other name under
    /// .test or localhost (the test servers' domain) is NXDOMAIN. Panics (the test fails) if dnsmasq cannot start.
    pub fn start(records: &[Record]) -> Dns {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "epode-dns-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut conf = String::new();
        for record in records {
            conf += &match record {
                Record::Srv {
                    name, target: ".", ..
                } => format!("srv-host={name}\n"),
                Record::Srv {
                    name,
                    target,
                    port,
                    priority,
                    weight,
                } => format!("srv-host={name},{target},{port},{priority},{weight}\n"),
                Record::Host { name, addr } => format!("host-record={name},{addr}\n"),
            };
        }
        // dnsmasq wants a non-empty file; a comment is enough.
        conf += "# written by tests/common/dns.rs\n";
        std::fs::write(dir.join("records.conf"), conf).unwrap();
        // The port may be taken between free_port and dnsmasq's bind: try
        // another a few times.
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let out = Command::new(script())
                .arg("start")
                .arg(&dir)
                .arg(port.to_string())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script()));
            if out.status.success() {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                return Dns { dir, addr };
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
        }
        panic!(
            "dnsmasq did not start (tests/servers/dns.sh start {}): {last}",
            dir.display()
        );
    }

    /// Where it listens (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A resolver that asks only this server.
    pub fn resolver(&self) -> Resolver {
        Resolver::new()
            .dns_server(self.addr)
            .timeout(Duration::from_secs(2))
    }

    /// The query log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dnsmasq.log")).unwrap_or_default()
    }

    /// Waits (up to 5 s: dnsmasq writes its log from its event loop) until
    /// the log shows a query of `rtype` ("SRV", "A", "AAAA") for `name`.
    pub fn saw_query(&self, rtype: &str, name: &str) -> bool {
        let line = format!("query[{rtype}] {name} from 127.0.0.1");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.log().contains(&line) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let stopped = Command::new(script())
            .arg("stop")
            .arg(&self.dir)
            .output()
            .map(|o| o.status.success());
        if stopped.unwrap_or(false) {
            std::fs::remove_dir_all(&self.dir).ok();
        } else if !std::thread::panicking() {
            panic!("dnsmasq in {} did not stop", self.dir.display());
        }
    }
}
