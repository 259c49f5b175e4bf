//! `budget-bot check-config [--live]`: every key, id, folder and (live) credential of a config
//! checked before going live, each check `ok` or `FAIL` with the reason and how to fix it.
//! Nothing here prints a secret: key files are reported by path and kind, the bot token never.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serenity::all::{ChannelType, GuildChannel, Member, PartialGuild, Permissions, RoleId};

use crate::chat::discord::{http_client, DiscordSettings, Token};
use crate::config::{Config, DiscordConfig, StorageBackend, WechatPayConfig};
use crate::wechatpay::keys::{self, KeyError};
use crate::wechatpay::verify::VerifyError;
use crate::wechatpay::{ApiError, CouponApi, WechatPayClient};

#[cfg(feature = "slack")]
#[path = "check_slack.rs"]
mod slack;
#[cfg(feature = "postgres")]
#[path = "check_storage.rs"]
mod storage;

/// What the bot needs in the approvals channel: post cards with embeds and add (and see) the ✅ /
/// ❌ reactions on them.
const APPROVALS_NEEDS: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::EMBED_LINKS)
    .union(Permissions::ADD_REACTIONS)
    .union(Permissions::READ_MESSAGE_HISTORY);
/// What the bot needs in the notifications channel: post notices with embeds.
const NOTIFICATIONS_NEEDS: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::EMBED_LINKS);

/// Why a check failed and what the operator should change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub reason: String,
    pub fix: String,
}

fn failure(reason: impl Into<String>, fix: impl Into<String>) -> Failure {
    Failure {
        reason: reason.into(),
        fix: fix.into(),
    }
}

/// One check: its name (mostly the dotted key it is about) and whether it passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: String,
    pub ok: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// What a passed check found (the database connected to, its schema version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Check {
    fn new(check: impl Into<String>, result: Result<(), Failure>) -> Self {
        Self {
            check: check.into(),
            ok: result.is_ok(),
            failure: result.err(),
            note: None,
        }
    }

    /// `ok <check>` (`ok <check>: <note>`) or `FAIL <check>: <reason>. <fix>`.
    pub fn line(&self) -> String {
        match &self.failure {
            None => match &self.note {
                Some(note) => format!("ok {}: {note}", self.check),
                None => format!("ok {}", self.check),
            },
            Some(f) => format!(
                "FAIL {}: {}. {}",
                self.check,
                f.reason.trim_end_matches('.'),
                f.fix
            ),
        }
    }
}

