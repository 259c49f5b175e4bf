//! Why a request ended as it did, as catalogue messages: stored on the request and its audit
//! entry (beside the English record) and said in each reader's language. Part of [`super`]:
//! callers name them `messages::...`.

use crate::domain::request::{group, ChangeRequest};
use crate::i18n::{Lang, Message};
use crate::t;
use crate::wechatpay::ApiError;

use super::api_error_message;

pub fn applied_detail(request: &ChangeRequest) -> Message {
    Message::new("detail-applied")
        .text("field", request.mode.field_name())
        .text("target", group(request.target))
}

pub fn reread_failed_detail(e: &ApiError) -> Message {
    Message::new("detail-reread-failed").with("error", api_error_message(e))
}

/// A limit that may be absent (unlimited), in the reader's words.
fn limit_message(value: Option<i64>) -> Message {
    match value {
        Some(value) => Message::new("number").text("value", group(value)),
        None => Message::new("unlimited"),
    }
}

pub fn stale_detail(seen: Option<i64>, request: &ChangeRequest) -> Message {
    Message::new("detail-stale")
        .with("seen", limit_message(seen))
        .text("approved", group(request.current))
}

pub fn body_changed_detail() -> Message {
    Message::new("detail-body-changed")
}

/// An API error as the outcome of a request.
pub fn api_error_detail(error: &ApiError) -> Message {
    api_error_message(error)
}

pub fn confirmed_detail(error: &ApiError) -> Message {
    Message::new("detail-confirmed").with("error", api_error_message(error))
}

pub fn not_applied_detail(live: Option<i64>, error: &ApiError) -> Message {
    Message::new("detail-not-applied")
        .with("live", limit_message(live))
        .with("error", api_error_message(error))
}

/// How a decision was made (`via reaction`), for its audit entry.
pub fn via_detail(via: &str) -> Message {
    Message::new("audit-via").with("via", Message::new(format!("via-{via}")))
}

/// A stored reason in `lang`: its message where it has one, else the stored English text
/// (records written before reasons were messages), translated where it is a known shape.
pub(super) fn stored_reason(
    lang: Lang,
    reason: Option<&Message>,
    detail: Option<&String>,
) -> Option<String> {
    if let Some(reason) = reason {
        return Some(reason.render(lang));
    }
    let detail = detail?;
    let via = detail
        .strip_prefix("via ")
        .and_then(|via| crate::i18n::try_lookup(lang, &format!("via-{via}"), &[]));
    Some(match via {
        Some(via) => t!(lang, "audit-via", via = via),
        None => detail.clone(),
    })
}
