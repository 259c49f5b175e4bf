//! The change-request workflow through the console adapter and the simulator over real HTTP:
//! each rule and each refusal, quorum, expiry, stale and failed outcomes, unknown outcomes.

mod common;

use std::time::Duration;

use budget_bot::config::Capability;
use budget_bot::domain::policy::Decision;
use budget_bot::domain::request::{Actor, RequestState, Via};
use budget_bot::sim::{CannedAnswer, Fault, FaultMatch};
use common::{ephemeral_to, of, Harness};

const HOUR: Duration = Duration::from_secs(3600);

async fn harness() -> Harness {
    Harness::new(1, HOUR).await
}

/// Creates a daily-limit request for stock 123 and returns its id.
async fn request_daily(h: &Harness, target: &str) -> String {
    let events = h
        .line(&format!(
            "alice: /budget set-daily 123 {target} campaign push"
        ))
        .await;
    let cards = of(&events, "card");
    assert_eq!(cards.len(), 1, "{events:?}");
    cards[0]["request_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn show_reads_live_limits() {
    let h = harness().await;
    let events = h.line("dave: /budget show \"spring sale\"").await;
    let replies = of(&events, "reply");
    assert_eq!(replies.len(), 1, "{events:?}");
    let text = replies[0]["text"].as_str().unwrap();
    assert!(text.contains("SENDING"), "{text}");
    assert!(
        text.contains("100,000") && text.contains("10,000"),
        "{text}"
    );
    assert!(text.contains("left today 9,690"), "{text}");
}

#[tokio::test]
async fn request_approve_apply_end_to_end() {
    let h = harness().await;
    let events = h
        .line("alice: /budget set-daily 123 20,000 weekend push")
        .await;
    let card = of(&events, "card")[0];
    assert_eq!(card["channel"], "approvals");
    assert_eq!(card["state"], "Pending");
    let card_text = card["text"].as_str().unwrap();
    for needle in [
        "Spring sale (123)",
        "daily limit",
        "10,000 → 20,000 (+10,000, +100.0%)",
        "310 today, 4,200 in total",
        "Requested by: alice",
        "Reason: weekend push",
        "May approve: bob, carol, erin",
        "Expires:",
    ] {
        assert!(
            card_text.contains(needle),
            "card lacks {needle}: {card_text}"
        );
    }
    let id = card["request_id"].as_str().unwrap();
    assert!(ephemeral_to(&events, "alice").contains(id));
    assert_eq!(of(&events, "notify").len(), 1);
    assert!(
        h.update_calls().is_empty(),
        "nothing is sent before approval"
    );

    let events = h.line("bob: react ✅ last").await;
    assert_eq!(h.update_calls().len(), 1);
    assert_eq!(h.daily_limit("123"), Some(20_000));
    let updates = of(&events, "card_update");
    assert_eq!(updates.last().unwrap()["state"], "Applied");
    assert!(updates.last().unwrap()["text"]
        .as_str()
        .unwrap()
        .contains("Applied by bob"));
    let applied_notice = of(&events, "notify")
        .into_iter()
        .find(|n| n["state"] == "Applied")
        .expect("applied notification");
    let text = applied_notice["text"].as_str().unwrap();
    assert!(
        text.contains("daily limit 20,000") && text.contains("sent today 310"),
        "{text}"
    );
    assert!(ephemeral_to(&events, "bob").contains("Applied"));

    let stored = h.store.get(id).unwrap().unwrap();
    assert_eq!(stored.state, RequestState::Applied);
    assert!(stored.api_request_id.is_some());
    // The API saw the stored out_request_no and only this mode's pair.
    let call = &h.update_calls()[0];
    assert_eq!(
        call.out_request_no.as_deref(),
        Some(stored.out_request_no.as_str())
    );
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["current_max_count_per_day"], 10_000);
    assert_eq!(body["target_max_count_per_day"], 20_000);
    assert!(body.get("target_max_count").is_none());

    // The audit log has every transition with before/after and the Request-ID.
    let entries = h.store.audit_entries(Some("123")).unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "requested",
            "card_posted",
            "approved",
            "submitting",
            "applied"
        ]
    );
    assert!(entries
        .iter()
        .all(|e| e.before == 10_000 && e.after == 20_000));
    assert_eq!(entries[4].api_request_id, stored.api_request_id);
    assert_eq!(h.store.verify_audit().unwrap(), Ok(5));
    let history = h.line("dave: /budget history 123 3").await;
    let text = of(&history, "reply")[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Last 3 event(s)") && text.contains("applied"),
        "{text}"
    );
}

