//! Numbers as people type them in chat: budget limits with `,`/`_` grouping, history counts,
//! and the refusal of a number split by a space (`20 000`), which must not be read as 20.

use crate::domain::limit::MAX_BUDGET_VALUE;

use super::error::ParseError;
use super::grammar::Subcommand;
use super::lexer::Token;
use super::MAX_HISTORY_COUNT;

/// Refuses `number` followed by an unquoted word that starts like a number (a digit, or a `,`,
/// `_` or `.`), which is how `20 000` or `1\u{202F}500` arrives: read as written it would be a
/// request for 20 with the reason "000". `value` parses the joined number for the did-you-mean.
/// A number that is not all digits and separators (`sale`, `-5`) is left to the usual checks.
pub(super) fn refuse_split_number(
    sub: &'static Subcommand,
    number: &Token,
    rest: &[Token],
    value: impl Fn(&str) -> Option<i64>,
) -> Result<(), ParseError> {
    let rest: Vec<&Token> = rest.iter().filter(|t| !t.text.is_empty()).collect();
    let Some(next) = rest.first() else {
        return Ok(());
    };
    let next_starts_like_a_number = !next.quoted
        && next
            .text
            .starts_with(|c: char| c.is_numeric() || matches!(c, ',' | '_' | '.'));
    let number_is_digits =
        is_number_part(&number.text) && number.text.chars().any(|c| c.is_ascii_digit());
    if !next_starts_like_a_number || !number_is_digits {
        return Ok(());
    }
    let tail = rest
        .iter()
        .take_while(|t| !t.quoted && is_number_part(&t.text))
        .count();
    let mut parts = vec![number.text.clone()];
    let guess = if tail == 0 {
        // Not joinable (`2nd`): the word is shown so that the message makes sense.
        parts.push(next.text.clone());
        None
    } else {
        parts.extend(rest[..tail].iter().map(|t| t.text.clone()));
        value(&parts.concat())
    };
    Err(ParseError::SplitNumber {
        subcommand: sub.name,
        parts,
        guess,
    })
}

/// Digits and the separators `,` and `_` only: what a piece of a split number looks like.
fn is_number_part(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '_')
}

pub(super) fn parse_count(token: &str) -> Result<u32, ParseError> {
    let out_of_range = || ParseError::CountOutOfRange {
        given: token.to_string(),
    };
    // Digits only, and few of them: longer strings cannot be in range and must not overflow.
    if token.is_empty() || token.len() > 3 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(out_of_range());
    }
    let count: u32 = token.parse().map_err(|_| out_of_range())?;
    if (1..=MAX_HISTORY_COUNT).contains(&count) {
        Ok(count)
    } else {
        Err(out_of_range())
    }
}

