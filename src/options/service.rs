//! Which transport a service URL selects (seed 003's rules): the worker
//! option first, then the URL's scheme or the `protocol` option, otherwise
//! BOSH, with a relative path resolved against `origin`.

use super::Options;
use crate::error::{Error, Result};

/// Which transport a connection uses, with its absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportKind {
    WebSocket { url: String },
    Bosh { url: String },
    Shared { worker: String, url: String },
}

fn scheme_of(url: &str) -> Option<String> {
    let (scheme, _) = url.split_once("://")?;
    Some(scheme.to_ascii_lowercase())
}

/// Applies seed 003's rules: worker first, then ws/wss scheme or `protocol`,
/// otherwise BOSH. A relative path is resolved against `origin`, and an
/// https origin never downgrades (ws → wss, http → https).
pub fn select_transport(service: &str, options: &Options) -> Result<TransportKind> {
    let url = resolve_service(service, options)?;
    let scheme = scheme_of(&url).unwrap_or_default();
    let is_ws = scheme == "ws" || scheme == "wss";
    if let Some(worker) = &options.worker {
        if !is_ws {
            return Err(Error::InvalidArgument(format!(
                "the worker option needs a WebSocket service, not {url:?} (seed 000)"
            )));
        }
        return Ok(TransportKind::Shared {
            worker: worker.clone(),
            url,
        });
    }
    match scheme.as_str() {
        "ws" | "wss" => Ok(TransportKind::WebSocket { url }),
        "http" | "https" => Ok(TransportKind::Bosh { url }),
        other => Err(Error::InvalidArgument(format!(
            "unsupported service scheme {other:?}"
        ))),
    }
}

fn resolve_service(service: &str, options: &Options) -> Result<String> {
    if service.is_empty() {
        return Err(Error::InvalidArgument("service URL is empty".into()));
    }
    if let Some(scheme) = scheme_of(service) {
        // Absolute: keep it, with the scheme in lower case.
        let rest = &service[scheme.len()..];
        return Ok(format!("{scheme}{rest}"));
    }
    if !service.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "service {service:?} is neither an absolute URL nor a path starting with '/'"
        )));
    }
    let origin = options.origin.as_deref().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "service {service:?} is relative: set the origin option (e.g. https://example.com)"
        ))
    })?;
    let origin_scheme = scheme_of(origin).ok_or_else(|| {
        Error::InvalidArgument(format!("origin {origin:?} is not an absolute URL"))
    })?;
    let secure = matches!(origin_scheme.as_str(), "https" | "wss");
    let host = origin[origin_scheme.len() + 3..]
        .split('/')
        .next()
        .unwrap_or_default();
    if host.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "origin {origin:?} has no host"
        )));
    }
    let scheme = match (options.protocol.as_deref(), secure) {
        (Some("wss"), _) | (Some(_), true) => "wss",
        (Some(_), false) => "ws",
        (None, true) => "https",
        (None, false) => "http",
    };
    Ok(format!("{scheme}://{host}{service}"))
}
