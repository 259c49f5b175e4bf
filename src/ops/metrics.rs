//! The bot's Prometheus metrics: their names, the one-line recording helpers the app, the
//! client and the adapters call, and the process-wide recorder `/metrics` renders. Until
//! [`install`] runs (only `run` with `[ops] listen` calls it) every helper records into the
//! `metrics` facade's no-op recorder, so the console, the demo and most tests pay nothing.
//!
//! Label values are fixed lowercase words chosen here: never a user id, a token, a stock id
//! or text from an answer, so a label cannot leak anything nor grow without bound.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::domain::request::RequestState;
use crate::wechatpay::ApiError;

pub const REQUESTS_TOTAL: &str = "budget_bot_requests_total";
pub const PENDING_REQUESTS: &str = "budget_bot_pending_requests";
pub const OLDEST_PENDING_SECONDS: &str = "budget_bot_oldest_pending_seconds";
pub const API_CALLS_TOTAL: &str = "budget_bot_api_calls_total";
pub const API_CALL_DURATION_SECONDS: &str = "budget_bot_api_call_duration_seconds";
pub const API_RETRIES_TOTAL: &str = "budget_bot_api_retries_total";
pub const CHAT_EVENTS_TOTAL: &str = "budget_bot_chat_events_total";
pub const NOTIFY_FAILURES_TOTAL: &str = "budget_bot_notify_failures_total";
pub const BUILD_INFO: &str = "budget_bot_build_info";

/// Upper bounds of the API call duration buckets, in seconds: from a fast read (~50 ms) to a
/// call that retried until `max_retry_time` (30 s by default).
pub const API_CALL_DURATION_BUCKETS: &[f64] = &[
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// The media type `/metrics` is served as: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's `metrics` recorder, once: later calls
/// (another test in the same process, say) get the same handle.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(API_CALL_DURATION_SECONDS.into()),
                API_CALL_DURATION_BUCKETS,
            )
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows nothing");
        }
        describe();
        metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

/// `# HELP` lines.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(REQUESTS_TOTAL, "Change requests that entered each state");
    describe_gauge!(PENDING_REQUESTS, "Change requests waiting for approval");
    describe_gauge!(
        OLDEST_PENDING_SECONDS,
        Unit::Seconds,
        "Age of the oldest request waiting for approval (0 when none waits)"
    );
    describe_counter!(
        API_CALLS_TOTAL,
        "WeChat Pay calls by endpoint and outcome (retries included in one call)"
    );
    describe_histogram!(
        API_CALL_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of WeChat Pay calls, retries and backoff included"
    );
    describe_counter!(API_RETRIES_TOTAL, "WeChat Pay attempts retried, by reason");
    describe_counter!(
        CHAT_EVENTS_TOTAL,
        "Chat events handled, by platform and kind"
    );
    describe_counter!(
        NOTIFY_FAILURES_TOTAL,
        "Cards or notices a chat platform did not take"
    );
    describe_gauge!(BUILD_INFO, "1, labelled with the running version");
}

/// The installed recorder's metrics in the Prometheus text format; `None` when [`install`]
/// has not run.
pub fn render() -> Option<String> {
    HANDLE.get().map(PrometheusHandle::render)
}

/// The label of a state: its name in lowercase.
pub fn state_label(state: RequestState) -> &'static str {
    match state {
        RequestState::Pending => "pending",
        RequestState::Approved => "approved",
        RequestState::Submitting => "submitting",
        RequestState::Applied => "applied",
        RequestState::Scheduled => "scheduled",
        RequestState::Rejected => "rejected",
        RequestState::Expired => "expired",
        RequestState::Cancelled => "cancelled",
        RequestState::Stale => "stale",
        RequestState::Failed => "failed",
    }
}

/// A request entered `state` (counted where the app stores the transition).
pub fn request_entered(state: RequestState) {
    metrics::counter!(REQUESTS_TOTAL, "state" => state_label(state)).increment(1);
}

/// How many requests wait and how old the oldest is (0 when none), from their creation times.
pub fn pending_summary(created_at: impl IntoIterator<Item = u64>, now: u64) -> (u64, u64) {
    let (count, oldest) = created_at
        .into_iter()
        .fold((0u64, None::<u64>), |(n, oldest), at| {
            (n + 1, Some(oldest.map_or(at, |o| o.min(at))))
        });
    (count, oldest.map_or(0, |at| now.saturating_sub(at)))
}

/// The pending gauges, from the requests waiting now and the current Unix time.
pub fn set_pending(created_at: impl IntoIterator<Item = u64>, now: u64) {
    let (count, age) = pending_summary(created_at, now);
    metrics::gauge!(PENDING_REQUESTS).set(count as f64);
    metrics::gauge!(OLDEST_PENDING_SECONDS).set(age as f64);
}

/// The `outcome` (and retry `reason`) label of a failed call.
pub fn error_label(error: &ApiError) -> &'static str {
    match error {
        ApiError::Api {
            status: 401, code, ..
        } if code == "SIGN_ERROR" => "sign_error",
        ApiError::Api { status, .. } if *status >= 500 => "server_error",
        ApiError::Api { .. } => "client_error",
        ApiError::RateLimited { .. } => "rate_limited",
        ApiError::Timeout { .. } => "timeout",
        ApiError::Transport { .. } => "transport",
        ApiError::Redirect { .. } => "redirect",
        ApiError::Verification { .. } => "verification",
        ApiError::Decode { .. } => "decode",
        ApiError::WrongStock { .. } => "wrong_stock",
        ApiError::Unconfirmed { .. } => "unconfirmed",
    }
}

