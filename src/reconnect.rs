//! When to reconnect and how long to wait: exponential backoff with jitter
//! (the first retry comes quickly), bounded by `maxRetries`.

use std::time::Duration;

/// The wait before attempt `attempt` (1-based): `base` doubled for each
/// earlier attempt, capped at `max`, then scaled by a random factor in
/// [0.5, 1) (`jitter` in [0, 1)) so that many clients cut off together do
/// not come back together.
pub fn delay(attempt: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(30);
    let full = base.saturating_mul(1u32 << doublings).min(max);
    full.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// A random number in [0, 1) from the OS source.
pub fn jitter() -> f64 {
    let bytes = crate::sasl::random::bytes(4).unwrap_or_else(|_| vec![0; 4]);
    let n = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    f64::from(n) / (f64::from(u32::MAX) + 1.0)
}

/// Stream errors after which coming back makes sense: the server went
/// down or reset the link. Others (conflict, policy-violation,
/// not-authorized …) are the server's will, and reconnecting would fight it.
pub fn worth_retrying(stream_error: &str) -> bool {
    matches!(
        stream_error,
        "system-shutdown" | "connection-timeout" | "reset" | "internal-server-error"
    )
}

/// A transport's failure (a BOSH terminate or give-up, a lost link) after
/// which coming back makes sense: all but the conditions that are the
/// server's will. A `conflict` (another login took the resource) answered
/// by reconnecting would have two clients displace each other for ever.
pub fn worth_coming_back(condition: &str) -> bool {
    !matches!(
        condition,
        "conflict"
            | "policy-violation"
            | "not-authorized"
            | "host-unknown"
            | "bad-request"
            | "improper-addressing"
            | "see-other-uri"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_cap_with_jitter_below_it() {
        let (base, max) = (Duration::from_millis(250), Duration::from_secs(30));
        let longest = delay(1, base, max, 0.999_999);
        assert!(
            longest < base && longest > Duration::from_millis(249),
            "{longest:?}"
        );
        assert_eq!(delay(1, base, max, 0.0), Duration::from_millis(125));
        assert_eq!(delay(3, base, max, 0.0), Duration::from_millis(500));
        assert_eq!(delay(20, base, max, 0.0), Duration::from_secs(15));
        assert_eq!(delay(u32::MAX, base, max, 0.0), Duration::from_secs(15));
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }

    #[test]
    fn only_outages_are_worth_retrying() {
        assert!(worth_retrying("system-shutdown"));
        assert!(!worth_retrying("conflict"));
        assert!(!worth_retrying("policy-violation"));
    }
}
