//! Spec §2 / issue 33 "say why writes fail": writes that keep failing with a network
//! error while the leader's probes succeed are most likely refused by the leader's CORS
//! preflight. After two in a row, one console warning per page names the cause and the
//! fix. Never a state change, no request of its own.

/// Writes in a row that end this way before the warning.
pub(crate) const IN_A_ROW: u32 = 2;

/// Counts writes that failed with a network error while the probe found the leader up.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CorsHint {
    streak: u32,
}

impl CorsHint {
    /// A write got an answer (any status): the leader's CORS let it through.
    pub(crate) fn answered(&mut self) {
        self.streak = 0;
    }

    /// A write got a network error (no status) and the probe that followed found the
    /// leader `leader_up`. True when this makes [`IN_A_ROW`]: the time to warn.
    pub(crate) fn failed(&mut self, leader_up: bool) -> bool {
        if !leader_up {
            // The leader itself is down: nothing to say about its CORS.
            self.streak = 0;
            return false;
        }
        self.streak = self.streak.saturating_add(1);
        self.streak == IN_A_ROW
    }
}

/// The warning: the likely cause and the fix, naming the headers (`Content-Type`, and
/// `writes.idempotencyKey`'s header when set) and the method the leader's preflight
/// answer must allow.
pub(crate) fn warning(method: &str, key: Option<&str>) -> String {
    let (and, key) = key.map_or(("", ""), |k| (" and ", k));
    format!(
        "health-proxy: writes fail (network error) while the leader's health check passes: \
         likely its CORS. Access-Control-Allow-Headers must list Content-Type{and}{key}, \
         and -Methods {method}."
    )
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn two_in_a_row_while_the_leader_is_up_warn_once_per_streak() {
        let mut h = CorsHint::default();
        assert!(!h.failed(true));
        assert!(h.failed(true));
        assert!(!h.failed(true), "a third failure does not warn again");
    }

    #[test]
    fn an_answer_or_a_down_leader_breaks_the_streak() {
        let mut h = CorsHint::default();
        assert!(!h.failed(true));
        h.answered();
        assert!(!h.failed(true));
        assert!(!h.failed(false));
        assert!(!h.failed(true));
        assert!(h.failed(true));
    }

    #[test]
    fn the_warning_names_the_headers_and_the_method() {
        let w = warning("POST", Some("Idempotency-Key"));
        assert!(
            w.contains("Access-Control-Allow-Headers must list Content-Type and Idempotency-Key"),
            "{w}"
        );
        assert!(w.contains("-Methods POST"), "{w}");
        let w = warning("PUT", None);
        assert!(w.contains("list Content-Type, and -Methods PUT"), "{w}");
    }
}
