//! Why a message is not a valid command, and the one short paragraph a chat user reads for
//! each reason, saying what to type instead.

use std::fmt;

use crate::domain::i18n::Lang;
use crate::domain::limit::MAX_BUDGET_VALUE;
use crate::domain::request::group;
use crate::domain::text;

use super::grammar::{help_text, known, SUBCOMMANDS};
use super::{DEFAULT_HISTORY_COUNT, MAX_HISTORY_COUNT, MAX_REASON_CHARS};

/// Why a message is not a valid command. Each message is one short paragraph for a chat user
/// and says what to type instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The text does not start with `/budget`.
    NotACommand,
    /// `/budget` with nothing after it; the message carries the whole help.
    MissingSubcommand,
    /// The word after `/budget` is not a subcommand.
    UnknownSubcommand {
        given: String,
        suggestion: Option<&'static str>,
    },
    /// A `"` or `“` opened a group that never closed.
    UnclosedQuote { quote: char },
    /// A required argument is absent (or an empty `""`). `argument` is e.g. `"limit"`.
    MissingArgument {
        subcommand: &'static str,
        argument: &'static str,
    },
    /// More arguments than the subcommand takes; `extra` is the first one too many.
    UnexpectedArgument {
        subcommand: &'static str,
        extra: String,
    },
    /// A limit with a minus sign.
    NegativeLimit { given: String },
    /// A limit that is not a whole number in digits (`abc`, `12.5`, `1e6`, `20k`, `,200`).
    NotANumber { given: String },
    /// A limit above [`MAX_BUDGET_VALUE`], including ones too big for an `i64`.
    LimitTooLarge { given: String },
    /// A number (limit or history count) followed by an unquoted word that starts like a number:
    /// most likely one number typed with a space in it (`20 000`, `1\u{A0}500`), which must not be
    /// read as 20 with the reason "000". `parts` are the number and the words read as its rest;
    /// `guess` is the number they make joined, when that is a valid value.
    SplitNumber {
        subcommand: &'static str,
        parts: Vec<String>,
        guess: Option<i64>,
    },
    /// The reason is longer than [`MAX_REASON_CHARS`]; `chars` is its length.
    ReasonTooLong { chars: usize },
    /// A `history` count that is not a whole number from 1 to [`MAX_HISTORY_COUNT`].
    CountOutOfRange { given: String },
}

impl ParseError {
    /// The paragraph a chat user reads, in `lang`, saying what to type instead.
    pub fn text(&self, lang: Lang) -> String {
        let echo = |given: &str| text::arg_echo_in(lang, given);
        let max = group(MAX_BUDGET_VALUE);
        match self {
            ParseError::NotACommand => t!(lang, "parse-not-a-command"),
            ParseError::MissingSubcommand => {
                t!(lang, "parse-missing-subcommand", help = help_text(lang))
            }
            ParseError::UnknownSubcommand { given, suggestion } => {
                let names: Vec<&str> = SUBCOMMANDS.iter().map(|s| s.name).collect();
                let names = names.join(", ");
                match suggestion {
                    Some(name) => t!(
                        lang,
                        "parse-unknown-subcommand-suggest",
                        given = echo(given),
                        usage = known(name).usage,
                        names = names
                    ),
                    None => t!(
                        lang,
                        "parse-unknown-subcommand",
                        given = echo(given),
                        names = names
                    ),
                }
            }
            ParseError::UnclosedQuote { quote } => t!(lang, "parse-unclosed-quote", quote = quote),
            ParseError::MissingArgument {
                subcommand,
                argument,
            } => {
                let sub = known(subcommand);
                t!(
                    lang,
                    "parse-missing-argument",
                    subcommand = sub.name,
                    argument = argument,
                    usage = sub.usage,
                    example = sub.example
                )
            }
            ParseError::UnexpectedArgument { subcommand, extra } => {
                let sub = known(subcommand);
                let mut text = t!(
                    lang,
                    "parse-unexpected-argument",
                    extra = echo(extra),
                    subcommand = sub.name,
                    usage = sub.usage,
                    example = sub.example
                );
                if sub.usage.contains("<stock>") {
                    // The usual cause: a stock name with spaces, typed without quotes.
                    text.push_str(&t!(lang, "parse-quote-stock-name"));
                }
                text
            }
            ParseError::NegativeLimit { given } => {
                t!(lang, "parse-negative-limit", given = echo(given), max = max)
            }
            ParseError::NotANumber { given } if given.trim().is_empty() => {
                t!(lang, "parse-empty-limit")
            }
            ParseError::NotANumber { given } => {
                // Invisible characters are not shown in the echo, which would look like a number.
                let invisible = if given.chars().any(text::is_unsafe_char) {
                    t!(lang, "parse-invisible-chars")
                } else {
                    String::new()
                };
                t!(
                    lang,
                    "parse-not-a-number",
                    given = echo(given),
                    invisible = invisible
                )
            }
            ParseError::LimitTooLarge { given } => {
                t!(
                    lang,
                    "parse-limit-too-large",
                    given = echo(given),
                    max = max
                )
            }
            ParseError::SplitNumber {
                subcommand,
                parts,
                guess,
            } => {
                let sub = known(subcommand);
                let written = echo(&parts.join(" "));
                let mut text = match guess {
                    Some(value) => t!(
                        lang,
                        "parse-split-number-guess",
                        written = written,
                        value = value
                    ),
                    None => t!(lang, "parse-split-number-unclear", written = written),
                };
                text.push_str(&if sub.name == "history" {
                    t!(
                        lang,
                        "parse-split-count",
                        max = MAX_HISTORY_COUNT,
                        example = sub.example
                    )
                } else {
                    t!(lang, "parse-split-limit", subcommand = sub.name)
                });
                text
            }
            ParseError::ReasonTooLong { chars } => t!(
                lang,
                "parse-reason-too-long",
                chars = chars,
                max = MAX_REASON_CHARS
            ),
            ParseError::CountOutOfRange { given } => t!(
                lang,
                "parse-count-out-of-range",
                given = echo(given),
                max = MAX_HISTORY_COUNT,
                default = DEFAULT_HISTORY_COUNT
            ),
        }
    }
}

