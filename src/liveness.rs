//! The timing of a liveness check, shared by the engine (one session's
//! link) and the shared connection's worker (the socket it owns): after
//! an interval with nothing heard, a probe; nothing heard a timeout after
//! the probe, the link is dead. Anything heard is a sign of life, so a
//! busy link never gets a probe. What the probe is, and what a dead link
//! means, is the caller's business.

use std::time::{Duration, Instant};

/// What the check asks the manager to do now.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    Nothing,
    Probe,
    /// The link is silent past the bound: the text says for how long.
    Dead(String),
}

#[derive(Default)]
pub(crate) struct Watch {
    /// When the watched session came up (None: nothing to watch).
    since: Option<Instant>,
    /// When the probe that is out was sent.
    probe: Option<Instant>,
}

impl Watch {
    /// The link is up: watch it from `now`, unless it is watched already.
    pub fn start(&mut self, now: Instant) {
        self.since.get_or_insert(now);
    }

    /// Watch again from `now`, with no probe out (none could be sent).
    pub fn restart(&mut self, now: Instant) {
        self.since = Some(now);
        self.probe = None;
    }

    /// Nothing to watch any more.
    pub fn stop(&mut self) {
        self.since = None;
        self.probe = None;
    }

    /// Whether a probe is out and unanswered as far as the last check saw.
    pub fn probing(&self) -> bool {
        self.probe.is_some()
    }

    fn last_sign_of_life(&self, heard: Option<Instant>) -> Option<Instant> {
        let since = self.since?;
        Some(heard.map_or(since, |h| h.max(since)))
    }

    /// When the check next has something to do, with a probe after
    /// `interval` of silence and `timeout` for its answer.
    pub fn deadline(
        &self,
        interval: Duration,
        timeout: Duration,
        heard: Option<Instant>,
    ) -> Option<Instant> {
        let last = self.last_sign_of_life(heard)?;
        Some(match self.probe {
            Some(sent) if last <= sent => sent + timeout,
            _ => last + interval,
        })
    }

    /// Looks at the link at `now`, `heard` being the last input.
    pub fn check(
        &mut self,
        now: Instant,
        interval: Duration,
        timeout: Duration,
        heard: Option<Instant>,
    ) -> Verdict {
        let Some(last) = self.last_sign_of_life(heard) else {
            return Verdict::Nothing;
        };
        if let Some(sent) = self.probe {
            if last <= sent {
                if now < sent + timeout {
                    return Verdict::Nothing;
                }
                self.stop();
                let silent = now.saturating_duration_since(last).as_secs_f64();
                return Verdict::Dead(format!(
                    "ping-timeout: nothing heard from the server for {silent:.1} s"
                ));
            }
            self.probe = None;
        }
        if now >= last + interval {
            self.probe = Some(now);
            return Verdict::Probe;
        }
        Verdict::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const I: Duration = Duration::from_secs(10);
    const T: Duration = Duration::from_secs(3);

    #[test]
    fn silence_gets_a_probe_after_the_interval_and_is_dead_after_the_timeout() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        assert_eq!(w.deadline(I, T, None), None, "nothing watched before start");
        w.start(t0);
        assert_eq!(w.deadline(I, T, None), Some(t0 + 10 * S));
        assert_eq!(w.check(t0 + 9 * S, I, T, None), Verdict::Nothing);
        assert_eq!(w.check(t0 + 10 * S, I, T, None), Verdict::Probe);
        assert_eq!(w.deadline(I, T, None), Some(t0 + 13 * S));
        assert_eq!(w.check(t0 + 12 * S, I, T, None), Verdict::Nothing);
        assert_eq!(
            w.check(t0 + 13 * S, I, T, None),
            Verdict::Dead("ping-timeout: nothing heard from the server for 13.0 s".into())
        );
        assert_eq!(w.deadline(I, T, None), None, "a dead link is not watched");
    }

    #[test]
    fn anything_heard_answers_the_probe_and_restarts_the_interval() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        w.start(t0);
        assert_eq!(w.check(t0 + 10 * S, I, T, None), Verdict::Probe);
        let pong = t0 + 11 * S;
        assert_eq!(w.check(t0 + 12 * S, I, T, Some(pong)), Verdict::Nothing);
        assert_eq!(w.deadline(I, T, Some(pong)), Some(pong + 10 * S));
        // A busy link never gets a probe.
        assert_eq!(
            w.check(t0 + 20 * S, I, T, Some(t0 + 19 * S)),
            Verdict::Nothing
        );
    }

    #[test]
    fn start_keeps_the_watch_and_restart_begins_a_new_interval() {
        let t0 = Instant::now();
        let mut w = Watch::default();
        w.start(t0);
        w.start(t0 + 5 * S);
        assert_eq!(w.deadline(I, T, None), Some(t0 + 10 * S), "started once");
        assert_eq!(w.check(t0 + 10 * S, I, T, None), Verdict::Probe);
        assert!(w.probing());
        w.restart(t0 + 10 * S);
        assert!(!w.probing());
        assert_eq!(w.deadline(I, T, None), Some(t0 + 20 * S));
        w.stop();
        assert_eq!(w.check(t0 + 100 * S, I, T, None), Verdict::Nothing);
    }
}
