//! The Discord bot end to end: the real serenity client against a fake Discord that speaks the
//! gateway and REST protocols, with the WeChat Pay simulator behind the bot over real HTTP.

mod common;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use budget_bot::app::SystemClock;
use budget_bot::bootstrap::start_discord;
use budget_bot::chat::discord::{DiscordSettings, RunningBot, Token};
use budget_bot::config::{ApprovalConfig, Config, DisplayConfig, Language};
use budget_bot::domain::request::RequestState;
use budget_bot::sim::Simulator;
use budget_bot::store::Store;
use serde_json::{json, Value};
use support::fake_discord::{
    FakeConfig, FakeDiscord, FakeMember, GatewayAnswer, InteractionRef, RecordedRequest, ALICE_ID,
    APPROVALS_CHANNEL_ID, APPROVER_ROLE_ID, BOB_ID, BOT_USER_ID, CAROL_ID, GENERAL_CHANNEL_ID,
    NOTIFICATIONS_CHANNEL_ID, REQUESTER_ROLE_ID,
};

const WAIT: Duration = Duration::from_secs(15);

/// A second approver, for quorums of two.
const DAVE_ID: u64 = 666_666_666_666_666_604;

struct World {
    fake: FakeDiscord,
    sim: Simulator,
    store: Store,
    config: Config,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        Self::with_approvals(ApprovalConfig::default().required_approvals).await
    }

    /// A world whose requests need `required_approvals` approvals.
    async fn with_approvals(required_approvals: u32) -> World {
        Self::build(required_approvals, "en-US", Language::En).await
    }

    /// A world whose bot speaks `language` in a guild whose locale is `guild_locale`.
    async fn speaking(language: Language, guild_locale: &str) -> World {
        Self::build(
            ApprovalConfig::default().required_approvals,
            guild_locale,
            language,
        )
        .await
    }

    async fn build(required_approvals: u32, guild_locale: &str, language: Language) -> World {
        // The bot is a member of its guild; give it the approver role so that a reaction of
        // its own that was not ignored would show up as an approval.
        let mut fake_config = FakeConfig {
            guild_locale: guild_locale.to_string(),
            ..FakeConfig::default()
        };
        fake_config.members.push(FakeMember {
            user_id: BOT_USER_ID,
            name: "budget-bot".into(),
            roles: vec![APPROVER_ROLE_ID],
        });
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
            approval: ApprovalConfig {
                required_approvals,
                ..ApprovalConfig::default()
            },
            discord: Some(support::discord_config(&fake)),
            display: DisplayConfig {
                language,
                ..Default::default()
            },
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

    /// Starts a bot and waits until it has connected and registered its commands `n` times.
    async fn start_bot(&self, connection: usize) -> RunningBot {
        let bot = start_discord(
            &self.config,
            &Token::new("fake-token"),
            Arc::new(common::client(self.sim.base_url())),
            self.store.clone(),
            Arc::new(SystemClock),
        )
        .await
        .expect("bot starts");
        self.wait_registered(connection).await;
        bot
    }

    /// Waits until the bot has registered its commands `connection` times.
    async fn wait_registered(&self, connection: usize) {
        self.fake
            .wait_commands_registered(connection, WAIT)
            .await
            .unwrap();
    }

    fn update_calls(&self) -> usize {
        self.sim.handle().update_budget_requests().len()
    }

    fn card(&self) -> Value {
        let cards = self.fake.messages_in(APPROVALS_CHANNEL_ID);
        assert_eq!(cards.len(), 1, "one card: {cards:?}");
        cards[0].clone()
    }

    fn card_id(&self) -> u64 {
        self.card()["id"].as_str().unwrap().parse().unwrap()
    }

    /// The card's description once `pred` holds for it.
    async fn card_when(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.fake
            .wait_until(what, WAIT, |f| {
                f.messages_in(APPROVALS_CHANNEL_ID)
                    .first()
                    .and_then(|m| m["embeds"][0]["description"].as_str().map(&pred))
                    .unwrap_or(false)
            })
            .await
            .unwrap();
        self.card()["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Bob sends `/budget set-daily 123 <target> weekend push`.
    async fn send_request_daily(&self, target: i64) -> InteractionRef {
        self.fake
            .send_interaction_command(
                BOB_ID,
                "budget",
                "set-daily",
                vec![
                    ("stock", json!("123")),
                    ("limit", json!(target)),
                    ("reason", json!("weekend push")),
                ],
            )
            .await
    }

    /// Bob requests a new daily limit for stock 123 and the card appears.
    async fn request_daily(&self, target: i64) -> u64 {
        let it = self.send_request_daily(target).await;
        self.reply_contains(&it, "Card: https://discord.com/channels/")
            .await;
        assert_eq!(self.fake.ack_type(&it), Some(5));
        let callback = self.callback(&it).await;
        assert_eq!(
            callback.body["data"]["flags"], 64,
            "the requester's reply is ephemeral"
        );
        self.fake
            .wait_until("the card's reactions", WAIT, |f| {
                f.messages_in(APPROVALS_CHANNEL_ID)
                    .first()
                    .map(|m| m["id"].as_str().unwrap().parse::<u64>().unwrap())
                    .map(|id| f.reactions_on(id).len() == 2)
                    .unwrap_or(false)
            })
            .await
            .unwrap();
        self.card_id()
    }

    /// The interaction's initial response (ack), once it arrives.
    async fn callback(&self, it: &InteractionRef) -> RecordedRequest {
        self.fake
            .wait_for_request(|r| r.is_callback_for(it), WAIT)
            .await
            .unwrap()
    }

    /// Waits until the interaction's reply carries an embed (`show`).
    async fn reply_has_embed(&self, it: &InteractionRef) {
        self.fake
            .wait_until("an embed reply", WAIT, |f| {
                f.original_response(it)
                    .is_some_and(|m| m["embeds"].as_array().is_some_and(|e| !e.is_empty()))
            })
            .await
            .unwrap();
    }

    /// Waits until the interaction's own reply (ephemeral or not) contains `needle`.
    async fn reply_contains(&self, it: &InteractionRef, needle: &str) {
        self.fake
            .wait_until(needle, WAIT, |f| {
                f.original_response(it)
                    .and_then(|m| m["content"].as_str().map(|c| c.contains(needle)))
                    .unwrap_or(false)
            })
            .await
            .unwrap();
    }

    fn request_state(&self) -> RequestState {
        let all = self.store.all().unwrap();
        assert_eq!(all.len(), 1);
        all[0].state
    }

    /// Waits until the one request is in `state` (the store has no change feed: polled).
    async fn wait_state(&self, state: RequestState) {
        let deadline = Instant::now() + WAIT;
        loop {
            let states: Vec<RequestState> =
                self.store.all().unwrap().iter().map(|r| r.state).collect();
            if states == [state] {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {state}; requests are {states:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Bob requests while the fake holds the answers to the bot's calls that `rule` matches;
    /// returns the card's id as soon as it exists, the bot still waiting on a held call.
    async fn request_while_held(&self, rule: fn(&str, &str) -> bool) -> u64 {
        self.fake.hold_responses(rule);
        self.send_request_daily(20_000).await;
        self.fake
            .wait_until("the card, with a call of the bot held", WAIT, |f| {
                !f.messages_in(APPROVALS_CHANNEL_ID).is_empty() && f.held_calls().0 >= 1
            })
            .await
            .unwrap();
        self.card_id()
    }

    /// Alice clicks the card's Approve button.
    async fn click_approve(&self, card_id: u64) -> InteractionRef {
        let approve = custom_id(&self.card(), "Approve");
        self.fake
            .send_component_click(ALICE_ID, card_id, &approve)
            .await
    }

    /// Waits until `user` has a DM from the bot containing `needle`.
    async fn dm_contains(&self, user: u64, needle: &str) {
        self.fake
            .wait_until(&format!("a DM saying {needle:?}"), WAIT, |f| {
                f.dm_channel_of(user).is_some_and(|c| {
                    f.messages_in(c)
                        .iter()
                        .any(|m| m["content"].as_str().unwrap_or("").contains(needle))
                })
            })
            .await
            .unwrap();
    }

    /// Waits until the bot removes `user`'s `emoji` from `message`; returns when it did.
    async fn reaction_removed(&self, message: u64, emoji: &str, user: u64) -> Instant {
        let path =
            format!("/channels/{APPROVALS_CHANNEL_ID}/messages/{message}/reactions/{emoji}/{user}");
        self.fake
            .wait_for_request(|r| r.method == "DELETE" && r.path == path, WAIT)
            .await
            .unwrap()
            .at
    }
}

/// Bot calls that add its own reactions to a card: `PUT .../reactions/{emoji}/@me`.
fn bot_reaction(method: &str, path: &str) -> bool {
    method == "PUT" && path.contains("/reactions/") && path.ends_with("/@me")
}

/// The bot's post of a card: `POST /channels/{approvals}/messages`.
fn card_post(method: &str, path: &str) -> bool {
    method == "POST" && path == format!("/channels/{APPROVALS_CHANNEL_ID}/messages")
}

fn custom_id(card: &Value, label: &str) -> String {
    card["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["label"] == label)
        .unwrap()["custom_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn registers_commands_with_intents_and_answers_show() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    assert_eq!(w.fake.identified_intents(), Some(1 | (1 << 10)));
    let commands = w.fake.registered_commands();
    assert_eq!(commands.len(), 1);
    let budget = &commands[0];
    assert_eq!(budget["name"], "budget");
    let subs: Vec<&str> = budget["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        subs,
        [
            "show",
            "set-daily",
            "set-total",
            "pending",
            "cancel",
            "history"
        ]
    );
    let set_daily = &budget["options"][1]["options"];
    assert_eq!(set_daily[0]["name"], "stock");
    assert_eq!(set_daily[0]["autocomplete"], true);
    assert_eq!(set_daily[1]["name"], "limit");
    assert_eq!(set_daily[1]["type"], 4);
    assert_eq!(set_daily[1]["max_value"], 100_000_000);

    let it = w
        .fake
        .send_interaction_command(CAROL_ID, "budget", "show", vec![("stock", json!("123"))])
        .await;
    w.reply_has_embed(&it).await;
    assert_eq!(w.fake.ack_type(&it), Some(5));
    let callback = w.callback(&it).await;
    assert!(
        callback.body["data"]["flags"].is_null(),
        "show answers in the channel"
    );
    let embed = &w.fake.original_response(&it).unwrap()["embeds"][0];
    assert_eq!(embed["title"], "Spring sale (123)");
    let fields = embed["fields"].to_string();
    assert!(
        fields.contains("100,000") && fields.contains("9,690"),
        "{fields}"
    );

    // Autocomplete offers the allow-list.
    let it = w
        .fake
        .send_autocomplete(CAROL_ID, "budget", "show", "stock", "spr")
        .await;
    let callback = w.callback(&it).await;
    assert_eq!(callback.body["type"], 8);
    assert_eq!(callback.body["data"]["choices"][0]["value"], "123");

    // An unknown stock is refused privately, at once.
    let it = w
        .fake
        .send_interaction_command(CAROL_ID, "budget", "show", vec![("stock", json!("999"))])
        .await;
    let callback = w.callback(&it).await;
    assert_eq!(callback.body["type"], 4);
    assert_eq!(callback.body["data"]["flags"], 64);
    assert!(callback.body["data"]["content"]
        .as_str()
        .unwrap()
        .contains("allow-list"));
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn card_with_buttons_and_reactions_then_button_approval_applies_once() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    let card_id = w.request_daily(20_000).await;
    let card = w.card();
    let description = card["embeds"][0]["description"].as_str().unwrap();
    for needle in [
        "Spring sale (123)",
        "10,000 → 20,000 (+10,000, +100.0%)",
        "310 today, 4,200 in total",
        &format!("Requested by: <@{BOB_ID}>"),
        "Reason: weekend push",
        &format!("May approve: <@&{APPROVER_ROLE_ID}>"),
        "Expires: <t:",
    ] {
        assert!(
            description.contains(needle),
            "card lacks {needle}: {description}"
        );
    }
    let approve = custom_id(&card, "Approve");
    assert!(approve.starts_with("bgt:v1:") && approve.len() <= 100);
    let reactions = w.fake.reactions_on(card_id);
    assert_eq!(reactions[0], ("✅".to_string(), vec![BOT_USER_ID]));
    assert_eq!(reactions[1], ("❌".to_string(), vec![BOT_USER_ID]));
    assert_eq!(
        w.fake.messages_in(NOTIFICATIONS_CHANNEL_ID).len(),
        1,
        "request announced"
    );
    assert_eq!(w.update_calls(), 0);

    let it = w
        .fake
        .send_component_click(ALICE_ID, card_id, &approve)
        .await;
    let description = w
        .card_when("the applied card", |d| d.contains("Status: Applied"))
        .await;
    assert!(description.contains(&format!("Approved by: <@{ALICE_ID}>")));
    assert_eq!(w.update_calls(), 1);
    assert_eq!(w.request_state(), RequestState::Applied);
    let buttons = &w.card()["components"][0]["components"];
    assert_eq!(buttons[0]["disabled"], true);
    assert_eq!(buttons[1]["disabled"], true);
    w.reply_contains(&it, "Applied").await;
    let notices = w.fake.messages_in(NOTIFICATIONS_CHANNEL_ID);
    let applied = notices.last().unwrap()["embeds"][0].clone();
    assert_eq!(applied["title"], "Applied: Spring sale (123)");
    let fields = applied["fields"].to_string();
    assert!(
        fields.contains("20,000") && fields.contains("SENDING"),
        "{fields}"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn reaction_from_an_approver_applies_once() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    let card_id = w.request_daily(15_000).await;
    w.fake
        .send_reaction_add(ALICE_ID, APPROVALS_CHANNEL_ID, card_id, "✅")
        .await;
    let description = w
        .card_when("the applied card", |d| d.contains("Status: Applied"))
        .await;
    assert!(description.contains(&format!("Approved by: <@{ALICE_ID}>")));
    w.fake
        .wait_until("the applied notification", WAIT, |f| {
            f.messages_in(NOTIFICATIONS_CHANNEL_ID)
                .iter()
                .any(|m| m["embeds"][0]["title"] == "Applied: Spring sale (123)")
        })
        .await
        .unwrap();
    assert_eq!(w.update_calls(), 1);
    assert_eq!(
        w.sim
            .handle()
            .stock("200000001", "123")
            .unwrap()
            .max_count_per_day(),
        Some(15_000)
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn refusals_change_nothing() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    let card_id = w.request_daily(20_000).await;
    let approve = custom_id(&w.card(), "Approve");

    // The requester, even holding the approver role, cannot approve their own request.
    w.fake
        .set_member_roles(BOB_ID, vec![REQUESTER_ROLE_ID, APPROVER_ROLE_ID]);
    let it = w.fake.send_component_click(BOB_ID, card_id, &approve).await;
    w.reply_contains(&it, "someone else").await;
    let callback = w.callback(&it).await;
    assert_eq!(callback.body["data"]["flags"], 64, "refusals are ephemeral");

    // A member without the approver role: the click is refused privately...
    let it = w
        .fake
        .send_component_click(CAROL_ID, card_id, &approve)
        .await;
    w.reply_contains(&it, "approver role").await;
    // ...and the reaction is removed with the reason sent by DM.
    w.fake
        .send_reaction_add(CAROL_ID, APPROVALS_CHANNEL_ID, card_id, "✅")
        .await;
    w.fake
        .wait_for_request(
            |r| r.method == "DELETE" && r.path.ends_with(&format!("/reactions/✅/{CAROL_ID}")),
            WAIT,
        )
        .await
        .unwrap();
    w.fake
        .wait_until("a DM with the reason", WAIT, |f| {
            f.dm_channel_of(CAROL_ID)
                .map(|c| {
                    f.messages_in(c).iter().any(|m| {
                        m["content"]
                            .as_str()
                            .unwrap_or("")
                            .contains("approver role")
                    })
                })
                .unwrap_or(false)
        })
        .await
        .unwrap();

    // An approver's reaction on another message, and the bot's own reaction on the card, are
    // ignored. A later command is answered, proving the bot is alive and those were handled.
    let other = w
        .fake
        .send_interaction_command(ALICE_ID, "budget", "pending", vec![])
        .await;
    w.reply_contains(&other, "1 pending").await;
    let other_message = w.fake.original_response(&other).unwrap()["id"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    w.fake
        .send_reaction_add(ALICE_ID, GENERAL_CHANNEL_ID, other_message, "✅")
        .await;
    w.fake
        .send_reaction_add(BOT_USER_ID, APPROVALS_CHANNEL_ID, card_id, "✅")
        .await;
    let sentinel = w
        .fake
        .send_interaction_command(CAROL_ID, "budget", "show", vec![("stock", json!("123"))])
        .await;
    w.reply_has_embed(&sentinel).await;

    // Shutdown waits for in-flight handlers, so anything those events started has finished.
    bot.shutdown().await.unwrap();
    assert_eq!(w.update_calls(), 0);
    assert_eq!(w.request_state(), RequestState::Pending);
    let description = w.card()["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(description.contains("Pending: 0 of 1"), "{description}");
}

/// `show` defers publicly; when WeChat Pay then fails, the public placeholder is removed and
/// the reason goes to the user alone.
#[tokio::test]
async fn show_failure_after_a_public_deferral_is_answered_privately() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    for _ in 0..4 {
        w.sim.handle().push_fault(
            budget_bot::sim::FaultMatch::GetStock,
            budget_bot::sim::Fault::BadSignature,
        );
    }
    let it = w
        .fake
        .send_interaction_command(CAROL_ID, "budget", "show", vec![("stock", json!("123"))])
        .await;
    let followup = w
        .fake
        .wait_for_request(|r| r.is_webhook_for(&it) && r.method == "POST", WAIT)
        .await
        .unwrap();
    assert_eq!(followup.body["flags"], 64, "the reason is ephemeral");
    let text = followup.body["content"].as_str().unwrap();
    assert!(text.contains("signature verification"), "{text}");
    let deleted = w
        .fake
        .requests()
        .into_iter()
        .any(|r| r.is_webhook_for(&it) && r.method == "DELETE");
    assert!(deleted, "the public placeholder was removed");
    assert!(
        w.fake.messages_in(GENERAL_CHANNEL_ID).is_empty(),
        "nothing public remains"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn slow_wechat_pay_still_gets_the_interaction_answered_in_time() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    w.sim.handle().set_latency(Duration::from_secs(4));
    let sent = Instant::now();
    let it = w
        .fake
        .send_interaction_command(CAROL_ID, "budget", "show", vec![("stock", json!("123"))])
        .await;
    let ack = w
        .fake
        .wait_for_request(|r| r.is_callback_for(&it), WAIT)
        .await
        .unwrap();
    assert!(
        ack.at.duration_since(sent) < Duration::from_secs(3),
        "deferred in time"
    );
    assert_eq!(
        ack.status, 204,
        "the fake accepted the ack within its 3 s deadline"
    );
    let edit = w
        .fake
        .wait_for_request(|r| r.is_webhook_for(&it) && r.method == "PATCH", WAIT)
        .await
        .unwrap();
    assert!(
        edit.at.duration_since(sent) >= Duration::from_secs(4),
        "the answer came after the slow API call"
    );
    assert!(ack.at < edit.at);
    assert_eq!(edit.status, 200);

    // The same for a request and for a button approval, whose calls include update-budget.
    let card_id = w.request_daily(20_000).await;
    let approve = custom_id(&w.card(), "Approve");
    let sent = Instant::now();
    let it = w
        .fake
        .send_component_click(ALICE_ID, card_id, &approve)
        .await;
    let ack = w
        .fake
        .wait_for_request(|r| r.is_callback_for(&it), WAIT)
        .await
        .unwrap();
    assert!(ack.at.duration_since(sent) < Duration::from_secs(3));
    assert_eq!(ack.status, 204);
    w.card_when("the applied card", |d| d.contains("Status: Applied"))
        .await;
    let update = w
        .sim
        .handle()
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/update-budget"))
        .unwrap();
    assert!(
        ack.at < update.arrived + Duration::from_secs(4),
        "the click was acknowledged before WeChat Pay answered the update"
    );
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn buttons_keep_working_after_a_restart() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    let card_id = w.request_daily(20_000).await;
    let approve = custom_id(&w.card(), "Approve");
    bot.shutdown().await.unwrap();
    w.fake
        .wait_until("the old session to close", WAIT, |f| f.live_sessions() == 0)
        .await
        .unwrap();

    let bot = w.start_bot(2).await;
    // Reactions on the old card still reach its request: a refused one is taken back.
    w.fake
        .send_reaction_add(CAROL_ID, APPROVALS_CHANNEL_ID, card_id, "✅")
        .await;
    w.fake
        .wait_for_request(
            |r| r.method == "DELETE" && r.path.ends_with(&format!("/reactions/✅/{CAROL_ID}")),
            WAIT,
        )
        .await
        .unwrap();
    w.fake
        .send_component_click(ALICE_ID, card_id, &approve)
        .await;
    w.card_when("the applied card", |d| d.contains("Status: Applied"))
        .await;
    assert_eq!(w.update_calls(), 1);
    assert_eq!(w.request_state(), RequestState::Applied);
    bot.shutdown().await.unwrap();
}

#[tokio::test]
async fn run_uses_the_env_token_and_stops_cleanly_on_sigterm() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let sim = common::start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let discord = support::discord_section(&fake);
    let config = common::write_config(dir.path(), &sim.base_url(), &discord);
    let token = "fake-token-do-not-log";
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_budget-bot"))
        .args(["--config", config.to_str().unwrap(), "run"])
        .env("DISCORD_TOKEN", token)
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Read both pipes as the bot writes: debug logs fill a pipe's buffer long before SIGTERM,
    // and a bot blocked writing a log line answers nothing.
    let drain = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
        tokio::spawn(async move {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut text).await;
            }
            text
        })
    };
    let mut child = child;
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    fake.wait_until("command registration", WAIT, |f| {
        f.requests()
            .iter()
            .any(|r| r.method == "PUT" && r.path.ends_with("/commands") && r.status == 200)
    })
    .await
    .unwrap();
    let put = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT" && r.path.ends_with("/commands"))
        .unwrap();
    assert_eq!(
        put.authorization.as_deref(),
        Some(format!("Bot {token}").as_str())
    );

    // A request works through the binary too.
    let it = fake
        .send_interaction_command(CAROL_ID, "budget", "show", vec![("stock", json!("123"))])
        .await;
    fake.wait_until("the show embed", WAIT, |f| {
        f.original_response(&it)
            .is_some_and(|m| m["embeds"].as_array().is_some_and(|e| !e.is_empty()))
    })
    .await
    .unwrap();

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("the bot stops after SIGTERM")
        .unwrap();
    let _ = stdout.await.unwrap();
    let stderr = stderr.await.unwrap();
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(status.success(), "clean exit: {stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(!stderr.contains(token), "the token never reaches the logs");
    // The store was released and flushed: it opens and holds no half-done work.
    let store = Store::open(&dir.path().join("store.sled")).unwrap();
    assert!(store.all().unwrap().is_empty());
}

/// The expiry sweep edits the card of a request whose time is up and disables its buttons.
#[tokio::test]
async fn expired_request_card_says_so() {
    use budget_bot::app::ManualClock;
    let w = World::new().await;
    let clock = Arc::new(ManualClock::new(common::T0));
    let mut settings = DiscordSettings::from_config(w.config.discord.as_ref().unwrap()).unwrap();
    settings.sweep_interval = Duration::from_millis(100);
    let bot = budget_bot::bootstrap::start_discord_with(
        &w.config,
        settings,
        &Token::new("fake-token"),
        Arc::new(common::client(w.sim.base_url())),
        w.store.clone(),
        clock.clone(),
    )
    .await
    .unwrap();
    w.wait_registered(1).await;
    let card_id = w.request_daily(20_000).await;
    clock.advance(ApprovalConfig::default().ttl.as_secs());
    let description = w
        .card_when("the expired card", |d| d.contains("Status: Expired"))
        .await;
    assert!(description.contains("Expired at"), "{description}");
    let buttons = &w.card()["components"][0]["components"];
    assert_eq!(buttons[0]["disabled"], true);
    let approve = custom_id(&w.card(), "Approve");
    let it = w
        .fake
        .send_component_click(ALICE_ID, card_id, &approve)
        .await;
    w.reply_contains(&it, "already Expired").await;
    assert_eq!(w.update_calls(), 0);
    bot.shutdown().await.unwrap();
}

/// Issue 7: an approver's ❌ sent as soon as the card appears, before the bot has finished
/// posting it (its own ✅/❌ are not on it yet), used to leave no trace, and two later ✅ then
/// applied the change. The veto counts, and the later approvals are refused visibly.
#[tokio::test]
async fn a_veto_while_the_card_is_being_posted_rejects_the_request() {
    let w = World::with_approvals(2).await;
    let bot = w.start_bot(1).await;
    let card_id = w.request_while_held(bot_reaction).await;
    w.fake
        .send_reaction_add(ALICE_ID, APPROVALS_CHANNEL_ID, card_id, "❌")
        .await;
    w.wait_state(RequestState::Rejected).await;
    w.fake.release_held();

    // Approvals after the veto are taken back, each with the reason by DM.
    for approver in [ALICE_ID, DAVE_ID] {
        w.fake
            .send_reaction_add(approver, APPROVALS_CHANNEL_ID, card_id, "✅")
            .await;
        w.reaction_removed(card_id, "✅", approver).await;
        w.dm_contains(approver, "already Rejected").await;
    }
    w.card_when("the rejected card", |d| d.contains("Status: Rejected"))
        .await;
    bot.shutdown().await.unwrap();
    assert_eq!(w.request_state(), RequestState::Rejected);
    assert_eq!(w.update_calls(), 0, "nothing was sent to WeChat Pay");
    let buttons = &w.card()["components"][0]["components"];
    assert_eq!(buttons[0]["disabled"], true, "the card shows it is decided");
    let reactions = w.fake.reactions_on(card_id);
    assert!(
        reactions
            .iter()
            .any(|(e, users)| e == "❌" && users.contains(&ALICE_ID)),
        "the veto stays on the card: {reactions:?}"
    );
}

/// A reaction Discord delivers before the bot has even heard back from its post of the card
/// (so it cannot have stored the card yet) is retried until the card is known, and counts.
#[tokio::test]
async fn a_reaction_delivered_before_the_bot_knows_its_card_still_counts() {
    let w = World::with_approvals(2).await;
    let bot = w.start_bot(1).await;
    let card_id = w.request_while_held(card_post).await;
    let logs = common::Logs::capture("budget_bot=debug");
    w.fake
        .send_reaction_add(ALICE_ID, APPROVALS_CHANNEL_ID, card_id, "❌")
        .await;
    logs.wait_for("not a known card", WAIT).await;
    w.fake.release_held();
    w.wait_state(RequestState::Rejected).await;
    w.card_when("the rejected card", |d| d.contains("Status: Rejected"))
        .await;
    bot.shutdown().await.unwrap();
    assert_eq!(w.update_calls(), 0);
    assert!(
        !w.fake
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.path.contains("/reactions/")),
        "the veto was not taken back"
    );
    assert_eq!(w.fake.dm_channel_of(ALICE_ID), None, "no DM: it counted");
}

/// An Approve clicked before the card has finished posting used to be recorded but applied
/// only by the next sweep (30 s): the worker posting the card held the request. It is applied
/// as soon as the card is posted, and the card shows the real outcome.
#[tokio::test]
async fn an_approval_clicked_while_the_card_is_being_posted_applies_at_once() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    let card_id = w.request_while_held(bot_reaction).await;
    let it = w.click_approve(card_id).await;
    // The approval is recorded while the card is still being posted.
    w.reply_contains(&it, "You approved request").await;
    assert_eq!(w.request_state(), RequestState::Approved);
    assert_eq!(w.update_calls(), 0);
    let released = Instant::now();
    w.fake.release_held();
    w.card_when("the applied card", |d| d.contains("Status: Applied"))
        .await;
    let took = released.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "applied {took:?} after the card was posted, not by the next sweep"
    );
    bot.shutdown().await.unwrap();
    assert_eq!(w.request_state(), RequestState::Applied);
    assert_eq!(w.update_calls(), 1);
    let buttons = &w.card()["components"][0]["components"];
    assert_eq!(buttons[0]["disabled"], true);
}

/// A decision made on a card the bot has posted but not yet stored (its button works at once)
/// could not be shown on it; the card is re-rendered once stored, so it shows the real state.
#[tokio::test]
async fn a_decision_made_before_the_card_is_stored_shows_on_the_card() {
    let w = World::with_approvals(2).await;
    let bot = w.start_bot(1).await;
    let card_id = w.request_while_held(card_post).await;
    let it = w.click_approve(card_id).await;
    w.reply_contains(&it, "1 of 2").await;
    assert!(w.card()["embeds"][0]["description"]
        .as_str()
        .unwrap()
        .contains("Pending: 0 of 2"));
    w.fake.release_held();
    let description = w
        .card_when("the card showing the approval", |d| {
            d.contains("Pending: 1 of 2")
        })
        .await;
    assert!(
        description.contains(&format!("<@{ALICE_ID}>")),
        "{description}"
    );
    bot.shutdown().await.unwrap();
    assert_eq!(w.request_state(), RequestState::Pending);
}

/// ✅/❌ on a message of the approvals channel that is no card (here a member's post) is not
/// silently ignored: after waiting (the card may be being stored right then), the bot takes
/// the reaction back and says why by DM.
#[tokio::test]
async fn a_reaction_on_a_message_that_is_no_card_is_taken_back_with_a_dm() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    let message =
        w.fake
            .post_member_message(APPROVALS_CHANNEL_ID, BOB_ID, "could someone look at 123?");
    let sent = Instant::now();
    w.fake
        .send_reaction_add(ALICE_ID, APPROVALS_CHANNEL_ID, message, "✅")
        .await;
    let removed = w.reaction_removed(message, "✅", ALICE_ID).await;
    assert!(
        removed.duration_since(sent) >= Duration::from_secs(5),
        "retried for at least 5 s before giving up: {:?}",
        removed.duration_since(sent)
    );
    w.dm_contains(ALICE_ID, "did not count").await;
    bot.shutdown().await.unwrap();
    assert!(w.store.all().unwrap().is_empty());
}

/// With `api_base_url` set, the gateway URL comes from that server only: while it does not
/// answer (a call left hanging, then errors) the bot keeps asking it, and then connects to the
/// gateway it names. serenity alone would fall back to Discord's public gateway host.
#[tokio::test]
async fn the_gateway_comes_only_from_the_configured_server() {
    let w = World::new().await;
    w.fake.script_gateway(
        vec![
            GatewayAnswer::Hold,
            GatewayAnswer::Refuse,
            GatewayAnswer::Refuse,
        ],
        GatewayAnswer::Answer,
    );
    let mut settings = DiscordSettings::from_config(w.config.discord.as_ref().unwrap()).unwrap();
    settings.gateway_attempt_timeout = Duration::from_millis(500);
    settings.gateway_retry_delay = Duration::from_millis(50);
    let bot = tokio::time::timeout(
        Duration::from_secs(30),
        budget_bot::bootstrap::start_discord_with(
            &w.config,
            settings,
            &Token::new("fake-token"),
            Arc::new(common::client(w.sim.base_url())),
            w.store.clone(),
            Arc::new(SystemClock),
        ),
    )
    .await
    .expect("the bot starts once its server answers")
    .expect("bot starts");
    w.wait_registered(1).await;
    let statuses: Vec<u16> = w
        .fake
        .requests()
        .iter()
        .filter(|r| r.is("GET", "/gateway"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses[..4], [0, 503, 503, 200], "{statuses:?}");
    // serenity's shards connect to `Client::ws_url` only: this one, the fake's.
    assert_eq!(bot.gateway_url(), w.fake.gateway_url());
    assert_eq!(w.fake.identify_count(), 1);
    assert_eq!(w.fake.gateway_queries(), ["v=10"]);
    bot.shutdown().await.unwrap();
}

/// Under `language = "auto"` each reply follows the user's client: a `zh-CN` user gets
/// Chinese (the public `show` included), an `en-US` user English, in the same guild.
#[tokio::test]
async fn replies_follow_each_users_locale_under_auto() {
    let w = World::speaking(Language::Auto, "en-US").await;
    let bot = w.start_bot(1).await;
    w.fake.set_user_locale("zh-CN");
    let zh = w
        .fake
        .send_interaction_command(ALICE_ID, "budget", "pending", vec![])
        .await;
    w.reply_contains(&zh, "没有待审批的申请。").await;
    let zh_show = w
        .fake
        .send_interaction_command(CAROL_ID, "budget", "show", vec![("stock", json!("123"))])
        .await;
    w.reply_has_embed(&zh_show).await;
    let fields = w.fake.original_response(&zh_show).unwrap()["embeds"][0]["fields"].to_string();
    assert!(
        fields.contains("发放次数总上限") && fields.contains("当天已发放次数"),
        "{fields}"
    );
    let unknown = w
        .fake
        .send_interaction_command(CAROL_ID, "budget", "show", vec![("stock", json!("999"))])
        .await;
    let refusal = w.callback(&unknown).await.body["data"]["content"].to_string();
    assert!(refusal.contains("不在允许列表中"), "{refusal}");

    w.fake.set_user_locale("en-US");
    let en = w
        .fake
        .send_interaction_command(ALICE_ID, "budget", "pending", vec![])
        .await;
    w.reply_contains(&en, "No pending requests.").await;
    let en_show = w
        .fake
        .send_interaction_command(CAROL_ID, "budget", "show", vec![("stock", json!("123"))])
        .await;
    w.reply_has_embed(&en_show).await;
    let fields = w.fake.original_response(&en_show).unwrap()["embeds"][0]["fields"].to_string();
    assert!(fields.contains("Total limit (max_count)"), "{fields}");
    bot.shutdown().await.unwrap();
}

/// Cards, notices and the DM about a refused reaction follow the guild's locale, whatever
/// language the requester's own client reads.
#[tokio::test]
async fn channel_posts_follow_the_guild_locale_under_auto() {
    let w = World::speaking(Language::Auto, "zh-CN").await;
    let bot = w.start_bot(1).await;
    // Bob's client is English: his own reply is English, the card Chinese.
    let card = w.request_daily(20_000).await;
    let card_text = w
        .card_when("a Chinese card", |d| d.contains("预算变更申请"))
        .await;
    assert!(card_text.contains("每日发放次数上限"), "{card_text}");
    let buttons = w.card()["components"][0]["components"].to_string();
    assert!(
        buttons.contains("批准") && buttons.contains("驳回"),
        "{buttons}"
    );
    w.fake
        .wait_until("a Chinese notice", WAIT, |f| {
            f.messages_in(NOTIFICATIONS_CHANNEL_ID).iter().any(|m| {
                m["embeds"][0]["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("申请修改批次"))
            })
        })
        .await
        .unwrap();
    // Carol has no approver role: her ✅ is taken back with a DM in the guild's language.
    w.fake
        .send_reaction_add(CAROL_ID, APPROVALS_CHANNEL_ID, card, "✅")
        .await;
    w.dm_contains(CAROL_ID, "你没有审批人角色").await;
    bot.shutdown().await.unwrap();
}

/// The registered command and every option carry `zh-CN` descriptions.
#[tokio::test]
async fn the_registered_command_carries_chinese_descriptions() {
    let w = World::new().await;
    let bot = w.start_bot(1).await;
    let budget = &w.fake.registered_commands()[0];
    fn check(option: &Value, at: &str, count: &mut usize) {
        let zh = option["description_localizations"]["zh-CN"]
            .as_str()
            .unwrap_or_else(|| panic!("{at} has no zh-CN description: {option}"));
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{at}: {zh}"
        );
        assert!(zh.chars().count() <= 100, "{at}: {zh}");
        *count += 1;
        for sub in option["options"].as_array().into_iter().flatten() {
            check(sub, &format!("{at} {}", sub["name"]), count);
        }
    }
    let mut count = 0;
    check(budget, "/budget", &mut count);
    // The command, 6 subcommands and their 12 options (set-daily and set-total have `at`).
    assert_eq!(count, 19);
    assert_eq!(
        budget["description"],
        "WeChat Pay coupon budgets: show, change with approval, history"
    );
    bot.shutdown().await.unwrap();
}
