//! `[slack]`: the Slack adapter's channels, who may request and approve, and how Slack reaches
//! the bot. Only `run` needs it; tokens come from the environment or files, never from here.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// How Slack delivers events to the bot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlackMode {
    /// Socket Mode: the bot dials out over a WebSocket; no public URL needed.
    #[default]
    Socket,
    /// Slack POSTs to `listen` (behind a public URL), each request signed.
    Http,
}

/// `[slack]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// File holding the bot token (xoxb-…); the env var `SLACK_BOT_TOKEN` takes precedence.
    #[serde(default)]
    pub bot_token_path: Option<PathBuf>,
    /// File holding the app-level token (xapp-…) for Socket Mode; `SLACK_APP_TOKEN` first.
    #[serde(default)]
    pub app_token_path: Option<PathBuf>,
    /// File holding the signing secret for http mode; `SLACK_SIGNING_SECRET` first.
    #[serde(default)]
    pub signing_secret_path: Option<PathBuf>,
    #[serde(default)]
    pub mode: SlackMode,
    /// http mode: where /slack/commands, /slack/interactions and /slack/events are served.
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    pub approvals_channel_id: String,
    pub notifications_channel_id: String,
    #[serde(default)]
    pub requester_group_ids: Vec<String>,
    #[serde(default)]
    pub approver_group_ids: Vec<String>,
    #[serde(default)]
    pub requester_user_ids: Vec<String>,
    #[serde(default)]
    pub approver_user_ids: Vec<String>,
    /// The Web API base without a trailing slash (a proxy, or a test fake); Slack's otherwise.
    #[serde(default)]
    pub api_base_url: Option<String>,
}