#[tokio::test]
async fn set_total_by_button_click() {
    let h = harness().await;
    let events = h.line("alice: /budget set-total 123 150000").await;
    let id = of(&events, "card")[0]["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    h.line(&format!("carol: click approve {id}")).await;
    assert_eq!(
        h.sim_handle.stock("200000001", "123").unwrap().max_count(),
        Some(150_000)
    );
    let body: serde_json::Value = serde_json::from_slice(&h.update_calls()[0].body).unwrap();
    assert_eq!(body["update_mode"], "MAX_COUNT");
    assert_eq!(body["current_max_count"], 100_000);
}

#[tokio::test]
async fn each_request_refusal_has_its_own_message() {
    let h = harness().await;
    let cases = [
        ("dave: /budget set-daily 123 20000", "requester role"),
        (
            "alice: /budget set-daily 999 20000",
            "not on the allow-list",
        ),
        ("alice: /budget set-daily 123 abc", "not a whole number"),
        ("alice: /budget set-daily 123 -5", "negative"),
        ("alice: /budget set-daily 123 100000001", "100,000,000"),
        ("alice: /budget set-daily 123 10000", "already 10,000"),
        ("alice: /budget set-total 123 4199", "at least 4,200"),
        ("alice: /budget set-total 125 3000", "STOPPED"),
        ("alice: /budget set-daily 200 10", "unlimited"),
        ("alice: /budget set-dialy 123 10", "set-daily"),
        ("alice: hello", "/budget command"),
    ];
    let mut seen = std::collections::HashSet::new();
    for (line, needle) in cases {
        let events = h.line(line).await;
        let user = line.split(':').next().unwrap();
        let text = ephemeral_to(&events, user).to_string();
        assert!(text.contains(needle), "{line}: {text}");
        assert!(seen.insert(text.clone()), "messages differ: {text}");
        assert!(of(&events, "card").is_empty(), "{line} posted no card");
    }
    // A paused stock may change.
    let events = h.line("alice: /budget set-daily 124 600").await;
    assert_eq!(of(&events, "card").len(), 1);
    let events = h.line("eve: /budget show 123").await;
    assert!(ephemeral_to(&events, "eve").contains("not a console user"));
    assert!(h.update_calls().is_empty());
}

#[tokio::test]
async fn each_decision_refusal_has_its_own_message() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    let cases = [
        (format!("alice: react ✅ {id}"), "alice", "approver role"),
        (format!("dave: click approve {id}"), "dave", "approver role"),
        (format!("dave: react ❌ {id}"), "dave", "approver role"),
        ("bob: react ✅ zzzzzzzz".to_string(), "bob", "no request"),
        (format!("bob: react 👍 {id}"), "bob", "does nothing"),
        (format!("bob: cancel {id}"), "bob", "I don't understand"),
        (
            format!("bob: /budget cancel {id}"),
            "bob",
            "Only the person who made",
        ),
    ];
    for (line, user, needle) in cases {
        let events = h.line(&line).await;
        let text = ephemeral_to(&events, user);
        assert!(text.contains(needle), "{line}: {text}");
        assert!(
            of(&events, "card_update").is_empty(),
            "{line} changed nothing"
        );
    }
    // A requester who also holds the approver role still cannot approve their own request.
    let events = h.line("erin: /budget set-total 123 120000").await;
    let own = of(&events, "card")[0]["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let events = h.line(&format!("erin: click approve {own}")).await;
    assert!(ephemeral_to(&events, "erin").contains("someone else"));
    assert!(h.update_calls().is_empty());
    assert_eq!(h.state(&id), RequestState::Pending);
}

#[tokio::test]
async fn quorum_of_two_counts_each_person_once_and_reject_ends_it() {
    let h = Harness::new(2, HOUR).await;
    let id = request_daily(&h, "20000").await;
    let events = h.line("bob: react ✅ last").await;
    assert!(ephemeral_to(&events, "bob").contains("1 of 2"));
    let events = h.line("bob: click approve last").await;
    assert!(ephemeral_to(&events, "bob").contains("already approved"));
    assert!(h.update_calls().is_empty());
    h.line("carol: react ✅ last").await;
    assert_eq!(h.update_calls().len(), 1);
    assert_eq!(h.store.get(&id).unwrap().unwrap().approvals.len(), 2);

    let id = request_daily(&h, "30000").await;
    h.line("bob: react ✅ last").await;
    let events = h.line("carol: react ❌ last").await;
    assert_eq!(of(&events, "card_update")[0]["state"], "Rejected");
    assert_eq!(h.state(&id), RequestState::Rejected);
    let events = h.line("erin: react ✅ last").await;
    assert!(ephemeral_to(&events, "erin").contains("already Rejected"));
    assert_eq!(h.update_calls().len(), 1);
}

#[tokio::test]
async fn requester_cancels_pending_request() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    let events = h.line("alice: /budget cancel last").await;
    assert_eq!(of(&events, "card_update")[0]["state"], "Cancelled");
    let events = h.line(&format!("bob: click approve {id}")).await;
    assert!(ephemeral_to(&events, "bob").contains("already Cancelled"));
    let events = h.line("alice: /budget pending").await;
    assert!(of(&events, "reply")[0]["text"]
        .as_str()
        .unwrap()
        .contains("No pending"));
    assert!(h.update_calls().is_empty());
}

