//! The request policy of spec §2 and §8 in one place: the §2 table ([`route`]), what a
//! request does when it is made, when its leader is slow, and after a failure once a probe has decided. Like
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
//! | leader failed, probe done | `leader` | leader's own answer, else one leader retry (budget), then the follower | reads: same, no follower |
//! | leader failed, probe done | other | retry once on the follower, or the §2 refusal | reads: `LEADER_UNAVAILABLE` |
//! | write failed, probe done | any | — | the leader's answer (a failover status is a known outcome), else `OUTCOME_UNKNOWN`; never retried |
//! | state left `leader` while waiting | other | follower joins | §2 refusal; writes keep waiting |
//! | follower gave no answer, probe done | `leader` | once on the leader | — |
//! | follower gave no answer, probe done | other | `OFFLINE` when offline, else `LEADER_UNAVAILABLE` | — |

use super::error::ErrorCode;
use super::state::State;
use super::target::Target;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Send(Target),
    /// No verdict yet: wait for the first one.
    Wait,
    Refuse(ErrorCode),
}

/// Spec §2, one cell per (state, kind of request).
pub(crate) fn route(state: State, read: bool, critical: bool) -> Decision {
    match (state, read, critical) {
        (State::Unknown, _, _) => Decision::Wait,
        (State::Leader, _, _) => Decision::Send(Target::Leader),
        (State::Emergency, true, true) => Decision::Send(Target::Follower),
        (State::Emergency, true, false) => Decision::Refuse(ErrorCode::FeatureUnavailable),
        (State::Emergency, false, _) => Decision::Refuse(ErrorCode::LeaderUnavailable),
        (State::Offline, _, _) => Decision::Refuse(ErrorCode::Offline),
    }
}

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
        _ => match route(state, read, critical) {
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
    /// `LEADER_UNAVAILABLE`: a read that got no answer.
    Unavailable,
    /// The one retry of a read on the leader, drawn on the retry budget.
    RetryLeader,
    /// `OUTCOME_UNKNOWN`: a write that was sent, or may have been, and got no answer.
    OutcomeUnknown,
    /// The one retry of a critical read on the follower.
    Follower,
    Refuse(ErrorCode),
}

/// `retried`: this failure was the read's leader retry already.
pub(crate) fn after_leader_failure(
    state: State,
    read: bool,
    critical: bool,
    answered: bool,
    retried: bool,
) -> AfterFailure {
    if !read {
        // A write is never retried, whatever the probe says. A status (a failover one
        // too) is a known outcome, the caller's to show; with none, the request may
        // still have landed (a kernel keeps retransmitting after the page gave up).
        return if answered {
            AfterFailure::Answer
        } else {
            AfterFailure::OutcomeUnknown
        };
    }
    if state == State::Leader {
        // The probe found the leader healthy: its answer is the application's.
        // No answer: a lossy line lost this one; a read tries the leader once more, and a
        // critical read whose retry is lost too goes to the follower.
        return match (answered, read, retried, critical) {
            (true, ..) => AfterFailure::Answer,
            (false, true, false, _) => AfterFailure::RetryLeader,
            (false, true, true, true) => AfterFailure::Follower,
            _ => AfterFailure::Unavailable,
        };
    }
    match route(state, read, critical) {
        Decision::Send(Target::Follower) => AfterFailure::Follower,
        Decision::Refuse(code) => AfterFailure::Refuse(code),
        Decision::Send(Target::Leader) | Decision::Wait => AfterFailure::Unavailable,
    }
}

/// A read still waiting on the leader when the state left `leader` (spec §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deserted {
    /// The follower joins; the first good answer wins.
    Race,
    Refuse(ErrorCode),
    KeepWaiting,
}

