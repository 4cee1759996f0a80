//! Spec §11: what this browser saw of an outage. An episode opens at the first failed
//! leader probe, counts what the page met while it lasts, and closes into one report when
//! the verdict returns to `leader`; reports wait in a short queue until the leader takes
//! them. Like `machine.rs` it only decides: time and randomness come in, and
//! `engine/mod.rs` carries it out.
//!
//! The live episode is a short array of numbers that travels with the cached verdict and
//! the tabs' messages (`cache::Entry`), so every tab counts into one episode and a reload
//! keeps it; the same array read back is checked, as anything in Web Storage is.

use super::machine::{Follower, Observation};
use super::state::{Snapshot, State};
use serde::Serialize;

/// Why a leader probe failed (spec §11's causes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// No answer within the probe's deadline.
    Timeout,
    /// No answer: refused, reset, DNS, CORS.
    Network,
    /// An answer outside 2xx (0: a redirect, which `fetch` makes opaque).
    Status(u16),
    /// A 2xx with an unexpected body or from elsewhere (a captive portal).
    Body,
}

/// What a page met during an episode, besides its failed probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Met {
    /// A critical read the follower answered.
    FollowerRead,
    /// A read or write refused `LEADER_UNAVAILABLE`.
    LeaderUnavailable,
    /// A write refused `OUTCOME_UNKNOWN`.
    OutcomeUnknown,
    /// A request made to the follower (a probe too).
    FollowerRequest,
}

// The positions in an episode's array; the status counts follow as (code, count) pairs.
const STARTED: usize = 0;
const TIMEOUT: usize = 1;
const NETWORK: usize = 2;
const BODY: usize = 3;
const FOLLOWER_READS: usize = 4;
const LEADER_UNAVAILABLE: usize = 5;
const OUTCOME_UNKNOWN: usize = 6;
const FOLLOWER_REQUESTS: usize = 7;
/// The median leader round trip before it, or -1 when none was known.
const RTT: usize = 8;
/// 1 once the verdict has been `emergency`: before that it is failed probes only.
const EMERGENCY: usize = 9;
const FIXED: usize = 10;
/// Distinct statuses counted; a later one is not (an answer is a few hundred bytes).
const MAX_STATUSES: usize = 16;
/// Good leader round trips remembered for the median.
const RTT_SAMPLES: usize = 5;

/// The live episode: its id (the report's, and its idempotency key) and its numbers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Episode {
    pub(crate) id: String,
    pub(crate) numbers: Vec<f64>,
}

impl Episode {
    /// An episode as another tab or the cache holds it, when its numbers are sound.
    pub(crate) fn read(id: Option<String>, numbers: Option<Vec<f64>>) -> Option<Episode> {
        let (id, numbers) = (id?, numbers?);
        let sound = numbers.len() >= FIXED
            && numbers.len() <= FIXED + 2 * MAX_STATUSES
            && numbers.len() % 2 == 0
            && numbers.iter().all(|n| n.is_finite() && *n >= -1.0)
            && !id.is_empty()
            && id.len() <= 64;
        sound.then_some(Episode { id, numbers })
    }

    fn get(&self, at: usize) -> f64 {
        self.numbers.get(at).copied().unwrap_or(0.0)
    }

    fn set(&mut self, at: usize, value: f64) {
        if let Some(n) = self.numbers.get_mut(at) {
            *n = value;
        }
    }

    fn add(&mut self, at: usize) {
        if let Some(n) = self.numbers.get_mut(at) {
            *n += 1.0;
        }
    }

    fn seen_emergency(&self) -> bool {
        self.get(EMERGENCY) > 0.0
    }

    fn failed(&mut self, cause: Cause) {
        let code = match cause {
            Cause::Timeout => return self.add(TIMEOUT),
            Cause::Network => return self.add(NETWORK),
            Cause::Body => return self.add(BODY),
            Cause::Status(code) => f64::from(code),
        };
        self.count_status(code, 1.0, |n, by| n + by);
    }

