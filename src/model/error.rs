//! The errors every public call reports: a stable code plus a message a person can act
//! on, built from typed reasons (config, path, refusal) whose `Display` is that message.

use super::target::Target;
use std::fmt::{self, Write};

/// The config's field names as errors name them, where `Config` checks what the schema
/// walk cannot (a test finds each in `schema::CONFIG`).
pub(crate) mod field {
    pub(crate) const LEADER: &str = "leader";
    pub(crate) const FOLLOWER: &str = "follower";
    pub(crate) const HEALTH_PATH: &str = "health.path";
    pub(crate) const HEALTH_FOLLOWER_PATH: &str = "health.followerPath";
    pub(crate) const HEALTH_EXPECT: &str = "health.expect";
    pub(crate) const ROUTES: &str = "routes";
    pub(crate) const PREFIX: &str = "prefix";
    pub(crate) const CRITICAL: &str = "critical";
    pub(crate) const IDEMPOTENCY_KEY: &str = "writes.idempotencyKey";
    pub(crate) const CACHE_STORAGE: &str = "cache.storage";
    pub(crate) const CACHE_KEY: &str = "cache.key";
    pub(crate) const REPORTS_PATH: &str = "reports.path";
}

/// The codes of spec §4; the JS layer exposes them as the `code` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    InvalidConfig,
    InvalidPath,
    NotReady,
    FeatureUnavailable,
    LeaderUnavailable,
    /// A write that was sent, or may have been, and got no answer (spec §2).
    OutcomeUnknown,
    Offline,
}

impl ErrorCode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::InvalidPath => "INVALID_PATH",
            ErrorCode::NotReady => "NOT_READY",
            ErrorCode::FeatureUnavailable => "FEATURE_UNAVAILABLE",
            ErrorCode::LeaderUnavailable => "LEADER_UNAVAILABLE",
            ErrorCode::OutcomeUnknown => "OUTCOME_UNKNOWN",
            ErrorCode::Offline => "OFFLINE",
        }
    }
}

/// What crosses to JS: a code and its message (and, for `OUTCOME_UNKNOWN`, the
/// idempotency key the write carried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HealthProxyError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    pub(crate) idempotency_key: Option<String>,
}

impl HealthProxyError {
    pub(crate) fn new(code: ErrorCode, message: String) -> Self {
        HealthProxyError {
            code,
            message,
            idempotency_key: None,
        }
    }
}

impl fmt::Display for HealthProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for HealthProxyError {}

/// Why a config is refused (`INVALID_CONFIG`); every variant names its field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ConfigError {
    UnknownKey {
        field: String,
        known: Vec<&'static str>,
    },
    WrongType {
        field: String,
        want: &'static str,
        got: &'static str,
    },
    /// A number outside `min`–`max`, or not whole where it must be (`whole`).
    OutOfRange {
        field: String,
        min: u32,
        max: u32,
        whole: bool,
        got: Got,
    },
    Required {
        field: String,
        hint: &'static str,
    },
    Empty {
        field: &'static str,
        hint: &'static str,
    },
    BadUrl {
        field: String,
        problem: UrlProblem,
        got: String,
    },
    MixedContent {
        field: String,
        got: String,
    },
    SameBases {
        base: String,
    },
    BadPath {
        field: String,
        problem: PathProblem,
        got: String,
    },
    /// None of `cache.storage`'s choices (`of`, the schema's list).
    BadStorage {
        of: [&'static str; 3],
        got: String,
    },
    /// `writes.idempotencyKey` is not an HTTP header name.
    BadHeaderName {
        got: String,
    },
    RepeatedPrefix {
        field: String,
        prefix: String,
        first: usize,
    },
    /// A getter or Proxy trap threw, or the value could not be copied.
    Unreadable {
        field: String,
        detail: String,
    },
}

