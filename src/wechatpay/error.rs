//! Typed errors of the brand API client. None of them carries key material, and every piece of
//! text that came from an answer (a message, a code, a Request-ID, a header) is bounded and
//! stripped of control and bidi characters when the error is made, so an error can go into a
//! reply, a card, a notice, the audit log or a log line as it is.

use crate::domain::request::group;
use crate::domain::text::echo;
/// Where they are defined: the domain shows stock states from answers with them too.
pub use crate::domain::text::{echo_id, MAX_ID_ECHO};

use super::model::ErrorBody;
use super::verify::VerifyError;

/// What went wrong with a call. `is_outcome_unknown` tells a write's caller whether the change
/// may have been applied even though no verified success came back.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with a non-2xx, non-3xx status and (usually) a JSON error body. Make it
    /// with [`ApiError::from_answer`], which bounds the text.
    #[error("{}", answer_text(*status, code, message, request_id.as_deref()))]
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
    /// The API never redirects: a 3xx came from something else on the way, and is not followed.
    #[error("WeChat Pay's address answered a {status} redirect to {}, which was not followed: the API does not redirect (Request-ID {})", location.as_deref().unwrap_or("nowhere"), request_id.as_deref().unwrap_or("none"))]
    Redirect {
        status: u16,
        location: Option<String>,
        request_id: Option<String>,
    },
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
    /// A verified answer about another stock than the one asked about; it is not used.
    #[error("WeChat Pay answered about stock {received} when asked about stock {expected}; the answer was not used (Request-ID {})", request_id.as_deref().unwrap_or("none"))]
    WrongStock {
        expected: String,
        received: String,
        request_id: Option<String>,
    },
    /// A verified answer to update-budget that does not show the target value: whether the
    /// change happened is not known until the stock is read.
    #[error("WeChat Pay's answer shows {field} {}, not the requested {} (Request-ID {})", shown.map_or_else(|| "unset".to_owned(), group), group(*target), request_id.as_deref().unwrap_or("none"))]
    Unconfirmed {
        field: &'static str,
        target: i64,
        shown: Option<i64>,
        request_id: Option<String>,
    },
}

/// `WeChat Pay answered 400 INVALID_REQUEST: … (Request-ID …)`, or "with no message" when the
/// answer had neither a code nor a message (a gateway's empty 502).
fn answer_text(status: u16, code: &str, message: &str, request_id: Option<&str>) -> String {
    let request_id = request_id.unwrap_or("none");
    let what = match (code.is_empty(), message.is_empty()) {
        (true, true) => format!("{status} with no message"),
        (false, true) => format!("{status} {code} with no message"),
        (true, false) => format!("{status}: {message}"),
        (false, false) => format!("{status} {code}: {message}"),
    };
    format!("WeChat Pay answered {what} (Request-ID {request_id})")
}

impl ApiError {
    /// A non-2xx answer: its JSON error body (spec §6) when it has one, else its raw text
    /// (a gateway's HTML, or nothing), all of it bounded.
    pub fn from_answer(status: u16, body: &[u8], request_id: Option<String>) -> Self {
        let parsed = serde_json::from_slice::<ErrorBody>(body).unwrap_or_else(|_| ErrorBody {
            message: String::from_utf8_lossy(body).trim().to_owned(),
            ..ErrorBody::default()
        });
        ApiError::Api {
            status,
            code: echo_id(parsed.code.trim()),
            message: echo(parsed.message.trim()),
            detail: parsed.detail,
            request_id,
        }
    }

    /// For a write: true when the change may or may not have been applied.
    pub fn is_outcome_unknown(&self) -> bool {
        match self {
            ApiError::Api { status, .. } => *status >= 500,
            ApiError::RateLimited { .. } => false,
            ApiError::Timeout { .. }
            | ApiError::Transport { .. }
            | ApiError::Redirect { .. }
            | ApiError::Verification { .. }
            | ApiError::Decode { .. }
            | ApiError::WrongStock { .. }
            | ApiError::Unconfirmed { .. } => true,
        }
    }

    /// The API's Request-ID, when an answer arrived.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Api { request_id, .. }
            | ApiError::RateLimited { request_id, .. }
            | ApiError::Redirect { request_id, .. }
            | ApiError::Verification { request_id, .. }
            | ApiError::Decode { request_id, .. }
            | ApiError::WrongStock { request_id, .. }
            | ApiError::Unconfirmed { request_id, .. } => request_id.as_deref(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_without_code_or_message_says_so() {
        let text = |body: &[u8]| ApiError::from_answer(502, body, None).to_string();
        let none = "WeChat Pay answered 502 with no message (Request-ID none)";
        assert_eq!(text(b""), none);
        assert_eq!(text(b"  \r\n"), none);
        assert_eq!(text(b"{}"), none);
        assert_eq!(
            text(b"<html>Bad Gateway</html>"),
            "WeChat Pay answered 502: <html>Bad Gateway</html> (Request-ID none)"
        );
        assert_eq!(
            ApiError::from_answer(400, br#"{"code":"PARAM_ERROR"}"#, Some("R-1".into()))
                .to_string(),
            "WeChat Pay answered 400 PARAM_ERROR with no message (Request-ID R-1)"
        );
    }

    #[test]
    fn answer_text_is_bounded_and_stripped() {
        let body = serde_json::json!({
            "code": format!("X\u{202E}{}", "C".repeat(10_000)),
            "message": format!("m\u{0}\u{2066}{}", "y".repeat(1_000_000)),
        });
        let error = ApiError::from_answer(400, body.to_string().as_bytes(), None);
        let text = error.to_string();
        assert!(text.chars().count() < 600, "{} chars", text.chars().count());
        assert!(!text.chars().any(crate::domain::text::is_unsafe_char));
        assert!(error.code().unwrap().starts_with("XCCC"));
        assert!(text.contains("[cut:"));
    }
}
