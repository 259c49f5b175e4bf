//! Drives a real serenity 0.12 `Client` against `support::fake_discord` to prove the fake speaks
//! enough of Discord's REST API and gateway protocol for the bot's integration tests.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use serenity::all::{
    ButtonStyle, Channel, ChannelId, CommandDataOptionValue, CommandOptionType, CreateActionRow,
    CreateAutocompleteResponse, CreateButton, CreateCommand, CreateCommandOption, CreateEmbed,
    CreateInteractionResponse, CreateMessage, EditInteractionResponse, GatewayIntents, GuildId,
    Interaction, InteractionId, Reaction, ReactionType, Ready, UserId,
};
use serenity::async_trait;
use serenity::client::{ClientBuilder, Context, EventHandler};
use serenity::http::{Http, HttpBuilder, HttpError};
use serenity::model::event::Event;
use tokio::sync::mpsc;

use support::fake_discord::{
    FakeConfig, FakeDiscord, ALICE_ID, APPLICATION_ID, APPROVALS_CHANNEL_ID, APPROVER_ROLE_ID,
    BOB_ID, GENERAL_CHANNEL_ID, GUILD_ID, REQUESTER_ROLE_ID,
};

const WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, PartialEq)]
enum Seen {
    Ready,
    Command(String),
    Component(String),
    Autocomplete(String),
    Reaction {
        user: u64,
        roles: Vec<u64>,
        emoji: String,
    },
    Error(String),
}

struct Handler {
    tx: mpsc::UnboundedSender<Seen>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, _ready: Ready) {
        let budget = CreateCommand::new("budget")
            .description("Budget operations")
            .add_option(CreateCommandOption::new(
                CommandOptionType::SubCommand,
                "show",
                "Show the current budget",
            ))
            .add_option(
                CreateCommandOption::new(
                    CommandOptionType::SubCommand,
                    "set_daily",
                    "Change the daily budget",
                )
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::String, "coupon", "Coupon stock")
                        .required(true)
                        .set_autocomplete(true),
                )
                .add_sub_option(
                    CreateCommandOption::new(CommandOptionType::Integer, "amount", "New budget")
                        .required(true),
                ),
            );
        let seen = match GuildId::new(GUILD_ID)
            .set_commands(&ctx.http, vec![budget])
            .await
        {
            Ok(_) => Seen::Ready,
            Err(e) => Seen::Error(format!("set_commands: {e}")),
        };
        let _ = self.tx.send(seen);
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let seen = match interaction {
            Interaction::Command(cmd) => {
                // "sub" or "sub name=value ..." with serenity's parsed option values
                let mut sub = String::new();
                if let Some(o) = cmd.data.options.first() {
                    sub.push_str(&o.name);
                    if let CommandDataOptionValue::SubCommand(opts) = &o.value {
                        for opt in opts {
                            sub.push_str(&format!(" {}={:?}", opt.name, opt.value));
                        }
                    }
                }
                match cmd.defer_ephemeral(&ctx.http).await {
                    Err(e) => Seen::Error(format!("defer: {e}")),
                    Ok(()) => match cmd
                        .edit_response(
                            &ctx.http,
                            EditInteractionResponse::new().content("budget: 100"),
                        )
                        .await
                    {
                        Ok(_) => Seen::Command(sub),
                        Err(e) => Seen::Error(format!("edit_response: {e}")),
                    },
                }
            }
            Interaction::Component(c) => match c.defer(&ctx.http).await {
                Ok(()) => Seen::Component(c.data.custom_id.clone()),
                Err(e) => Seen::Error(format!("component defer: {e}")),
            },
            Interaction::Autocomplete(ac) => {
                let partial = ac
                    .data
                    .autocomplete()
                    .map(|o| format!("{}={}", o.name, o.value))
                    .unwrap_or_default();
                let choices = CreateAutocompleteResponse::new()
                    .add_string_choice("Coupon A", "stock-a")
                    .add_string_choice("Coupon B", "stock-b");
                match ac
                    .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(choices))
                    .await
                {
                    Ok(()) => Seen::Autocomplete(partial),
                    Err(e) => Seen::Error(format!("autocomplete: {e}")),
                }
            }
            other => Seen::Error(format!("unexpected interaction {:?}", other.kind())),
        };
        let _ = self.tx.send(seen);
    }

    async fn reaction_add(&self, _ctx: Context, r: Reaction) {
        let _ = self.tx.send(Seen::Reaction {
            user: r.user_id.map_or(0, |u| u.get()),
            roles: r
                .member
                .map(|m| m.roles.iter().map(|r| r.get()).collect())
                .unwrap_or_default(),
            emoji: r.emoji.to_string(),
        });
    }
}

