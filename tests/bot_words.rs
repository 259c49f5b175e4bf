//! The bot's words, asserted as text: the README's demo as a console transcript, an approval
//! card at each state, and every refusal. Snapshots live in `tests/snapshots/`; a changed word
//! fails here until the new snapshot is reviewed (`cargo insta review`) and committed. Request
//! ids and API Request-IDs differ on every run and are replaced by stable names.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use budget_bot::app::{messages, App, Denial, ManualClock};
use budget_bot::bootstrap::{demo_stocks, demo_users};
use budget_bot::chat::console::{Console, ConsoleNotifier, Output};
use budget_bot::config::ApprovalConfig;
use budget_bot::domain::budget::ChangeRefusal;
use budget_bot::domain::policy::DenyReason;
use budget_bot::domain::request::{
    ActorRef, Approval, ChangeRequest, RequestState, StockSummary, Via,
};
use budget_bot::i18n::{Lang, Message};
use budget_bot::sim::{seeded_stocks, Fault, FaultMatch};
use budget_bot::store::Store;
use budget_bot::wechatpay::ApiError;
use common::{Buffer, Harness};

/// Every request id in `text` (the ids the store holds) becomes `<request-N>` in order of first
/// appearance, and every API `Request-ID` becomes `<api-request-id>`.
fn normalise(text: &str, store: &Store) -> String {
    let all = [
        RequestState::Pending,
        RequestState::Approved,
        RequestState::Submitting,
        RequestState::Applied,
        RequestState::Rejected,
        RequestState::Expired,
        RequestState::Cancelled,
        RequestState::Stale,
        RequestState::Failed,
    ];
    let mut ids: Vec<(usize, String)> = store
        .in_state(&all)
        .unwrap()
        .into_iter()
        .filter_map(|r| text.find(r.id.as_str()).map(|at| (at, r.id.to_string())))
        .collect();
    ids.sort();
    let mut text = text.to_string();
    for (n, (_, id)) in ids.iter().enumerate() {
        text = text.replace(id.as_str(), &format!("<request-{}>", n + 1));
    }
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("Request-ID ") {
        let (before, after) = rest.split_at(at + "Request-ID ".len());
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || c == ')' || c == ']')
            .unwrap_or(after.len());
        out.push_str(if after[..end].is_empty() || &after[..end] == "none" {
            &after[..end]
        } else {
            "<api-request-id>"
        });
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// The README's demo, typed into the console the demo runs (its users and stocks) speaking
/// `lang`, read as a person reads it.
async fn demo_transcript(lang: Lang) -> String {
    let sim = common::start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let buffer = Buffer::default();
    let out = Arc::new(Output::new(false, Box::new(buffer.clone())).with_lang(lang));
    let app = Arc::new(App::new(
        demo_stocks(&seeded_stocks()),
        ApprovalConfig::default(),
        Arc::new(common::client(sim.base_url())),
        store.clone(),
        Arc::new(ConsoleNotifier::new(out.clone(), &demo_users()).with_lang(lang)),
        Arc::new(ManualClock::new(common::T0)),
    ));
    let console = Console::new(app, demo_users(), out).with_lang(lang);
    let mut transcript = String::new();
    for line in [
        "alice: /budget show 123",
        "alice: /budget set-daily 123 20000 weekend push",
        "bob: react ✅ last",
        "dave: /budget history 123",
    ] {
        console.handle_line(line).await;
        let said = String::from_utf8(std::mem::take(&mut *buffer.0.lock().unwrap())).unwrap();
        transcript.push_str(&format!("> {line}\n{said}\n"));
    }
    normalise(&transcript, &store)
}

#[tokio::test]
async fn readme_demo_transcript() {
    insta::assert_snapshot!(demo_transcript(Lang::En).await);
}

#[tokio::test]
async fn readme_demo_transcript_zh_cn() {
    insta::assert_snapshot!(demo_transcript(Lang::ZhCn).await);
}

/// An approval card at each state in `lang`, as the console shows it (Discord shows the same
/// text with its own timestamp for the expiry).
async fn cards(lang: Lang) -> String {
    let h = Harness::new(2, Duration::from_secs(3600)).await;
    let events = h
        .line("alice: /budget set-daily 123 20000 weekend push")
        .await;
    let id = common::of(&events, "card")[0]["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let pending = h.store.get(&id).unwrap().unwrap();
    let bob = ActorRef {
        id: "console:bob".into(),
        display: "bob".into(),
    };
    // An outcome's reason as the app stores it: the message, and its English record.
    let stored = |r: &mut ChangeRequest, reason: Message| {
        r.outcome_detail = Some(reason.render(Lang::En));
        r.outcome_reason = Some(reason);
    };
    let with = |state: RequestState, change: &dyn Fn(&mut ChangeRequest)| {
        let mut request = pending.clone();
        request.state = state;
        if state != RequestState::Pending {
            request.decided_at = Some(common::T0 + 60);
        }
        change(&mut request);
        request
    };
    let approved_once = |r: &mut ChangeRequest| {
        r.approvals.push(Approval {
            by: bob.clone(),
            at: common::T0 + 30,
            via: Via::Reaction,
        })
    };
    let result = StockSummary {
        state: "SENDING".into(),
        max_count: Some(100_000),
        max_count_per_day: Some(20_000),
        sent_today: 310,
        sent_total: 4_200,
    };
    let cards = [
        with(RequestState::Pending, &|_| {}),
        with(RequestState::Pending, &approved_once),
        with(RequestState::Approved, &|r| {
            approved_once(r);
            r.decided_by = Some(bob.clone());
        }),
        with(RequestState::Submitting, &|r| {
            r.decided_by = Some(bob.clone())
        }),
        with(RequestState::Applied, &|r| {
            r.decided_by = Some(bob.clone());
            r.result = Some(result.clone());
            r.outcome_detail = Some("max_count_per_day is now 20,000".into());
        }),
        with(RequestState::Rejected, &|r| {
            r.decided_by = Some(bob.clone())
        }),
        with(RequestState::Cancelled, &|r| {
            r.decided_by = Some(r.requester.clone())
        }),
        with(RequestState::Expired, &|_| {}),
        with(RequestState::Stale, &|r| {
            stored(r, messages::stale_detail(Some(12_000), r));
        }),
        with(RequestState::Failed, &|r| {
            let error = ApiError::Api {
                status: 400,
                code: "INVALID_REQUEST".into(),
                message: "bad".into(),
                detail: None,
                request_id: Some("x1".into()),
            };
            stored(r, messages::api_error_detail(&error));
        }),
        // Stored before reasons were messages: the English record is all there is.
        with(RequestState::Failed, &|r| {
            r.outcome_detail = Some("the live value is now 12,000".into())
        }),
        with(RequestState::Failed, &|_| {}),
    ];
    let text: Vec<String> = cards
        .iter()
        .map(|card| {
            format!(
                "== {} ==\n{}\n",
                card.state,
                messages::card_text(lang, card, "bob, carol")
            )
        })
        .collect();
    normalise(&text.join("\n"), &h.store)
}

#[tokio::test]
async fn a_card_at_each_state() {
    insta::assert_snapshot!(cards(Lang::En).await);
}

#[tokio::test]
async fn a_card_at_each_state_zh_cn() {
    insta::assert_snapshot!(cards(Lang::ZhCn).await);
}

/// What the bot answers to each input, one `> input` line and the replies it drew.
async fn replies(h: &Harness, lines: &[&str], transcript: &Mutex<String>) {
    for line in lines {
        let events = h.line(line).await;
        let mut text = transcript.lock().unwrap();
        text.push_str(&format!("> {line}\n"));
        for event in events.iter().filter(|e| e["event"] != "done") {
            let kind = event["event"].as_str().unwrap();
            if matches!(kind, "ephemeral" | "error") {
                text.push_str(&format!("{kind}: {}\n", event["text"].as_str().unwrap()));
            }
        }
    }
}

/// Every refusal the bot can give, each drawn from the console the way a person meets it,
/// except those no console line can reach (shown as the app words them).
#[tokio::test]
async fn every_denial() {
    let transcript = Mutex::new(String::new());
    let h = Harness::new(2, Duration::from_secs(600)).await;
    replies(
        &h,
        &[
            // No requests yet.
            "bob: react ✅ last",
            // The command grammar.
            "alice: /budget",
            "alice: /budget sho 123",
            "alice: /budget set-daily 123",
            "alice: /budget set-daily 123 many",
            "alice: /budget history 123 500",
            // The allow-list.
            "alice: /budget show 999",
            "alice: /budget show \"Sprng sale\"",
            // The API's rules on the live stock.
            "alice: /budget set-daily 125 20000",
            "alice: /budget set-daily 123 10000",
            "alice: /budget set-total 123 100",
            "alice: /budget set-daily 200 5000",
            // Roles and who decides what.
            "dave: /budget set-daily 123 20000",
            "alice: /budget set-daily 123 20000 weekend push",
            "dave: react ✅ last",
            "bob: react ✅ last",
            "bob: click approve last",
            "bob: /budget cancel last",
            "bob: react ✅ abcdefgh",
            // Decided already.
            "carol: react ✅ last",
            "carol: react ❌ last",
            // One's own request.
            "erin: /budget set-total 123 120000",
            "erin: react ✅ last",
            // The console's own input rules.
            "mallory: /budget pending",
            "bob: react 👍 last",
            "bob: click maybe last",
            "bob: hello",
            "no colon here",
        ],
        &transcript,
    )
    .await;
    // Too late: the sweep before the line expires it first.
    replies(&h, &["alice: /budget set-daily 123 30000"], &transcript).await;
    h.clock.advance(601);
    replies(&h, &["bob: react ✅ last"], &transcript).await;
    // WeChat Pay cannot be read (every attempt of the client fails).
    for _ in 0..8 {
        h.sim_handle
            .push_fault(FaultMatch::GetStock, Fault::Status500);
    }
    replies(
        &h,
        &[
            "alice: /budget show 123",
            "alice: /budget set-daily 123 20000",
        ],
        &transcript,
    )
    .await;
    h.sim_handle.clear_faults();
    let mut text = transcript.into_inner().unwrap();
    text.push_str("> (refusals no console line reaches: the grammar or a sweep comes first)\n");
    let unreachable = [
        Denial::Change(ChangeRefusal::AboveMaximum {
            target: 100_000_001,
        }),
        Denial::Change(ChangeRefusal::Negative { target: -5 }),
        Denial::Change(ChangeRefusal::CurrentUnknown),
        // A decision on an expired request that no sweep has reached yet.
        Denial::Policy(DenyReason::Expired {
            id: "k3m9x2ab".into(),
        }),
    ];
    for denial in unreachable {
        text.push_str(&format!(
            "ephemeral: {}\n",
            messages::denial(Lang::En, &denial)
        ));
    }
    insta::assert_snapshot!(normalise(&text, &h.store));
}
