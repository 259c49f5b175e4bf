//! The real `WechatPayClient` against the simulator over real HTTP: verification of every
//! answer, retries with byte-identical bodies, rate limiting, idempotency, and the simulator's
//! own request checks. Each test starts its own simulator on port 0.

use std::sync::Arc;
use std::time::Duration;

use budget_bot::domain::text::is_unsafe_char;
use budget_bot::sim::{
    rules::codes, seeded_stocks, test_keys, CannedAnswer, Fault, FaultMatch, SimConfig, SimHandle,
    Simulator,
};
use budget_bot::wechatpay::sign::new_nonce;
use budget_bot::wechatpay::verify::{SignatureHeaders, VerifyError};
use budget_bot::wechatpay::{
    ApiError, ClientSettings, CouponApi, OutRequestNo, StockKey, StockPaths, UpdateBudgetRequest,
    UpdateMode, WechatPayClient,
};

const PC: &str = "200000001";
const STOCK: &str = "123";

fn key() -> StockKey {
    StockKey::new(PC, STOCK)
}

async fn start_sim() -> Simulator {
    Simulator::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig::with_test_keys(seeded_stocks()),
    )
    .await
    .expect("simulator starts")
}

/// Short backoff so retries are quick; the client still waits ≥ 1 s after a 429.
fn settings(sim: &Simulator) -> ClientSettings {
    ClientSettings {
        base_url: sim.base_url(),
        backup_base_url: None,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        max_attempts: 4,
        max_retry_time: Duration::from_secs(30),
        retry_backoff: Duration::from_millis(50),
        rate_limit_backoff: Duration::from_secs(1),
        rate_limit_per_second: 20,
    }
}

fn client_with(settings: ClientSettings) -> WechatPayClient {
    WechatPayClient::new(
        test_keys::brand_signer(),
        test_keys::response_verifier(),
        settings,
    )
    .expect("client builds")
}

async fn setup() -> (Simulator, SimHandle, WechatPayClient) {
    let sim = start_sim().await;
    let handle = sim.handle();
    let client = client_with(settings(&sim));
    (sim, handle, client)
}

fn raise_max_count(no: &str, current: i64, target: i64) -> UpdateBudgetRequest {
    UpdateBudgetRequest::new(
        OutRequestNo::new(no).unwrap(),
        UpdateMode::MaxCount,
        current,
        target,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_stock_returns_the_simulated_stock() {
    let (_sim, handle, client) = setup().await;
    let response = client.get_stock(&key()).await.expect("get_stock succeeds");
    assert_eq!(Some(response.value.clone()), handle.stock(PC, STOCK));
    assert_eq!(response.value.max_count(), Some(100_000));
    assert_eq!(response.value.max_count_per_day(), Some(10_000));
    assert_eq!(response.value.sent_total(), 4_200);
    assert_eq!(response.value.sent_today(), 310);
    assert!(response.request_id.as_deref().unwrap().ends_with("-0"));
    let log = handle.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, key().path());
    assert_eq!(log[0].status, Some(200));
    assert!(log[0].body.is_empty());
    assert_eq!(log[0].auth_nonce.as_ref().map(String::len), Some(32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_budget_applies_and_returns_the_new_value() {
    let (_sim, handle, client) = setup().await;
    let request = raise_max_count("bb-apply-001", 100_000, 120_000);
    let response = client
        .update_budget(&key(), &request)
        .await
        .expect("update succeeds");
    assert_eq!(response.value.max_count(), Some(120_000));
    assert_eq!(handle.stock(PC, STOCK).unwrap().max_count(), Some(120_000));
    let applied = handle.applied_updates();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].out_request_no, "bb-apply-001");
    assert_eq!((applied[0].from, applied[0].to), (Some(100_000), 120_000));
    let log = handle.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].body, request.body());
    assert_eq!(log[0].out_request_no.as_deref(), Some("bb-apply-001"));
    assert!(log[0].applied);
}

