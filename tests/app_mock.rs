//! Narrow "called exactly this often" checks of the apply path with a mockall mock of the
//! `CouponApi` port, defined here so that mockall stays out of the release binary. Everything
//! else is tested against the simulator over real HTTP.

mod common;

use common::Recorder;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use budget_bot::app::{App, ManualClock, Notice, Notifier, NotifyError};
use budget_bot::config::{ApprovalConfig, StockConfig};
use budget_bot::domain::request::{
    ActorRef, CardRef, ChangeRequest, RequestId, RequestState, SentCounts,
};
use budget_bot::store::{AuditNote, Store};
use budget_bot::wechatpay::{
    ApiError, ApiResponse, CouponApi, OutRequestNo, StockEntity, StockKey, UpdateBudgetRequest,
    UpdateMode,
};

mockall::mock! {
    pub CouponApi {}

    #[async_trait]
    impl CouponApi for CouponApi {
        async fn get_stock(&self, stock: &StockKey) -> Result<ApiResponse<StockEntity>, ApiError>;
        async fn update_budget(
            &self,
            stock: &StockKey,
            request: &UpdateBudgetRequest,
        ) -> Result<ApiResponse<StockEntity>, ApiError>;
    }
}

fn stock(daily: i64) -> StockEntity {
    serde_json::from_value(serde_json::json!({
        "stock_id": "123", "product_coupon_id": "200000001", "state": "SENDING",
        "stock_send_rule": {"max_count": 100000, "max_count_per_day": daily, "max_count_per_user": 1},
        "sent_count_info": {"total_count": 10, "today_count": 1}
    }))
    .unwrap()
}

fn ok(value: StockEntity) -> Result<ApiResponse<StockEntity>, ApiError> {
    Ok(ApiResponse {
        value,
        request_id: Some("RID-0".into()),
    })
}

/// A request left in `state` by an earlier process, as recovery finds it.
fn stored(store: &Store, state: RequestState) -> ChangeRequest {
    let request = ChangeRequest {
        id: RequestId::generate(),
        stock_id: "123".into(),
        product_coupon_id: "200000001".into(),
        stock_name: None,
        mode: UpdateMode::MaxCountPerDay,
        current: 100,
        target: 200,
        sent: SentCounts {
            today: 1,
            total: 10,
        },
        requester: ActorRef {
            id: "console:alice".into(),
            display: "alice".into(),
        },
        reason: None,
        created_at: 1000,
        expires_at: 4600,
        out_request_no: OutRequestNo::new("bb-1000-test0001").unwrap(),
        state,
        approvals: vec![],
        required_approvals: 1,
        decided_by: None,
        decided_at: None,
        outcome_detail: None,
        outcome_reason: None,
        api_request_id: None,
        result: None,
        card: Some(CardRef {
            channel_id: "c".into(),
            message_id: "m".into(),
        }),
        update_body: None,
        apply_at: None,
        reminded_at: None,
    };
    let body = String::from_utf8(request.update_request().body().to_vec()).unwrap();
    let request = ChangeRequest {
        update_body: Some(body),
        ..request
    };
    store
        .create(&request, AuditNote::new(1000, "requested", None))
        .unwrap();
    request
}

fn app(api: MockCouponApi, store: Store) -> App {
    app_with(api, store, Arc::new(Recorder::default()))
}

fn app_with(api: MockCouponApi, store: Store, notifier: Arc<dyn Notifier>) -> App {
    App::new(
        vec![StockConfig {
            stock_id: "123".into(),
            product_coupon_id: "200000001".into(),
            name: None,
        }],
        ApprovalConfig::default(),
        Arc::new(api),
        store,
        notifier,
        Arc::new(ManualClock::new(2000)),
    )
}

#[tokio::test]
async fn stale_value_on_resume_never_calls_update_budget() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let request = stored(&store, RequestState::Approved);
    let mut api = MockCouponApi::new();
    api.expect_get_stock()
        .times(1)
        .returning(|_| ok(stock(150)));
    api.expect_update_budget().times(0);
    let resumed = app(api, store.clone()).recover().await.unwrap();
    assert_eq!(resumed, vec![request.id.to_string()]);
    assert_eq!(
        store.get(request.id.as_str()).unwrap().unwrap().state,
        RequestState::Stale
    );
}

#[tokio::test]
async fn resumed_request_already_applied_is_confirmed_even_if_the_resend_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let request = stored(&store, RequestState::Submitting);
    let mut api = MockCouponApi::new();
    // The stock already shows the target: the earlier process's send went through.
    api.expect_get_stock()
        .times(2)
        .returning(|_| ok(stock(200)));
    let expected_body = request.update_request().body().to_vec();
    api.expect_update_budget()
        .times(1)
        .withf(move |_, update| update.body() == expected_body.as_slice())
        .returning(|_, _| {
            Err(ApiError::Api {
                status: 400,
                code: "INVALID_REQUEST".into(),
                message: "current_max_count_per_day mismatch".into(),
                detail: None,
                request_id: Some("RID-268435461".into()),
            })
        });
    app(api, store.clone()).recover().await.unwrap();
    let after = store.get(request.id.as_str()).unwrap().unwrap();
    assert_eq!(after.state, RequestState::Applied);
    assert!(after
        .outcome_detail
        .unwrap()
        .contains("confirmed by re-reading"));
}

