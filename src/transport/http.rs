//! The HTTP client of the BOSH workers: ureq, with one addition — the
//! worker learns when its request has been written out completely, so the
//! engine can hold the next rid until then. BOSH requests travel on
//! separate connections; without this, two requests sent together can
//! overtake each other and a server then waits for the missing rid
//! (ejabberd stalled on it; a packet capture showed the overtaking).

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

thread_local! {
    /// Run once when the current request is fully written (per worker thread).
    static ON_WRITTEN: RefCell<Option<Box<dyn FnOnce()>>> = const { RefCell::new(None) };
}

/// Arms the signal for the request the calling thread is about to send.
pub(crate) fn on_request_written(f: impl FnOnce() + 'static) {
    ON_WRITTEN.with(|w| *w.borrow_mut() = Some(Box::new(f)));
}

/// Disarms it (the request failed before it was written).
pub(crate) fn clear_request_written() {
    ON_WRITTEN.with(|w| w.borrow_mut().take());
}

fn fire_written() {
    if let Some(f) = ON_WRITTEN.with(|w| w.borrow_mut().take()) {
        f();
    }
}

/// An agent whose transports report when a request has been written.
pub(crate) fn agent(config: ureq::config::Config) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        DefaultConnector::new().chain(Signalling),
        LiteralsFirst::default(),
    )
}

/// ureq's resolver starts a thread for every lookup, to bound its time,
/// even for an IP address, which needs no lookup: a thread per request,
/// and one that could outlive a freed connection by a moment. Addresses
/// are taken as they are; names go to ureq's resolver.
#[derive(Debug, Default)]
struct LiteralsFirst(DefaultResolver);

impl Resolver for LiteralsFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match literal_address(uri) {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => self.0.resolve(uri, config, timeout),
        }
    }
}

/// The socket address of a URI whose host is an IP address.
fn literal_address(uri: &Uri) -> Option<SocketAddr> {
    let authority = uri.authority()?;
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port = authority.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

#[derive(Debug)]
struct Signalling;

impl Connector<Box<dyn Transport>> for Signalling {
    type Out = SignallingTransport;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| SignallingTransport { inner }))
    }
}

#[derive(Debug)]
struct SignallingTransport {
    inner: Box<dyn Transport>,
}

impl Transport for SignallingTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.inner.transmit_output(amount, timeout)
    }

    /// ureq waits for input only once the whole request is out.
    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        fire_written();
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::literal_address;

    #[test]
    fn ip_addresses_need_no_lookup_names_do() {
        let addr = |u: &str| literal_address(&u.parse().unwrap()).map(|a| a.to_string());
        assert_eq!(
            addr("http://127.0.0.1:5280/bosh").as_deref(),
            Some("127.0.0.1:5280")
        );
        assert_eq!(
            addr("https://127.0.0.1/bosh").as_deref(),
            Some("127.0.0.1:443")
        );
        assert_eq!(addr("http://[::1]:5280/").as_deref(), Some("[::1]:5280"));
        assert_eq!(addr("http://localhost:5280/"), None);
        assert_eq!(addr("http://example.com/"), None);
    }
}