async fn next_seen(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("timed out waiting for the event handler")
        .expect("handler channel closed")
}

fn discord_error_code<T: std::fmt::Debug>(res: serenity::Result<T>) -> Option<isize> {
    match res {
        Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(e))) => Some(e.error.code),
        other => panic!("expected a Discord error response, got {other:?}"),
    }
}

fn fake_http(fake: &FakeDiscord) -> Http {
    HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_client_works_against_fake_discord() {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let intents = GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGE_REACTIONS;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut client = ClientBuilder::new_with_http(fake_http(&fake), intents)
        .event_handler(Handler { tx })
        .await
        .expect("client builds");
    let shard_manager = Arc::clone(&client.shard_manager);
    let http = Arc::clone(&client.http);
    let client_task = tokio::spawn(async move { client.start().await });

    // --- startup: gateway discovery, IDENTIFY, READY, command registration ---
    fake.wait_ready(WAIT).await.unwrap();
    assert_eq!(fake.identified_intents(), Some(1 | (1 << 10)));
    assert_eq!(fake.gateway_queries(), vec!["v=10".to_string()]);
    let identify = fake.identify_payload().unwrap();
    // serenity 0.12.5 asks for per-message zlib compression, but accepts plain text frames,
    // which is what the fake sends.
    assert_eq!(identify["compress"], json!(true));
    assert_eq!(identify["token"], json!("Bot fake-token"));
    assert_eq!(next_seen(&mut rx).await, Seen::Ready);

    let gateway = fake.requests().into_iter().next().expect("a first request");
    assert!(gateway.is("GET", "/gateway"), "first call: {gateway:?}");
    assert_eq!(gateway.authorization.as_deref(), Some("Bot fake-token"));

    let commands_path = format!("/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands");
    let put = fake
        .wait_for_request(|r| r.is("PUT", &commands_path), WAIT)
        .await
        .unwrap();
    assert_eq!(put.status, 200);
    assert_eq!(put.body[0]["name"], json!("budget"));
    assert_eq!(put.body[0]["description"], json!("Budget operations"));
    assert_eq!(put.body[0]["options"][0]["type"], json!(1));
    assert_eq!(put.body[0]["options"][0]["name"], json!("show"));
    assert_eq!(fake.registered_commands().len(), 1);

    // --- slash command: ephemeral defer (type 5, flags 64) then PATCH @original ---
    let it = fake
        .send_interaction_command(ALICE_ID, "budget", "show", vec![])
        .await;
    let callback = fake
        .wait_for_request(|r| r.is_callback_for(&it), WAIT)
        .await
        .unwrap();
    assert_eq!(callback.status, 204);
    assert_eq!(callback.body["type"], json!(5));
    assert_eq!(callback.body["data"]["flags"], json!(64));
    let original = format!("/webhooks/{APPLICATION_ID}/{}/messages/@original", it.token);
    let edit = fake
        .wait_for_request(|r| r.is("PATCH", &original), WAIT)
        .await
        .unwrap();
    assert_eq!(edit.status, 200);
    assert_eq!(edit.body["content"], json!("budget: 100"));
    assert!(edit.at >= callback.at);
    assert_eq!(next_seen(&mut rx).await, Seen::Command("show".into()));
    let resp = fake.original_response(&it).unwrap();
    assert_eq!(resp["content"], json!("budget: 100"));
    assert_eq!(resp["flags"], json!(64), "ephemeral, no longer loading");
    assert!(
        fake.messages_in(GENERAL_CHANNEL_ID).is_empty(),
        "ephemeral responses are not channel-visible"
    );

    // A follow-up through the interaction webhook is stored with the interaction.
    let followup = http
        .create_followup_message(
            &it.token,
            &json!({ "content": "more", "flags": 64 }),
            vec![],
        )
        .await
        .expect("follow-up deserializes");
    assert_eq!(followup.content, "more");
    assert_eq!(fake.interaction_messages(&it).len(), 2);

    // --- typed options from the registered schema, and autocomplete (callback type 8) ---
    let it = fake
        .send_interaction_command(
            BOB_ID,
            "budget",
            "set_daily",
            vec![("coupon", json!("stock-a")), ("amount", json!(250))],
        )
        .await;
    assert_eq!(
        next_seen(&mut rx).await,
        Seen::Command(r#"set_daily coupon=String("stock-a") amount=Integer(250)"#.into())
    );
    fake.wait_for_request(|r| r.is_callback_for(&it), WAIT)
        .await
        .unwrap();
    let ac = fake
        .send_autocomplete(BOB_ID, "budget", "set_daily", "coupon", "sto")
        .await;
    assert_eq!(
        next_seen(&mut rx).await,
        Seen::Autocomplete("coupon=sto".into())
    );
    let ac_cb = fake
        .wait_for_request(|r| r.is_callback_for(&ac), WAIT)
        .await
        .unwrap();
    assert_eq!(ac_cb.body["type"], json!(8));
    assert_eq!(ac_cb.body["data"]["choices"][1]["value"], json!("stock-b"));

    // --- Discord's rules are enforced: a second ack and a stale first ack are rejected ---
    let again = http
        .create_interaction_response(
            InteractionId::new(ac.id),
            &ac.token,
            &CreateInteractionResponse::Acknowledge,
            vec![],
        )
        .await;
    assert_eq!(discord_error_code(again), Some(40060));
    // An autocomplete has no message, so editing @original is "Unknown Message".
    let no_original = http
        .edit_original_interaction_response(&ac.token, &json!({ "content": "x" }), vec![])
        .await;
    assert_eq!(discord_error_code(no_original), Some(10008));

    // --- DM channel: create, fetch, post ---
    let dm = UserId::new(ALICE_ID)
        .create_dm_channel(&http)
        .await
        .expect("DM channel deserializes");
    assert_eq!(fake.dm_channel_of(ALICE_ID), Some(dm.id.get()));
    match http.get_channel(dm.id).await.expect("GET DM channel") {
        Channel::Private(p) => assert_eq!(p.recipient.id.get(), ALICE_ID),
        other => panic!("expected a DM channel, got {other:?}"),
    }
    match http
        .get_channel(ChannelId::new(APPROVALS_CHANNEL_ID))
        .await
        .expect("GET guild channel")
    {
        Channel::Guild(g) => assert_eq!(g.name, "budget-approvals"),
        other => panic!("expected a guild channel, got {other:?}"),
    }
    dm.id
        .say(&http, "your request was approved")
        .await
        .expect("DM message");
    assert_eq!(
        fake.messages_in(dm.id.get())[0]["content"],
        json!("your request was approved")
    );

    // --- a posted approval card (embed + buttons) is recorded and kept as state ---
    let card = ChannelId::new(APPROVALS_CHANNEL_ID)
        .send_message(
            &http,
            CreateMessage::new()
                .content("Budget change request")
                .embed(
                    CreateEmbed::new()
                        .title("Raise daily budget")
                        .field("amount", "100.00", true),
                )
                .components(vec![CreateActionRow::Buttons(vec![
                    CreateButton::new("bgt:v1:req1:approve")
                        .label("Approve")
                        .style(ButtonStyle::Success),
                    CreateButton::new("bgt:v1:req1:reject")
                        .label("Reject")
                        .style(ButtonStyle::Danger),
                ])]),
        )
        .await
        .expect("send_message deserializes the fake's Message");
    let post = fake
        .wait_for_request(
            |r| {
                r.is(
                    "POST",
                    &format!("/channels/{APPROVALS_CHANNEL_ID}/messages"),
                )
            },
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(post.body["embeds"][0]["title"], json!("Raise daily budget"));
    let in_channel = fake.messages_in(APPROVALS_CHANNEL_ID);
    assert_eq!(in_channel.len(), 1);
    assert_eq!(in_channel[0]["id"], json!(card.id.to_string()));
    assert_eq!(
        in_channel[0]["components"][0]["components"][1]["custom_id"],
        json!("bgt:v1:req1:reject")
    );
    assert_eq!(card.components.len(), 1);
    card.react(&http, ReactionType::Unicode("✅".into()))
        .await
        .expect("bot reaction");
    let react_path = format!(
        "/channels/{APPROVALS_CHANNEL_ID}/messages/{}/reactions/✅/@me",
        card.id
    );
    let put_react = fake
        .wait_for_request(|r| r.is("PUT", &react_path), WAIT)
        .await
        .unwrap();
    assert_eq!(put_react.status, 204);
    let fetched = ChannelId::new(APPROVALS_CHANNEL_ID)
        .message(&http, card.id)
        .await
        .expect("GET message");
    assert_eq!(fetched.reactions.len(), 1);
    assert!(fetched.reactions[0].me);

    // --- button click: component interaction acknowledged with type 6 ---
    let click = fake
        .send_component_click(ALICE_ID, card.id.get(), "bgt:v1:req1:approve")
        .await;
    let ack = fake
        .wait_for_request(|r| r.is_callback_for(&click), WAIT)
        .await
        .unwrap();
    assert_eq!(ack.body["type"], json!(6));
    assert_eq!(ack.status, 204);
    assert_eq!(
        next_seen(&mut rx).await,
        Seen::Component("bgt:v1:req1:approve".into())
    );

    // --- reaction: reaches the handler with the member's roles ---
    fake.send_reaction_add(ALICE_ID, APPROVALS_CHANNEL_ID, card.id.get(), "✅")
        .await;
    assert_eq!(
        next_seen(&mut rx).await,
        Seen::Reaction {
            user: ALICE_ID,
            roles: vec![APPROVER_ROLE_ID],
            emoji: "✅".into()
        }
    );
    assert_eq!(
        fake.reactions_on(card.id.get()),
        vec![(
            "✅".to_string(),
            vec![support::fake_discord::BOT_USER_ID, ALICE_ID]
        )]
    );

    // --- unexpected calls are visible as 404 "Unknown route" ---
    let err = http.get_guild_roles(GuildId::new(GUILD_ID)).await;
    assert!(err.is_err());
    let unknown = fake
        .wait_for_request(|r| r.path == format!("/guilds/{GUILD_ID}/roles"), WAIT)
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.response,
        json!({"message": "Unknown route", "code": 0})
    );

    // --- every dispatched payload deserializes with serenity's models ---
    for (t, d) in fake.dispatched_events() {
        serde_json::from_value::<Event>(json!({ "t": t, "d": d }))
            .unwrap_or_else(|e| panic!("{t} does not deserialize: {e}"));
        assert!(!matches!(
            serde_json::from_value::<Event>(json!({ "t": t, "d": d })).unwrap(),
            Event::Unknown(_)
        ));
    }

    // --- disconnect: serenity RESUMEs and keeps receiving events ---
    fake.disconnect_all().await;
    fake.wait_until("a resumed session", WAIT, |f| {
        f.resume_count() == 1 && f.live_sessions() == 1
    })
    .await
    .unwrap();
    fake.send_reaction_add(BOB_ID, APPROVALS_CHANNEL_ID, card.id.get(), "❌")
        .await;
    assert_eq!(
        next_seen(&mut rx).await,
        Seen::Reaction {
            user: BOB_ID,
            roles: vec![REQUESTER_ROLE_ID],
            emoji: "❌".into()
        }
    );

    // --- disconnect with resume refused: serenity re-IDENTIFYs (gets READY again) ---
    fake.set_allow_resume(false);
    fake.set_member_roles(BOB_ID, vec![APPROVER_ROLE_ID]);
    fake.disconnect_all().await;
    // Queued while no session is live; delivered after the next READY.
    fake.send_reaction_add(BOB_ID, APPROVALS_CHANNEL_ID, card.id.get(), "👀")
        .await;
    fake.wait_until("a fresh IDENTIFY", Duration::from_secs(20), |f| {
        f.identify_count() == 2 && f.live_sessions() == 1
    })
    .await
    .unwrap();
    assert_eq!(fake.invalid_session_count(), 1);
    // The ready handler runs again (re-registers commands) and the queued reaction arrives.
    let mut got = vec![next_seen(&mut rx).await, next_seen(&mut rx).await];
    got.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(
        got,
        vec![
            Seen::Reaction {
                user: BOB_ID,
                roles: vec![APPROVER_ROLE_ID],
                emoji: "👀".into()
            },
            Seen::Ready,
        ]
    );
    let it2 = fake
        .send_interaction_command(BOB_ID, "budget", "show", vec![])
        .await;
    assert_eq!(next_seen(&mut rx).await, Seen::Command("show".into()));
    fake.wait_for_request(|r| r.is_callback_for(&it2), WAIT)
        .await
        .unwrap();
    let member_roles: Vec<Value> = fake
        .dispatched_events()
        .into_iter()
        .filter(|(t, _)| t == "INTERACTION_CREATE")
        .map(|(_, d)| d["member"]["roles"].clone())
        .collect();
    assert_eq!(
        member_roles.last(),
        Some(&json!([APPROVER_ROLE_ID.to_string()]))
    );

    shard_manager.shutdown_all().await;
    let res = tokio::time::timeout(WAIT, client_task)
        .await
        .expect("client stops after shutdown_all")
        .expect("client task");
    assert!(res.is_ok(), "client.start returned {res:?}");
}

#[tokio::test]
async fn fake_enforces_discord_rules_over_rest() {
    let fake = FakeDiscord::start(FakeConfig {
        ack_deadline: Some(Duration::ZERO),
        ..FakeConfig::default()
    })
    .await;
    let http = HttpBuilder::new("fake-token")
        .proxy(fake.base_url())
        .ratelimiter_disabled(true)
        .application_id(APPLICATION_ID.into())
        .build();

    // No gateway session: the event is queued, the interaction exists.
    let it = fake
        .send_interaction_command(ALICE_ID, "budget", "show", vec![])
        .await;
    let late = http
        .create_interaction_response(
            InteractionId::new(it.id),
            &it.token,
            &CreateInteractionResponse::Acknowledge,
            vec![],
        )
        .await;
    assert_eq!(
        discord_error_code(late),
        Some(10062),
        "ack after the deadline"
    );

    let bad = CreateCommand::new("Budget").description("upper-case names are rejected");
    let res = GuildId::new(GUILD_ID).set_commands(&http, vec![bad]).await;
    assert_eq!(discord_error_code(res), Some(50035));

    let empty = ChannelId::new(APPROVALS_CHANNEL_ID)
        .send_message(&http, CreateMessage::new())
        .await;
    assert_eq!(discord_error_code(empty), Some(50006));

    let statuses: Vec<(String, u16)> = fake
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("POST".to_string(), 404),
            ("PUT".to_string(), 400),
            ("POST".to_string(), 400)
        ]
    );
}
