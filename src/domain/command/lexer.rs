//! Splitting a message into words: whitespace (every Unicode space) separates, double quotes
//! (straight or typographic) group.

use super::error::ParseError;

/// Splits text into whitespace-separated tokens. Double quotes group words, including the
/// typographic quotes phone keyboards substitute (`“Spring sale”`); quotes may sit inside a token
/// as in a shell (`a"b c"` is `ab c`), and `""` is an empty token. Single quotes and apostrophes
/// are ordinary characters so that names like `Mary's sale` need no quoting. There are no escapes:
/// a backslash is kept literally.
///
/// Every Unicode space separates tokens (`char::is_whitespace`: the no-break, narrow no-break,
/// thin and ideographic spaces included), the same as in [`parse_command`]'s prefix check and the
/// console's line split, so a number typed with any of them is always seen as two words.
pub fn tokenize(text: &str) -> Result<Vec<String>, ParseError> {
    Ok(lex(text)?.into_iter().map(|t| t.text).collect())
}

/// One token and whether it began with a quote: a quoted word is never taken for the rest of a
/// number, which is how a reason may start with a digit (`"2nd push"`).
#[derive(Debug, Default)]
pub(super) struct Token {
    pub(super) text: String,
    pub(super) quoted: bool,
}

pub(super) fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut current: Option<Token> = None;
    let mut open_quote: Option<char> = None;
    for c in text.chars() {
        match open_quote {
            Some(_) if is_closing_quote(c) => open_quote = None,
            Some(_) => current.get_or_insert_with(Token::default).text.push(c),
            None if c.is_whitespace() => tokens.extend(current.take()),
            None if is_opening_quote(c) => {
                open_quote = Some(c);
                // Opens a token (so that `""` is an empty one) or continues one (`a"b c"`).
                current.get_or_insert(Token {
                    text: String::new(),
                    quoted: true,
                });
            }
            None => current.get_or_insert_with(Token::default).text.push(c),
        }
    }
    if let Some(quote) = open_quote {
        return Err(ParseError::UnclosedQuote { quote });
    }
    tokens.extend(current);
    Ok(tokens)
}

/// Any double quote opens a group. Keyboards do not reliably pair “ with ” (some produce ” ”, and
/// people mix in a straight `"`), so any double quote but the low `„` also closes one.
fn is_opening_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

fn is_closing_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::test_util::*;
    use crate::domain::command::{Command, UpdateMode};

    #[test]
    fn quotes_group_words() {
        let cases: Vec<(&str, Command)> = vec![
            (
                "/budget show \"Spring sale\"",
                Command::Show {
                    stock: s("Spring sale"),
                },
            ),
            (
                "/budget show \u{201C}Spring sale\u{201D}",
                Command::Show {
                    stock: s("Spring sale"),
                },
            ),
            // Keyboards that produce the same curly quote on both sides.
            (
                "/budget show \u{201D}Spring sale\u{201D}",
                Command::Show {
                    stock: s("Spring sale"),
                },
            ),
            // Mixed straight and curly.
            (
                "/budget show \u{201C}Spring sale\"",
                Command::Show {
                    stock: s("Spring sale"),
                },
            ),
            (
                "/budget history \"Spring sale\" 5",
                Command::History {
                    stock: s("Spring sale"),
                    count: 5,
                },
            ),
            (
                "/budget set-daily \"Spring sale\" 20,000 \"double  spaced\"",
                set(
                    UpdateMode::MaxCountPerDay,
                    "Spring sale",
                    20000,
                    Some("double  spaced"),
                ),
            ),
            (
                "/budget set-daily 123 100 \u{201C}for the 618 promo\u{201D} per ops",
                set(
                    UpdateMode::MaxCountPerDay,
                    "123",
                    100,
                    Some("for the 618 promo per ops"),
                ),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(ok(text), expected, "{text:?}");
        }
    }

    #[test]
    fn tokenize_cases() {
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("", vec![]),
            ("   ", vec![]),
            ("a b  c", vec!["a", "b", "c"]),
            ("\"a b\" c", vec!["a b", "c"]),
            ("\"\"", vec![""]),
            ("a \"\" b", vec!["a", "", "b"]),
            ("a\"b c\"d", vec!["ab cd"]),
            ("Mary's sale", vec!["Mary's", "sale"]),
            ("back\\slash", vec!["back\\slash"]),
            ("\u{201E}low open\u{201C}", vec!["low open"]),
            ("\"  inner  \"", vec!["  inner  "]),
        ];
        for (text, expected) in cases {
            assert_eq!(tokenize(text).unwrap(), expected, "{text:?}");
        }
    }

    #[test]
    fn unclosed_quotes_are_their_own_error() {
        assert_eq!(
            tokenize("\"Spring sale"),
            Err(ParseError::UnclosedQuote { quote: '"' })
        );
        assert_eq!(
            err("/budget show \u{201C}Spring sale"),
            ParseError::UnclosedQuote { quote: '\u{201C}' }
        );
        let message = err("/budget set-daily 123 5 \"oops").to_string();
        assert!(message.contains("never closed"), "{message}");
        assert!(message.contains("\"Spring sale\""), "{message}");
    }

    #[test]
    fn unicode_spaces_separate_tokens_everywhere() {
        for space in NUMBER_SPACES {
            assert_eq!(
                tokenize(&format!("a{space}b")).unwrap(),
                ["a", "b"],
                "{space:?}"
            );
            assert_eq!(
                ok(&format!("/budget{space}show{space}123")),
                Command::Show { stock: s("123") },
                "{space:?}"
            );
        }
    }
}
