//! `[slack]` with its ids checked, the tokens (never printed), and the Web API client.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use slack_morphism::prelude::*;

use crate::app::runtime::SWEEP_INTERVAL;
use crate::config::{SlackConfig, SlackMode};

/// Env vars holding the secrets; each may instead come from the file named in `[slack]`.
pub const BOT_TOKEN_ENV: &str = "SLACK_BOT_TOKEN";
pub const APP_TOKEN_ENV: &str = "SLACK_APP_TOKEN";
pub const SIGNING_SECRET_ENV: &str = "SLACK_SIGNING_SECRET";

/// How long a read of the user groups' members is trusted.
pub const MEMBERSHIP_TTL: Duration = Duration::from_secs(60);

/// The Web API client over a connector that speaks http:// too (a proxy or a test fake) and
/// HTTP/1.1 (slack-morphism's default connector is https-only HTTP/2).
pub type Client = SlackClient<SlackClientHyperHttpsConnector>;

/// A token or secret. Never printed: `Debug` is redacted and it is not `Display`.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub(super) fn api_token(&self) -> SlackApiToken {
        SlackApiToken::new(SlackApiTokenValue(self.0.clone()))
    }

    /// `env`, else the file at `path` (relative to the config's folder).
    fn load(env: &str, path: Option<&Path>, key: &str, base_dir: &Path) -> anyhow::Result<Self> {
        if let Ok(value) = std::env::var(env) {
            if !value.trim().is_empty() {
                return Ok(Self(value.trim().to_string()));
            }
        }
        let Some(path) = path else {
            anyhow::bail!("no {key}: set the env var {env} or {key}_path in [slack]");
        };
        let path = base_dir.join(path);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the Slack {key} file {}", path.display()))?;
        let value = text.trim();
        if value.is_empty() {
            anyhow::bail!("the Slack {key} file {} is empty", path.display());
        }
        Ok(Self(value.to_string()))
    }
}

/// The bot token, and the app token (socket mode) or signing secret (http mode).
#[derive(Clone, Debug)]
pub struct SlackTokens {
    pub bot: Secret,
    pub app: Option<Secret>,
    pub signing_secret: Option<Secret>,
}

impl SlackTokens {
    /// What `mode` needs, from the environment or the files named in `[slack]`.
    pub fn load(config: &SlackConfig, base_dir: &Path) -> anyhow::Result<Self> {
        let bot = Secret::load(
            BOT_TOKEN_ENV,
            config.bot_token_path.as_deref(),
            "bot_token",
            base_dir,
        )?;
        let (app, signing_secret) = match config.mode {
            SlackMode::Socket => (
                Some(Secret::load(
                    APP_TOKEN_ENV,
                    config.app_token_path.as_deref(),
                    "app_token",
                    base_dir,
                )?),
                None,
            ),
            SlackMode::Http => (
                None,
                Some(Secret::load(
                    SIGNING_SECRET_ENV,
                    config.signing_secret_path.as_deref(),
                    "signing_secret",
                    base_dir,
                )?),
            ),
        };
        Ok(Self {
            bot,
            app,
            signing_secret,
        })
    }
}

/// `[slack]` with its ids checked.
#[derive(Clone, Debug)]
pub struct SlackSettings {
    /// The language every reply, card and notice is written in (`[display] language`; Slack
    /// tells no reader's locale, so `auto` reads as English).
    pub lang: crate::i18n::Lang,
    pub mode: SlackMode,
    pub listen: Option<SocketAddr>,
    pub approvals_channel: String,
    pub notifications_channel: String,
    pub requester_groups: Vec<String>,
    pub approver_groups: Vec<String>,
    pub requester_users: BTreeSet<String>,
    pub approver_users: BTreeSet<String>,
    pub api_base_url: Option<String>,
    /// How often expiry and unresolved requests are swept (with Slack alone).
    pub sweep_interval: Duration,
    /// How long a read of group members is trusted ([`MEMBERSHIP_TTL`]).
    pub membership_ttl: Duration,
}

/// A Slack id: an uppercase letter for its kind, then uppercase letters and digits.
fn slack_id(key: &str, value: &str, kinds: &str, how: &str) -> anyhow::Result<String> {
    let v = value.trim();
    let ok = v.len() >= 3
        && v.starts_with(|c: char| kinds.contains(c))
        && v.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok {
        Ok(v.to_string())
    } else {
        anyhow::bail!("[slack] {key} `{value}` is not a Slack id ({how})")
    }
}

const CHANNEL_HOW: &str =
    "a channel id starts with C or G: open the channel's details, the id is at the bottom";
const GROUP_HOW: &str = "a user-group id starts with S: open the group in People → User groups and copy it from the URL or ⋮ → Copy group ID";
const USER_HOW: &str = "a member id starts with U or W: open the profile, ⋮ → Copy member ID";

