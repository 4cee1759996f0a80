//! What counts as a healthy probe answer (spec §3): a 2xx that stayed under the base and,
//! with `health.expect`, whose first 4 KiB contain the text or, parsed as a JSON object,
//! hold every expected field with an equal value.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;

/// At most this much of a health body is read.
pub(crate) const BODY_LIMIT: usize = 4096;

/// A JSON scalar, as `health.expect` fields hold them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Flag(bool),
    Number(f64),
    Text(String),
    Null,
}

/// By hand rather than `#[serde(untagged)]`, whose buffering of any value costs the
/// wasm a few KB for what is one of four JSON kinds.
impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Flag(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(v as f64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Text(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }
}

/// `health.expect`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expect {
    Text(String),
    Fields(Vec<(String, Scalar)>),
}

/// A parsed JSON body: the value of a top-level field, when it is a scalar.
pub(crate) trait JsonFields {
    fn field(&self, key: &str) -> Option<Scalar>;
}

/// A probe's answer, as far as the verdict needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// False when redirects took the probe to another base.
    pub(crate) stayed_home: bool,
    /// At most [`BODY_LIMIT`] bytes (read only when `expect` asks for it).
    pub(crate) body: Vec<u8>,
}

/// The verdict on one probe answer. `parse` reads the body as a JSON object (the
/// platform's `JSON.parse`); it is called only for an object `expect`.
pub(crate) fn is_healthy<J: JsonFields>(
    answer: &Answer,
    expect: Option<&Expect>,
    parse: impl FnOnce(&str) -> Option<J>,
) -> bool {
    if !(200..300).contains(&answer.status) || !answer.stayed_home {
        return false;
    }
    let body = answer
        .body
        .get(..BODY_LIMIT.min(answer.body.len()))
        .unwrap_or(&answer.body);
    match expect {
        None => true,
        Some(Expect::Text(needle)) => contains(body, needle.as_bytes()),
        Some(Expect::Fields(fields)) => {
            let Some(json) = std::str::from_utf8(body).ok().and_then(parse) else {
                return false;
            };
            fields
                .iter()
                .all(|(key, want)| json.field(key).as_ref() == Some(want))
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    impl JsonFields for serde_json::Value {
        fn field(&self, key: &str) -> Option<Scalar> {
            serde_json::from_value(self.get(key)?.clone()).ok()
        }
    }

    fn parse(text: &str) -> Option<serde_json::Value> {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .filter(|v| v.is_object())
    }

    fn healthy(status: u16, home: bool, body: &[u8], expect: Option<&Expect>) -> bool {
        let answer = Answer {
            status,
            stayed_home: home,
            body: body.to_vec(),
        };
        is_healthy(&answer, expect, parse)
    }

    fn text(s: &str) -> Expect {
        Expect::Text(s.into())
    }

    #[test]
    fn status_and_body_rules() {
        let ok = br#"{"status":"ok"}"#;
        assert!(healthy(200, true, ok, None));
        assert!(healthy(204, true, b"", None));
        assert!(healthy(200, true, ok, Some(&text(r#""status":"ok""#))));
        // A captive portal or an NGINX error page.
        assert!(!healthy(
            200,
            true,
            b"<h1>Welcome to CoffeeShop WiFi</h1>",
            Some(&text(r#""status":"ok""#))
        ));
        for status in [0, 199, 301, 304, 404, 500, 502, 503, 504] {
            assert!(!healthy(status, true, ok, None), "{status}");
        }
        assert!(!healthy(200, false, ok, None), "redirected elsewhere");
    }

    #[test]
    fn only_the_first_4_kib_counts() {
        let mut body = vec![b'x'; BODY_LIMIT - 2];
        body.extend_from_slice(b"okay");
        assert!(!healthy(200, true, &body, Some(&text("okay"))));
        assert!(healthy(200, true, &body, Some(&text("xok"))));
    }

    #[test]
    fn an_object_expect_ignores_whitespace_and_key_order() {
        let expect = Expect::Fields(vec![("status".into(), Scalar::Text("ok".into()))]);
        for body in [
            "{\"status\":\"ok\"}",
            "{\n  \"status\": \"ok\"\n}\n",
            "{\"db\": true, \"status\": \"ok\"}",
        ] {
            assert!(healthy(200, true, body.as_bytes(), Some(&expect)), "{body}");
        }
        for body in [
            "OK",
            "{\"status\":\"down\"}",
            "{\"status\":[\"ok\"]}",
            "{\"state\":\"ok\"}",
            "<html>status ok</html>",
            "[{\"status\":\"ok\"}]",
        ] {
            assert!(
                !healthy(200, true, body.as_bytes(), Some(&expect)),
                "{body}"
            );
        }
        let typed = Expect::Fields(vec![
            ("n".into(), Scalar::Number(1.0)),
            ("up".into(), Scalar::Flag(true)),
            ("x".into(), Scalar::Null),
        ]);
        assert!(healthy(
            200,
            true,
            br#"{"n":1.0,"up":true,"x":null}"#,
            Some(&typed)
        ));
        assert!(!healthy(
            200,
            true,
            br#"{"n":"1","up":true,"x":null}"#,
            Some(&typed)
        ));
        assert!(!healthy(503, true, br#"{"status":"ok"}"#, Some(&expect)));
    }
}