pub(crate) fn when_left_leader(state: State, critical: bool) -> Deserted {
    match route(state, true, critical) {
        Decision::Send(Target::Follower) => Deserted::Race,
        Decision::Refuse(code) => Deserted::Refuse(code),
        Decision::Send(Target::Leader) | Decision::Wait => Deserted::KeepWaiting,
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

/// A read the follower left unanswered (a network error or a timeout), once a probe has
/// decided: the leader when it is back, else the refusal the verdict gives. Only a probe
/// tells `offline` from a follower that dropped one request.
pub(crate) fn after_follower_failure(state: State) -> Result<Target, ErrorCode> {
    match state {
        State::Leader => Ok(Target::Leader),
        State::Offline => Err(ErrorCode::Offline),
        State::Emergency | State::Unknown => Err(ErrorCode::LeaderUnavailable),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use State::{Emergency, Leader, Unknown};
    const OFFLINE: State = State::Offline;

    const STATES: [State; 4] = [Unknown, Leader, Emergency, OFFLINE];

    #[test]
    fn a_write_never_goes_to_the_follower() {
        for state in [
            State::Unknown,
            State::Leader,
            State::Emergency,
            State::Offline,
        ] {
            for critical in [true, false] {
                assert_ne!(
                    route(state, false, critical),
                    Decision::Send(Target::Follower)
                );
            }
        }
    }

    #[test]
    fn every_cell_of_the_table() {
        use Decision::*;
        use Target::*;
        let cases = [
            // state, read, critical, expected
            (State::Unknown, true, true, Wait),
            (State::Unknown, true, false, Wait),
            (State::Unknown, false, true, Wait),
            (State::Leader, true, true, Send(Leader)),
            (State::Leader, true, false, Send(Leader)),
            (State::Leader, false, true, Send(Leader)),
            (State::Leader, false, false, Send(Leader)),
            (State::Emergency, true, true, Send(Follower)),
            (
                State::Emergency,
                true,
                false,
                Refuse(ErrorCode::FeatureUnavailable),
            ),
            (
                State::Emergency,
                false,
                true,
                Refuse(ErrorCode::LeaderUnavailable),
            ),
            (
                State::Emergency,
                false,
                false,
                Refuse(ErrorCode::LeaderUnavailable),
            ),
            (State::Offline, true, true, Refuse(ErrorCode::Offline)),
            (State::Offline, true, false, Refuse(ErrorCode::Offline)),
            (State::Offline, false, true, Refuse(ErrorCode::Offline)),
        ];
        for (state, read, critical, want) in cases {
            assert_eq!(
                route(state, read, critical),
                want,
                "{state:?} read={read} critical={critical}"
            );
        }
    }

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
                for (answered, retried) in [(true, false), (false, false), (false, true)] {
                    let after = after_leader_failure(state, false, critical, answered, retried);
                    assert_ne!(after, AfterFailure::RetryLeader);
                    assert_ne!(after, AfterFailure::Follower);
                    // Sent and unanswered: unknown whether the probe finds the leader up
                    // or down. A status, a failover one too, is a known outcome.
                    let want = if answered {
                        AfterFailure::Answer
                    } else {
                        AfterFailure::OutcomeUnknown
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
        // Only a write can have an unknown outcome: a read is safe to repeat.
        for state in STATES {
            for (critical, answered, retried) in [
                (true, true, false),
                (true, false, false),
                (false, true, false),
                (false, false, true),
            ] {
                assert_ne!(
                    after_leader_failure(state, true, critical, answered, retried),
                    OutcomeUnknown
                );
            }
        }
        assert_eq!(
            after_leader_failure(Leader, true, true, true, false),
            Answer
        );
        assert_eq!(after_leader_failure(Leader, true, true, true, true), Answer);
        // Healthy leader, no answer: one leader retry, then the follower for a critical read.
        assert_eq!(
            after_leader_failure(Leader, true, true, false, false),
            RetryLeader
        );
        assert_eq!(
            after_leader_failure(Leader, true, false, false, false),
            RetryLeader
        );
        assert_eq!(
            after_leader_failure(Leader, true, true, false, true),
            Follower
        );
        assert_eq!(
            after_leader_failure(Leader, true, false, false, true),
            Unavailable
        );
        for retried in [false, true] {
            assert_eq!(
                after_leader_failure(Emergency, true, true, true, retried),
                Follower
            );
            assert_eq!(
                after_leader_failure(Emergency, true, false, true, retried),
                Refuse(ErrorCode::FeatureUnavailable)
            );
            assert_eq!(
                after_leader_failure(OFFLINE, true, true, false, retried),
                Refuse(ErrorCode::Offline)
            );
            assert_eq!(
                after_leader_failure(Unknown, true, true, false, retried),
                Unavailable
            );
        }
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

    #[test]
    fn reads_waiting_on_a_leader_the_verdict_left() {
        assert_eq!(when_left_leader(Emergency, true), Deserted::Race);
        assert_eq!(
            when_left_leader(Emergency, false),
            Deserted::Refuse(ErrorCode::FeatureUnavailable)
        );
        for critical in [true, false] {
            assert_eq!(
                when_left_leader(OFFLINE, critical),
                Deserted::Refuse(ErrorCode::Offline)
            );
            assert_eq!(when_left_leader(Leader, critical), Deserted::KeepWaiting);
        }
    }

    #[test]
    fn an_unanswered_follower_read_after_the_probe() {
        assert_eq!(after_follower_failure(Leader), Ok(Target::Leader));
        assert_eq!(after_follower_failure(OFFLINE), Err(ErrorCode::Offline));
        assert_eq!(
            after_follower_failure(Emergency),
            Err(ErrorCode::LeaderUnavailable),
            "the probe found the follower up: not offline"
        );
        assert_eq!(
            after_follower_failure(Unknown),
            Err(ErrorCode::LeaderUnavailable)
        );
    }
}
