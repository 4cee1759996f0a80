//! Base URLs and request paths: the rules that keep every routed URL under one of the
//! configured bases, whatever string a caller passes (spec §4 "Paths").

use super::error::{ConfigError, PathProblem, RequestError, UrlProblem};
use std::borrow::Cow;

/// A validated `http(s)` base URL: lowercase scheme and host, no trailing `/`,
/// no query, fragment or credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Base {
    url: String,
    /// Length of `scheme://authority`, compared case-insensitively.
    authority_end: usize,
}

impl Base {
    /// Parses the config value of `field` (`leader`, `follower`, `routes[0].follower`, …).
    pub(crate) fn parse(
        field: &str,
        input: &str,
        page_is_https: bool,
    ) -> Result<Base, ConfigError> {
        let bad = |problem| ConfigError::BadUrl {
            field: field.to_string(),
            problem,
            got: input.to_string(),
        };
        if input
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        {
            return Err(bad(UrlProblem::Unprintable));
        }
        let lower = input.to_ascii_lowercase();
        let scheme_len = if lower.starts_with("https://") {
            8
        } else if lower.starts_with("http://") {
            7
        } else {
            return Err(bad(UrlProblem::Scheme));
        };
        if input.contains('?') || input.contains('#') {
            return Err(bad(UrlProblem::QueryOrFragment));
        }
        let rest = input.get(scheme_len..).unwrap_or("");
        let authority_len = rest.find('/').unwrap_or(rest.len());
        let authority = rest.get(..authority_len).unwrap_or("");
        check_authority(authority).map_err(bad)?;
        let path = rest
            .get(authority_len..)
            .unwrap_or("")
            .trim_end_matches('/');
        if has_dot_dot_segment(path) {
            return Err(bad(UrlProblem::DotDot));
        }
        if scheme_len == 7 && page_is_https {
            return Err(ConfigError::MixedContent {
                field: field.to_string(),
                got: input.to_string(),
            });
        }
        let authority_end = scheme_len + authority_len;
        let mut url = lower.get(..authority_end).unwrap_or("").to_string();
        url.push_str(path);
        Ok(Base { url, authority_end })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.url
    }

    /// The part of `url` after this base, when `url` lies under it.
    fn strip<'a>(&self, url: &'a str) -> Option<&'a str> {
        let head = url.get(..self.authority_end)?;
        let base_head = self.url.get(..self.authority_end)?;
        if !head.eq_ignore_ascii_case(base_head) {
            return None;
        }
        let rest = url.get(self.authority_end..)?;
        let rest = rest.strip_prefix(self.url.get(self.authority_end..)?)?;
        match rest.as_bytes().first() {
            None | Some(b'/') | Some(b'?') | Some(b'#') => Some(rest),
            _ => None,
        }
    }

    /// `base + rel`; `rel` comes from [`relative`], so it starts with `/`.
    pub(crate) fn join(&self, rel: &str) -> String {
        let mut out = String::with_capacity(self.url.len() + rel.len());
        out.push_str(&self.url);
        out.push_str(rel);
        out
    }
}

fn check_authority(authority: &str) -> Result<(), UrlProblem> {
    if authority.is_empty() {
        return Err(UrlProblem::NoHost);
    }
    if authority.contains('@') {
        return Err(UrlProblem::Credentials);
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6.find(']').ok_or(UrlProblem::Ipv6Unclosed)?;
        let after = v6.get(close + 1..).unwrap_or("");
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UrlProblem::AfterIpv6)?),
        };
        (v6.get(..close).unwrap_or(""), port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlProblem::NoHost);
    }
    if let Some(port) = port {
        // By hand, not `parse()`: size.
        let mut ok = !port.is_empty() && port.len() <= 5;
        let mut value = 0u32;
        for &b in port.as_bytes() {
            ok &= b.is_ascii_digit();
            value = value
                .saturating_mul(10)
                .saturating_add(u32::from(b.wrapping_sub(b'0')));
        }
        if !ok || !(1..=65535).contains(&value) {
            return Err(UrlProblem::Port);
        }
    }
    Ok(())
}

/// True when a `/`-separated path has a `..` segment, plain or percent-encoded
/// (`%2e%2e`, `.%2E`, …): the browser would resolve it upwards, out of the base.
pub(crate) fn has_dot_dot_segment(path: &str) -> bool {
    // Bytes, not chars: this runs on every resolve() and '/', '.', '%' are ASCII.
    path.as_bytes().split(|b| *b == b'/').any(is_dot_dot)
}

