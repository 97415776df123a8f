//! The HTTP client of the BOSH workers: ureq, with one addition — the
//! worker learns when its request has been written out completely, so the
//! engine can hold the next rid until then. BOSH requests travel on
//! separate connections; without this, two requests sent together can
//! overtake each other and a server then waits for the missing rid
//! (ejabberd stalled on it; a packet capture showed the overtaking).

use std::cell::RefCell;
use ureq::unversioned::resolver::DefaultResolver;
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
        DefaultResolver::default(),
    )
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
