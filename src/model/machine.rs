//! The verdict state machine: probe outcomes in, state and next probe time out.
//! Hysteresis and flap damping keep a flapping leader from flapping the page; backoff
//! spaces re-probes.

use super::backoff::Backoff;
use super::offline::Cut;
use super::report::Cause;
use super::rtt::Rtt;
use super::state::{Snapshot, Source, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tuning {
    pub(crate) successes_to_up: u32,
    pub(crate) failures_to_down: u32,
    /// Re-probe period while the leader is healthy.
    pub(crate) interval_ms: u32,
    pub(crate) backoff: Backoff,
    /// Flap damping's half-life; 0 turns it off.
    pub(crate) half_life_ms: u32,
}

/// Spec §2's flap damping (after RFC 2439): the penalty one departure from `leader` adds,
/// its cap, and the thresholds that suppress a return to `leader` and allow it again.
const PENALTY: f64 = 1000.0;
const CAP: f64 = 3000.0;
const SUPPRESS: f64 = 1500.0;
const REUSE: f64 = 750.0;

/// The flap penalty as it was at the last departure from `leader`, and when (epoch ms).
/// The penalty decays from there; a penalty that was above the suppress threshold when
/// it was last raised holds the state off `leader` until it has decayed below reuse.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Damping {
    pub(crate) penalty: f64,
    pub(crate) at: f64,
}

impl Damping {
    /// The penalty at `now_ms`.
    pub(crate) fn value(&self, now_ms: f64, half_life_ms: u32) -> f64 {
        if half_life_ms == 0 || self.penalty.is_nan() || self.penalty <= 0.0 {
            return 0.0;
        }
        let halvings = (now_ms - self.at).max(0.0) / f64::from(half_life_ms);
        self.penalty * exp2_neg(-halvings)
    }

    fn depart(&mut self, now_ms: f64, half_life_ms: u32) {
        if half_life_ms != 0 {
            self.penalty = (self.value(now_ms, half_life_ms) + PENALTY).min(CAP);
            self.at = now_ms;
        }
    }

    pub(crate) fn suppressed(&self, now_ms: f64, half_life_ms: u32) -> bool {
        self.penalty > SUPPRESS && self.value(now_ms, half_life_ms) >= REUSE
    }

    /// While suppressed: in how many ms the penalty reaches the reuse threshold.
    fn reuse_in_ms(&self, now_ms: f64, half_life_ms: u32) -> Option<f64> {
        self.suppressed(now_ms, half_life_ms).then(|| {
            f64::from(half_life_ms) * log2_from_1(self.value(now_ms, half_life_ms) / REUSE)
        })
    }
}

/// 2^x for x ≤ 0, without libm's `exp2` in the wasm: 2^⌊x⌋ from the exponent bits, the
/// rest by the exponential series (its argument is below ln 2, 16 terms are exact).
fn exp2_neg(x: f64) -> f64 {
    if x.is_nan() || x <= -1000.0 {
        return 0.0;
    }
    let whole = x.min(0.0).floor();
    let y = (x.min(0.0) - whole) * std::f64::consts::LN_2;
    let (mut term, mut sum) = (1.0, 1.0);
    for k in 1..16 {
        term *= y / f64::from(k);
        sum += term;
    }
    sum * f64::from_bits(((1023 + whole as i64) as u64) << 52)
}

/// log2 r for r ≥ 1 (r < 2^64), without libm: whole halvings, then ln by the atanh series
/// (its argument is at most 1/3 there).
fn log2_from_1(mut r: f64) -> f64 {
    let mut out = 0.0;
    while r >= 2.0 && out < 64.0 {
        r /= 2.0;
        out += 1.0;
    }
    let z = (r - 1.0) / (r + 1.0);
    let (mut term, mut sum) = (z, 0.0);
    for k in 0..20u32 {
        sum += term / f64::from(2 * k + 1);
        term *= z * z;
    }
    out + 2.0 * sum / std::f64::consts::LN_2
}

/// What a client has learnt that outlives one verdict (spec §6): the round trips of its
/// good probes and the flap penalty. It travels with the cached verdict and to other tabs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Learnt {
    pub(crate) rtt: Rtt,
    pub(crate) damping: Damping,
}

/// One probe round: the leader, and the follower only when the leader failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Observation {
    LeaderUp {
        latency_ms: f64,
    },
    /// `cause`: why the leader probe failed (spec §11's reports count it).
    LeaderDown {
        follower: Follower,
        cause: Cause,
    },
}

