//! The Slack bot end to end: the real slack-morphism client (Web API and Socket Mode) against
//! a fake Slack, with the WeChat Pay simulator behind the bot over real HTTP.
#![cfg(feature = "slack")]

mod common;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use budget_bot::app::SystemClock;
use budget_bot::bootstrap::start_slack;
use budget_bot::chat::slack::{RunningSlack, Secret, SlackSettings, SlackTokens};
use budget_bot::config::{Config, SlackConfig, SlackMode};
use budget_bot::domain::request::RequestState;
use budget_bot::sim::Simulator;
use budget_bot::store::Store;
use serde_json::Value;
use support::fake_slack::{
    blocks_text, buttons, FakeSlack, ALICE, APPROVALS, APPROVERS, BOB, BOT_USER, CAROL, DAVE,
    GENERAL, NOTIFICATIONS, REQUESTERS,
};

const WAIT: Duration = Duration::from_secs(15);

const BOT_TOKEN: &str = "xoxb-test-bot-token-0123456789";
const APP_TOKEN: &str = "xapp-test-app-token-9876543210";
const SIGNING_SECRET: &str = "test-signing-secret-abcdef";

struct World {
    fake: FakeSlack,
    sim: Simulator,
    store: Store,
    config: Config,
    _dir: tempfile::TempDir,
}

fn slack_config(fake: &FakeSlack) -> SlackConfig {
    SlackConfig {
        bot_token_path: None,
        app_token_path: None,
        signing_secret_path: None,
        mode: SlackMode::Socket,
        listen: None,
        approvals_channel_id: APPROVALS.into(),
        notifications_channel_id: NOTIFICATIONS.into(),
        requester_group_ids: vec![REQUESTERS.into()],
        approver_group_ids: vec![APPROVERS.into()],
        requester_user_ids: vec![],
        approver_user_ids: vec![],
        api_base_url: Some(fake.api_base_url()),
    }
}

fn tokens() -> SlackTokens {
    SlackTokens {
        bot: Secret::new(BOT_TOKEN),
        app: Some(Secret::new(APP_TOKEN)),
        signing_secret: Some(Secret::new(SIGNING_SECRET)),
    }
}

impl World {
    async fn new() -> World {
        let fake = FakeSlack::start().await;
        let sim = common::start_sim().await;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let config = Config {
            slack: Some(slack_config(&fake)),
            ..common::bare_config()
        };
        World {
            fake,
            sim,
            store,
            config,
            _dir: dir,
        }
    }

    fn settings(&self) -> SlackSettings {
        SlackSettings::from_config(self.config.slack.as_ref().unwrap()).unwrap()
    }

    /// Starts a bot and waits for its Socket Mode connection.
    async fn start_bot(&self) -> RunningSlack {
        self.start_with(self.settings()).await
    }

    async fn start_with(&self, settings: SlackSettings) -> RunningSlack {
        let socket = settings.mode == SlackMode::Socket;
        let bot = start_slack(
            &self.config,
            settings,
            &tokens(),
            Arc::new(common::client(self.sim.base_url())),
            self.store.clone(),
            Arc::new(SystemClock),
        )
        .await
        .expect("bot starts");
        if socket {
            let connection = bot.connection();
            self.fake
                .wait_until("the Socket Mode hello", WAIT, |f| {
                    f.connections() > 0 && connection.is_connected()
                })
                .await;
        }
        bot
    }

    fn update_calls(&self) -> usize {
        self.sim.handle().update_budget_requests().len()
    }

    /// The cards: the approvals channel's messages that are not replies in a thread.
    fn cards(&self) -> Vec<Value> {
        let mut cards = self.fake.messages_in(APPROVALS);
        cards.retain(|m| m["thread_ts"].is_null());
        cards
    }

    fn card(&self) -> Value {
        let cards = self.cards();
        assert_eq!(cards.len(), 1, "one card: {cards:?}");
        cards[0].clone()
    }

    fn ts(&self) -> String {
        self.card()["ts"].as_str().unwrap().to_string()
    }

    /// The answer posted to the command's `response_url`.
    async fn answer(&self, envelope: &str) -> Value {
        self.fake
            .wait_until("the command's answer", WAIT, |f| {
                !f.responses_to(envelope).is_empty()
            })
            .await;
        self.fake.responses_to(envelope)[0].0.clone()
    }

