//! The allow-list: finding a `<stock>` by its id or configured name, with a did-you-mean when
//! it is neither.

use std::fmt;

use super::command::did_you_mean;
use super::i18n::Lang;
use super::text::arg_echo_in;

/// One allow-listed stock as the resolver sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockEntry<'a> {
    pub stock_id: &'a str,
    pub name: Option<&'a str>,
}

/// A `<stock>` that is neither an allow-listed id nor a configured name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStock {
    pub given: String,
    pub suggestion: Option<String>,
}

/// Finds `token` in the allow-list and returns its index in `stocks`. An exact stock_id match wins
/// over names, so a name can never shadow an id; names match case-insensitively with runs of
/// whitespace treated as one space. If two entries share a name the first wins: duplicate names
/// are the configuration's to reject.
pub fn resolve_stock(token: &str, stocks: &[StockEntry<'_>]) -> Result<usize, UnknownStock> {
    let id = token.trim();
    if let Some(index) = stocks.iter().position(|s| s.stock_id == id) {
        return Ok(index);
    }
    let wanted = normalize_name(token);
    if !wanted.is_empty() {
        if let Some(index) = stocks
            .iter()
            .position(|s| s.name.is_some_and(|n| normalize_name(n) == wanted))
        {
            return Ok(index);
        }
    }
    let candidates = stocks
        .iter()
        .flat_map(|s| std::iter::once(s.stock_id).chain(s.name));
    Err(UnknownStock {
        given: token.to_string(),
        suggestion: did_you_mean(id, candidates).map(str::to_string),
    })
}

fn normalize_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl UnknownStock {
    /// What a chat user reads, in `lang`: the stock is not allowed, the closest that is, and
    /// how to name one.
    pub fn text(&self, lang: Lang) -> String {
        let echo = |given: &str| arg_echo_in(lang, given);
        match &self.suggestion {
            Some(suggestion) => t!(
                lang,
                "unknown-stock-suggest",
                given = echo(&self.given),
                suggestion = echo(suggestion)
            ),
            None => t!(lang, "unknown-stock", given = echo(&self.given)),
        }
    }
}

/// English, for logs and `?`; a chat reply uses [`UnknownStock::text`].
impl fmt::Display for UnknownStock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

impl std::error::Error for UnknownStock {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::test_util::*;
    use crate::domain::command::Command;

    const STOCKS: [StockEntry<'static>; 4] = [
        StockEntry {
            stock_id: "1234567890",
            name: Some("Spring sale"),
        },
        StockEntry {
            stock_id: "9876543210",
            name: Some("618大促"),
        },
        StockEntry {
            stock_id: "5550000001",
            name: None,
        },
        // A name that looks like another stock's id must not shadow that id.
        StockEntry {
            stock_id: "7770000007",
            name: Some("5550000001"),
        },
    ];

    #[test]
    fn resolve_stock_by_id_and_name() {
        let cases = [
            ("1234567890", 0),
            ("9876543210", 1),
            ("5550000001", 2),
            ("7770000007", 3),
            (" 1234567890 ", 0),
            ("Spring sale", 0),
            ("spring SALE", 0),
            ("  Spring   sale ", 0),
            ("618大促", 1),
        ];
        for (token, index) in cases {
            assert_eq!(resolve_stock(token, &STOCKS), Ok(index), "{token:?}");
        }
    }

    #[test]
    fn resolve_stock_through_a_parsed_command() {
        let Command::Show { stock } = ok("/budget show \u{201C}spring sale\u{201D}") else {
            panic!("not a show");
        };
        assert_eq!(resolve_stock(&stock, &STOCKS), Ok(0));
    }

    #[test]
    fn resolve_stock_unknown_with_and_without_suggestion() {
        let cases = [
            ("1234567891", Some("1234567890")),
            ("Sprng sale", Some("Spring sale")),
            ("spring", Some("Spring sale")),
            ("Spring", Some("Spring sale")),
            ("42", None),
            ("Autumn promo", None),
            ("", None),
        ];
        for (token, suggestion) in cases {
            assert_eq!(
                resolve_stock(token, &STOCKS),
                Err(UnknownStock {
                    given: s(token),
                    suggestion: suggestion.map(s)
                }),
                "{token:?}"
            );
        }
        // A blank configured name matches nothing, not even a blank token.
        let blank = [StockEntry {
            stock_id: "1",
            name: Some("  "),
        }];
        assert!(resolve_stock("", &blank).is_err());
        assert!(resolve_stock(" ", &blank).is_err());
        assert_eq!(
            resolve_stock("123", &[]),
            Err(UnknownStock {
                given: s("123"),
                suggestion: None
            })
        );
    }

    #[test]
    fn unknown_stock_message() {
        let with = resolve_stock("1234567891", &STOCKS)
            .unwrap_err()
            .to_string();
        assert_eq!(
            with,
            "Stock `1234567891` is not on the allow-list. Did you mean `1234567890`? Check the \
             spelling and use /budget show <stock_id or name>; put a name with spaces in quotes."
        );
        let without = resolve_stock("42", &STOCKS).unwrap_err().to_string();
        assert!(
            without.starts_with("Stock `42` is not on the allow-list."),
            "{without}"
        );
        assert!(!without.contains("Did you mean"), "{without}");
        assert!(
            without.contains("/budget show <stock_id or name>"),
            "{without}"
        );
    }
}
