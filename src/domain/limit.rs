//! The limits a change moves: which one (total or daily), the highest value a limit may take,
//! and the `out_request_no` that makes a change idempotent.

use serde::{Deserialize, Serialize};

/// Highest value the API accepts for `max_count` and `max_count_per_day`.
pub const MAX_BUDGET_VALUE: i64 = 100_000_000;

/// Which limit a change moves. The serialized names are the API's `update_mode` words, which is
/// also how stored requests spell them: renaming them would orphan every stored request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UpdateMode {
    /// `max_count`, the lifetime cap.
    MaxCount,
    /// `max_count_per_day`, the daily cap.
    MaxCountPerDay,
}

impl UpdateMode {
    /// The serialized name (`MAX_COUNT`, `MAX_COUNT_PER_DAY`).
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateMode::MaxCount => "MAX_COUNT",
            UpdateMode::MaxCountPerDay => "MAX_COUNT_PER_DAY",
        }
    }
    /// The name of the limit this mode changes, as the stock calls it.
    pub fn field_name(self) -> &'static str {
        match self {
            UpdateMode::MaxCount => "max_count",
            UpdateMode::MaxCountPerDay => "max_count_per_day",
        }
    }
}

/// `out_request_no`: 6 to 40 characters of `[0-9A-Za-z_-]`, fixed when a change is created.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OutRequestNo(String);

impl OutRequestNo {
    pub fn new(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        let len_ok = (6..=40).contains(&value.len());
        let chars_ok = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if len_ok && chars_ok {
            Ok(Self(value))
        } else {
            Err(format!(
                "out_request_no `{value}` must be 6 to 40 characters of 0-9, A-Z, a-z, `_` or `-`"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for OutRequestNo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        OutRequestNo::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for OutRequestNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_request_no_rules() {
        assert!(OutRequestNo::new("abc12").is_err());
        assert!(OutRequestNo::new("abc123").is_ok());
        assert!(OutRequestNo::new("a".repeat(40)).is_ok());
        assert!(OutRequestNo::new("a".repeat(41)).is_err());
        assert!(OutRequestNo::new("abc 123").is_err());
        assert!(OutRequestNo::new("abc/123").is_err());
        assert!(OutRequestNo::new("AZaz09_-").is_ok());
        assert!(serde_json::from_str::<OutRequestNo>("\"bad!\"").is_err());
    }

    #[test]
    fn modes_keep_their_stored_names() {
        for mode in [UpdateMode::MaxCount, UpdateMode::MaxCountPerDay] {
            let stored = serde_json::to_string(&mode).unwrap();
            assert_eq!(stored, format!("\"{}\"", mode.as_str()));
            assert_eq!(serde_json::from_str::<UpdateMode>(&stored).unwrap(), mode);
        }
    }
}
