//! `[storage]`: which backend holds the store (a sled folder, the default, or a shared
//! PostgreSQL database), where, how much memory sled's page cache may use, and how long a
//! work lease lasts unless renewed.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::place::{refuse, Refusal, Step};
use crate::store::{StoreOptions, DEFAULT_CACHE_CAPACITY, DEFAULT_LEASE_TTL};

/// `[storage]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    #[serde(default)]
    pub backend: StorageBackend,
    /// The sled folder (sled only; empty when not given).
    #[serde(default)]
    pub path: PathBuf,
    /// The most memory the store's page cache may use, in bytes.
    #[serde(default = "d_cache_capacity", deserialize_with = "de_cache_capacity")]
    pub cache_capacity: u64,
    /// PostgreSQL: a file holding the database URL, read when `BUDGET_BOT_DATABASE_URL` is
    /// not set (relative to the config file's folder).
    #[serde(default)]
    pub url_path: Option<PathBuf>,
    /// How long a work lease lasts unless its holder renews it: how soon another instance
    /// resumes the work of one that died.
    #[serde(default = "d_lease", deserialize_with = "super::de_duration")]
    pub lease: Duration,
    /// PostgreSQL: how long one statement may run (lock waits included) before the server
    /// cancels it, so a hung database is an error rather than a stuck bot.
    #[serde(
        default = "d_statement_timeout",
        deserialize_with = "super::de_duration"
    )]
    pub statement_timeout: Duration,
}

/// Where the store lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// A folder on this machine, locked to one process.
    #[default]
    Sled,
    /// A PostgreSQL database several processes share.
    Postgres,
}

fn d_lease() -> Duration {
    DEFAULT_LEASE_TTL
}

/// How long one PostgreSQL statement may run (lock waits included) before the server
/// cancels it.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

fn d_statement_timeout() -> Duration {
    DEFAULT_STATEMENT_TIMEOUT
}

/// The smallest page cache accepted: below it every read goes to disk.
const MIN_CACHE_CAPACITY: u64 = 256 * 1024;

fn d_cache_capacity() -> u64 {
    DEFAULT_CACHE_CAPACITY
}

/// A byte count, or a size with a unit ("8MiB", "512 KiB", "16MB").
fn de_cache_capacity<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Size;
    impl serde::de::Visitor<'_> for Size {
        type Value = u64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a size such as \"8MiB\" or a number of bytes")
        }

        fn visit_u64<E: serde::de::Error>(self, bytes: u64) -> Result<u64, E> {
            Ok(bytes)
        }

        fn visit_i64<E: serde::de::Error>(self, bytes: i64) -> Result<u64, E> {
            u64::try_from(bytes).map_err(|_| E::custom("a size cannot be negative"))
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<u64, E> {
            match text.trim().parse::<bytesize::ByteSize>() {
                Ok(size) => Ok(size.as_u64()),
                Err(_) => Err(E::custom(format!(
                    "`{}` is not a size; write e.g. \"8MiB\", \"512KiB\" or a number of bytes",
                    crate::domain::text::bounded(text, 40)
                ))),
            }
        }
    }
    let bytes = d.deserialize_any(Size)?;
    if bytes < MIN_CACHE_CAPACITY {
        return Err(serde::de::Error::custom(format!(
            "{bytes} bytes is too small a cache; give at least \"256KiB\" (the default is \"8MiB\")"
        )));
    }
    Ok(bytes)
}

