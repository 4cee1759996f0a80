//! Configuration (spec §5): serde reads the caller's object (already checked by
//! [`schema`](super::schema)) into the `*Input` types; [`Config::from_input`] then checks
//! what the values mean (URLs, paths, choices) and fills in the defaults.

use super::backoff::Backoff;
use super::error::ConfigError;
use super::health::{Expect, Scalar};
use super::machine::Policy;
use super::path::{check_config_path, Base};
use super::routes::{normalise_prefix, Route, RouteTable};
use serde::Deserialize;

/// The smallest re-probe delay while the leader is down (the first backoff step).
pub(crate) const BACKOFF_BASE_MS: u32 = 1000;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigInput {
    leader: Option<String>,
    follower: Option<String>,
    health: Option<HealthInput>,
    request_timeout_ms: Option<u32>,
    race_after_ms: Option<u32>,
    failover_statuses: Option<Vec<u16>>,
    routes: Option<Vec<RouteInput>>,
    default_critical: Option<bool>,
    hysteresis: Option<HysteresisInput>,
    cache: Option<CacheInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthInput {
    path: Option<String>,
    follower_path: Option<String>,
    timeout_ms: Option<u32>,
    interval_ms: Option<u32>,
    max_backoff_ms: Option<u32>,
    expect: Option<ExpectInput>,
}

#[derive(Debug)]
enum ExpectInput {
    Text(String),
    Fields(Vec<(String, Scalar)>),
}

/// A string or a map, by hand rather than `#[serde(untagged)]` (see [`Scalar`]).
impl<'de> Deserialize<'de> for ExpectInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ExpectInput;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an object")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ExpectInput, E> {
                Ok(ExpectInput::Text(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ExpectInput, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Scalar>()? {
                    fields.push((k, v));
                }
                Ok(ExpectInput::Fields(fields))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
struct RouteInput {
    prefix: Option<String>,
    critical: Option<bool>,
    leader: Option<String>,
    follower: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HysteresisInput {
    successes_to_up: Option<u32>,
    failures_to_down: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CacheInput {
    storage: Option<String>,
    key: Option<String>,
    ttl_ms: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StorageKind {
    Local,
    Session,
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HealthConfig {
    pub(crate) path: String,
    pub(crate) follower_path: String,
    pub(crate) timeout_ms: u32,
    pub(crate) interval_ms: u32,
    pub(crate) max_backoff_ms: u32,
    pub(crate) expect: Option<Expect>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CacheConfig {
    pub(crate) storage: StorageKind,
    pub(crate) key: String,
    pub(crate) ttl_ms: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub(crate) leader: Base,
    pub(crate) follower: Base,
    pub(crate) health: HealthConfig,
    pub(crate) request_timeout_ms: u32,
    /// Spec §8: how long a critical read waits on a leader before the follower joins in.
    pub(crate) race_after_ms: u32,
    pub(crate) failover_statuses: Vec<u16>,
    pub(crate) routes: RouteTable,
    pub(crate) successes_to_up: u32,
    pub(crate) failures_to_down: u32,
    pub(crate) cache: CacheConfig,
}

impl Config {
    /// Validates what serde read. `page_is_https` refuses `http:` bases.
    #[inline(never)]
    pub(crate) fn from_input(
        input: ConfigInput,
        page_is_https: bool,
    ) -> Result<Config, ConfigError> {
        let base = |field: &str, value: Option<String>| match value {
            Some(url) => Base::parse(field, &url, page_is_https),
            None => Err(ConfigError::Required {
                field: field.to_string(),
                hint: "",
            }),
        };
        let leader = base("leader", input.leader)?;
        let follower = base("follower", input.follower)?;
        if leader == follower {
            return Err(ConfigError::SameBases {
                base: leader.as_str().to_string(),
            });
        }

        let h = input.health.unwrap_or_default();
        let path = h.path.unwrap_or_else(|| "/health".into());
        check_config_path("health.path", &path)?;
        let follower_path = h.follower_path.unwrap_or_else(|| "/health".into());
        check_config_path("health.followerPath", &follower_path)?;
        let expect = match h.expect {
            None => None,
            Some(ExpectInput::Text(text)) if text.is_empty() => {
                return Err(ConfigError::Empty {
                    field: "health.expect",
                    hint: ": leave it out to accept any 2xx body",
                })
            }
            Some(ExpectInput::Fields(fields)) if fields.is_empty() => {
                return Err(ConfigError::Empty {
                    field: "health.expect",
                    hint: ": name at least one field, or leave it out to accept any 2xx body",
                })
            }
            Some(ExpectInput::Text(text)) => Some(Expect::Text(text)),
            Some(ExpectInput::Fields(fields)) => Some(Expect::Fields(fields)),
        };
        let health = HealthConfig {
            path,
            follower_path,
            timeout_ms: h.timeout_ms.unwrap_or(1500),
            interval_ms: h.interval_ms.unwrap_or(15_000),
            max_backoff_ms: h.max_backoff_ms.unwrap_or(60_000),
            expect,
        };

        let mut routes: Vec<Route> = Vec::new();
        for (i, r) in input.routes.unwrap_or_default().into_iter().enumerate() {
            let field = format!("routes[{i}]");
            let prefix = r.prefix.ok_or_else(|| ConfigError::Required {
                field: format!("{field}.prefix"),
                hint: "",
            })?;
            check_config_path(&format!("{field}.prefix"), &prefix)?;
            if prefix.contains(['?', '#']) {
                return Err(ConfigError::BadPath {
                    field: format!("{field}.prefix"),
                    problem: super::error::PathProblem::QueryInPrefix,
                    got: prefix,
                });
            }
            let critical = r.critical.ok_or_else(|| ConfigError::Required {
                field: format!("{field}.critical"),
                hint: ": true if the follower may serve it",
            })?;
            let own = |which: &str, url: Option<String>| {
                url.map(|u| Base::parse(&format!("{field}.{which}"), &u, page_is_https))
                    .transpose()
            };
            let route_leader = own("leader", r.leader)?;
            let route_follower = own("follower", r.follower)?;
            let normal = normalise_prefix(&prefix);
            if let Some(first) = routes.iter().position(|seen| seen.prefix == normal) {
                return Err(ConfigError::RepeatedPrefix {
                    field: format!("{field}.prefix"),
                    prefix,
                    first,
                });
            }
            routes.push(Route {
                prefix: normal,
                critical,
                leader: route_leader,
                follower: route_follower,
            });
        }
        let routes = RouteTable::new(routes, input.default_critical.unwrap_or(false));

        let y = input.hysteresis.unwrap_or_default();
        let c = input.cache.unwrap_or_default();
        let storage = match c.storage.as_deref() {
            None | Some("local") => StorageKind::Local,
            Some("session") => StorageKind::Session,
            Some("none") => StorageKind::None,
            Some(other) => {
                return Err(ConfigError::BadStorage {
                    got: other.to_string(),
                })
            }
        };
        let key = c.key.unwrap_or_else(|| "health-proxy".into());
        if key.is_empty() {
            return Err(ConfigError::Empty {
                field: "cache.key",
                hint: "",
            });
        }

        Ok(Config {
            leader,
            follower,
            health,
            request_timeout_ms: input.request_timeout_ms.unwrap_or(10_000),
            race_after_ms: input.race_after_ms.unwrap_or(250),
            failover_statuses: input
                .failover_statuses
                .unwrap_or_else(|| vec![502, 503, 504]),
            routes,
            successes_to_up: y.successes_to_up.unwrap_or(2),
            failures_to_down: y.failures_to_down.unwrap_or(1),
            cache: CacheConfig {
                storage,
                key,
                ttl_ms: c.ttl_ms.unwrap_or(30_000),
            },
        })
    }

    pub(crate) fn is_failover_status(&self, status: u16) -> bool {
        self.failover_statuses.contains(&status)
    }

    /// Every base a request may be sent to, for the no-escape rule.
    pub(crate) fn bases(&self) -> Vec<&Base> {
        let mut all = vec![&self.leader, &self.follower];
        all.extend(self.routes.bases());
        all
    }

    pub(crate) fn policy(&self) -> Policy {
        Policy {
            successes_to_up: self.successes_to_up,
            failures_to_down: self.failures_to_down,
            interval_ms: self.health.interval_ms,
            backoff: Backoff {
                base_ms: BACKOFF_BASE_MS.min(self.health.max_backoff_ms),
                max_ms: self.health.max_backoff_ms,
            },
        }
    }
}

/// The whole path from a JSON config, as the package takes it from a JS object.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn parse_json(v: &serde_json::Value, https: bool) -> Result<Config, ConfigError> {
    super::schema::check(v)?;
    let input: ConfigInput =
        serde_json::from_value(v.clone()).map_err(|e| ConfigError::Unreadable {
            field: "config".into(),
            detail: e.to_string(),
        })?;
    Config::from_input(input, https)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Config, ConfigError> {
        parse_json(&v, false)
    }

    fn minimal() -> serde_json::Value {
        json!({"leader": "http://127.0.0.1:8081/", "follower": "https://api.example.com"})
    }

    fn with(key: &str, value: serde_json::Value) -> serde_json::Value {
        let mut v = minimal();
        let mut cursor = &mut v;
        let parts: Vec<&str> = key.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            cursor = cursor
                .as_object_mut()
                .unwrap()
                .entry(*part)
                .or_insert(json!({}));
        }
        cursor
            .as_object_mut()
            .unwrap()
            .insert(parts[parts.len() - 1].to_string(), value);
        v
    }

    fn err(v: serde_json::Value) -> String {
        parse(v).unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let c = parse(minimal()).unwrap();
        assert_eq!(c.leader.as_str(), "http://127.0.0.1:8081");
        assert_eq!(c.health.path, "/health");
        assert_eq!(c.health.follower_path, "/health");
        assert_eq!(c.health.timeout_ms, 1500);
        assert_eq!(c.health.interval_ms, 15_000);
        assert_eq!(c.health.max_backoff_ms, 60_000);
        assert_eq!(c.health.expect, None);
        assert_eq!(c.request_timeout_ms, 10_000);
        assert_eq!(c.race_after_ms, 250);
        assert_eq!(c.failover_statuses, [502, 503, 504]);
        assert!(!c.routes.find("/x").critical);
        assert_eq!((c.successes_to_up, c.failures_to_down), (2, 1));
        assert_eq!(
            c.cache,
            CacheConfig {
                storage: StorageKind::Local,
                key: "health-proxy".into(),
                ttl_ms: 30_000
            }
        );
        // null reads as absent, as JS `undefined` does.
        assert_eq!(
            parse(with("requestTimeoutMs", json!(null)))
                .unwrap()
                .request_timeout_ms,
            10_000
        );
        assert!(parse(with("health", json!(null))).is_ok());
    }

    #[test]
    fn a_full_config() {
        let c = parse(json!({
            "leader": "https://hub.example.com", "follower": "https://aws.example.com/prod",
            "health": {"path": "/api/health", "followerPath": "/ping", "timeoutMs": 800, "intervalMs": 5000,
                       "maxBackoffMs": 30000, "expect": "\"ok\""},
            "requestTimeoutMs": 4000, "raceAfterMs": 100, "failoverStatuses": [500, 503],
            "routes": [{"prefix": "/api/pages", "critical": true}, {"prefix": "/api/hub/", "critical": false},
                       {"prefix": "/files", "critical": true, "follower": "https://bucket.s3.example.com"}],
            "defaultCritical": true,
            "hysteresis": {"successesToUp": 3, "failuresToDown": 2},
            "cache": {"storage": "session", "key": "hp", "ttlMs": 0}
        }))
        .unwrap();
        assert_eq!(c.health.timeout_ms, 800);
        assert_eq!(c.race_after_ms, 100);
        assert_eq!(c.health.expect, Some(Expect::Text("\"ok\"".into())));
        assert!(c.is_failover_status(500) && !c.is_failover_status(502));
        assert!(
            c.routes.find("/api/pages/1").critical
                && !c.routes.find("/api/hub").critical
                && c.routes.find("/x").critical
        );
        let files = c.routes.find("/files/a.pdf");
        assert_eq!(
            files.follower.map(Base::as_str),
            Some("https://bucket.s3.example.com")
        );
        assert_eq!(files.leader, None);
        assert_eq!(c.bases().len(), 3);
        assert_eq!(c.cache.storage, StorageKind::Session);
        assert_eq!(
            c.policy().backoff,
            Backoff {
                base_ms: 1000,
                max_ms: 30_000
            }
        );
        assert_eq!(c.policy().interval_ms, 5000);
    }

    #[test]
    fn expect_may_be_an_object_of_fields() {
        let c = parse(with("health.expect", json!({"status": "ok", "db": true}))).unwrap();
        assert_eq!(
            c.health.expect,
            Some(Expect::Fields(vec![
                ("db".into(), Scalar::Flag(true)),
                ("status".into(), Scalar::Text("ok".into()))
            ]))
        );
        assert!(
            err(with("health.expect", json!({}))).starts_with("health.expect must not be empty")
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        assert!(err(with("timeoutMs", json!(5))).starts_with("timeoutMs is not a known setting"));
        assert!(err(with("health.timeoutMS", json!(5)))
            .starts_with("health.timeoutMS is not a known setting"));
        assert!(err(with("cache.ttl", json!(5))).starts_with("cache.ttl "));
        assert!(err(with("hysteresis.up", json!(5))).starts_with("hysteresis.up "));
        let m = err(with(
            "routes",
            json!([{"prefix": "/a", "critical": true, "crit": 1}]),
        ));
        assert!(m.starts_with("routes[0].crit "), "{m}");
        assert!(
            m.ends_with("known here: prefix, critical, leader, follower"),
            "{m}"
        );
    }

    #[test]
    fn ranges_are_enforced_with_the_field_named() {
        let cases: &[(&str, serde_json::Value, &str)] = &[
            (
                "health.timeoutMs",
                json!(49),
                "health.timeoutMs must be a whole number from 50 to 60000 (got 49)",
            ),
            ("health.timeoutMs", json!(60001), "health.timeoutMs "),
            (
                "health.timeoutMs",
                json!(100.5),
                "health.timeoutMs must be a whole number from 50 to 60000 (got 100.5)",
            ),
            (
                "health.timeoutMs",
                json!("1500"),
                "health.timeoutMs must be a whole number from 50 to 60000 (got a string)",
            ),
            ("health.intervalMs", json!(999), "health.intervalMs "),
            ("health.intervalMs", json!(3_600_001), "health.intervalMs "),
            ("health.maxBackoffMs", json!(999), "health.maxBackoffMs "),
            ("requestTimeoutMs", json!(99), "requestTimeoutMs "),
            ("requestTimeoutMs", json!(300_001), "requestTimeoutMs "),
            (
                "raceAfterMs",
                json!(9),
                "raceAfterMs must be a whole number from 10 to 10000 (got 9)",
            ),
            ("raceAfterMs", json!(10_001), "raceAfterMs "),
            (
                "hysteresis.successesToUp",
                json!(0),
                "hysteresis.successesToUp ",
            ),
            (
                "hysteresis.failuresToDown",
                json!(11),
                "hysteresis.failuresToDown ",
            ),
            (
                "cache.ttlMs",
                json!(-1),
                "cache.ttlMs must be a whole number from 0 to 86400000 (got -1)",
            ),
            ("cache.ttlMs", json!(86_400_001), "cache.ttlMs "),
            (
                "failoverStatuses",
                json!([502, 404]),
                "failoverStatuses[1] must be a whole number from 500 to 599 (got 404)",
            ),
            ("failoverStatuses", json!([600]), "failoverStatuses[0] "),
            (
                "failoverStatuses",
                json!(502),
                "failoverStatuses must be an array (got a number)",
            ),
            (
                "cache.storage",
                json!("cookie"),
                "cache.storage must be \"local\", \"session\" or \"none\" (got \"cookie\")",
            ),
            ("cache.key", json!(""), "cache.key "),
            (
                "cache",
                json!("local"),
                "cache must be an object (got a string)",
            ),
            ("health.expect", json!(""), "health.expect "),
            (
                "health.expect",
                json!(7),
                "health.expect must be a string or an object",
            ),
            ("health.path", json!("health"), "health.path must be a path"),
            ("health.path", json!("//evil/health"), "health.path "),
            ("health.path", json!("/a/../health"), "health.path "),
            ("health.followerPath", json!("\\x"), "health.followerPath "),
            (
                "routes",
                json!([{"prefix": "api", "critical": true}]),
                "routes[0].prefix ",
            ),
            (
                "routes",
                json!([{"prefix": "/a?x", "critical": true}]),
                "routes[0].prefix ",
            ),
            (
                "routes",
                json!([{"critical": true}]),
                "routes[0].prefix is required",
            ),
            (
                "routes",
                json!([{"prefix": "/a"}]),
                "routes[0].critical is required",
            ),
            (
                "routes",
                json!([{"prefix": "/a", "critical": "yes"}]),
                "routes[0].critical must be true or false (got a string)",
            ),
            (
                "routes",
                json!([{"prefix": "/a", "critical": true}, {"prefix": "/a/", "critical": false}]),
                "routes[1].prefix \"/a/\" repeats routes[0].prefix",
            ),
            (
                "routes",
                json!([{"prefix": "/a", "critical": true, "follower": "ftp://bucket"}]),
                "routes[0].follower must be an absolute http(s) URL",
            ),
            (
                "routes",
                json!(["/a"]),
                "routes[0] must be an object (got a string)",
            ),
            (
                "routes",
                json!({"prefix": "/a"}),
                "routes must be an array (got an object)",
            ),
            (
                "defaultCritical",
                json!("yes"),
                "defaultCritical must be true or false",
            ),
            (
                "leader",
                json!(42),
                "leader must be a string (got a number)",
            ),
        ];
        for (key, value, want) in cases {
            let m = err(with(key, value.clone()));
            assert!(m.starts_with(want), "{key}={value}: {m}");
        }
        // The bounds themselves are accepted.
        for (key, value) in [
            ("health.timeoutMs", 50),
            ("health.timeoutMs", 60_000),
            ("cache.ttlMs", 0),
            ("hysteresis.successesToUp", 10),
        ] {
            assert!(parse(with(key, json!(value))).is_ok(), "{key}={value}");
        }
    }

    #[test]
    fn the_config_must_be_an_object() {
        assert!(err(json!("http://x")).starts_with("config must be an object (got a string)"));
        assert!(err(json!(null)).starts_with("config must be an object (got null)"));
    }

    #[test]
    fn bases_are_required_valid_and_distinct() {
        assert!(err(json!({"follower": "https://a"})).starts_with("leader is required"));
        assert!(err(json!({"leader": "https://a"})).starts_with("follower is required"));
        assert!(
            err(json!({"leader": "https://a/", "follower": "https://A"}))
                .starts_with("follower must differ")
        );
        assert!(err(with("leader", json!("ftp://x")))
            .starts_with("leader must be an absolute http(s) URL"));
        let e = parse_json(&minimal(), true).unwrap_err().to_string();
        assert!(
            e.starts_with("leader is http: but this page is served over https:"),
            "{e}"
        );
    }
}
