//! Spec §11: what this browser saw of an outage. An episode opens at the first failed
//! leader probe, counts what the page met while it lasts, and closes into one report when
//! the verdict returns to `leader`; reports wait in a short queue until the leader takes
//! them. Like `machine.rs` it only decides: time and randomness come in, and
//! `engine/mod.rs` carries it out.
//!
//! The live episode is a row of numbers kept beside the verdict cache (`platform::
//! storage`), so every tab of the site counts into the one episode and a reload keeps it;
//! a row read back is checked, as anything in Web Storage is.

use super::machine::{Follower, Observation};
use super::rtt::Rtt;
use super::state::State;
use std::fmt::Write;

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

/// What a page met during an episode, besides its failed probes; each is the position of
/// its count in an episode's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Met {
    /// A critical read the follower answered.
    FollowerRead = FOLLOWER_READS as isize,
    /// A read or write refused `LEADER_UNAVAILABLE`.
    LeaderUnavailable = LEADER_UNAVAILABLE as isize,
    /// A write refused `OUTCOME_UNKNOWN`.
    OutcomeUnknown = OUTCOME_UNKNOWN as isize,
    /// A request made to the follower (a probe too).
    FollowerRequest = FOLLOWER_REQUESTS as isize,
}

// The positions in an episode's row; the status counts follow as (code, count) pairs.
const STARTED: usize = 0;
/// When a round of a tab last counted into it: a row no tab has touched for long was left
/// by a page that went away, and ends there.
const TOUCHED: usize = 1;
const TIMEOUT: usize = 2;
const NETWORK: usize = 3;
const BODY: usize = 4;
const FOLLOWER_READS: usize = 5;
const LEADER_UNAVAILABLE: usize = 6;
const OUTCOME_UNKNOWN: usize = 7;
const FOLLOWER_REQUESTS: usize = 8;
/// The smoothed leader round trip before it (spec §8's SRTT), or -1 when none was known.
const RTT: usize = 9;
/// 1 once the verdict has been `emergency`: before that it is failed probes only.
const EMERGENCY: usize = 10;
const FIXED: usize = 11;
/// Distinct statuses counted (a pair with count 0 is free); a later one is not: a report
/// is a few hundred bytes.
const MAX_STATUSES: usize = 8;
/// The length of an episode's row.
pub(crate) const SLOTS: usize = FIXED + 2 * MAX_STATUSES;

/// The live episode, as a row of whole numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Episode([f64; SLOTS]);

impl Episode {
    /// An episode from the row the tabs keep in Web Storage, when JSON can write each
    /// of its numbers back: JSON.parse gives no NaN, but does give Infinity (`1e999`).
    /// Anything else a script of the page wrote there still makes a report that is JSON
    /// (a number below 0 is written `null`).
    pub(crate) fn read(row: [f64; SLOTS]) -> Option<Episode> {
        let sound = row.iter().all(|n| n.is_finite());
        sound.then_some(Episode(row))
    }

    pub(crate) fn row(&self) -> &[f64; SLOTS] {
        &self.0
    }

    fn get(&self, at: usize) -> f64 {
        self.0.get(at).copied().unwrap_or(0.0)
    }

    fn set(&mut self, at: usize, value: f64) {
        if let Some(n) = self.0.get_mut(at) {
            *n = value;
        }
    }

    fn add(&mut self, at: usize) {
        self.set(at, self.get(at) + 1.0);
    }

    /// Counts what the page met.
    pub(crate) fn met(&mut self, what: Met) {
        self.add(what as usize);
    }

    /// Counts a failed probe's status; a code not yet counted takes a free pair.
    fn count_status(&mut self, code: f64) {
        let mut free = None;
        for pair in self
            .0
            .get_mut(FIXED..)
            .unwrap_or_default()
            .chunks_exact_mut(2)
        {
            if let [c, n] = pair {
                if *n > 0.0 && *c == code {
                    *n += 1.0;
                    return;
                }
                if *n == 0.0 && free.is_none() {
                    free = Some((c, n));
                }
            }
        }
        if let Some((c, n)) = free {
            (*c, *n) = (code, 1.0);
        }
    }

