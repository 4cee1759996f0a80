//! Spec §11: what this browser saw of an outage. An episode opens at the first failed
//! leader probe, counts what the page met while it lasts, and closes into one report when
//! the verdict returns to `leader`; reports wait in a short queue until the leader takes
//! them. Like `machine.rs` it only decides: time and randomness come in, and
//! `engine/mod.rs` carries it out.
//!
//! The live episode is a short row of numbers that travels with the cached verdict and
//! the tabs' messages (`cache::Entry`) as one line of text, so every tab counts into one
//! episode and a reload keeps it; that text read back is checked, as anything in Web
//! Storage is.

use super::machine::{Follower, Observation};
use super::state::{Snapshot, State};

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

// The positions in an episode's numbers; the status counts follow as (code, count) pairs.
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
/// Distinct statuses counted (a pair with count 0 is free); a later one is not: a report
/// is a few hundred bytes.
const MAX_STATUSES: usize = 8;
const SLOTS: usize = FIXED + 2 * MAX_STATUSES;
/// Good leader round trips remembered for the median.
const RTT_SAMPLES: usize = 5;

/// The live episode: its id (the report's, and its idempotency key) and its numbers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Episode {
    pub(crate) id: String,
    n: [f64; SLOTS],
}

impl Episode {
    fn new(id: String) -> Episode {
        Episode {
            id,
            n: [0.0; SLOTS],
        }
    }

    /// The episode as one line of text: its id, then its numbers, each after a space.
    pub(crate) fn encode(&self) -> String {
        let mut text = self.id.clone();
        for n in self.n {
            text.push_str(&format!(" {n}"));
        }
        text
    }

    /// An episode from [`Episode::encode`]'s text (another tab's, the cache's), when it
    /// is sound: an id JSON takes as it is, and whole numbers, none below -1.
    pub(crate) fn decode(text: &str) -> Option<Episode> {
        let mut parts = text.split(' ');
        let id = parts.next()?;
        let id_ok = (1..=64).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let mut e = Episode::new(id.to_string());
        let mut slots = e.n.iter_mut();
        for part in parts {
            *slots.next()? = part.parse::<i64>().ok().filter(|n| *n >= -1)? as f64;
        }
        (id_ok && slots.next().is_none()).then_some(e)
    }

    fn get(&self, at: usize) -> f64 {
        self.n.get(at).copied().unwrap_or(0.0)
    }

    fn set(&mut self, at: usize, value: f64) {
        if let Some(n) = self.n.get_mut(at) {
            *n = value;
        }
    }

    fn add(&mut self, at: usize) {
        self.set(at, self.get(at) + 1.0);
    }

    fn seen_emergency(&self) -> bool {
        self.get(EMERGENCY) > 0.0
    }

