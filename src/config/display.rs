//! `[display]`: the time zone `at HH:MM` is read in, dates of burn alerts are counted in, and
//! new times in plain-text messages are written in.

use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer};

/// Where WeChat Pay's daily counts roll over.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

/// `[display]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisplayConfig {
    #[serde(default = "d_timezone", deserialize_with = "de_timezone")]
    pub timezone: TimeZone,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        Self {
            timezone: d_timezone(),
        }
    }
}

fn d_timezone() -> TimeZone {
    TimeZone::get(DEFAULT_TIMEZONE).unwrap_or(TimeZone::UTC)
}

/// An IANA time zone name (`Asia/Shanghai`, `UTC`).
fn de_timezone<'de, D: Deserializer<'de>>(d: D) -> Result<TimeZone, D::Error> {
    let name = String::deserialize(d)?;
    TimeZone::get(&name).map_err(|_| {
        serde::de::Error::custom(format!(
            "`{}` is not a time zone; write an IANA name such as \"Asia/Shanghai\" or \"UTC\"",
            crate::domain::text::bounded(&name, 40)
        ))
    })
}
