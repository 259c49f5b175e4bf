//! Tiered approvals, hard limits, reminders, scheduled changes and burn alerts on Discord: the
//! real serenity client against the fake Discord, the simulator behind the bot over real
//! HTTP, and a manual clock the runtime's ticks read (sweeping every 50 ms of real time).

mod common;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use budget_bot::app::ManualClock;
use budget_bot::chat::discord::{DiscordSettings, RunningBot, Token};
use budget_bot::config::{ApprovalConfig, Config, WatchConfig};
use budget_bot::domain::policy::Tier;
use budget_bot::domain::request::RequestState;
use budget_bot::domain::stock::StockState;
use budget_bot::sim::Simulator;
use budget_bot::store::Store;
use serde_json::{json, Value};
use support::fake_discord::{
    FakeConfig, FakeDiscord, FakeMember, InteractionRef, ALICE_ID, APPROVALS_CHANNEL_ID,
    APPROVER_ROLE_ID, BOB_ID, NOTIFICATIONS_CHANNEL_ID,
};

const WAIT: Duration = Duration::from_secs(15);
const PC: &str = "200000001";
/// A second approver.
const DAVE_ID: u64 = 666_666_666_666_666_604;

struct World {
    fake: FakeDiscord,
    sim: Simulator,
    store: Store,
    config: Config,
    clock: Arc<ManualClock>,
    connections: std::sync::atomic::AtomicUsize,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new(approval: ApprovalConfig, watch: Option<WatchConfig>) -> World {
        let mut fake_config = FakeConfig::default();
        fake_config.members.push(FakeMember {
            user_id: DAVE_ID,
            name: "dave".into(),
            roles: vec![APPROVER_ROLE_ID],
        });
        let fake = FakeDiscord::start(fake_config).await;
        let sim = common::start_sim().await;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let config = Config {
            approval,
            watch,
            discord: Some(support::discord_config(&fake)),
            ..common::bare_config()
        };
        World {
            fake,
            sim,
            store,
            config,
            clock: Arc::new(ManualClock::new(common::T0)),
            connections: Default::default(),
            _dir: dir,
        }
    }

    /// Starts a bot on the world's store and clock; waits until its commands are registered.
    async fn start_bot(&self) -> RunningBot {
        let mut settings =
            DiscordSettings::from_config(self.config.discord.as_ref().unwrap()).unwrap();
        settings.sweep_interval = Duration::from_millis(50);
        let bot = budget_bot::bootstrap::start_discord_with(
            &self.config,
            settings,
            &Token::new("fake-token"),
            Arc::new(common::client(self.sim.base_url())),
            self.store.clone(),
            self.clock.clone(),
        )
        .await
        .expect("bot starts");
        let n = 1 + self
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.fake.wait_commands_registered(n, WAIT).await.unwrap();
        bot
    }

    fn update_calls(&self) -> usize {
        self.sim.handle().update_budget_requests().len()
    }

    fn stock_reads(&self) -> usize {
        self.sim
            .handle()
            .requests()
            .iter()
            .filter(|r| r.method == "GET")
            .count()
    }

    /// Bob asks for a daily limit of 123 with `extra` options; returns the interaction.
    async fn ask(&self, limit: i64, extra: Vec<(&str, Value)>) -> InteractionRef {
        let mut options = vec![("stock", json!("123")), ("limit", json!(limit))];
        options.extend(extra);
        self.fake
            .send_interaction_command(BOB_ID, "budget", "set-daily", options)
            .await
    }

    /// Bob's request appears as a card; returns the card's id and the reply to Bob.
    async fn request(&self, limit: i64, extra: Vec<(&str, Value)>) -> (u64, String) {
        let before = self.fake.messages_in(APPROVALS_CHANNEL_ID).len();
        let it = self.ask(limit, extra).await;
        let reply = self
            .reply_containing(&it, "Card: https://discord.com/")
            .await;
        self.fake
            .wait_until("the new card", WAIT, |f| {
                f.messages_in(APPROVALS_CHANNEL_ID).len() > before
            })
            .await
            .unwrap();
        let card = self.fake.messages_in(APPROVALS_CHANNEL_ID)[before].clone();
        (card["id"].as_str().unwrap().parse().unwrap(), reply)
    }

