//! The routing table of spec §2: given the verdict, where a request goes or why it is
//! refused. Refusals happen before anything is sent.

use super::config::Config;
use super::error::{ErrorCode, HealthProxyError};
use super::path::{self, Base};
use super::state::State;
use crate::cat;
use crate::prelude::*;
use alloc::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Leader,
    Follower,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Send(Target),
    /// No verdict yet: wait for the first one.
    Wait,
    Refuse(ErrorCode),
}

/// A request, checked and classified, before any verdict is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Relative to the bases, starting with `/`.
    pub rel: Cow<'a, str>,
    /// GET or HEAD: the only methods that may ever reach the follower.
    pub read: bool,
    pub critical: bool,
}

impl<'a> Plan<'a> {
    pub fn new(
        config: &Config,
        path_or_url: &'a str,
        method: &str,
    ) -> Result<Plan<'a>, HealthProxyError> {
        let read = is_read(method)?;
        let rel = path::relative(path_or_url, &config.leader, &config.follower)?;
        let critical = config.routes.is_critical(path::path_part(&rel));
        Ok(Plan {
            rel,
            read,
            critical,
        })
    }

    pub fn decide(&self, state: State) -> Decision {
        decide(state, self.read, self.critical)
    }

    pub fn url(&self, config: &Config, target: Target) -> String {
        base(config, target).join(&self.rel)
    }

    /// The error a refusal is reported with.
    pub fn refusal(&self, code: ErrorCode, method: &str) -> HealthProxyError {
        let what = cat!(method.to_ascii_uppercase(), ' ', self.rel);
        let message = match code {
            ErrorCode::NotReady => cat!(what, ": no verdict yet; await start() before routing requests"),
            ErrorCode::FeatureUnavailable => cat!(
                what,
                " is not available while the leader is down: emergency mode serves critical reads only"
            ),
            ErrorCode::LeaderUnavailable if self.read => {
                cat!(what, " needs the leader, which is unavailable")
            }
            ErrorCode::LeaderUnavailable => cat!(
                what,
                " was not sent: writes are accepted only by the leader, which is unavailable; try again when it is back"
            ),
            ErrorCode::Offline => cat!(
                what,
                " was not sent: neither the leader nor the follower can be reached, so this client appears to be offline"
            ),
            ErrorCode::InvalidConfig | ErrorCode::InvalidPath => cat!(what, " was refused"),
        };
        HealthProxyError::new(code, message)
    }
}

pub fn base(config: &Config, target: Target) -> &Base {
    match target {
        Target::Leader => &config.leader,
        Target::Follower => &config.follower,
    }
}

/// GET and HEAD are reads; every other valid method is treated as a write.
pub fn is_read(method: &str) -> Result<bool, HealthProxyError> {
    let token = !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(HealthProxyError::path(cat!(
            "method ",
            super::value::quote(method),
            " is not an HTTP method name"
        )));
    }
    Ok(method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD"))
}

/// Spec §2, one cell per (state, kind of request).
pub fn decide(state: State, read: bool, critical: bool) -> Decision {
    match (state, read, critical) {
        (State::Unknown, _, _) => Decision::Wait,
        (State::Leader, _, _) => Decision::Send(Target::Leader),
        (State::Emergency, true, true) => Decision::Send(Target::Follower),
        (State::Emergency, true, false) => Decision::Refuse(ErrorCode::FeatureUnavailable),
        (State::Emergency, false, _) => Decision::Refuse(ErrorCode::LeaderUnavailable),
        (State::Offline, _, _) => Decision::Refuse(ErrorCode::Offline),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

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
                decide(state, read, critical),
                want,
                "{state:?} read={read} critical={critical}"
            );
        }
    }

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
                    decide(state, false, critical),
                    Decision::Send(Target::Follower)
                );
            }
        }
    }

    #[test]
    fn methods() {
        assert!(is_read("GET").unwrap());
        assert!(is_read("head").unwrap());
        for w in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"] {
            assert!(!is_read(w).unwrap(), "{w}");
        }
        for bad in ["", "GE T", "GET\n", "G(ET"] {
            assert_eq!(is_read(bad).unwrap_err().code, ErrorCode::InvalidPath);
        }
    }
}