/// Parses a budget limit: ASCII digits, optionally grouped by `,` or `_` between digits
/// (`20,000`, `20_000`; any group size, since `2,0000` is how some Chinese users group).
/// A leading `-` (or `−`) followed by a valid number is [`ParseError::NegativeLimit`]; anything
/// else that is not digits, including `+5`, `12.5`, `1e6`, `20k` and misplaced separators, is
/// [`ParseError::NotANumber`]; above [`MAX_BUDGET_VALUE`] (even beyond `i64`) is
/// [`ParseError::LimitTooLarge`]. 0 is accepted: the API allows 0..=100,000,000.
pub fn parse_limit(token: &str) -> Result<i64, ParseError> {
    let trimmed = token.trim();
    let (negative, digits) = match trimmed
        .strip_prefix('-')
        .or_else(|| trimmed.strip_prefix('\u{2212}'))
    {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let given = || token.to_string();
    match grouped_digits(digits) {
        None => Err(ParseError::NotANumber { given: given() }),
        Some(_) if negative => Err(ParseError::NegativeLimit { given: given() }),
        Some(Some(value)) if value <= MAX_BUDGET_VALUE => Ok(value),
        Some(_) => Err(ParseError::LimitTooLarge { given: given() }),
    }
}

/// `None` if `s` is not digits with single separators between them; `Some(None)` if it is but
/// overflows an `i64`.
fn grouped_digits(s: &str) -> Option<Option<i64>> {
    let mut value = Some(0i64);
    let mut after_digit = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            let digit = i64::from(c as u8 - b'0');
            value = value.and_then(|v| v.checked_mul(10)?.checked_add(digit));
            after_digit = true;
        } else if (c == ',' || c == '_') && after_digit {
            after_digit = false;
        } else {
            return None;
        }
    }
    // Also rejects the empty string and a trailing separator.
    after_digit.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::test_util::*;
    use crate::domain::command::{parse_command, UpdateMode};
    use crate::domain::text;

    #[test]
    fn limit_accepts_digits_and_separators() {
        let cases = [
            ("0", 0),
            ("1", 1),
            ("20000", 20_000),
            ("20,000", 20_000),
            ("20_000", 20_000),
            ("1,000,000", 1_000_000),
            ("2,0000", 20_000),
            ("1_000,000", 1_000_000),
            ("007", 7),
            ("100000000", MAX_BUDGET_VALUE),
            ("100,000,000", MAX_BUDGET_VALUE),
            (" 42 ", 42),
        ];
        for (token, expected) in cases {
            assert_eq!(parse_limit(token), Ok(expected), "{token:?}");
        }
    }

    #[test]
    fn limit_rejects_non_numbers() {
        for token in [
            "",
            "abc",
            "12.5",
            "1e6",
            "20k",
            ",200",
            "2,,0",
            "200,",
            "_5",
            "5_",
            "+5",
            "1 000",
            "--5",
            "-",
            "0x10",
            "２００",
            "20.000",
            "五",
            "1,0a",
        ] {
            assert_eq!(
                parse_limit(token),
                Err(ParseError::NotANumber { given: s(token) }),
                "{token:?}"
            );
        }
    }

    #[test]
    fn limit_rejects_negatives() {
        for token in [
            "-5",
            "-0",
            "-20,000",
            "\u{2212}5",
            "-99999999999999999999999",
        ] {
            assert_eq!(
                parse_limit(token),
                Err(ParseError::NegativeLimit { given: s(token) }),
                "{token:?}"
            );
        }
    }

    #[test]
    fn limit_rejects_too_large_including_overflow() {
        for token in [
            "100000001",
            "100,000,001",
            "9223372036854775807",
            "9223372036854775808",
            "99999999999999999999999999",
        ] {
            assert_eq!(
                parse_limit(token),
                Err(ParseError::LimitTooLarge { given: s(token) }),
                "{token:?}"
            );
        }
    }

    #[test]
    fn limit_errors_through_the_command() {
        assert_eq!(
            err("/budget set-daily 123 abc"),
            ParseError::NotANumber { given: s("abc") }
        );
        assert_eq!(
            err("/budget set-total 123 -5"),
            ParseError::NegativeLimit { given: s("-5") }
        );
        assert_eq!(
            err("/budget set-total 123 200,000,000"),
            ParseError::LimitTooLarge {
                given: s("200,000,000")
            }
        );
        // An unquoted name with spaces puts a word where the limit goes.
        assert_eq!(
            err("/budget set-daily Spring sale 20000"),
            ParseError::NotANumber { given: s("sale") }
        );
    }

    #[test]
    fn a_limit_split_by_a_space_is_refused_with_the_joined_number() {
        let cases = [
            ("set-daily", "20 000", "20000"),
            ("set-total", "20 000", "20000"),
            ("set-daily", "1 500", "1500"),
            ("set-total", "1 000 000", "1000000"),
            ("set-daily", "20 ,000", "20000"),
            ("set-daily", "20,0 00", "20000"),
            ("set-total", "2 0000 spring campaign", "20000"),
        ];
        for space in NUMBER_SPACES {
            for (sub, written, joined) in cases {
                let text = format!("/budget {sub} 123 {}", written.replace(' ', space));
                let message = match parse_command(&text) {
                    Ok(command) => panic!("{text:?} must be refused, got {command:?}"),
                    Err(e) => e.to_string(),
                };
                assert!(
                    message.contains(&format!("did you mean {joined}?")),
                    "{text:?}: {message}"
                );
                assert!(
                    message.contains(&format!("`/budget {sub} 123 20000 \"2nd push\"`")),
                    "{text:?}: {message}"
                );
                assert!(!message.contains('\n'), "{message}");
            }
        }
    }

    #[test]
    fn a_reason_that_starts_with_a_digit_must_be_quoted() {
        use UpdateMode::{MaxCount, MaxCountPerDay};
        for text in [
            "/budget set-daily 123 20000 2nd push",
            "/budget set-total 123 20000 .5 more",
            "/budget set-daily 123 20000 ,",
            // `1 500份` (1,500 copies) must not become 1 with the reason "500份".
            "/budget set-daily 123 1 500份",
            "/budget set-daily 123 5 618大促加预算",
        ] {
            let message = err(text).to_string();
            assert!(message.contains("`/budget"), "{message}");
            assert!(message.contains("\"2nd push\""), "{text:?}: {message}");
            assert!(!message.contains("did you mean"), "{text:?}: {message}");
        }
        let cases = [
            (
                "/budget set-daily 123 20000 \"2nd push\"",
                set(MaxCountPerDay, "123", 20000, Some("2nd push")),
            ),
            (
                "/budget set-total 123 1,500 \u{201C}3 stores\u{201D} only",
                set(MaxCount, "123", 1500, Some("3 stores only")),
            ),
            (
                "/budget set-daily 123 20000 push 2",
                set(MaxCountPerDay, "123", 20000, Some("push 2")),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(ok(text), expected, "{text:?}");
        }
    }

    #[test]
    fn a_history_count_split_by_a_space_is_refused_with_the_joined_number() {
        for space in NUMBER_SPACES {
            let message = err(&format!("/budget history 123 2{space}0")).to_string();
            assert!(message.contains("did you mean 20?"), "{space:?}: {message}");
            assert!(message.contains("`/budget history 123 20`"), "{message}");
        }
        // Joined it is out of range: still refused, without a guess.
        let message = err("/budget history 123 5 00").to_string();
        assert!(!message.contains("did you mean"), "{message}");
        assert!(message.contains("from 1 to 50"), "{message}");
    }

    #[test]
    fn invisible_characters_in_a_limit_are_named() {
        for invisible in ["\u{200B}", "\u{2060}", "\u{FEFF}", "\u{0}"] {
            let token = format!("20{invisible}000");
            let e = err(&format!("/budget set-daily 123 {token}"));
            assert_eq!(e, ParseError::NotANumber { given: token });
            let message = e.to_string();
            assert!(message.contains("invisible"), "{message}");
            assert!(!message.chars().any(text::is_unsafe_char), "{message:?}");
        }
    }
}
