//! The verdict as it is kept in Web Storage and told to other tabs (spec §6): versioned,
//! naming the leader it is about, with what the client learnt (RTT, flap penalty).
//! Anything that does not decode for this leader is ignored, never an error.

use super::machine::{Damping, Learnt};
use super::path::Base;
use super::rtt::Rtt;
use super::state::{Snapshot, Source, State};
use serde::{Deserialize, Serialize};

/// 2: the RTT estimator and the flap penalty joined the verdict.
pub(crate) const VERSION: u32 = 2;

/// One cache entry: a [`Snapshot`] stored with what it is about and what was learnt
/// (JSON text through the platform's `JSON.stringify`); the verdict itself is the Snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    v: u32,
    leader: String,
    state: State,
    /// Whole epoch milliseconds.
    checked_at: f64,
    leader_latency_ms: Option<f64>,
    /// The RTT estimator (spec §8): SRTT and RTTVAR in ms, and its sample count.
    srtt: f64,
    rttvar: f64,
    rtt_samples: u32,
    /// The flap penalty at its last raise, and when (epoch ms).
    penalty: f64,
    penalty_at: f64,
}

/// What tabs of one site post to each other: a verdict one of them reached itself, or a
/// question to the prober from a tab that started without one. On the wire a question is
/// `null` and a verdict its own object, so the one serde reader of a message is the
/// verdict's (a wrapper struct would bring its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "Option<Entry>", into = "Option<Entry>")]
pub(crate) enum TabMessage {
    Told(Entry),
    Ask,
}

impl From<Option<Entry>> for TabMessage {
    fn from(entry: Option<Entry>) -> Self {
        entry.map_or(TabMessage::Ask, TabMessage::Told)
    }
}

impl From<TabMessage> for Option<Entry> {
    fn from(message: TabMessage) -> Self {
        match message {
            TabMessage::Told(entry) => Some(entry),
            TabMessage::Ask => None,
        }
    }
}

impl Entry {
    /// The entry for `snapshot`, or `None` when there is no verdict to keep.
    pub(crate) fn new(leader: &Base, snapshot: &Snapshot, learnt: Learnt) -> Option<Entry> {
        let known = snapshot.state != State::Unknown;
        let checked_at = snapshot
            .checked_at
            .filter(|t| known && t.is_finite() && *t >= 0.0)?;
        let (srtt, rttvar, rtt_samples) = learnt.rtt.parts();
        Some(Entry {
            v: VERSION,
            leader: leader.as_str().to_string(),
            state: snapshot.state,
            checked_at: checked_at.round(),
            leader_latency_ms: snapshot
                .leader_latency_ms
                .filter(|l| l.is_finite() && *l >= 0.0)
                .map(f64::round),
            srtt,
            rttvar,
            rtt_samples,
            penalty: learnt.damping.penalty,
            penalty_at: learnt.damping.at,
        })
    }

    /// What the entry's client had learnt, when it is about `leader` and of this version:
    /// lent at any age (a verdict too old to route by still knows the line).
    pub(crate) fn learnt(&self, leader: &Base) -> Option<Learnt> {
        if self.v != VERSION || self.leader != leader.as_str() {
            return None;
        }
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        if !ok(self.penalty) || !ok(self.penalty_at) {
            return None;
        }
        Some(Learnt {
            rtt: Rtt::from_parts(self.srtt, self.rttvar, self.rtt_samples)?,
            damping: Damping {
                penalty: self.penalty,
                at: self.penalty_at,
            },
        })
    }

