//! `[display]`: which language the bot speaks (`"en"`, `"zh-CN"`, or `"auto"` to follow each
//! reader's locale where the platform tells it).

use serde::Deserialize;

use crate::i18n::Lang;

/// `[display]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DisplayConfig {
    #[serde(default)]
    pub language: Language,
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
}