#[tokio::test]
async fn pending_request_expires_after_its_ttl() {
    let h = Harness::new(1, Duration::from_secs(60)).await;
    let id = request_daily(&h, "20000").await;
    let events = h.line("dave: /budget pending").await;
    assert!(of(&events, "reply")[0]["text"]
        .as_str()
        .unwrap()
        .contains(&id));
    h.clock.advance(59);
    assert!(of(&h.line("dave: /budget pending").await, "card_update").is_empty());
    h.clock.advance(1);
    let events = h.line("bob: react ✅ last").await;
    let update = of(&events, "card_update");
    assert_eq!(update[0]["state"], "Expired", "{events:?}");
    assert!(update[0]["text"].as_str().unwrap().contains("Expired"));
    assert!(ephemeral_to(&events, "bob").contains("already Expired"));
    assert!(h.update_calls().is_empty());
    assert_eq!(h.state(&id), RequestState::Expired);
}

#[tokio::test]
async fn approval_of_stale_value_sends_nothing() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    h.sim_handle.update_stock("200000001", "123", |s| {
        s.stock_send_rule.as_mut().unwrap().max_count_per_day = Some(12_000);
    });
    let events = h.line("bob: react ✅ last").await;
    assert_eq!(of(&events, "card_update").last().unwrap()["state"], "Stale");
    assert!(h.update_calls().is_empty());
    let stored = h.store.get(&id).unwrap().unwrap();
    assert_eq!(stored.state, RequestState::Stale);
    assert!(stored.outcome_detail.unwrap().contains("12,000"));
}

#[tokio::test]
async fn api_4xx_fails_the_request_with_code_and_message() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    h.sim_handle.set_state(
        "200000001",
        "123",
        budget_bot::wechatpay::StockState::Stopped,
    );
    let events = h.line("bob: react ✅ last").await;
    assert_eq!(
        of(&events, "card_update").last().unwrap()["state"],
        "Failed"
    );
    assert_eq!(h.update_calls().len(), 1, "a 4xx is not retried");
    let stored = h.store.get(&id).unwrap().unwrap();
    assert_eq!(stored.state, RequestState::Failed);
    let detail = stored.outcome_detail.unwrap();
    assert!(
        detail.contains("INVALID_REQUEST") && detail.contains("Request-ID"),
        "{detail}"
    );
    assert!(stored.api_request_id.is_some());
}