impl StorageConfig {
    /// The checks of values that parsed.
    pub(super) fn check(&self) -> Result<(), Refusal> {
        let at = |key| [Step::Key("storage"), Step::Key(key)];
        match self.backend {
            StorageBackend::Sled if self.path.as_os_str().is_empty() => refuse(
                &at("path"),
                "path is missing: give the folder the store lives in, e.g. path = \"data/budget-bot.sled\" (or backend = \"postgres\")".into(),
            )?,
            StorageBackend::Sled if self.url_path.is_some() => refuse(
                &at("url_path"),
                "url_path is for backend = \"postgres\"; the sled store needs only path".into(),
            )?,
            _ => {}
        }
        if self.lease < Duration::from_secs(1) || self.lease > Duration::from_secs(3600) {
            refuse(
                &at("lease"),
                format!(
                    "lease must be between 1s and 1h, not {}",
                    humantime::format_duration(self.lease)
                ),
            )?;
        }
        if self.statement_timeout < Duration::from_secs(1)
            || self.statement_timeout > Duration::from_secs(3600)
        {
            refuse(
                &at("statement_timeout"),
                format!(
                    "statement_timeout must be between 1s and 1h, not {}",
                    humantime::format_duration(self.statement_timeout)
                ),
            )?;
        }
        Ok(())
    }

    /// How the PostgreSQL store's connections are opened.
    #[cfg(feature = "postgres")]
    pub fn connect_options(&self) -> crate::store::postgres::ConnectOptions {
        crate::store::postgres::ConnectOptions {
            statement_timeout: self.statement_timeout,
        }
    }

    /// How the store is opened.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            cache_capacity: self.cache_capacity,
            ..StoreOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::MINIMAL;
    use super::StoreOptions;
    use crate::config::Config;

    #[test]
    fn the_store_cache_is_bounded_and_sized_in_words_or_bytes() {
        let storage = |extra: &str| format!("{MINIMAL}\n[storage]\npath = \"db\"\n{extra}");
        let parse = |extra: &str| Config::parse(&storage(extra), Path::new("c.toml"));
        let cache = |extra: &str| parse(extra).unwrap().store_options().cache_capacity;
        assert_eq!(cache(""), 8 * 1024 * 1024, "a few MB unless configured");
        assert_eq!(
            Config::parse(MINIMAL, Path::new("c.toml"))
                .unwrap()
                .store_options(),
            StoreOptions::default()
        );
        assert_eq!(cache("cache_capacity = \"16MiB\""), 16 * 1024 * 1024);
        assert_eq!(cache("cache_capacity = \"512 KiB\""), 512 * 1024);
        assert_eq!(cache("cache_capacity = 4000000"), 4_000_000);
        for (bad, says) in [
            ("\"lots\"", "`lots` is not a size"),
            ("\"1KiB\"", "too small"),
            ("-5", "negative"),
        ] {
            let err = parse(&format!("cache_capacity = {bad}"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(says) && err.contains("cache_capacity"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_backend_is_sled_unless_postgres_is_named_and_a_lease_has_bounds() {
        use super::StorageBackend;
        use std::time::Duration;
        let parse = |storage: &str| {
            Config::parse(
                &format!("{MINIMAL}\n[storage]\n{storage}"),
                Path::new("c.toml"),
            )
        };
        let sled = parse("path = \"db\"").unwrap().storage.unwrap();
        assert_eq!(
            (sled.backend, sled.lease),
            (StorageBackend::Sled, Duration::from_secs(30))
        );
        let pg = parse("backend = \"postgres\"\nurl_path = \"secrets/db_url\"\nlease = \"10s\"");
        let pg = pg.unwrap().storage.unwrap();
        assert_eq!(pg.backend, StorageBackend::Postgres);
        assert_eq!(pg.lease, Duration::from_secs(10));
        assert_eq!(pg.statement_timeout, Duration::from_secs(30));
        let pg = parse("backend = \"postgres\"\nstatement_timeout = \"5s\"");
        assert_eq!(
            pg.unwrap().storage.unwrap().statement_timeout,
            Duration::from_secs(5)
        );
        for (bad, says) in [
            ("lease = \"1s\"", "storage.path"),
            (
                "backend = \"postgres\"\nlease = \"10ms\"",
                "lease must be between 1s and 1h",
            ),
            (
                "backend = \"postgres\"\nstatement_timeout = \"0s\"",
                "statement_timeout must be between 1s and 1h",
            ),
            (
                "path = \"db\"\nurl_path = \"u\"",
                "url_path is for backend = \"postgres\"",
            ),
            ("backend = \"mysql\"", "unknown variant `mysql`"),
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