    /// The status pairs, free ones included.
    fn pairs(&mut self) -> std::slice::ChunksExactMut<'_, f64> {
        self.n
            .get_mut(FIXED..)
            .unwrap_or_default()
            .chunks_exact_mut(2)
    }

    fn failed(&mut self, cause: Cause) {
        let at = match cause {
            Cause::Timeout => TIMEOUT,
            Cause::Network => NETWORK,
            Cause::Body => BODY,
            Cause::Status(code) => return self.count_status(f64::from(code), 1.0, false),
        };
        self.add(at);
    }

    /// Adds `by` to the count of `code`, or with `max`, raises it to `by`; a code not yet
    /// counted takes a free pair.
    fn count_status(&mut self, code: f64, by: f64, max: bool) {
        let mut free = None;
        for pair in self.pairs() {
            if let [c, n] = pair {
                if *n > 0.0 && *c == code {
                    *n = if max { n.max(by) } else { *n + by };
                    return;
                }
                if *n == 0.0 && free.is_none() {
                    free = Some((c, n));
                }
            }
        }
        if let Some((c, n)) = free {
            (*c, *n) = (code, by);
        }
    }

    /// Takes in what another tab counted of the same episode: the larger of each count.
    fn merge(&mut self, other: &Episode) {
        for (mine, theirs) in self.n.iter_mut().zip(other.n).take(FIXED) {
            *mine = mine.max(theirs);
        }
        let mut theirs = other.clone();
        for pair in theirs.pairs() {
            if let [code, n] = pair {
                if *n > 0.0 {
                    self.count_status(*code, *n, true);
                }
            }
        }
    }

    /// The report of spec §11 as the leader's endpoint takes it (docs/api.md): JSON text
    /// of whole numbers and the id, which [`Episode::decode`] keeps to characters JSON
    /// takes as they are. Written by `format!`, not a serde derive: the derive, with the
    /// serializer's code for a nested object and arrays, cost 1.2 KB of the package.
    pub(crate) fn report(&self, now_ms: f64, sample_rate: f64) -> String {
        let n = |at| self.get(at);
        let mut status = String::new();
        for pair in self.n.get(FIXED..).unwrap_or_default().chunks_exact(2) {
            if let [code, count] = pair {
                if *count > 0.0 {
                    let comma = if status.is_empty() { "" } else { "," };
                    status.push_str(&format!("{comma}[{code},{count}]"));
                }
            }
        }
        let rtt = n(RTT);
        let rtt = if rtt >= 0.0 {
            format!("{rtt}")
        } else {
            "null".into()
        };
        format!(
            r#"{{"id":"{}","startedAt":{},"durationMs":{},"probes":{{"timeout":{},"network":{},"status":[{status}],"body":{}}},"followerReads":{},"leaderUnavailable":{},"outcomeUnknown":{},"followerRequests":{},"rttMs":{rtt},"version":"{}","sampleRate":{sample_rate}}}"#,
            self.id,
            n(STARTED),
            (now_ms - n(STARTED)).max(0.0).round(),
            n(TIMEOUT),
            n(NETWORK),
            n(BODY),
            n(FOLLOWER_READS),
            n(LEADER_UNAVAILABLE),
            n(OUTCOME_UNKNOWN),
            n(FOLLOWER_REQUESTS),
            env!("CARGO_PKG_VERSION"),
        )
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
    /// The last good leader round trips while the verdict was `leader`, a ring, and how
    /// many have been taken in all.
    rtts: [f64; RTT_SAMPLES],
    taken: usize,
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
        if let Some(slot) = self.rtts.get_mut(self.taken % RTT_SAMPLES) {
            *slot = ms;
        }
        self.taken = self.taken.wrapping_add(1);
    }

    /// The median of the remembered round trips, whole ms; -1 with none.
    fn median(&self) -> f64 {
        let known = || self.rtts.iter().take(self.taken.min(RTT_SAMPLES));
        let n = known().count();
        // The value at sorted position `k`: as many below it as `k`, or fewer with ties.
        let at = |k: usize| {
            known().find(|x| {
                let below = known().filter(|y| y < x).count();
                below <= k && k < below + known().filter(|y| y == x).count()
            })
        };
        match (at(n.saturating_sub(1) / 2), at(n / 2)) {
            (Some(lo), Some(hi)) if n > 0 => ((lo + hi) / 2.0).round(),
            _ => -1.0,
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
                        let mut episode = Episode::new(new_id());
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
    pub(crate) fn took(&mut self, told: Option<&Episode>, verdict: &Snapshot) {
        match (&mut self.live, told) {
            (Some(mine), Some(e)) if mine.id == e.id => mine.merge(e),
            (_, Some(e)) => self.live = Some(e.clone()),
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

/// Queues `report` (its JSON text) to send, oldest first, keeping at most `max` (the
/// oldest dropped).
pub(crate) fn keep(queue: &mut Vec<String>, report: String, max: u32) {
    queue.push(report);
    trim(queue, max);
}

/// Drops the oldest reports beyond `max`.
pub(crate) fn trim(queue: &mut Vec<String>, max: u32) {
    while queue.len() > max as usize {
        queue.remove(0);
    }
}

/// A queued report's id (its idempotency key): the report's text begins with it.
pub(crate) fn id_of(report: &str) -> Option<&str> {
    let rest = report.strip_prefix(r#"{"id":""#)?;
    rest.get(..rest.find('"')?)
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

    /// The report's JSON text, parsed (it must parse).
    fn report(e: &Episode, now: f64) -> serde_json::Value {
        let text = e.report(now, 1.0);
        assert_eq!(id_of(&text), Some(e.id.as_str()));
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
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
                "id": "id-5", "startedAt": start as u64, "durationMs": 9000,
                "probes": {"timeout": 2, "network": 1, "status": [[502, 2], [503, 1], [0, 1]], "body": 1},
                "followerReads": 2, "leaderUnavailable": 1, "outcomeUnknown": 1,
                // Eight rounds probed the follower, and one read went there.
                "followerRequests": 9,
                // The median of 10, 20, 30, 40.
                "rttMs": 25, "version": env!("CARGO_PKG_VERSION"), "sampleRate": 1
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
        assert_eq!(r["startedAt"], json!(first as u64));
        assert_eq!(r["probes"]["timeout"], json!(3));
        assert_eq!(r["followerRequests"], json!(3));
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

    /// What travels between tabs and through a reload: the cached verdict's entry as
    /// JSON text, the episode in it.
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
            tab.took(told.as_ref(), &verdict(State::Emergency));
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
        assert_eq!(report(&closed, w.now)["followerReads"], json!(5));
        assert_eq!(report(&closed, w.now)["probes"]["network"], json!(1));
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
        late.took(Some(&closed), &verdict(State::Emergency));
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
        assert_eq!(a.live().unwrap().get(FOLLOWER_READS), 0.0);
        b.took(a.live(), &verdict(State::Emergency));
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
        after.took(kept.as_ref(), &verdict(State::Emergency));
        let closed = w.round(&mut after, up(5.0), State::Leader).unwrap();
        let r = report(&closed, w.now);
        assert_eq!(r["id"], json!("id-1"));
        assert_eq!(r["probes"]["status"], json!([[503, 1]]));
        assert_eq!(r["outcomeUnknown"], json!(1));
        assert_eq!(r["durationMs"], json!(1000));
    }

    #[test]
    fn an_episode_travels_as_a_line_and_an_unsound_one_is_ignored() {
        let mut e = Episode::new("0f8e2a56-1c1b-4e5b-9a6d-3f0c1e2d4b5a".into());
        e.set(STARTED, 1_700_000_000_000.0);
        e.set(RTT, -1.0);
        e.failed(Cause::Status(502));
        let line = e.encode();
        assert_eq!(
            line,
            "0f8e2a56-1c1b-4e5b-9a6d-3f0c1e2d4b5a 1700000000000 0 0 0 0 0 0 0 -1 0 502 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
        );
        assert_eq!(Episode::decode(&line), Some(e));
        let good = "id 1 0 0 0 0 0 0 0 -1 1 502 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0";
        assert!(Episode::decode(good).is_some());
        for bad in [
            "",
            "id",
            "id 1 2 3",
            &format!("{good} 0"),
            &good.replace(" 502 ", " 502.5 "),
            &good.replace(" 502 ", " NaN "),
            &good.replace(" 502 ", " -2 "),
            &good.replace(" 502 ", "  "),
            &good.replace(" 502 ", " 1e3 "),
            &good.replacen("id", "", 1),
            &good.replacen("id", &"x".repeat(65), 1),
            // The id goes into JSON as it is: nothing that would need escaping.
            &good.replacen("id", r#"a","x":"1"#, 1),
            &good.replacen("id", "a\\b", 1),
            &good.replacen("id", "ü", 1),
        ] {
            assert!(Episode::decode(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn statuses_are_counted_up_to_a_bound() {
        let mut e = Episode::new("id".into());
        for code in 500..540 {
            e.failed(Cause::Status(code));
        }
        e.failed(Cause::Status(500));
        let r = report(&e, 0.0);
        let status = r["probes"]["status"].as_array().unwrap();
        assert_eq!(status.len(), MAX_STATUSES);
        assert_eq!(status[0], json!([500, 2]));
        assert_eq!(status[7], json!([507, 1]));
        // Merged by code, the larger count.
        let mut other = Episode::new("id".into());
        other.count_status(507.0, 5.0, false);
        other.count_status(0.0, 1.0, false);
        e.merge(&other);
        let status = report(&e, 0.0)["probes"]["status"].clone();
        assert_eq!(status[7], json!([507, 5]));
        assert_eq!(
            status.as_array().unwrap().len(),
            MAX_STATUSES,
            "no room for 0"
        );
    }

    #[test]
    fn the_queue_keeps_the_newest_reports_up_to_max_pending() {
        let kept = |i: u32| format!(r#"{{"id":"id-{i}"}}"#);
        let mut queue = Vec::new();
        for i in 0..12 {
            keep(&mut queue, kept(i), 10);
        }
        let ids: Vec<&str> = queue.iter().filter_map(|r| id_of(r)).collect();
        assert_eq!(ids, (2..12).map(|i| format!("id-{i}")).collect::<Vec<_>>());
        keep(&mut queue, kept(12), 3);
        assert_eq!(queue, vec![kept(10), kept(11), kept(12)]);
        trim(&mut queue, 1);
        assert_eq!(queue, vec![kept(12)]);
        keep(&mut queue, kept(13), 0);
        assert!(queue.is_empty(), "maxPending 0 keeps none");
        assert_eq!(id_of("[1]"), None);
        assert_eq!(id_of(r#"{"id":"x"#), None);
    }

    #[test]
    fn a_report_in_full_is_json_with_every_field_of_the_wire_contract() {
        let mut e = Episode::new("0f8e2a56-1c1b-4e5b-9a6d-3f0c1e2d4b5a".into());
        let numbers = [
            1_700_000_000_000.0,
            1.0,
            2.0,
            3.0,
            4.0,
            5.0,
            6.0,
            7.0,
            48.0,
            1.0,
        ];
        for (at, n) in numbers.into_iter().enumerate() {
            e.set(at, n);
        }
        let text = e.report(1_700_000_061_234.4, 0.25);
        assert!(text.len() < 400, "{} bytes", text.len());
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            r,
            json!({
                "id": "0f8e2a56-1c1b-4e5b-9a6d-3f0c1e2d4b5a", "startedAt": 1_700_000_000_000u64,
                "durationMs": 61_234, "probes": {"timeout": 1, "network": 2, "status": [], "body": 3},
                "followerReads": 4, "leaderUnavailable": 5, "outcomeUnknown": 6, "followerRequests": 7,
                "rttMs": 48, "version": env!("CARGO_PKG_VERSION"), "sampleRate": 0.25
            })
        );
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