    /// Alice requests a new daily limit for stock 123; the card and its reactions appear.
    async fn request_daily(&self, who: &str, target: i64) -> String {
        let envelope = self.fake.command(
            who,
            GENERAL,
            &format!("set-daily 123 {target} weekend push"),
        );
        let answer = self.answer(&envelope).await;
        assert_eq!(answer["response_type"], "ephemeral", "{answer}");
        let text = answer["text"].as_str().unwrap();
        assert!(
            text.contains("https://fake.slack.com/archives/C0APPROVALS/p"),
            "the requester gets a link to the card: {text}"
        );
        self.fake
            .wait_until("the card's two reactions", WAIT, |f| {
                f.messages_in(APPROVALS)
                    .first()
                    .map(|m| f.reactions_on(APPROVALS, m["ts"].as_str().unwrap()).len() == 2)
                    .unwrap_or(false)
            })
            .await;
        self.ts()
    }

    fn state(&self) -> RequestState {
        self.store.last().unwrap().expect("a request").state
    }

    async fn wait_state(&self, state: RequestState) {
        let deadline = Instant::now() + WAIT;
        while self.store.last().unwrap().map(|r| r.state) != Some(state) {
            assert!(Instant::now() < deadline, "timed out waiting for {state}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The card's text once `pred` holds for it.
    async fn card_when(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.fake
            .wait_until(what, WAIT, |f| {
                f.messages_in(APPROVALS)
                    .first()
                    .map(|m| pred(&blocks_text(m)))
                    .unwrap_or(false)
            })
            .await;
        blocks_text(&self.card())
    }

    /// Dave (in neither group) reacts ✅ on the card `ts`; returns the reason he is told.
    async fn dave_reacts(&self, ts: &str) -> String {
        self.fake
            .react(DAVE, APPROVALS, ts, "white_check_mark", "Ev-dave");
        self.fake
            .wait_until("Dave's ephemeral reason", WAIT, |f| {
                !f.ephemerals_to(DAVE).is_empty()
            })
            .await;
        self.fake.ephemerals_to(DAVE)[0].clone()
    }

    /// Waits for a notice whose blocks contain `needle`.
    async fn wait_notice(&self, what: &str, needle: &str) {
        self.fake
            .wait_until(what, WAIT, |f| {
                f.messages_in(NOTIFICATIONS)
                    .iter()
                    .any(|m| blocks_text(m).contains(needle))
            })
            .await;
    }

    fn notifications(&self) -> Vec<String> {
        self.fake
            .messages_in(NOTIFICATIONS)
            .iter()
            .map(|m| format!("{}\n{}", m["text"].as_str().unwrap_or(""), blocks_text(m)))
            .collect()
    }

    /// Waits until every envelope sent so far is acked, and returns each one's ack delay.
    async fn acked(&self, envelope: &str) -> Duration {
        self.fake
            .wait_until("the envelope's ack", WAIT, |f| {
                f.envelope(envelope).acked_at.is_some()
            })
            .await;
        let e = self.fake.envelope(envelope);
        e.acked_at.unwrap().duration_since(e.sent[0])
    }
}

/// With `[display] language = "zh-CN"`, the card (text, buttons, hint), the `show` fields
/// and the applied notice's fields are in Chinese, with no English label left.
#[tokio::test]
async fn a_chinese_team_sees_chinese_cards_and_fields() {
    let mut w = World::new().await;
    w.config.display.language = budget_bot::config::Language::ZhCn;
    let bot = w.start_bot().await;
    let ts = w.request_daily(ALICE, 20_000).await;
    let card = w.card();
    let why = w.dave_reacts(&ts).await;
    assert!(
        why.starts_with("你的") && why.contains("无效") && !why.contains("did not count"),
        "{why}"
    );
    let shown = buttons(&card);
    let labels: Vec<&str> = shown
        .iter()
        .map(|b| b["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["批准", "驳回"], "{card}");
    let text = blocks_text(&card);
    for part in ["批次", "每日发放次数上限", "点击批准或驳回"] {
        assert!(text.contains(part), "{part} on the card: {text}");
    }
    for english in [
        "Approve",
        "Reject",
        "Stock",
        "Requested",
        "react",
        "Expires",
    ] {
        assert!(!text.contains(english), "{english} on the card: {text}");
    }

    let envelope = w.fake.command(DAVE, GENERAL, "show 123");
    let text = blocks_text(&w.answer(&envelope).await);
    for part in [
        "每日发放次数上限",
        "当天已发放次数",
        "已发放总次数",
        "批次状态",
        "当天剩余",
    ] {
        assert!(text.contains(part), "{part} in show: {text}");
    }
    for english in ["limit", "Sent", "State", "Left", "Per user"] {
        assert!(!text.contains(english), "{english} in show: {text}");
    }

    let click = w.fake.click(BOB, &card, "approve");
    w.acked(&click).await;
    w.wait_state(RequestState::Applied).await;
    w.wait_notice("the applied notice", "当天已发放次数").await;
    let notices = w.notifications().join("\n");
    for english in ["Total limit", "Daily limit", "Sent", "State"] {
        assert!(
            !notices.contains(english),
            "{english} in notices: {notices}"
        );
    }
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn show_answers_in_the_channel_with_blocks() {
    let w = World::new().await;
    let bot = w.start_bot().await;
    let envelope = w.fake.command(DAVE, GENERAL, "show 123");
    let answer = w.answer(&envelope).await;
    assert!(w.acked(&envelope).await < Duration::from_secs(3));
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let blocks = answer["blocks"].as_array().expect("Block Kit blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert!(blocks[0]["text"]["text"].as_str().unwrap().contains("123"));
    let text = blocks_text(&answer);
    for field in [
        "Daily limit",
        "Total limit",
        "Sent today",
        "Sent in total",
        "State",
    ] {
        assert!(text.contains(field), "{field} in {text}");
    }
    assert!(
        answer["text"].as_str().unwrap().contains("123"),
        "a plain-text fallback"
    );
    // The ack carries no payload: the answer is the response_url's.
    let ack = w.fake.envelope(&envelope).ack.unwrap();
    assert!(ack.get("payload").is_none(), "{ack}");

    // A refusal is ephemeral.
    let envelope = w.fake.command(DAVE, GENERAL, "show 999");
    let answer = w.answer(&envelope).await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    assert!(answer.get("blocks").is_none());
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_posts_a_card_with_buttons_and_reactions_and_a_button_approves_it() {
    let w = World::new().await;
    let bot = w.start_bot().await;
    let ts = w.request_daily(ALICE, 20_000).await;
    let card = w.card();
    let text = blocks_text(&card);
    for part in [
        "Stock: Spring sale (123)",
        "<@U0ALICE>",
        "weekend push",
        "<!subteam^S0APP>",
        "<!date^",
        "+",
    ] {
        assert!(text.contains(part), "{part} on the card: {text}");
    }
    let shown = buttons(&card);
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[0]["style"], "primary");
    assert_eq!(shown[1]["style"], "danger");
    let id = w.store.last().unwrap().unwrap().id.to_string();
    assert_eq!(shown[0]["value"], id.as_str());
    assert!(shown[0]["action_id"].as_str().unwrap().contains(&id));
    let reactions = w.fake.reactions_on(APPROVALS, &ts);
    assert!(reactions.contains(&("white_check_mark".into(), BOT_USER.into())));
    assert!(reactions.contains(&("x".into(), BOT_USER.into())));
    let notices = w.notifications();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("<@U0ALICE> requests daily limit")),
        "the request is announced: {notices:?}"
    );

    let click = w.fake.click(BOB, &card, "approve");
    assert!(w.acked(&click).await < Duration::from_secs(3));
    w.wait_state(RequestState::Applied).await;
    let text = w
        .card_when("the card shows Applied", |t| {
            t.contains("Applied by <@U0BOB>")
        })
        .await;
    assert!(
        buttons(&w.card()).is_empty(),
        "no buttons once decided: {text}"
    );
    assert_eq!(w.update_calls(), 1);
    assert_eq!(w.sim.handle().applied_count(), 1);
    w.wait_notice("the applied notice", "Sent in total").await;
    bot.shutdown().await.unwrap();
}

/// The replies in the thread of the card `ts`.
fn thread_replies(fake: &FakeSlack, ts: &str) -> Vec<String> {
    fake.messages_in(APPROVALS)
        .iter()
        .filter(|m| m["thread_ts"] == ts)
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_reminder_replies_on_the_card_mentioning_the_approver_groups_once() {
    let mut w = World::new().await;
    w.config.approval.remind_after = Some(Duration::from_secs(1));
    let bot = w.start_bot().await;
    let ts = w.request_daily(ALICE, 20_000).await;
    let id = w.store.last().unwrap().unwrap().id.to_string();
    w.fake
        .wait_until("the reminder", WAIT, |f| !thread_replies(f, &ts).is_empty())
        .await;
    let reminder = &thread_replies(&w.fake, &ts)[0];
    assert!(
        reminder.starts_with(&format!("<!subteam^{APPROVERS}>")) && reminder.contains(&id),
        "the approver group is mentioned: {reminder}"
    );

    let click = w.fake.click(BOB, &w.card(), "approve");
    w.acked(&click).await;
    w.wait_state(RequestState::Applied).await;
    assert_eq!(thread_replies(&w.fake, &ts).len(), 1, "reminded once");
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_reaction_from_an_approver_approves_once_and_other_reactions_do_nothing() {
    // The bot runs on this test's thread (current-thread runtime): its logs are captured.
    let logs = common::Logs::capture("budget_bot=info");
    let w = World::new().await;
    let bot = w.start_bot().await;
    let ts = w.request_daily(ALICE, 20_000).await;

    // The bot's own ✅, a ✅ on another message, and a 👍 on the card change nothing.
    let own = w
        .fake
        .react(BOT_USER, APPROVALS, &ts, "white_check_mark", "Ev-own");
    let elsewhere = w.fake.react(
        BOB,
        GENERAL,
        "1600000000.000100",
        "white_check_mark",
        "Ev-elsewhere",
    );
    let thumbs = w.fake.react(BOB, APPROVALS, &ts, "thumbsup", "Ev-thumbs");
    for e in [&own, &elsewhere, &thumbs] {
        w.acked(e).await;
    }
    // Dave is in neither group: refused, told why, privately.
    assert!(w.dave_reacts(&ts).await.contains("did not count"));
    assert_eq!(w.state(), RequestState::Pending);
    assert!(w.fake.ephemerals_to(BOT_USER).is_empty());
    assert!(
        w.fake.ephemerals_to(BOB).is_empty(),
        "nothing said about reactions elsewhere"
    );

    // Bob's ✅, delivered twice (Slack did not see the ack), decides once.
    let first = w
        .fake
        .react(BOB, APPROVALS, &ts, "white_check_mark", "Ev-bob");
    w.acked(&first).await;
    w.fake.redeliver(&first);
    w.wait_state(RequestState::Applied).await;
    w.fake
        .wait_until("the redelivery's ack", WAIT, |f| {
            f.envelope(&first).sent.len() == 2
        })
        .await;
    // A later delivery with the same event id (a new envelope) is not acted on either.
    let again = w
        .fake
        .react(BOB, APPROVALS, &ts, "white_check_mark", "Ev-bob");
    w.acked(&again).await;
    w.card_when("the card shows Applied", |t| t.contains("Applied"))
        .await;
    // Both later deliveries were recognised and dropped, not decided again (which would have
    // told Bob his ✅ "did not count").
    w.fake
        .wait_until("both repeats dropped", WAIT, |_| {
            logs.text().matches("already handled").count() == 2
        })
        .await;
    assert!(
        w.fake.ephemerals_to(BOB).is_empty(),
        "{:?}",
        w.fake.ephemerals_to(BOB)
    );
    assert_eq!(w.update_calls(), 1);
    let approvals = w.store.last().unwrap().unwrap().approvals;
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    assert_eq!(
        w.store
            .audit_entries(None)
            .unwrap()
            .iter()
            .filter(|e| e.action == "approved")
            .count(),
        1
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn self_approval_and_non_members_are_refused_with_a_reason() {
    let w = World::new().await;
    let bot = w.start_bot().await;
    // Carol may request and approve, but not her own request.
    w.request_daily(CAROL, 20_000).await;
    let card = w.card();
    w.fake.click(CAROL, &card, "approve");
    w.fake
        .wait_until("Carol's ephemeral reason", WAIT, |f| {
            !f.ephemerals_to(CAROL).is_empty()
        })
        .await;
    let said = w.fake.ephemerals_to(CAROL)[0].to_lowercase();
    assert!(said.contains("you requested this change"), "{said}");
    w.fake.click(DAVE, &card, "approve");
    w.fake
        .wait_until("Dave's ephemeral reason", WAIT, |f| {
            !f.ephemerals_to(DAVE).is_empty()
        })
        .await;
    // Dave asks to request: refused, ephemeral.
    let envelope = w.fake.command(DAVE, GENERAL, "set-daily 123 30000");
    let answer = w.answer(&envelope).await;
    assert_eq!(answer["response_type"], "ephemeral");
    assert_eq!(w.state(), RequestState::Pending);
    assert_eq!(w.update_calls(), 0);

    // Dave joins the approvers: the cached membership is re-read before a refusal.
    w.fake.set_group(APPROVERS, &[BOB, DAVE]);
    w.fake.click(DAVE, &card, "approve");
    w.wait_state(RequestState::Applied).await;
    assert_eq!(w.update_calls(), 1);
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn slow_wechat_pay_still_gets_every_envelope_acked_in_time() {
    let w = World::new().await;
    let bot = w.start_bot().await;
    w.sim.handle().set_latency(Duration::from_secs(4));
    let envelope = w.fake.command(BOB, GENERAL, "show 123");
    assert!(w.acked(&envelope).await < Duration::from_secs(3));
    let (_, answered_at) = {
        w.answer(&envelope).await;
        w.fake.responses_to(&envelope)[0].clone()
    };
    let e = w.fake.envelope(&envelope);
    assert!(answered_at.duration_since(e.sent[0]) >= Duration::from_secs(4));
    assert_eq!(e.sent.len(), 1, "acked in time: never redelivered");
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_button_works_after_a_restart() {
    let w = World::new().await;
    let bot = w.start_bot().await;
    w.request_daily(ALICE, 20_000).await;
    let card = w.card();
    bot.shutdown().await.unwrap();

    let bot = w.start_bot().await;
    w.fake.click(BOB, &card, "approve");
    w.wait_state(RequestState::Applied).await;
    w.card_when("the card shows Applied", |t| t.contains("Applied"))
        .await;
    assert_eq!(w.update_calls(), 1);
    bot.shutdown().await.unwrap();
}

/// `v0=` + hex(HMAC-SHA256(secret, `v0:{ts}:{body}`)), as Slack signs.
fn sign(secret: &str, ts: &str, body: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!(
        "v0={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

#[tokio::test]
async fn http_mode_checks_every_signature_and_acts_once_per_event() {
    let w = World::new().await;
    let mut settings = w.settings();
    settings.mode = SlackMode::Http;
    settings.listen = Some("127.0.0.1:0".parse().unwrap());
    let bot = w.start_with(settings).await;
    let base = format!("http://{}", bot.local_addr().unwrap());
    let http = reqwest::Client::new();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string()
    };
    let post = |path: &str, body: String, ts: String, signature: Option<String>| {
        let mut request = http
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts);
        if let Some(signature) = signature {
            request = request.header("x-slack-signature", signature);
        }
        request.body(body).send()
    };
    let command = |text: &str| {
        serde_urlencoded::to_string([
            ("team_id", "T0FAKE"),
            ("channel_id", GENERAL),
            ("user_id", ALICE),
            ("command", "/budget"),
            ("text", text),
            ("response_url", "http://127.0.0.1:9/unused"),
            ("trigger_id", "t"),
        ])
        .unwrap()
    };

    // Bad signature, missing signature, stale timestamp: 401, nothing done.
    let body = command("set-daily 123 20000 push");
    let ts = now();
    let bad = post(
        "/slack/commands",
        body.clone(),
        ts.clone(),
        Some(sign("wrong", &ts, &body)),
    );
    assert_eq!(bad.await.unwrap().status(), 401);
    let missing = post("/slack/commands", body.clone(), ts.clone(), None);
    assert_eq!(missing.await.unwrap().status(), 401);
    let old = (now().parse::<u64>().unwrap() - 600).to_string();
    let stale = post(
        "/slack/commands",
        body.clone(),
        old.clone(),
        Some(sign(SIGNING_SECRET, &old, &body)),
    );
    assert_eq!(stale.await.unwrap().status(), 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(w.store.last().unwrap().is_none(), "nothing was requested");
    assert!(w.cards().is_empty());

    // A good signature: 200, and the request is made.
    let good = post(
        "/slack/commands",
        body.clone(),
        ts.clone(),
        Some(sign(SIGNING_SECRET, &ts, &body)),
    );
    assert_eq!(good.await.unwrap().status(), 200);
    w.fake
        .wait_until("the card", WAIT, |f| {
            f.messages_in(APPROVALS)
                .first()
                .map(|m| f.reactions_on(APPROVALS, m["ts"].as_str().unwrap()).len() == 2)
                .unwrap_or(false)
        })
        .await;
    let ts_card = w.ts();

    // url_verification is answered.
    let check =
        serde_json::json!({"type": "url_verification", "challenge": "abc123", "token": "x"})
            .to_string();
    let t = now();
    let answer = http
        .post(format!("{base}/slack/events"))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", &t)
        .header("x-slack-signature", sign(SIGNING_SECRET, &t, &check))
        .body(check.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(answer["challenge"], "abc123");

    // Bob's ✅ event, delivered and then retried: both acknowledged, one decision.
    let event = support::fake_slack::reaction_event(
        BOB,
        APPROVALS,
        &ts_card,
        "white_check_mark",
        "Ev-http-1",
    )
    .to_string();
    for retry in ["", "1"] {
        let t = now();
        let mut request = http
            .post(format!("{base}/slack/events"))
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", &t)
            .header("x-slack-signature", sign(SIGNING_SECRET, &t, &event));
        if !retry.is_empty() {
            request = request.header("x-slack-retry-num", retry);
        }
        assert_eq!(
            request.body(event.clone()).send().await.unwrap().status(),
            200
        );
    }
    w.wait_state(RequestState::Applied).await;
    w.card_when("the card shows Applied", |t| t.contains("Applied"))
        .await;
    assert_eq!(w.update_calls(), 1);
    assert_eq!(w.store.last().unwrap().unwrap().approvals.len(), 1);
    bot.shutdown().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn tokens_and_the_signing_secret_never_appear_in_logs() {
    let buffer = common::Logs::capture("trace");

    let w = World::new().await;
    let bot = w.start_bot().await;
    w.request_daily(ALICE, 20_000).await;
    let card = w.card();
    w.fake.click(BOB, &card, "approve");
    w.wait_state(RequestState::Applied).await;
    // A bad signature in http mode is logged too.
    bot.shutdown().await.unwrap();

    let logs = buffer.text();
    assert!(
        logs.contains("slack"),
        "trace logs were captured: {} bytes",
        logs.len()
    );
    for secret in [BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, "xoxb-", "xapp-"] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
    // Every call carried the bot token (the fake saw it; the logs did not).
    let calls = w.fake.calls_to("chat.postMessage");
    assert!(calls
        .iter()
        .all(|c| c.authorization.as_deref() == Some(&format!("Bearer {BOT_TOKEN}") as &str)));
}

#[tokio::test]
async fn check_config_live_checks_the_slack_token_channels_and_groups() {
    let w = World::new().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bot-token"), BOT_TOKEN).unwrap();
    std::fs::write(dir.path().join("app-token"), APP_TOKEN).unwrap();
    let section = |channel: &str, group: &str| {
        format!(
            "\n[slack]\nbot_token_path = \"bot-token\"\napp_token_path = \"app-token\"\n\
             approvals_channel_id = \"{channel}\"\nnotifications_channel_id = \"{NOTIFICATIONS}\"\n\
             requester_group_ids = [\"{REQUESTERS}\"]\napprover_group_ids = [\"{group}\"]\n\
             api_base_url = \"{}\"\n",
            w.fake.api_base_url()
        )
    };
    let path = common::write_config(
        dir.path(),
        &w.sim.base_url(),
        &section(APPROVALS, APPROVERS),
    );
    let report = budget_bot::ops::check::check_config(&path, true).await;
    let text = report.text();
    for line in [
        "ok live slack token",
        "ok live slack.approvals_channel_id",
        "ok live slack.notifications_channel_id",
        "ok live slack.requester_group_ids[0]",
        "ok live slack.approver_group_ids[0]",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    assert!(!text.contains(BOT_TOKEN) && !text.contains(APP_TOKEN));
    assert_eq!(w.fake.calls_to("auth.test").len(), 1);

    let path = common::write_config(
        dir.path(),
        &w.sim.base_url(),
        &section("C0MISSING", "S0NOPE"),
    );
    let text = budget_bot::ops::check::check_config(&path, true)
        .await
        .text();
    assert!(
        text.contains("FAIL live slack.approvals_channel_id"),
        "{text}"
    );
    assert!(
        text.contains("FAIL live slack.approver_group_ids[0]"),
        "{text}"
    );
    assert!(text.contains("S0NOPE"), "{text}");
}