fn is_dot_dot(segment: &[u8]) -> bool {
    let mut rest = segment;
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return false,
        };
        dots += 1;
    }
    dots == 2
}

/// `s.chars().any(char::is_control)`, on bytes: this runs on every resolve(). The
/// control characters are U+0000–U+001F, U+007F and U+0080–U+009F; UTF-8 writes the
/// last as C2 80–C2 9F, and C2 is only ever a lead byte.
fn has_control_char(s: &str) -> bool {
    let mut prev = 0u8;
    for &b in s.as_bytes() {
        if b < 0x20 || b == 0x7f || (prev == 0xc2 && (0x80..0xa0).contains(&b)) {
            return true;
        }
        prev = b;
    }
    false
}

/// The path part of a relative request (`/a/b?x#y` → `/a/b`).
pub(crate) fn path_part(rel: &str) -> &str {
    for (end, &b) in rel.as_bytes().iter().enumerate() {
        if b == b'?' || b == b'#' {
            return rel.get(..end).unwrap_or(rel);
        }
    }
    rel
}

/// Checks a path from the config (`health.path`, a route prefix).
pub(crate) fn check_config_path(field: &str, value: &str) -> Result<(), ConfigError> {
    check_relative(value).map_err(|problem| ConfigError::BadPath {
        field: field.to_string(),
        problem,
        got: value.to_string(),
    })
}

fn check_relative(rel: &str) -> Result<(), PathProblem> {
    if !rel.starts_with('/') {
        return Err(PathProblem::NoLeadingSlash);
    }
    if rel.starts_with("//") {
        return Err(PathProblem::OtherHost);
    }
    if has_control_char(rel) {
        return Err(PathProblem::Control);
    }
    if rel.as_bytes().contains(&b'\\') {
        return Err(PathProblem::Backslash);
    }
    if has_dot_dot_segment(path_part(rel)) {
        return Err(PathProblem::DotDot);
    }
    Ok(())
}

/// The longest of `bases` that `url` lies under (in case one base lies under another),
/// and the rest of `url` after it.
pub(crate) fn under<'a, 'b>(url: &'a str, bases: &[&'b Base]) -> Option<(&'b Base, &'a str)> {
    // `>=`: the last of equally long bases wins.
    let mut longest: Option<(&'b Base, &'a str)> = None;
    for base in bases {
        if let Some(rest) = base.strip(url) {
            if longest.is_none_or(|(kept, _)| base.url.len() >= kept.url.len()) {
                longest = Some((base, rest));
            }
        }
    }
    longest
}