/// A GET whose every answer carries `fault` must fail verification with `expected`: each
/// attempt is rejected (a read is retried, as probe signatures may hit any answer), and none is
/// ever returned as a success.
async fn assert_get_rejected(fault: Fault, expected: fn(&VerifyError) -> bool) {
    let (_sim, handle, client) = setup().await;
    for _ in 0..4 {
        handle.push_fault(FaultMatch::GetStock, fault.clone());
    }
    match client.get_stock(&key()).await {
        Err(ApiError::Verification { source, request_id }) => {
            assert!(expected(&source), "{fault:?} gave {source:?}");
            assert!(request_id.is_some());
        }
        other => panic!("{fault:?} must be a verification error, got {other:?}"),
    }
    let log = handle.requests();
    assert_eq!(log.len(), 4, "every attempt was answered with the fault");
    assert!(log
        .iter()
        .all(|r| r.fault == Some(fault.clone()) && r.status == Some(200)));
}

/// One probe signature on a read costs one retry, not the read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unverifiable_read_is_retried_and_the_verified_answer_returned() {
    let (_sim, handle, client) = setup().await;
    handle.push_fault(FaultMatch::GetStock, Fault::BadSignature);
    let response = client
        .get_stock(&key())
        .await
        .expect("second attempt verifies");
    assert_eq!(response.value.max_count(), Some(100_000));
    let log = handle.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].fault, Some(Fault::BadSignature));
    assert_eq!(log[1].fault, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_body_is_rejected() {
    assert_get_rejected(Fault::TamperedBody, |e| *e == VerifyError::BadSignature).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_serial_is_rejected() {
    assert_get_rejected(Fault::WrongSerial, |e| {
        matches!(e, VerifyError::SerialMismatch { remote, .. } if remote == budget_bot::sim::WRONG_SERIAL)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_timestamp_is_rejected() {
    assert_get_rejected(
        Fault::StaleTimestamp,
        |e| matches!(e, VerifyError::StaleTimestamp { skew, .. } if *skew >= 590),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_signature_is_rejected() {
    assert_get_rejected(Fault::BadSignature, |e| *e == VerifyError::BadSignature).await;
}

/// A write whose success fails verification is an unknown outcome: the change did happen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unverifiable_write_success_is_an_unknown_outcome() {
    let (_sim, handle, client) = setup().await;
    handle.push_fault(FaultMatch::UpdateBudget, Fault::BadSignature);
    let err = client
        .update_budget(&key(), &raise_max_count("bb-probe-01", 100_000, 110_000))
        .await
        .expect_err("must not be a success");
    assert!(matches!(err, ApiError::Verification { .. }), "{err:?}");
    assert!(err.is_outcome_unknown());
    assert_eq!(handle.applied_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_is_retried_with_the_identical_body_and_a_fresh_nonce() {
    let (_sim, handle, client) = setup().await;
    handle.push_fault(FaultMatch::UpdateBudget, Fault::Status500);
    let request = raise_max_count("bb-retry-500", 100_000, 130_000);
    let response = client
        .update_budget(&key(), &request)
        .await
        .expect("second attempt succeeds");
    assert_eq!(response.value.max_count(), Some(130_000));
    let log = handle.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(500), Some(200)]
    );
    assert_eq!(log[0].body, request.body());
    assert_eq!(log[1].body, log[0].body, "byte-identical body");
    assert_eq!(log[0].out_request_no.as_deref(), Some("bb-retry-500"));
    assert_eq!(log[1].out_request_no, log[0].out_request_no);
    assert!(log[0].auth_nonce.is_some());
    assert_ne!(
        log[1].auth_nonce, log[0].auth_nonce,
        "each attempt is signed afresh"
    );
    assert_eq!(handle.applied_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_request_is_not_retried() {
    let (_sim, handle, client) = setup().await;
    // The live max_count is 100000, so this compare-and-set guard fails.
    let err = client
        .update_budget(&key(), &raise_max_count("bb-stale-01", 99_999, 130_000))
        .await
        .expect_err("current mismatch is refused");
    match &err {
        ApiError::Api {
            status,
            code,
            request_id,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(code, "INVALID_REQUEST");
            assert!(request_id
                .as_deref()
                .unwrap()
                .ends_with(&format!("-{}", codes::INVALID_REQUEST)));
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    assert!(!err.is_outcome_unknown());
    assert_eq!(handle.requests().len(), 1, "a 400 is never retried");
    assert_eq!(handle.applied_count(), 0);
}

/// Spec §7: a 401 SIGN_ERROR (clock skew) is the one 4xx re-signed and retried, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_error_is_resigned_once() {
    let (_sim, handle, client) = setup().await;
    handle.push_fault(FaultMatch::UpdateBudget, Fault::SignError);
    let request = raise_max_count("bb-sign-01", 100_000, 110_000);
    client
        .update_budget(&key(), &request)
        .await
        .expect("the re-signed attempt passes");
    let log = handle.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].status, Some(401));
    assert_eq!(log[0].body, log[1].body);
    assert_ne!(log[0].auth_nonce, log[1].auth_nonce);
    assert_eq!(handle.applied_count(), 1);

    for _ in 0..3 {
        handle.push_fault(FaultMatch::UpdateBudget, Fault::SignError);
    }
    let err = client
        .update_budget(&key(), &raise_max_count("bb-sign-02", 110_000, 120_000))
        .await
        .expect_err("a second SIGN_ERROR is final");
    assert_eq!(err.code(), Some("SIGN_ERROR"));
    assert_eq!(handle.requests().len(), 4, "exactly one retry");
}

/// Every request carries the headers the API requires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_carry_the_required_headers() {
    let (_sim, handle, client) = setup().await;
    client.get_stock(&key()).await.unwrap();
    client
        .update_budget(&key(), &raise_max_count("bb-headers", 100_000, 101_000))
        .await
        .unwrap();
    let log = handle.requests();
    for record in &log {
        assert_eq!(record.accept.as_deref(), Some("application/json"));
        let user_agent = record.user_agent.as_deref().unwrap();
        assert!(user_agent.starts_with("budget-bot/"), "{user_agent}");
    }
    assert_eq!(
        log[0].content_type, None,
        "a GET has no body and no Content-Type"
    );
    assert_eq!(log[1].content_type.as_deref(), Some("application/json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_waited_out() {
    let (_sim, handle, client) = setup().await;
    handle.push_fault(FaultMatch::GetStock, Fault::Status429);
    client
        .get_stock(&key())
        .await
        .expect("second attempt succeeds");
    let log = handle.requests();
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(429), Some(200)]
    );
    let gap = log[1].arrived.duration_since(log[0].arrived);
    assert!(
        gap >= Duration::from_secs(1),
        "waited only {gap:?} after a 429"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_100_stays_within_20_per_second() {
    let (_sim, handle, client) = setup().await;
    let client = Arc::new(client);
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_stock(&key()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().expect("every call succeeds");
    }
    let mut arrivals: Vec<_> = handle.requests().iter().map(|r| r.arrived).collect();
    assert_eq!(arrivals.len(), 100);
    arrivals.sort();
    for (i, start) in arrivals.iter().enumerate() {
        let in_window = arrivals[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
            .count();
        assert!(
            in_window <= 20,
            "{in_window} arrivals within 1 s of arrival {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_then_500_applies_exactly_once() {
    let (_sim, handle, client) = setup().await;
    handle.push_fault(FaultMatch::UpdateBudget, Fault::ApplyThen500);
    let response = client
        .update_budget(&key(), &raise_max_count("bb-a-then-500", 100_000, 140_000))
        .await
        .expect("the retry replays the first success");
    assert_eq!(response.value.max_count(), Some(140_000));
    assert_eq!(handle.applied_count(), 1);
    let log = handle.requests();
    assert_eq!(
        log.iter()
            .map(|r| (r.status, r.applied))
            .collect::<Vec<_>>(),
        [(Some(500), true), (Some(200), false)]
    );
    assert_eq!(log[1].body, log[0].body);
    assert_eq!(handle.stock(PC, STOCK).unwrap().max_count(), Some(140_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_is_retried() {
    let (_sim, handle, client) = setup().await;
    handle.push_fault(FaultMatch::UpdateBudget, Fault::DropConnection);
    let request = raise_max_count("bb-dropped-1", 100_000, 150_000);
    let response = client
        .update_budget(&key(), &request)
        .await
        .expect("retry succeeds");
    assert_eq!(response.value.max_count(), Some(150_000));
    assert_eq!(handle.applied_count(), 1);
    let log = handle.requests();
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [None, Some(200)]
    );
    assert_eq!(log[1].body, log[0].body);
    assert_ne!(log[1].auth_nonce, log[0].auth_nonce);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_past_request_timeout_is_retried() {
    let sim = start_sim().await;
    let handle = sim.handle();
    let client = client_with(ClientSettings {
        request_timeout: Duration::from_millis(800),
        ..settings(&sim)
    });
    handle.push_fault(
        FaultMatch::UpdateBudget,
        Fault::Delay(Duration::from_secs(5)),
    );
    let request = raise_max_count("bb-delayed-1", 100_000, 160_000);
    let response = client
        .update_budget(&key(), &request)
        .await
        .expect("retry succeeds");
    assert_eq!(response.value.max_count(), Some(160_000));
    let log = handle.requests();
    assert!(log.len() >= 2);
    assert_eq!(log[0].fault, Some(Fault::Delay(Duration::from_secs(5))));
    assert!(log.iter().all(|r| r.body == request.body()));
    // Whether or not the delayed first attempt is ever processed, it can only replay.
    assert_eq!(handle.applied_count(), 1);
    assert_eq!(handle.stock(PC, STOCK).unwrap().max_count(), Some(160_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_get_past_request_timeout_is_retried() {
    let sim = start_sim().await;
    let handle = sim.handle();
    let client = client_with(ClientSettings {
        request_timeout: Duration::from_millis(800),
        ..settings(&sim)
    });
    handle.push_fault(FaultMatch::GetStock, Fault::Delay(Duration::from_secs(5)));
    let response = client.get_stock(&key()).await.expect("retry succeeds");
    assert_eq!(response.value.stock_id, STOCK);
    assert!(handle.requests().len() >= 2);
    assert_eq!(handle.pending_faults(), 0);
}

/// The real API never redirects. A redirect answer to update-budget, whose `Location` is the
/// stock's GET, must not be followed (a follower would read the unchanged stock, verified, and
/// could take it for the update's answer): the write's outcome is unknown, and nothing else is
/// requested. A redirected read is not followed either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_never_followed_and_leaves_a_write_unknown() {
    let (_sim, handle, client) = setup().await;
    handle.push_fault(FaultMatch::UpdateBudget, Fault::Redirect(302));
    let err = client
        .update_budget(&key(), &raise_max_count("bb-redirect1", 100_000, 150_000))
        .await
        .expect_err("a redirect is never a success");
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(err.to_string().contains("302"), "{err}");
    let log = handle.requests();
    assert_eq!(log.len(), 1, "the redirect was not followed: {log:?}");
    assert_eq!(log[0].status, Some(302));
    assert_eq!(handle.applied_count(), 0);

    handle.push_fault(FaultMatch::GetStock, Fault::Redirect(307));
    let err = client
        .get_stock(&key())
        .await
        .expect_err("a redirected read is refused");
    assert!(err.to_string().contains("307"), "{err}");
    assert_eq!(handle.requests().len(), 2, "not followed, not retried");
}

/// An authentic answer about another stock is never taken for this stock's, on a read or on a
/// write, and the refusal names both stocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_about_another_stock_is_refused_naming_both_ids() {
    let (_sim, handle, client) = setup().await;
    handle.push_fault(FaultMatch::GetStock, Fault::OtherStock);
    let err = client
        .get_stock(&key())
        .await
        .expect_err("another stock's answer is refused");
    let text = err.to_string();
    // The simulator's first other stock is 124.
    assert!(text.contains("123") && text.contains("124"), "{text}");
    assert_eq!(handle.requests().len(), 1, "not retried");

    handle.push_fault(FaultMatch::UpdateBudget, Fault::OtherStock);
    let err = client
        .update_budget(&key(), &raise_max_count("bb-other-01", 100_000, 150_000))
        .await
        .expect_err("another stock's answer to an update is refused");
    assert!(
        err.is_outcome_unknown(),
        "the update may have happened: {err}"
    );
    assert_eq!(handle.applied_count(), 1, "it did, here");
}

/// True when `text` is short, marked as cut, and free of control and bidi characters.
fn assert_bounded(what: &str, text: &str) {
    assert!(
        text.chars().count() < 1_000,
        "{what}: {} characters echoed",
        text.chars().count()
    );
    assert!(text.contains("[cut:"), "{what} says it was cut: {text}");
    assert!(
        !text.chars().any(is_unsafe_char),
        "{what} carries control or bidi characters: {text:?}"
    );
}

/// Text from WeChat Pay's answers (an error message, a code, a Request-ID header, a timestamp
/// header) is echoed bounded, marked as cut, and without NUL or bidi overrides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_of_api_text_are_bounded_and_clean() {
    let (_sim, handle, client) = setup().await;
    let huge = format!("bad\u{0}\u{202E}{}", "x".repeat(1_000_000));
    let body = serde_json::json!({"code": huge, "message": huge}).to_string();
    handle.push_fault(
        FaultMatch::UpdateBudget,
        Fault::Answer(CannedAnswer::api(400, body).with_request_id("R".repeat(5_000))),
    );
    let err = client
        .update_budget(&key(), &raise_max_count("bb-huge-001", 100_000, 150_000))
        .await
        .expect_err("a 400");
    assert_bounded(
        "a 1 MB error message, code and Request-ID",
        &err.to_string(),
    );
    assert!(err.request_id().unwrap().chars().count() < 200);
    assert!(err.code().unwrap().chars().count() < 400);

    for _ in 0..4 {
        handle.push_fault(
            FaultMatch::GetStock,
            Fault::TimestampHeader("9".repeat(5_000)),
        );
    }
    let err = client.get_stock(&key()).await.expect_err("unverifiable");
    assert_bounded("a 5,000-digit Wechatpay-Timestamp", &err.to_string());
}

/// A gateway's 502 with an empty body says so, instead of `502 :  (Request-ID none)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_gateway_error_says_no_message() {
    let (_sim, handle, client) = setup().await;
    for _ in 0..4 {
        handle.push_fault(
            FaultMatch::GetStock,
            Fault::Answer(CannedAnswer::gateway(502, "")),
        );
    }
    let err = client.get_stock(&key()).await.expect_err("502 every time");
    assert_eq!(
        err.to_string(),
        "WeChat Pay answered 502 with no message (Request-ID none)"
    );
    assert_eq!(handle.requests().len(), 4, "a 502 is retried");
}

// ---- The simulator's own request checks, with hand-made requests. ----

/// A request signed like the client signs it, with control over the serial and the body.
async fn raw(
    sim: &Simulator,
    method: &str,
    path: &str,
    body: &str,
    serial: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let authorization = test_keys::brand_signer().authorization(
        method,
        path,
        timestamp,
        &new_nonce(),
        body.as_bytes(),
    );
    let mut request = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{}{path}", sim.base_url()))
        .header("Authorization", authorization)
        .header("Accept", "application/json")
        .header("User-Agent", "client_sim-test")
        .body(body.to_owned());
    if let Some(serial) = serial {
        request = request.header("Wechatpay-Serial", serial);
    }
    let response = request.send().await.expect("simulator answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn code_of(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).expect("JSON error body");
    value["code"].as_str().unwrap_or_default().to_owned()
}

/// Every answer, errors too, is signed and carries a Request-ID.
fn assert_signed(headers: &reqwest::header::HeaderMap, body: &[u8]) {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    assert!(get("request-id").is_some());
    assert_eq!(
        get("wechatpay-signature-type"),
        Some("WECHATPAY-BRAND-SHA256-RSA2048")
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signature_headers = SignatureHeaders {
        timestamp: get("wechatpay-timestamp"),
        nonce: get("wechatpay-nonce"),
        signature: get("wechatpay-signature"),
        serial: get("wechatpay-serial"),
    };
    test_keys::response_verifier()
        .verify(signature_headers, body, now)
        .expect("answer verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_serial_is_400() {
    let sim = start_sim().await;
    let (status, headers, body) = raw(&sim, "GET", &key().path(), "", None).await;
    assert_eq!(status, 400);
    assert_eq!(code_of(&body), "INVALID_REQUEST");
    assert_signed(&headers, &body);
    let (status, _, body) = raw(&sim, "GET", &key().path(), "", Some("PUB_KEY_ID_OTHER")).await;
    assert_eq!((status, code_of(&body).as_str()), (400, "INVALID_REQUEST"));
    let (status, headers, body) = raw(
        &sim,
        "GET",
        &key().path(),
        "",
        Some(test_keys::PUBLIC_KEY_ID),
    )
    .await;
    assert_eq!(status, 200);
    assert_signed(&headers, &body);
    assert!(sim.handle().requests().iter().all(|r| !r.applied));
}

/// The real API looks the brand API certificate up by `serial_no` and answers 401 SIGN_ERROR
/// for one it does not know, even when the signature itself is good; and nothing is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_certificate_serial_is_401_sign_error() {
    let sim = start_sim().await;
    let wrong = budget_bot::wechatpay::sign::BrandSigner::new(
        test_keys::brand_private_key(),
        test_keys::BRAND_ID.into(),
        "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C".into(),
    );
    let client = WechatPayClient::new(wrong, test_keys::response_verifier(), settings(&sim))
        .expect("client builds");
    let error = client
        .get_stock(&key())
        .await
        .expect_err("a wrong serial is refused");
    assert!(
        matches!(&error, ApiError::Api { status: 401, .. }) && error.code() == Some("SIGN_ERROR"),
        "{error:?}"
    );
    assert!(sim
        .handle()
        .requests()
        .iter()
        .all(|r| r.status == Some(401)));
    // The right serial passes the same check.
    client_with(settings(&sim))
        .get_stock(&key())
        .await
        .expect("the test serial is known");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_authorization_and_bad_signature_are_refused() {
    let sim = start_sim().await;
    let url = format!("{}{}", sim.base_url(), key().path());
    let http = reqwest::Client::new();
    let spaced = "WECHATPAY-BRAND-SHA256-RSA2048 brand_id=\"1234567890\", nonce_str=\"n\",signature=\"s\",timestamp=\"1\",serial_no=\"x\"";
    let response = http
        .get(&url)
        .header("Authorization", spaced)
        .header("Wechatpay-Serial", test_keys::PUBLIC_KEY_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body = response.bytes().await.unwrap();
    assert_eq!(code_of(&body), "INVALID_REQUEST");
    assert!(String::from_utf8_lossy(&body).contains("Authorization值格式错误"));

    // Signed for another path: the signature does not cover this request.
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let wrong = test_keys::brand_signer().authorization(
        "GET",
        "/brand/other",
        timestamp,
        &new_nonce(),
        b"",
    );
    let response = http
        .get(&url)
        .header("Authorization", wrong)
        .header("Wechatpay-Serial", test_keys::PUBLIC_KEY_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body = response.bytes().await.unwrap();
    assert_eq!(code_of(&body), "SIGN_ERROR");
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        value["detail"]["sign_information"]["truncated_sign_message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("GET\n{}\n", key().path()))
    );

    // A request signed 10 minutes ago.
    let old = test_keys::brand_signer().authorization(
        "GET",
        &key().path(),
        timestamp - 600,
        &new_nonce(),
        b"",
    );
    let response = http
        .get(&url)
        .header("Authorization", old)
        .header("Wechatpay-Serial", test_keys::PUBLIC_KEY_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_stock_and_unknown_path_are_404() {
    let sim = start_sim().await;
    let missing = StockKey::new(PC, "999").path();
    let (status, headers, body) =
        raw(&sim, "GET", &missing, "", Some(test_keys::PUBLIC_KEY_ID)).await;
    assert_eq!((status, code_of(&body).as_str()), (404, "NOT_FOUND"));
    let request_id = headers.get("request-id").unwrap().to_str().unwrap();
    assert!(request_id.ends_with("-268578608"), "{request_id}");
    assert_signed(&headers, &body);
    let (status, _, body) = raw(
        &sim,
        "GET",
        "/brand/nothing/here",
        "",
        Some(test_keys::PUBLIC_KEY_ID),
    )
    .await;
    assert_eq!((status, code_of(&body).as_str()), (404, "NOT_FOUND"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_budget_business_rules() {
    let sim = start_sim().await;
    let handle = sim.handle();
    let serial = Some(test_keys::PUBLIC_KEY_ID);
    let path = key().update_budget_path();
    let post = |path: String, body: &'static str| {
        let sim = &sim;
        async move { raw(sim, "POST", &path, body, serial).await }
    };
    let cases: &[(&str, &str, u16, &str)] = &[
        ("not JSON", "nope", 400, "PARAM_ERROR"),
        (
            "short out_request_no",
            r#"{"out_request_no":"abc","update_mode":"MAX_COUNT","current_max_count":100000,"target_max_count":1}"#,
            400,
            "PARAM_ERROR",
        ),
        (
            "unknown mode",
            r#"{"out_request_no":"bb-rule-01","update_mode":"BOTH","current_max_count":100000,"target_max_count":1}"#,
            400,
            "PARAM_ERROR",
        ),
        (
            "half a pair",
            r#"{"out_request_no":"bb-rule-02","update_mode":"MAX_COUNT","target_max_count":120000}"#,
            400,
            "INVALID_REQUEST",
        ),
        (
            "other mode's fields",
            r#"{"out_request_no":"bb-rule-03","update_mode":"MAX_COUNT","current_max_count":100000,"target_max_count":120000,"current_max_count_per_day":10000,"target_max_count_per_day":10000}"#,
            400,
            "INVALID_REQUEST",
        ),
        (
            "above the ceiling",
            r#"{"out_request_no":"bb-rule-04","update_mode":"MAX_COUNT","current_max_count":100000,"target_max_count":100000001}"#,
            400,
            "PARAM_ERROR",
        ),
        (
            "below sent total",
            r#"{"out_request_no":"bb-rule-05","update_mode":"MAX_COUNT","current_max_count":100000,"target_max_count":4199}"#,
            400,
            "INVALID_REQUEST",
        ),
    ];
    for (what, body, status, code) in cases {
        let (got_status, _, got_body) = post(path.clone(), body).await;
        assert_eq!(
            (got_status, code_of(&got_body)),
            (*status, code.to_string()),
            "{what}"
        );
    }
    // STOPPED stocks and per-day changes of an unlimited daily limit are refused.
    let (status, _, body) = post(StockKey::new(PC, "125").update_budget_path(), r#"{"out_request_no":"bb-rule-06","update_mode":"MAX_COUNT","current_max_count":2000,"target_max_count":3000}"#).await;
    assert_eq!((status, code_of(&body).as_str()), (400, "INVALID_REQUEST"));
    let (status, _, body) = post(StockKey::new("200000002", "200").update_budget_path(), r#"{"out_request_no":"bb-rule-07","update_mode":"MAX_COUNT_PER_DAY","current_max_count_per_day":0,"target_max_count_per_day":100}"#).await;
    assert_eq!((status, code_of(&body).as_str()), (400, "INVALID_REQUEST"));
    // A PAUSED stock can change; lowering to exactly the sent total is allowed.
    let (status, _, _) = post(StockKey::new(PC, "124").update_budget_path(), r#"{"out_request_no":"bb-rule-08","update_mode":"MAX_COUNT","current_max_count":5000,"target_max_count":1200}"#).await;
    assert_eq!(status, 200);
    assert_eq!(handle.applied_count(), 1, "only the PAUSED change applied");

    // A rejected out_request_no is not remembered: the corrected retry applies.
    let (status, _, _) = post(path.clone(), r#"{"out_request_no":"bb-rule-09","update_mode":"MAX_COUNT_PER_DAY","current_max_count_per_day":1,"target_max_count_per_day":20000}"#).await;
    assert_eq!(status, 400);
    let (status, headers, body) = post(path.clone(), r#"{"out_request_no":"bb-rule-09","update_mode":"MAX_COUNT_PER_DAY","current_max_count_per_day":10000,"target_max_count_per_day":20000}"#).await;
    assert_eq!(status, 200);
    assert_signed(&headers, &body);
    assert_eq!(
        handle.stock(PC, STOCK).unwrap().max_count_per_day(),
        Some(20_000)
    );
    // Identical replay: same answer, not applied again. Different body: refused.
    let (status, headers2, replay) = post(path.clone(), r#"{"out_request_no":"bb-rule-09","update_mode":"MAX_COUNT_PER_DAY","current_max_count_per_day":10000,"target_max_count_per_day":20000}"#).await;
    assert_eq!((status, &replay), (200, &body));
    assert_ne!(
        headers2.get("wechatpay-nonce"),
        headers.get("wechatpay-nonce"),
        "freshly signed"
    );
    assert_signed(&headers2, &replay);
    let (status, _, other) = post(path.clone(), r#"{"out_request_no":"bb-rule-09","update_mode":"MAX_COUNT_PER_DAY","current_max_count_per_day":10000,"target_max_count_per_day":30000}"#).await;
    assert_eq!((status, code_of(&other).as_str()), (400, "INVALID_REQUEST"));
    assert_eq!(handle.applied_count(), 2);
    assert_eq!(
        handle.stock(PC, STOCK).unwrap().max_count_per_day(),
        Some(20_000)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_changes_are_visible_to_the_client() {
    let (_sim, handle, client) = setup().await;
    assert!(handle.set_sent(PC, STOCK, 99_000, 9_000));
    assert!(handle.set_state(PC, STOCK, budget_bot::wechatpay::StockState::Paused));
    assert!(!handle.set_sent(PC, "nope", 1, 1));
    let stock = client.get_stock(&key()).await.unwrap().value;
    assert_eq!((stock.sent_total(), stock.sent_today()), (99_000, 9_000));
    assert_eq!(stock.state, budget_bot::wechatpay::StockState::Paused);
}
