//! http mode: Slack POSTs commands, interactions and events to `[slack] listen`. Every
//! request's signature (`v0=` HMAC-SHA256 of `v0:{timestamp}:{raw body}`, checked in constant
//! time by slack-morphism's verifier, which also refuses a timestamp more than 5 minutes off)
//! is checked on the raw body before anything is parsed; a bad one gets 401 and nothing is
//! done. Each request is answered at once and its work spawned.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use slack_morphism::prelude::*;
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use tokio_util::sync::CancellationToken;

use super::handler::SlackBot;
use super::settings::Secret;

struct Shared {
    verifier: SlackEventSignatureVerifier,
    bot: Arc<SlackBot>,
}

/// The running HTTP endpoint.
pub(super) struct HttpListener {
    addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl HttpListener {
    pub(super) async fn start(
        addr: SocketAddr,
        secret: Secret,
        bot: Arc<SlackBot>,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for Slack"))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            verifier: SlackEventSignatureVerifier::new(&SlackSigningSecret(
                secret.expose().to_string(),
            )),
            bot,
        });
        let router = Router::new()
            .route("/slack/commands", post(commands))
            .route("/slack/interactions", post(interactions))
            .route("/slack/events", post(events))
            .with_state(shared);
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the Slack endpoint stopped");
            }
        });
        tracing::info!(%addr, "serving Slack's requests (http mode)");
        Ok(Self { addr, stop, task })
    }

    pub(super) fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub(super) async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

impl Shared {
    /// The body as text when its signature and timestamp check out.
    fn verified<'b>(&self, headers: &HeaderMap, body: &'b Bytes) -> Option<&'b str> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let signature = header(SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER)?;
        let timestamp = header(SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP)?;
        let body = std::str::from_utf8(body).ok()?;
        match self.verifier.verify(signature, body, timestamp) {
            Ok(()) => Some(body),
            Err(e) => {
                tracing::warn!(error = %e, "refused a request with a bad Slack signature");
                None
            }
        }
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "the request's Slack signature or timestamp does not verify",
    )
        .into_response()
}

fn bad_request(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "cannot read a Slack {what}");
    (StatusCode::BAD_REQUEST, format!("not a Slack {what}")).into_response()
}

async fn commands(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(body) = shared.verified(&headers, &body) else {
        return unauthorized();
    };
    match serde_urlencoded::from_str::<SlackCommandEvent>(body) {
        Ok(event) => {
            shared
                .bot
                .spawn(move |bot| async move { bot.command(event).await });
            StatusCode::OK.into_response()
        }
        Err(e) => bad_request("slash command", e),
    }
}

#[derive(serde::Deserialize)]
struct InteractionForm {
    payload: String,
}

async fn interactions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(body) = shared.verified(&headers, &body) else {
        return unauthorized();
    };
    let event = serde_urlencoded::from_str::<InteractionForm>(body)
        .map_err(|e| e.to_string())
        .and_then(|form| {
            serde_json::from_str::<SlackInteractionEvent>(&form.payload).map_err(|e| e.to_string())
        });
    match event {
        Ok(event) => {
            shared
                .bot
                .spawn(move |bot| async move { bot.interaction(event).await });
            StatusCode::OK.into_response()
        }
        Err(e) => bad_request("interaction", e),
    }
}

async fn events(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(body) = shared.verified(&headers, &body) else {
        return unauthorized();
    };
    match serde_json::from_str::<SlackPushEvent>(body) {
        Ok(SlackPushEvent::UrlVerification(check)) => {
            Json(serde_json::json!({ "challenge": check.challenge })).into_response()
        }
        Ok(SlackPushEvent::EventCallback(event)) => {
            // A retried delivery is acknowledged like the first; the event id decides
            // whether it is acted on.
            shared
                .bot
                .spawn(move |bot| async move { bot.push(event).await });
            StatusCode::OK.into_response()
        }
        Ok(SlackPushEvent::AppRateLimited(_)) => {
            tracing::warn!("Slack rate-limited the app's events");
            StatusCode::OK.into_response()
        }
        Err(e) => bad_request("event", e),
    }
}
