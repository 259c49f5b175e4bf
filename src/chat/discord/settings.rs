//! `[discord]` with its ids parsed, the bot token (never printed), the actor behind an event
//! and the HTTP client.

use anyhow::Context;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serenity::all::{ChannelId, GuildId, Http, HttpBuilder, RoleId, UserId};

use crate::app::runtime::SWEEP_INTERVAL;
use crate::config::{Capability, DiscordConfig, Language};
use crate::domain::request::Actor;
use crate::i18n::Lang;

use super::{GATEWAY_ATTEMPT_TIMEOUT, GATEWAY_RETRY_DELAY};

/// How often pending requests are checked for expiry, and unconfirmed ones retried.
pub const EXPIRY_SWEEP_INTERVAL: Duration = SWEEP_INTERVAL;

/// Env var holding the bot token.
pub const TOKEN_ENV: &str = "DISCORD_TOKEN";

/// The bot token. Never printed: `Debug` is redacted and it is not `Display`.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// `DISCORD_TOKEN`, else the file at `token_path` (relative to the config's folder).
    pub fn load(config: &DiscordConfig, base_dir: &Path) -> anyhow::Result<Self> {
        if let Ok(token) = std::env::var(TOKEN_ENV) {
            if !token.trim().is_empty() {
                return Ok(Self(token.trim().to_string()));
            }
        }
        let Some(path) = &config.token_path else {
            anyhow::bail!(
                "no Discord bot token: set the env var {TOKEN_ENV} or token_path in [discord]"
            );
        };
        let path = base_dir.join(path);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the Discord token file {}", path.display()))?;
        let token = text.trim();
        if token.is_empty() {
            anyhow::bail!("the Discord token file {} is empty", path.display());
        }
        Ok(Self(token.to_string()))
    }
}

/// `[discord]` with its ids parsed.
#[derive(Clone, Debug)]
pub struct DiscordSettings {
    pub guild_id: GuildId,
    pub approvals_channel: ChannelId,
    pub notifications_channel: ChannelId,
    pub requester_roles: HashSet<RoleId>,
    pub approver_roles: HashSet<RoleId>,
    pub api_base_url: Option<String>,
    /// How often expiry and unresolved requests are swept ([`EXPIRY_SWEEP_INTERVAL`]).
    pub sweep_interval: Duration,
    /// One ask for the gateway URL ([`GATEWAY_ATTEMPT_TIMEOUT`]).
    pub gateway_attempt_timeout: Duration,
    /// The first pause before asking again ([`GATEWAY_RETRY_DELAY`]).
    pub gateway_retry_delay: Duration,
    /// `[display] language`: fixed, or `auto` to follow each reader's locale.
    pub language: Language,
    /// The guild's locale as Discord last told it; clones share it.
    pub guild_locale: GuildLocale,
}

/// The guild's preferred locale (from GUILD_CREATE, and the `guild_locale` of each
/// interaction), which channel posts and DMs about the guild's cards follow under `auto`.
#[derive(Clone, Debug, Default)]
pub struct GuildLocale(Arc<RwLock<Option<String>>>);

impl GuildLocale {
    pub fn set(&self, locale: &str) {
        if let Ok(mut held) = self.0.write() {
            *held = Some(locale.to_string());
        }
    }

    pub fn get(&self) -> Option<String> {
        self.0.read().ok().and_then(|held| held.clone())
    }
}

fn snowflake(key: &str, value: &str) -> anyhow::Result<u64> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| *v != 0)
        .ok_or_else(|| {
            anyhow::anyhow!("[discord] {key} `{value}` is not a Discord id: copy it with Developer Mode → Copy ID")
        })
}

impl DiscordSettings {
    pub fn from_config(config: &DiscordConfig) -> anyhow::Result<Self> {
        let roles = |key: &str, ids: &[String]| -> anyhow::Result<HashSet<RoleId>> {
            ids.iter()
                .map(|id| snowflake(key, id).map(RoleId::new))
                .collect()
        };
        snowflake("application_id", &config.application_id)?;
        let settings = Self {
            guild_id: GuildId::new(snowflake("guild_id", &config.guild_id)?),
            approvals_channel: ChannelId::new(snowflake(
                "approvals_channel_id",
                &config.approvals_channel_id,
            )?),
            notifications_channel: ChannelId::new(snowflake(
                "notifications_channel_id",
                &config.notifications_channel_id,
            )?),
            requester_roles: roles("requester_role_ids", &config.requester_role_ids)?,
            approver_roles: roles("approver_role_ids", &config.approver_role_ids)?,
            api_base_url: config.api_base_url.clone(),
            sweep_interval: EXPIRY_SWEEP_INTERVAL,
            gateway_attempt_timeout: GATEWAY_ATTEMPT_TIMEOUT,
            gateway_retry_delay: GATEWAY_RETRY_DELAY,
            language: Language::default(),
            guild_locale: GuildLocale::default(),
        };
        if settings.approver_roles.is_empty() {
            anyhow::bail!("[discord] approver_role_ids is empty: nobody could approve");
        }
        Ok(settings)
    }

