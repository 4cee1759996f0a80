//! The route table: which paths are critical (served by the follower in emergency).
//! The longest prefix matching on whole path segments wins.

use crate::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub prefix: String,
    pub critical: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    /// Longest prefix first, so the first match is the most specific.
    routes: Vec<Route>,
    default_critical: bool,
}

impl RouteTable {
    pub fn new(mut routes: Vec<Route>, default_critical: bool) -> Self {
        for r in &mut routes {
            r.prefix = normalise_prefix(&r.prefix);
        }
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
    pub fn is_critical(&self, path: &str) -> bool {
        self.routes
            .iter()
            .find(|r| segment_prefix(&r.prefix, path))
            .map_or(self.default_critical, |r| r.critical)
    }
}

/// `/api/` and `/api` are the same prefix; `/` stays `/`.
pub fn normalise_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
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

    fn table() -> RouteTable {
        RouteTable::new(
            vec![
                Route {
                    prefix: "/api".into(),
                    critical: false,
                },
                Route {
                    prefix: "/api/pages/".into(),
                    critical: true,
                },
                Route {
                    prefix: "/api/pages/drafts".into(),
                    critical: false,
                },
                Route {
                    prefix: "/api/files".into(),
                    critical: true,
                },
            ],
            false,
        )
    }

    #[test]
    fn longest_whole_segment_prefix_wins() {
        let t = table();
        assert!(t.is_critical("/api/pages"));
        assert!(t.is_critical("/api/pages/7"));
        assert!(!t.is_critical("/api/pagesX"));
        assert!(!t.is_critical("/api/pages/drafts"));
        assert!(!t.is_critical("/api/pages/drafts/1"));
        assert!(t.is_critical("/api/pages/draftsX"));
        assert!(t.is_critical("/api/files/a/b"));
        assert!(!t.is_critical("/api/hub"));
        assert!(!t.is_critical("/other"));
    }

    #[test]
    fn unmatched_paths_take_the_default() {
        let t = RouteTable::new(
            vec![Route {
                prefix: "/api/hub".into(),
                critical: false,
            }],
            true,
        );
        assert!(t.is_critical("/anything"));
        assert!(!t.is_critical("/api/hub/x"));
        let root = RouteTable::new(
            vec![Route {
                prefix: "/".into(),
                critical: true,
            }],
            false,
        );
        assert!(root.is_critical("/x/y"));
    }
}
