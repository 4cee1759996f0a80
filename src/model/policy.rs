//! The request policy of spec §2 and §8 in one place: what a request does when it is
//! made, when its leader is slow, and after a failure once a probe has decided. Like
//! tower's `retry::Policy`, it only decides; `engine/request.rs` carries it out.
//!
//! | moment | verdict now | critical GET/HEAD | other request |
//! |---|---|---|---|
//! | made | `unknown` | leader, watched (cold start) | await the first verdict |
//! | made | `leader` | leader, watched (confirmation) | leader |
//! | made | `emergency` / `offline` | the §2 table | the §2 table |
//! | silent for `raceAfterMs` | `unknown`, `emergency` | follower joins | — |
//! | silent for `raceAfterMs` | `leader` | probe the leader now | — |
//! | confirmation probe done | `emergency` | follower joins | — |
//! | probe open past the bound | any | the first such read per probe also goes to the follower (no state change); others wait for the probe | — |
//! | leader failed, probe done | `leader` | leader's own answer, else `LEADER_UNAVAILABLE` | same (writes too) |
//! | leader failed, probe done | other | retry once on the follower, or the §2 refusal | `LEADER_UNAVAILABLE`, never retried |

use super::error::ErrorCode;
use super::routing::{decide, Decision, Target};
use super::state::State;

/// What a request does when it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Refuse(ErrorCode),
    /// No verdict yet and not a critical read: wait for the first one, then start again.
    AwaitVerdict,
    /// Send to the leader; `watched` reads race a silent leader (spec §8).
    Leader {
        watched: bool,
    },
    Follower,
}

pub(crate) fn start(state: State, read: bool, critical: bool) -> Start {
    let critical_read = read && critical;
    match (state, critical_read) {
        (State::Unknown, true) | (State::Leader, true) => Start::Leader { watched: true },
        _ => match decide(state, read, critical) {
            Decision::Send(Target::Leader) => Start::Leader { watched: false },
            Decision::Send(Target::Follower) => Start::Follower,
            Decision::Refuse(code) => Start::Refuse(code),
            Decision::Wait => Start::AwaitVerdict,
        },
    }
}

/// What a watched read does next, while its leader request is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watch {
    /// Send the read to the follower as well; the first good answer wins.
    JoinFollower,
    /// Probe the leader now (leader only) and watch the probe.
    Confirm,
    KeepWaiting,
}

/// The leader has not answered within `raceAfterMs`. The follower joins only while there
/// is no verdict or the verdict says the leader is down: a read whose probe has meanwhile
/// found the leader up never reaches the follower (it confirms instead, unless that probe
/// answered after the read was sent: then it has confirmed already, and probing again
/// would make tabs that start together on a busy machine probe once each, spec §8).
pub(crate) fn when_slow(state: State, probed_since_sent: bool) -> Watch {
    match state {
        State::Unknown | State::Emergency => Watch::JoinFollower,
        State::Leader if probed_since_sent => Watch::KeepWaiting,
        State::Leader => Watch::Confirm,
        State::Offline => Watch::KeepWaiting,
    }
}

/// The confirmation probe has finished: only a verdict of `emergency` sends the read on.
pub(crate) fn when_confirmed(state: State) -> Watch {
    match state {
        State::Emergency => Watch::JoinFollower,
        State::Unknown | State::Leader | State::Offline => Watch::KeepWaiting,
    }
}

/// The confirmation probe has been open for the bound (spec §8 "early escape"): the read
/// alone also goes to the follower; the verdict waits for the probe. One read per probe:
/// the others sent into the same stall wait for the probe's verdict, which keeps a
/// jittery but healthy leader to one follower request per stall.
pub(crate) fn when_escaping(first_for_this_probe: bool) -> Watch {
    if first_for_this_probe {
        Watch::JoinFollower
    } else {
        Watch::KeepWaiting
    }
}

/// What the caller gets once a leader failure has been judged by a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// The leader's own answer (a status the application gave).
    Answer,
    /// `LEADER_UNAVAILABLE`: no answer, or a write whose outcome is unknown.
    Unavailable,
    /// The one retry of a critical read on the follower.
    Follower,
    Refuse(ErrorCode),
}

pub(crate) fn after_leader_failure(
    state: State,
    read: bool,
    critical: bool,
    answered: bool,
) -> AfterFailure {
    if state == State::Leader {
        // The probe found the leader healthy: its answer is the application's, writes too.
        return if answered {
            AfterFailure::Answer
        } else {
            AfterFailure::Unavailable
        };
    }
    if !read {
        return AfterFailure::Unavailable;
    }
    match decide(state, read, critical) {
        Decision::Send(Target::Follower) => AfterFailure::Follower,
        Decision::Refuse(code) => AfterFailure::Refuse(code),
        Decision::Send(Target::Leader) | Decision::Wait => AfterFailure::Unavailable,
    }
}

