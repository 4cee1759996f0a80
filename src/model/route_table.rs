//! The route table: which paths are critical (served by the follower in emergency), and
//! which have bases of their own (files on a bucket). The longest prefix matching on
//! whole path segments wins.

use super::path::Base;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) prefix: String,
    pub(crate) critical: bool,
    /// Bases used for this prefix in place of the top-level ones (never probed).
    pub(crate) leader: Option<Base>,
    pub(crate) follower: Option<Base>,
}

/// What the table says about one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Matched<'a> {
    pub(crate) critical: bool,
    pub(crate) leader: Option<&'a Base>,
    pub(crate) follower: Option<&'a Base>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteTable {
    /// Longest prefix first, so the first match is the most specific.
    routes: Vec<Route>,
    default_critical: bool,
}

impl RouteTable {
    /// Each prefix is already [normalised](normalise_prefix): the config did it, to find
    /// repeats.
    pub(crate) fn new(mut routes: Vec<Route>, default_critical: bool) -> Self {
        // A handful of routes: an insertion sort keeps the general sort out of the wasm.
        for i in 1..routes.len() {
            let mut j = i;
            while j > 0
                && routes.get(j - 1).map(|r| r.prefix.len()) < routes.get(j).map(|r| r.prefix.len())
            {
                routes.swap(j - 1, j);
                j -= 1;
            }
        }
        RouteTable {
            routes,
            default_critical,
        }
    }

    /// `path` is the path part only (no query or fragment).
    pub(crate) fn find(&self, path: &str) -> Matched<'_> {
        for r in &self.routes {
            if segment_prefix(&r.prefix, path) {
                return Matched {
                    critical: r.critical,
                    leader: r.leader.as_ref(),
                    follower: r.follower.as_ref(),
                };
            }
        }
        Matched {
            critical: self.default_critical,
            leader: None,
            follower: None,
        }
    }

    /// True when `base` is a route's own follower base.
    pub(crate) fn has_follower(&self, base: &Base) -> bool {
        self.routes
            .iter()
            .any(|r| r.follower.as_ref() == Some(base))
    }

    /// Adds the routes' own bases to `all`.
    pub(crate) fn push_bases<'a>(&'a self, all: &mut Vec<&'a Base>) {
        for r in &self.routes {
            if let Some(base) = &r.leader {
                all.push(base);
            }
            if let Some(base) = &r.follower {
                all.push(base);
            }
        }
    }
}

/// `/api/` and `/api` are the same prefix; `/` stays `/`.
pub(crate) fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_end_matches('/');
    let kept = if trimmed.is_empty() { "/" } else { trimmed };
    kept.to_string()
}

fn segment_prefix(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn route(prefix: &str, critical: bool) -> Route {
        Route {
            prefix: normalise_prefix(prefix),
            critical,
            leader: None,
            follower: None,
        }
    }

    fn table() -> RouteTable {
        RouteTable::new(
            vec![
                route("/api", false),
                route("/api/pages/", true),
                route("/api/pages/drafts", false),
                route("/api/files", true),
            ],
            false,
        )
    }

    fn critical(t: &RouteTable, path: &str) -> bool {
        t.find(path).critical
    }

    #[test]
    fn longest_whole_segment_prefix_wins() {
        let t = table();
        assert!(critical(&t, "/api/pages"));
        assert!(critical(&t, "/api/pages/7"));
        assert!(!critical(&t, "/api/pagesX"));
        assert!(!critical(&t, "/api/pages/drafts"));
        assert!(!critical(&t, "/api/pages/drafts/1"));
        assert!(critical(&t, "/api/pages/draftsX"));
        assert!(critical(&t, "/api/files/a/b"));
        assert!(!critical(&t, "/api/hub"));
        assert!(!critical(&t, "/other"));
    }

    #[test]
    fn unmatched_paths_take_the_default() {
        let t = RouteTable::new(vec![route("/api/hub", false)], true);
        assert!(critical(&t, "/anything"));
        assert!(!critical(&t, "/api/hub/x"));
        let root = RouteTable::new(vec![route("/", true)], false);
        assert!(critical(&root, "/x/y"));
    }

    #[test]
    fn a_route_brings_its_own_bases() {
        let bucket = Base::parse("f", "https://bucket.example.com", false).unwrap();
        let t = RouteTable::new(
            vec![
                route("/files/private", false),
                Route {
                    follower: Some(bucket.clone()),
                    ..route("/files", true)
                },
            ],
            false,
        );
        assert_eq!(t.find("/files/a.pdf").follower, Some(&bucket));
        assert_eq!(t.find("/files/a.pdf").leader, None);
        assert_eq!(t.find("/files/private/x").follower, None);
        let mut all = Vec::new();
        t.push_bases(&mut all);
        assert_eq!(all, [&bucket]);
    }
}