/// Every check of one run, in the order they were made.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub ok: bool,
    pub live: bool,
    pub checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, check: impl Into<String>, result: Result<(), Failure>) {
        self.checks.push(Check::new(check, result));
    }

    /// A passed check and what it found (so far only the PostgreSQL checks say more).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    fn push_noted(&mut self, check: impl Into<String>, note: String) {
        let mut passed = Check::new(check, Ok(()));
        passed.note = Some(note);
        self.checks.push(passed);
    }

    /// One line per check.
    pub fn text(&self) -> String {
        self.checks
            .iter()
            .map(Check::line)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The same checks as one JSON object `{"ok", "live", "checks": [{"check", "ok", "reason"?,
    /// "fix"?}]}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("reports serialize")
    }
}

/// Checks the config at `path`; with `live`, also the credentials against WeChat Pay and each
/// configured chat platform.
pub async fn check_config(path: &Path, live: bool) -> Report {
    let mut report = Report {
        live,
        ..Report::default()
    };
    match Config::load(path) {
        Err(e) => report.push(
            "config",
            Err(failure(
                e.to_string(),
                "Correct that key; every key is documented in config.toml.example.",
            )),
        ),
        Ok(config) => {
            report.push("config", Ok(()));
            check_parsed(&mut report, &config, live).await;
        }
    }
    report.ok = report.checks.iter().all(|c| c.ok);
    report
}

async fn check_parsed(report: &mut Report, config: &Config, live: bool) {
    let base_dir = config.base_dir();
    let client = match &config.wechatpay {
        None => {
            report.push(
                "wechatpay",
                Err(failure(
                    "there is no [wechatpay] section",
                    "Add it with the brand's credentials (see config.toml.example).",
                )),
            );
            None
        }
        Some(wechatpay) => check_wechatpay(report, wechatpay, &base_dir),
    };
    report.push(
        "stocks",
        if config.stocks.is_empty() {
            Err(failure(
                "no [[stocks]] are listed, so the bot may touch none",
                "Add a [[stocks]] entry (stock_id, product_coupon_id) for each stock the bot may change.",
            ))
        } else {
            Ok(())
        },
    );
    let postgres = config
        .storage
        .as_ref()
        .is_some_and(|storage| storage.backend == StorageBackend::Postgres);
    // A build without PostgreSQL refuses such a config when it loads (config::features).
    #[cfg(feature = "postgres")]
    let database = postgres.then(|| storage::offline(report, config));
    if !postgres {
        report.push(
            "storage.path",
            match config.storage_path("check-config") {
                Err(e) => Err(failure(
                    e.to_string(),
                    "Add [storage] path = \"...\": the folder the bot keeps its requests in.",
                )),
                Ok(path) => writable(&path),
            },
        );
    }
    // Each configured chat platform is checked; none is needed by `console` or `show`.
    let discord = config
        .discord
        .as_ref()
        .and_then(|discord| check_discord_offline(report, discord, &base_dir));
    #[cfg(feature = "slack")]
    let slack = config
        .slack
        .as_ref()
        .map(|section| slack::offline(report, section, &base_dir));
    if !live {
        return;
    }
    match (&config.wechatpay, client) {
        (Some(_), Some(client)) => check_wechatpay_live(report, config, &client).await,
        (Some(_), None) => report.push("live wechatpay", not_tried("wechatpay")),
        (None, _) => {}
    }
    match (&config.discord, discord) {
        (Some(_), Some((discord, settings, token))) => {
            check_discord_live(report, &discord, &settings, &token).await
        }
        (Some(_), None) => report.push("live discord", not_tried("discord")),
        (None, _) => {}
    }
    #[cfg(feature = "slack")]
    if let Some(checked) = slack {
        slack::live(report, checked).await;
    }
    #[cfg(feature = "postgres")]
    if let Some(target) = database {
        storage::live(report, target).await;
    }
}

/// A live check left out because an offline check of its `[section]` failed.
fn not_tried(section: &str) -> Result<(), Failure> {
    Err(failure(
        format!("not tried, because a [{section}] check above failed"),
        "Fix that first and run again.",
    ))
}

/// The shapes of the ids and both key files; the client for the live checks when the keys load.
fn check_wechatpay(
    report: &mut Report,
    wechatpay: &WechatPayConfig,
    base_dir: &Path,
) -> Option<WechatPayClient> {
    report.push(
        "wechatpay.base_url",
        match reqwest::Url::parse(&wechatpay.base_url) {
            Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(()),
            Ok(_) | Err(_) => Err(failure(
                format!("`{}` is not an http(s) URL", wechatpay.base_url),
                "Remove base_url (the default is https://api.mch.weixin.qq.com) or give a full URL.",
            )),
        },
    );
    report.push(
        "wechatpay.brand_id",
        shape(
            &wechatpay.brand_id,
            (1..=32).contains(&wechatpay.brand_id.len())
                && wechatpay.brand_id.bytes().all(|b| b.is_ascii_digit()),
            "is not a brand id (digits)",
            "Copy 品牌ID from the brand platform.",
        ),
    );
    let serial = &wechatpay.certificate_serial_no;
    report.push(
        "wechatpay.certificate_serial_no",
        shape(
            serial,
            (8..=64).contains(&serial.len()) && serial.bytes().all(|b| b.is_ascii_hexdigit()),
            "is not a certificate serial (hex digits)",
            "Copy the brand API certificate serial (品牌API证书序列号, hex) from the brand platform; \
             it is not the PUB_KEY_ID_ of the WeChat Pay public key.",
        ),
    );
    let key_id = &wechatpay.wechatpay_public_key_id;
    report.push(
        "wechatpay.wechatpay_public_key_id",
        shape(
            key_id,
            // The spec says 32 digits follow the prefix, but ids with more are seen (and the
            // API compares the id as an opaque string): only the form is checked here.
            key_id.strip_prefix("PUB_KEY_ID_").is_some_and(|raw| {
                (16..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric())
            }),
            "is not a WeChat Pay public key id (PUB_KEY_ID_ and 16 to 64 letters or digits)",
            "Copy 微信支付公钥ID from the brand platform, where wxp_pub.pem was downloaded.",
        ),
    );
    let private = keys::load_private_key(&base_dir.join(&wechatpay.private_key_path));
    report.push(
        "wechatpay.private_key_path",
        private.as_ref().map(drop).map_err(|e| {
            key_failure(
                e,
                "Point private_key_path at the brand API private key apiclient_key.pem \
                 (PKCS#8, BEGIN PRIVATE KEY).",
            )
        }),
    );
    let public_path = base_dir.join(&wechatpay.wechatpay_public_key_path);
    let public = keys::load_public_key(&public_path).and_then(|public| match &private {
        Ok(private) => keys::check_not_own_key(private, &public, &public_path),
        Err(_) => Ok(()),
    });
    report.push(
        "wechatpay.wechatpay_public_key_path",
        public.map_err(|e| {
            key_failure(
                &e,
                "Point wechatpay_public_key_path at the WeChat Pay public key wxp_pub.pem \
                 (SPKI, BEGIN PUBLIC KEY) from the brand platform.",
            )
        }),
    );
    // One signed read per stock, not the retries a running bot makes: a check reports what
    // the first answer said.
    let once = WechatPayConfig {
        max_attempts: 1,
        ..wechatpay.clone()
    };
    let passed = |key: &str| report.checks.iter().any(|c| c.check == key && c.ok);
    if !(passed("wechatpay.private_key_path") && passed("wechatpay.wechatpay_public_key_path")) {
        return None;
    }
    match once.build_client(base_dir) {
        Ok(client) => Some(client),
        Err(e) => {
            report.push(
                "wechatpay client",
                Err(failure(e.to_string(), "Check the [wechatpay] values.")),
            );
            None
        }
    }
}

fn shape(value: &str, good: bool, what: &str, fix: &str) -> Result<(), Failure> {
    if good {
        Ok(())
    } else {
        Err(failure(format!("`{}` {what}", shown(value)), fix))
    }
}

/// A value as a check may show it: a long one may be a pasted secret.
fn shown(value: &str) -> String {
    if value.chars().count() > 64 {
        "<redacted: too long>".into()
    } else {
        value.chars().filter(|c| !c.is_control()).collect()
    }
}

fn key_failure(error: &KeyError, fix: &str) -> Failure {
    failure(error.to_string(), fix)
}

/// Creates and removes a probe file in the store folder (or the nearest folder that exists, as
/// the store creates the rest): never opens the store, which a running bot holds locked.
fn writable(path: &Path) -> Result<(), Failure> {
    let mut folder: PathBuf = path.to_path_buf();
    while !folder.exists() {
        match folder.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => folder = parent.to_path_buf(),
            _ => folder = PathBuf::from("."),
        }
    }
    if !folder.is_dir() {
        return Err(failure(
            format!("{} is a file, not a folder", folder.display()),
            "Point [storage] path at a folder (it is created if missing).",
        ));
    }
    tempfile::Builder::new()
        .prefix(".budget-bot-check-")
        .tempfile_in(&folder)
        .map(drop)
        .map_err(|e| {
            failure(
                format!(
                    "cannot create a file in {} ({})",
                    folder.display(),
                    e.kind()
                ),
                "Give the bot's user write access to that folder, or choose another [storage] path.",
            )
        })
}

/// One signed read of every allow-listed stock.
async fn check_wechatpay_live(report: &mut Report, config: &Config, client: &WechatPayClient) {
    for (i, stock) in config.stocks.iter().enumerate() {
        let result = client
            .get_stock(&stock.key())
            .await
            .map(drop)
            .map_err(|e| api_failure(&e, i));
        report.push(
            format!("live wechatpay read of stocks[{i}] {}", stock.label()),
            result,
        );
    }
}

/// What a failed read says about the config: which key is wrong and how to fix it.
fn api_failure(error: &ApiError, i: usize) -> Failure {
    const KEY_ID_FIX: &str =
        "Set [wechatpay] wechatpay_public_key_id to the WeChat Pay public key \
         id (PUB_KEY_ID_...) shown on the brand platform beside wxp_pub.pem.";
    match error {
        ApiError::Api { status: 401, .. } if error.code() == Some("SIGN_ERROR") => failure(
            format!(
                "{error}: WeChat Pay does not accept the signature, so certificate_serial_no or \
                 the private key (private_key_path) is not the brand's"
            ),
            "Set [wechatpay] certificate_serial_no to the serial of the brand API certificate \
             (品牌API证书序列号) and private_key_path to that certificate's apiclient_key.pem; \
             check brand_id too, and that this machine's clock is right (NTP).",
        ),
        // A GET has no body: a 400 INVALID_REQUEST is about its headers, and the one the bot
        // controls is Wechatpay-Serial, the public key id.
        ApiError::Api { status: 400, .. } if error.code() == Some("INVALID_REQUEST") => failure(
            format!(
                "{error}: WeChat Pay does not know the wechatpay_public_key_id sent as \
                 Wechatpay-Serial"
            ),
            KEY_ID_FIX,
        ),
        ApiError::Api { status: 403, .. } => failure(
            format!("{error}: the brand may not use this API"),
            "Ask for the product coupon API to be enabled for brand_id on the brand platform.",
        ),
        ApiError::Api { status: 404, .. } => failure(
            format!("{error}: the brand has no such stock"),
            format!("Check stocks[{i}].stock_id and stocks[{i}].product_coupon_id (and brand_id)."),
        ),
        ApiError::Verification {
            source: VerifyError::SerialMismatch { .. },
            ..
        } => failure(
            format!("{error}: the answer is signed under another key than wechatpay_public_key_id"),
            KEY_ID_FIX,
        ),
        ApiError::Verification {
            source: VerifyError::BadSignature,
            ..
        } => failure(
            format!("{error}: wechatpay_public_key_path does not hold the WeChat Pay public key"),
            "Put the wxp_pub.pem of wechatpay_public_key_id at wechatpay_public_key_path.",
        ),
        ApiError::Timeout { .. } | ApiError::Transport { .. } => failure(
            error.to_string(),
            "Check [wechatpay] base_url and that this machine can reach it (proxy, firewall).",
        ),
        _ => failure(
            error.to_string(),
            "Run the check again; if it persists, ask WeChat Pay support quoting the Request-ID.",
        ),
    }
}

/// The ids' shapes and the token's presence; what the live checks need when they pass.
fn check_discord_offline(
    report: &mut Report,
    discord: &DiscordConfig,
    base_dir: &Path,
) -> Option<(DiscordConfig, DiscordSettings, Token)> {
    const COPY_ID: &str = "Copy the id in Discord with Developer Mode on (right-click → Copy ID).";
    let ids = [
        ("application_id", &discord.application_id),
        ("guild_id", &discord.guild_id),
        ("approvals_channel_id", &discord.approvals_channel_id),
        (
            "notifications_channel_id",
            &discord.notifications_channel_id,
        ),
    ];
    let roles = [
        ("requester_role_ids", &discord.requester_role_ids),
        ("approver_role_ids", &discord.approver_role_ids),
    ];
    let role_ids = roles.iter().flat_map(|(key, ids)| {
        ids.iter()
            .enumerate()
            .map(move |(i, id)| (format!("{key}[{i}]"), id))
    });
    for (key, id) in ids.iter().map(|(k, v)| (k.to_string(), *v)).chain(role_ids) {
        report.push(
            format!("discord.{key}"),
            shape(
                id,
                id.parse::<u64>().is_ok_and(|v| v != 0),
                "is not a Discord id (a number)",
                COPY_ID,
            ),
        );
    }
    if discord.approver_role_ids.is_empty() {
        report.push(
            "discord.approver_role_ids",
            Err(failure(
                "no approver role is listed, so nobody could approve",
                "List the id of the role whose members approve changes.",
            )),
        );
    }
    let token = Token::load(discord, base_dir);
    report.push(
        "discord.token",
        token.as_ref().map(drop).map_err(|e| {
            failure(
                format!("{e:#}"),
                "Set DISCORD_TOKEN, or token_path in [discord] to a file holding the bot token.",
            )
        }),
    );
    let settings = DiscordSettings::from_config(discord).ok()?;
    Some((discord.clone(), settings, token.ok()?))
}

/// The token, the guild, the bot's membership, every configured role, and both channels: they
/// exist, are text channels, and the bot may post there.
async fn check_discord_live(
    report: &mut Report,
    discord: &DiscordConfig,
    settings: &DiscordSettings,
    token: &Token,
) {
    let http = http_client(token, discord.api_base_url.as_deref());
    let me = match http.get_current_user().await {
        Ok(me) => {
            report.push("live discord token", Ok(()));
            me
        }
        Err(e) => {
            // Discord bans clients that keep calling with an invalid token: stop here.
            report.push(
                "live discord token",
                Err(failure(
                    format!("Discord refused the bot token: {}", discord_error(&e)),
                    "Set DISCORD_TOKEN (or the file at token_path) to the bot's token from the \
                     Developer Portal (Bot → Reset Token).",
                )),
            );
            return;
        }
    };
    let guild_id = settings.guild_id;
    let guild = match http.get_guild(guild_id).await {
        Ok(guild) => {
            report.push("live discord.guild_id", Ok(()));
            guild
        }
        Err(e) => {
            report.push(
                "live discord.guild_id",
                Err(failure(
                    format!(
                        "guild {guild_id} cannot be read: {} (no such guild, or the bot is not in it)",
                        discord_error(&e)
                    ),
                    "Invite the bot to the server and copy the server's id (right-click → Copy Server ID).",
                )),
            );
            return;
        }
    };
    let roles = [
        ("requester_role_ids", &discord.requester_role_ids),
        ("approver_role_ids", &discord.approver_role_ids),
    ];
    for (key, ids) in roles {
        for (i, id) in ids.iter().enumerate() {
            let exists = id
                .parse::<u64>()
                .ok()
                .filter(|v| *v != 0)
                .is_some_and(|v| guild.roles.contains_key(&RoleId::new(v)));
            report.push(
                format!("live discord.{key}[{i}]"),
                if exists {
                    Ok(())
                } else {
                    Err(failure(
                        format!("guild {guild_id} has no role {}", shown(id)),
                        "Copy the role's id from Server Settings → Roles (Developer Mode on).",
                    ))
                },
            );
        }
    }
    let member = match http.get_member(guild_id, me.id).await {
        Ok(member) => Some(member),
        Err(e) => {
            report.push(
                "live discord bot member",
                Err(failure(
                    format!(
                        "the bot's member in guild {guild_id} cannot be read: {}",
                        discord_error(&e)
                    ),
                    "Invite the bot to the server.",
                )),
            );
            None
        }
    };
    let channels = match http.get_channels(guild_id).await {
        Ok(channels) => channels,
        Err(e) => {
            report.push(
                "live discord channels",
                Err(failure(
                    format!(
                        "the channels of guild {guild_id} cannot be read: {}",
                        discord_error(&e)
                    ),
                    "Give the bot the View Channels permission.",
                )),
            );
            return;
        }
    };
    for (key, id, needs) in [
        (
            "approvals_channel_id",
            settings.approvals_channel,
            APPROVALS_NEEDS,
        ),
        (
            "notifications_channel_id",
            settings.notifications_channel,
            NOTIFICATIONS_NEEDS,
        ),
    ] {
        let channel = channels.iter().find(|c| c.id == id);
        report.push(
            format!("live discord.{key}"),
            channel_fit(&guild, member.as_ref(), channel, needs).map_err(|reason| {
                failure(
                    format!("channel {id}: {reason}"),
                    format!(
                        "Set {key} to a text channel of the server (right-click → Copy Channel \
                             ID) and let the bot {} there.",
                        needs_text(needs)
                    ),
                )
            }),
        );
    }
}

/// Why `channel` will not do for the bot, if it will not.
fn channel_fit(
    guild: &PartialGuild,
    member: Option<&Member>,
    channel: Option<&GuildChannel>,
    needs: Permissions,
) -> Result<(), String> {
    let Some(channel) = channel else {
        return Err(format!("guild {} has no such channel", guild.id));
    };
    if !matches!(channel.kind, ChannelType::Text | ChannelType::News) {
        return Err(format!(
            "#{} is a {} channel, not a text channel",
            channel.name,
            channel.kind.name()
        ));
    }
    if let Some(member) = member {
        let missing = needs - guild.user_permissions_in(channel, member);
        if !missing.is_empty() {
            return Err(format!(
                "the bot lacks {} in #{}",
                missing.get_permission_names().join(", "),
                channel.name
            ));
        }
    }
    Ok(())
}

fn needs_text(needs: Permissions) -> String {
    needs.get_permission_names().join(", ")
}

/// serenity's error, without anything of the request (it never holds the token).
fn discord_error(error: &serenity::Error) -> String {
    use serenity::http::HttpError;
    match error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => format!(
            "HTTP {} ({}, code {})",
            response.status_code.as_u16(),
            crate::domain::text::echo(&response.error.message),
            response.error.code
        ),
        other => crate::domain::text::echo(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented example's WeChat Pay ids are of the shapes the checks accept (its key
    /// files, token and Discord ids are placeholders, so those checks fail).
    #[tokio::test]
    async fn the_example_configs_ids_have_the_right_shape() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml.example");
        let report = check_config(&path, false).await;
        let ok = |name: &str| {
            let check = report.checks.iter().find(|c| c.check == name);
            assert!(check.is_some_and(|c| c.ok), "{name}: {check:?}");
        };
        for name in [
            "config",
            "wechatpay.base_url",
            "wechatpay.brand_id",
            "wechatpay.certificate_serial_no",
            "wechatpay.wechatpay_public_key_id",
            "stocks",
        ] {
            ok(name);
        }
        assert!(!report.ok, "the example's key files are placeholders");
    }

    #[test]
    fn a_line_is_ok_or_fail_with_reason_and_fix() {
        let ok = Check::new("storage.path", Ok(()));
        assert_eq!(ok.line(), "ok storage.path");
        let fail = Check::new(
            "wechatpay.brand_id",
            Err(failure("`x` is not a brand id.", "Copy it.")),
        );
        assert_eq!(
            fail.line(),
            "FAIL wechatpay.brand_id: `x` is not a brand id. Copy it."
        );
        assert_eq!(
            serde_json::to_value(&fail).unwrap(),
            serde_json::json!({"check": "wechatpay.brand_id", "ok": false,
                "reason": "`x` is not a brand id.", "fix": "Copy it."})
        );
    }
}