/// Turns what a caller passed (a path, or a URL under one of `bases`) into a path
/// relative to the bases, starting with `/`. Everything else is `INVALID_PATH`.
pub(crate) fn relative<'a>(input: &'a str, bases: &[&Base]) -> Result<Cow<'a, str>, RequestError> {
    let rel: Cow<'a, str> = if input.starts_with('/') {
        Cow::Borrowed(input)
    } else {
        match under(input, bases) {
            Some((_, rest)) if rest.starts_with('/') => Cow::Borrowed(rest),
            Some((_, rest)) => Cow::Owned(format!("/{rest}")),
            None => {
                let mut names = Vec::new();
                for base in bases {
                    names.push(base.as_str().to_string());
                }
                return Err(RequestError::Elsewhere {
                    input: input.to_string(),
                    bases: names,
                });
            }
        }
    };
    match check_relative(&rel) {
        Ok(()) => Ok(rel),
        Err(problem) => Err(RequestError::Refused {
            input: input.to_string(),
            problem,
        }),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bases() -> (Base, Base) {
        (
            Base::parse("leader", "http://127.0.0.1:8081/", false).unwrap(),
            Base::parse("follower", "https://API.example.com/prod", false).unwrap(),
        )
    }

    /// A route's own base (a file bucket), beside the two top-level ones.
    fn bucket() -> Base {
        Base::parse("routes[0].follower", "https://bucket.s3.example.com", false).unwrap()
    }

    #[test]
    fn base_is_normalised() {
        let (l, f) = bases();
        assert_eq!(l.as_str(), "http://127.0.0.1:8081");
        assert_eq!(f.as_str(), "https://api.example.com/prod");
        let v6 = Base::parse("leader", "http://[::1]:8080", false).unwrap();
        assert_eq!(v6.as_str(), "http://[::1]:8080");
    }

    #[test]
    fn bad_bases_name_the_field() {
        for bad in [
            "",
            "ftp://x",
            "//x",
            "http://",
            "http://a b",
            "http://x?q=1",
            "http://x#f",
            "http://u:p@x",
            "http://x:0",
            "http://x:99999",
            "http://x:ab",
            "http://x/../y",
            "javascript:alert(1)",
            "http:\\\\x",
            "http://[::1",
            "/relative",
        ] {
            let err = Base::parse("follower", bad, false).unwrap_err().to_string();
            assert!(err.starts_with("follower "), "{err}");
        }
    }

    #[test]
    fn http_base_refused_on_https_page() {
        let err = Base::parse("leader", "http://x", true).unwrap_err();
        assert!(err.to_string().contains("mixed content"));
        assert!(Base::parse("leader", "https://x", true).is_ok());
    }

    #[test]
    fn paths_and_urls_are_rebased() {
        let (l, f) = bases();
        let r = |s| relative(s, &[&l, &f]).map(|c| c.into_owned());
        assert_eq!(r("/api/pages?x=1#f").unwrap(), "/api/pages?x=1#f");
        assert_eq!(r("http://127.0.0.1:8081/api/pages").unwrap(), "/api/pages");
        assert_eq!(r("HTTP://127.0.0.1:8081").unwrap(), "/");
        assert_eq!(r("http://127.0.0.1:8081?x").unwrap(), "/?x");
        assert_eq!(
            r("https://api.example.com/prod/api/files").unwrap(),
            "/api/files"
        );
        assert_eq!(r("/a/./b").unwrap(), "/a/./b");
        let b = bucket();
        assert_eq!(
            relative("https://bucket.s3.example.com/files/a.pdf", &[&l, &f, &b]).unwrap(),
            "/files/a.pdf"
        );
        assert!(relative("https://bucket.s3.example.com/files/a.pdf", &[&l, &f]).is_err());
        assert_eq!(r("/q?next=../x").unwrap(), "/q?next=../x");
    }

    #[test]
    fn escapes_are_invalid_path() {
        let (l, f) = bases();
        for bad in [
            "",
            "api",
            "//evil.com/x",
            "http://evil.com/api",
            "http://127.0.0.1:8081@evil.com/",
            "http://127.0.0.1:80812/x",
            "https://api.example.com/production",
            "https://api.example.com/x",
            "/a/../b",
            "/..",
            "/a/%2e%2e/b",
            "/a/.%2E",
            "/a\\b",
            "/a\nb",
            "/a\u{0}",
            "/a\u{85}",
            "http://127.0.0.1:8081//evil.com",
            " /a",
        ] {
            assert!(relative(bad, &[&l, &f]).is_err(), "{bad:?}");
        }
    }

    fn under(url: &str, base: &Base) -> bool {
        let parsed = url::Url::parse(url).unwrap();
        let base_url = url::Url::parse(base.as_str()).unwrap();
        let base_path = base_url.path().trim_end_matches('/');
        parsed.origin() == base_url.origin()
            && parsed.path().starts_with(&format!("{base_path}/"))
            && parsed.username().is_empty()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        // Whatever the input, a routed URL stays under one of the two bases, as a
        // WHATWG URL parser (the `url` crate) reads it.
        #[test]
        fn no_input_escapes_the_bases(
            input in prop_oneof![
                any::<String>(),
                "[/\\\\.%2eE@:?#a-z\\x00-\\x20]{0,24}",
                "(http://127.0.0.1:8081|https://api.example.com/prod|https://bucket.s3.example.com|/)[/\\\\.%2eE@:?#a-z\\x00-\\x20]{0,24}",
            ]
        ) {
            let (l, f) = bases();
            let b = bucket();
            if let Ok(rel) = relative(&input, &[&l, &f, &b]) {
                prop_assert!(rel.starts_with('/'));
                for base in [&l, &f, &b] {
                    let url = base.join(&rel);
                    let prefix = format!("{}/", base.as_str());
                    prop_assert!(url.starts_with(&prefix), "{url}");
                    prop_assert!(under(&url, base), "{url} escapes {}", base.as_str());
                }
            }
        }

        #[test]
        fn control_characters_are_found_on_bytes_as_on_chars(
            s in prop_oneof![any::<String>(), "[a\\x00-\\x20\\x7e-\\u{a0}\\u{100}\\u{2028}]{0,12}"]
        ) {
            prop_assert_eq!(has_control_char(&s), s.chars().any(char::is_control));
        }
    }
}