#[tokio::test]
async fn unverifiable_success_is_resent_with_same_number_and_applied_once() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    h.sim_handle
        .push_fault(FaultMatch::UpdateBudget, Fault::BadSignature);
    h.line("bob: react ✅ last").await;
    let calls = h.update_calls();
    assert_eq!(calls.len(), 2, "resent once after the unverifiable answer");
    assert_eq!(calls[0].body, calls[1].body, "byte-identical body");
    assert_ne!(calls[0].auth_nonce, calls[1].auth_nonce, "signed afresh");
    assert_eq!(h.sim_handle.applied_count(), 1);
    assert_eq!(h.state(&id), RequestState::Applied);
}

#[tokio::test]
async fn apply_then_500_ends_applied_exactly_once() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    h.sim_handle
        .push_fault(FaultMatch::UpdateBudget, Fault::ApplyThen500);
    h.line("bob: react ✅ last").await;
    assert_eq!(h.sim_handle.applied_count(), 1);
    assert_eq!(h.daily_limit("123"), Some(20_000));
    let calls = h.update_calls();
    assert!(calls.len() >= 2);
    assert!(calls.iter().all(|c| c.body == calls[0].body));
    assert_eq!(h.state(&id), RequestState::Applied);
}

#[tokio::test]
async fn unknown_outcome_not_applied_is_reconciled_as_failed() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    // Every attempt gets a 500 that applies nothing: the outcome stays unknown until the bot
    // re-reads the stock and sees the old value.
    for _ in 0..4 {
        h.sim_handle
            .push_fault(FaultMatch::UpdateBudget, Fault::Status500);
    }
    h.line("bob: react ✅ last").await;
    assert_eq!(h.sim_handle.applied_count(), 0);
    let stored = h.store.get(&id).unwrap().unwrap();
    assert_eq!(stored.state, RequestState::Failed);
    assert!(stored.outcome_detail.unwrap().contains("not applied"));
    let numbers: std::collections::HashSet<_> = h
        .update_calls()
        .into_iter()
        .map(|c| c.out_request_no)
        .collect();
    assert_eq!(numbers.len(), 1, "never a second request number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_approvals_submit_once_every_time() {
    let h = harness().await;
    for round in 0..25 {
        let target = 20_000 + round;
        let id = request_daily(&h, &target.to_string()).await;
        let bob = Actor::new("console:bob", "bob", &[Capability::Approver]);
        let carol = Actor::new("console:carol", "carol", &[Capability::Approver]);
        let (a, b) = (h.app.clone(), h.app.clone());
        let (id_a, id_b) = (id.clone(), id.clone());
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let (ba, bb) = (barrier.clone(), barrier.clone());
        let first = tokio::spawn(async move {
            ba.wait().await;
            a.decide(&bob, &id_a, Decision::Approve, Via::Button)
                .await
                .unwrap()
        });
        let second = tokio::spawn(async move {
            bb.wait().await;
            b.decide(&carol, &id_b, Decision::Approve, Via::Reaction)
                .await
                .unwrap()
        });
        first.await.unwrap();
        second.await.unwrap();
        assert_eq!(h.sends_of(&id), 1, "round {round}: one update-budget call");
        assert_eq!(h.state(&id), RequestState::Applied);
        assert_eq!(h.daily_limit("123"), Some(target));
        let events = h.take_events();
        assert_eq!(
            notices_in(&events, "Applied").len(),
            1,
            "round {round}: one applied notice: {events:?}"
        );
    }
    assert_eq!(h.sim_handle.applied_count(), 25);
}