    /// The snapshot this entry holds, when it is about `leader`, of this version, and
    /// checked within the last `ttl_ms` (not in the future).
    pub(crate) fn decode(&self, leader: &Base, now_ms: f64, ttl_ms: u32) -> Option<Snapshot> {
        let age = now_ms - self.checked_at;
        if self.learnt(leader).is_none()
            || self.state == State::Unknown
            || self.checked_at < 0.0
            || self.checked_at.fract() != 0.0
            || !(0.0..f64::from(ttl_ms)).contains(&age)
            || self
                .leader_latency_ms
                .is_some_and(|l| l.is_nan() || l < 0.0)
        {
            return None;
        }
        Some(Snapshot {
            state: self.state,
            leader_latency_ms: self.leader_latency_ms,
            checked_at: Some(self.checked_at),
            source: Source::Cache,
        })
    }

    pub(crate) fn checked_at(&self) -> f64 {
        self.checked_at
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn leader() -> Base {
        Base::parse("leader", "http://127.0.0.1:8081", false).unwrap()
    }

    /// As the platform does it: text that is not a verdict is ignored.
    fn from_text(text: &str, now: f64, ttl: u32) -> Option<Snapshot> {
        serde_json::from_str::<Entry>(text)
            .ok()?
            .decode(&leader(), now, ttl)
    }

    fn text(snapshot: &Snapshot) -> String {
        serde_json::to_string(&Entry::new(&leader(), snapshot, Learnt::default()).unwrap()).unwrap()
    }

    /// As the platform does it: what the entry lends, at any age.
    fn learnt_from_text(text: &str) -> Option<Learnt> {
        serde_json::from_str::<Entry>(text).ok()?.learnt(&leader())
    }

    fn snap(state: State) -> Snapshot {
        Snapshot {
            state,
            leader_latency_ms: Some(12.0),
            checked_at: Some(1_000_000.0),
            source: Source::Probe,
        }
    }

    #[test]
    fn round_trip() {
        for state in [State::Leader, State::Emergency, State::Offline] {
            let back = from_text(&text(&snap(state)), 1_000_500.0, 30_000).unwrap();
            assert_eq!(
                back,
                Snapshot {
                    source: Source::Cache,
                    ..snap(state)
                }
            );
        }
        let no_latency = Snapshot {
            leader_latency_ms: None,
            ..snap(State::Offline)
        };
        assert_eq!(
            from_text(&text(&no_latency), 1_000_000.0, 1)
                .unwrap()
                .leader_latency_ms,
            None
        );
        assert_eq!(
            Entry::new(&leader(), &Snapshot::initial(), Learnt::default()),
            None
        );
        assert_eq!(
            text(&snap(State::Leader)),
            r#"{"v":2,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000.0,"leaderLatencyMs":12.0,"srtt":0.0,"rttvar":0.0,"rttSamples":0,"penalty":0.0,"penaltyAt":0.0}"#
        );
    }

    #[test]
    fn expired_and_future_entries_are_ignored() {
        let t = text(&snap(State::Leader));
        assert!(from_text(&t, 1_029_999.0, 30_000).is_some());
        assert!(from_text(&t, 1_030_000.0, 30_000).is_none());
        assert!(
            from_text(&t, 999_999.0, 30_000).is_none(),
            "dated in the future"
        );
        assert!(
            from_text(&t, 1_000_000.0, 0).is_none(),
            "ttl 0 disables the cache"
        );
    }

    #[test]
    fn foreign_old_and_corrupt_entries_are_ignored() {
        let now = 1_000_100.0;
        let good = r#"{"v":2,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":3,"srtt":20,"rttvar":5,"rttSamples":4,"penalty":0,"penaltyAt":0}"#;
        assert!(from_text(good, now, 30_000).is_some());
        let tail = r#","srtt":20,"rttvar":5,"rttSamples":4,"penalty":0,"penaltyAt":0}"#;
        for bad in [
            // Version 1 (before the RTT travelled), whole.
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":3}"#,
            &good.replace(r#""srtt":20"#, r#""srtt":-20"#),
            &good.replace(r#""rttSamples":4"#, r#""rttSamples":-4"#),
            &good.replace(r#""penalty":0,"#, r#""penalty":"high","#),
            &good.replace(r#""penaltyAt":0"#, r#""penaltyAt":-1"#),
            &good.replace(r#","penalty":0"#, ""),
            &(r#"{"v":2,"leader":"http://other:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":3"#.to_owned() + tail),
            &(r#"{"v":0,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":3"#.to_owned() + tail),
            &(r#"{"v":3,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":3"#.to_owned() + tail),
            &(r#"{"v":2,"leader":"http://127.0.0.1:8081","state":"unknown","checkedAt":1000000,"leaderLatencyMs":3"#.to_owned() + tail),
            &(r#"{"v":2,"leader":"http://127.0.0.1:8081","state":"LEADER","checkedAt":1000000,"leaderLatencyMs":3"#.to_owned() + tail),
            &(r#"{"v":2,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":"yesterday","leaderLatencyMs":3"#.to_owned() + tail),
            &(r#"{"v":2,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":-3"#.to_owned() + tail),
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader"}"#,
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000"#,
            &(r#"{"v":2,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000.5,"leaderLatencyMs":3"#.to_owned() + tail),
            r#"[1,2,3]"#,
            "null",
            "",
            "\u{0}\u{ff}garbage",
        ] {
            assert!(from_text(bad, now, 30_000).is_none(), "{bad}");
            // A verdict that cannot route may still lend its numbers; anything else not.
            let lends = bad.contains("unknown") || bad.contains(".5") || bad.contains(":-3");
            assert_eq!(learnt_from_text(bad).is_some(), lends, "{bad}");
        }
    }

    #[test]
    fn the_rtt_and_the_penalty_round_trip_and_outlive_the_ttl() {
        let mut rtt = Rtt::default();
        for ms in [40.0, 55.0, 38.0, 61.0] {
            rtt.sample(ms);
        }
        let learnt = Learnt {
            rtt,
            damping: Damping {
                penalty: 1890.5,
                at: 999_000.0,
            },
        };
        let entry = Entry::new(&leader(), &snap(State::Emergency), learnt).unwrap();
        let text = serde_json::to_string(&entry).unwrap();
        assert_eq!(learnt_from_text(&text), Some(learnt));
        assert!(from_text(&text, 1_000_500.0, 30_000).is_some());
        // Too old to route by: no snapshot, but the RTT (and penalty) are still lent.
        assert_eq!(from_text(&text, 1_000_000.0 + 86_400_000.0, 30_000), None);
        assert_eq!(learnt_from_text(&text), Some(learnt));
        // The tab message carries them too.
        let told: TabMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(told, TabMessage::Told(entry));
        // Another leader's entry lends nothing.
        let other = Base::parse("leader", "http://127.0.0.1:9999", false).unwrap();
        let v: Entry = serde_json::from_str(&text).unwrap();
        assert_eq!(v.learnt(&other), None);
    }

    #[test]
    fn tab_messages_carry_a_verdict_or_a_question() {
        let ask: TabMessage = serde_json::from_str("null").unwrap();
        assert_eq!(ask, TabMessage::Ask);
        assert_eq!(serde_json::to_string(&TabMessage::Ask).unwrap(), "null");
        let entry = Entry::new(&leader(), &snap(State::Emergency), Learnt::default()).unwrap();
        let told = TabMessage::Told(entry.clone());
        let text = serde_json::to_string(&told).unwrap();
        assert_eq!(text, serde_json::to_string(&entry).unwrap());
        assert_eq!(serde_json::from_str::<TabMessage>(&text).unwrap(), told);
        assert!(serde_json::from_str::<TabMessage>(r#"{"ask":true}"#).is_err());
    }

    #[test]
    fn an_entry_tells_when_its_verdict_was_checked() {
        let s = Snapshot {
            state: State::Leader,
            leader_latency_ms: Some(3.0),
            checked_at: Some(1234.0),
            source: Source::Probe,
        };
        let entry = Entry::new(&leader(), &s, Learnt::default()).unwrap();
        assert_eq!(entry.checked_at(), 1234.0);
    }
}
