//! A fake Slack for integration tests of the Slack adapter: the Web API methods the bot calls
//! (`/api/<method>`, GET or POST, JSON or form bodies), `apps.connections.open` naming a Socket
//! Mode WebSocket on the same server (`hello`, envelopes of type `slash_commands`,
//! `interactive` and `events_api`, acks by `envelope_id`, redelivery of an unacked envelope
//! with a higher `retry_attempt`), and the commands' `response_url`s. Every call is recorded.
//! Listens on 127.0.0.1 only.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::mpsc;

pub const TEAM_ID: &str = "T0FAKE";
pub const APP_ID: &str = "A0FAKE";
pub const BOT_USER: &str = "U0BOT";
/// In the requesters' group.
pub const ALICE: &str = "U0ALICE";
/// In the approvers' group.
pub const BOB: &str = "U0BOB";
/// In both groups.
pub const CAROL: &str = "U0CAROL";
/// In neither group.
pub const DAVE: &str = "U0DAVE";
pub const REQUESTERS: &str = "S0REQ";
pub const APPROVERS: &str = "S0APP";
pub const APPROVALS: &str = "C0APPROVALS";
pub const NOTIFICATIONS: &str = "C0NOTIFY";
pub const GENERAL: &str = "C0GENERAL";

/// One Web API call as the fake received it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    /// Query and body parameters merged (JSON bodies as they are).
    pub params: Value,
    pub authorization: Option<String>,
    pub at: Instant,
}

/// One Socket Mode envelope sent to the bot.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub id: String,
    pub kind: String,
    pub payload: Value,
    pub sent: Vec<Instant>,
    pub acked_at: Option<Instant>,
    pub ack: Option<Value>,
}

#[derive(Default)]
struct State0 {
    calls: Vec<Call>,
    /// Messages by (channel, ts), as last posted or updated.
    messages: BTreeMap<(String, String), Value>,
    reactions: Vec<(String, String, String, String)>,
    responses: Vec<(String, Value, Instant)>,
    groups: HashMap<String, Vec<String>>,
    sockets: Vec<mpsc::UnboundedSender<String>>,
    envelopes: Vec<Envelope>,
    next: u64,
}

#[derive(Clone)]
pub struct FakeSlack {
    addr: SocketAddr,
    state: Arc<Mutex<State0>>,
    /// How long an envelope may wait for its ack before it is delivered again.
    pub ack_deadline: Duration,
}