/// The follower's probe in a round whose leader probe failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follower {
    Up,
    Down,
    /// A leader-only round (spec §8's confirmation): its failure is taken as `emergency`,
    /// and if the follower fails the read sent to it, that starts a full round.
    NotProbed,
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
    tuning: Tuning,
    snapshot: Snapshot,
    /// Consecutive good leader probes.
    ups: u32,
    /// Consecutive failed leader probes.
    downs: u32,
    /// Round trips of this client's own good leader probes (spec §8's bound).
    rtt: Rtt,
    damping: Damping,
    /// The state is `offline` because the browser said so (spec §9), not a probe round.
    cut_by_browser: bool,
}

impl Machine {
    pub(crate) fn new(tuning: Tuning) -> Self {
        Machine {
            tuning,
            snapshot: Snapshot::initial(),
            ups: 0,
            downs: 0,
            rtt: Rtt::default(),
            damping: Damping::default(),
            cut_by_browser: false,
        }
    }

    pub(crate) fn rtt(&self) -> &Rtt {
        &self.rtt
    }

    pub(crate) fn learnt(&self) -> Learnt {
        Learnt {
            rtt: self.rtt,
            damping: self.damping,
        }
    }

    /// Takes what a cached verdict or another tab learnt, where it knows more than this
    /// instance: more round trips, a later departure.
    pub(crate) fn take_learnt(&mut self, learnt: Learnt) {
        if learnt.rtt.samples() >= self.rtt.samples() {
            self.rtt = learnt.rtt;
        }
        if learnt.damping.at > self.damping.at {
            self.damping = learnt.damping;
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.snapshot
    }

    /// Applies one probe round observed at `now_ms`; `rand01` in `[0, 1)` draws the jitter.
    pub(crate) fn observe(
        &mut self,
        outcome: Observation,
        now_ms: f64,
        source: Source,
        rand01: f64,
    ) -> Step {
        let prev = self.snapshot.state;
        let half_life = self.tuning.half_life_ms;
        let held = prev != State::Leader && self.damping.suppressed(now_ms, half_life);
        let next = match outcome {
            Observation::LeaderUp { latency_ms } => {
                self.downs = 0;
                self.ups = self.ups.saturating_add(1);
                self.snapshot.leader_latency_ms = Some(latency_ms);
                self.rtt.sample(latency_ms);
                match prev {
                    // A flapping leader is held off until its penalty has decayed.
                    _ if held => State::Emergency,
                    // Leaving emergency needs several good probes in a row; leaving
                    // offline does not: the client's own network is back.
                    State::Emergency if self.ups < self.tuning.successes_to_up => State::Emergency,
                    _ => State::Leader,
                }
            }
            Observation::LeaderDown { follower, .. } => {
                self.ups = 0;
                self.downs = self.downs.saturating_add(1);
                let down = match follower {
                    Follower::Up | Follower::NotProbed => State::Emergency,
                    Follower::Down => State::Offline,
                };
                match prev {
                    State::Leader if self.downs < self.tuning.failures_to_down => State::Leader,
                    _ => down,
                }
            }
        };
        if prev == State::Leader && next != State::Leader {
            self.damping.depart(now_ms, half_life);
        }
        self.snapshot.state = next;
        self.snapshot.checked_at = Some(now_ms);
        self.snapshot.source = source;
        self.cut_by_browser = false;
        let next_probe_ms = match outcome {
            Observation::LeaderUp { .. } if next == State::Leader => self.tuning.interval_ms,
            // Held off: on the backoff schedule, and once more the moment it may end.
            Observation::LeaderUp { .. } if held => {
                let backoff = self
                    .tuning
                    .backoff
                    .delay_ms(self.ups.saturating_sub(1), rand01);
                self.damping
                    .reuse_in_ms(now_ms, half_life)
                    .map_or(backoff, |ms| backoff.min(ms.ceil() as u32 + 5))
            }
            // Confirming a recovery: soon, but jittered.
            Observation::LeaderUp { .. } => self.tuning.backoff.delay_ms(0, rand01),
            Observation::LeaderDown { .. } => self
                .tuning
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
        self.cut_by_browser = true;
        changed
    }

    /// Where the `offline` verdict came from (spec §2), or `None` in another state.
    pub(crate) fn offline_cut(&self) -> Option<Cut> {
        (self.snapshot.state == State::Offline).then_some(if self.cut_by_browser {
            Cut::Browser
        } else {
            Cut::Probes
        })
    }

    /// True when the verdict is missing or older than the probe interval: a page shown
    /// again after that long must not trust it (spec §9).
    pub(crate) fn is_stale(&self, now_ms: f64) -> bool {
        self.snapshot.fresh_for_ms(now_ms, self.tuning.interval_ms) <= 0.0
    }

    /// Takes a verdict that did not come from this client's own probe (the cache, a peer tab).
    /// Returns true when the state changed.
    pub(crate) fn adopt(&mut self, snapshot: Snapshot) -> bool {
        let changed = snapshot.state != self.snapshot.state;
        self.snapshot = snapshot;
        self.ups = 0;
        self.downs = 0;
        // Another tab's or the cache's `offline` came from probes: the event is this page's.
        self.cut_by_browser = false;
        changed
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// A fake clock: every observation happens 1000 ms after the previous one.
    struct Clock(f64);
    impl Clock {
        fn tick(&mut self) -> f64 {
            self.0 += 1000.0;
            self.0
        }
    }

    fn tuning(up: u32, down: u32) -> Tuning {
        Tuning {
            successes_to_up: up,
            failures_to_down: down,
            interval_ms: 15_000,
            backoff: Backoff {
                base_ms: 1000,
                max_ms: 60_000,
            },
            half_life_ms: 30_000,
        }
    }

    const UP: Observation = Observation::LeaderUp { latency_ms: 12.0 };
    const DOWN: Observation = Observation::LeaderDown {
        follower: Follower::Up,
        cause: Cause::Timeout,
    };
    const DARK: Observation = Observation::LeaderDown {
        follower: Follower::Down,
        cause: Cause::Network,
    };

    fn run(m: &mut Machine, clock: &mut Clock, outcomes: &[Observation]) -> Vec<State> {
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
            let mut m = Machine::new(tuning(2, 3));
            let step = m.observe(o, c.tick(), Source::Probe, 0.5);
            assert_eq!(step.snapshot.state, want);
            assert!(step.changed);
            assert_eq!(step.snapshot.checked_at, Some(c.0));
        }
    }

    #[test]
    fn hysteresis_on_the_way_up_and_down() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(tuning(2, 2));
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
        let mut m = Machine::new(tuning(3, 1));
        let states = run(&mut m, &mut c, &[DOWN, UP, DOWN, UP, UP, DOWN, UP, UP]);
        assert!(states.iter().all(|s| *s == State::Emergency), "{states:?}");
        assert_eq!(run(&mut m, &mut c, &[UP]), [State::Leader]);
    }

    #[test]
    fn offline_and_emergency_are_told_apart_by_the_follower() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(tuning(2, 1));
        use State::*;
        assert_eq!(
            run(&mut m, &mut c, &[UP, DARK, DOWN, DARK, UP]),
            [Leader, Offline, Emergency, Offline, Leader]
        );
    }

