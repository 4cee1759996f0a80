//! The verdict state machine: probe outcomes in, state and next probe time out.
//! Hysteresis keeps a flapping leader from flapping the page; backoff spaces re-probes.

use super::backoff::Backoff;
use super::rtt::Rtt;
use super::state::{Snapshot, Source, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) successes_to_up: u32,
    pub(crate) failures_to_down: u32,
    /// Re-probe period while the leader is healthy.
    pub(crate) interval_ms: u32,
    pub(crate) backoff: Backoff,
}

/// One probe round: the leader, and the follower only when the leader failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    LeaderUp { latency_ms: f64 },
    LeaderDown { follower_up: bool },
}

/// What one observation did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Step {
    pub(crate) snapshot: Snapshot,
    pub(crate) changed: bool,
    /// When to probe next, from now.
    pub(crate) next_probe_ms: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Machine {
    policy: Policy,
    snapshot: Snapshot,
    /// Consecutive good leader probes.
    ups: u32,
    /// Consecutive failed leader probes.
    downs: u32,
    /// Round trips of this client's own good leader probes (spec §8's bound).
    rtt: Rtt,
}

impl Machine {
    pub(crate) fn new(policy: Policy) -> Self {
        Machine {
            policy,
            snapshot: Snapshot::initial(),
            ups: 0,
            downs: 0,
            rtt: Rtt::default(),
        }
    }

    pub(crate) fn rtt(&self) -> &Rtt {
        &self.rtt
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.snapshot
    }

    /// Applies one probe round observed at `now_ms`; `rand01` in `[0, 1)` draws the jitter.
    pub(crate) fn observe(
        &mut self,
        outcome: Outcome,
        now_ms: f64,
        source: Source,
        rand01: f64,
    ) -> Step {
        let prev = self.snapshot.state;
        let next = match outcome {
            Outcome::LeaderUp { latency_ms } => {
                self.downs = 0;
                self.ups = self.ups.saturating_add(1);
                self.snapshot.leader_latency_ms = Some(latency_ms);
                self.rtt.sample(latency_ms);
                match prev {
                    // Leaving emergency needs several good probes in a row; leaving
                    // offline does not: the client's own network is back.
                    State::Emergency if self.ups < self.policy.successes_to_up => State::Emergency,
                    _ => State::Leader,
                }
            }
            Outcome::LeaderDown { follower_up } => {
                self.ups = 0;
                self.downs = self.downs.saturating_add(1);
                let down = if follower_up {
                    State::Emergency
                } else {
                    State::Offline
                };
                match prev {
                    State::Leader if self.downs < self.policy.failures_to_down => State::Leader,
                    _ => down,
                }
            }
        };
        self.snapshot.state = next;
        self.snapshot.checked_at = Some(now_ms);
        self.snapshot.source = source;
        let next_probe_ms = match outcome {
            Outcome::LeaderUp { .. } if next == State::Leader => self.policy.interval_ms,
            // Confirming a recovery: soon, but jittered.
            Outcome::LeaderUp { .. } => self.policy.backoff.delay_ms(0, rand01),
            Outcome::LeaderDown { .. } => self
                .policy
                .backoff
                .delay_ms(self.downs.saturating_sub(1), rand01),
        };
        Step {
            snapshot: self.snapshot,
            changed: next != prev,
            next_probe_ms,
        }
    }

    /// The browser says it has no network (spec §9): `offline` at once, without a probe.
    /// Returns true when the state changed.
    pub(crate) fn go_offline(&mut self, now_ms: f64) -> bool {
        let changed = self.snapshot.state != State::Offline;
        self.snapshot.state = State::Offline;
        self.snapshot.checked_at = Some(now_ms);
        self.snapshot.source = Source::Probe;
        self.ups = 0;
        self.downs = 0;
        changed
    }

    /// True when the verdict is missing or older than the probe interval: a page shown
    /// again after that long must not trust it (spec §9).
    pub(crate) fn is_stale(&self, now_ms: f64) -> bool {
        self.snapshot
            .checked_at
            .is_none_or(|t| now_ms - t >= f64::from(self.policy.interval_ms))
    }

