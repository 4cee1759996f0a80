//! Spec §2 / issue 33 "say why writes fail": writes that keep failing with a network
//! error while the leader's probes succeed are most likely refused by the leader's CORS
//! preflight. After two in a row, one console warning per page names the cause and the
//! fix. Never a state change, no request of its own.

use std::fmt::Write as _;

/// Writes in a row that end this way before the warning.
pub(crate) const IN_A_ROW: u32 = 2;

/// Counts writes that failed with a network error while the probe found the leader up.
#[derive(Debug, Default)]
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

/// The request headers a CORS preflight must allow: every header that is not
/// CORS-safelisted (`Content-Type` only with a form or text value), as sent.
pub(crate) fn preflighted(headers: &[(String, String)]) -> Vec<&str> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        let safe = match lower.as_str() {
            "accept" | "accept-language" | "content-language" => true,
            "content-type" => {
                let essence = value.split(';').next().unwrap_or("").trim();
                [
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "text/plain",
                ]
                .iter()
                .any(|t| essence.eq_ignore_ascii_case(t))
            }
            _ => false,
        };
        if !safe {
            out.push(name.as_str());
        }
    }
    out
}

/// The warning: the likely cause and the fix, naming the headers and the method the
/// leader's preflight answer must allow.
pub(crate) fn warning(leader: &str, method: &str, headers: &[&str]) -> String {
    let mut m = format!(
        "health-proxy: {IN_A_ROW} writes in a row to {leader} failed with a network error \
         (no status) while its health check succeeds. The likely cause is the leader's CORS: \
         its preflight (OPTIONS) answer must allow"
    );
    if !headers.is_empty() {
        let _ = write!(
            m,
            " the header{} ",
            if headers.len() > 1 { "s" } else { "" }
        );
        for (i, h) in headers.iter().enumerate() {
            let sep = match i {
                0 => "",
                _ if i + 1 == headers.len() => " and ",
                _ => ", ",
            };
            let _ = write!(m, "{sep}{h}");
        }
        let _ = write!(m, " in Access-Control-Allow-Headers and");
    }
    let _ = write!(
        m,
        " the method {method} in Access-Control-Allow-Methods (with Content-Type and \
         writes.idempotencyKey's header when it is set). Until then these writes end \
         OUTCOME_UNKNOWN."
    );
    m
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn pairs(h: &[(&str, &str)]) -> Vec<(String, String)> {
        h.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

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
    fn the_headers_a_preflight_must_allow_are_named() {
        let sent = pairs(&[
            ("content-type", "application/json"),
            ("idempotency-key", "k"),
            ("accept", "application/json"),
        ]);
        assert_eq!(preflighted(&sent), ["content-type", "idempotency-key"]);
        let form = pairs(&[("content-type", "text/plain;charset=UTF-8")]);
        assert!(preflighted(&form).is_empty());
    }

    #[test]
    fn the_warning_names_the_header_and_the_method() {
        let w = warning(
            "https://leader.example",
            "POST",
            &["content-type", "idempotency-key"],
        );
        assert!(
            w.contains(
                "the headers content-type and idempotency-key in Access-Control-Allow-Headers"
            ),
            "{w}"
        );
        assert!(w.contains("the method POST"), "{w}");
        let w = warning("https://leader.example", "PUT", &[]);
        assert!(!w.contains("Allow-Headers"), "{w}");
    }
}
