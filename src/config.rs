//! Typed, strict configuration: an unknown or misspelled key is an error naming the key and the
//! file, every key is documented in `config.toml.example`, and sections a command does not use
//! are optional for it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

mod approval;
mod display;
mod features;
mod place;
mod slack;
mod storage;
mod watch;

pub use approval::ApprovalConfig;
pub use display::{DisplayConfig, Language, DEFAULT_TIMEZONE};
pub use features::missing as missing_feature;
pub use place::Place;
use place::{deserialize_error, refuse, shown, Refusal, Step};
pub use slack::{SlackConfig, SlackMode};
pub use storage::{StorageBackend, StorageConfig, DEFAULT_STATEMENT_TIMEOUT};
pub use watch::WatchConfig;

use crate::wechatpay::client::ClientSettings;
use crate::wechatpay::hosts;
use crate::wechatpay::keys::{self, KeyError};
use crate::wechatpay::sign::BrandSigner;
use crate::wechatpay::verify::ResponseVerifier;
use crate::wechatpay::{ApiError, WechatPayClient};

/// Bounds of `[approval] ttl`: a request must be decidable, and not linger for ever.
pub const MIN_TTL: Duration = Duration::from_secs(1);
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The default config path when neither `--config` nor `BUDGET_BOT_CONFIG` is given.
pub const DEFAULT_CONFIG_PATH: &str = "config.toml";

/// A problem with the config file, said so that the operator knows what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path} does not exist: copy config.toml.example to {path} and fill it in, or pass --config PATH")]
    Missing { path: PathBuf },
    #[error("config file {path} cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("config file {path}{place}: {message}")]
    Invalid {
        path: PathBuf,
        place: Place,
        message: String,
    },
    #[error("config file {path} has no [{section}] section, which `{command}` needs (see config.toml.example)")]
    MissingSection {
        path: PathBuf,
        section: &'static str,
        command: &'static str,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration ({e}); write e.g. \"500ms\", \"30s\", \"1h\""
        ))
    })
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

/// `[wechatpay]`: credentials and client limits for the brand API.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatPayConfig {
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Where a request goes when `base_url` cannot be reached. Absent: the official backup
    /// when `base_url` is the official primary, else none; `""`: none.
    #[serde(default)]
    pub backup_base_url: Option<String>,
    pub brand_id: String,
    pub certificate_serial_no: String,
    pub private_key_path: PathBuf,
    pub wechatpay_public_key_id: String,
    pub wechatpay_public_key_path: PathBuf,
    #[serde(default = "d_connect_timeout", deserialize_with = "de_duration")]
    pub connect_timeout: Duration,
    #[serde(default = "d_request_timeout", deserialize_with = "de_duration")]
    pub request_timeout: Duration,
    #[serde(default = "d_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "d_max_retry_time", deserialize_with = "de_duration")]
    pub max_retry_time: Duration,
    #[serde(default = "d_retry_backoff", deserialize_with = "de_duration")]
    pub retry_backoff: Duration,
    #[serde(default = "d_rate_limit")]
    pub rate_limit_per_second: u32,
}

fn default_base_url() -> String {
    ClientSettings::default().base_url
}
fn d_connect_timeout() -> Duration {
    ClientSettings::default().connect_timeout
}
fn d_request_timeout() -> Duration {
    ClientSettings::default().request_timeout
}
fn d_max_attempts() -> u32 {
    ClientSettings::default().max_attempts
}
fn d_max_retry_time() -> Duration {
    ClientSettings::default().max_retry_time
}
fn d_retry_backoff() -> Duration {
    ClientSettings::default().retry_backoff
}
fn d_rate_limit() -> u32 {
    ClientSettings::default().rate_limit_per_second
}

impl WechatPayConfig {
    pub fn client_settings(&self) -> ClientSettings {
        ClientSettings {
            base_url: self.base_url.clone(),
            backup_base_url: hosts::backup_base_url(
                &self.base_url,
                self.backup_base_url.as_deref(),
            ),
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            max_attempts: self.max_attempts,
            max_retry_time: self.max_retry_time,
            retry_backoff: self.retry_backoff,
            rate_limit_per_second: self.rate_limit_per_second,
            ..ClientSettings::default()
        }
    }