    /// Takes a verdict that did not come from this client's own probe (the cache, a peer tab).
    /// Returns true when the state changed.
    pub(crate) fn adopt(&mut self, snapshot: Snapshot) -> bool {
        let changed = snapshot.state != self.snapshot.state;
        self.snapshot = snapshot;
        self.ups = 0;
        self.downs = 0;
        changed
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// A fake clock: every observation happens `step` ms after the previous one.
    struct Clock(f64);
    impl Clock {
        fn tick(&mut self) -> f64 {
            self.0 += 1000.0;
            self.0
        }
    }

    fn policy(up: u32, down: u32) -> Policy {
        Policy {
            successes_to_up: up,
            failures_to_down: down,
            interval_ms: 15_000,
            backoff: Backoff {
                base_ms: 1000,
                max_ms: 60_000,
            },
        }
    }

    const UP: Outcome = Outcome::LeaderUp { latency_ms: 12.0 };
    const DOWN: Outcome = Outcome::LeaderDown { follower_up: true };
    const DARK: Outcome = Outcome::LeaderDown { follower_up: false };

    fn run(m: &mut Machine, clock: &mut Clock, outcomes: &[Outcome]) -> Vec<State> {
        outcomes
            .iter()
            .map(|o| {
                m.observe(*o, clock.tick(), Source::Probe, 0.5)
                    .snapshot
                    .state
            })
            .collect()
    }

    #[test]
    fn first_probe_decides_from_unknown() {
        let mut c = Clock(0.0);
        for (o, want) in [
            (UP, State::Leader),
            (DOWN, State::Emergency),
            (DARK, State::Offline),
        ] {
            let mut m = Machine::new(policy(2, 3));
            let step = m.observe(o, c.tick(), Source::Probe, 0.5);
            assert_eq!(step.snapshot.state, want);
            assert!(step.changed);
            assert_eq!(step.snapshot.checked_at, Some(c.0));
        }
    }

    #[test]
    fn hysteresis_on_the_way_up_and_down() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(policy(2, 2));
        use State::*;
        assert_eq!(
            run(
                &mut m,
                &mut c,
                &[UP, DOWN, UP, DOWN, DOWN, UP, DOWN, UP, UP, UP]
            ),
            [
                Leader, Leader, Leader, Leader, Emergency, Emergency, Emergency, Emergency, Leader,
                Leader
            ]
        );
    }

    #[test]
    fn a_flapping_leader_does_not_flap_the_page() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(policy(3, 1));
        let states = run(&mut m, &mut c, &[DOWN, UP, DOWN, UP, UP, DOWN, UP, UP]);
        assert!(states.iter().all(|s| *s == State::Emergency), "{states:?}");
        assert_eq!(run(&mut m, &mut c, &[UP]), [State::Leader]);
    }

    #[test]
    fn offline_and_emergency_are_told_apart_by_the_follower() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(policy(2, 1));
        use State::*;
        assert_eq!(
            run(&mut m, &mut c, &[UP, DARK, DOWN, DARK, UP]),
            [Leader, Offline, Emergency, Offline, Leader]
        );
    }

    #[test]
    fn probe_schedule() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(policy(2, 1));
        assert_eq!(
            m.observe(UP, c.tick(), Source::Probe, 0.0).next_probe_ms,
            15_000
        );
        // Down: backoff from 1 s doubling to the cap, each within [ceiling/2, ceiling].
        let mut ceilings = vec![];
        for _ in 0..9 {
            let lo = m.observe(DOWN, c.tick(), Source::Probe, 0.0).next_probe_ms;
            ceilings.push(lo * 2);
        }
        assert_eq!(
            ceilings,
            [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
        );
        // A first good probe out of emergency is confirmed soon, not after the interval.
        let step = m.observe(UP, c.tick(), Source::Probe, 0.999);
        assert_eq!(step.snapshot.state, State::Emergency);
        assert!(step.next_probe_ms <= 1000);
        let step = m.observe(UP, c.tick(), Source::Probe, 0.5);
        assert_eq!(step.snapshot.state, State::Leader);
        assert_eq!(step.next_probe_ms, 15_000);
    }

    #[test]
    fn latency_is_the_last_good_probe() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(policy(1, 1));
        assert_eq!(m.snapshot().leader_latency_ms, None);
        m.observe(
            Outcome::LeaderUp { latency_ms: 7.0 },
            c.tick(),
            Source::Probe,
            0.5,
        );
        let s = m.observe(DOWN, c.tick(), Source::Request, 0.5).snapshot;
        assert_eq!(s.leader_latency_ms, Some(7.0));
        assert_eq!(s.source, Source::Request);
    }

    #[test]
    fn the_browser_going_offline_needs_no_probe_and_coming_back_one_good_probe() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(policy(3, 1));
        run(&mut m, &mut c, &[UP]);
        assert!(m.go_offline(c.tick()));
        assert_eq!(m.snapshot().state, State::Offline);
        assert!(!m.go_offline(c.tick()), "already offline");
        // Leaving offline does not need successesToUp: the client's network is back.
        assert_eq!(run(&mut m, &mut c, &[UP]), [State::Leader]);
    }

    #[test]
    fn a_verdict_is_stale_after_the_interval() {
        let mut m = Machine::new(policy(2, 1));
        assert!(m.is_stale(0.0), "no verdict yet");
        m.observe(UP, 1000.0, Source::Probe, 0.5);
        assert!(!m.is_stale(15_999.0));
        assert!(m.is_stale(16_000.0));
    }

    #[test]
    fn adopting_a_cached_verdict() {
        let mut m = Machine::new(policy(2, 1));
        let cached = Snapshot {
            state: State::Emergency,
            leader_latency_ms: None,
            checked_at: Some(5.0),
            source: Source::Cache,
        };
        assert!(m.adopt(cached));
        assert_eq!(m.snapshot(), cached);
        // Still needs two good probes to leave emergency.
        let mut c = Clock(10.0);
        assert_eq!(
            run(&mut m, &mut c, &[UP, UP]),
            [State::Emergency, State::Leader]
        );
    }
}
