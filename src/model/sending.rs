//! Spec §4 "Redirects" and "Credentials to the follower": what a request the proxy sends
//! carries, and what a redirect answer counts as. The engine sends every request with
//! `redirect: "manual"`, so a redirect comes back as an answer instead of being followed.

use super::target::Target;

/// Whether a request to `target` keeps the caller's credentials (its `Authorization`
/// header and cookies): always to the leader, to the follower only when the config says
/// it takes them (`followerCredentials`).
pub(crate) fn keeps_credentials(target: Target, follower_credentials: bool) -> bool {
    match target {
        Target::Leader => true,
        Target::Follower => follower_credentials,
    }
}

/// How an answer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judged {
    /// The caller's answer.
    Good,
    /// A failure of the side that sent it (spec §3) that still carries an answer: a
    /// failover status.
    FailedAnswered,
    /// A failure of the side that sent it with no answer worth handing over: a read's
    /// redirect (an API that redirects is misconfigured or a captive portal).
    FailedUnanswered,
}

/// `redirected`: fetch's `opaqueredirect`, or a 3xx where the platform shows it.
pub(crate) fn judge(read: bool, redirected: bool, failover_status: bool) -> Judged {
    match (redirected, read) {
        // A write's redirect is its outcome: the write was not taken, and its body was
        // not sent on.
        (true, false) => Judged::Good,
        (true, true) => Judged::FailedUnanswered,
        _ if failover_status => Judged::FailedAnswered,
        _ => Judged::Good,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn credentials_stay_with_the_leader_unless_configured() {
        assert!(keeps_credentials(Target::Leader, false));
        assert!(!keeps_credentials(Target::Follower, false));
        assert!(keeps_credentials(Target::Follower, true));
    }

    #[test]
    fn a_redirected_read_fails_its_side_and_a_redirected_write_is_its_answer() {
        assert_eq!(judge(true, true, false), Judged::FailedUnanswered);
        assert_eq!(judge(false, true, false), Judged::Good);
        assert_eq!(judge(true, false, true), Judged::FailedAnswered);
        assert_eq!(judge(false, false, true), Judged::FailedAnswered);
        assert_eq!(judge(true, false, false), Judged::Good);
    }
}
