//! ureq's TLS settings from the options' `ca_file` and
//! `accept_invalid_certs`, for the host-meta lookup (XEP-0156); BOSH has
//! its own client (transport/bosh/client.rs). As for wss and TCP, a
//! `ca_file` is the only trust (curl's --cacert), and without one the
//! platform's roots are.

use crate::error::{Error, Result};
use std::path::Path;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// The TLS configuration for an HTTPS agent.
pub(crate) fn tls_config(ca_file: Option<&Path>, accept_invalid_certs: bool) -> Result<TlsConfig> {
    let mut tls = TlsConfig::builder().provider(TlsProvider::NativeTls);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            Error::io_from(format!("cannot read ca_file {}: {e}", path.display()), e)
        })?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| Error::tls_from(format!("ca_file {}: {e}", path.display()), e))?;
        tls = tls.root_certs(RootCerts::new_with_certs(&[cert.to_owned()]));
    } else {
        tls = tls.root_certs(RootCerts::PlatformVerifier);
    }
    if accept_invalid_certs {
        tls = tls.disable_verification(true);
    }
    Ok(tls.build())
}
