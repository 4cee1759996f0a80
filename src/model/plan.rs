//! A request checked and classified before any verdict applies: read or write, its
//! route, its two bases, and the words its refusals carry.

use super::config::{is_token, Config};
use super::error::{ErrorCode, HealthProxyError, RequestError};
use super::path::{self, Base};
use super::target::Target;
use std::borrow::Cow;

/// A request, checked and classified, before any verdict is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan<'a> {
    /// Relative to the bases, starting with `/`.
    pub(crate) rel: Cow<'a, str>,
    /// GET or HEAD: the only methods that may ever reach the follower.
    pub(crate) read: bool,
    pub(crate) critical: bool,
    leader: &'a Base,
    follower: &'a Base,
}

impl<'a> Plan<'a> {
    pub(crate) fn new(
        config: &'a Config,
        path_or_url: &'a str,
        method: &str,
    ) -> Result<Plan<'a>, RequestError> {
        let read = is_read(method)?;
        // A path needs no bases: no list is built for it on every resolve().
        let bases = if path_or_url.starts_with('/') {
            Vec::new()
        } else {
            config.bases()
        };
        let rel = path::relative(path_or_url, &bases)?;
        let route = config.routes.find(path::path_part(&rel));
        Ok(Plan {
            rel,
            read,
            critical: route.critical,
            leader: route.leader.unwrap_or(&config.leader),
            follower: route.follower.unwrap_or(&config.follower),
        })
    }

    /// The base this request uses at `target`: the route's own, else the top-level one.
    pub(crate) fn base(&self, target: Target) -> &'a Base {
        match target {
            Target::Leader => self.leader,
            Target::Follower => self.follower,
        }
    }

    pub(crate) fn url(&self, target: Target) -> String {
        self.base(target).join(&self.rel)
    }

    /// `METHOD /path`, for messages.
    pub(crate) fn what(&self, method: &str) -> String {
        format!("{} {}", method.to_ascii_uppercase(), self.rel)
    }

    /// The error a refusal is reported with.
    pub(crate) fn refusal(&self, code: ErrorCode, method: &str) -> HealthProxyError {
        // One message built, not one `format!` per code.
        let mut message = self.what(method);
        message.push_str(match code {
            ErrorCode::NotReady => ": no verdict yet; await start() before routing requests",
            ErrorCode::FeatureUnavailable => {
                " is not available while the leader is down: emergency mode serves critical reads only"
            }
            ErrorCode::LeaderUnavailable if self.read => " needs the leader, which is unavailable",
            ErrorCode::LeaderUnavailable => {
                " was not sent: only the leader takes writes, and it is unavailable"
            }
            ErrorCode::Offline => {
                " was not sent: neither the leader nor the follower can be reached, so this client appears to be offline"
            }
            ErrorCode::InvalidConfig | ErrorCode::InvalidPath | ErrorCode::OutcomeUnknown => {
                " was refused"
            }
        });
        HealthProxyError::new(code, message)
    }
}

/// GET and HEAD are reads; every other valid method is treated as a write.
pub(crate) fn is_read(method: &str) -> Result<bool, RequestError> {
    if !is_token(method) {
        return Err(RequestError::BadMethod {
            method: method.to_string(),
        });
    }
    Ok(method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD"))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn methods() {
        assert!(is_read("GET").unwrap());
        assert!(is_read("head").unwrap());
        for w in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"] {
            assert!(!is_read(w).unwrap(), "{w}");
        }
        for bad in ["", "GE T", "GET\n", "G(ET"] {
            assert!(is_read(bad).is_err(), "{bad:?}");
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod plan_tests {
    use super::*;
    use crate::model::config::parse_json;

    #[test]
    fn a_route_base_is_used_for_its_prefix_only() {
        let c = parse_json(
            &serde_json::json!({
                "leader": "https://hub.example.com", "follower": "https://api.example.com/prod",
                "routes": [{"prefix": "/files", "critical": true,
                            "leader": "https://s3.hub.example.com", "follower": "https://bucket.s3.example.com"}]
            }),
            false,
        )
        .unwrap();
        let p = Plan::new(&c, "/files/a.pdf", "GET").unwrap();
        assert!(p.critical);
        assert_eq!(
            p.url(Target::Leader),
            "https://s3.hub.example.com/files/a.pdf"
        );
        assert_eq!(
            p.url(Target::Follower),
            "https://bucket.s3.example.com/files/a.pdf"
        );
        let p = Plan::new(&c, "https://bucket.s3.example.com/files/b.pdf", "GET").unwrap();
        assert_eq!(
            p.url(Target::Leader),
            "https://s3.hub.example.com/files/b.pdf"
        );
        let p = Plan::new(&c, "/api/pages", "GET").unwrap();
        assert_eq!(
            p.url(Target::Follower),
            "https://api.example.com/prod/api/pages"
        );
    }

    #[test]
    fn a_url_is_labelled_by_the_side_of_its_longest_base() {
        let c = parse_json(
            &serde_json::json!({
                "leader": "https://hub.example.com", "follower": "https://API.example.com/prod",
                "routes": [{"prefix": "/files", "critical": true,
                            "leader": "https://hub.example.com/store", "follower": "https://Bucket.s3.example.com"}]
            }),
            false,
        )
        .unwrap();
        let side = |url| c.side(url);
        assert_eq!(
            side("https://api.example.com/prod/api/pages"),
            Some(Target::Follower)
        );
        assert_eq!(
            side("HTTPS://API.EXAMPLE.COM/prod?x=1"),
            Some(Target::Follower)
        );
        assert_eq!(
            side("https://bucket.S3.example.com/files/a.pdf"),
            Some(Target::Follower)
        );
        assert_eq!(
            side("https://hub.example.com/store/files/a.pdf"),
            Some(Target::Leader)
        );
        assert_eq!(
            side("https://HUB.example.com/api/pages"),
            Some(Target::Leader)
        );
        for elsewhere in [
            "/api/pages",
            "https://api.example.com/production/x",
            "https://api.example.com/PROD/x",
            "https://hub.example.com.evil.com/x",
            "",
        ] {
            assert_eq!(side(elsewhere), None, "{elsewhere}");
        }
    }

    #[test]
    fn a_refusal_carries_its_code_and_names_the_request() {
        let c = parse_json(
            &serde_json::json!({"leader": "https://hub.example.com", "follower": "https://api.example.com"}),
            false,
        )
        .unwrap();
        for (method, read) in [("get", true), ("POST", false)] {
            let plan = Plan::new(&c, "/api/x?q=1", method).unwrap();
            assert_eq!(plan.read, read);
            assert_eq!(
                plan.what(method),
                format!("{} /api/x?q=1", method.to_ascii_uppercase())
            );
            for code in [
                ErrorCode::NotReady,
                ErrorCode::FeatureUnavailable,
                ErrorCode::LeaderUnavailable,
                ErrorCode::Offline,
            ] {
                let e = plan.refusal(code, method);
                assert_eq!(e.code, code);
                assert!(e.message.starts_with(&plan.what(method)), "{}", e.message);
            }
        }
    }
}
