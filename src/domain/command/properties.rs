//! Property tests of the grammar (proptest): no input makes it panic, and a limit or count is
//! only ever read as the user wrote it.

use proptest::prelude::*;

use super::*;
use crate::domain::limit::MAX_BUDGET_VALUE;
use crate::domain::request::group;
use crate::domain::text;
use number::parse_count;

/// Every kind of space a keyboard, IME or copy-paste puts inside a number.
const SPACES: &[char] = &[
    ' ', '\t', '\u{A0}', '\u{202F}', '\u{2009}', '\u{2007}', '\u{2002}', '\u{2003}', '\u{205F}',
    '\u{3000}', '\u{1680}',
];

fn space_run() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(SPACES), 1..3)
        .prop_map(|s| s.into_iter().collect())
}

/// `value` as digits, after `zeros` leading zeros, with a `,` or `_` after the digits that
/// `gaps` marks (`(true, underscore)`): every form [`parse_limit`] documents.
fn written(value: i64, zeros: usize, gaps: &[(bool, bool)]) -> String {
    let digits = format!("{}{value}", "0".repeat(zeros));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if let Some((true, underscore)) = i.checked_sub(1).and_then(|g| gaps.get(g)) {
            out.push(if *underscore { '_' } else { ',' });
        }
        out.push(c);
    }
    out
}

fn limit() -> impl Strategy<Value = i64> {
    prop_oneof![
        0..=MAX_BUDGET_VALUE,
        0i64..1_000,
        Just(MAX_BUDGET_VALUE),
        Just(0)
    ]
}

/// A `(written, value)` pair in an accepted form.
fn written_limit() -> impl Strategy<Value = (String, i64)> {
    (
        limit(),
        0usize..3,
        proptest::collection::vec((proptest::bool::weighted(0.3), any::<bool>()), 12),
    )
        .prop_map(|(value, zeros, gaps)| (written(value, zeros, &gaps), value))
}

/// Reasons that may follow a limit: none, words, or a quoted text starting with a digit.
fn reason() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        Just((String::new(), None)),
        "[a-z大促]{1,8}( [a-z0-9]{1,5}){0,3}".prop_map(|r| (format!(" {r}"), Some(r))),
        "[0-9][a-z0-9 ]{0,8}[a-z]".prop_map(|r| (format!(" \"{r}\""), Some(r))),
    ]
}

/// Tokens that stress the lexer and the grammar.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,12}",
        "[0-9,_.\\-−+]{1,8}",
        "[a-z-]{1,10}",
        proptest::sample::select(vec![
            "show",
            "set-daily",
            "set-total",
            "pending",
            "cancel",
            "history",
            "help",
            "last",
            "\"",
            "\u{201C}",
            "\u{201D}",
            "\u{201E}",
            "\"\"",
            "`",
            "\\",
            "\u{202E}",
            "\u{0}",
            "\u{200B}",
            "\u{FEFF}",
            "大促",
        ])
        .prop_map(str::to_string),
        proptest::sample::select(SPACES).prop_map(String::from),
        any::<String>(),
    ]
}

/// Every message a parse can produce is bounded, has nothing invisible in it, and is one
/// paragraph (but the help, which has one line per subcommand).
fn check_message(e: &ParseError) {
    let message = e.to_string();
    assert!(message.chars().count() < 2_000, "{message}");
    let one_paragraph = *e != ParseError::MissingSubcommand;
    assert!(
        !message
            .chars()
            .any(|c| text::is_unsafe_char(c) && (one_paragraph || c != '\n')),
        "{message:?}"
    );
}

/// A split number's refusal: never a request, and the joined number offered when the part
/// before the first space is itself a valid number.
fn check_split(text: &str, first_part: &str, value: i64, valid: impl Fn(&str) -> bool) {
    match parse_command(text) {
        Ok(command) => panic!("{text:?} was read as {command:?}; it means {value}"),
        Err(e) => {
            check_message(&e);
            if valid(first_part) {
                let message = e.to_string();
                assert!(
                    message.contains(&format!("did you mean {value}?")),
                    "{text:?}: {message}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn no_input_panics(text in any::<String>()) {
        for result in [parse_command(&text), parse_command(&format!("/budget {text}"))] {
            if let Err(e) = result {
                check_message(&e);
            }
        }
        let _ = tokenize(&text);
        if let Err(e) = parse_limit(&text) {
            check_message(&e);
        }
    }

    #[test]
    fn no_token_sequence_panics_and_results_stay_in_range(
        tokens in proptest::collection::vec(token(), 0..8),
        separators in proptest::collection::vec(space_run(), 8),
    ) {
        let mut text = String::from("/budget");
        for (token, space) in tokens.iter().zip(&separators) {
            text.push_str(space);
            text.push_str(token);
        }
        match parse_command(&text) {
            Ok(Command::SetLimit { limit, reason, .. }) => {
                prop_assert!((0..=MAX_BUDGET_VALUE).contains(&limit), "{text:?}");
                if let Some(reason) = reason {
                    prop_assert!(reason.chars().count() <= MAX_REASON_CHARS);
                    prop_assert!(!reason.chars().any(text::is_unsafe_char), "{reason:?}");
                }
            }
            Ok(Command::History { count, .. }) => {
                prop_assert!((1..=MAX_HISTORY_COUNT).contains(&count), "{text:?}");
            }
            Ok(_) => {}
            Err(e) => check_message(&e),
        }
    }

    #[test]
    fn a_limit_in_an_accepted_form_is_read_exactly(
        (limit_text, value) in written_limit(),
        (reason_text, reason) in reason(),
        daily in any::<bool>(),
    ) {
        prop_assert_eq!(parse_limit(&limit_text), Ok(value));
        prop_assert_eq!(parse_limit(&group(value)), Ok(value));
        let (sub, mode) = if daily {
            ("set-daily", UpdateMode::MaxCountPerDay)
        } else {
            ("set-total", UpdateMode::MaxCount)
        };
        let text = format!("/budget {sub} 123 {limit_text}{reason_text}");
        prop_assert_eq!(
            parse_command(&text),
            Ok(Command::SetLimit { mode, stock: "123".into(), limit: value, reason, at: None }),
            "{:?}", text
        );
    }

    #[test]
    fn a_limit_split_by_spaces_is_never_read_as_another_number(
        (limit_text, value) in written_limit(),
        cuts in proptest::collection::vec((any::<bool>(), space_run()), 12),
        (reason_text, _) in reason(),
    ) {
        let chars: Vec<char> = limit_text.chars().collect();
        prop_assume!(chars.len() > 1);
        let mut split = String::new();
        let mut first_part = None;
        for (i, c) in chars.iter().enumerate() {
            if i > 0 {
                // At least one cut, and the first possible one if no other was drawn.
                let (cut, space) = &cuts[(i - 1) % cuts.len()];
                if *cut || (i == chars.len() - 1 && first_part.is_none()) {
                    first_part.get_or_insert_with(|| split.clone());
                    split.push_str(space);
                }
            }
            split.push(*c);
        }
        let first_part = first_part.expect("at least one cut");
        let text = format!("/budget set-daily 123 {split}{reason_text}");
        check_split(&text, &first_part, value, |p| parse_limit(p).is_ok());
    }

    #[test]
    fn a_history_count_split_by_spaces_is_never_read_as_another_number(
        count in 10u32..=MAX_HISTORY_COUNT,
        space in space_run(),
    ) {
        let digits = count.to_string();
        let (head, tail) = digits.split_at(1);
        let text = format!("/budget history 123 {head}{space}{tail}");
        check_split(&text, head, i64::from(count), |p| parse_count(p).is_ok());
    }
}
