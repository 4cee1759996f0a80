//! What counts as a healthy probe answer (spec §3): a 2xx that stayed under the base and,
//! with `health.expect`, whose first 4 KiB contain the text or, parsed as a JSON object,
//! hold every expected field with an equal value.

use super::report::Cause;

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
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// False when redirects took the probe to another base.
    pub(crate) stayed_home: bool,
    /// At most [`BODY_LIMIT`] bytes (read only when `expect` asks for it).
    pub(crate) body: Vec<u8>,
}

/// A 2xx status: the only kind a probe counts as healthy, and the only one whose body a
/// probe reads.
pub(crate) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Why an answer that is not healthy failed (spec §11's causes): its status outside 2xx
/// (0: an opaque redirect), else its body or where it landed (a captive portal).
pub(crate) fn cause(answer: &Reply) -> Cause {
    if is_success(answer.status) {
        Cause::Body
    } else {
        Cause::Status(answer.status)
    }
}

/// The verdict on one probe answer. `parse` reads the body as a JSON object (the
/// platform's `JSON.parse`); it is called only for an object `expect`.
pub(crate) fn is_healthy<J: JsonFields>(
    answer: &Reply,
    expect: Option<&Expect>,
    parse: impl FnOnce(&str) -> Option<J>,
) -> bool {
    if !is_success(answer.status) || !answer.stayed_home {
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

    #[test]
    fn a_failed_answer_is_blamed_on_its_status_else_its_body() {
        let reply = |status, stayed_home| Reply {
            status,
            stayed_home,
            body: b"<h1>Welcome to CoffeeShop WiFi</h1>".to_vec(),
        };
        assert_eq!(cause(&reply(502, true)), Cause::Status(502));
        assert_eq!(
            cause(&reply(0, true)),
            Cause::Status(0),
            "an opaque redirect"
        );
        assert_eq!(cause(&reply(200, true)), Cause::Body);
        assert_eq!(cause(&reply(204, false)), Cause::Body, "landed elsewhere");
    }

    impl JsonFields for serde_json::Value {
        fn field(&self, key: &str) -> Option<Scalar> {
            match self.get(key)? {
                serde_json::Value::Null => Some(Scalar::Null),
                serde_json::Value::Bool(b) => Some(Scalar::Flag(*b)),
                serde_json::Value::Number(n) => n.as_f64().map(Scalar::Number),
                serde_json::Value::String(s) => Some(Scalar::Text(s.clone())),
                _ => None,
            }
        }
    }

    fn parse(text: &str) -> Option<serde_json::Value> {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .filter(|v| v.is_object())
    }

    fn healthy(status: u16, home: bool, body: &[u8], expect: Option<&Expect>) -> bool {
        let answer = Reply {
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