    #[test]
    fn the_browsers_offline_is_told_from_a_probes_offline() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(tuning(2, 1));
        assert_eq!(m.offline_cut(), None);
        m.go_offline(c.tick());
        assert_eq!(m.offline_cut(), Some(Cut::Browser));
        // A round that still finds neither side makes it the probes' offline.
        run(&mut m, &mut c, &[DARK]);
        assert_eq!(m.offline_cut(), Some(Cut::Probes));
        m.go_offline(c.tick());
        assert_eq!(m.offline_cut(), Some(Cut::Browser));
        run(&mut m, &mut c, &[UP]);
        assert_eq!(m.offline_cut(), None);
        run(&mut m, &mut c, &[DARK]);
        assert_eq!(m.offline_cut(), Some(Cut::Probes));
    }

    #[test]
    fn probe_schedule() {
        let mut c = Clock(0.0);
        let mut m = Machine::new(tuning(2, 1));
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
        let mut m = Machine::new(tuning(1, 1));
        assert_eq!(m.snapshot().leader_latency_ms, None);
        m.observe(
            Observation::LeaderUp { latency_ms: 7.0 },
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
        let mut m = Machine::new(tuning(3, 1));
        run(&mut m, &mut c, &[UP]);
        assert!(m.go_offline(c.tick()));
        assert_eq!(m.snapshot().state, State::Offline);
        assert!(!m.go_offline(c.tick()), "already offline");
        // Leaving offline does not need successesToUp: the client's network is back.
        assert_eq!(run(&mut m, &mut c, &[UP]), [State::Leader]);
    }

    #[test]
    fn a_verdict_is_stale_after_the_interval() {
        let mut m = Machine::new(tuning(2, 1));
        assert!(m.is_stale(0.0), "no verdict yet");
        m.observe(UP, 1000.0, Source::Probe, 0.5);
        assert!(!m.is_stale(15_999.0));
        assert!(m.is_stale(16_000.0));
    }

    #[test]
    fn adopting_a_cached_verdict() {
        let mut m = Machine::new(tuning(2, 1));
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

    #[test]
    fn the_series_match_libm() {
        for x in [0.0, -0.25, -0.5, -1.0, -1.333, -7.9, -40.0] {
            assert!((exp2_neg(x) - x.exp2()).abs() <= x.exp2() * 1e-12, "{x}");
        }
        assert_eq!(exp2_neg(-2000.0), 0.0);
        assert_eq!(exp2_neg(f64::NAN), 0.0);
        for r in [1.0, 1.2, 1.999, 2.0, 2.52, 4.0, 1e6] {
            assert!((log2_from_1(r) - r.log2()).abs() < 1e-10, "{r}");
        }
    }

    #[test]
    fn the_damping_curve() {
        let h = 30_000;
        let mut d = Damping::default();
        assert_eq!(d.value(0.0, h), 0.0);
        d.depart(0.0, h);
        let near = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(near(d.value(0.0, h), 1000.0));
        assert!(near(d.value(30_000.0, h), 500.0), "one half-life");
        assert!(near(d.value(60_000.0, h), 250.0), "two");
        assert!(!d.suppressed(0.0, h), "a single outage is never damped");
        // A second departure 5 s later: 1000 · 2^(-1/6) + 1000 ≈ 1890.9, above suppress.
        d.depart(5_000.0, h);
        assert!(near(
            d.value(5_000.0, h),
            1000.0 * 0.5f64.powf(1.0 / 6.0) + 1000.0
        ));
        assert!(d.suppressed(5_000.0, h));
        // Held until it decays below 750: 30 s · log2(1890.9 / 750) ≈ 40.0 s later.
        let reuse = d.reuse_in_ms(5_000.0, h).unwrap();
        let want = 30_000.0 * (d.value(5_000.0, h) / 750.0).log2();
        assert!(
            (reuse - want).abs() < 1e-6 && (reuse - 40_023.0).abs() < 1.0,
            "{reuse}"
        );
        assert!(d.suppressed(5_000.0 + reuse - 1.0, h));
        assert!(!d.suppressed(5_000.0 + reuse + 1.0, h));
        assert_eq!(d.reuse_in_ms(5_000.0 + reuse + 1.0, h), None);
        // Capped at 3000: then two half-lives to reuse, at most.
        for i in 0..10 {
            d.depart(6_000.0 + f64::from(i), h);
        }
        assert!(near(d.value(6_009.0, h), 3000.0));
        assert!((d.reuse_in_ms(6_009.0, h).unwrap() - 60_000.0).abs() < 1.0);
        // Half-life 0: no damping.
        let mut off = Damping::default();
        for i in 0..5 {
            off.depart(f64::from(i), 0);
        }
        assert!(!off.suppressed(5.0, 0));
    }

    /// The line of the real-network suite: up and down every 2.5 s, six times each, then
    /// up. The client probes on the landing page's schedule (`www/config.json`: interval
    /// 3 s, backoff to 4 s) and, while on the leader, a read every 500 ms finds the leader
    /// down at once (a failed read triggers a probe).
    fn flap(half_life_ms: u32) -> (Vec<(f64, State)>, f64) {
        let settle = 30_000.0;
        let up = |t: f64| t >= settle || ((t / 2500.0).floor() as i64) % 2 == 0;
        let mut m = Machine::new(Tuning {
            half_life_ms,
            interval_ms: 3000,
            backoff: Backoff {
                base_ms: 1000,
                max_ms: 4000,
            },
            ..tuning(2, 1)
        });
        let mut changes = vec![];
        let mut t = 0.0;
        while t < 200_000.0 {
            let o = if up(t) { UP } else { DOWN };
            let step = m.observe(o, t, Source::Probe, 0.5);
            if step.changed {
                changes.push((t, step.snapshot.state));
            }
            let mut next = f64::from(step.next_probe_ms);
            if step.snapshot.state == State::Leader {
                next = next.min(500.0);
            }
            t += next.max(1.0);
        }
        (changes, settle)
    }

    #[test]
    fn a_flapping_line_is_held_on_the_follower_then_let_back() {
        let (changes, settle) = flap(30_000);
        // After the first verdict (unknown → leader): at most 3 state changes while the
        // line flaps (out, back after a single outage, out and held), then one back.
        let during = changes
            .iter()
            .filter(|(t, _)| *t > 0.0 && *t < settle)
            .count();
        assert!(during <= 3, "{changes:?}");
        assert_eq!(changes.len(), 1 + during + 1, "{changes:?}");
        let (back, state) = *changes.last().unwrap();
        assert_eq!(state, State::Leader);
        assert!(back > settle && back - settle <= 60_000.0, "{changes:?}");
        println!(
            "half-life 30 s: {changes:?}; back on the leader {} s after the line settled",
            (back - settle) / 1000.0
        );
        // Without damping the page follows the line.
        let (undamped, settle) = flap(0);
        let during = undamped
            .iter()
            .filter(|(t, _)| *t > 0.0 && *t < settle)
            .count();
        assert!(during >= 5, "{undamped:?}");
        println!("half-life 0: {during} state changes while the line flapped");
    }

    #[test]
    fn held_off_probes_come_at_the_latest_when_the_penalty_reaches_reuse() {
        let mut m = Machine::new(tuning(1, 1));
        let mut at = vec![];
        for (t, o) in [(0.0, UP), (100.0, DOWN), (200.0, UP), (300.0, DOWN)] {
            at.push(m.observe(o, t, Source::Probe, 0.5).snapshot.state);
        }
        assert_eq!(
            at,
            [
                State::Leader,
                State::Emergency,
                State::Leader,
                State::Emergency
            ]
        );
        let reuse = m.damping.reuse_in_ms(300.0, 30_000).unwrap();
        let mut t = 300.0;
        let mut probes = 0;
        loop {
            let step = m.observe(UP, t, Source::Probe, 0.999);
            if step.snapshot.state == State::Leader {
                break;
            }
            probes += 1;
            assert!(t + f64::from(step.next_probe_ms) <= 300.0 + reuse + 10.0);
            t += f64::from(step.next_probe_ms);
        }
        assert!(
            t >= 300.0 + reuse && t <= 300.0 + reuse + 10.0,
            "{t} vs {reuse}"
        );
        assert!(probes <= 8, "on the backoff schedule: {probes}");
    }

    #[test]
    fn what_was_learnt_is_taken_by_a_new_instance() {
        let mut a = Machine::new(tuning(1, 1));
        let mut c = Clock(0.0);
        run(&mut a, &mut c, &[UP, DOWN, UP, DOWN, UP, UP]);
        let mut b = Machine::new(tuning(1, 1));
        b.take_learnt(a.learnt());
        assert_eq!(b.learnt(), a.learnt());
        assert!(b.damping.suppressed(c.0, 30_000));
        // A penalty taken holds a new instance off the leader too.
        assert_eq!(run(&mut b, &mut c, &[UP]), [State::Emergency]);
        // An older penalty and fewer samples are not taken: this instance has left the
        // leader once (a penalty) and has more samples than what it is offered.
        let mut c = Clock(1_000_000.0);
        let mut fresh = Machine::new(tuning(1, 1));
        run(&mut fresh, &mut c, &[UP, UP, UP, UP, DOWN, UP]);
        let mine = fresh.learnt();
        assert_eq!(mine.damping.penalty, PENALTY);
        let older = Learnt {
            rtt: a.learnt().rtt,
            damping: Damping {
                penalty: CAP,
                at: mine.damping.at - 1.0,
            },
        };
        assert!(older.rtt.samples() < mine.rtt.samples());
        fresh.take_learnt(older);
        assert_eq!(fresh.learnt(), mine);
    }

    #[test]
    fn a_leader_only_round_that_fails_is_taken_as_emergency() {
        let not_probed = Observation::LeaderDown {
            follower: Follower::NotProbed,
            cause: Cause::Status(503),
        };
        let mut m = Machine::new(tuning(1, 1));
        let mut c = Clock(0.0);
        assert_eq!(
            run(&mut m, &mut c, &[UP, not_probed]),
            [State::Leader, State::Emergency]
        );
        assert_eq!(m.rtt().samples(), 1);
    }
}