    /// Adds `by` to the count of `code` with `how` (a new code starts at `by`).
    fn count_status(&mut self, code: f64, by: f64, how: impl Fn(f64, f64) -> f64) {
        let pairs = self.numbers.get_mut(FIXED..).unwrap_or_default();
        for pair in pairs.chunks_exact_mut(2) {
            if let [c, n] = pair {
                if *c == code {
                    *n = how(*n, by);
                    return;
                }
            }
        }
        if self.numbers.len() < FIXED + 2 * MAX_STATUSES {
            self.numbers.extend([code, by]);
        }
    }

    /// Takes in what another tab counted of the same episode: the larger of each count.
    fn merge(&mut self, other: &Episode) {
        for (mine, theirs) in self.numbers.iter_mut().zip(&other.numbers).take(FIXED) {
            *mine = mine.max(*theirs);
        }
        for pair in other
            .numbers
            .get(FIXED..)
            .unwrap_or_default()
            .chunks_exact(2)
        {
            if let [code, n] = pair {
                self.count_status(*code, *n, f64::max);
            }
        }
    }
}

/// The report of spec §11, as the leader's endpoint takes it (docs/api.md).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report<'a> {
    id: &'a str,
    started_at: f64,
    duration_ms: f64,
    probes: Probes<'a>,
    follower_reads: f64,
    leader_unavailable: f64,
    outcome_unknown: f64,
    follower_requests: f64,
    rtt_ms: Option<f64>,
    version: &'static str,
    sample_rate: f64,
}

#[derive(Debug, Serialize)]
struct Probes<'a> {
    timeout: f64,
    network: f64,
    /// `[status, count]` pairs.
    status: Vec<&'a [f64]>,
    body: f64,
}

impl<'a> Report<'a> {
    /// The report of `episode`, closed at `now_ms`.
    pub(crate) fn new(episode: &'a Episode, now_ms: f64, sample_rate: f64) -> Report<'a> {
        let e = episode;
        let started = e.get(STARTED);
        let rtt = e.get(RTT);
        let pairs = e.numbers.get(FIXED..).unwrap_or_default();
        Report {
            id: &e.id,
            started_at: started,
            duration_ms: (now_ms - started).max(0.0).round(),
            probes: Probes {
                timeout: e.get(TIMEOUT),
                network: e.get(NETWORK),
                status: pairs.chunks_exact(2).collect(),
                body: e.get(BODY),
            },
            follower_reads: e.get(FOLLOWER_READS),
            leader_unavailable: e.get(LEADER_UNAVAILABLE),
            outcome_unknown: e.get(OUTCOME_UNKNOWN),
            follower_requests: e.get(FOLLOWER_REQUESTS),
            rtt_ms: (rtt >= 0.0).then_some(rtt),
            version: env!("CARGO_PKG_VERSION"),
            sample_rate,
        }
    }
}

/// This instance's part in spec §11: the live episode and the round trips before it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Episodes {
    /// Reports are on (`reports.path` is set): only then does an episode open.
    on: bool,
    /// `reports.sampleRate`.
    sample_rate: f64,
    live: Option<Episode>,
    /// The last good leader round trips while the verdict was `leader`, oldest first.
    rtts: Vec<f64>,
}

impl Episodes {
    pub(crate) fn new(on: bool, sample_rate: f64) -> Episodes {
        Episodes {
            on,
            sample_rate,
            ..Episodes::default()
        }
    }

    pub(crate) fn live(&self) -> Option<&Episode> {
        self.live.as_ref()
    }

    /// A good leader probe while the verdict is `leader`, this tab's or another's.
    pub(crate) fn leader_rtt(&mut self, ms: f64) {
        if self.rtts.len() == RTT_SAMPLES {
            self.rtts.remove(0);
        }
        self.rtts.push(ms);
    }