    /// Loads both keys (relative paths are taken from the config file's folder) and builds the client.
    pub fn build_client(&self, base_dir: &Path) -> Result<WechatPayClient, ConfigError> {
        let private_path = base_dir.join(&self.private_key_path);
        let public_path = base_dir.join(&self.wechatpay_public_key_path);
        let private = keys::load_private_key(&private_path)?;
        let public = keys::load_public_key(&public_path)?;
        keys::check_not_own_key(&private, &public, &public_path)?;
        let signer = BrandSigner::new(
            private,
            self.brand_id.clone(),
            self.certificate_serial_no.clone(),
        );
        let verifier = ResponseVerifier::new(public, self.wechatpay_public_key_id.clone());
        WechatPayClient::new(signer, verifier, self.client_settings()).map_err(|e: ApiError| {
            ConfigError::Invalid {
                path: base_dir.to_path_buf(),
                place: Place::default(),
                message: e.to_string(),
            }
        })
    }
}

/// One `[[stocks]]` entry: the allow-list. The bot touches no stock that is not listed.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StockConfig {
    pub stock_id: String,
    pub product_coupon_id: String,
    #[serde(default)]
    pub name: Option<String>,
}

impl StockConfig {
    pub fn key(&self) -> crate::wechatpay::StockKey {
        crate::wechatpay::StockKey::new(&self.product_coupon_id, &self.stock_id)
    }
    /// `Spring sale (123)` when a name is configured, else `123`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} ({})", self.stock_id),
            None => self.stock_id.clone(),
        }
    }
}

/// Lives in the domain (the rules read it); re-exported so config files parse as before.
pub use crate::domain::actor::Capability;
/// `[ops]` and `[log]` live beside the code that reads them.
pub use crate::ops::settings::{LogConfig, LogFormat, OpsConfig};

/// `[console]`: identities of the console adapter.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    #[serde(default)]
    pub users: BTreeMap<String, Vec<Capability>>,
}

/// `[discord]`: only `run` needs it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// File holding the bot token; the env var `DISCORD_TOKEN` takes precedence.
    #[serde(default)]
    pub token_path: Option<PathBuf>,
    pub application_id: String,
    pub guild_id: String,
    pub approvals_channel_id: String,
    pub notifications_channel_id: String,
    #[serde(default)]
    pub requester_role_ids: Vec<String>,
    #[serde(default)]
    pub approver_role_ids: Vec<String>,
    /// An HTTP proxy in front of Discord, or a test fake.
    #[serde(default)]
    pub api_base_url: Option<String>,
}

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub wechatpay: Option<WechatPayConfig>,
    #[serde(default)]
    pub stocks: Vec<StockConfig>,
    #[serde(default)]
    pub storage: Option<StorageConfig>,
    #[serde(default)]
    pub approval: ApprovalConfig,
    #[serde(default)]
    pub display: DisplayConfig,
    /// Burn alerts; absent, nothing is watched.
    #[serde(default)]
    pub watch: Option<WatchConfig>,
    #[serde(default)]
    pub console: Option<ConsoleConfig>,
    #[serde(default)]
    pub discord: Option<DiscordConfig>,
    #[serde(default)]
    pub slack: Option<SlackConfig>,
    #[serde(default)]
    pub ops: Option<OpsConfig>,
    #[serde(default)]
    pub log: LogConfig,
    /// Where the file was read from; relative paths inside it are taken from its folder.
    #[serde(skip)]
    pub source: PathBuf,
}