impl SlackSettings {
    pub fn from_config(config: &SlackConfig) -> anyhow::Result<Self> {
        let ids = |key: &str, values: &[String], kinds: &str, how: &str| {
            values
                .iter()
                .map(|v| slack_id(key, v, kinds, how))
                .collect::<anyhow::Result<Vec<_>>>()
        };
        if config.mode == SlackMode::Http && config.listen.is_none() {
            anyhow::bail!(
                "[slack] mode = \"http\" needs listen = \"0.0.0.0:3000\" (where Slack's requests arrive)"
            );
        }
        let settings = Self {
            mode: config.mode,
            listen: config.listen,
            approvals_channel: slack_id(
                "approvals_channel_id",
                &config.approvals_channel_id,
                "CG",
                CHANNEL_HOW,
            )?,
            notifications_channel: slack_id(
                "notifications_channel_id",
                &config.notifications_channel_id,
                "CG",
                CHANNEL_HOW,
            )?,
            requester_groups: ids(
                "requester_group_ids",
                &config.requester_group_ids,
                "S",
                GROUP_HOW,
            )?,
            approver_groups: ids(
                "approver_group_ids",
                &config.approver_group_ids,
                "S",
                GROUP_HOW,
            )?,
            requester_users: ids(
                "requester_user_ids",
                &config.requester_user_ids,
                "UW",
                USER_HOW,
            )?
            .into_iter()
            .collect(),
            approver_users: ids(
                "approver_user_ids",
                &config.approver_user_ids,
                "UW",
                USER_HOW,
            )?
            .into_iter()
            .collect(),
            api_base_url: config
                .api_base_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            sweep_interval: SWEEP_INTERVAL,
            membership_ttl: MEMBERSHIP_TTL,
            lang: crate::i18n::Lang::En,
        };
        if settings.approver_groups.is_empty() && settings.approver_users.is_empty() {
            anyhow::bail!(
                "[slack] approver_group_ids and approver_user_ids are both empty: nobody could approve"
            );
        }
        Ok(settings)
    }

    /// Who may approve, as Slack mentions (`<!subteam^S…>`, `<@U…>`).
    pub(super) fn approver_mentions(&self) -> String {
        let groups = self
            .approver_groups
            .iter()
            .map(|g| format!("<!subteam^{g}>"));
        let users = self.approver_users.iter().map(|u| format!("<@{u}>"));
        groups.chain(users).collect::<Vec<_>>().join(" ")
    }
}

/// The Web API client: to Slack, or to `api_base_url` (a proxy or a test fake).
pub fn client(api_base_url: Option<&str>) -> anyhow::Result<Arc<Client>> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .context("cannot load the system's root certificates")?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    let mut connector = SlackClientHyperConnector::with_connector(https);
    if let Some(url) = api_base_url {
        connector = connector.with_slack_api_url(url.trim_end_matches('/'));
    }
    Ok(Arc::new(SlackClient::new(connector)))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn config() -> SlackConfig {
        SlackConfig {
            bot_token_path: None,
            app_token_path: None,
            signing_secret_path: None,
            mode: SlackMode::Socket,
            listen: None,
            approvals_channel_id: "C0123456789".into(),
            notifications_channel_id: "C0999".into(),
            requester_group_ids: vec!["S01".into()],
            approver_group_ids: vec!["S02".into()],
            requester_user_ids: vec![],
            approver_user_ids: vec!["U07".into()],
            api_base_url: Some("http://127.0.0.1:9/api/".into()),
        }
    }

    #[test]
    fn ids_are_checked_and_say_where_to_find_them() {
        let s = SlackSettings::from_config(&config()).unwrap();
        assert_eq!(s.api_base_url.as_deref(), Some("http://127.0.0.1:9/api"));
        assert_eq!(s.approver_mentions(), "<!subteam^S02> <@U07>");
        let mut bad = config();
        bad.approvals_channel_id = "#approvals".into();
        let err = SlackSettings::from_config(&bad).unwrap_err().to_string();
        assert!(
            err.contains("approvals_channel_id") && err.contains("starts with C"),
            "{err}"
        );
        let mut bad = config();
        bad.approver_group_ids = vec!["U01".into()];
        let err = SlackSettings::from_config(&bad).unwrap_err().to_string();
        assert!(err.contains("user-group id starts with S"), "{err}");
        let mut nobody = config();
        nobody.approver_group_ids.clear();
        nobody.approver_user_ids.clear();
        assert!(SlackSettings::from_config(&nobody)
            .unwrap_err()
            .to_string()
            .contains("nobody could approve"));
        let mut http = config();
        http.mode = SlackMode::Http;
        assert!(SlackSettings::from_config(&http)
            .unwrap_err()
            .to_string()
            .contains("listen"));
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("xoxb-very-secret");
        assert!(!format!("{secret:?}").contains("xoxb"));
        let tokens = SlackTokens {
            bot: secret.clone(),
            app: Some(Secret::new("xapp-secret")),
            signing_secret: None,
        };
        let shown = format!("{tokens:?}");
        assert!(
            !shown.contains("xoxb") && !shown.contains("xapp"),
            "{shown}"
        );
    }
}
