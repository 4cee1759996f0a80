//! The verdict a client holds about the leader, and the Snapshot it publishes to JS.

use serde::{Deserialize, Serialize};

/// Spec §2 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    Unknown,
    Leader,
    Emergency,
    Offline,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Leader => "leader",
            State::Emergency => "emergency",
            State::Offline => "offline",
        }
    }
}

// By hand: serde's derived enum visitor is the larger half of a cached verdict's reader.
impl<'de> Deserialize<'de> for State {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<State, D::Error> {
        let name = String::deserialize(d)?;
        [
            State::Unknown,
            State::Leader,
            State::Emergency,
            State::Offline,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
        .ok_or_else(|| serde::de::Error::custom("not a state"))
    }
}

/// Where the current verdict came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Source {
    Cache,
    Probe,
    Request,
    Peer,
}

/// Spec §4 `Snapshot`, as the plain object JS receives.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Snapshot {
    pub(crate) state: State,
    /// Round trip of the last good leader probe, in ms.
    pub(crate) leader_latency_ms: Option<f64>,
    /// Epoch ms of the verdict.
    pub(crate) checked_at: Option<f64>,
    pub(crate) source: Source,
}

impl Snapshot {
    pub(crate) fn initial() -> Self {
        Snapshot {
            state: State::Unknown,
            leader_latency_ms: None,
            checked_at: None,
            source: Source::Probe,
        }
    }

    /// Is the verdict fresh? For how many more ms it is younger than `max_age_ms`; 0 when
    /// it is as old or older, or there is none. The one answer for the tabs (a verdict
    /// worth telling, when the next probe falls due) and for a page shown again (§9).
    pub(crate) fn fresh_for_ms(&self, now_ms: f64, max_age_ms: u32) -> f64 {
        self.checked_at
            .map_or(0.0, |t| (t + f64::from(max_age_ms) - now_ms).max(0.0))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_the_object_of_spec_4() {
        let s = Snapshot {
            state: State::Emergency,
            leader_latency_ms: None,
            checked_at: Some(5.0),
            source: Source::Peer,
        };
        assert_eq!(
            serde_json::to_value(s).unwrap(),
            serde_json::json!({"state": "emergency", "leaderLatencyMs": null, "checkedAt": 5.0, "source": "peer"})
        );
    }
}
