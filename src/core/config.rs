//! Configuration (spec §5): a JSON-shaped [`Value`] validated into a [`Config`]. Every
//! error names the field; unknown keys are refused, so a typo never becomes a default.

use super::backoff::Backoff;
use super::error::HealthProxyError;
use super::machine::Policy;
use super::path::{check_config_path, Base};
use super::routes::{normalise_prefix, Route, RouteTable};
use super::value::{quote, show_number, Value};
use crate::cat;
use crate::prelude::*;

/// The smallest re-probe delay while the leader is down (the first backoff step).
pub const BACKOFF_BASE_MS: u32 = 1000;

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
    /// Spec §8: how long a critical read waits on a leader before the follower joins in.
    pub race_after_ms: u32,
    pub failover_statuses: Vec<u16>,
    pub routes: RouteTable,
    pub successes_to_up: u32,
    pub failures_to_down: u32,
    pub cache: CacheConfig,
}

impl Config {
    /// Validates the whole config object. `page_is_https` refuses `http:` bases.
    pub fn from_value(value: &Value, page_is_https: bool) -> Result<Config, HealthProxyError> {
        let root = Section::new("config", "", value, TOP_KEYS)?;
        let leader = Base::parse("leader", &root.required_str("leader")?, page_is_https)?;
        let follower = Base::parse("follower", &root.required_str("follower")?, page_is_https)?;
        if leader == follower {
            return Err(HealthProxyError::config(cat!(
                "follower must differ from leader (both are ",
                leader.as_str(),
                ")"
            )));
        }

        let h = root.section("health", HEALTH_KEYS)?;
        let path = h.str_or("path", "/health")?;
        check_config_path("health.path", &path)?;
        let follower_path = h.str_or("followerPath", "/health")?;
        check_config_path("health.followerPath", &follower_path)?;
        let expect = h.opt_str("expect")?;
        if expect.as_deref() == Some("") {
            return Err(HealthProxyError::config(
                "health.expect must not be empty: leave it out to accept any 2xx body",
            ));
        }
        let health = HealthConfig {
            path,
            follower_path,
            timeout_ms: h.int("timeoutMs", 1500, 50, 60_000)?,
            interval_ms: h.int("intervalMs", 15_000, 1000, 3_600_000)?,
            max_backoff_ms: h.int("maxBackoffMs", 60_000, 1000, 86_400_000)?,
            expect,
        };

        let request_timeout_ms = root.int("requestTimeoutMs", 10_000, 100, 300_000)?;
        let race_after_ms = root.int("raceAfterMs", 250, 10, 10_000)?;

        let failover_statuses = match root.opt_list("failoverStatuses")? {
            None => vec![502, 503, 504],
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    int_value(&cat!("failoverStatuses[", i, "]"), v, 500, 599).map(|s| s as u16)
                })
                .collect::<Result<_, _>>()?,
        };

        let mut routes: Vec<Route> = Vec::new();
        for (i, item) in root.opt_list("routes")?.unwrap_or(&[]).iter().enumerate() {
            let field = cat!("routes[", i, "]");
            let r = Section::new(&field, &cat!(field, "."), item, ROUTE_KEYS)?;
            let prefix = r.required_str("prefix")?;
            check_config_path(&cat!(field, ".prefix"), &prefix)?;
            if prefix.contains(['?', '#']) {
                return Err(HealthProxyError::config(cat!(
                    field,
                    ".prefix must be a path without query or fragment (got ",
                    quote(&prefix),
                    ")"
                )));
            }
            let critical = r.opt_bool("critical")?.ok_or_else(|| {
                HealthProxyError::config(cat!(
                    field,
                    ".critical is required: true if the follower may serve it"
                ))
            })?;
            let normal = normalise_prefix(&prefix);
            if let Some(j) = routes.iter().position(|seen| seen.prefix == normal) {
                return Err(HealthProxyError::config(cat!(
                    field,
                    ".prefix ",
                    quote(&prefix),
                    " repeats routes[",
                    j,
                    "].prefix"
                )));
            }
            routes.push(Route {
                prefix: normal,
                critical,
            });
        }
        let routes = RouteTable::new(routes, root.opt_bool("defaultCritical")?.unwrap_or(false));

        let y = root.section("hysteresis", HYSTERESIS_KEYS)?;
        let successes_to_up = y.int("successesToUp", 2, 1, 10)?;
        let failures_to_down = y.int("failuresToDown", 1, 1, 10)?;

        let c = root.section("cache", CACHE_KEYS)?;
        let storage = match c.opt_str("storage")?.as_deref() {
            None | Some("local") => StorageKind::Local,
            Some("session") => StorageKind::Session,
            Some("none") => StorageKind::None,
            Some(other) => {
                return Err(HealthProxyError::config(cat!(
                    "cache.storage must be \"local\", \"session\" or \"none\" (got ",
                    quote(other),
                    ")"
                )))
            }
        };
        let key = c.str_or("key", "health-proxy")?;
        if key.is_empty() {
            return Err(HealthProxyError::config("cache.key must not be empty"));
        }
        let cache = CacheConfig {
            storage,
            key,
            ttl_ms: c.int("ttlMs", 30_000, 0, 86_400_000)?,
        };

        Ok(Config {
            leader,
            follower,
            health,
            request_timeout_ms,
            race_after_ms,
            failover_statuses,
            routes,
            successes_to_up,
            failures_to_down,
            cache,
        })
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

