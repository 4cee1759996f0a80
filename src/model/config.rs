//! Configuration (spec §5): serde reads the caller's object (already checked by
//! [`schema`](super::schema)) into [`ConfigInput`]; [`Config::from_input`] then checks
//! what the values mean (URLs, paths, choices) and fills in the schema's defaults.

use super::backoff::Backoff;
use super::error::{field, ConfigError};
use super::health::{Expect, JsonFields};
use super::machine::Tuning;
use super::path::{self, check_config_path, Base};
use super::route_table::{normalise_prefix, Route, RouteTable};
use super::schema::{
    CACHE_KEY, DEFAULT_CRITICAL, FAILOVER_STATUSES, FAILURES_TO_DOWN, FOLLOWER_CREDENTIALS,
    HALF_LIFE_MS, HEALTH_PATH, INTERVAL_MS, MAX_BACKOFF_MS, MAX_PENDING, RACE_AFTER_MS,
    REQUEST_TIMEOUT_MS, SAMPLE_RATE, STORAGE, STORAGES, SUCCESSES_TO_UP, TIMEOUT_MS, TTL_MS,
};
use super::target::Target;
use serde::Deserialize;

/// An HTTP token (RFC 9110 §5.6.2): what a method or a header name is made of.
pub(crate) fn is_token(s: &str) -> bool {
    for &b in s.as_bytes() {
        if !(b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
            return false;
        }
    }
    !s.is_empty()
}

/// The smallest re-probe delay while the leader is down (the first backoff step).
pub(crate) const BACKOFF_BASE_MS: u32 = 1000;

/// Every object of the config as serde reads it: the top level, `health`, `hysteresis`,
/// `writes`, `cache`, `reports` and each route are all this one type, so the wasm holds one struct
/// deserializer where six types would each bring their own. Which keys belong to which
/// object is [`schema::CONFIG`](super::schema::CONFIG)'s business, checked before serde
/// runs; in each object the fields of the others stay `None`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigInput {
    // The top level (`leader` and `follower` also in a route).
    leader: Option<String>,
    follower: Option<String>,
    health: Option<Box<ConfigInput>>,
    request_timeout_ms: Option<u32>,
    race_after_ms: Option<u32>,
    failover_statuses: Option<Vec<u16>>,
    routes: Option<Vec<ConfigInput>>,
    default_critical: Option<bool>,
    follower_credentials: Option<bool>,
    hysteresis: Option<Box<ConfigInput>>,
    writes: Option<Box<ConfigInput>>,
    cache: Option<Box<ConfigInput>>,
    reports: Option<Box<ConfigInput>>,
    // `health` (`path` also in `reports`)
    path: Option<String>,
    follower_path: Option<String>,
    timeout_ms: Option<u32>,
    interval_ms: Option<u32>,
    max_backoff_ms: Option<u32>,
    /// Not read by serde: see [`ConfigInput::put_expect`].
    #[serde(skip)]
    expect: Option<Expect>,
    // A route
    prefix: Option<String>,
    critical: Option<bool>,
    // `hysteresis`
    successes_to_up: Option<u32>,
    failures_to_down: Option<u32>,
    half_life_ms: Option<u32>,
    // `writes`
    idempotency_key: Option<String>,
    // `cache`
    storage: Option<String>,
    key: Option<String>,
    ttl_ms: Option<u32>,
    // `reports`
    sample_rate: Option<f64>,
    max_pending: Option<u32>,
}

/// `health.expect` in the caller's config, already checked by the schema walk to be a
/// string or an object of JSON scalars, as the platform reads it.
pub(crate) trait ExpectValue: JsonFields {
    /// The text, when `expect` is a string.
    fn text(&self) -> Option<String>;
    /// The keys, when `expect` is an object.
    fn keys(&self) -> Vec<String>;
}