    /// The report of spec §11 as the leader's endpoint takes it (docs/api.md), as JSON
    /// text; `id` is a UUID (`crypto.randomUUID()`), which JSON takes as it is. The
    /// counts are written by one loop over [`REPORTED`]: a `format!` of them all cost the
    /// package 134 B more, a serde derive 0.8 KB more (docs/size.md).
    pub(crate) fn report(&self, id: &str, now_ms: f64, sample_rate: f64) -> String {
        let started = self.get(STARTED);
        let duration = (now_ms - started).max(0.0).round();
        let mut json = format!(
            r#"{{"id":"{id}","version":"{}","sampleRate":{sample_rate},"durationMs":{duration},"startedAt""#,
            env!("CARGO_PKG_VERSION")
        );
        for (at, key) in REPORTED {
            let n = self.get(at);
            // -1 (no round trip was known before it): null.
            if n < 0.0 {
                json.push_str(":null");
            } else {
                let _ = write!(json, ":{n}");
            }
            json.push_str(key);
        }
        let mut comma = "";
        for pair in self.0.get(FIXED..).unwrap_or_default().chunks_exact(2) {
            if let [code, count] = pair {
                if *count > 0.0 {
                    let _ = write!(json, "{comma}[{code},{count}]");
                    comma = ",";
                }
            }
        }
        json.push_str("]}}");
        json
    }
}

