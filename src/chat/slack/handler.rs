//! Slack's events, whichever way they arrive (Socket Mode or signed HTTP): each is
//! acknowledged at once and its work spawned, then turned into one app input with the
//! actor's capabilities, and its outcome rendered. Work runs through the runtime, so a
//! shutdown waits for it.

use std::sync::{Arc, OnceLock};

use serde_json::json;
use slack_morphism::prelude::*;

use crate::app::runtime::Runtime;
use crate::app::{messages, AppError, Denial, Input, Outcome};
use crate::chat::{decision_for_emoji, emoji_of, Connection};
use crate::domain::custom_id;
use crate::domain::policy::DenyReason;
use crate::domain::request::{Actor, CardKey, Via};

use super::members::Members;
use super::notifier::PLATFORM;
use super::render::outcome_blocks;
use super::settings::{Client, SlackSettings};

/// The Slack side of the bot: the runtime, the Web API and who may do what.
pub struct SlackBot {
    pub(super) runtime: Runtime,
    settings: SlackSettings,
    client: Arc<Client>,
    token: SlackApiToken,
    members: Members,
    /// The bot's own user id (from `auth.test`): its reactions are not decisions.
    bot_user: OnceLock<String>,
    http: reqwest::Client,
    pub(super) connection: Connection,
}

/// Whether an outcome is a refusal for want of a capability (a group membership that may
/// have changed since the cache was read).
fn lacks_capability(outcome: &Outcome) -> bool {
    matches!(
        outcome.denial(),
        Some(Denial::Policy(
            DenyReason::NotRequester | DenyReason::NotApprover
        ))
    )
}

impl SlackBot {
    pub(super) fn new(
        runtime: Runtime,
        settings: SlackSettings,
        client: Arc<Client>,
        token: SlackApiToken,
    ) -> Self {
        Self {
            members: Members::new(client.clone(), token.clone(), settings.clone()),
            runtime,
            settings,
            client,
            token,
            bot_user: OnceLock::new(),
            http: reqwest::Client::new(),
            connection: Connection::default(),
        }
    }

    /// Learns the bot's own user id; without it its own reactions could count.
    pub(super) async fn identify(&self) -> anyhow::Result<()> {
        let me = self
            .client
            .open_session(&self.token)
            .auth_test()
            .await
            .map_err(|e| anyhow::anyhow!("Slack auth.test failed: {e}"))?;
        let _ = self.bot_user.set(me.user_id.0);
        Ok(())
    }

    /// Runs `act` as `user`; a refusal for want of a capability re-reads the groups once
    /// (unless just read) before it stands.
    async fn as_member<F, Fut>(&self, user: &str, act: F) -> Result<Option<Outcome>, AppError>
    where
        F: Fn(Actor) -> Fut,
        Fut: std::future::Future<Output = Result<Option<Outcome>, AppError>>,
    {
        let (actor, fresh) = self.members.actor(user, false).await;
        let outcome = act(actor).await?;
        if fresh || !outcome.as_ref().is_some_and(lacks_capability) {
            return Ok(outcome);
        }
        let (actor, _) = self.members.actor(user, true).await;
        act(actor).await
    }

    /// Spawns `work` as tracked work and returns at once (the event is acked on return).
    pub(super) fn spawn<F>(self: &Arc<Self>, work: impl FnOnce(Arc<Self>) -> F + Send + 'static)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let bot = self.clone();
        tokio::spawn(async move {
            let runtime = bot.runtime.clone();
            runtime.run(work(bot)).await
        });
    }