#[tokio::test]
async fn a_fresh_approval_whose_value_moved_to_the_target_is_stale_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let request = stored(&store, RequestState::Pending);
    let mut api = MockCouponApi::new();
    api.expect_get_stock()
        .times(1)
        .returning(|_| ok(stock(200)));
    api.expect_update_budget().times(0);
    let app = app(api, store.clone());
    let bob = budget_bot::domain::request::Actor::new(
        "console:bob",
        "bob",
        &[budget_bot::config::Capability::Approver],
    );
    app.decide(
        &bob,
        request.id.as_str(),
        budget_bot::domain::policy::Decision::Approve,
        budget_bot::domain::request::Via::Button,
    )
    .await
    .unwrap();
    assert_eq!(
        store.get(request.id.as_str()).unwrap().unwrap().state,
        RequestState::Stale
    );
}

#[tokio::test]
async fn a_stored_body_that_differs_is_never_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let request = stored(&store, RequestState::Approved);
    store
        .update(request.id.as_str(), |r| {
            let mut next = r.clone();
            next.update_body = Some(r.update_body.clone().unwrap().replace("200", "2000"));
            Ok::<_, ()>((next, AuditNote::new(1500, "test", None), ()))
        })
        .unwrap()
        .unwrap();
    let mut api = MockCouponApi::new();
    api.expect_get_stock()
        .times(1)
        .returning(|_| ok(stock(100)));
    api.expect_update_budget().times(0);
    app(api, store.clone()).recover().await.unwrap();
    let after = store.get(request.id.as_str()).unwrap().unwrap();
    assert_eq!(after.state, RequestState::Failed);
    assert!(after
        .outcome_detail
        .unwrap()
        .contains("stored request body differs"));
}

#[tokio::test]
async fn a_timeout_then_a_refused_resend_is_settled_by_the_stock_not_the_last_answer() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let request = stored(&store, RequestState::Approved);
    let mut api = MockCouponApi::new();
    let mut reads = 0;
    api.expect_get_stock().times(2).returning(move |_| {
        reads += 1;
        // Before sending: the approved value. After: the target (an earlier attempt landed).
        ok(stock(if reads == 1 { 100 } else { 200 }))
    });
    api.expect_update_budget().times(1).returning(|_, _| {
        Err(ApiError::Api {
            status: 400,
            code: "INVALID_REQUEST".into(),
            message: "current_max_count_per_day mismatch".into(),
            detail: None,
            request_id: Some("RID-1".into()),
        })
    });
    app(api, store.clone()).recover().await.unwrap();
    let after = store.get(request.id.as_str()).unwrap().unwrap();
    assert_eq!(after.state, RequestState::Applied);
}

/// Fails its first `post_card`, like a chat platform that was briefly unreachable.
#[derive(Default)]
struct FlakyCards {
    posts: Mutex<u32>,
}

#[async_trait]
impl Notifier for FlakyCards {
    fn platform(&self) -> &'static str {
        "test"
    }

    async fn post_card(&self, request: &ChangeRequest) -> Result<CardRef, NotifyError> {
        let mut posts = self.posts.lock().unwrap();
        *posts += 1;
        if *posts == 1 {
            return Err(NotifyError("platform unreachable".into()));
        }
        Ok(CardRef {
            channel_id: "c".into(),
            message_id: format!("m-{}", request.id),
        })
    }
    async fn update_card(&self, _: &ChangeRequest) -> Result<(), NotifyError> {
        Ok(())
    }
    async fn notify(&self, _: &Notice) -> Result<(), NotifyError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_card_that_could_not_be_posted_is_posted_once_by_the_next_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let mut api = MockCouponApi::new();
    api.expect_get_stock()
        .times(1)
        .returning(|_| ok(stock(100)));
    api.expect_update_budget().times(0);
    let cards = Arc::new(FlakyCards::default());
    let app = app_with(api, store.clone(), cards.clone());
    let alice = budget_bot::domain::request::Actor::new(
        "console:alice",
        "alice",
        &[budget_bot::config::Capability::Requester],
    );
    app.request_change(&alice, "123", UpdateMode::MaxCountPerDay, 300, None)
        .await
        .unwrap();
    let request = store.last().unwrap().unwrap();
    assert_eq!(request.card, None);
    app.retry_unresolved().await.unwrap();
    app.retry_unresolved().await.unwrap();
    assert_eq!(
        *cards.posts.lock().unwrap(),
        2,
        "posted again once, not on every sweep"
    );
    let request = store.get(request.id.as_str()).unwrap().unwrap();
    let card = request.card.expect("the sweep attached the card");
    assert_eq!(
        store
            .request_for_card(budget_bot::store::CardKey::new(
                "test",
                &card.channel_id,
                &card.message_id
            ))
            .unwrap(),
        Some(request.id.to_string())
    );
}

/// Issue 7, finding 2: a verified answer to update-budget is a success only when it shows the
/// target. This one shows the old value (a follower of a redirect got it from GET): the re-read
/// decides, and the stock is unchanged, so the request failed. Whatever the port returns.
#[tokio::test]
async fn an_update_answer_that_does_not_show_the_target_is_settled_by_rereading() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let request = stored(&store, RequestState::Approved);
    let mut api = MockCouponApi::new();
    api.expect_get_stock()
        .times(2)
        .returning(|_| ok(stock(100)));
    api.expect_update_budget()
        .times(1)
        .returning(|_, _| ok(stock(100)));
    let notices = Arc::new(Recorder::default());
    app_with(api, store.clone(), notices.clone())
        .recover()
        .await
        .unwrap();
    let after = store.get(request.id.as_str()).unwrap().unwrap();
    assert_eq!(after.state, RequestState::Failed);
    assert!(
        !notices
            .log
            .lock()
            .unwrap()
            .iter()
            .any(|n| n.starts_with("Applied")),
        "{:?}",
        notices.log.lock().unwrap()
    );
}