const TOP_KEYS: &[&str] = &[
    "leader",
    "follower",
    "health",
    "requestTimeoutMs",
    "raceAfterMs",
    "failoverStatuses",
    "routes",
    "defaultCritical",
    "hysteresis",
    "cache",
];
const HEALTH_KEYS: &[&str] = &[
    "path",
    "followerPath",
    "timeoutMs",
    "intervalMs",
    "maxBackoffMs",
    "expect",
];
const ROUTE_KEYS: &[&str] = &["prefix", "critical"];
const HYSTERESIS_KEYS: &[&str] = &["successesToUp", "failuresToDown"];
const CACHE_KEYS: &[&str] = &["storage", "key", "ttlMs"];

/// One object of the config, with the dotted prefix its fields are named by.
struct Section<'a> {
    prefix: String,
    value: &'a Value,
}

static EMPTY: Value = Value::Map(Vec::new());

impl<'a> Section<'a> {
    fn new(
        name: &str,
        prefix: &str,
        value: &'a Value,
        known: &[&str],
    ) -> Result<Section<'a>, HealthProxyError> {
        let Value::Map(entries) = value else {
            return Err(HealthProxyError::config(cat!(
                name,
                " must be an object (got ",
                value.kind(),
                ")"
            )));
        };
        if let Some((key, _)) = entries.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            return Err(HealthProxyError::config(cat!(
                prefix,
                key,
                " is not a known setting; known here: ",
                known.join(", ")
            )));
        }
        Ok(Section {
            prefix: prefix.to_string(),
            value,
        })
    }

    fn field(&self, key: &str) -> String {
        cat!(self.prefix, key)
    }

    /// A nested object; an absent one reads as empty, so every default applies.
    fn section(&self, key: &str, known: &[&str]) -> Result<Section<'a>, HealthProxyError> {
        let field = self.field(key);
        Section::new(
            &field,
            &cat!(field, "."),
            self.value.get(key).unwrap_or(&EMPTY),
            known,
        )
    }

    fn wrong(&self, key: &str, want: &str, got: &Value) -> HealthProxyError {
        HealthProxyError::config(cat!(
            self.field(key),
            " must be ",
            want,
            " (got ",
            got.kind(),
            ")"
        ))
    }

    fn opt_str(&self, key: &str) -> Result<Option<String>, HealthProxyError> {
        match self.value.get(key) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    fn str_or(&self, key: &str, default: &str) -> Result<String, HealthProxyError> {
        Ok(self.opt_str(key)?.unwrap_or_else(|| default.to_string()))
    }

    fn required_str(&self, key: &str) -> Result<String, HealthProxyError> {
        self.opt_str(key)?
            .ok_or_else(|| HealthProxyError::config(cat!(self.field(key), " is required")))
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>, HealthProxyError> {
        match self.value.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong(key, "true or false", other)),
        }
    }

    fn opt_list(&self, key: &str) -> Result<Option<&'a [Value]>, HealthProxyError> {
        match self.value.get(key) {
            None => Ok(None),
            Some(Value::List(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong(key, "an array", other)),
        }
    }

    /// A whole number in `min..=max`, or `default` when absent.
    fn int(&self, key: &str, default: u32, min: u32, max: u32) -> Result<u32, HealthProxyError> {
        match self.value.get(key) {
            None => Ok(default),
            Some(v) => int_value(&self.field(key), v, min, max),
        }
    }
}

fn int_value(field: &str, value: &Value, min: u32, max: u32) -> Result<u32, HealthProxyError> {
    let range = |got: String| {
        HealthProxyError::config(cat!(
            field,
            " must be a whole number from ",
            min,
            " to ",
            max,
            " (got ",
            got,
            ")"
        ))
    };
    match value {
        Value::Num(v)
            if *v >= f64::from(min) && *v <= f64::from(max) && f64::from(*v as u32) == *v =>
        {
            Ok(*v as u32)
        }
        Value::Num(v) => Err(range(show_number(*v))),
        other => Err(range(other.kind().to_string())),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::error::ErrorCode;
    use crate::core::value::tests::from_json;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Config, HealthProxyError> {
        Config::from_value(&from_json(&v), false)
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
        assert_eq!(c.race_after_ms, 250);
        assert_eq!(c.failover_statuses, [502, 503, 504]);
        assert!(!c.routes.is_critical("/x"));
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
    }

    #[test]
    fn a_full_config() {
        let c = parse(json!({
            "leader": "https://hub.example.com", "follower": "https://aws.example.com/prod",
            "health": {"path": "/api/health", "followerPath": "/ping", "timeoutMs": 800, "intervalMs": 5000,
                       "maxBackoffMs": 30000, "expect": "\"ok\""},
            "requestTimeoutMs": 4000, "raceAfterMs": 100, "failoverStatuses": [500, 503],
            "routes": [{"prefix": "/api/pages", "critical": true}, {"prefix": "/api/hub/", "critical": false}],
            "defaultCritical": true,
            "hysteresis": {"successesToUp": 3, "failuresToDown": 2},
            "cache": {"storage": "session", "key": "hp", "ttlMs": 0}
        }))
        .unwrap();
        assert_eq!(c.health.timeout_ms, 800);
        assert_eq!(c.race_after_ms, 100);
        assert_eq!(c.health.expect.as_deref(), Some("\"ok\""));
        assert!(c.is_failover_status(500) && !c.is_failover_status(502));
        assert!(
            c.routes.is_critical("/api/pages/1")
                && !c.routes.is_critical("/api/hub")
                && c.routes.is_critical("/x")
        );
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
        let e = Config::from_value(&Value::Other("a function"), false).unwrap_err();
        assert_eq!(e.message, "config must be an object (got a function)");
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
        let e = Config::from_value(&from_json(&minimal()), true).unwrap_err();
        assert!(
            e.message
                .starts_with("leader is http: but this page is served over https:"),
            "{}",
            e.message
        );
    }
}