impl ConfigInput {
    /// Puts in `health.expect`, the one value that is free-form JSON. serde-wasm-bindgen
    /// reads such a value only through its general-purpose `deserialize_any` (1.7 KB
    /// gzipped of wasm) or its `preserve` pass-through (1.2 KB); the platform reads it
    /// from the same plain copy in a few lines instead.
    pub(crate) fn put_expect(&mut self, value: Option<&impl ExpectValue>) {
        if let (Some(h), Some(v)) = (self.health.as_deref_mut(), value) {
            h.expect = Some(match v.text() {
                Some(text) => Expect::Text(text),
                None => {
                    let mut fields = Vec::new();
                    for k in v.keys() {
                        if let Some(scalar) = v.field(&k) {
                            fields.push((k, scalar));
                        }
                    }
                    Expect::Fields(fields)
                }
            });
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StorageKind {
    Local,
    Session,
    None,
}

/// The kinds of [`STORAGES`], in its order.
const STORAGE_KINDS: [StorageKind; 3] =
    [StorageKind::Local, StorageKind::Session, StorageKind::None];

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

/// Spec §11: where episode reports go on the leader, and how many.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReportsConfig {
    pub(crate) path: String,
    pub(crate) sample_rate: f64,
    pub(crate) max_pending: u32,
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
    /// Flap damping's half-life (spec §2); 0 turns damping off.
    pub(crate) half_life_ms: u32,
    /// Spec §2: the header every write carries a fresh key in, when set.
    pub(crate) idempotency_key: Option<String>,
    /// Spec §4: whether a request to the follower keeps the caller's credentials.
    pub(crate) follower_credentials: bool,
    pub(crate) cache: CacheConfig,
    /// `None` while `reports.path` is unset: reports are off.
    pub(crate) reports: Option<ReportsConfig>,
}

impl Config {
    /// Validates what serde read. `page_is_https` refuses `http:` bases.
    ///
    /// Reads `input` by `take()`, never by moving fields out of it: a partly moved
    /// `input` would be dropped field by field at every early return, which is most of
    /// this function's size in the wasm.
    pub(crate) fn from_input(
        mut input: ConfigInput,
        page_is_https: bool,
    ) -> Result<Config, ConfigError> {
        let leader = required_base(field::LEADER, input.leader.take(), page_is_https)?;
        let follower = required_base(field::FOLLOWER, input.follower.take(), page_is_https)?;
        if leader == follower {
            return Err(ConfigError::SameBases {
                base: leader.as_str().to_string(),
            });
        }
        let health = health(input.health.as_deref_mut())?;
        let routes = routes(
            input.routes.as_deref_mut().unwrap_or_default(),
            page_is_https,
        )?;
        let y = input.hysteresis.as_deref();
        let idempotency_key = input
            .writes
            .as_deref_mut()
            .and_then(|w| w.idempotency_key.take());
        if let Some(name) = idempotency_key.as_deref().filter(|n| !is_token(n)) {
            return Err(ConfigError::BadHeaderName {
                got: name.to_string(),
            });
        }
        let reports = match input.reports.as_deref_mut() {
            Some(r) => reports(r)?,
            None => None,
        };
        Ok(Config {
            leader,
            follower,
            health,
            request_timeout_ms: input.request_timeout_ms.unwrap_or(REQUEST_TIMEOUT_MS),
            race_after_ms: input.race_after_ms.unwrap_or(RACE_AFTER_MS),
            failover_statuses: input
                .failover_statuses
                .take()
                .unwrap_or_else(|| FAILOVER_STATUSES.to_vec()),
            routes: RouteTable::new(routes, input.default_critical.unwrap_or(DEFAULT_CRITICAL)),
            successes_to_up: y.and_then(|y| y.successes_to_up).unwrap_or(SUCCESSES_TO_UP),
            failures_to_down: y
                .and_then(|y| y.failures_to_down)
                .unwrap_or(FAILURES_TO_DOWN),
            half_life_ms: y.and_then(|y| y.half_life_ms).unwrap_or(HALF_LIFE_MS),
            idempotency_key,
            follower_credentials: input.follower_credentials.unwrap_or(FOLLOWER_CREDENTIALS),
            cache: cache(input.cache.as_deref_mut())?,
            reports,
        })
    }

    pub(crate) fn is_failover_status(&self, status: u16) -> bool {
        self.failover_statuses.contains(&status)
    }

    /// Every base a request may be sent to, for the no-escape rule.
    pub(crate) fn bases(&self) -> Vec<&Base> {
        let mut all = vec![&self.leader, &self.follower];
        self.routes.push_bases(&mut all);
        all
    }

    /// The side of the longest configured base `url` lies under (scheme and host in any
    /// case): what labels a response's `url` as the leader's or the follower's.
    pub(crate) fn side(&self, url: &str) -> Option<Target> {
        let (base, _) = path::under(url, &self.bases())?;
        Some(
            if *base == self.follower || self.routes.has_follower(base) {
                Target::Follower
            } else {
                Target::Leader
            },
        )
    }

    pub(crate) fn tuning(&self) -> Tuning {
        Tuning {
            successes_to_up: self.successes_to_up,
            failures_to_down: self.failures_to_down,
            interval_ms: self.health.interval_ms,
            backoff: Backoff {
                base_ms: BACKOFF_BASE_MS.min(self.health.max_backoff_ms),
                max_ms: self.health.max_backoff_ms,
            },
            half_life_ms: self.half_life_ms,
        }
    }
}

fn required_base(
    field: &str,
    url: Option<String>,
    page_is_https: bool,
) -> Result<Base, ConfigError> {
    let url = url.ok_or_else(|| ConfigError::Required {
        field: field.to_string(),
        hint: "",
    })?;
    Base::parse(field, &url, page_is_https)
}

/// `health`, when given.
fn health(h: Option<&mut ConfigInput>) -> Result<HealthConfig, ConfigError> {
    let mut none = ConfigInput::default();
    let h = h.unwrap_or(&mut none);
    let path = h.path.take().unwrap_or_else(|| HEALTH_PATH.into());
    check_config_path(field::HEALTH_PATH, &path)?;
    let follower_path = h.follower_path.take().unwrap_or_else(|| HEALTH_PATH.into());
    check_config_path(field::HEALTH_FOLLOWER_PATH, &follower_path)?;
    let expect = match h.expect.take() {
        Some(Expect::Text(text)) if text.is_empty() => {
            return Err(ConfigError::Empty {
                field: field::HEALTH_EXPECT,
                hint: ": leave it out to accept any 2xx body",
            })
        }
        Some(Expect::Fields(fields)) if fields.is_empty() => {
            return Err(ConfigError::Empty {
                field: field::HEALTH_EXPECT,
                hint: ": name at least one field, or leave it out to accept any 2xx body",
            })
        }
        expect => expect,
    };
    Ok(HealthConfig {
        path,
        follower_path,
        timeout_ms: h.timeout_ms.unwrap_or(TIMEOUT_MS),
        interval_ms: h.interval_ms.unwrap_or(INTERVAL_MS),
        max_backoff_ms: h.max_backoff_ms.unwrap_or(MAX_BACKOFF_MS),
        expect,
    })
}

fn routes(input: &mut [ConfigInput], page_is_https: bool) -> Result<Vec<Route>, ConfigError> {
    let mut routes: Vec<Route> = Vec::new();
    for (i, r) in input.iter_mut().enumerate() {
        // One formatting site for every field name of this route.
        let in_route = |name: &str| format!("{}[{i}].{name}", field::ROUTES);
        let prefix = r.prefix.take().ok_or_else(|| ConfigError::Required {
            field: in_route(field::PREFIX),
            hint: "",
        })?;
        check_config_path(&in_route(field::PREFIX), &prefix)?;
        if prefix.contains(['?', '#']) {
            return Err(ConfigError::BadPath {
                field: in_route(field::PREFIX),
                problem: super::error::PathProblem::QueryInPrefix,
                got: prefix,
            });
        }
        let critical = r.critical.ok_or_else(|| ConfigError::Required {
            field: in_route(field::CRITICAL),
            hint: ": true if the follower may serve it",
        })?;
        let own = |which: &str, url: Option<String>| {
            url.map(|u| Base::parse(&in_route(which), &u, page_is_https))
                .transpose()
        };
        let route_leader = own(field::LEADER, r.leader.take())?;
        let route_follower = own(field::FOLLOWER, r.follower.take())?;
        let normal = normalise_prefix(&prefix);
        if let Some(first) = routes.iter().position(|seen| seen.prefix == normal) {
            return Err(ConfigError::RepeatedPrefix {
                field: in_route(field::PREFIX),
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
    Ok(routes)
}

/// `reports`, when given: off without a path.
fn reports(r: &mut ConfigInput) -> Result<Option<ReportsConfig>, ConfigError> {
    let Some(path) = r.path.take() else {
        return Ok(None);
    };
    check_config_path(field::REPORTS_PATH, &path)?;
    Ok(Some(ReportsConfig {
        path,
        sample_rate: r.sample_rate.unwrap_or(SAMPLE_RATE),
        max_pending: r.max_pending.unwrap_or(MAX_PENDING),
    }))
}

/// `cache`, when given.
fn cache(c: Option<&mut ConfigInput>) -> Result<CacheConfig, ConfigError> {
    let mut none = ConfigInput::default();
    let c = c.unwrap_or(&mut none);
    let name = c.storage.as_deref().unwrap_or(STORAGE);
    let found = STORAGES
        .iter()
        .zip(STORAGE_KINDS)
        .find(|(n, _)| **n == name);
    let Some((_, storage)) = found else {
        return Err(ConfigError::BadStorage {
            of: STORAGES,
            got: name.into(),
        });
    };
    let key = c.key.take().unwrap_or_else(|| CACHE_KEY.into());
    if key.is_empty() {
        return Err(ConfigError::Empty {
            field: field::CACHE_KEY,
            hint: "",
        });
    }
    Ok(CacheConfig {
        storage,
        key,
        ttl_ms: c.ttl_ms.unwrap_or(TTL_MS),
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
impl ExpectValue for serde_json::Value {
    fn text(&self) -> Option<String> {
        self.as_str().map(str::to_string)
    }
    fn keys(&self) -> Vec<String> {
        self.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// The whole path from a JSON config, as the package takes it from a JS object.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) fn parse_json(v: &serde_json::Value, https: bool) -> Result<Config, ConfigError> {
    super::schema::check(v)?;
    let mut input: ConfigInput =
        serde_json::from_value(v.clone()).map_err(|e| ConfigError::Unreadable {
            field: "config".into(),
            detail: e.to_string(),
        })?;
    input.put_expect(v.pointer("/health/expect").filter(|e| !e.is_null()));
    Config::from_input(input, https)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::model::health::Scalar;
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
        assert_eq!(c.half_life_ms, 30_000);
        assert_eq!(c.tuning().half_life_ms, 30_000);
        assert_eq!(c.idempotency_key, None, "off by default");
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
            c.tuning().backoff,
            Backoff {
                base_ms: 1000,
                max_ms: 30_000
            }
        );
        assert_eq!(c.tuning().interval_ms, 5000);
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
            (
                "health.maxBackoffMs",
                json!(2_147_483_648u32),
                "health.maxBackoffMs must be a whole number from 1000 to 2147483647 (got 2147483648)",
            ),
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
                "hysteresis.halfLifeMs",
                json!(999),
                "hysteresis.halfLifeMs must be a whole number from 1000 to 600000 (got 999)",
            ),
            (
                "hysteresis.halfLifeMs",
                json!(600_001),
                "hysteresis.halfLifeMs ",
            ),
            ("hysteresis.halfLifeMs", json!(-1), "hysteresis.halfLifeMs "),
            (
                "hysteresis.halfLifeMs",
                json!(0.5),
                "hysteresis.halfLifeMs ",
            ),
            (
                "hysteresis.halfLifeMs",
                json!("0"),
                "hysteresis.halfLifeMs ",
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
            ("hysteresis.halfLifeMs", 0),
            ("hysteresis.halfLifeMs", 1000),
            ("hysteresis.halfLifeMs", 600_000),
            ("health.maxBackoffMs", 1000),
            ("health.maxBackoffMs", i32::MAX),
        ] {
            assert!(parse(with(key, json!(value))).is_ok(), "{key}={value}");
        }
        // Spec §5 says only "≥ 1000": the top is what a browser timer can wait, and no
        // backoff step exceeds it.
        let c = parse(with("health.maxBackoffMs", json!(i32::MAX))).unwrap();
        let backoff = c.tuning().backoff;
        assert_eq!(backoff.ceiling_ms(40), i32::MAX as u32);
        assert!(backoff.delay_ms(40, 1.0) <= i32::MAX as u32);
    }

    #[test]
    fn the_idempotency_key_header_is_a_token_or_null() {
        let c = parse(with("writes.idempotencyKey", json!("Idempotency-Key"))).unwrap();
        assert_eq!(c.idempotency_key.as_deref(), Some("Idempotency-Key"));
        assert_eq!(
            parse(with("writes.idempotencyKey", json!(null)))
                .unwrap()
                .idempotency_key,
            None
        );
        assert_eq!(
            parse(with("writes", json!({}))).unwrap().idempotency_key,
            None
        );
        for bad in ["", "Idempotency Key", "Key:", "Schlüssel", "a\nb", "(key)"] {
            let m = err(with("writes.idempotencyKey", json!(bad)));
            assert!(
                m.starts_with("writes.idempotencyKey must be an HTTP header name such as \"Idempotency-Key\", or null (got "),
                "{bad:?}: {m}"
            );
        }
        assert_eq!(
            err(with("writes.idempotencyKey", json!(true))),
            "writes.idempotencyKey must be a string (got a boolean)"
        );
        assert!(err(with("writes.idempotency", json!("K")))
            .starts_with("writes.idempotency is not a known setting; known here: idempotencyKey"));
        assert_eq!(
            err(with("writes", json!("Idempotency-Key"))),
            "writes must be an object (got a string)"
        );
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
