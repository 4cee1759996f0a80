//! The request policy of spec §2 and §8 in one place: the §2 table ([`table`]), what a
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
//! | follower gave no answer, then its leader retry none | any | `LEADER_UNAVAILABLE` | — |
//! | both raced sides failed, probe done | any | the healthy side's answer, else `OFFLINE` when offline, else `LEADER_UNAVAILABLE` | — |

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
pub(crate) fn table(state: State, read: bool, critical: bool) -> Decision {
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
        _ => match table(state, read, critical) {
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

/// What the caller gets once a leader failure has been judged by a probe; `A` is the
/// leader's answer, handed back when it is the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFailure<A> {
    /// The leader's own answer (a status the application gave).
    Answer(A),
    /// `LEADER_UNAVAILABLE`: a read that got no answer.
    Unavailable,
    /// `LEADER_UNAVAILABLE`: a read the leader would have had once more, with the retry
    /// budget spent (spec §2).
    BudgetSpent,
    /// The one retry of a read on the leader, drawn on the retry budget.
    RetryLeader,
    /// `OUTCOME_UNKNOWN`: a write that was sent, or may have been, and got no answer.
    OutcomeUnknown,
    /// The one retry of a critical read on the follower.
    Follower,
    Refuse(ErrorCode),
}

/// `retried`: this failure was the read's leader retry already. `withdraw_retry` draws
/// one retry on the budget, asked only when a leader retry is what the read would do.
pub(crate) fn after_leader_failure<A>(
    state: State,
    read: bool,
    critical: bool,
    answer: Option<A>,
    retried: bool,
    withdraw_retry: impl FnOnce() -> bool,
) -> AfterFailure<A> {
    if !read {
        // A write is never retried, whatever the probe says. A status (a failover one
        // too) is a known outcome, the caller's to show; with none, the request may
        // still have landed (a kernel keeps retransmitting after the page gave up).
        return answer.map_or(AfterFailure::OutcomeUnknown, AfterFailure::Answer);
    }
    if state == State::Leader {
        // The probe found the leader healthy: its answer is the application's.
        // No answer: a lossy line lost this one; a read tries the leader once more, and a
        // critical read whose retry is lost too goes to the follower.
        return match (answer, retried, critical) {
            (Some(answer), ..) => AfterFailure::Answer(answer),
            (None, false, _) if withdraw_retry() => AfterFailure::RetryLeader,
            (None, false, _) => AfterFailure::BudgetSpent,
            (None, true, true) => AfterFailure::Follower,
            (None, true, false) => AfterFailure::Unavailable,
        };
    }
    match table(state, read, critical) {
        Decision::Send(Target::Follower) => AfterFailure::Follower,
        Decision::Refuse(code) => AfterFailure::Refuse(code),
        Decision::Send(Target::Leader) | Decision::Wait => AfterFailure::Unavailable,
    }
}

/// Whether a read waiting on the leader is let go when the verdict leaves `leader`
/// (spec §2: in-flight reads follow the verdict). Writes keep their deadline, and so
/// does a read the verdict has already let keep waiting (`kept_waiting`).
pub(crate) fn follows_verdict(state: State, read: bool, kept_waiting: bool) -> bool {
    read && !kept_waiting && state == State::Leader
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
    match table(state, true, critical) {
        Decision::Send(Target::Follower) => Deserted::Race,
        Decision::Refuse(code) => Deserted::Refuse(code),
        Decision::Send(Target::Leader) | Decision::Wait => Deserted::KeepWaiting,
    }
}

/// Both origins failed a raced read and a probe has decided: the answer of the origin
/// the verdict calls healthy, when it gave one, else the code to reject with.
pub(crate) fn after_both_failed<A>(
    state: State,
    leader: Option<A>,
    follower: Option<A>,
) -> Result<A, ErrorCode> {
    match state {
        State::Leader => leader.ok_or(ErrorCode::LeaderUnavailable),
        State::Emergency => follower.ok_or(ErrorCode::LeaderUnavailable),
        State::Offline => Err(ErrorCode::Offline),
        State::Unknown => Err(ErrorCode::LeaderUnavailable),
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

/// The leader retry of a read the follower left unanswered got no answer either: it
/// rejects at once, without another probe (the one before the retry found the leader up).
pub(crate) const AFTER_LEADER_RETRY_FAILED: ErrorCode = ErrorCode::LeaderUnavailable;

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
                    table(state, false, critical),
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
            (State::Unknown, false, false, Wait),
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
            (State::Offline, false, false, Refuse(ErrorCode::Offline)),
        ];
        // Each (state, read, critical) once: the table has 4 × 2 × 2 cells.
        let mut cells: Vec<_> = cases.iter().map(|&(s, r, c, _)| (s, r, c)).collect();
        cells.sort_by_key(|&(s, r, c)| (s as u8, r, c));
        cells.dedup();
        assert_eq!(cells.len(), 16, "every cell, once");
        for (state, read, critical, want) in cases {
            assert_eq!(
                table(state, read, critical),
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

    /// The policy with a stand-in answer (`()`), the budget granting every retry.
    fn after(
        state: State,
        read: bool,
        critical: bool,
        answered: bool,
        retried: bool,
    ) -> AfterFailure<()> {
        after_leader_failure(
            state,
            read,
            critical,
            answered.then_some(()),
            retried,
            || true,
        )
    }

    #[test]
    fn a_write_is_never_retried_and_never_reaches_the_follower() {
        for state in STATES {
            for critical in [true, false] {
                for (answered, retried) in [(true, false), (false, false), (false, true)] {
                    let after = after(state, false, critical, answered, retried);
                    assert_ne!(after, AfterFailure::RetryLeader);
                    assert_ne!(after, AfterFailure::Follower);
                    // Sent and unanswered: unknown whether the probe finds the leader up
                    // or down. A status, a failover one too, is a known outcome.
                    let want = if answered {
                        AfterFailure::Answer(())
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
        const NOT_SPENT: AfterFailure<()> = Unavailable;
        // Only a write can have an unknown outcome: a read is safe to repeat.
        for state in STATES {
            for (critical, answered, retried) in [
                (true, true, false),
                (true, false, false),
                (false, true, false),
                (false, false, true),
            ] {
                assert_ne!(
                    after(state, true, critical, answered, retried),
                    OutcomeUnknown
                );
            }
        }
        assert_eq!(after(Leader, true, true, true, false), Answer(()));
        assert_eq!(after(Leader, true, true, true, true), Answer(()));
        // Healthy leader, no answer: one leader retry, then the follower for a critical read.
        assert_eq!(after(Leader, true, true, false, false), RetryLeader);
        assert_eq!(after(Leader, true, false, false, false), RetryLeader);
        assert_eq!(after(Leader, true, true, false, true), Follower);
        assert_eq!(after(Leader, true, false, false, true), NOT_SPENT);
        for retried in [false, true] {
            assert_eq!(after(Emergency, true, true, true, retried), Follower);
            assert_eq!(
                after(Emergency, true, false, true, retried),
                Refuse(ErrorCode::FeatureUnavailable)
            );
            assert_eq!(
                after(OFFLINE, true, true, false, retried),
                Refuse(ErrorCode::Offline)
            );
            assert_eq!(after(Unknown, true, true, false, retried), NOT_SPENT);
        }
    }

    #[test]
    fn a_spent_budget_fails_the_read_and_is_drawn_only_for_a_leader_retry() {
        use AfterFailure::*;
        for critical in [true, false] {
            let spent = after_leader_failure::<()>(Leader, true, critical, None, false, || false);
            assert_eq!(spent, BudgetSpent);
        }
        // The budget is asked only when a leader retry is what the read would do.
        let asked = std::cell::Cell::new(0);
        let ask = || {
            asked.set(asked.get() + 1);
            true
        };
        for state in STATES {
            for read in [true, false] {
                for (answered, retried) in [(true, false), (false, true)] {
                    let _ = after_leader_failure(
                        state,
                        read,
                        true,
                        answered.then_some(()),
                        retried,
                        ask,
                    );
                }
                if state != Leader || !read {
                    let _ = after_leader_failure::<()>(state, read, true, None, false, ask);
                }
            }
        }
        assert_eq!(asked.get(), 0);
        // Critical reads still go to the follower when the probe has failed (spec §2).
        assert_eq!(
            after_leader_failure::<()>(Emergency, true, true, None, false, || false),
            Follower
        );
    }

    #[test]
    fn both_sides_failed_after_the_probe() {
        use ErrorCode::*;
        assert_eq!(after_both_failed(Leader, Some(1), Some(2)), Ok(1));
        assert_eq!(after_both_failed(Emergency, Some(1), Some(2)), Ok(2));
        assert_eq!(
            after_both_failed(Leader, None, Some(2)),
            Err(LeaderUnavailable)
        );
        assert_eq!(
            after_both_failed(Emergency, Some(1), None),
            Err(LeaderUnavailable)
        );
        assert_eq!(after_both_failed(OFFLINE, Some(1), Some(2)), Err(Offline));
        assert_eq!(
            after_both_failed(Unknown, Some(1), Some(2)),
            Err(LeaderUnavailable)
        );
    }

    #[test]
    fn only_a_read_waiting_under_leader_follows_the_verdict() {
        let mut following = Vec::new();
        for state in STATES {
            for read in [true, false] {
                for kept_waiting in [true, false] {
                    if follows_verdict(state, read, kept_waiting) {
                        following.push((state, read, kept_waiting));
                    }
                }
            }
        }
        assert_eq!(following, [(Leader, true, false)]);
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

    #[test]
    fn a_leader_retry_after_a_follower_failure_that_fails_too_is_leader_unavailable() {
        assert_eq!(AFTER_LEADER_RETRY_FAILED, ErrorCode::LeaderUnavailable);
    }
}