#[tokio::test]
async fn unconfirmed_outcome_stays_submitting_and_is_retried_with_the_same_number() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    // Every attempt of the send fails with a 500, and so does the re-read that would
    // reconcile it; the re-read before sending (the first GET) goes through.
    for _ in 0..4 {
        h.sim_handle
            .push_fault(FaultMatch::UpdateBudget, Fault::Status500);
    }
    h.sim_handle
        .push_fault(FaultMatch::GetStock, Fault::Delay(Duration::ZERO));
    for _ in 0..4 {
        h.sim_handle
            .push_fault(FaultMatch::GetStock, Fault::Status500);
    }
    let events = h.line("bob: react ✅ last").await;
    assert!(
        of(&events, "notify").iter().any(|n| n["text"]
            .as_str()
            .unwrap()
            .contains("will retry with the same request number")),
        "{events:?}"
    );
    assert_eq!(h.state(&id), RequestState::Submitting);
    assert_eq!(h.sim_handle.applied_count(), 0);

    // The next line retries it: same number, same body, applied once.
    let events = h.line("dave: /budget pending").await;
    assert_eq!(
        of(&events, "card_update").last().unwrap()["state"],
        "Applied"
    );
    assert_eq!(h.state(&id), RequestState::Applied);
    assert_eq!(h.sim_handle.applied_count(), 1);
    let calls = h.update_calls();
    assert_eq!(calls.len(), 5);
    assert!(calls.iter().all(|c| c.body == calls[0].body));
}

/// Two workers (two app instances over one store, as two handler tasks or a sweep and a click
/// would be) resume the same approved request at the same instant: the store's atomic
/// Approved → Submitting claim lets one send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contested_claim_to_submit_sends_once() {
    use budget_bot::app::App;
    use budget_bot::config::ApprovalConfig;
    use budget_bot::domain::policy;
    use budget_bot::store::AuditNote;
    let h = Harness::new(2, HOUR).await;
    let other = std::sync::Arc::new(App::new(
        common::stock_configs(),
        ApprovalConfig::default(),
        std::sync::Arc::new(common::client(h.sim.base_url())),
        h.store.clone(),
        std::sync::Arc::new(budget_bot::chat::console::ConsoleNotifier::new(
            std::sync::Arc::new(budget_bot::chat::console::Output::new(
                true,
                Box::new(std::io::sink()),
            )),
            &common::users(),
        )),
        h.clock.clone(),
    ));
    for round in 0..20 {
        let id = request_daily(&h, &(30_000 + round).to_string()).await;
        // Approve in the store only, as a process that died right after approving would leave it.
        h.store
            .update(&id, |r| {
                let bob = Actor::new("console:bob", "bob", &[Capability::Approver]);
                let carol = Actor::new("console:carol", "carol", &[Capability::Approver]);
                let (r, _) = policy::decide(r, &bob, Decision::Approve, Via::Button, common::T0)?;
                let (r, _) =
                    policy::decide(&r, &carol, Decision::Approve, Via::Button, common::T0)?;
                Ok::<_, policy::DenyReason>((r, AuditNote::new(common::T0, "approved", None), ()))
            })
            .unwrap()
            .unwrap();
        let (a, b) = (h.app.clone(), other.clone());
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let (ba, bb) = (barrier.clone(), barrier.clone());
        let first = tokio::spawn(async move {
            ba.wait().await;
            a.retry_unresolved().await.unwrap()
        });
        let second = tokio::spawn(async move {
            bb.wait().await;
            b.retry_unresolved().await.unwrap()
        });
        first.await.unwrap();
        second.await.unwrap();
        assert_eq!(h.sends_of(&id), 1, "round {round}: one update-budget call");
        assert_eq!(h.state(&id), RequestState::Applied);
        // The other worker writes elsewhere: this one announced it at most once.
        let events = h.take_events();
        assert!(
            notices_in(&events, "Applied").len() <= 1,
            "round {round}: {events:?}"
        );
    }
}

/// The notices about request `id` in `events`, by state.
fn notices_in<'a>(events: &'a [serde_json::Value], state: &str) -> Vec<&'a str> {
    of(events, "notify")
        .into_iter()
        .filter(|n| n["state"] == state)
        .map(|n| n["text"].as_str().unwrap())
        .collect()
}

