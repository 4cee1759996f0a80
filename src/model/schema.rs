//! The config's shape (spec §5), the one source of its facts: each key's name, kind, range,
//! default and doc line. The walk checks the caller's object against it before serde reads
//! it, as serde-wasm-bindgen refuses no unknown key and names no field.

use super::error::{ConfigError, Got};

/// What a config value must be.
#[derive(Debug)]
pub(crate) enum Kind {
    Text,
    /// A string, one of a few: [`Config`](super::config::Config) checks which; test
    /// builds know them, for the docs.
    Choice {
        #[cfg(all(test, not(target_arch = "wasm32")))]
        of: &'static [&'static str],
    },
    Flag,
    /// A number from `min` to `max`, whole unless `whole` is false.
    Number {
        min: u32,
        max: u32,
        whole: bool,
    },
    Object(&'static [Key]),
    List(&'static Kind),
    /// `health.expect`: a string, or an object of JSON scalars.
    Expect,
    /// 0 (off), or a value of the inner kind.
    OffOr(&'static Kind),
}

/// One key of the config. The default and the doc line exist in test builds only: the
/// wasm holds names and kinds, and [`Config`](super::config::Config) reads the defaults
/// from the constants below.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub(crate) default: Unset,
    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub(crate) doc: &'static str,
}

/// A key's default, as the docs show it.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[derive(Debug)]
pub(crate) enum Unset {
    Required,
    /// No value and no default (an object, an optional base, `health.expect`).
    None,
    Null,
    Flag(bool),
    Number(u32),
    Text(&'static str),
    Numbers(&'static [u16]),
    /// `[]`.
    NoItems,
}

const fn whole(min: u32, max: u32) -> Kind {
    Kind::Number {
        min,
        max,
        whole: true,
    }
}

const fn choice(of: &'static [&'static str]) -> Kind {
    #[cfg(not(all(test, not(target_arch = "wasm32"))))]
    let _ = of;
    Kind::Choice {
        #[cfg(all(test, not(target_arch = "wasm32")))]
        of,
    }
}

/// A [`Key`]: name, kind, default, doc line.
macro_rules! key {
    ($name:literal, $kind:expr, $default:expr, $doc:literal) => {
        Key {
            name: $name,
            kind: $kind,
            #[cfg(all(test, not(target_arch = "wasm32")))]
            default: $default,
            #[cfg(all(test, not(target_arch = "wasm32")))]
            doc: $doc,
        }
    };
}

/// The longest delay a browser timer waits (2^31 − 1 ms, about 24.8 days): a longer one
/// fires at once.
const TIMER_MAX_MS: u32 = i32::MAX as u32;

// The defaults, read by `Config` and shown by the docs.
pub(crate) const HEALTH_PATH: &str = "/health";
pub(crate) const TIMEOUT_MS: u32 = 1500;
pub(crate) const INTERVAL_MS: u32 = 15_000;
pub(crate) const MAX_BACKOFF_MS: u32 = 60_000;
pub(crate) const REQUEST_TIMEOUT_MS: u32 = 10_000;
pub(crate) const RACE_AFTER_MS: u32 = 250;
pub(crate) const FAILOVER_STATUSES: [u16; 3] = [502, 503, 504];
pub(crate) const DEFAULT_CRITICAL: bool = false;
pub(crate) const FOLLOWER_CREDENTIALS: bool = false;
pub(crate) const SUCCESSES_TO_UP: u32 = 2;
pub(crate) const FAILURES_TO_DOWN: u32 = 1;
pub(crate) const HALF_LIFE_MS: u32 = 30_000;
pub(crate) const STORAGE: &str = "local";
/// `cache.storage`'s choices: the one list the walk, the config and its error use.
pub(crate) const STORAGES: [&str; 3] = ["local", "session", "none"];
pub(crate) const CACHE_KEY: &str = "health-proxy";
pub(crate) const TTL_MS: u32 = 30_000;
pub(crate) const SAMPLE_RATE: f64 = 1.0;
pub(crate) const MAX_PENDING: u32 = 10;

/// Spec §5 and §8, whole, in the order the docs list it.
pub(crate) static CONFIG: Kind = Kind::Object(&[
    key!("leader", Kind::Text, Unset::Required, "absolute `http(s)` URL of the true leader, no query, fragment or credentials; trailing `/` dropped. `http:` is refused when the page is `https:` (mixed content)"),
    key!("follower", Kind::Text, Unset::Required, "absolute `http(s)` URL of the follower (the emergency leader): same rules, and must differ from `leader`"),
    key!(
        "health",
        Kind::Object(&[
            key!("path", Kind::Text, Unset::Text(HEALTH_PATH), "path on the leader"),
            key!("followerPath", Kind::Text, Unset::Text(HEALTH_PATH), "path on the follower, probed only while the leader is failing"),
            key!("timeoutMs", whole(50, 60_000), Unset::Number(TIMEOUT_MS), "the probe is aborted (really: `AbortController`) at this time — or, once three good probes have measured the line, at max(this, 4 × SRTT), at most 3 × this (spec §3: a far leader is not dead for being far)"),
            key!("intervalMs", whole(1000, 3_600_000), Unset::Number(INTERVAL_MS), "re-probe period while healthy"),
            key!("maxBackoffMs", whole(1000, TIMER_MAX_MS), Unset::Number(MAX_BACKOFF_MS), "cap of the re-probe backoff while down; the top is the longest a browser timer waits (2^31 − 1 ms)"),
            key!("expect", Kind::Expect, Unset::None, "a non-empty substring the first 4 KiB of the leader's health body must contain, or an object of JSON scalars the body, parsed as a JSON object, must hold with equal values: `{ \"status\": \"ok\" }` passes `{\"status\":\"ok\"}`, `{\"status\": \"ok\"}` and pretty-printed JSON alike"),
        ]),
        Unset::None,
        ""
    ),
    key!("requestTimeoutMs", whole(100, 300_000), Unset::Number(REQUEST_TIMEOUT_MS), "a request's deadline, its body included"),
    key!("raceAfterMs", whole(10, 10_000), Unset::Number(RACE_AFTER_MS), "how long a critical read waits on the leader before the follower may join (spec §8)"),
    key!("failoverStatuses", Kind::List(&whole(500, 599)), Unset::Numbers(&FAILOVER_STATUSES), "statuses that count as a leader failure"),
    key!(
        "routes",
        Kind::List(&Kind::Object(&[
            key!("prefix", Kind::Text, Unset::Required, "a path starting with `/`, matched on whole segments; the longest match wins"),
            key!("critical", Kind::Flag, Unset::Required, "true when the follower may serve it while the leader is down"),
            key!("leader", Kind::Text, Unset::None, "a base of its own for this prefix on the leader's side (e.g. its file store), used in place of `leader`; never probed"),
            key!("follower", Kind::Text, Unset::None, "a base of its own for this prefix on the follower's side (e.g. an S3 bucket), used in place of `follower`; never probed"),
        ])),
        Unset::NoItems,
        "`prefix` and `critical` required; longest whole-segment prefix wins; `leader`/`follower` are bases of the route's own (a file store, an S3 bucket) used for that prefix in place of the top-level ones, never probed; the no-escape rule covers them too"
    ),
    key!("defaultCritical", Kind::Flag, Unset::Flag(DEFAULT_CRITICAL), "for paths no route matches"),
    key!("followerCredentials", Kind::Flag, Unset::Flag(FOLLOWER_CREDENTIALS), "`true` sends the caller's `Authorization` header and cookies to the follower too (a follower behind the same identity provider); else a request to the follower carries neither (`credentials: \"omit\"`)"),
    key!(
        "hysteresis",
        Kind::Object(&[
            key!("successesToUp", whole(1, 10), Unset::Number(SUCCESSES_TO_UP), "consecutive good probes to leave `emergency`"),
            key!("failuresToDown", whole(1, 10), Unset::Number(FAILURES_TO_DOWN), "consecutive failed probes to leave `leader`"),
            key!("halfLifeMs", Kind::OffOr(&whole(1000, 600_000)), Unset::Number(HALF_LIFE_MS), "the half-life of the flap penalty (spec §2)"),
        ]),
        Unset::None,
        ""
    ),
    key!(
        "writes",
        Kind::Object(&[key!("idempotencyKey", Kind::Text, Unset::Null, "a header name (an HTTP token, e.g. `\"Idempotency-Key\"`): every write then carries a fresh `crypto.randomUUID()` in it unless the caller set it; the leader's CORS must allow it, and the leader should answer a repeated key with its stored answer")]),
        Unset::None,
        ""
    ),
    key!(
        "cache",
        Kind::Object(&[
            key!("storage", choice(&STORAGES), Unset::Text(STORAGE), "where the verdict is kept (`\"none\"`: in memory only)"),
            key!("key", Kind::Text, Unset::Text(CACHE_KEY), "the Web Storage key; non-empty"),
            key!("ttlMs", whole(0, 86_400_000), Unset::Number(TTL_MS), "how long a stored verdict is trusted for routing (0: never reuse a stored verdict)"),
        ]),
        Unset::None,
        ""
    ),
    key!(
        "reports",
        Kind::Object(&[
            key!("path", Kind::Text, Unset::Null, "a path on the leader that takes one `POST` per outage episode this browser saw (spec §11, docs/api.md); `null`: reports are off"),
            key!("sampleRate", Kind::Number { min: 0, max: 1, whole: false }, Unset::Number(1), "the share of episodes reported, drawn at random per episode (0: none)"),
            key!("maxPending", whole(0, 100), Unset::Number(MAX_PENDING), "reports kept with the verdict cache until the leader takes them; the oldest is dropped beyond this (0: a report whose first send fails is dropped)"),
        ]),
        Unset::None,
        ""
    ),
]);

/// What a value turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Seen {
    /// `null` or `undefined`: the default applies.
    Absent,
    Flag,
    Number(f64),
    Text,
    List(u32),
    Object,
    /// Anything JSON has no word for: how a message names it ("a function").
    Other(&'static str),
}

impl Seen {
    fn name(self) -> &'static str {
        match self {
            Seen::Absent => "null",
            Seen::Flag => "a boolean",
            Seen::Number(_) => "a number",
            Seen::Text => "a string",
            Seen::List(_) => "an array",
            Seen::Object => "an object",
            Seen::Other(name) => name,
        }
    }
}

/// A config value as the walk sees it: a JS value in the package, JSON in native tests.
/// Reads fail with a description when a getter or a Proxy trap throws.
pub(crate) trait Shape: Sized {
    fn seen(&self) -> Seen;
    /// Own enumerable keys, as JSON sees them.
    fn keys(&self) -> Result<Vec<String>, String>;
    fn get(&self, key: &str) -> Result<Self, String>;
    fn item(&self, index: u32) -> Result<Self, String>;
}

/// Checks the whole config object against [`CONFIG`].
pub(crate) fn check<S: Shape>(config: &S) -> Result<(), ConfigError> {
    match config.seen() {
        Seen::Object => walk(config, &CONFIG, ""),
        seen => Err(ConfigError::WrongType {
            field: "config".into(),
            want: "an object",
            got: seen.name(),
        }),
    }
}

fn walk<S: Shape>(value: &S, kind: &Kind, field: &str) -> Result<(), ConfigError> {
    let seen = value.seen();
    let wrong = |want| ConfigError::WrongType {
        field: field.to_string(),
        want,
        got: seen.name(),
    };
    let unreadable = |field: String| move |detail| ConfigError::Unreadable { field, detail };
    match (kind, seen) {
        (_, Seen::Absent)
        | (Kind::Text | Kind::Choice { .. }, Seen::Text)
        | (Kind::Flag, Seen::Flag) => Ok(()),
        (Kind::OffOr(_), Seen::Number(0.0)) => Ok(()),
        (Kind::OffOr(kind), _) => walk(value, kind, field),
        (Kind::Number { min, max, whole }, Seen::Number(n))
            if n >= f64::from(*min) && n <= f64::from(*max) && (!whole || n.fract() == 0.0) =>
        {
            Ok(())
        }
        (Kind::Number { min, max, whole }, _) => Err(ConfigError::OutOfRange {
            field: field.to_string(),
            min: *min,
            max: *max,
            whole: *whole,
            got: match seen {
                Seen::Number(n) => Got::Number(n),
                other => Got::Kind(other.name()),
            },
        }),
        (Kind::Text | Kind::Choice { .. }, _) => Err(wrong("a string")),
        (Kind::Flag, _) => Err(wrong("true or false")),
        (Kind::Object(fields), Seen::Object) => {
            let keys = value.keys().map_err(unreadable(name(field)))?;
            if let Some(key) = keys
                .iter()
                .find(|k| !fields.iter().any(|known| known.name == *k))
            {
                let mut known = Vec::new();
                for k in *fields {
                    known.push(k.name);
                }
                return Err(ConfigError::UnknownKey {
                    field: join(field, key),
                    known,
                });
            }
            for Key {
                name: key, kind, ..
            } in *fields
            {
                let child = join(field, key);
                let v = value.get(key).map_err(unreadable(child.clone()))?;
                walk(&v, kind, &child)?;
            }
            Ok(())
        }
        (Kind::Object(_), _) => Err(wrong("an object")),
        (Kind::List(item), Seen::List(len)) => {
            for i in 0..len {
                let child = format!("{field}[{i}]");
                let v = value.item(i).map_err(unreadable(child.clone()))?;
                walk(&v, item, &child)?;
            }
            Ok(())
        }
        (Kind::List(_), _) => Err(wrong("an array")),
        (Kind::Expect, Seen::Text) => Ok(()),
        (Kind::Expect, Seen::Object) => {
            for key in value.keys().map_err(unreadable(name(field)))? {
                let child = join(field, &key);
                let v = value.get(&key).map_err(unreadable(child.clone()))?;
                match v.seen() {
                    Seen::Absent | Seen::Flag | Seen::Number(_) | Seen::Text => {}
                    other => {
                        return Err(ConfigError::WrongType {
                            field: child,
                            want: "a string, number, boolean or null",
                            got: other.name(),
                        })
                    }
                }
            }
            Ok(())
        }
        (Kind::Expect, _) => Err(wrong("a string or an object of expected JSON fields")),
    }
}

fn name(field: &str) -> String {
    if field.is_empty() {
        "config".into()
    } else {
        field.to_string()
    }
}

fn join(field: &str, key: &str) -> String {
    if field.is_empty() {
        key.to_string()
    } else {
        format!("{field}.{key}")
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod docs;

/// The walk over JSON, for native tests of the whole config path.
#[cfg(all(test, not(target_arch = "wasm32")))]
impl Shape for serde_json::Value {
    fn seen(&self) -> Seen {
        match self {
            serde_json::Value::Null => Seen::Absent,
            serde_json::Value::Bool(_) => Seen::Flag,
            serde_json::Value::Number(n) => Seen::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(_) => Seen::Text,
            serde_json::Value::Array(a) => Seen::List(a.len() as u32),
            serde_json::Value::Object(_) => Seen::Object,
        }
    }
    fn keys(&self) -> Result<Vec<String>, String> {
        Ok(self
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default())
    }
    fn get(&self, key: &str) -> Result<Self, String> {
        Ok(self.get(key).cloned().unwrap_or(serde_json::Value::Null))
    }
    fn item(&self, index: u32) -> Result<Self, String> {
        Ok(self
            .get(index as usize)
            .cloned()
            .unwrap_or(serde_json::Value::Null))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    /// A value whose reads of one key fail, as a throwing getter's would.
    struct Hostile;
    impl Shape for Hostile {
        fn seen(&self) -> Seen {
            Seen::Object
        }
        fn keys(&self) -> Result<Vec<String>, String> {
            Ok(vec!["leader".into()])
        }
        fn get(&self, _: &str) -> Result<Self, String> {
            Err("Error: boom".into())
        }
        fn item(&self, _: u32) -> Result<Self, String> {
            Err("Error: boom".into())
        }
    }

    #[test]
    fn a_throwing_getter_is_a_config_error_naming_the_field() {
        let e = check(&Hostile).unwrap_err();
        assert_eq!(e.to_string(), "leader could not be read: Error: boom");
    }

    #[test]
    fn expect_objects_hold_scalars_only() {
        let ok = serde_json::json!({"leader": "http://a", "health": {"expect": {"status": "ok", "n": 1, "up": true, "x": null}}});
        assert!(check(&ok).is_ok());
        let nested = serde_json::json!({"health": {"expect": {"status": {"deep": "ok"}}}});
        assert_eq!(
            check(&nested).unwrap_err().to_string(),
            "health.expect.status must be a string, number, boolean or null (got an object)"
        );
        let list = serde_json::json!({"health": {"expect": ["ok"]}});
        assert!(check(&list)
            .unwrap_err()
            .to_string()
            .starts_with("health.expect must be a string or an object"));
    }

    /// The key at a dotted path of the schema, if there is one (`routes` leads into a route).
    fn key_at(path: &str) -> Option<&'static Key> {
        let mut keys: &[Key] = match &CONFIG {
            Kind::Object(keys) => keys,
            _ => return None,
        };
        let mut found = None;
        for name in path.split('.') {
            let key = keys.iter().find(|k| k.name == name)?;
            keys = match &key.kind {
                Kind::Object(inner) => inner,
                Kind::List(Kind::Object(inner)) => inner,
                _ => &[],
            };
            found = Some(key);
        }
        found
    }

    #[test]
    fn every_field_name_the_errors_use_is_a_key_of_the_schema() {
        use crate::model::error::field::*;
        for path in [
            LEADER,
            FOLLOWER,
            HEALTH_PATH,
            HEALTH_FOLLOWER_PATH,
            HEALTH_EXPECT,
            ROUTES,
            IDEMPOTENCY_KEY,
            CACHE_STORAGE,
            CACHE_KEY,
            &format!("{ROUTES}.{PREFIX}"),
            &format!("{ROUTES}.{CRITICAL}"),
            &format!("{ROUTES}.{LEADER}"),
            &format!("{ROUTES}.{FOLLOWER}"),
        ] {
            assert!(key_at(path).is_some(), "{path} is not in the schema");
        }
        assert!(key_at("cache.storge").is_none());
        let storage = key_at(CACHE_STORAGE).map(|k| &k.kind);
        assert!(matches!(storage, Some(Kind::Choice { of }) if *of == STORAGES));
    }

    /// A config whose `leader` is a value JSON has no name for (a function, in JS).
    struct Odd(bool);
    impl Shape for Odd {
        fn seen(&self) -> Seen {
            if self.0 {
                Seen::Object
            } else {
                Seen::Other("a function")
            }
        }
        fn keys(&self) -> Result<Vec<String>, String> {
            Ok(vec!["leader".into()])
        }
        fn get(&self, _: &str) -> Result<Self, String> {
            Ok(Odd(false))
        }
        fn item(&self, _: u32) -> Result<Self, String> {
            Ok(Odd(false))
        }
    }

    #[test]
    fn a_value_of_another_kind_is_named_in_the_error() {
        let e = check(&Odd(true)).unwrap_err().to_string();
        assert!(
            e.starts_with("leader must be a string (got a function)"),
            "{e}"
        );
    }
}
