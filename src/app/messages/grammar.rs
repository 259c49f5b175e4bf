//! The API's errors in the reader's language: the bot's explanation, with the API's own code
//! and message as they came. (The grammar's words render in `domain::command`, from the same
//! catalogue.)

use crate::domain::request::group;
use crate::i18n::Lang;
use crate::t;
use crate::wechatpay::verify::{VerifyError, MAX_CLOCK_SKEW_SECS};
use crate::wechatpay::ApiError;

/// An API error: the bot's explanation, with the API's own code and message as they came.
pub fn api_error(lang: Lang, e: &ApiError) -> String {
    let rid = |id: &Option<String>| id.clone().unwrap_or_else(|| t!(lang, "api-none"));
    match e {
        ApiError::Api {
            status,
            code,
            message,
            request_id,
            ..
        } => {
            let request_id = rid(request_id);
            match (code.is_empty(), message.is_empty()) {
                (true, true) => t!(
                    lang,
                    "api-answer-empty",
                    status = status,
                    request_id = request_id
                ),
                (false, true) => t!(
                    lang,
                    "api-answer-no-message",
                    status = status,
                    code = code,
                    request_id = request_id
                ),
                (true, false) => t!(
                    lang,
                    "api-answer-no-code",
                    status = status,
                    message = message,
                    request_id = request_id
                ),
                (false, false) => t!(
                    lang,
                    "api-answer",
                    status = status,
                    code = code,
                    message = message,
                    request_id = request_id
                ),
            }
        }
        ApiError::RateLimited {
            attempts,
            request_id,
        } => t!(
            lang,
            "api-rate-limited",
            attempts = attempts,
            request_id = rid(request_id)
        ),
        ApiError::Timeout { attempts } => t!(lang, "api-timeout", attempts = attempts),
        // The network error and the decoder's complaint are English technical text: the
        // reply names the kind, the log (see the client) keeps the detail.
        ApiError::Transport { attempts, .. } => t!(lang, "api-transport", attempts = attempts),
        ApiError::Redirect {
            status,
            location,
            request_id,
        } => t!(
            lang,
            "api-redirect",
            status = status,
            location = location
                .clone()
                .unwrap_or_else(|| t!(lang, "api-redirect-nowhere")),
            request_id = rid(request_id)
        ),
        ApiError::Verification { source, request_id } => t!(
            lang,
            "api-verification",
            reason = verify_reason(lang, source),
            request_id = rid(request_id)
        ),
        ApiError::Decode { request_id, .. } => {
            t!(lang, "api-decode", request_id = rid(request_id))
        }
        ApiError::WrongStock {
            expected,
            received,
            request_id,
        } => t!(
            lang,
            "api-wrong-stock",
            expected = expected,
            received = received,
            request_id = rid(request_id)
        ),
        ApiError::Unconfirmed {
            field,
            target,
            shown,
            request_id,
        } => t!(
            lang,
            "api-unconfirmed",
            field = field,
            shown = shown.map_or_else(|| t!(lang, "api-unset"), group),
            target = group(*target),
            request_id = rid(request_id)
        ),
    }
}

/// Why an answer's signature did not verify, by kind.
fn verify_reason(lang: Lang, e: &VerifyError) -> String {
    match e {
        VerifyError::MissingHeader(header) => t!(lang, "verify-missing-header", header = header),
        VerifyError::BadTimestamp { remote } => {
            t!(lang, "verify-bad-timestamp", remote = remote)
        }
        VerifyError::StaleTimestamp { skew, .. } => t!(
            lang,
            "verify-stale-timestamp",
            skew = group(i64::try_from(*skew).unwrap_or(i64::MAX)),
            limit = MAX_CLOCK_SKEW_SECS
        ),
        VerifyError::SerialMismatch { local, remote } => t!(
            lang,
            "verify-serial-mismatch",
            local = local,
            remote = remote
        ),
        VerifyError::BadSignature => t!(lang, "verify-bad-signature"),
    }
}
