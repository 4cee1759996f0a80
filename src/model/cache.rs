//! The verdict as it is kept in Web Storage and told to other tabs (spec §6): versioned,
//! naming the leader it is about. Anything that does not decode into a fresh verdict for
//! this leader is ignored, never an error.

use super::path::Base;
use super::state::{Snapshot, Source, State};
use serde::{Deserialize, Serialize};

pub(crate) const VERSION: u32 = 1;

/// One stored verdict (JSON text through the platform's `JSON.stringify`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Verdict {
    v: u32,
    leader: String,
    state: State,
    /// Whole epoch milliseconds.
    checked_at: f64,
    leader_latency_ms: Option<f64>,
}

/// What tabs of one site post to each other: a verdict one of them reached itself, or a
/// question to the prober from a tab that started without one. On the wire a question is
/// `null` and a verdict its own object, so the one serde reader of a message is the
/// verdict's (a wrapper struct would bring its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "Option<Verdict>", into = "Option<Verdict>")]
pub(crate) enum TabMessage {
    Told(Verdict),
    Ask,
}

impl From<Option<Verdict>> for TabMessage {
    fn from(verdict: Option<Verdict>) -> Self {
        verdict.map_or(TabMessage::Ask, TabMessage::Told)
    }
}

impl From<TabMessage> for Option<Verdict> {
    fn from(message: TabMessage) -> Self {
        match message {
            TabMessage::Told(verdict) => Some(verdict),
            TabMessage::Ask => None,
        }
    }
}

impl Verdict {
    /// The entry for `snapshot`, or `None` when there is no verdict to keep.
    pub(crate) fn new(leader: &Base, snapshot: &Snapshot) -> Option<Verdict> {
        let checked_at = snapshot.checked_at.filter(|t| t.is_finite() && *t >= 0.0)?;
        if snapshot.state == State::Unknown {
            return None;
        }
        Some(Verdict {
            v: VERSION,
            leader: leader.as_str().to_string(),
            state: snapshot.state,
            checked_at: checked_at.round(),
            leader_latency_ms: snapshot
                .leader_latency_ms
                .filter(|l| l.is_finite() && *l >= 0.0)
                .map(f64::round),
        })
    }

    /// The snapshot this entry holds, when it is about `leader`, of this version, and
    /// checked within the last `ttl_ms` (not in the future).
    pub(crate) fn decode(&self, leader: &Base, now_ms: f64, ttl_ms: u32) -> Option<Snapshot> {
        if self.v != VERSION || self.leader != leader.as_str() || self.state == State::Unknown {
            return None;
        }
        if self.checked_at < 0.0 || self.checked_at.fract() != 0.0 {
            return None;
        }
        if !(0.0..f64::from(ttl_ms)).contains(&(now_ms - self.checked_at)) {
            return None;
        }
        if self
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
        serde_json::from_str::<Verdict>(text)
            .ok()?
            .decode(&leader(), now, ttl)
    }

    fn text(snapshot: &Snapshot) -> String {
        serde_json::to_string(&Verdict::new(&leader(), snapshot).unwrap()).unwrap()
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
        assert_eq!(Verdict::new(&leader(), &Snapshot::initial()), None);
        assert_eq!(
            text(&snap(State::Leader)),
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000.0,"leaderLatencyMs":12.0}"#
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
        let good = r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":3}"#;
        assert!(from_text(good, now, 30_000).is_some());
        for bad in [
            r#"{"v":1,"leader":"http://other:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":3}"#,
            r#"{"v":0,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":3}"#,
            r#"{"v":2,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":3}"#,
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"unknown","checkedAt":1000000,"leaderLatencyMs":3}"#,
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"LEADER","checkedAt":1000000,"leaderLatencyMs":3}"#,
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":"yesterday","leaderLatencyMs":3}"#,
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000,"leaderLatencyMs":-3}"#,
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader"}"#,
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000"#,
            r#"{"v":1,"leader":"http://127.0.0.1:8081","state":"leader","checkedAt":1000000.5,"leaderLatencyMs":3}"#,
            r#"[1,2,3]"#,
            "null",
            "",
            "\u{0}\u{ff}garbage",
        ] {
            assert!(from_text(bad, now, 30_000).is_none(), "{bad}");
        }
    }

    #[test]
    fn tab_messages_carry_a_verdict_or_a_question() {
        let ask: TabMessage = serde_json::from_str("null").unwrap();
        assert_eq!(ask, TabMessage::Ask);
        assert_eq!(serde_json::to_string(&TabMessage::Ask).unwrap(), "null");
        let verdict = Verdict::new(&leader(), &snap(State::Emergency)).unwrap();
        let told = TabMessage::Told(verdict.clone());
        let text = serde_json::to_string(&told).unwrap();
        assert_eq!(text, serde_json::to_string(&verdict).unwrap());
        assert_eq!(serde_json::from_str::<TabMessage>(&text).unwrap(), told);
        assert!(serde_json::from_str::<TabMessage>(r#"{"ask":true}"#).is_err());
    }
}