/// The report's numbers from an episode's row, each followed by the text that leads to
/// the next (the first key, `startedAt`, is written before them).
const REPORTED: [(usize, &str); 9] = [
    (STARTED, r#","followerReads""#),
    (FOLLOWER_READS, r#","leaderUnavailable""#),
    (LEADER_UNAVAILABLE, r#","outcomeUnknown""#),
    (OUTCOME_UNKNOWN, r#","followerRequests""#),
    (FOLLOWER_REQUESTS, r#","rttMs""#),
    (RTT, r#","probes":{"timeout""#),
    (TIMEOUT, r#","network""#),
    (NETWORK, r#","body""#),
    (BODY, r#","status":["#),
];

/// Spec §11's policy for this instance: what it decides on the live episode, which the
/// engine reads from where the tabs keep it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Episodes {
    /// Reports are on (`reports.path` is set): only then does an episode open.
    on: bool,
    /// `reports.sampleRate`.
    sample_rate: f64,
    /// A row untouched this long was left by a page that went away.
    stale_ms: f64,
}

impl Episodes {
    pub(crate) fn new(on: bool, sample_rate: f64, stale_ms: u32) -> Episodes {
        Episodes {
            on,
            sample_rate,
            stale_ms: f64::from(stale_ms),
        }
    }

    /// A probe round of this instance's own, at `now_ms`, and the verdict it reached;
    /// `rand01` in `[0, 1)`. Returns the closed episode and when it ended, when the
    /// verdict came back to `leader` and `rand01` samples it.
    pub(crate) fn observed(
        &self,
        live: &mut Option<Episode>,
        outcome: Observation,
        state: State,
        now_ms: f64,
        rand01: f64,
        rtt: &Rtt,
    ) -> Option<(Episode, f64)> {
        match outcome {
            Observation::LeaderUp { .. } => {}
            Observation::LeaderDown { follower, cause } => {
                // A round that finds this client cut off counts nothing against the leader.
                if self.on && state != State::Offline {
                    let episode = live.get_or_insert_with(|| {
                        let mut episode = Episode([0.0; SLOTS]);
                        episode.set(STARTED, now_ms.round());
                        // Spec §8's smoothed round trip of the good probes before it.
                        let (srtt, _, samples) = rtt.parts();
                        episode.set(RTT, if samples > 0 { srtt.round() } else { -1.0 });
                        episode
                    });
                    let at = match cause {
                        Cause::Timeout => TIMEOUT,
                        Cause::Network => NETWORK,
                        Cause::Body => BODY,
                        Cause::Status(code) => {
                            episode.count_status(f64::from(code));
                            SLOTS
                        }
                    };
                    episode.add(at);
                }
                if let (Some(e), true) = (live.as_mut(), follower != Follower::NotProbed) {
                    e.met(Met::FollowerRequest);
                }
            }
        }
        let Some(episode) = live else {
            return None;
        };
        let touched = episode.get(TOUCHED).max(episode.get(STARTED));
        episode.set(TOUCHED, now_ms.round());
        match (state, outcome) {
            // Failed probes below `hysteresis.failuresToDown`: the episode may yet begin.
            (State::Leader, Observation::LeaderDown { .. }) => return None,
            (State::Leader, _) => {}
            _ => {
                verdict(live, state);
                return None;
            }
        }
        let closed = live.take()?;
        // Nobody watched the end of a row left untouched this long: it ends where it
        // was last seen.
        let end = if now_ms - touched > self.stale_ms {
            touched
        } else {
            now_ms
        };
        (closed.get(EMERGENCY) > 0.0 && rand01 < self.sample_rate).then_some((closed, end))
    }
}

/// The verdict is now `state` (not `leader`): `emergency` makes the live episode one; an
/// `offline` before it was one ends it (spec §11: the visitor's own network is not the
/// operator's outage).
fn verdict(live: &mut Option<Episode>, state: State) {
    if let Some(e) = live {
        match state {
            State::Emergency => e.set(EMERGENCY, 1.0),
            State::Offline if e.get(EMERGENCY) == 0.0 => *live = None,
            _ => {}
        }
    }
}

/// How many of the oldest queued reports to drop so that at most `max` stay.
pub(crate) fn over(queued: u32, max: u32) -> u32 {
    queued.saturating_sub(max)
}

/// Whether a sent report is done with, from the leader's answer: any answer but a
/// server's failure or a rate limit (sent again later); `None`, no answer, keeps it too.
pub(crate) fn delivered(status: Option<u16>) -> bool {
    status.is_some_and(|s| s < 500 && s != 429)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use serde_json::json;

    /// A fake clock, and the row as the tabs keep it: JSON text in "Web Storage",
    /// read and written back by each step, as the engine does.
    struct World {
        now: f64,
        stored: Option<String>,
        /// What the machine has learnt of the line (`machine::Machine::rtt`).
        rtt: Rtt,
    }

    impl World {
        fn new() -> World {
            World {
                now: 1_700_000_000_000.0,
                stored: None,
                rtt: Rtt::default(),
            }
        }

        /// Reads the row, lets `f` change it, keeps it (`platform::storage`).
        fn with<R>(&mut self, f: impl FnOnce(&mut Option<Episode>) -> R) -> R {
            let mut live = self.stored.as_deref().and_then(|text| {
                let row: Vec<f64> = serde_json::from_str(text).ok()?;
                Episode::read(row.try_into().ok()?)
            });
            let out = f(&mut live);
            self.stored = live.map(|e| serde_json::to_string(e.row()).unwrap());
            out
        }

        /// One probe round of `tab`'s own, a second after the last, that reached `state`.
        fn round(&mut self, tab: &Episodes, outcome: Observation, state: State) -> Option<Episode> {
            self.now += 1000.0;
            let now = self.now;
            let rtt = self.rtt;
            let closed = self.with(|live| tab.observed(live, outcome, state, now, 0.5, &rtt));
            closed.map(|(e, end)| {
                assert_eq!(end, now, "ends now");
                e
            })
        }

        fn met(&mut self, what: Met) {
            self.with(|live| {
                if let Some(e) = live {
                    e.met(what);
                }
            });
        }

        fn live(&mut self) -> Option<Episode> {
            self.with(|live| *live)
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

    /// A round with nothing learnt of the line before it.
    fn observe(
        tab: &Episodes,
        live: &mut Option<Episode>,
        outcome: Observation,
        state: State,
        now: f64,
        rand01: f64,
    ) -> Option<(Episode, f64)> {
        tab.observed(live, outcome, state, now, rand01, &Rtt::default())
    }

    fn on() -> Episodes {
        Episodes::new(true, 1.0, 600_000)
    }

    /// The report's JSON text, parsed (it must parse).
    fn report(e: &Episode, now: f64) -> serde_json::Value {
        let text = e.report("0f8e2a56-1c1b-4e5b-9a6d-3f0c1e2d4b5a", now, 1.0);
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
    }

    #[test]
    fn an_episode_counts_its_causes_and_closes_into_one_report() {
        let (mut w, tab) = (World::new(), on());
        for ms in [40.0, 10.0, 30.0, 20.0] {
            w.rtt.sample(ms);
            assert_eq!(w.round(&tab, up(ms), State::Leader), None);
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
            assert_eq!(w.round(&tab, down(cause), State::Emergency), None);
        }
        w.met(Met::FollowerRead);
        w.met(Met::FollowerRead);
        w.met(Met::LeaderUnavailable);
        w.met(Met::OutcomeUnknown);
        w.met(Met::FollowerRequest);
        // Hysteresis: a good probe that keeps `emergency` does not close it, nor is its
        // round trip one of "before".
        assert_eq!(w.round(&tab, up(999.0), State::Emergency), None);
        let closed = w.round(&tab, up(15.0), State::Leader).expect("a report");
        assert_eq!(
            report(&closed, w.now),
            json!({
                "id": "0f8e2a56-1c1b-4e5b-9a6d-3f0c1e2d4b5a", "startedAt": start as u64, "durationMs": 9000,
                "probes": {"timeout": 2, "network": 1, "status": [[502, 2], [503, 1], [0, 1]], "body": 1},
                "followerReads": 2, "leaderUnavailable": 1, "outcomeUnknown": 1,
                // Eight rounds probed the follower, and one read went there.
                "followerRequests": 9,
                // The smoothed round trip of the four good probes before it.
                "rttMs": 34, "version": env!("CARGO_PKG_VERSION"), "sampleRate": 1
            })
        );
        assert_eq!(w.live(), None, "the row is gone");
        w.met(Met::FollowerRead);
        assert_eq!(w.live(), None, "nothing is counted between episodes");
        assert_eq!(
            w.round(&tab, up(15.0), State::Leader),
            None,
            "one report only"
        );
    }

    #[test]
    fn the_round_trip_before_is_the_smoothed_one_and_null_without_any() {
        let (mut w, tab) = (World::new(), on());
        w.round(&tab, down(Cause::Timeout), State::Emergency);
        let closed = w.round(&tab, up(5.0), State::Leader).unwrap();
        assert_eq!(report(&closed, w.now)["rttMs"], json!(null));
        w.rtt.sample(12.4);
        w.round(&tab, down(Cause::Timeout), State::Emergency);
        // Probes during the episode do not move what it knew before.
        w.rtt.sample(900.0);
        let closed = w.round(&tab, up(5.0), State::Leader).unwrap();
        assert_eq!(report(&closed, w.now)["rttMs"], json!(12));
    }

    #[test]
    fn an_offline_client_is_not_an_episode() {
        let (mut w, tab) = (World::new(), on());
        // Leader, then both sides dark (the visitor's own network), then back.
        w.round(&tab, up(5.0), State::Leader);
        assert_eq!(w.round(&tab, dark(Cause::Network), State::Offline), None);
        assert_eq!(w.live(), None);
        assert_eq!(w.round(&tab, up(5.0), State::Leader), None);
        // The browser's own `offline` event, after a failed probe below the threshold.
        w.round(&tab, down(Cause::Timeout), State::Leader);
        assert!(w.live().is_some());
        w.with(|live| verdict(live, State::Offline));
        assert_eq!(w.live(), None);
        assert_eq!(w.round(&tab, up(5.0), State::Leader), None);
        // An episode that was one stays one through an `offline` spell.
        w.round(&tab, down(Cause::Timeout), State::Emergency);
        w.with(|live| verdict(live, State::Offline));
        w.round(&tab, dark(Cause::Timeout), State::Offline);
        assert!(w.round(&tab, up(5.0), State::Leader).is_some());
    }

    #[test]
    fn failed_probes_below_the_threshold_are_no_episode() {
        let (mut w, tab) = (World::new(), on());
        // failuresToDown 3: two failures keep `leader`, then a good probe.
        w.round(&tab, down(Cause::Timeout), State::Leader);
        w.round(&tab, down(Cause::Timeout), State::Leader);
        assert!(w.live().is_some());
        assert_eq!(w.round(&tab, up(5.0), State::Leader), None);
        assert_eq!(w.live(), None);
        // Three: the episode starts at the first of them, and counts each.
        let first = w.now + 1000.0;
        w.round(&tab, down(Cause::Timeout), State::Leader);
        w.round(&tab, down(Cause::Timeout), State::Leader);
        w.round(&tab, down(Cause::Timeout), State::Emergency);
        let closed = w.round(&tab, up(5.0), State::Leader).unwrap();
        let r = report(&closed, w.now);
        assert_eq!(r["startedAt"], json!(first as u64));
        assert_eq!(r["probes"]["timeout"], json!(3));
        assert_eq!(r["followerRequests"], json!(3));
    }

    #[test]
    fn reports_off_open_no_episode() {
        let (mut w, tab) = (World::new(), Episodes::new(false, 1.0, 600_000));
        w.round(&tab, down(Cause::Timeout), State::Emergency);
        assert_eq!(w.live(), None);
        assert_eq!(w.round(&tab, up(5.0), State::Leader), None);
    }

    #[test]
    fn episodes_are_sampled_at_random() {
        for (rate, rand01, kept) in [
            (0.0, 0.0, false),
            (1.0, 0.999_999, true),
            (0.25, 0.249, true),
            (0.25, 0.25, false),
        ] {
            let (tab, mut live) = (Episodes::new(true, rate, 600_000), None);
            observe(
                &tab,
                &mut live,
                down(Cause::Timeout),
                State::Emergency,
                1.0,
                rand01,
            );
            let closed = observe(&tab, &mut live, up(5.0), State::Leader, 2.0, rand01);
            assert_eq!(closed.is_some(), kept, "rate {rate}, drawn {rand01}");
            assert_eq!(live, None, "an unsampled episode ends all the same");
        }
    }

    #[test]
    fn five_tabs_count_into_one_episode_and_one_of_them_reports_it() {
        let mut w = World::new();
        let tabs: Vec<Episodes> = (0..5).map(|_| on()).collect();
        // Tab 0 probes and finds the leader down; the others take its verdict, and each
        // serves a read from the follower, into the one row.
        w.round(&tabs[0], down(Cause::Timeout), State::Emergency);
        for _ in 0..5 {
            w.met(Met::FollowerRead);
        }
        // Tab 0's round finds the leader back: its report holds every tab's reads.
        w.round(&tabs[0], down(Cause::Network), State::Emergency);
        let closed = w.round(&tabs[0], up(5.0), State::Leader).unwrap();
        assert_eq!(report(&closed, w.now)["followerReads"], json!(5));
        assert_eq!(report(&closed, w.now)["probes"]["network"], json!(1));
        // The others, taking the `leader` verdict, then probing themselves: none reports.
        for tab in &tabs[1..] {
            assert_eq!(w.round(tab, up(5.0), State::Leader), None);
        }
    }

    #[test]
    fn the_live_episode_survives_a_reload_beside_the_cached_verdict() {
        let mut w = World::new();
        w.round(&on(), down(Cause::Status(503)), State::Emergency);
        w.met(Met::OutcomeUnknown);
        // The next page load finds the row, and closes the same episode.
        let after = on();
        let closed = w.round(&after, up(5.0), State::Leader).unwrap();
        let r = report(&closed, w.now);
        assert_eq!(r["probes"]["status"], json!([[503, 1]]));
        assert_eq!(r["outcomeUnknown"], json!(1));
        assert_eq!(r["durationMs"], json!(1000));
    }

    #[test]
    fn a_row_left_by_a_page_that_went_away_ends_where_it_was_last_seen() {
        let (tab, mut live) = (Episodes::new(true, 1.0, 120_000), None);
        observe(
            &tab,
            &mut live,
            down(Cause::Timeout),
            State::Emergency,
            1_000.0,
            0.5,
        );
        observe(
            &tab,
            &mut live,
            down(Cause::Timeout),
            State::Emergency,
            61_000.0,
            0.5,
        );
        // The page was closed; a day later one finds the leader up.
        let day = 86_400_000.0;
        let (closed, end) = observe(&tab, &mut live, up(5.0), State::Leader, day, 0.5).unwrap();
        assert_eq!(end, 61_000.0);
        assert_eq!(report(&closed, end)["durationMs"], json!(60_000));
        // Within the bound, it ends now.
        observe(
            &tab,
            &mut live,
            down(Cause::Timeout),
            State::Emergency,
            day,
            0.5,
        );
        let (_, end) = observe(
            &tab,
            &mut live,
            up(5.0),
            State::Leader,
            day + 120_000.0,
            0.5,
        )
        .unwrap();
        assert_eq!(end, day + 120_000.0);
    }

    #[test]
    fn a_row_that_json_cannot_write_is_ignored() {
        let mut good = [0.0; SLOTS];
        good[STARTED] = 1_700_000_000_000.0;
        good[RTT] = -1.0;
        assert!(Episode::read(good).is_some());
        for (at, bad) in [
            (TIMEOUT, f64::NAN),
            (TIMEOUT, f64::INFINITY),
            (FIXED, f64::NEG_INFINITY),
        ] {
            let mut row = good;
            row[at] = bad;
            assert!(Episode::read(row).is_none(), "{bad} at {at}");
        }
        // Whatever else a script of the page wrote there, the report stays JSON (a
        // number below 0 is written as null).
        let mut odd = good;
        odd[TIMEOUT] = -2.5;
        odd[NETWORK] = 0.5;
        let text = Episode::read(odd).unwrap().report("id", 0.0, 1.0);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["probes"],
            json!({"timeout": null, "network": 0.5, "status": [], "body": 0})
        );
    }

    #[test]
    fn statuses_are_counted_up_to_a_bound() {
        let mut e = Episode([0.0; SLOTS]);
        for code in 500..540 {
            e.count_status(f64::from(code));
        }
        e.count_status(500.0);
        let status = report(&e, 0.0)["probes"]["status"].clone();
        assert_eq!(status.as_array().unwrap().len(), MAX_STATUSES);
        assert_eq!(status[0], json!([500, 2]));
        assert_eq!(status[7], json!([507, 1]));
    }

    #[test]
    fn the_queue_keeps_at_most_max_pending() {
        assert_eq!(over(11, 10), 1);
        assert_eq!(over(3, 10), 0);
        assert_eq!(over(1, 0), 1, "maxPending 0 keeps none");
    }

    #[test]
    fn a_report_in_full_is_json_with_every_field_of_the_wire_contract() {
        let mut e = Episode([0.0; SLOTS]);
        let numbers = [
            1_700_000_000_000.0,
            9.0,
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
        let text = e.report(
            "0f8e2a56-1c1b-4e5b-9a6d-3f0c1e2d4b5a",
            1_700_000_061_234.4,
            0.25,
        );
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
