//! Typed errors of the brand API client. None of them carries key material.

use super::verify::VerifyError;

/// What went wrong with a call. `is_outcome_unknown` tells a write's caller whether the change
/// may have been applied even though no verified success came back.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with a non-2xx status and (usually) a JSON error body.
    #[error("WeChat Pay answered {status} {code}: {message} (Request-ID {})", request_id.as_deref().unwrap_or("none"))]
    Api {
        status: u16,
        code: String,
        message: String,
        detail: Option<serde_json::Value>,
        request_id: Option<String>,
    },
    /// 429 after every allowed retry.
    #[error("WeChat Pay rate limit still exceeded after {attempts} attempts (Request-ID {})", request_id.as_deref().unwrap_or("none"))]
    RateLimited {
        attempts: u32,
        request_id: Option<String>,
    },
    /// No answer in time.
    #[error("WeChat Pay did not answer in time after {attempts} attempts")]
    Timeout { attempts: u32 },
    /// Connection refused, reset, dropped, DNS and the like.
    #[error("could not reach WeChat Pay after {attempts} attempts: {reason}")]
    Transport { attempts: u32, reason: String },
    /// A 2xx whose signature did not verify: never a success.
    #[error("WeChat Pay's answer failed signature verification ({source}) (Request-ID {})", request_id.as_deref().unwrap_or("none"))]
    Verification {
        #[source]
        source: VerifyError,
        request_id: Option<String>,
    },
    /// A verified 2xx whose body is not the expected JSON.
    #[error("WeChat Pay's answer could not be decoded: {reason} (Request-ID {})", request_id.as_deref().unwrap_or("none"))]
    Decode {
        reason: String,
        request_id: Option<String>,
    },
}

impl ApiError {
    /// For a write: true when the change may or may not have been applied.
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            ApiError::Api { status, .. } => *status >= 500,
            ApiError::RateLimited { .. } => false,
            ApiError::Timeout { .. }
            | ApiError::Transport { .. }
            | ApiError::Verification { .. }
            | ApiError::Decode { .. } => true,
        }
    }

    /// The API's Request-ID, when an answer arrived.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Api { request_id, .. }
            | ApiError::RateLimited { request_id, .. }
            | ApiError::Verification { request_id, .. }
            | ApiError::Decode { request_id, .. } => request_id.as_deref(),
            ApiError::Timeout { .. } | ApiError::Transport { .. } => None,
        }
    }

    /// The API's error code for a non-2xx answer.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}