/// How the last WeChat Pay call of this process went, for `/readyz`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastCall {
    None,
    Succeeded,
    /// The error's text (bounded and cleaned by the client; it never carries a secret).
    Failed(String),
}

static LAST_CALL: Mutex<LastCall> = Mutex::new(LastCall::None);

pub fn last_api_call() -> LastCall {
    LAST_CALL.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// One finished WeChat Pay call (all its attempts): counted, timed, remembered for `/readyz`.
pub fn api_call<T>(
    endpoint: &'static str,
    elapsed: Duration,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    let outcome = result.as_ref().err().map_or("ok", error_label);
    metrics::counter!(API_CALLS_TOTAL, "endpoint" => endpoint, "outcome" => outcome).increment(1);
    metrics::histogram!(API_CALL_DURATION_SECONDS, "endpoint" => endpoint)
        .record(elapsed.as_secs_f64());
    *LAST_CALL.lock().unwrap_or_else(|p| p.into_inner()) = match &result {
        Ok(_) => LastCall::Succeeded,
        Err(e) => LastCall::Failed(e.to_string()),
    };
    result
}

/// One attempt that failed with `error` and will be retried.
pub fn api_retry(error: &ApiError) {
    metrics::counter!(API_RETRIES_TOTAL, "reason" => error_label(error)).increment(1);
}

/// One chat event handled: `platform` is `discord`, `console`, …; `kind` is `command`,
/// `autocomplete`, `button` or `reaction`.
pub fn chat_event(platform: &'static str, kind: &'static str) {
    metrics::counter!(CHAT_EVENTS_TOTAL, "platform" => platform, "kind" => kind).increment(1);
}

/// A card or notice the chat platform did not take.
pub fn notify_failed() {
    metrics::counter!(NOTIFY_FAILURES_TOTAL).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `name{labels}` in `text`, 0 when absent.
    fn sample(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.parse().unwrap())
    }

    #[test]
    fn install_is_once_per_process_and_renders_what_is_recorded() {
        let first = install() as *const PrometheusHandle;
        assert_eq!(first, install() as *const PrometheusHandle);
        // This test's own label value: other tests in this process cannot move it.
        let series = r#"budget_bot_chat_events_total{platform="unit_test",kind="reaction"}"#;
        let before = sample(&render().unwrap(), series);
        chat_event("unit_test", "reaction");
        chat_event("unit_test", "reaction");
        let text = render().unwrap();
        assert_eq!(sample(&text, series) - before, 2.0, "{text}");
        assert!(
            text.contains(r#"budget_bot_build_info{version=""#),
            "{text}"
        );
    }

    #[test]
    fn call_duration_is_a_histogram_with_the_configured_buckets() {
        install();
        let error = ApiError::Timeout { attempts: 1 };
        let _ = api_call::<()>(
            "unit_test_histogram",
            Duration::from_millis(300),
            Err(error),
        );
        let text = render().unwrap();
        let bucket = |le: &str| {
            sample(
                &text,
                &format!(
                    "budget_bot_api_call_duration_seconds_bucket{{endpoint=\"unit_test_histogram\",le=\"{le}\"}}"
                ),
            )
        };
        assert_eq!(bucket("0.25"), 0.0, "{text}");
        assert_eq!(bucket("0.5"), 1.0, "{text}");
        assert_eq!(bucket("+Inf"), 1.0, "{text}");
        assert!(
            text.contains("# TYPE budget_bot_api_call_duration_seconds histogram"),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                r#"budget_bot_api_calls_total{endpoint="unit_test_histogram",outcome="timeout"}"#
            ),
            1.0,
            "{text}"
        );
    }

    #[test]
    fn pending_summary_counts_and_ages_the_oldest() {
        assert_eq!(pending_summary([100, 40, 70], 1000), (3, 960));
        assert_eq!(pending_summary([], 1000), (0, 0));
        // A request stamped ahead of this clock (another host's) is not negative.
        assert_eq!(pending_summary([2000], 1000), (1, 0));
    }

    #[test]
    fn error_labels_are_fixed_lowercase_words() {
        let api = |status, code: &str| ApiError::Api {
            status,
            code: code.into(),
            message: "a message from the API".into(),
            detail: None,
            request_id: Some("R-1".into()),
        };
        assert_eq!(error_label(&api(401, "SIGN_ERROR")), "sign_error");
        assert_eq!(error_label(&api(400, "PARAM_ERROR")), "client_error");
        assert_eq!(error_label(&api(502, "")), "server_error");
        assert_eq!(
            error_label(&ApiError::Transport {
                attempts: 1,
                reason: "connection refused".into()
            }),
            "transport"
        );
        for state in [
            RequestState::Pending,
            RequestState::Applied,
            RequestState::Cancelled,
        ] {
            assert_eq!(state_label(state), state.as_str().to_lowercase());
        }
    }
}
