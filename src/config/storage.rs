//! `[storage]`: where the store lives and how much memory its page cache may use.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use crate::store::{StoreOptions, DEFAULT_CACHE_CAPACITY};

/// `[storage]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub path: PathBuf,
    /// The most memory the store's page cache may use, in bytes.
    #[serde(default = "d_cache_capacity", deserialize_with = "de_cache_capacity")]
    pub cache_capacity: u64,
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
}