/// Issue 7, finding 2: update-budget answered with a redirect to the stock's GET. A client that
/// followed it got the unchanged stock, verified, and the bot announced "changed 10,000 →
/// 20,000. Now: … daily limit 10,000". Never followed, the answer is an unknown outcome, and the
/// re-read settles it: not applied.
#[tokio::test]
async fn a_redirected_update_is_never_recorded_as_applied() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    h.sim_handle
        .push_fault(FaultMatch::UpdateBudget, Fault::Redirect(302));
    let events = h.line("bob: react ✅ last").await;
    assert_eq!(h.sim_handle.applied_count(), 0);
    assert_eq!(h.daily_limit("123"), Some(10_000));
    assert!(notices_in(&events, "Applied").is_empty(), "{events:?}");
    let stored = h.store.get(&id).unwrap().unwrap();
    assert_eq!(stored.state, RequestState::Failed);
    let detail = stored.outcome_detail.unwrap();
    assert!(
        detail.contains("not applied") && detail.contains("302"),
        "{detail}"
    );
    assert_eq!(h.update_calls().len(), 1, "the redirect was not followed");
}

/// A redirected update whose stock cannot be re-read stays Submitting, and the retry resends
/// the same out_request_no with a byte-identical body.
#[tokio::test]
async fn a_redirected_update_with_an_unreadable_stock_is_retried_identically() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    h.sim_handle
        .push_fault(FaultMatch::UpdateBudget, Fault::Redirect(302));
    // The read before sending goes through; the re-read after the redirect does not.
    h.sim_handle
        .push_fault(FaultMatch::GetStock, Fault::Delay(Duration::ZERO));
    for _ in 0..4 {
        h.sim_handle
            .push_fault(FaultMatch::GetStock, Fault::Status500);
    }
    h.line("bob: react ✅ last").await;
    assert_eq!(h.state(&id), RequestState::Submitting);
    assert_eq!(h.sim_handle.applied_count(), 0);
    h.line("dave: /budget pending").await;
    assert_eq!(h.state(&id), RequestState::Applied);
    assert_eq!(h.sim_handle.applied_count(), 1);
    let calls = h.update_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].body, calls[1].body, "byte-identical body");
    assert_eq!(calls[0].out_request_no, calls[1].out_request_no);
}

/// A verified 200 that does not show the target is not a success: the stock decides. Here the
/// server acknowledged without changing anything, so the request failed and nothing moved.
#[tokio::test]
async fn an_answer_without_the_target_is_not_applied_when_the_stock_is_unchanged() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    h.sim_handle
        .push_fault(FaultMatch::UpdateBudget, Fault::IgnoreAndAnswerStock);
    let events = h.line("bob: react ✅ last").await;
    assert_eq!(h.sim_handle.applied_count(), 0);
    assert!(notices_in(&events, "Applied").is_empty(), "{events:?}");
    assert_eq!(h.state(&id), RequestState::Failed);
    assert_eq!(h.daily_limit("123"), Some(10_000));
}

/// The change happened, but the verified answer does not show it: it shows the stock as it was
/// before, or it is about another stock (124, daily limit 500). Applied, confirmed by
/// re-reading, and the notice and stored result show stock 123's new value, not the answer's.
#[tokio::test]
async fn an_answer_that_does_not_show_a_change_that_happened_is_confirmed_by_rereading() {
    for fault in [Fault::AnswerBefore, Fault::OtherStock] {
        let h = harness().await;
        let id = request_daily(&h, "20000").await;
        h.sim_handle
            .push_fault(FaultMatch::UpdateBudget, fault.clone());
        let events = h.line("bob: react ✅ last").await;
        assert_eq!(h.sim_handle.applied_count(), 1, "{fault:?}");
        let applied = notices_in(&events, "Applied");
        assert_eq!(applied.len(), 1, "{fault:?}: {events:?}");
        assert!(
            applied[0].contains("daily limit 20,000"),
            "{fault:?}: {}",
            applied[0]
        );
        let stored = h.store.get(&id).unwrap().unwrap();
        assert_eq!(stored.state, RequestState::Applied, "{fault:?}");
        assert_eq!(stored.result.unwrap().max_count_per_day, Some(20_000));
        assert!(
            stored
                .outcome_detail
                .unwrap()
                .contains("confirmed by re-reading"),
            "{fault:?}"
        );
    }
}