    async fn reply_containing(&self, it: &InteractionRef, needle: &str) -> String {
        self.fake
            .wait_until(needle, WAIT, |f| {
                f.original_response(it)
                    .and_then(|m| m["content"].as_str().map(|c| c.contains(needle)))
                    .unwrap_or(false)
            })
            .await
            .unwrap();
        self.fake.original_response(it).unwrap()["content"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn card_text(&self, card: u64) -> String {
        self.fake.message(card).unwrap()["embeds"][0]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn card_says(&self, card: u64, needle: &str) -> String {
        self.fake
            .wait_until(needle, WAIT, |f| {
                f.message(card)
                    .and_then(|m| {
                        m["embeds"][0]["description"]
                            .as_str()
                            .map(|d| d.contains(needle))
                    })
                    .unwrap_or(false)
            })
            .await
            .unwrap();
        self.card_text(card)
    }

    async fn click(&self, user: u64, card: u64, label: &str) -> InteractionRef {
        let message = self.fake.message(card).unwrap();
        let button = message["components"][0]["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["label"] == label)
            .unwrap()["custom_id"]
            .as_str()
            .unwrap()
            .to_string();
        self.fake.send_component_click(user, card, &button).await
    }

    /// Waits until request `id` is in `state` (the store has no change feed: polled).
    async fn wait_state(&self, id: &str, state: RequestState) {
        let deadline = Instant::now() + WAIT;
        loop {
            let now = self.store.get(id).unwrap().unwrap().state;
            if now == state {
                return;
            }
            assert!(Instant::now() < deadline, "{id} is {now}, not {state}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn only_request(&self) -> String {
        let all = self.store.all().unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].id.to_string()
    }

    /// Waits until the simulator has been read `more` times since it had been read `start`
    /// times: proof that the bot's ticks have run since (each watch reads every stock).
    async fn reads_after(&self, start: usize, more: usize) {
        let deadline = Instant::now() + WAIT;
        while self.stock_reads() < start + more {
            assert!(Instant::now() < deadline, "the bot stopped ticking");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Texts of the alert embeds in the notifications channel.
    fn alerts(&self) -> Vec<String> {
        self.fake
            .messages_in(NOTIFICATIONS_CHANNEL_ID)
            .iter()
            .filter_map(|m| m["embeds"][0]["description"].as_str().map(str::to_owned))
            .filter(|d| d.starts_with("Stock "))
            .collect()
    }

    async fn alert_count_reaches(&self, n: usize) -> Vec<String> {
        self.fake
            .wait_until("alerts", WAIT, |f| {
                f.messages_in(NOTIFICATIONS_CHANNEL_ID)
                    .iter()
                    .filter(|m| {
                        m["embeds"][0]["description"]
                            .as_str()
                            .is_some_and(|d| d.starts_with("Stock "))
                    })
                    .count()
                    >= n
            })
            .await
            .unwrap();
        self.alerts()
    }
}

fn tiered() -> ApprovalConfig {
    ApprovalConfig {
        tiers: vec![Tier {
            min_increase_percent: Some(50),
            min_increase: None,
            required_approvals: 2,
        }],
        ..ApprovalConfig::default()
    }
}

/// A watch every second of the app's clock: each advance of the clock makes the next tick
/// read every stock, which is how the tests know that a tick has run.
fn ticking() -> Option<WatchConfig> {
    Some(WatchConfig {
        interval: Duration::from_secs(1),
        ..WatchConfig::default()
    })
}

#[tokio::test]
async fn a_60_percent_raise_needs_two_approvers_and_a_10_percent_raise_one() {
    let w = World::new(tiered(), None).await;
    let bot = w.start_bot().await;
    let (card, reply) = w.request(16_000, vec![]).await;
    assert!(reply.contains("needs 2 approvals"), "{reply}");
    assert!(w.card_text(card).contains("Needs: 2 approvals"));

    let it = w.click(ALICE_ID, card, "Approve").await;
    w.reply_containing(&it, "1 of 2").await;
    let it = w.click(ALICE_ID, card, "Approve").await;
    w.reply_containing(&it, "already approved").await;
    let id = w.only_request();
    assert_eq!(w.store.get(&id).unwrap().unwrap().approvals.len(), 1);
    assert_eq!(w.update_calls(), 0);
    w.fake
        .send_reaction_add(DAVE_ID, APPROVALS_CHANNEL_ID, card, "✅")
        .await;
    w.card_says(card, "Status: Applied").await;
    assert_eq!(w.update_calls(), 1);

    let (card, reply) = w.request(16_500, vec![]).await;
    assert!(reply.contains("needs 1 approval "), "{reply}");
    w.click(ALICE_ID, card, "Approve").await;
    w.card_says(card, "Status: Applied").await;
    assert_eq!(w.update_calls(), 2);
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn changes_past_a_hard_limit_are_refused_with_the_limit_named() {
    let w = World::new(
        ApprovalConfig {
            max_target: Some(50_000),
            max_increase_percent: Some(100),
            ..ApprovalConfig::default()
        },
        None,
    )
    .await;
    let bot = w.start_bot().await;
    for (limit, named) in [(50_001, "max_target"), (20_001, "max_increase_percent")] {
        let it = w.ask(limit, vec![]).await;
        w.reply_containing(&it, named).await;
    }
    assert!(w.store.all().unwrap().is_empty());
    assert!(w.fake.messages_in(APPROVALS_CHANNEL_ID).is_empty());
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_reminder_replies_to_the_card_once_and_expiry_tells_the_requester() {
    let w = World::new(
        ApprovalConfig {
            remind_after: Some(Duration::from_secs(60)),
            ..ApprovalConfig::default()
        },
        None,
    )
    .await;
    let bot = w.start_bot().await;
    let (card, _) = w.request(11_000, vec![]).await;
    let id = w.only_request();
    w.clock.advance(60);
    let reminder = w
        .fake
        .wait_for_request(
            |r| {
                r.method == "POST"
                    && r.path == format!("/channels/{APPROVALS_CHANNEL_ID}/messages")
                    && r.body["content"]
                        .as_str()
                        .is_some_and(|c| c.contains("Reminder"))
            },
            WAIT,
        )
        .await
        .unwrap();
    let content = reminder.body["content"].as_str().unwrap();
    assert!(
        content.contains(&format!("<@&{APPROVER_ROLE_ID}>")) && content.contains(&id),
        "{content}"
    );
    assert_eq!(
        reminder.body["message_reference"]["message_id"],
        card.to_string(),
        "a reply to the card"
    );
    // Expiry comes in a later sweep: by then a second reminder would have been posted.
    w.clock.advance(3600);
    w.fake
        .wait_until("the expiry notice", WAIT, |f| {
            f.messages_in(NOTIFICATIONS_CHANNEL_ID).iter().any(|m| {
                m["content"].as_str() == Some(&format!("<@{BOB_ID}>"))
                    && m["embeds"][0]["description"]
                        .as_str()
                        .is_some_and(|d| d.contains(&id) && d.contains("expired"))
            })
        })
        .await
        .unwrap();
    let reminders = w
        .fake
        .requests()
        .iter()
        .filter(|r| {
            r.body["content"]
                .as_str()
                .is_some_and(|c| c.contains("Reminder"))
        })
        .count();
    assert_eq!(reminders, 1);
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_scheduled_raise_applies_once_at_its_time_across_a_restart() {
    let w = World::new(tiered(), ticking()).await;
    let bot = w.start_bot().await;
    let (card, reply) = w.request(11_000, vec![("at", json!("+5s"))]).await;
    assert!(reply.contains("then applies at"), "{reply}");
    assert!(w.card_text(card).contains("Applies at:"));
    let id = w.only_request();
    let it = w.click(ALICE_ID, card, "Approve").await;
    w.reply_containing(&it, "applies at").await;
    w.card_says(card, "Status: Approved").await;
    assert_eq!(
        w.store.get(&id).unwrap().unwrap().state,
        RequestState::Scheduled
    );
    let reads = w.stock_reads();
    w.clock.advance(4);
    w.reads_after(reads, 4).await;
    assert_eq!(w.update_calls(), 0, "nothing is sent before its time");
    bot.shutdown().await.unwrap();

    let reads = w.stock_reads();
    let bot = w.start_bot().await;
    w.reads_after(reads, 4).await;
    assert_eq!(w.update_calls(), 0, "nor after a restart");
    w.clock.advance(1);
    w.wait_state(&id, RequestState::Applied).await;
    w.card_says(card, "Status: Applied").await;
    let reads = w.stock_reads();
    w.clock.advance(1);
    w.reads_after(reads, 4).await;
    assert_eq!(w.update_calls(), 1, "applied exactly once");
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_cancelled_scheduled_request_is_never_applied_and_a_stale_one_not_sent() {
    let w = World::new(tiered(), ticking()).await;
    let bot = w.start_bot().await;
    let (card, _) = w.request(11_000, vec![("at", json!("+5s"))]).await;
    w.click(ALICE_ID, card, "Approve").await;
    w.card_says(card, "applies at").await;
    let it = w
        .fake
        .send_interaction_command(BOB_ID, "budget", "cancel", vec![("request", json!("last"))])
        .await;
    w.reply_containing(&it, "cancelled").await;
    let reads = w.stock_reads();
    w.clock.advance(10);
    w.reads_after(reads, 4).await;
    assert_eq!(w.update_calls(), 0);
    w.card_says(card, "Status: Cancelled").await;

    let (card, _) = w.request(11_000, vec![("at", json!("+5s"))]).await;
    w.click(ALICE_ID, card, "Approve").await;
    w.card_says(card, "applies at").await;
    w.sim.handle().update_stock(PC, "123", |stock| {
        stock.stock_send_rule.as_mut().unwrap().max_count_per_day = Some(12_000);
    });
    w.clock.advance(5);
    w.card_says(card, "Status: Stale").await;
    assert_eq!(w.update_calls(), 0);
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn burn_alerts_post_once_across_a_restart_and_state_changes_alert() {
    let w = World::new(ApprovalConfig::default(), Some(WatchConfig::default())).await;
    let interval = WatchConfig::default().interval.as_secs();
    let bot = w.start_bot().await;
    w.reads_after(0, 4).await;
    assert!(w.alerts().is_empty(), "the first read only records");

    w.sim.handle().set_sent(PC, "123", 4_200, 8_500);
    w.clock.advance(interval);
    let alerts = w.alert_count_reaches(1).await;
    assert!(
        alerts[0].contains("80%")
            && alerts[0].contains("8,500 / 10,000")
            && alerts[0].contains("/budget set-daily 123 15000"),
        "{alerts:?}"
    );
    w.sim.handle().set_sent(PC, "123", 4_200, 9_600);
    w.clock.advance(interval);
    let alerts = w.alert_count_reaches(2).await;
    assert!(alerts[1].contains("95%"), "{alerts:?}");
    bot.shutdown().await.unwrap();

    let reads = w.stock_reads();
    let bot = w.start_bot().await;
    w.reads_after(reads, 4).await;
    let reads = w.stock_reads();
    w.clock.advance(interval);
    w.reads_after(reads, 4).await;
    assert_eq!(w.alerts().len(), 2, "not again after a restart");

    w.sim.handle().set_state(PC, "123", StockState::Paused);
    w.clock.advance(interval);
    let alerts = w.alert_count_reaches(3).await;
    assert!(alerts[2].contains("SENDING → PAUSED"), "{alerts:?}");
    let reads = w.stock_reads();
    w.clock.advance(interval);
    w.reads_after(reads, 4).await;
    assert_eq!(w.alerts().len(), 3);
    bot.shutdown().await.unwrap();
}