/// A value a range check refused: a number, or the kind of a non-number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Got {
    Number(f64),
    Kind(&'static str),
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Number(n) => write!(f, "{n}"),
            Got::Kind(kind) => f.write_str(kind),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownKey { field, known } => {
                write!(f, "{field} is not a known setting; known here: ")?;
                list(f, known)
            }
            ConfigError::WrongType { field, want, got } => {
                write!(f, "{field} must be {want} (got {got})")
            }
            ConfigError::OutOfRange {
                field,
                min,
                max,
                whole,
                got,
            } => write!(
                f,
                "{field} must be a {}number from {min} to {max} (got {got})",
                if *whole { "whole " } else { "" }
            ),
            ConfigError::Required { field, hint } => write!(f, "{field} is required{hint}"),
            ConfigError::Empty { field, hint } => write!(f, "{field} must not be empty{hint}"),
            ConfigError::BadUrl {
                field,
                problem,
                got,
            } => write!(
                f,
                "{field} must be an absolute http(s) URL such as \"https://api.example.com\": {problem} (got {})",
                Quoted(got)
            ),
            ConfigError::MixedContent { field, got } => write!(
                f,
                "{field} is http: but this page is served over https:, so the browser would block every request to it as mixed content; use an https: URL (got {})",
                Quoted(got)
            ),
            ConfigError::SameBases { base } => {
                let (follower, leader) = (field::FOLLOWER, field::LEADER);
                write!(f, "{follower} must differ from {leader} (both are {base})")
            }
            ConfigError::BadPath {
                field,
                problem,
                got,
            } => write!(
                f,
                "{field} must be a path starting with a single '/': {problem} (got {})",
                Quoted(got)
            ),
            ConfigError::BadStorage { of: [a, b, c], got } => write!(
                f,
                "{} must be {}, {} or {} (got {})",
                field::CACHE_STORAGE,
                Quoted(a),
                Quoted(b),
                Quoted(c),
                Quoted(got)
            ),
            ConfigError::BadHeaderName { got } => write!(
                f,
                "{} must be an HTTP header name such as \"Idempotency-Key\", or null (got {})",
                field::IDEMPOTENCY_KEY,
                Quoted(got)
            ),
            ConfigError::RepeatedPrefix {
                field,
                prefix,
                first,
            } => write!(f, "{field} {} repeats routes[{first}].prefix", Quoted(prefix)),
            ConfigError::Unreadable { field, detail } => {
                write!(f, "{field} could not be read: {detail}")
            }
        }
    }
}

impl From<ConfigError> for HealthProxyError {
    fn from(e: ConfigError) -> Self {
        HealthProxyError::new(ErrorCode::InvalidConfig, e.to_string())
    }
}

/// Items separated by commas.
fn list(f: &mut fmt::Formatter<'_>, items: &[impl AsRef<str>]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(item.as_ref())?;
    }
    Ok(())
}

/// A string in double quotes for a message, control characters made visible (without
/// `{:?}`, whose Unicode tables would double this in the wasm).
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars() {
            match c {
                '"' | '\\' => {
                    f.write_char('\\')?;
                    f.write_char(c)?
                }
                c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        f.write_str("\"")
    }
}

/// What is wrong with a base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlProblem {
    Unprintable,
    Scheme,
    QueryOrFragment,
    NoHost,
    Credentials,
    Ipv6Unclosed,
    AfterIpv6,
    Port,
    DotDot,
}

impl fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlProblem::Unprintable => "it contains whitespace, a control character or a backslash",
            UrlProblem::Scheme => "the scheme must be http:// or https://",
            UrlProblem::QueryOrFragment => "a base URL has no query or fragment",
            UrlProblem::NoHost => "the host is missing",
            UrlProblem::Credentials => "credentials in the URL are not allowed",
            UrlProblem::Ipv6Unclosed => "the IPv6 host has no closing ']'",
            UrlProblem::AfterIpv6 => "unexpected text after the IPv6 host",
            UrlProblem::Port => "the port must be a number from 1 to 65535",
            UrlProblem::DotDot => "the path has a '..' segment",
        })
    }
}

/// What is wrong with a path (a request's or one in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathProblem {
    NoLeadingSlash,
    OtherHost,
    Control,
    Backslash,
    DotDot,
    QueryInPrefix,
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathProblem::NoLeadingSlash => "it does not start with '/'",
            PathProblem::OtherHost => "'//' starts a URL on another host",
            PathProblem::Control => "it contains a control character",
            PathProblem::Backslash => "it contains a backslash, which browsers read as '/'",
            PathProblem::DotDot => "it has a '..' segment",
            PathProblem::QueryInPrefix => "a route prefix has no query or fragment",
        })
    }
}