/// Both origins failed a raced read and a probe has decided: whose answer, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BothFailed {
    /// The answer of the origin the verdict calls healthy, when it gave one.
    Answer(Target),
    Refuse(ErrorCode),
}

pub(crate) fn after_both_failed(state: State) -> BothFailed {
    match state {
        State::Leader => BothFailed::Answer(Target::Leader),
        State::Emergency => BothFailed::Answer(Target::Follower),
        State::Offline => BothFailed::Refuse(ErrorCode::Offline),
        State::Unknown => BothFailed::Refuse(ErrorCode::LeaderUnavailable),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use State::{Emergency, Leader, Unknown};
    const OFFLINE: State = State::Offline;

    const STATES: [State; 4] = [Unknown, Leader, Emergency, OFFLINE];

    #[test]
    fn how_requests_start() {
        use ErrorCode::*;
        let cases = [
            // state, read, critical, start
            (Unknown, true, true, Start::Leader { watched: true }),
            (Unknown, true, false, Start::AwaitVerdict),
            (Unknown, false, true, Start::AwaitVerdict),
            (Leader, true, true, Start::Leader { watched: true }),
            (Leader, true, false, Start::Leader { watched: false }),
            (Leader, false, true, Start::Leader { watched: false }),
            (Emergency, true, true, Start::Follower),
            (Emergency, true, false, Start::Refuse(FeatureUnavailable)),
            (Emergency, false, true, Start::Refuse(LeaderUnavailable)),
            (OFFLINE, true, true, Start::Refuse(Offline)),
            (OFFLINE, false, false, Start::Refuse(Offline)),
        ];
        for (state, read, critical, want) in cases {
            assert_eq!(
                start(state, read, critical),
                want,
                "{state:?} {read} {critical}"
            );
        }
    }

    #[test]
    fn the_follower_joins_a_slow_read_only_without_a_good_verdict() {
        for probed_since_sent in [false, true] {
            assert_eq!(when_slow(Unknown, probed_since_sent), Watch::JoinFollower);
            assert_eq!(when_slow(Emergency, probed_since_sent), Watch::JoinFollower);
            assert_eq!(when_slow(OFFLINE, probed_since_sent), Watch::KeepWaiting);
        }
        assert_eq!(
            when_slow(Leader, false),
            Watch::Confirm,
            "spec §8: the next rule applies"
        );
        assert_eq!(
            when_slow(Leader, true),
            Watch::KeepWaiting,
            "a probe answered after the read was sent: confirmed already"
        );
        for state in STATES {
            assert_eq!(
                when_confirmed(state) == Watch::JoinFollower,
                state == Emergency
            );
        }
        assert_eq!(when_escaping(true), Watch::JoinFollower);
        assert_eq!(when_escaping(false), Watch::KeepWaiting);
    }

    #[test]
    fn a_write_is_never_retried_and_never_reaches_the_follower() {
        for state in STATES {
            for critical in [true, false] {
                for answered in [true, false] {
                    let after = after_leader_failure(state, false, critical, answered);
                    assert_ne!(after, AfterFailure::Follower);
                    let want = if state == Leader && answered {
                        AfterFailure::Answer
                    } else {
                        AfterFailure::Unavailable
                    };
                    assert_eq!(after, want, "{state:?} {critical} {answered}");
                }
                assert!(!matches!(start(state, false, critical), Start::Follower));
            }
        }
    }

    #[test]
    fn a_failed_read_after_the_probe() {
        use AfterFailure::*;
        assert_eq!(after_leader_failure(Leader, true, true, true), Answer);
        assert_eq!(after_leader_failure(Leader, true, true, false), Unavailable);
        assert_eq!(after_leader_failure(Emergency, true, true, true), Follower);
        assert_eq!(
            after_leader_failure(Emergency, true, false, true),
            Refuse(ErrorCode::FeatureUnavailable)
        );
        assert_eq!(
            after_leader_failure(OFFLINE, true, true, false),
            Refuse(ErrorCode::Offline)
        );
        assert_eq!(
            after_leader_failure(Unknown, true, true, false),
            Unavailable
        );
        assert_eq!(
            after_both_failed(Leader),
            BothFailed::Answer(Target::Leader)
        );
        assert_eq!(
            after_both_failed(Emergency),
            BothFailed::Answer(Target::Follower)
        );
        assert_eq!(
            after_both_failed(OFFLINE),
            BothFailed::Refuse(ErrorCode::Offline)
        );
    }
}