    /// `/budget <text>`: the answer goes to the command's `response_url`, in the channel for
    /// `show` (and `pending`, `history`), privately otherwise.
    pub(super) async fn command(&self, event: SlackCommandEvent) {
        crate::ops::metrics::chat_event(PLATFORM, "command");
        let text = event.text.as_deref().unwrap_or("").trim();
        let text = if text.is_empty() { "help" } else { text };
        let input = Input::Text(format!("/budget {text}"));
        let app = self.runtime.app();
        let outcome = self
            .as_member(&event.user_id.0, |actor| {
                let input = input.clone();
                async move { app.handle(&actor, input).await.map(Some) }
            })
            .await;
        let body = match outcome {
            Ok(Some(outcome)) => {
                let mut text = messages::outcome(self.settings.lang, &outcome);
                if let Outcome::Created(request) = &outcome {
                    if let Some(link) = self.card_link(request.card.as_ref()).await {
                        text.push_str(&messages::card_link_line(self.settings.lang, &link));
                    }
                }
                let public = !outcome.is_private();
                let mut body = json!({
                    "response_type": if public { "in_channel" } else { "ephemeral" },
                    "text": text,
                });
                if let Some(blocks) = outcome_blocks(self.settings.lang, &outcome) {
                    body["blocks"] = serde_json::to_value(blocks).unwrap_or_default();
                }
                body
            }
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "command failed");
                json!({"response_type": "ephemeral", "text": messages::internal_error(self.settings.lang, &e)})
            }
        };
        self.respond(&event.response_url, &body).await;
    }

    /// A link to a card, for the requester's reply.
    async fn card_link(&self, card: Option<&crate::domain::request::CardRef>) -> Option<String> {
        let card = card?;
        let answer = self
            .client
            .open_session(&self.token)
            .chat_get_permalink(&SlackApiChatGetPermalinkRequest::new(
                SlackChannelId(card.channel_id.clone()),
                SlackTs(card.message_id.clone()),
            ))
            .await;
        match answer {
            Ok(link) => Some(link.permalink.to_string()),
            Err(e) => {
                tracing::warn!(error = %e, "could not get the card's link");
                None
            }
        }
    }

    async fn respond(&self, url: &SlackResponseUrl, body: &serde_json::Value) {
        let sent = self
            .http
            .post(url.0.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        match sent.map(|r| r.error_for_status()) {
            Ok(Ok(_)) => {}
            // The URL carries a one-time secret: the error is logged without it.
            Ok(Err(e)) => tracing::error!(status = ?e.status(), "Slack refused the reply"),
            Err(e) => tracing::error!(error = %e.without_url(), "could not send the reply"),
        }
    }

    async fn ephemeral(&self, channel: &str, user: &str, text: &str) {
        let sent = self
            .client
            .open_session(&self.token)
            .chat_post_ephemeral(&SlackApiChatPostEphemeralRequest::new(
                SlackChannelId(channel.to_string()),
                SlackUserId(user.to_string()),
                SlackMessageContent::new().with_text(text.to_string()),
            ))
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not send an ephemeral message");
        }
    }

    /// A click on a card's Approve or Reject.
    pub(super) async fn interaction(&self, event: SlackInteractionEvent) {
        let SlackInteractionEvent::BlockActions(click) = event else {
            return;
        };
        crate::ops::metrics::chat_event(PLATFORM, "button");
        let Some(user) = click.user.as_ref().map(|u| u.id.0.clone()) else {
            return;
        };
        let channel = click
            .channel
            .as_ref()
            .map(|c| c.id.0.clone())
            .unwrap_or_else(|| self.settings.approvals_channel.clone());
        for action in click.actions.iter().flatten() {
            let Some((request, decision)) = custom_id::decode(&action.action_id.0) else {
                continue;
            };
            let app = self.runtime.app();
            let outcome = self
                .as_member(&user, |actor| {
                    let request = request.to_string();
                    async move {
                        let input = Input::Decide {
                            request,
                            decision,
                            via: Via::Button,
                        };
                        app.handle(&actor, input).await.map(Some)
                    }
                })
                .await;
            let text = match outcome {
                Ok(Some(outcome)) => messages::outcome(self.settings.lang, &outcome),
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "button decision failed");
                    messages::internal_error(self.settings.lang, &e)
                }
            };
            self.ephemeral(&channel, &user, &text).await;
        }
    }

    /// An Events API delivery: acted on once per `event_id`, however often it is delivered.
    pub(super) async fn push(&self, event: SlackPushEventCallback) {
        let SlackEventCallbackBody::ReactionAdded(reaction) = event.event else {
            return;
        };
        crate::ops::metrics::chat_event(PLATFORM, "reaction");
        if !self.first_delivery(&event.event_id.0) {
            tracing::info!(event_id = %event.event_id.0, "event delivered again; already handled");
            return;
        }
        let user = reaction.user.0;
        if Some(&user) == self.bot_user.get() {
            return;
        }
        let Some(decision) = decision_for_emoji(&format!(":{}:", reaction.reaction.0)) else {
            return;
        };
        let SlackReactionsItem::Message(message) = reaction.item else {
            return;
        };
        let Some(channel) = message.origin.channel.map(|c| c.0) else {
            return;
        };
        let card = CardKey::new(PLATFORM, &channel, &message.origin.ts.0);
        let app = self.runtime.app();
        let outcome = self
            .as_member(&user, |actor| {
                let card = card.clone();
                async move {
                    app.decide_on_card(&actor, &card, decision, Via::Reaction)
                        .await
                }
            })
            .await;
        let emoji = emoji_of(decision);
        let reason = match outcome {
            Ok(Some(outcome)) => match outcome.denial() {
                Some(denied) => messages::reaction_not_counted(
                    self.settings.lang,
                    emoji,
                    &messages::denial(self.settings.lang, denied),
                ),
                None => return,
            },
            // Elsewhere a ✅ is anyone's business; in the approvals channel it was meant as a
            // decision, and no decision may vanish without a word.
            Ok(None) if channel == self.settings.approvals_channel => {
                messages::reaction_on_no_card(self.settings.lang, emoji)
            }
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "reaction decision failed");
                messages::reaction_not_counted(
                    self.settings.lang,
                    emoji,
                    &messages::internal_error(self.settings.lang, &e),
                )
            }
        };
        self.ephemeral(&channel, &user, &reason).await;
    }

    /// True the first time `event_id` is seen, across restarts: the claim is a mark in the
    /// store, set atomically and durably only if absent (leases would not do: the sled store
    /// clears them on open, as they belong to a process that died).
    fn first_delivery(&self, event_id: &str) -> bool {
        let key = format!("{PLATFORM}-event:{event_id}");
        let seen = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string();
        match self
            .runtime
            .app()
            .store()
            .swap_mark(&key, None, Some(&seen))
        {
            Ok(first) => first,
            Err(e) => {
                // Acting twice could double a decision's notice; not acting loses a reaction
                // the user can repeat. The store is failing anyway: don't act.
                tracing::error!(error = %e, "cannot record the event id; not acting on it");
                false
            }
        }
    }
}
