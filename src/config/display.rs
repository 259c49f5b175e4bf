//! `[display]`: which language the bot speaks (`"en"`, `"zh-CN"`, or `"auto"` to follow each
//! reader's locale where the platform tells it), and the time zone `at HH:MM` is read in, dates
//! of burn alerts are counted in, and every time in a message is written in.

use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer};

use crate::i18n::Lang;

/// Where WeChat Pay's daily counts roll over.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";

/// `[display]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisplayConfig {
    #[serde(default)]
    pub language: Language,
    #[serde(default = "d_timezone", deserialize_with = "de_timezone")]
    pub timezone: TimeZone,
}

impl Default for DisplayConfig {
    fn default() -> Self {
        Self {
            language: Language::default(),
            timezone: d_timezone(),
        }
    }
}

/// `language = "en" | "zh-CN" | "auto"`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
    /// Each reply follows its reader's locale (on Discord: the interaction's `locale` for
    /// replies, the guild's `guild_locale` for channel posts); English where none is known.
    #[serde(rename = "auto")]
    Auto,
}

impl std::str::FromStr for Language {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "en" => Ok(Language::En),
            "zh-CN" => Ok(Language::ZhCn),
            "auto" => Ok(Language::Auto),
            other => Err(format!(
                "`{other}` is not a language: use \"en\", \"zh-CN\" or \"auto\""
            )),
        }
    }
}

impl Language {
    /// The language for a reader whose locale is `locale`, if the platform told it.
    pub fn pick(self, locale: Option<&str>) -> Lang {
        match self {
            Language::En => Lang::En,
            Language::ZhCn => Lang::ZhCn,
            Language::Auto => locale.map(Lang::of_locale).unwrap_or_default(),
        }
    }

    /// The language where no reader's locale is known (the console, the CLI).
    pub fn fixed(self) -> Lang {
        self.pick(None)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_the_locale_and_fixed_languages_do_not() {
        assert_eq!(Language::Auto.pick(Some("zh-TW")), Lang::ZhCn);
        assert_eq!(Language::Auto.pick(Some("en-US")), Lang::En);
        assert_eq!(Language::Auto.pick(None), Lang::En);
        assert_eq!(Language::ZhCn.pick(Some("en-US")), Lang::ZhCn);
        assert_eq!(Language::En.pick(Some("zh-CN")), Lang::En);
        let parsed: DisplayConfig = toml::from_str("language = \"zh-CN\"").unwrap();
        assert_eq!(parsed.language, Language::ZhCn);
        assert!(toml::from_str::<DisplayConfig>("language = \"fr\"").is_err());
    }

    #[test]
    fn both_keys_parse_together() {
        let parsed: DisplayConfig =
            toml::from_str("language = \"zh-CN\"\ntimezone = \"UTC\"").unwrap();
        assert_eq!(parsed.language, Language::ZhCn);
        assert_eq!(parsed.timezone, TimeZone::UTC);
    }
}