/// Every event's text is short and free of control and bidi characters (its own line breaks
/// aside).
fn assert_all_bounded(events: &[serde_json::Value]) {
    let unsafe_char = |c: char| c != '\n' && budget_bot::domain::text::is_unsafe_char(c);
    for event in events {
        let text = event["text"].as_str().unwrap();
        assert!(
            text.chars().count() < 2_000,
            "{} event of {} characters",
            event["event"],
            text.chars().count()
        );
        assert!(
            !text.chars().any(unsafe_char),
            "{} event carries control or bidi characters: {text:?}",
            event["event"]
        );
    }
}

/// Issue 7: a 1 MB error message with NUL and U+202E from the API lands in the card, the notice,
/// the reply and the audit log bounded, marked as cut, and stripped.
#[tokio::test]
async fn a_huge_api_error_message_is_echoed_bounded_everywhere() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    let message = format!("\u{202E}refused\u{0}{}", "y".repeat(1_000_000));
    let body = serde_json::json!({"code": "INVALID_REQUEST", "message": message}).to_string();
    h.sim_handle.push_fault(
        FaultMatch::UpdateBudget,
        Fault::Answer(CannedAnswer::api(400, body)),
    );
    let events = h.line("bob: react ✅ last").await;
    assert_eq!(h.state(&id), RequestState::Failed);
    assert_all_bounded(&events);
    let failed = notices_in(&events, "Failed");
    assert_eq!(failed.len(), 1, "{events:?}");
    assert!(
        failed[0].contains("refused") && failed[0].contains("[cut:"),
        "{}",
        failed[0]
    );
    let card = of(&events, "card_update").last().unwrap()["text"]
        .as_str()
        .unwrap();
    assert!(card.contains("[cut:"), "{card}");
    assert!(ephemeral_to(&events, "bob").contains("[cut:"));
    let history = h.line("dave: /budget history 123 1").await;
    assert_all_bounded(&history);
}

/// A gateway 502 with an empty body, on every attempt: the failure says "no message".
#[tokio::test]
async fn an_empty_gateway_answer_says_no_message() {
    let h = harness().await;
    let id = request_daily(&h, "20000").await;
    for _ in 0..4 {
        h.sim_handle.push_fault(
            FaultMatch::UpdateBudget,
            Fault::Answer(CannedAnswer::gateway(502, "")),
        );
    }
    h.line("bob: react ✅ last").await;
    let stored = h.store.get(&id).unwrap().unwrap();
    assert_eq!(stored.state, RequestState::Failed);
    let detail = stored.outcome_detail.unwrap();
    assert!(
        detail.contains("WeChat Pay answered 502 with no message (Request-ID none)"),
        "{detail}"
    );
}

/// A stock whose state (from the API) carries NUL, U+202E and a megabyte is shown bounded.
#[tokio::test]
async fn show_bounds_and_strips_the_apis_text() {
    let h = harness().await;
    let mut stock = serde_json::to_value(h.sim_handle.stock("200000001", "123").unwrap()).unwrap();
    stock["state"] = format!("SEND\u{0}\u{202E}{}", "z".repeat(1_000_000)).into();
    h.sim_handle.push_fault(
        FaultMatch::GetStock,
        Fault::Answer(CannedAnswer::api(200, stock.to_string())),
    );
    let events = h.line("dave: /budget show 123").await;
    assert_all_bounded(&events);
    let reply = of(&events, "reply")[0]["text"].as_str().unwrap();
    assert!(reply.contains("SEND") && reply.contains("[cut:"), "{reply}");
}