/// Why a request is refused as `INVALID_PATH` before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// Neither a path nor a URL under a configured base.
    Elsewhere {
        input: String,
        bases: Vec<String>,
    },
    Refused {
        input: String,
        problem: PathProblem,
    },
    NotAString {
        field: &'static str,
    },
    BadMethod {
        method: String,
    },
    /// The caller's `init` could not be read (a throwing getter, a Proxy trap).
    BadInit {
        field: &'static str,
        detail: String,
    },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Elsewhere { input, bases } => {
                write!(
                    f,
                    "path {} must start with a single '/' or be a URL under a configured base (",
                    Quoted(input)
                )?;
                list(f, bases)?;
                f.write_str(")")
            }
            RequestError::Refused { input, problem } => {
                write!(f, "path {} is refused: {problem}", Quoted(input))
            }
            RequestError::NotAString { field } => write!(f, "{field} must be a string"),
            RequestError::BadMethod { method } => {
                write!(f, "method {} is not an HTTP method name", Quoted(method))
            }
            RequestError::BadInit { field, detail } => {
                write!(f, "{field} could not be read: {detail}")
            }
        }
    }
}

impl From<RequestError> for HealthProxyError {
    fn from(e: RequestError) -> Self {
        HealthProxyError::new(ErrorCode::InvalidPath, e.to_string())
    }
}

/// Why one attempt at one origin counts as a failure of that origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    Status(Target, u16),
    Timeout(Target, u32),
    Network(Target),
    /// A read answered with a redirect, not followed (spec §4).
    Redirect(Target),
}

impl Why {
    /// The origin that failed.
    pub(crate) fn target(self) -> Target {
        match self {
            Why::Status(target, _)
            | Why::Timeout(target, _)
            | Why::Network(target)
            | Why::Redirect(target) => target,
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Status(who, status) => write!(f, "{who} answered {status}"),
            Why::Timeout(who, ms) => write!(f, "{who} did not answer within {ms} ms"),
            Why::Network(who) => write!(f, "{who} could not be reached (network error)"),
            Why::Redirect(who) => write!(f, "{who} redirected"),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_escapes_quotes_backslashes_and_control_characters() {
        let shown = Quoted("a\"b\\c\u{1}\u{7f}é ✓").to_string();
        assert_eq!(shown, r#""a\"b\\c\u{1}\u{7f}é ✓""#);
    }

    #[test]
    fn every_code_is_spelled_as_spec_4_has_it() {
        use ErrorCode::*;
        let codes = [
            (InvalidConfig, "INVALID_CONFIG"),
            (InvalidPath, "INVALID_PATH"),
            (NotReady, "NOT_READY"),
            (FeatureUnavailable, "FEATURE_UNAVAILABLE"),
            (LeaderUnavailable, "LEADER_UNAVAILABLE"),
            (OutcomeUnknown, "OUTCOME_UNKNOWN"),
            (Offline, "OFFLINE"),
        ];
        for (code, name) in codes {
            assert_eq!(code.as_str(), name);
            let e = HealthProxyError::new(code, "m".into());
            assert_eq!((e.code, e.idempotency_key), (code, None));
        }
    }

    #[test]
    fn a_bad_argument_is_invalid_path_naming_the_field() {
        let e = HealthProxyError::from(RequestError::NotAString { field: "method" });
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidPath, "method must be a string")
        );
        let e = HealthProxyError::from(RequestError::BadInit {
            field: "init.headers",
            detail: "Error: boom".into(),
        });
        assert_eq!(e.message, "init.headers could not be read: Error: boom");
    }

    #[test]
    fn a_failure_names_the_origin_that_failed() {
        for target in [Target::Leader, Target::Follower] {
            for why in [
                Why::Status(target, 502),
                Why::Timeout(target, 9),
                Why::Network(target),
                Why::Redirect(target),
            ] {
                assert_eq!(why.target(), target);
            }
        }
    }
}
