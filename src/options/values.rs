//! The text of one option's value, by kind: booleans, whole numbers and
//! finite numbers in a range, durations in milliseconds, paths, with the
//! bounds they share. Each error names the key, the value and what it
//! must be, so that every option reports a bad value the same way.

use crate::error::{Error, Result};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

pub(super) fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::InvalidArgument(format!(
            "{key} must be true or false, not {value:?}"
        ))),
    }
}

/// A whole number in `range` (a count of `unit`), or an error that names
/// the key, the value and the range: negative, fractional, empty and
/// too-large text all fail the same way.
pub(super) fn int_in<T: TryFrom<u64>>(
    key: &str,
    value: &str,
    range: RangeInclusive<u64>,
    unit: &str,
) -> Result<T> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{key} must be a whole number of {unit} from {} to {}, not {value:?}",
                range.start(),
                range.end()
            ))
        })
}

/// A finite number in `range` (NaN and the infinities are never in it).
pub(super) fn float_in(key: &str, value: &str, range: RangeInclusive<f64>) -> Result<f64> {
    value
        .parse::<f64>()
        .ok()
        .filter(|x| range.contains(x))
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{key} must be a finite number from {:?} to {:?}, not {value:?}",
                range.start(),
                range.end()
            ))
        })
}

// Durations stop at a day: no timeout or delay a program means is longer,
// and deadlines (now + d) stay far from overflowing.
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Milliseconds from `min` to a day.
pub(super) fn parse_ms(key: &str, value: &str, min: u64) -> Result<Duration> {
    int_in(key, value, min..=DAY_MS, "milliseconds").map(Duration::from_millis)
}

/// The shortest liveness interval and timeout.
pub(super) const MIN_PING: Duration = Duration::from_secs(1);

// Byte limits: at least 1 KiB, or not even stream features or a bind
// result fit; at most 1 GiB, which no stanza or backlog needs.
pub(super) const BYTES: RangeInclusive<u64> = 1024..=1 << 30;

/// A path, or None for "" (what `get` gives for an unset one): no file
/// is named "", and Some("") would fail only later, at connect.
pub(super) fn path_or_none(value: &str) -> Option<PathBuf> {
    Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty())
}

/// A DNS server as IPv4 address and port (`127.0.0.1:5353`); empty: the
/// system's. IPv6 is refused: glibc's resolver state takes an IPv4 server
/// in the one slot that can be set without its private extension.
pub(super) fn parse_dns_server(key: &str, value: &str) -> Result<Option<std::net::SocketAddr>> {
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<std::net::SocketAddr>() {
        Ok(addr @ std::net::SocketAddr::V4(_)) if addr.port() != 0 => Ok(Some(addr)),
        _ => Err(Error::InvalidArgument(format!(
            "{key} must be an IPv4 address and port such as 127.0.0.1:53, not {value:?}"
        ))),
    }
}