    /// The language of a reply to an interaction whose user's locale is `locale`.
    pub fn reply_lang(&self, locale: &str) -> Lang {
        self.language.pick(Some(locale))
    }

    /// The language of posts in the guild's channels and DMs about them.
    pub fn guild_lang(&self) -> Lang {
        self.language.pick(self.guild_locale.get().as_deref())
    }

    /// The actor behind an event, with capabilities from the role ids the event carried.
    pub fn actor(&self, user: UserId, roles: &[RoleId]) -> Actor {
        let mut caps = Vec::new();
        if roles.iter().any(|r| self.requester_roles.contains(r)) {
            caps.push(Capability::Requester);
        }
        if roles.iter().any(|r| self.approver_roles.contains(r)) {
            caps.push(Capability::Approver);
        }
        Actor::new(format!("discord:{user}"), format!("<@{user}>"), &caps)
    }

    pub(super) fn approver_mentions(&self) -> String {
        let mut ids: Vec<u64> = self.approver_roles.iter().map(|r| r.get()).collect();
        ids.sort_unstable();
        ids.iter()
            .map(|id| format!("<@&{id}>"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The HTTP client: to Discord, or to `api_base_url` (a proxy or a test fake), in which case
/// serenity's own rate limiter is off, as proxies such as nirn-proxy expect and as serenity
/// requires for its proxy setting to take effect.
pub fn http_client(token: &Token, api_base_url: Option<&str>) -> Http {
    let builder = HttpBuilder::new(&token.0);
    match api_base_url {
        Some(url) => builder
            .proxy(url.trim_end_matches('/'))
            .ratelimiter_disabled(true)
            .build(),
        None => builder.build(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn settings() -> DiscordSettings {
        DiscordSettings::from_config(&DiscordConfig {
            token_path: None,
            application_id: "10".into(),
            guild_id: "11".into(),
            approvals_channel_id: "12".into(),
            notifications_channel_id: "13".into(),
            requester_role_ids: vec!["20".into()],
            approver_role_ids: vec!["21".into(), "22".into()],
            api_base_url: None,
        })
        .unwrap()
    }

    #[test]
    fn capabilities_come_from_the_events_roles() {
        let s = settings();
        let both = s.actor(UserId::new(5), &[RoleId::new(20), RoleId::new(22)]);
        assert!(both.can(Capability::Requester) && both.can(Capability::Approver));
        assert_eq!(both.id, "discord:5");
        assert_eq!(both.display, "<@5>");
        let none = s.actor(UserId::new(6), &[RoleId::new(99)]);
        assert!(none.capabilities.is_empty());
        assert_eq!(s.approver_mentions(), "<@&21> <@&22>");
    }

    #[test]
    fn bad_ids_in_config_say_how_to_get_them() {
        let mut config = DiscordConfig {
            token_path: None,
            application_id: "10".into(),
            guild_id: "my-server".into(),
            approvals_channel_id: "12".into(),
            notifications_channel_id: "13".into(),
            requester_role_ids: vec![],
            approver_role_ids: vec!["21".into()],
            api_base_url: None,
        };
        let err = format!("{:#}", DiscordSettings::from_config(&config).unwrap_err());
        assert!(err.contains("guild_id") && err.contains("Copy ID"), "{err}");
        config.guild_id = "11".into();
        config.approver_role_ids.clear();
        assert!(DiscordSettings::from_config(&config)
            .unwrap_err()
            .to_string()
            .contains("nobody could approve"));
    }

    #[test]
    fn token_never_prints() {
        let token = Token::new("secret-token-value");
        assert!(!format!("{token:?}").contains("secret"));
        let config = DiscordConfig {
            token_path: Some("missing-token-file".into()),
            application_id: "10".into(),
            guild_id: "11".into(),
            approvals_channel_id: "12".into(),
            notifications_channel_id: "13".into(),
            requester_role_ids: vec![],
            approver_role_ids: vec!["21".into()],
            api_base_url: None,
        };
        if std::env::var(TOKEN_ENV).is_err() {
            let err = format!(
                "{:#}",
                Token::load(&config, Path::new("/nonexistent")).unwrap_err()
            );
            assert!(err.contains("missing-token-file"), "{err}");
            assert!(err.contains("No such file"), "the io cause is kept: {err}");
        }
    }
}