/// English, for logs and `?`; a chat reply uses [`ParseError::text`] in the reader's language.
impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::allowlist::resolve_stock;
    use crate::domain::command::parse_limit;
    use crate::domain::command::test_util::*;

    #[test]
    fn unknown_subcommand_message() {
        let with = err("/budget set-dialy 123 5").to_string();
        assert!(
            with.contains("`set-dialy` is not a /budget subcommand"),
            "{with}"
        );
        assert!(
            with.contains(
                "Did you mean `/budget set-daily <stock> <limit> [at <when>] [reason...]`?"
            ),
            "{with}"
        );
        assert!(with.contains("`/budget help`"), "{with}");
        let without = err("/budget frobnicate").to_string();
        assert!(!without.contains("Did you mean"), "{without}");
        for name in [
            "show",
            "set-daily",
            "set-total",
            "pending",
            "cancel",
            "history",
            "help",
        ] {
            assert!(without.contains(name), "{name} missing from: {without}");
        }
    }

    #[test]
    fn echoed_input_is_defused() {
        let message = ParseError::NotANumber { given: s("a`b") }.to_string();
        assert!(message.starts_with("`a'b` is not"), "{message}");
        let long = "9".repeat(500);
        let message = ParseError::LimitTooLarge { given: long }.to_string();
        assert!(
            message.contains(&format!("`{}… [cut: 460 more characters]`", "9".repeat(40))),
            "{message}"
        );
        assert!(message.len() < 300, "{message}");
    }

    #[test]
    fn every_error_is_one_paragraph_with_a_command_to_type() {
        let errors = [
            ParseError::NotACommand,
            ParseError::UnknownSubcommand {
                given: s("x"),
                suggestion: None,
            },
            ParseError::UnclosedQuote { quote: '"' },
            ParseError::MissingArgument {
                subcommand: "show",
                argument: "stock",
            },
            ParseError::UnexpectedArgument {
                subcommand: "help",
                extra: s("x"),
            },
            ParseError::NegativeLimit { given: s("-1") },
            ParseError::NotANumber { given: s("x") },
            ParseError::LimitTooLarge { given: s("1e9") },
            ParseError::SplitNumber {
                subcommand: "set-total",
                parts: vec![s("20"), s("000")],
                guess: Some(20000),
            },
            ParseError::SplitNumber {
                subcommand: "history",
                parts: vec![s("5"), s("00")],
                guess: None,
            },
            ParseError::ReasonTooLong { chars: 300 },
            ParseError::CountOutOfRange { given: s("0") },
        ];
        for e in errors {
            let message = e.to_string();
            assert!(!message.contains('\n'), "{message}");
            assert!(message.contains("`/budget"), "{message}");
            // Usable through `?` into `Box<dyn Error>`.
            let _: Box<dyn std::error::Error> = Box::new(e);
        }
    }

    #[test]
    fn limit_messages_say_what_to_type() {
        let not_number = parse_limit("abc").unwrap_err().to_string();
        assert_eq!(
            not_number,
            "`abc` is not a whole number. Type the limit in digits, e.g. \
             `/budget set-daily 123 20000` (`20,000` and `20_000` work too)."
        );
        let negative = parse_limit("-5").unwrap_err().to_string();
        assert!(negative.contains("`-5` is negative"), "{negative}");
        assert!(negative.contains("without the minus"), "{negative}");
        let large = parse_limit("200000000").unwrap_err().to_string();
        assert!(large.contains("`200000000`"), "{large}");
        assert!(large.contains("maximum limit of 100,000,000"), "{large}");
        let empty = parse_limit("").unwrap_err().to_string();
        assert!(empty.starts_with("The limit is empty."), "{empty}");
    }

    #[test]
    fn echoes_drop_controls_and_bidi_marks_and_are_cut() {
        let message = err("/budget sh\u{202E}ow\u{0}x\u{1b}[2J").to_string();
        assert!(message.contains("`showx[2J` is not"), "{message:?}");
        assert!(!message.chars().any(text::is_unsafe_char), "{message:?}");
        let stock = format!("\u{202E}{}", "7".repeat(100_000));
        let message = resolve_stock(&stock, &[]).unwrap_err().to_string();
        assert!(message.contains("more characters]"), "{message}");
        assert!(message.len() < 400, "{} bytes", message.len());
        assert!(!message.chars().any(text::is_unsafe_char), "{message:?}");
    }
}
