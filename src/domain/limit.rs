//! The limits a change moves: which one (total or daily), the highest value a limit may take,
//! the operator's hard limits on a change, and the `out_request_no` that makes a change
//! idempotent.

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

/// The operator's hard limits (`[approval] max_target`, `max_increase_percent`): a change past
/// them is refused when it is requested, whoever would approve it. Equal is allowed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardLimits {
    pub max_target: Option<i64>,
    pub max_increase_percent: Option<u64>,
}

/// Which hard limit a change is past.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LimitRefusal {
    AboveMaxTarget {
        target: i64,
        max: i64,
    },
    /// A raise of more than `max_percent` % of `current` (any raise from 0 is).
    IncreaseTooLarge {
        current: i64,
        target: i64,
        max_percent: u64,
    },
}

impl HardLimits {
    /// Checks a change from `current` to `target` (either limit, raise or lowering).
    pub fn check(&self, current: i64, target: i64) -> Result<(), LimitRefusal> {
        if let Some(max) = self.max_target.filter(|max| target > *max) {
            return Err(LimitRefusal::AboveMaxTarget { target, max });
        }
        if let Some(max_percent) = self.max_increase_percent {
            if increase_exceeds(current, target, max_percent) {
                return Err(LimitRefusal::IncreaseTooLarge {
                    current,
                    target,
                    max_percent,
                });
            }
        }
        Ok(())
    }
}

/// Whether a raise from `current` to `target` is more than `percent` % of `current`; a raise
/// from 0 (or below) is past every percentage. In integers, so 10 % of 30 is exactly 3.
pub fn increase_exceeds(current: i64, target: i64, percent: u64) -> bool {
    let raise = i128::from(target) - i128::from(current);
    raise > 0 && (current <= 0 || raise * 100 > i128::from(percent) * i128::from(current))
}

/// Whether a raise from `current` to `target` is at least `percent` % of `current`; a raise
/// from 0 (or below) reaches every percentage.
pub fn increase_reaches(current: i64, target: i64, percent: u64) -> bool {
    let raise = i128::from(target) - i128::from(current);
    raise > 0 && (current <= 0 || raise * 100 >= i128::from(percent) * i128::from(current))
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
    fn hard_limits_refuse_above_and_allow_equal() {
        let limits = HardLimits {
            max_target: Some(1_000),
            max_increase_percent: Some(100),
        };
        assert_eq!(limits.check(500, 1_000), Ok(()));
        assert_eq!(
            limits.check(900, 1_001),
            Err(LimitRefusal::AboveMaxTarget {
                target: 1_001,
                max: 1_000
            })
        );
        assert_eq!(limits.check(400, 800), Ok(()), "exactly +100 %");
        assert!(matches!(
            limits.check(400, 801),
            Err(LimitRefusal::IncreaseTooLarge { .. })
        ));
        assert!(
            matches!(
                limits.check(0, 1),
                Err(LimitRefusal::IncreaseTooLarge { .. })
            ),
            "a raise from 0 is past any percentage"
        );
        assert_eq!(limits.check(900, 10), Ok(()), "lowering is never too large");
        assert_eq!(HardLimits::default().check(0, i64::MAX), Ok(()));
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
