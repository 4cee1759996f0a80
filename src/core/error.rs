//! The error every public call reports: a stable code plus a message a person can act on.

use crate::prelude::*;
use ::core::fmt;

/// The codes of spec §4; the JS layer exposes them as the `code` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidConfig,
    InvalidPath,
    NotReady,
    FeatureUnavailable,
    LeaderUnavailable,
    Offline,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::InvalidPath => "INVALID_PATH",
            ErrorCode::NotReady => "NOT_READY",
            ErrorCode::FeatureUnavailable => "FEATURE_UNAVAILABLE",
            ErrorCode::LeaderUnavailable => "LEADER_UNAVAILABLE",
            ErrorCode::Offline => "OFFLINE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthProxyError {
    pub code: ErrorCode,
    pub message: String,
}

impl HealthProxyError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HealthProxyError {
            code,
            message: message.into(),
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidConfig, message)
    }

    pub fn path(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidPath, message)
    }
}

impl fmt::Display for HealthProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl ::core::error::Error for HealthProxyError {}