type Shared = Arc<Mutex<State0>>;

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let state: Shared = Arc::default();
        {
            let mut s = state.lock().unwrap();
            s.groups
                .insert(REQUESTERS.into(), vec![ALICE.into(), CAROL.into()]);
            s.groups
                .insert(APPROVERS.into(), vec![BOB.into(), CAROL.into()]);
            s.next = 1_700_000_000;
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/api/{method}", any(api))
            .route("/response/{id}", post(response))
            .route("/ws", get(ws))
            .with_state((state.clone(), addr));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeSlack {
            addr,
            state,
            ack_deadline: Duration::from_secs(3),
        }
    }

    /// The Web API base for `[slack] api_base_url`.
    pub fn api_base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub fn set_group(&self, group: &str, members: &[&str]) {
        self.state.lock().unwrap().groups.insert(
            group.into(),
            members.iter().map(|m| m.to_string()).collect(),
        );
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Messages in `channel`, oldest first, as they stand now.
    pub fn messages_in(&self, channel: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .messages
            .iter()
            .filter(|((c, _), _)| c == channel)
            .map(|(_, m)| m.clone())
            .collect()
    }

    /// (reaction, user) on a message.
    pub fn reactions_on(&self, channel: &str, ts: &str) -> Vec<(String, String)> {
        self.state
            .lock()
            .unwrap()
            .reactions
            .iter()
            .filter(|(c, t, _, _)| c == channel && t == ts)
            .map(|(_, _, name, user)| (name.clone(), user.clone()))
            .collect()
    }

    /// What was posted to the `response_url` of `envelope`'s command.
    pub fn responses_to(&self, envelope: &str) -> Vec<(Value, Instant)> {
        self.state
            .lock()
            .unwrap()
            .responses
            .iter()
            .filter(|(id, _, _)| id == envelope)
            .map(|(_, v, at)| (v.clone(), *at))
            .collect()
    }

    /// Ephemeral messages to `user` (`chat.postEphemeral`), oldest first.
    pub fn ephemerals_to(&self, user: &str) -> Vec<String> {
        self.calls_to("chat.postEphemeral")
            .into_iter()
            .filter(|c| c.params["user"] == user)
            .map(|c| c.params["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub fn envelope(&self, id: &str) -> Envelope {
        self.state
            .lock()
            .unwrap()
            .envelopes
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .expect("a sent envelope")
    }

    pub fn connections(&self) -> usize {
        self.state
            .lock()
            .unwrap()
            .sockets
            .iter()
            .filter(|s| !s.is_closed())
            .count()
    }

    /// Polls `pred` until it holds, or fails after `wait` saying `what`.
    pub async fn wait_until(&self, what: &str, wait: Duration, pred: impl Fn(&FakeSlack) -> bool) {
        let deadline = Instant::now() + wait;
        while !pred(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends an envelope over a live Socket Mode connection; redelivers it with a higher
    /// `retry_attempt` while it is not acked within [`FakeSlack::ack_deadline`] (twice at most).
    pub fn send(&self, kind: &str, payload: Value) -> String {
        let id = self.next_envelope_id();
        self.send_as(&id, kind, payload);
        id
    }

    fn next_envelope_id(&self) -> String {
        let mut s = self.state.lock().unwrap();
        s.next += 1;
        format!("env-{}", s.next)
    }

    fn send_as(&self, id: &str, kind: &str, payload: Value) {
        let id = {
            let mut s = self.state.lock().unwrap();
            let id = id.to_string();
            s.envelopes.push(Envelope {
                id: id.clone(),
                kind: kind.into(),
                payload,
                sent: vec![],
                acked_at: None,
                ack: None,
            });
            id
        };
        self.deliver(&id, 0);
        let fake = self.clone();
        let envelope = id.clone();
        tokio::spawn(async move {
            for attempt in 1..=2 {
                tokio::time::sleep(fake.ack_deadline).await;
                if fake.envelope(&envelope).acked_at.is_some() {
                    return;
                }
                fake.deliver(&envelope, attempt);
            }
        });
    }

    /// Delivers `envelope` again as Slack does when it did not see the ack in time.
    pub fn redeliver(&self, envelope: &str) {
        let attempts = self.envelope(envelope).sent.len() as u64;
        self.deliver(envelope, attempts);
    }

    fn deliver(&self, id: &str, retry_attempt: u64) {
        let mut s = self.state.lock().unwrap();
        let envelope = s.envelopes.iter().find(|e| e.id == id).unwrap().clone();
        let frame = json!({
            "type": envelope.kind,
            "envelope_id": envelope.id,
            "payload": envelope.payload,
            "accepts_response_payload": envelope.kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": if retry_attempt == 0 { "" } else { "timeout" },
        })
        .to_string();
        s.sockets.retain(|socket| !socket.is_closed());
        let sent = s
            .sockets
            .iter()
            .rev()
            .any(|socket| socket.send(frame.clone()).is_ok());
        assert!(sent, "no live Socket Mode connection to deliver {id} on");
        let e = s.envelopes.iter_mut().find(|e| e.id == id).unwrap();
        e.sent.push(Instant::now());
    }

    fn response_url(&self, envelope_hint: &str) -> String {
        format!("http://{}/response/{envelope_hint}", self.addr)
    }

    /// `/budget <text>` from `user` in `channel`; returns the envelope id, which also names
    /// its `response_url`.
    pub fn command(&self, user: &str, channel: &str, text: &str) -> String {
        let id = self.next_envelope_id();
        let payload = json!({
            "token": "verification-token-unused",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.to_lowercase(),
            "command": "/budget",
            "text": text,
            "api_app_id": APP_ID,
            "response_url": self.response_url(&id),
            "trigger_id": format!("trigger-{id}"),
        });
        self.send_as(&id, "slash_commands", payload);
        id
    }

    /// The payload of a click on the card's button whose action id ends with `action`.
    pub fn click(&self, user: &str, card: &Value, action: &str) -> String {
        let action_id = button_id(card, action);
        let payload = json!({
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "fake"},
            "user": {"id": user, "username": user.to_lowercase(), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "container": {"type": "message", "message_ts": card["ts"], "channel_id": card["channel"], "is_ephemeral": false},
            "trigger_id": "trigger-click",
            "channel": {"id": card["channel"], "name": "approvals"},
            "response_url": self.response_url("click"),
            "actions": [{
                "type": "button",
                "action_id": action_id,
                "block_id": "card",
                "value": card_value(card, action),
                "action_ts": "1700000000.000001"
            }],
        });
        self.send("interactive", payload)
    }

    /// A `reaction_added` event with `event_id`.
    pub fn react(
        &self,
        user: &str,
        channel: &str,
        ts: &str,
        reaction: &str,
        event_id: &str,
    ) -> String {
        let payload = reaction_event(user, channel, ts, reaction, event_id);
        self.send("events_api", payload)
    }
}

/// An Events API `event_callback` carrying `reaction_added`.
pub fn reaction_event(
    user: &str,
    channel: &str,
    ts: &str,
    reaction: &str,
    event_id: &str,
) -> Value {
    json!({
        "token": "verification-token-unused",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "event": {
            "type": "reaction_added",
            "user": user,
            "reaction": reaction,
            "item_user": BOT_USER,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": "1700000000.000100"
        }
    })
}

/// The `action_id` of the card's button whose id ends with `:{action}`.
pub fn button_id(card: &Value, action: &str) -> String {
    buttons(card)
        .into_iter()
        .find(|b| {
            b["action_id"]
                .as_str()
                .unwrap_or("")
                .ends_with(&format!(":{action}"))
        })
        .map(|b| b["action_id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| format!("no-{action}-button"))
}

fn card_value(card: &Value, action: &str) -> Value {
    buttons(card)
        .into_iter()
        .find(|b| {
            b["action_id"]
                .as_str()
                .unwrap_or("")
                .ends_with(&format!(":{action}"))
        })
        .map(|b| b["value"].clone())
        .unwrap_or(Value::Null)
}

/// Every button of a message's blocks.
pub fn buttons(message: &Value) -> Vec<Value> {
    message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["type"] == "button")
        .collect()
}

/// A message's blocks' text, joined (headers, sections, fields, context).
pub fn blocks_text(message: &Value) -> String {
    let mut out = Vec::new();
    for block in message["blocks"].as_array().into_iter().flatten() {
        if let Some(t) = block["text"]["text"].as_str() {
            out.push(t.to_string());
        }
        for f in block["fields"].as_array().into_iter().flatten() {
            out.push(f["text"].as_str().unwrap_or_default().to_string());
        }
        for e in block["elements"].as_array().into_iter().flatten() {
            if let Some(t) = e["text"].as_str() {
                out.push(t.to_string());
            }
        }
    }
    out.join("\n")
}

fn merge(query: HashMap<String, String>, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut params = serde_json::Map::new();
    for (k, v) in query {
        params.insert(k, Value::String(v));
    }
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    if json_body {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            params.extend(map);
        }
    } else if let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        for (k, v) in form {
            let v = serde_json::from_str::<Value>(&v)
                .ok()
                .filter(|v| v.is_array() || v.is_object())
                .unwrap_or(Value::String(v));
            params.insert(k, v);
        }
    }
    Value::Object(params)
}

async fn api(
    State((state, addr)): State<(Shared, SocketAddr)>,
    Path(method): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let params = merge(query, &headers, &body);
    let mut s = state.lock().unwrap();
    s.calls.push(Call {
        method: method.clone(),
        params: params.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        at: Instant::now(),
    });
    let str_of = |k: &str| params[k].as_str().unwrap_or_default().to_string();
    let answer = match method.as_str() {
        "auth.test" => {
            json!({"ok": true, "user_id": BOT_USER, "team_id": TEAM_ID, "user": "budget-bot",
            "team": "Fake", "bot_id": "B0BOT", "url": "https://fake.slack.com/"})
        }
        "apps.connections.open" => json!({"ok": true, "url": format!("ws://{addr}/ws")}),
        "chat.postMessage" => {
            s.next += 1;
            let ts = format!("{}.000{}", s.next, s.next % 1000);
            let channel = str_of("channel");
            let message = json!({"channel": channel, "ts": ts, "text": params["text"], "blocks": params["blocks"],
                "thread_ts": params["thread_ts"]});
            s.messages.insert((channel.clone(), ts.clone()), message);
            json!({"ok": true, "channel": channel, "ts": ts, "message": {"ts": ts, "text": params["text"]}})
        }
        "chat.update" => {
            let key = (str_of("channel"), str_of("ts"));
            match s.messages.get_mut(&key) {
                Some(m) => {
                    m["text"] = params["text"].clone();
                    m["blocks"] = params["blocks"].clone();
                    json!({"ok": true, "channel": key.0, "ts": key.1, "text": params["text"]})
                }
                None => json!({"ok": false, "error": "message_not_found"}),
            }
        }
        "chat.postEphemeral" => json!({"ok": true, "message_ts": "1700000000.999999"}),
        "chat.getPermalink" => json!({"ok": true, "channel": str_of("channel"),
            "permalink": format!("https://fake.slack.com/archives/{}/p{}", str_of("channel"), str_of("message_ts").replace('.', ""))}),
        "reactions.add" => {
            let entry = (
                str_of("channel"),
                str_of("timestamp"),
                str_of("name"),
                BOT_USER.to_string(),
            );
            s.reactions.push(entry);
            json!({"ok": true})
        }
        "usergroups.users.list" => match s.groups.get(&str_of("usergroup")) {
            Some(users) => json!({"ok": true, "users": users}),
            None => json!({"ok": false, "error": "no_such_subteam"}),
        },
        "conversations.info" => {
            let channel = str_of("channel");
            if [APPROVALS, NOTIFICATIONS, GENERAL].contains(&channel.as_str()) {
                json!({"ok": true, "channel": {"id": channel, "created": 1_600_000_000,
                    "name": channel.to_lowercase(), "is_channel": true, "is_archived": false,
                    "is_member": true}})
            } else {
                json!({"ok": false, "error": "channel_not_found"})
            }
        }
        "usergroups.list" => {
            let groups: Vec<Value> = s
                .groups
                .keys()
                .map(|id| {
                    json!({"id": id, "team_id": TEAM_ID, "name": id, "handle": id.to_lowercase(),
                    "is_external": false, "date_create": 1_600_000_000, "created_by": BOT_USER,
                    "prefs": {"channels": [], "groups": []}, "user_count": 2})
                })
                .collect();
            json!({"ok": true, "usergroups": groups})
        }
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    Json(answer)
}

async fn response(
    State((state, _)): State<(Shared, SocketAddr)>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> impl IntoResponse {
    state
        .lock()
        .unwrap()
        .responses
        .push((id, body, Instant::now()));
    Json(json!({"ok": true}))
}

async fn ws(
    State((state, _)): State<(Shared, SocketAddr)>,
    upgrade: WebSocketUpgrade,
) -> impl IntoResponse {
    upgrade.on_upgrade(move |socket| session(socket, state))
}

async fn session(mut socket: WebSocket, state: Shared) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let hello = json!({"type": "hello", "num_connections": 1,
        "debug_info": {"host": "fake-slack"}, "connection_info": {"app_id": APP_ID}});
    if socket
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    state.lock().unwrap().sockets.push(tx);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(frame) => if socket.send(WsMessage::Text(frame.into())).await.is_err() { return },
                None => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if let Ok(ack) = serde_json::from_str::<Value>(&text) {
                        if let Some(id) = ack["envelope_id"].as_str() {
                            let mut s = state.lock().unwrap();
                            if let Some(e) = s.envelopes.iter_mut().find(|e| e.id == id) {
                                e.acked_at.get_or_insert(Instant::now());
                                e.ack = Some(ack.clone());
                            }
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}