    /// The median of the remembered round trips, whole ms; -1 with none.
    fn median(&self) -> f64 {
        let n = self.rtts.len();
        let mut middle = Vec::new();
        for x in &self.rtts {
            let below = self.rtts.iter().filter(|y| *y < x).count();
            let upto = self.rtts.iter().filter(|y| *y <= x).count();
            // `x` sits at sorted positions below..upto; the middle one(s) are n/2 (and
            // (n-1)/2 when n is even).
            if (below..upto).contains(&(n / 2)) || (below..upto).contains(&((n - 1) / 2)) {
                middle.push(*x);
            }
        }
        let (lo, hi) = middle
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(*x), hi.max(*x))
            });
        if middle.is_empty() {
            -1.0
        } else {
            ((lo + hi) / 2.0).round()
        }
    }

    /// A probe round of this instance's own, at `now_ms`, and the verdict it reached.
    /// Returns the closed episode when the verdict came back to `leader` and `rand01`
    /// (in `[0, 1)`) samples it.
    pub(crate) fn observed(
        &mut self,
        outcome: Observation,
        state: State,
        now_ms: f64,
        rand01: f64,
        new_id: impl FnOnce() -> String,
    ) -> Option<Episode> {
        match outcome {
            Observation::LeaderUp { latency_ms } if state == State::Leader => {
                self.leader_rtt(latency_ms)
            }
            Observation::LeaderUp { .. } => {}
            Observation::LeaderDown { follower, cause } => {
                if self.on {
                    let rtt = self.median();
                    let episode = self.live.get_or_insert_with(|| {
                        let mut episode = Episode {
                            id: new_id(),
                            numbers: vec![0.0; FIXED],
                        };
                        episode.set(STARTED, now_ms.round());
                        episode.set(RTT, rtt);
                        episode
                    });
                    episode.failed(cause);
                }
                if follower != Follower::NotProbed {
                    self.met(Met::FollowerRequest);
                }
                if state == State::Leader {
                    // Failed probes below `hysteresis.failuresToDown`: the episode may yet begin.
                    return None;
                }
            }
        }
        if state != State::Leader {
            self.verdict(state);
            return None;
        }
        let closed = self.live.take()?;
        (closed.seen_emergency() && rand01 < self.sample_rate).then_some(closed)
    }

    /// The verdict is now `state` (this tab's own, the browser's `offline`): `emergency`
    /// makes the episode one; an `offline` before it was one ends it (spec §11: the
    /// visitor's own network is not the operator's outage); `leader` ends it unreported.
    pub(crate) fn verdict(&mut self, state: State) {
        let seen = self.live.as_ref().is_some_and(Episode::seen_emergency);
        match state {
            State::Emergency => {
                if let Some(e) = &mut self.live {
                    e.set(EMERGENCY, 1.0);
                }
            }
            State::Offline if !seen => self.live = None,
            State::Leader => self.live = None,
            _ => {}
        }
    }

    /// What another tab (or the cache) holds: counts of the same episode are merged
    /// whatever the verdict they came with.
    pub(crate) fn merge(&mut self, told: Option<&Episode>) {
        if let (Some(mine), Some(told)) = (&mut self.live, told) {
            if mine.id == told.id {
                mine.merge(told);
            }
        }
    }

    /// A verdict taken from another tab or the cache, with the episode it carried: that
    /// episode is the live one (another tab closed ours when it carries none to `leader`).
    pub(crate) fn took(&mut self, told: Option<Episode>, verdict: &Snapshot) {
        match (&mut self.live, told) {
            (Some(mine), Some(e)) if mine.id == e.id => mine.merge(&e),
            (_, Some(e)) => self.live = Some(e),
            (_, None) => self.verdict(verdict.state),
        }
        if let (State::Leader, Some(ms)) = (verdict.state, verdict.leader_latency_ms) {
            self.leader_rtt(ms);
        }
    }

    /// Counts what the page met, into the live episode. True when there is one (it then
    /// changed and is worth telling the other tabs).
    pub(crate) fn met(&mut self, what: Met) -> bool {
        let at = match what {
            Met::FollowerRead => FOLLOWER_READS,
            Met::LeaderUnavailable => LEADER_UNAVAILABLE,
            Met::OutcomeUnknown => OUTCOME_UNKNOWN,
            Met::FollowerRequest => FOLLOWER_REQUESTS,
        };
        self.live.as_mut().map(|e| e.add(at)).is_some()
    }
}

