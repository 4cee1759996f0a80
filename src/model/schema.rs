//! The config's shape (spec §5): known keys, kinds of value and number ranges, checked by
//! a walk over the caller's object before serde reads it. serde-wasm-bindgen reads only
//! the declared fields and names none, so this walk is what refuses unknown keys and
//! names the field of every wrong value.

use super::error::{ConfigError, Got};

/// What a config value must be.
#[derive(Debug)]
pub(crate) enum Kind {
    Text,
    Flag,
    Whole {
        min: u32,
        max: u32,
    },
    Object(&'static [(&'static str, Kind)]),
    List(&'static Kind),
    /// `health.expect`: a string, or an object of JSON scalars.
    Expect,
    /// 0 (off), or a value of the inner kind.
    OffOr(&'static Kind),
}

const fn whole(min: u32, max: u32) -> Kind {
    Kind::Whole { min, max }
}

/// Spec §5, whole.
pub(crate) static CONFIG: Kind = Kind::Object(&[
    ("leader", Kind::Text),
    ("follower", Kind::Text),
    (
        "health",
        Kind::Object(&[
            ("path", Kind::Text),
            ("followerPath", Kind::Text),
            ("timeoutMs", whole(50, 60_000)),
            ("intervalMs", whole(1000, 3_600_000)),
            ("maxBackoffMs", whole(1000, 86_400_000)),
            ("expect", Kind::Expect),
        ]),
    ),
    ("requestTimeoutMs", whole(100, 300_000)),
    ("raceAfterMs", whole(10, 10_000)),
    ("failoverStatuses", Kind::List(&whole(500, 599))),
    (
        "routes",
        Kind::List(&Kind::Object(&[
            ("prefix", Kind::Text),
            ("critical", Kind::Flag),
            ("leader", Kind::Text),
            ("follower", Kind::Text),
        ])),
    ),
    ("defaultCritical", Kind::Flag),
    (
        "hysteresis",
        Kind::Object(&[
            ("successesToUp", whole(1, 10)),
            ("failuresToDown", whole(1, 10)),
            ("halfLifeMs", Kind::OffOr(&whole(1000, 600_000))),
        ]),
    ),
    ("writes", Kind::Object(&[("idempotencyKey", Kind::Text)])),
    (
        "cache",
        Kind::Object(&[
            ("storage", Kind::Text),
            ("key", Kind::Text),
            ("ttlMs", whole(0, 86_400_000)),
        ]),
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
        (_, Seen::Absent) | (Kind::Text, Seen::Text) | (Kind::Flag, Seen::Flag) => Ok(()),
        (Kind::OffOr(_), Seen::Number(0.0)) => Ok(()),
        (Kind::OffOr(kind), _) => walk(value, kind, field),
        (Kind::Whole { min, max }, Seen::Number(n))
            if n >= f64::from(*min) && n <= f64::from(*max) && n.fract() == 0.0 =>
        {
            Ok(())
        }
        (Kind::Whole { min, max }, _) => Err(ConfigError::OutOfRange {
            field: field.to_string(),
            min: *min,
            max: *max,
            got: match seen {
                Seen::Number(n) => Got::Number(n),
                other => Got::Kind(other.name()),
            },
        }),
        (Kind::Text, _) => Err(wrong("a string")),
        (Kind::Flag, _) => Err(wrong("true or false")),
        (Kind::Object(fields), Seen::Object) => {
            let keys = value.keys().map_err(unreadable(name(field)))?;
            if let Some(key) = keys
                .iter()
                .find(|k| !fields.iter().any(|(known, _)| known == k))
            {
                return Err(ConfigError::UnknownKey {
                    field: join(field, key),
                    known: fields.iter().map(|(k, _)| *k).collect(),
                });
            }
            for (key, kind) in *fields {
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
}
