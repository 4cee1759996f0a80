//! What counts as a healthy probe answer (spec §3).

/// At most this much of a health body is read.
pub const BODY_LIMIT: usize = 4096;

/// `status` and `body_prefix` (at most [`BODY_LIMIT`] bytes) of a probe's answer;
/// `stayed_home` is false when redirects took the probe to another base.
pub fn is_healthy(
    status: u16,
    stayed_home: bool,
    body_prefix: &[u8],
    expect: Option<&str>,
) -> bool {
    if !(200..300).contains(&status) || !stayed_home {
        return false;
    }
    match expect {
        None => true,
        Some(needle) => {
            let body = body_prefix
                .get(..BODY_LIMIT.min(body_prefix.len()))
                .unwrap_or(body_prefix);
            contains(body, needle.as_bytes())
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn status_and_body_rules() {
        let ok = br#"{"status":"ok"}"#;
        assert!(is_healthy(200, true, ok, None));
        assert!(is_healthy(204, true, b"", None));
        assert!(is_healthy(200, true, ok, Some(r#""status":"ok""#)));
        // A captive portal or an NGINX error page.
        assert!(!is_healthy(
            200,
            true,
            b"<h1>Welcome to CoffeeShop WiFi</h1>",
            Some(r#""status":"ok""#)
        ));
        for status in [0, 199, 301, 304, 404, 500, 502, 503, 504] {
            assert!(!is_healthy(status, true, ok, None), "{status}");
        }
        assert!(!is_healthy(200, false, ok, None), "redirected elsewhere");
    }

    #[test]
    fn only_the_first_4_kib_counts() {
        let mut body = vec![b'x'; BODY_LIMIT - 2];
        body.extend_from_slice(b"okay");
        assert!(!is_healthy(200, true, &body, Some("okay")));
        assert!(is_healthy(200, true, &body, Some("xok")));
    }
}
