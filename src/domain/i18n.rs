//! The bot's two languages: the Project Fluent catalogues in `locales/<lang>/*.ftl`, compiled
//! into the binary, and the one lookup every sentence goes through ([`lookup`], or the `t!`
//! macro). Pure: the catalogues are embedded at compile time, so the domain's own words (the
//! grammar's help and errors) come from here too. The language is always passed in by whoever builds a message: a
//! Discord reply follows its interaction's locale, a channel post the guild's, so there is no
//! global "current language".

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{langid, static_loader, LanguageIdentifier, Loader};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Arguments are ids, numbers already grouped and people's own words: no bidi
        // isolation marks around them (they would show up in console output and tests).
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

static EN: LanguageIdentifier = langid!("en");
static ZH_CN: LanguageIdentifier = langid!("zh-CN");

/// A language the bot speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// The catalogue folder and BCP 47 tag: `en`, `zh-CN`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// A Discord (or any BCP 47) locale: any Chinese (`zh-CN`, `zh-TW`, `zh`) reads Chinese,
    /// everything else English.
    pub fn of_locale(locale: &str) -> Lang {
        let primary = locale.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("zh") {
            Lang::ZhCn
        } else {
            Lang::En
        }
    }

    fn id(self) -> &'static LanguageIdentifier {
        match self {
            Lang::En => &EN,
            Lang::ZhCn => &ZH_CN,
        }
    }
}

/// The message `id` in `lang` with its arguments (already formatted: numbers are grouped by
/// the caller, `1,000` in both languages). A message missing from the catalogue is a bug the
/// catalogue test catches; at run time it falls back to English, then to the id itself.
pub fn lookup(lang: Lang, id: &str, args: &[(&'static str, String)]) -> String {
    try_lookup(lang, id, args)
        .or_else(|| try_lookup(Lang::En, id, args))
        .unwrap_or_else(|| {
            debug_assert!(false, "message `{id}` is in no catalogue");
            id.to_string()
        })
}

/// The message `id` in `lang` if the catalogue has it (for ids made from recorded words, such
/// as an audit action, that a catalogue may not name).
pub fn try_lookup(lang: Lang, id: &str, args: &[(&'static str, String)]) -> Option<String> {
    let map: HashMap<Cow<'static, str>, FluentValue> = args
        .iter()
        .map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.clone())))
        .collect();
    LOCALES.try_lookup_with_args(lang.id(), id, &map)
}

/// A sentence kept as its catalogue id and arguments, to be said later in whichever language
/// reads it: what a request's outcome and an audit entry store, so a Chinese card or history
/// shows a stored reason in Chinese. An argument is text (numbers already grouped, ids, the
/// API's own words) or another such sentence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Arg>,
}

/// One argument of a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arg {
    Text(String),
    Message(Message),
}

impl Message {
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            args: BTreeMap::new(),
        }
    }

    /// With the argument `name` set to `value` as text.
    pub fn text(mut self, name: &str, value: impl ToString) -> Self {
        self.args
            .insert(name.to_string(), Arg::Text(value.to_string()));
        self
    }

    /// With the argument `name` set to another sentence, said in the same language.
    pub fn with(mut self, name: &str, value: Message) -> Self {
        self.args.insert(name.to_string(), Arg::Message(value));
        self
    }

    /// The sentence in `lang`. A stored id this catalogue lacks (written by a later version)
    /// falls back to English, then to the id with its arguments, never to nothing.
    pub fn render(&self, lang: Lang) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = self
            .args
            .iter()
            .map(|(name, arg)| {
                let value = match arg {
                    Arg::Text(text) => text.clone(),
                    Arg::Message(message) => message.render(lang),
                };
                (Cow::Owned(name.clone()), FluentValue::from(value))
            })
            .collect();
        LOCALES
            .try_lookup_with_args(lang.id(), &self.id, &args)
            .or_else(|| LOCALES.try_lookup_with_args(&EN, &self.id, &args))
            .unwrap_or_else(|| {
                let shown: Vec<String> = args
                    .iter()
                    .map(|(name, value)| format!("{name}={value:?}"))
                    .collect();
                format!("{} {}", self.id, shown.join(" "))
            })
    }
}

/// `t!(lang, "card-link", link = url)`: [`lookup`] with each value `to_string`ed.
#[macro_export]
macro_rules! t {
    ($lang:expr, $id:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::domain::i18n::lookup($lang, $id, &[$((stringify!($name), ($value).to_string())),*])
    };
}

/// A sentence in every language, for words made where the reader is not known yet (a notice
/// the app announces, shown in whatever language the platform's channel reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Localized {
    en: String,
    zh_cn: String,
}

impl From<&Message> for Localized {
    fn from(message: &Message) -> Self {
        Self::new(|lang| message.render(lang))
    }
}

impl Localized {
    /// Builds the sentence once per language.
    pub fn new(build: impl Fn(Lang) -> String) -> Self {
        Self {
            en: build(Lang::En),
            zh_cn: build(Lang::ZhCn),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh_cn,
        }
    }

    /// Each language's text changed the same way (e.g. a link appended).
    pub fn map(&self, f: impl Fn(Lang, &str) -> String) -> Self {
        Self::new(|lang| f(lang, self.get(lang)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_message_reads_in_each_language_and_survives_serde() {
        let message = Message::new("detail-stale")
            .text("approved", "1,000")
            .with("seen", Message::new("unlimited"));
        let stored: Message =
            serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
        assert_eq!(stored, message);
        let en = stored.render(Lang::En);
        let zh = stored.render(Lang::ZhCn);
        assert!(en.contains("1,000") && en.contains("unlimited"), "{en}");
        assert!(zh.contains("1,000") && !zh.contains("unlimited"), "{zh}");
        // An id a later version wrote is shown as it is, not lost.
        // A literal, not the constructor: the catalogue test takes the constructor's ids.
        let later = Message {
            id: "detail-from-the-future".into(),
            args: BTreeMap::new(),
        }
        .text("n", "7");
        assert!(later.render(Lang::ZhCn).contains("detail-from-the-future"));
    }

    #[test]
    fn chinese_locales_read_chinese() {
        for zh in ["zh-CN", "zh-TW", "zh", "ZH_cn"] {
            assert_eq!(Lang::of_locale(zh), Lang::ZhCn, "{zh}");
        }
        for other in ["en-US", "en-GB", "ja", "", "zhx"] {
            assert_eq!(Lang::of_locale(other), Lang::En, "{other}");
        }
    }
}
