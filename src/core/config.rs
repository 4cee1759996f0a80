//! Configuration (spec §5): the raw JSON-compatible object, and its validation into a
//! [`Config`]. Every error names the field; unknown keys are refused.

use super::backoff::Backoff;
use super::error::HealthProxyError;
use super::machine::Policy;
use super::path::{check_config_path, Base};
use super::routes::{normalise_prefix, Route, RouteTable};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The smallest re-probe delay while the leader is down (the first backoff step).
pub const BACKOFF_BASE_MS: u32 = 1000;

// `flatten` makes serde read objects as maps, so every key is seen — including the
// unknown ones a plain struct would silently skip.
type Unknown = BTreeMap<String, IgnoredAny>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawConfig {
    leader: Option<String>,
    follower: Option<String>,
    health: Option<RawHealth>,
    request_timeout_ms: Option<f64>,
    failover_statuses: Option<Vec<f64>>,
    routes: Option<Vec<RawRoute>>,
    default_critical: Option<bool>,
    hysteresis: Option<RawHysteresis>,
    cache: Option<RawCache>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHealth {
    path: Option<String>,
    follower_path: Option<String>,
    timeout_ms: Option<f64>,
    interval_ms: Option<f64>,
    max_backoff_ms: Option<f64>,
    expect: Option<String>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoute {
    prefix: Option<String>,
    critical: Option<bool>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHysteresis {
    successes_to_up: Option<f64>,
    failures_to_down: Option<f64>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCache {
    storage: Option<String>,
    key: Option<String>,
    ttl_ms: Option<f64>,
    #[serde(flatten)]
    unknown: Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    Local,
    Session,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    pub path: String,
    pub follower_path: String,
    pub timeout_ms: u32,
    pub interval_ms: u32,
    pub max_backoff_ms: u32,
    pub expect: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    pub storage: StorageKind,
    pub key: String,
    pub ttl_ms: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub leader: Base,
    pub follower: Base,
    pub health: HealthConfig,
    pub request_timeout_ms: u32,
    pub failover_statuses: Vec<u16>,
    pub routes: RouteTable,
    pub successes_to_up: u32,
    pub failures_to_down: u32,
    pub cache: CacheConfig,
}

impl Config {
    /// Reads and validates a config from any serde deserializer (a JS object in the
    /// browser, JSON text in tests). `page_is_https` refuses `http:` bases.
    pub fn from_deserializer<'de, D: serde::Deserializer<'de>>(
        input: D,
        page_is_https: bool,
    ) -> Result<Config, HealthProxyError> {
        let raw: RawConfig = serde_path_to_error::deserialize(input).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "config".to_string() } else { path };
            HealthProxyError::config(format!("{field}: {}", e.inner()))
        })?;
        raw.validate(page_is_https)
    }

    pub fn is_failover_status(&self, status: u16) -> bool {
        self.failover_statuses.contains(&status)
    }

    pub fn policy(&self) -> Policy {
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

fn no_unknown(section: &str, unknown: &Unknown) -> Result<(), HealthProxyError> {
    match unknown.keys().next() {
        None => Ok(()),
        Some(key) => {
            let field = if section.is_empty() { key.clone() } else { format!("{section}.{key}") };
            Err(HealthProxyError::config(format!(
                "{field} is not a known setting (a typo would otherwise silently become a default)"
            )))
        }
    }
}

/// A whole number in `min..=max`, or `default` when absent.
fn int_in(field: &str, value: Option<f64>, default: u32, min: u32, max: u32) -> Result<u32, HealthProxyError> {
    let Some(v) = value else { return Ok(default) };
    if v.is_finite() && v.fract() == 0.0 && v >= f64::from(min) && v <= f64::from(max) {
        Ok(v as u32)
    } else {
        Err(HealthProxyError::config(format!(
            "{field} must be a whole number from {min} to {max} (got {v})"
        )))
    }
}

fn required(field: &str, value: Option<String>) -> Result<String, HealthProxyError> {
    value.ok_or_else(|| HealthProxyError::config(format!("{field} is required: the base URL of the {field}")))
}

impl RawConfig {
    fn validate(self, page_is_https: bool) -> Result<Config, HealthProxyError> {
        no_unknown("", &self.unknown)?;
        let leader = Base::parse("leader", &required("leader", self.leader)?, page_is_https)?;
        let follower = Base::parse("follower", &required("follower", self.follower)?, page_is_https)?;
        if leader == follower {
            return Err(HealthProxyError::config(format!(
                "follower must differ from leader (both are {})",
                leader.as_str()
            )));
        }

        let h = self.health.unwrap_or_default();
        no_unknown("health", &h.unknown)?;
        let path = h.path.unwrap_or_else(|| "/health".to_string());
        check_config_path("health.path", &path)?;
        let follower_path = h.follower_path.unwrap_or_else(|| "/health".to_string());
        check_config_path("health.followerPath", &follower_path)?;
        if h.expect.as_deref() == Some("") {
            return Err(HealthProxyError::config(
                "health.expect must not be empty: leave it out to accept any 2xx body",
            ));
        }
        let health = HealthConfig {
            path,
            follower_path,
            timeout_ms: int_in("health.timeoutMs", h.timeout_ms, 1500, 50, 60_000)?,
            interval_ms: int_in("health.intervalMs", h.interval_ms, 15_000, 1000, 3_600_000)?,
            max_backoff_ms: int_in("health.maxBackoffMs", h.max_backoff_ms, 60_000, 1000, 86_400_000)?,
            expect: h.expect,
        };

        let request_timeout_ms = int_in("requestTimeoutMs", self.request_timeout_ms, 10_000, 100, 300_000)?;

        let failover_statuses = match self.failover_statuses {
            None => vec![502, 503, 504],
            Some(list) => list
                .into_iter()
                .enumerate()
                .map(|(i, s)| int_in(&format!("failoverStatuses[{i}]"), Some(s), 0, 500, 599).map(|s| s as u16))
                .collect::<Result<_, _>>()?,
        };

        let mut routes = Vec::new();
        for (i, r) in self.routes.unwrap_or_default().into_iter().enumerate() {
            let field = format!("routes[{i}]");
            no_unknown(&field, &r.unknown)?;
            let prefix = r
                .prefix
                .ok_or_else(|| HealthProxyError::config(format!("{field}.prefix is required, a path such as \"/api/pages\"")))?;
            check_config_path(&format!("{field}.prefix"), &prefix)?;
            if prefix.contains(['?', '#']) {
                return Err(HealthProxyError::config(format!(
                    "{field}.prefix must be a path without query or fragment (got {prefix:?})"
                )));
            }
            let critical = r.critical.ok_or_else(|| {
                HealthProxyError::config(format!("{field}.critical is required: true if the follower may serve it"))
            })?;
            let normal = normalise_prefix(&prefix);
            if let Some(j) = routes.iter().position(|seen: &Route| seen.prefix == normal) {
                return Err(HealthProxyError::config(format!(
                    "{field}.prefix {prefix:?} repeats routes[{j}].prefix"
                )));
            }
            routes.push(Route { prefix: normal, critical });
        }
        let routes = RouteTable::new(routes, self.default_critical.unwrap_or(false));

        let y = self.hysteresis.unwrap_or_default();
        no_unknown("hysteresis", &y.unknown)?;
        let successes_to_up = int_in("hysteresis.successesToUp", y.successes_to_up, 2, 1, 10)?;
        let failures_to_down = int_in("hysteresis.failuresToDown", y.failures_to_down, 1, 1, 10)?;

        let c = self.cache.unwrap_or_default();
        no_unknown("cache", &c.unknown)?;
        let storage = match c.storage.as_deref() {
            None | Some("local") => StorageKind::Local,
            Some("session") => StorageKind::Session,
            Some("none") => StorageKind::None,
            Some(other) => {
                return Err(HealthProxyError::config(format!(
                    "cache.storage must be \"local\", \"session\" or \"none\" (got {other:?})"
                )))
            }
        };
        let key = c.key.unwrap_or_else(|| "health-proxy".to_string());
        if key.is_empty() {
            return Err(HealthProxyError::config("cache.key must not be empty"));
        }
        let cache = CacheConfig {
            storage,
            key,
            ttl_ms: int_in("cache.ttlMs", c.ttl_ms, 30_000, 0, 86_400_000)?,
        };

        Ok(Config {
            leader,
            follower,
            health,
            request_timeout_ms,
            failover_statuses,
            routes,
            successes_to_up,
            failures_to_down,
            cache,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorCode;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Config, HealthProxyError> {
        Config::from_deserializer(v, false)
    }

    fn minimal() -> serde_json::Value {
        json!({"leader": "http://127.0.0.1:8081/", "follower": "https://api.example.com"})
    }

    fn with(key: &str, value: serde_json::Value) -> serde_json::Value {
        let mut v = minimal();
        let mut cursor = &mut v;
        let parts: Vec<&str> = key.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            cursor = cursor.as_object_mut().unwrap().entry(*part).or_insert(json!({}));
        }
        cursor.as_object_mut().unwrap().insert(parts[parts.len() - 1].to_string(), value);
        v
    }

    fn err(v: serde_json::Value) -> String {
        let e = parse(v).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidConfig);
        e.message
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
        assert_eq!(c.failover_statuses, [502, 503, 504]);
        assert!(!c.routes.is_critical("/x"));
        assert_eq!((c.successes_to_up, c.failures_to_down), (2, 1));
        assert_eq!(c.cache, CacheConfig { storage: StorageKind::Local, key: "health-proxy".into(), ttl_ms: 30_000 });
    }

    #[test]
    fn a_full_config() {
        let c = parse(json!({
            "leader": "https://hub.example.com", "follower": "https://aws.example.com/prod",
            "health": {"path": "/api/health", "followerPath": "/ping", "timeoutMs": 800, "intervalMs": 5000,
                       "maxBackoffMs": 30000, "expect": "\"ok\""},
            "requestTimeoutMs": 4000, "failoverStatuses": [500, 503],
            "routes": [{"prefix": "/api/pages", "critical": true}, {"prefix": "/api/hub/", "critical": false}],
            "defaultCritical": true,
            "hysteresis": {"successesToUp": 3, "failuresToDown": 2},
            "cache": {"storage": "session", "key": "hp", "ttlMs": 0}
        }))
        .unwrap();
        assert_eq!(c.health.timeout_ms, 800);
        assert_eq!(c.health.expect.as_deref(), Some("\"ok\""));
        assert!(c.is_failover_status(500) && !c.is_failover_status(502));
        assert!(c.routes.is_critical("/api/pages/1") && !c.routes.is_critical("/api/hub") && c.routes.is_critical("/x"));
        assert_eq!(c.cache.storage, StorageKind::Session);
        assert_eq!(c.policy().backoff, Backoff { base_ms: 1000, max_ms: 30_000 });
    }

    #[test]
    fn unknown_keys_are_named() {
        assert!(err(with("timeoutMs", json!(5))).starts_with("timeoutMs is not a known setting"));
        assert!(err(with("health.timeoutMS", json!(5))).starts_with("health.timeoutMS is not a known setting"));
        assert!(err(with("cache.ttl", json!(5))).starts_with("cache.ttl "));
        assert!(err(with("hysteresis.up", json!(5))).starts_with("hysteresis.up "));
        let m = err(with("routes", json!([{"prefix": "/a", "critical": true, "crit": 1}])));
        assert!(m.starts_with("routes[0].crit "), "{m}");
    }

    #[test]
    fn ranges_are_enforced_with_the_field_named() {
        let cases: &[(&str, serde_json::Value, &str)] = &[
            ("health.timeoutMs", json!(49), "health.timeoutMs must be a whole number from 50 to 60000 (got 49)"),
            ("health.timeoutMs", json!(60001), "health.timeoutMs "),
            ("health.timeoutMs", json!(100.5), "health.timeoutMs "),
            ("health.intervalMs", json!(999), "health.intervalMs "),
            ("health.intervalMs", json!(3_600_001), "health.intervalMs "),
            ("health.maxBackoffMs", json!(999), "health.maxBackoffMs "),
            ("requestTimeoutMs", json!(99), "requestTimeoutMs "),
            ("requestTimeoutMs", json!(300_001), "requestTimeoutMs "),
            ("hysteresis.successesToUp", json!(0), "hysteresis.successesToUp "),
            ("hysteresis.failuresToDown", json!(11), "hysteresis.failuresToDown "),
            ("cache.ttlMs", json!(-1), "cache.ttlMs "),
            ("cache.ttlMs", json!(86_400_001), "cache.ttlMs "),
            ("failoverStatuses", json!([502, 404]), "failoverStatuses[1] must be a whole number from 500 to 599"),
            ("failoverStatuses", json!([600]), "failoverStatuses[0] "),
            ("cache.storage", json!("cookie"), "cache.storage must be"),
            ("cache.key", json!(""), "cache.key "),
            ("health.expect", json!(""), "health.expect "),
            ("health.path", json!("health"), "health.path must be a path"),
            ("health.path", json!("//evil/health"), "health.path "),
            ("health.path", json!("/a/../health"), "health.path "),
            ("health.followerPath", json!("\\x"), "health.followerPath "),
            ("routes", json!([{"prefix": "api", "critical": true}]), "routes[0].prefix "),
            ("routes", json!([{"prefix": "/a?x", "critical": true}]), "routes[0].prefix "),
            ("routes", json!([{"critical": true}]), "routes[0].prefix is required"),
            ("routes", json!([{"prefix": "/a"}]), "routes[0].critical is required"),
            ("routes", json!([{"prefix": "/a", "critical": true}, {"prefix": "/a/", "critical": false}]), "routes[1].prefix \"/a/\" repeats routes[0].prefix"),
        ];
        for (key, value, want) in cases {
            let m = err(with(key, value.clone()));
            assert!(m.starts_with(want), "{key}={value}: {m}");
        }
        // Bounds themselves are accepted.
        for (key, value) in [("health.timeoutMs", 50), ("health.timeoutMs", 60_000), ("cache.ttlMs", 0), ("hysteresis.successesToUp", 10)] {
            assert!(parse(with(key, json!(value))).is_ok(), "{key}={value}");
        }
    }

    #[test]
    fn wrong_types_name_the_field() {
        let m = err(with("health.timeoutMs", json!("1500")));
        assert!(m.starts_with("health.timeoutMs: invalid type: string"), "{m}");
        let m = err(with("leader", json!(42)));
        assert!(m.starts_with("leader: invalid type"), "{m}");
        let m = err(with("routes", json!({"prefix": "/a"})));
        assert!(m.starts_with("routes: invalid type"), "{m}");
        let m = err(json!("http://x"));
        assert!(m.starts_with("config: invalid type"), "{m}");
        let m = err(with("defaultCritical", json!("yes")));
        assert!(m.starts_with("defaultCritical: "), "{m}");
    }

    #[test]
    fn bases_are_required_valid_and_distinct() {
        assert!(err(json!({"follower": "https://a"})).starts_with("leader is required"));
        assert!(err(json!({"leader": "https://a"})).starts_with("follower is required"));
        assert!(err(json!({"leader": "https://a/", "follower": "https://A"})).starts_with("follower must differ"));
        assert!(err(with("leader", json!("ftp://x"))).starts_with("leader must be an absolute http(s) URL"));
        let e = Config::from_deserializer(minimal(), true).unwrap_err();
        assert!(e.message.starts_with("leader is http: but this page is served over https:"), "{}", e.message);
    }
}
