//! The verdict cache codec (spec §6): versioned JSON naming the leader it is about.
//! Anything that does not decode into a fresh verdict for this leader is ignored.

use super::path::Base;
use super::state::{Snapshot, Source, State};
use super::value::{json_string, Value};
use crate::cat;
use crate::prelude::*;

pub const VERSION: u32 = 1;

/// The JSON text stored for `snapshot`, or `None` when there is no verdict to keep.
/// Times are whole milliseconds, so the reader needs no float parsing.
pub fn encode(leader: &Base, snapshot: &Snapshot) -> Option<String> {
    let checked_at = snapshot.checked_at.filter(|t| t.is_finite() && *t >= 0.0)?;
    if snapshot.state == State::Unknown {
        return None;
    }
    let latency = match snapshot
        .leader_latency_ms
        .filter(|l| l.is_finite() && *l >= 0.0)
    {
        Some(l) => cat!(whole_ms(l)),
        None => "null".to_string(),
    };
    Some(cat!(
        "{\"v\":",
        VERSION,
        ",\"leader\":",
        json_string(leader.as_str()),
        ",\"state\":\"",
        snapshot.state.as_str(),
        "\",\"checkedAt\":",
        whole_ms(checked_at),
        ",\"leaderLatencyMs\":",
        latency,
        "}"
    ))
}

/// A non-negative time rounded to whole milliseconds.
fn whole_ms(t: f64) -> u64 {
    (t + 0.5) as u64
}

/// Decodes a stored entry (the platform parses the text). Foreign, old, expired,
/// future-dated or malformed: `None`, never an error.
pub fn decode(entry: &Value, leader: &Base, now_ms: f64, ttl_ms: u32) -> Option<Snapshot> {
    let num = |key| match entry.get(key) {
        Some(Value::Num(n)) => Some(*n),
        _ => None,
    };
    let text_of = |key| match entry.get(key) {
        Some(Value::Str(s)) => Some(s.as_str()),
        _ => None,
    };
    if num("v")? != f64::from(VERSION) || text_of("leader")? != leader.as_str() {
        return None;
    }
    let state = match State::parse(text_of("state")?)? {
        State::Unknown => return None,
        s => s,
    };
    let checked_at = num("checkedAt").filter(|t| *t >= 0.0 && (*t as u64) as f64 == *t)?;
    if !(0.0..f64::from(ttl_ms)).contains(&(now_ms - checked_at)) {
        return None;
    }
    let latency = match entry.get("leaderLatencyMs") {
        None => None,
        Some(Value::Num(l)) if *l >= 0.0 => Some(*l),
        Some(_) => return None,
    };
    Some(Snapshot {
        state,
        leader_latency_ms: latency,
        checked_at: Some(checked_at),
        source: Source::Cache,
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::value::tests::from_json;

    /// As the platform does it: text that is not JSON never reaches `decode`.
    fn parsed(text: &str) -> Option<Value> {
        serde_json::from_str(text).ok().map(|v| from_json(&v))
    }

    fn leader() -> Base {
        Base::parse("leader", "http://127.0.0.1:8081", false).unwrap()
    }

    fn from_text(text: &str, now: f64, ttl: u32) -> Option<Snapshot> {
        decode(&parsed(text)?, &leader(), now, ttl)
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
            let text = encode(&leader(), &snap(state)).unwrap();
            let back = from_text(&text, 1_000_500.0, 30_000).unwrap();
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
        let text = encode(&leader(), &no_latency).unwrap();
        assert_eq!(
            from_text(&text, 1_000_000.0, 1).unwrap().leader_latency_ms,
            None
        );
        assert_eq!(encode(&leader(), &Snapshot::initial()), None);
    }

    #[test]
    fn expired_and_future_entries_are_ignored() {
        let text = encode(&leader(), &snap(State::Leader)).unwrap();
        assert!(from_text(&text, 1_029_999.0, 30_000).is_some());
        assert!(from_text(&text, 1_030_000.0, 30_000).is_none());
        assert!(
            from_text(&text, 999_999.0, 30_000).is_none(),
            "dated in the future"
        );
        assert!(
            from_text(&text, 1_000_000.0, 0).is_none(),
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
    fn leader_names_are_escaped() {
        let odd = Base::parse("leader", "https://xn--caf-dma.example/a\"b", false).unwrap();
        let text = encode(&odd, &snap(State::Leader)).unwrap();
        assert!(decode(&parsed(&text).unwrap(), &odd, 1_000_001.0, 10).is_some());
        // What we write is plain JSON to any other reader too.
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["leader"], "https://xn--caf-dma.example/a\"b");
    }
}
