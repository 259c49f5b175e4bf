//! The API's errors in the reader's language: the bot's explanation, with the API's own code
//! and message as they came. (The grammar's words render in `domain::command`, from the same
//! catalogue.) Built as a [`Message`], so a request's stored outcome can be said again later
//! in another language.

use crate::domain::request::group;
use crate::i18n::{Lang, Message};
use crate::wechatpay::verify::{VerifyError, MAX_CLOCK_SKEW_SECS};
use crate::wechatpay::ApiError;

/// An API error: the bot's explanation, with the API's own code and message as they came.
pub fn api_error(lang: Lang, e: &ApiError) -> String {
    api_error_message(e).render(lang)
}

/// `m` with the argument `name`: text from outside that [`crate::domain::text::bounded`] may
/// have cut, its cut marked in the reader's language rather than the English one it carries.
fn outside_text(m: Message, name: &str, text: &str) -> Message {
    match crate::domain::text::split_cut(text) {
        (kept, Some(count)) => m.with(
            name,
            Message::new("text-cut")
                .text("text", kept)
                .with("cut", Message::new("cut-characters").text("count", count)),
        ),
        (text, None) => m.text(name, text),
    }
}

/// [`api_error`] as a message to store.
pub fn api_error_message(e: &ApiError) -> Message {
    let with_rid = |m: Message, id: &Option<String>| match id {
        Some(id) => m.text("request_id", id),
        None => m.with("request_id", Message::new("api-none")),
    };
    match e {
        ApiError::Api {
            status,
            code,
            message,
            request_id,
            ..
        } => {
            let id = match (code.is_empty(), message.is_empty()) {
                (true, true) => "api-answer-empty",
                (false, true) => "api-answer-no-message",
                (true, false) => "api-answer-no-code",
                (false, false) => "api-answer",
            };
            let m = Message::new(id).text("status", status);
            let m = if code.is_empty() {
                m
            } else {
                m.text("code", code)
            };
            let m = if message.is_empty() {
                m
            } else {
                outside_text(m, "message", message)
            };
            with_rid(m, request_id)
        }
        ApiError::RateLimited {
            attempts,
            request_id,
        } => with_rid(
            Message::new("api-rate-limited").text("attempts", attempts),
            request_id,
        ),
        ApiError::Timeout { attempts } => Message::new("api-timeout").text("attempts", attempts),
        // The network error and the decoder's complaint are English technical text: the
        // reply names the kind, the log (see the client) keeps the detail.
        ApiError::Transport { attempts, .. } => {
            Message::new("api-transport").text("attempts", attempts)
        }
        ApiError::Redirect {
            status,
            location,
            request_id,
        } => {
            let m = Message::new("api-redirect").text("status", status);
            let m = match location {
                Some(location) => m.text("location", location),
                None => m.with("location", Message::new("api-redirect-nowhere")),
            };
            with_rid(m, request_id)
        }
        ApiError::Verification { source, request_id } => with_rid(
            Message::new("api-verification").with("reason", verify_reason(source)),
            request_id,
        ),
        ApiError::Decode { request_id, .. } => with_rid(Message::new("api-decode"), request_id),
        ApiError::WrongStock {
            expected,
            received,
            request_id,
        } => with_rid(
            Message::new("api-wrong-stock")
                .text("expected", expected)
                .text("received", received),
            request_id,
        ),
        ApiError::Unconfirmed {
            field,
            target,
            shown,
            request_id,
        } => {
            let m = Message::new("api-unconfirmed")
                .text("field", field)
                .text("target", group(*target));
            let m = match shown {
                Some(shown) => m.text("shown", group(*shown)),
                None => m.with("shown", Message::new("api-unset")),
            };
            with_rid(m, request_id)
        }
    }
}

/// Why an answer's signature did not verify, by kind.
fn verify_reason(e: &VerifyError) -> Message {
    match e {
        VerifyError::MissingHeader(header) => {
            Message::new("verify-missing-header").text("header", header)
        }
        VerifyError::BadTimestamp { remote } => {
            Message::new("verify-bad-timestamp").text("remote", remote)
        }
        VerifyError::StaleTimestamp { skew, .. } => Message::new("verify-stale-timestamp")
            .text("skew", group(i64::try_from(*skew).unwrap_or(i64::MAX)))
            .text("limit", MAX_CLOCK_SKEW_SECS),
        VerifyError::SerialMismatch { local, remote } => Message::new("verify-serial-mismatch")
            .text("local", local)
            .text("remote", remote),
        VerifyError::BadSignature => Message::new("verify-bad-signature"),
    }
}