fn id_is_valid(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::Missing {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => {
                return Err(ConfigError::Unreadable {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        };
        Self::parse(&text, path)
    }

    /// Parses config text; `path` names the file in messages and anchors relative paths.
    /// Every refusal names the file, and the line and dotted key where it can.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |place: Place, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            place,
            message,
        };
        let mut config: Config = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| {
                let (place, message) = deserialize_error(e, text);
                invalid(place, message)
            })?;
        config.source = path.to_path_buf();
        config.check().map_err(|refusal| {
            let place = Place {
                line: refusal.key.line_in(text),
                key: Some(refusal.key.to_string()),
            };
            invalid(place, refusal.message)
        })?;
        Ok(config)
    }

    /// The checks of values that parsed: each refusal names the key it is about.
    fn check(&self) -> Result<(), Refusal> {
        use Step::{Index, Key};
        features::check(self)?;
        let mut seen_ids = std::collections::HashMap::new();
        let mut seen_names = std::collections::HashMap::new();
        for (i, stock) in self.stocks.iter().enumerate() {
            let at = |key| [Key("stocks"), Index(i), Key(key)];
            for (key, value) in [
                ("stock_id", &stock.stock_id),
                ("product_coupon_id", &stock.product_coupon_id),
            ] {
                if !id_is_valid(value) {
                    refuse(
                        &at(key),
                        format!(
                            "{key} `{}` must be 1 to 40 characters of 0-9, A-Z, a-z, `_` or `-`",
                            shown(value)
                        ),
                    )?;
                }
            }
            if let Some(first) = seen_ids.insert(stock.stock_id.clone(), i) {
                refuse(
                    &at("stock_id"),
                    format!(
                        "stock_id `{}` is listed twice (also at stocks[{first}])",
                        shown(&stock.stock_id)
                    ),
                )?;
            }
            if let Some(name) = &stock.name {
                if name.trim().is_empty() {
                    refuse(
                        &at("name"),
                        format!(
                            "name of stock `{}` is empty: remove it or give a name",
                            shown(&stock.stock_id)
                        ),
                    )?;
                }
                if let Some(first) = seen_names.insert(name.to_lowercase(), i) {
                    refuse(
                        &at("name"),
                        format!(
                        "name `{}` is used twice (also at stocks[{first}]; case does not count)",
                        shown(name)
                    ),
                    )?;
                }
            }
        }
        if let Some(wechatpay) = &self.wechatpay {
            let at = |key| [Key("wechatpay"), Key(key)];
            if !wechatpay.wechatpay_public_key_id.starts_with("PUB_KEY_ID_") {
                refuse(&at("wechatpay_public_key_id"), format!(
                    "wechatpay_public_key_id `{}` must start with PUB_KEY_ID_ (copy it from the brand platform)",
                    shown(&wechatpay.wechatpay_public_key_id)
                ))?;
            }
            let backup = wechatpay.backup_base_url.as_deref();
            if let Err((key, message)) = hosts::check(&wechatpay.base_url, backup) {
                refuse(&at(key), message)?;
            }
            if wechatpay.max_attempts == 0 {
                refuse(
                    &at("max_attempts"),
                    "max_attempts must be at least 1".into(),
                )?;
            }
            if wechatpay.rate_limit_per_second == 0 || wechatpay.rate_limit_per_second > 20 {
                refuse(&at("rate_limit_per_second"),
                    "rate_limit_per_second must be 1 to 20 (the API allows 20 per second per brand)".into(),
                )?;
            }
        }
        if let Some(storage) = &self.storage {
            storage.check()?;
        }
        self.approval.check()?;
        if let Some(watch) = &self.watch {
            watch.check()?;
        }
        Ok(())
    }

    /// The folder relative paths in the file are taken from.
    pub fn base_dir(&self) -> PathBuf {
        self.source
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    pub fn require_wechatpay(
        &self,
        command: &'static str,
    ) -> Result<&WechatPayConfig, ConfigError> {
        self.wechatpay.as_ref().ok_or(ConfigError::MissingSection {
            path: self.source.clone(),
            section: "wechatpay",
            command,
        })
    }

    pub fn require_storage(&self, command: &'static str) -> Result<&StorageConfig, ConfigError> {
        self.storage.as_ref().ok_or(ConfigError::MissingSection {
            path: self.source.clone(),
            section: "storage",
            command,
        })
    }

    pub fn require_discord(&self, command: &'static str) -> Result<&DiscordConfig, ConfigError> {
        self.discord.as_ref().ok_or(ConfigError::MissingSection {
            path: self.source.clone(),
            section: "discord",
            command,
        })
    }

    pub fn require_ops(&self, command: &'static str) -> Result<&OpsConfig, ConfigError> {
        self.ops.as_ref().ok_or(ConfigError::MissingSection {
            path: self.source.clone(),
            section: "ops",
            command,
        })
    }

    /// The storage path, relative to the config file's folder.
    pub fn storage_path(&self, command: &'static str) -> Result<PathBuf, ConfigError> {
        Ok(self.base_dir().join(&self.require_storage(command)?.path))
    }

    /// How the store is opened: `[storage]`'s cache, or the defaults without a `[storage]`.
    pub fn store_options(&self) -> crate::store::StoreOptions {
        self.storage
            .as_ref()
            .map_or_else(Default::default, StorageConfig::store_options)
    }

    pub fn stock(&self, stock_id: &str) -> Option<&StockConfig> {
        self.stocks.iter().find(|s| s.stock_id == stock_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const MINIMAL: &str = r#"
[wechatpay]
brand_id = "1234"
certificate_serial_no = "ABC"
private_key_path = "k.pem"
wechatpay_public_key_id = "PUB_KEY_ID_1"
wechatpay_public_key_path = "p.pem"

[[stocks]]
stock_id = "123"
product_coupon_id = "200000001"
"#;

    #[test]
    fn minimal_config_for_show_has_defaults() {
        let c = Config::parse(MINIMAL, Path::new("/etc/bb/config.toml")).unwrap();
        let w = c.require_wechatpay("show").unwrap();
        assert_eq!(w.base_url, "https://api.mch.weixin.qq.com");
        assert_eq!(w.rate_limit_per_second, 20);
        assert_eq!(c.approval.required_approvals, 1);
        assert_eq!(c.approval.ttl, Duration::from_secs(3600));
        assert_eq!(c.base_dir(), Path::new("/etc/bb"));
        assert!(c.require_storage("console").is_err());
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let text = MINIMAL.replace("brand_id =", "brand_idd = \"x\"\nbrand_id =");
        let err = Config::parse(&text, Path::new("my.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("my.toml"), "{err}");
        assert!(err.contains("brand_idd"), "{err}");
        let err = Config::parse("[storag]\npath='x'", Path::new("my.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("storag"), "{err}");
    }

    #[test]
    fn durations_are_human_readable() {
        let text = format!("{MINIMAL}\n[approval]\nttl = \"90s\"\nrequired_approvals = 2\n");
        let c = Config::parse(&text, Path::new("c.toml")).unwrap();
        assert_eq!(c.approval.ttl, Duration::from_secs(90));
        let err = Config::parse(
            &format!("{MINIMAL}\n[approval]\nttl = \"soon\"\n"),
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("soon") && err.contains("duration"), "{err}");
    }

    #[test]
    fn bad_stock_ids_and_duplicates_are_refused() {
        let dup = format!("{MINIMAL}\n[[stocks]]\nstock_id = \"123\"\nproduct_coupon_id = \"2\"\n");
        assert!(Config::parse(&dup, Path::new("c.toml"))
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let bad = MINIMAL.replace("\"123\"", "\"12/3\"");
        assert!(Config::parse(&bad, Path::new("c.toml")).is_err());
        let bad_key_id = MINIMAL.replace("PUB_KEY_ID_1", "1DDE55");
        assert!(Config::parse(&bad_key_id, Path::new("c.toml"))
            .unwrap_err()
            .to_string()
            .contains("PUB_KEY_ID_"));
    }

    #[test]
    fn console_users_and_capabilities() {
        let text = format!("{MINIMAL}\n[console.users]\nalice = [\"requester\"]\nbob = [\"approver\"]\ndave = []\n");
        let c = Config::parse(&text, Path::new("c.toml")).unwrap();
        let users = &c.console.unwrap().users;
        assert_eq!(users["alice"], vec![Capability::Requester]);
        assert!(users["dave"].is_empty());
        let bad = format!("{MINIMAL}\n[console.users]\nalice = [\"admin\"]\n");
        assert!(Config::parse(&bad, Path::new("c.toml"))
            .unwrap_err()
            .to_string()
            .contains("admin"));
    }

    #[test]
    fn secrets_in_the_wrong_place_are_not_echoed() {
        let secret = "MTAxNDk5NjI1NjgwNzQxMzg3Mg.GxYz12.abcdefghijklmnopqrstuvwxyz0123";
        let text = format!("{MINIMAL}\n[discord]\ntoken = \"{secret}\"\n");
        let err = Config::parse(&text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("token") && err.contains("line 14"), "{err}");
        assert!(!err.contains(secret), "{err}");
        let text = format!("{MINIMAL}\n[discord]\napplication_id = \"1\"\nguild_id = \"2\"\napprovals_channel_id = \"3\"\nnotifications_channel_id = \"4\"\napprover_role_ids = \"{secret}\"\n");
        let err = Config::parse(&text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains(secret), "{err}");
    }

    #[test]
    fn ttl_is_bounded() {
        for ttl in ["0s", "31days", "10000years"] {
            let text = format!("{MINIMAL}\n[approval]\nttl = \"{ttl}\"\n");
            let err = Config::parse(&text, Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("ttl must be between"), "{ttl}: {err}");
        }
    }

    /// Parses `text` as `c.toml` and returns the error text, which must name the file, the
    /// line and the dotted key.
    fn error_at(text: &str, line: usize, key: &str) -> String {
        let err = Config::parse(text, Path::new("/etc/bb/c.toml"))
            .expect_err("the config is refused")
            .to_string();
        assert!(err.contains("/etc/bb/c.toml"), "names the file: {err}");
        assert!(
            err.contains(&format!("line {line},")),
            "names line {line}: {err}"
        );
        assert!(
            err.contains(&format!("key `{key}`:")),
            "names key {key}: {err}"
        );
        err
    }

    #[test]
    fn type_errors_name_the_dotted_key_the_file_and_the_line() {
        // Integer where a string belongs.
        let text = MINIMAL.replace("brand_id = \"1234\"", "brand_id = 1000001");
        let err = error_at(&text, 3, "wechatpay.brand_id");
        assert!(err.contains("expected a string"), "{err}");
        // String where an integer belongs.
        let text = format!("{MINIMAL}\n[approval]\nrequired_approvals = \"2\"\n");
        error_at(&text, 14, "approval.required_approvals");
        // Not a duration.
        let text = MINIMAL.replace(
            "certificate_serial_no",
            "connect_timeout = \"10 parsecs\"\ncertificate_serial_no",
        );
        let err = error_at(&text, 4, "wechatpay.connect_timeout");
        assert!(err.contains("not a duration"), "{err}");
        // One bad element of an array.
        let text = format!(
            "{MINIMAL}\n[discord]\napplication_id = \"1\"\nguild_id = \"2\"\napprovals_channel_id = \"3\"\nnotifications_channel_id = \"4\"\napprover_role_ids = [\"5\", 6]\n"
        );
        error_at(&text, 18, "discord.approver_role_ids[1]");
        let text = format!("{MINIMAL}\n[console.users]\nalice = [\"requester\", \"admin\"]\n");
        let err = error_at(&text, 14, "console.users.alice[1]");
        assert!(err.contains("admin"), "{err}");
        // A type error inside the second [[stocks]] entry.
        let text = format!("{MINIMAL}\n[[stocks]]\nstock_id = 124\nproduct_coupon_id = \"2\"\n");
        error_at(&text, 14, "stocks[1].stock_id");
    }

    #[test]
    fn value_errors_name_the_dotted_key_the_file_and_the_line() {
        let second = |stock_id: &str, name: &str| {
            format!(
                "{MINIMAL}name = \"Spring\"\n\n[[stocks]]\nproduct_coupon_id = \"2\"\nstock_id = \"{stock_id}\"\nname = \"{name}\"\n"
            )
        };
        let err = error_at(&second("12/4", "Summer"), 16, "stocks[1].stock_id");
        assert!(err.contains("1 to 40 characters"), "{err}");
        let err = error_at(&second("123", "Summer"), 16, "stocks[1].stock_id");
        assert!(err.contains("twice"), "{err}");
        let err = error_at(&second("124", "spring"), 17, "stocks[1].name");
        assert!(err.contains("twice"), "{err}");
        let err = error_at(&second("124", " "), 17, "stocks[1].name");
        assert!(err.contains("empty"), "{err}");

        let text = MINIMAL.replace("PUB_KEY_ID_1", "1DDE55");
        error_at(&text, 6, "wechatpay.wechatpay_public_key_id");
        let text = MINIMAL.replace("brand_id", "max_attempts = 0\nbrand_id");
        error_at(&text, 3, "wechatpay.max_attempts");
        let text = MINIMAL.replace("brand_id", "rate_limit_per_second = 21\nbrand_id");
        error_at(&text, 3, "wechatpay.rate_limit_per_second");
        let text = format!("{MINIMAL}\n[approval]\nrequired_approvals = 1\nttl = \"0s\"\n");
        error_at(&text, 15, "approval.ttl");
        let text = format!("{MINIMAL}\n[approval]\nrequired_approvals = 0\n");
        error_at(&text, 14, "approval.required_approvals");
    }

    #[test]
    fn value_checks_never_echo_long_values() {
        let secret = "MTAxNDk5NjI1NjgwNzQxMzg3Mg.GxYz12.abcdefghijklmnopqrstuvwxyz0123";
        let text = MINIMAL.replace("PUB_KEY_ID_1", secret);
        let err = error_at(&text, 6, "wechatpay.wechatpay_public_key_id");
        assert!(!err.contains(secret), "{err}");
        let text = MINIMAL.replace("\"123\"", &format!("\"{secret}\""));
        let err = error_at(&text, 10, "stocks[0].stock_id");
        assert!(!err.contains(secret), "{err}");
    }

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml.example");
        let c = Config::load(&path).unwrap();
        assert!(c.wechatpay.is_some() && c.storage.is_some() && c.discord.is_some());
    }
}