/// A report waiting to be sent: its id and its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) id: String,
    pub(crate) json: String,
}

/// Queues `report` to send, oldest first, keeping at most `max` (the oldest dropped).
pub(crate) fn keep(queue: &mut Vec<Kept>, report: Kept, max: u32) {
    queue.push(report);
    trim(queue, max);
}

/// Drops the oldest reports beyond `max`.
pub(crate) fn trim(queue: &mut Vec<Kept>, max: u32) {
    let over = queue.len().saturating_sub(max as usize);
    queue.drain(..over);
}

/// Whether a sent report is done with, from the leader's answer: any answer but a
/// server's failure or a rate limit (sent again later); `None`, no answer, keeps it too.
pub(crate) fn delivered(status: Option<u16>) -> bool {
    status.is_some_and(|s| s < 500 && s != 429)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::model::cache::Entry;
    use crate::model::machine::Learnt;
    use crate::model::path::Base;
    use crate::model::state::Source;
    use serde_json::json;

    /// A fake clock and a counter for ids: each round is one second after the last.
    struct World {
        now: f64,
        ids: u32,
    }

    impl World {
        fn new() -> World {
            World {
                now: 1_700_000_000_000.0,
                ids: 0,
            }
        }

        /// One probe round of `tab`'s own that reached `state`.
        fn round(
            &mut self,
            tab: &mut Episodes,
            outcome: Observation,
            state: State,
        ) -> Option<Episode> {
            self.now += 1000.0;
            self.ids += 1;
            let id = format!("id-{}", self.ids);
            tab.observed(outcome, state, self.now, 0.5, || id)
        }
    }

    fn up(ms: f64) -> Observation {
        Observation::LeaderUp { latency_ms: ms }
    }

    /// The leader probe failed with `cause`, the follower answered.
    fn down(cause: Cause) -> Observation {
        Observation::LeaderDown {
            follower: Follower::Up,
            cause,
        }
    }

    /// Neither answered.
    fn dark(cause: Cause) -> Observation {
        Observation::LeaderDown {
            follower: Follower::Down,
            cause,
        }
    }

    fn on() -> Episodes {
        Episodes::new(true, 1.0)
    }

    fn report(e: &Episode, now: f64) -> serde_json::Value {
        serde_json::to_value(Report::new(e, now, 1.0)).unwrap()
    }

    #[test]
    fn an_episode_counts_its_causes_and_closes_into_one_report() {
        let (mut w, mut tab) = (World::new(), on());
        for ms in [40.0, 10.0, 30.0, 20.0] {
            assert_eq!(w.round(&mut tab, up(ms), State::Leader), None);
        }
        let start = w.now + 1000.0;
        for cause in [
            Cause::Timeout,
            Cause::Status(502),
            Cause::Network,
            Cause::Status(503),
            Cause::Status(502),
            Cause::Body,
            Cause::Timeout,
            Cause::Status(0),
        ] {
            assert_eq!(w.round(&mut tab, down(cause), State::Emergency), None);
        }
        assert!(tab.met(Met::FollowerRead));
        assert!(tab.met(Met::FollowerRead));
        assert!(tab.met(Met::LeaderUnavailable));
        assert!(tab.met(Met::OutcomeUnknown));
        assert!(tab.met(Met::FollowerRequest));
        // Hysteresis: a good probe that keeps `emergency` does not close it, nor is its
        // round trip one of "before".
        assert_eq!(w.round(&mut tab, up(999.0), State::Emergency), None);
        let closed = w
            .round(&mut tab, up(15.0), State::Leader)
            .expect("a report");
        assert_eq!(closed.id, "id-5", "the id drawn when it opened");
        assert_eq!(
            report(&closed, w.now),
            json!({
                "id": "id-5", "startedAt": start, "durationMs": 9000.0,
                "probes": {"timeout": 2.0, "network": 1.0, "status": [[502.0, 2.0], [503.0, 1.0], [0.0, 1.0]], "body": 1.0},
                "followerReads": 2.0, "leaderUnavailable": 1.0, "outcomeUnknown": 1.0,
                // Eight rounds probed the follower, and one read went there.
                "followerRequests": 9.0,
                // The median of 10, 20, 30, 40.
                "rttMs": 25.0, "version": env!("CARGO_PKG_VERSION"), "sampleRate": 1.0
            })
        );
        assert!(tab.live().is_none());
        assert!(
            !tab.met(Met::FollowerRead),
            "nothing is counted between episodes"
        );
        assert_eq!(
            w.round(&mut tab, up(15.0), State::Leader),
            None,
            "one report only"
        );
    }

    #[test]
    fn the_median_round_trip_is_of_the_last_five_and_null_without_any() {
        let (mut w, mut tab) = (World::new(), on());
        assert_eq!(tab.median(), -1.0);
        for ms in [900.0, 7.0, 3.0, 5.0, 5.0, 100.0] {
            w.round(&mut tab, up(ms), State::Leader);
        }
        assert_eq!(tab.median(), 5.0, "900 has left the window");
        let mut fresh = on();
        w.round(&mut fresh, down(Cause::Timeout), State::Emergency);
        let closed = w.round(&mut fresh, up(5.0), State::Leader).unwrap();
        assert_eq!(report(&closed, w.now)["rttMs"], json!(null));
    }

    #[test]
    fn an_offline_client_is_not_an_episode() {
        let (mut w, mut tab) = (World::new(), on());
        // Leader, then both sides dark (the visitor's own network), then back.
        w.round(&mut tab, up(5.0), State::Leader);
        assert_eq!(
            w.round(&mut tab, dark(Cause::Network), State::Offline),
            None
        );
        assert!(tab.live().is_none());
        assert!(!tab.met(Met::FollowerRequest));
        assert_eq!(w.round(&mut tab, up(5.0), State::Leader), None);
        // The browser's own `offline` event, after a failed probe below the threshold.
        w.round(&mut tab, down(Cause::Timeout), State::Leader);
        assert!(tab.live().is_some());
        tab.verdict(State::Offline);
        assert!(tab.live().is_none());
        assert_eq!(w.round(&mut tab, up(5.0), State::Leader), None);
        // An episode that was one stays one through an `offline` spell.
        w.round(&mut tab, down(Cause::Timeout), State::Emergency);
        tab.verdict(State::Offline);
        w.round(&mut tab, dark(Cause::Timeout), State::Offline);
        assert!(w.round(&mut tab, up(5.0), State::Leader).is_some());
    }

    #[test]
    fn failed_probes_below_the_threshold_are_no_episode() {
        let (mut w, mut tab) = (World::new(), on());
        // failuresToDown 3: two failures keep `leader`, then a good probe.
        w.round(&mut tab, down(Cause::Timeout), State::Leader);
        w.round(&mut tab, down(Cause::Timeout), State::Leader);
        assert!(tab.live().is_some());
        assert_eq!(w.round(&mut tab, up(5.0), State::Leader), None);
        assert!(tab.live().is_none());
        // Three: the episode starts at the first of them, and counts each.
        let first = w.now + 1000.0;
        w.round(&mut tab, down(Cause::Timeout), State::Leader);
        w.round(&mut tab, down(Cause::Timeout), State::Leader);
        w.round(&mut tab, down(Cause::Timeout), State::Emergency);
        let closed = w.round(&mut tab, up(5.0), State::Leader).unwrap();
        let r = report(&closed, w.now);
        assert_eq!(r["startedAt"], json!(first));
        assert_eq!(r["probes"]["timeout"], json!(3.0));
        assert_eq!(r["followerRequests"], json!(3.0));
    }

    #[test]
    fn reports_off_open_no_episode() {
        let (mut w, mut tab) = (World::new(), Episodes::new(false, 1.0));
        w.round(&mut tab, down(Cause::Timeout), State::Emergency);
        assert!(tab.live().is_none());
        assert!(!tab.met(Met::FollowerRead));
        assert_eq!(w.round(&mut tab, up(5.0), State::Leader), None);
    }

    #[test]
    fn episodes_are_sampled_at_random() {
        for (rate, rand01, kept) in [
            (0.0, 0.0, false),
            (1.0, 0.999_999, true),
            (0.25, 0.249, true),
            (0.25, 0.25, false),
        ] {
            let mut tab = Episodes::new(true, rate);
            let id = || "x".to_string();
            let outcome = down(Cause::Timeout);
            tab.observed(outcome, State::Emergency, 1.0, rand01, id);
            let closed = tab.observed(up(5.0), State::Leader, 2.0, rand01, id);
            assert_eq!(closed.is_some(), kept, "rate {rate}, drawn {rand01}");
            assert!(
                tab.live().is_none(),
                "an unsampled episode ends all the same"
            );
        }
    }

    fn verdict(state: State) -> Snapshot {
        Snapshot {
            state,
            leader_latency_ms: None,
            checked_at: Some(1000.0),
            source: Source::Peer,
        }
    }

    /// What travels between tabs and through a reload: the cached verdict's entry as JSON.
    fn through_entry(e: Option<&Episode>, state: State) -> Option<Episode> {
        let leader = Base::parse("leader", "http://127.0.0.1:8081", false).unwrap();
        let entry = Entry::new(&leader, &verdict(state), Learnt::default(), e).unwrap();
        let text = serde_json::to_string(&entry).unwrap();
        serde_json::from_str::<Entry>(&text).unwrap().episode()
    }

    #[test]
    fn five_tabs_count_into_one_episode_and_one_of_them_reports_it() {
        let mut w = World::new();
        let mut tabs: Vec<Episodes> = (0..5).map(|_| on()).collect();
        // Tab 0 probes and finds the leader down; the others take its verdict.
        w.round(&mut tabs[0], down(Cause::Timeout), State::Emergency);
        let told = through_entry(tabs[0].live(), State::Emergency);
        for tab in &mut tabs[1..] {
            tab.took(told.clone(), &verdict(State::Emergency));
        }
        // Each tab serves a read from the follower and tells the others its count.
        for i in 0..5 {
            assert!(tabs[i].met(Met::FollowerRead));
            let told = through_entry(tabs[i].live(), State::Emergency);
            for tab in &mut tabs {
                tab.merge(told.as_ref());
            }
        }
        // Tab 0's round finds the leader back: its report holds every tab's reads.
        w.round(&mut tabs[0], down(Cause::Network), State::Emergency);
        let closed = w.round(&mut tabs[0], up(5.0), State::Leader).unwrap();
        assert_eq!(report(&closed, w.now)["followerReads"], json!(5.0));
        assert_eq!(report(&closed, w.now)["probes"]["network"], json!(1.0));
        // The others take the `leader` verdict, which carries no episode: none reports.
        let told = through_entry(tabs[0].live(), State::Leader);
        assert_eq!(told, None);
        for tab in &mut tabs[1..] {
            tab.merge(None);
            tab.took(None, &verdict(State::Leader));
            assert!(tab.live().is_none());
            assert_eq!(w.round(tab, up(5.0), State::Leader), None);
        }
        // A late count from a tab that had not heard yet does not bring the episode back.
        let mut late = on();
        late.took(Some(closed.clone()), &verdict(State::Emergency));
        late.met(Met::FollowerRead);
        tabs[0].merge(late.live());
        assert!(tabs[0].live().is_none());
    }

    #[test]
    fn two_tabs_opening_at_once_converge_on_the_verdict_taken() {
        let mut w = World::new();
        let (mut a, mut b) = (on(), on());
        w.round(&mut a, down(Cause::Timeout), State::Emergency);
        w.round(&mut b, down(Cause::Timeout), State::Emergency);
        assert_ne!(a.live().unwrap().id, b.live().unwrap().id);
        // Counts of another episode are not merged; a verdict taken brings its episode.
        b.met(Met::FollowerRead);
        a.merge(b.live());
        assert_eq!(a.live().unwrap().numbers[FOLLOWER_READS], 0.0);
        b.took(a.live().cloned(), &verdict(State::Emergency));
        assert_eq!(b.live(), a.live());
    }

    #[test]
    fn a_peers_leader_verdict_lends_its_round_trip() {
        let mut tab = on();
        let mut v = verdict(State::Leader);
        v.leader_latency_ms = Some(42.0);
        tab.took(None, &v);
        assert_eq!(tab.median(), 42.0);
    }

    #[test]
    fn the_live_episode_survives_a_reload_in_the_cached_verdict() {
        let mut w = World::new();
        let mut before = on();
        w.round(&mut before, down(Cause::Status(503)), State::Emergency);
        before.met(Met::OutcomeUnknown);
        let kept = through_entry(before.live(), State::Emergency);
        assert_eq!(kept.as_ref(), before.live());
        // The next page load takes the cached verdict, and closes the same episode.
        let mut after = on();
        after.took(kept, &verdict(State::Emergency));
        let closed = w.round(&mut after, up(5.0), State::Leader).unwrap();
        let r = report(&closed, w.now);
        assert_eq!(r["id"], json!("id-1"));
        assert_eq!(r["probes"]["status"], json!([[503.0, 1.0]]));
        assert_eq!(r["outcomeUnknown"], json!(1.0));
        assert_eq!(r["durationMs"], json!(1000.0));
    }

    #[test]
    fn an_unsound_episode_is_ignored() {
        let good = || {
            vec![
                1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 1.0, 502.0, 1.0,
            ]
        };
        let id = || Some("id".to_string());
        assert!(Episode::read(id(), Some(good())).is_some());
        let mut odd = good();
        odd.push(3.0);
        let mut long = good();
        for i in 0..40 {
            long.extend([f64::from(i), 1.0]);
        }
        for bad in [
            vec![],
            good()[..9].to_vec(),
            odd,
            long,
            vec![f64::NAN; 10],
            vec![f64::INFINITY; 10],
            vec![-2.0; 10],
        ] {
            assert!(Episode::read(id(), Some(bad.clone())).is_none(), "{bad:?}");
        }
        assert!(Episode::read(None, Some(good())).is_none());
        assert!(Episode::read(Some(String::new()), Some(good())).is_none());
        assert!(Episode::read(Some("x".repeat(65)), Some(good())).is_none());
        assert!(Episode::read(id(), None).is_none());
    }

    #[test]
    fn statuses_are_counted_up_to_a_bound() {
        let mut e = Episode::read(Some("id".into()), Some(vec![0.0; FIXED])).unwrap();
        for code in 500..540 {
            e.failed(Cause::Status(code));
        }
        e.failed(Cause::Status(500));
        assert_eq!(e.numbers.len(), FIXED + 2 * MAX_STATUSES);
        assert_eq!(e.numbers[FIXED..FIXED + 2], [500.0, 2.0]);
    }

    #[test]
    fn the_queue_keeps_the_newest_reports_up_to_max_pending() {
        let kept = |i: u32| Kept {
            id: format!("id-{i}"),
            json: format!("{{\"id\":\"id-{i}\"}}"),
        };
        let mut queue = Vec::new();
        for i in 0..12 {
            keep(&mut queue, kept(i), 10);
        }
        let ids: Vec<&str> = queue.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, (2..12).map(|i| format!("id-{i}")).collect::<Vec<_>>());
        keep(&mut queue, kept(12), 3);
        assert_eq!(queue, vec![kept(10), kept(11), kept(12)]);
        trim(&mut queue, 1);
        assert_eq!(queue, vec![kept(12)]);
        keep(&mut queue, kept(13), 0);
        assert!(queue.is_empty(), "maxPending 0 keeps none");
    }

    #[test]
    fn a_report_is_done_with_once_the_leader_answers_other_than_a_failure() {
        for (status, done) in [
            (Some(200), true),
            (Some(201), true),
            (Some(400), true),
            (Some(409), true),
            (Some(413), true),
            (Some(429), false),
            (Some(500), false),
            (Some(502), false),
            (None, false),
        ] {
            assert_eq!(delivered(status), done, "{status:?}");
        }
    }
}
