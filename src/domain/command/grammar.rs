//! The grammar: one table of subcommands (spelling, usage, example, explanation) from which the
//! help, usage lookups and error texts all come, and the parse of each subcommand.

use crate::domain::i18n::{lookup, Lang};
use crate::domain::limit::MAX_BUDGET_VALUE;
use crate::domain::request::group;
use crate::domain::schedule::{parse_when, When, MAX_AHEAD};
use crate::domain::text;

use super::error::ParseError;
use super::lexer::{lex, Token};
use super::number::{parse_count, parse_limit, refuse_split_number};
use super::suggest::did_you_mean;
use super::{Command, UpdateMode, DEFAULT_HISTORY_COUNT, MAX_REASON_CHARS};

/// The word every command starts with.
const PREFIX: &str = "/budget";

/// One subcommand's spelling, usage line and a working example (what it does is the catalogue's
/// `help-about-<name>`). The help text, usage lookups, did-you-mean and error messages all come
/// from this one table so they cannot drift apart.
pub struct Subcommand {
    pub name: &'static str,
    pub usage: &'static str,
    pub example: &'static str,
}

pub const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "show",
        usage: "/budget show <stock>",
        example: "/budget show 123",
    },
    Subcommand {
        name: "set-daily",
        usage: "/budget set-daily <stock> <limit> [at <when>] [reason...]",
        example: "/budget set-daily 123 20000 spring campaign",
    },
    Subcommand {
        name: "set-total",
        usage: "/budget set-total <stock> <limit> [at <when>] [reason...]",
        example: "/budget set-total 123 1,000,000 spring campaign",
    },
    Subcommand {
        name: "pending",
        usage: "/budget pending",
        example: "/budget pending",
    },
    Subcommand {
        name: "cancel",
        usage: "/budget cancel <request>",
        example: "/budget cancel last",
    },
    Subcommand {
        name: "history",
        usage: "/budget history <stock> [count]",
        example: "/budget history 123 20",
    },
    Subcommand {
        name: "help",
        usage: "/budget help",
        example: "/budget help",
    },
];

pub(super) fn subcommand(name: &str) -> Option<&'static Subcommand> {
    SUBCOMMANDS
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The table entry for a canonical name taken from the table itself, so it always exists.
pub(super) fn known(name: &'static str) -> &'static Subcommand {
    subcommand(name).expect("subcommand names in errors come from SUBCOMMANDS")
}

/// The whole grammar in `lang`, one line per subcommand (its usage as typed, and what it does
/// from the catalogue's `help-about-<name>`), plus what `<stock>` and `<limit>` accept.
pub fn help_text(lang: Lang) -> String {
    let mut text = t!(lang, "help-head");
    text.push('\n');
    for s in SUBCOMMANDS {
        let about = lookup(lang, &format!("help-about-{}", s.name), &[]);
        text.push_str(&t!(lang, "help-line", usage = s.usage, about = about));
        text.push('\n');
    }
    text.push_str(&t!(
        lang,
        "help-tail",
        max = group(MAX_BUDGET_VALUE),
        reason_max = MAX_REASON_CHARS,
        days = MAX_AHEAD.as_secs() / 86_400
    ));
    text
}

/// The usage line of a subcommand (case-insensitive), e.g. `usage("show")` is
/// `Some("/budget show <stock>")`.
pub fn usage(subcommand_name: &str) -> Option<&'static str> {
    subcommand(subcommand_name).map(|s| s.usage)
}

/// Parses one chat message. Leading and trailing whitespace is ignored; `/budget` and the
/// subcommand are matched case-insensitively. `<stock>` is returned as typed.
pub fn parse_command(text: &str) -> Result<Command, ParseError> {
    let text = text.trim();
    // Check the prefix before tokenizing: ordinary chat with a stray quote is "not a command",
    // not "unclosed quote".
    let head_end = text.find(char::is_whitespace).unwrap_or(text.len());
    let (head, rest) = text.split_at(head_end);
    if !head.eq_ignore_ascii_case(PREFIX) {
        return Err(ParseError::NotACommand);
    }
    let tokens = lex(rest)?;
    let Some((first, args)) = tokens.split_first() else {
        return Err(ParseError::MissingSubcommand);
    };
    let first = &first.text;
    if first.is_empty() {
        return Err(ParseError::MissingSubcommand);
    }
    let Some(sub) = subcommand(first) else {
        return Err(ParseError::UnknownSubcommand {
            given: first.clone(),
            suggestion: did_you_mean(first, SUBCOMMANDS.iter().map(|s| s.name)),
        });
    };
    match sub.name {
        "show" => {
            let stock = required(args, 0, sub, "stock")?;
            no_more(args, 1, sub)?;
            Ok(Command::Show { stock })
        }
        "set-daily" | "set-total" => {
            let mode = if sub.name == "set-daily" {
                UpdateMode::MaxCountPerDay
            } else {
                UpdateMode::MaxCount
            };
            let stock = required(args, 0, sub, "stock")?;
            let limit = required(args, 1, sub, "limit")?;
            refuse_split_number(sub, &args[1], &args[2..], |joined| parse_limit(joined).ok())?;
            let limit = parse_limit(&limit)?;
            let (at, rest) = parse_at(&args[2..]);
            let reason = parse_reason(rest)?;
            Ok(Command::SetLimit {
                mode,
                stock,
                limit,
                reason,
                at,
            })
        }
        "pending" => {
            no_more(args, 0, sub)?;
            Ok(Command::Pending)
        }
        "cancel" => {
            let request = required(args, 0, sub, "request")?;
            no_more(args, 1, sub)?;
            Ok(Command::Cancel { request })
        }
        "history" => {
            let stock = required(args, 0, sub, "stock")?;
            // An empty `""` count is treated as absent, like an empty reason.
            let count = match args.get(1).filter(|t| !t.text.is_empty()) {
                Some(token) => {
                    refuse_split_number(sub, token, &args[2..], |joined| {
                        parse_count(joined).ok().map(i64::from)
                    })?;
                    parse_count(&token.text)?
                }
                None => DEFAULT_HISTORY_COUNT,
            };
            no_more(args, 2, sub)?;
            Ok(Command::History { stock, count })
        }
        "help" => {
            no_more(args, 0, sub)?;
            Ok(Command::Help)
        }
        other => unreachable!("subcommand `{other}` is in SUBCOMMANDS but not parsed"),
    }
}

/// `at <when>` at the start of `args`, and what follows it; when the word after `at` does
/// not read as a time, there is no schedule and all of `args` is the reason.
fn parse_at(args: &[Token]) -> (Option<When>, &[Token]) {
    let Some((first, rest)) = args.split_first() else {
        return (None, args);
    };
    if first.quoted || !first.text.eq_ignore_ascii_case("at") {
        return (None, args);
    }
    // A quoted word is reason text, never part of the time.
    let words: Vec<&str> = rest
        .iter()
        .take(2)
        .take_while(|t| !t.quoted)
        .map(|t| t.text.as_str())
        .collect();
    match parse_when(&words) {
        Some((when, used)) => (Some(when), &rest[used..]),
        None => (None, args),
    }
}

fn required(
    args: &[Token],
    index: usize,
    sub: &'static Subcommand,
    argument: &'static str,
) -> Result<String, ParseError> {
    match args.get(index) {
        Some(token) if !token.text.is_empty() => Ok(token.text.clone()),
        _ => Err(ParseError::MissingArgument {
            subcommand: sub.name,
            argument,
        }),
    }
}

/// Fails on the first non-empty token from `allowed` on.
fn no_more(args: &[Token], allowed: usize, sub: &'static Subcommand) -> Result<(), ParseError> {
    match args.iter().skip(allowed).find(|t| !t.text.is_empty()) {
        Some(extra) => Err(ParseError::UnexpectedArgument {
            subcommand: sub.name,
            extra: extra.text.clone(),
        }),
        None => Ok(()),
    }
}

/// The remaining tokens joined by single spaces; a quoted token keeps its inner spacing.
/// Controls and bidi marks are dropped (line breaks and tabs become spaces): the reason is shown
/// on the approval card and in notifications.
fn parse_reason(tokens: &[Token]) -> Result<Option<String>, ParseError> {
    let joined = tokens
        .iter()
        .filter(|t| !t.text.is_empty())
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    // Unbounded on purpose: an over-long reason is refused below, not cut.
    let cleaned = text::bounded(&joined, usize::MAX);
    let reason = cleaned.trim();
    if reason.is_empty() {
        return Ok(None);
    }
    let chars = reason.chars().count();
    if chars > MAX_REASON_CHARS {
        return Err(ParseError::ReasonTooLong { chars });
    }
    Ok(Some(reason.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::test_util::*;

    #[test]
    fn parses_every_subcommand() {
        use UpdateMode::{MaxCount, MaxCountPerDay};
        let cases: Vec<(&str, Command)> = vec![
            ("/budget show 123", Command::Show { stock: s("123") }),
            (
                "/budget set-daily 123 20000",
                set(MaxCountPerDay, "123", 20000, None),
            ),
            (
                "/budget set-total 123 20000",
                set(MaxCount, "123", 20000, None),
            ),
            (
                "/budget set-daily 123 20000 spring campaign",
                set(MaxCountPerDay, "123", 20000, Some("spring campaign")),
            ),
            (
                "/budget set-total 123 0 pause it",
                set(MaxCount, "123", 0, Some("pause it")),
            ),
            ("/budget pending", Command::Pending),
            (
                "/budget cancel last",
                Command::Cancel { request: s("last") },
            ),
            (
                "/budget cancel req-7f3a",
                Command::Cancel {
                    request: s("req-7f3a"),
                },
            ),
            (
                "/budget history 123",
                Command::History {
                    stock: s("123"),
                    count: 10,
                },
            ),
            (
                "/budget history 123 25",
                Command::History {
                    stock: s("123"),
                    count: 25,
                },
            ),
            ("/budget help", Command::Help),
        ];
        for (text, expected) in cases {
            assert_eq!(ok(text), expected, "{text}");
        }
    }

    #[test]
    fn whitespace_and_case_are_forgiven() {
        let cases: Vec<(&str, Command)> = vec![
            ("  /budget show 123  ", Command::Show { stock: s("123") }),
            ("/budget\tshow\n123", Command::Show { stock: s("123") }),
            ("/budget   show    123", Command::Show { stock: s("123") }),
            ("/BUDGET SHOW 123", Command::Show { stock: s("123") }),
            (
                "/Budget Set-Daily 123 5",
                set(UpdateMode::MaxCountPerDay, "123", 5, None),
            ),
            ("/budget PENDING", Command::Pending),
            ("/budget Help", Command::Help),
            // Ideographic space from a Chinese IME and a no-break space are whitespace too.
            (
                "/budget\u{3000}show\u{A0}123",
                Command::Show { stock: s("123") },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(ok(text), expected, "{text:?}");
        }
    }

    #[test]
    fn stock_keeps_its_case_as_typed() {
        assert_eq!(
            ok("/budget show SpringSale"),
            Command::Show {
                stock: s("SpringSale")
            }
        );
    }

    #[test]
    fn history_count_bounds() {
        for (text, count) in [
            ("/budget history 123 1", 1),
            ("/budget history 123 50", 50),
            ("/budget history 123 007", 7),
            ("/budget history 123 \"\"", 10),
        ] {
            assert_eq!(
                ok(text),
                Command::History {
                    stock: s("123"),
                    count
                },
                "{text}"
            );
        }
    }

    #[test]
    fn reason_handling() {
        let reason = |text: &str| match ok(text) {
            Command::SetLimit { reason, .. } => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason("/budget set-daily 123 5"), None);
        assert_eq!(reason("/budget set-daily 123 5 \"\""), None);
        assert_eq!(reason("/budget set-daily 123 5 \"   \""), None);
        assert_eq!(reason("/budget set-daily 123 5 a   b\tc"), Some(s("a b c")));
        assert_eq!(reason("/budget set-daily 123 5 a \"\" b"), Some(s("a b")));
        // A reason that starts with a digit is quoted, so it cannot be the rest of the limit.
        assert_eq!(
            reason("/budget set-daily 123 5 \"618大促加预算\""),
            Some(s("618大促加预算"))
        );
        // Exactly the maximum, counted in characters not bytes.
        let at_max = "预".repeat(MAX_REASON_CHARS);
        assert_eq!(
            reason(&format!("/budget set-daily 123 5 {at_max}")),
            Some(at_max)
        );
    }

    #[test]
    fn at_is_a_schedule_only_when_a_time_follows() {
        use std::time::Duration;
        let parts = |text: &str| match ok(text) {
            Command::SetLimit { at, reason, .. } => (at, reason),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            parts("/budget set-daily 123 5 at 20:00 evening push"),
            (
                Some(When::Clock {
                    hour: 20,
                    minute: 0
                }),
                Some(s("evening push"))
            )
        );
        assert_eq!(
            parts("/budget set-total 123 5 AT +10s"),
            (Some(When::In(Duration::from_secs(10))), None)
        );
        assert!(matches!(
            parts("/budget set-daily 123 5 at 2027-01-16 20:00 x").0,
            Some(When::Local(_))
        ));
        assert_eq!(
            parts("/budget set-daily 123 5 at the weekend"),
            (None, Some(s("at the weekend")))
        );
        assert_eq!(
            parts("/budget set-daily 123 5 \"at\" 20:00"),
            (None, Some(s("at 20:00")))
        );
        assert_eq!(
            parts("/budget set-daily 123 5 at \"20:00\""),
            (None, Some(s("at 20:00")))
        );
        assert_eq!(parts("/budget set-daily 123 5 at"), (None, Some(s("at"))));
    }

    #[test]
    fn reason_too_long() {
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        let e = err(&format!("/budget set-total 123 5 {long}"));
        assert_eq!(e, ParseError::ReasonTooLong { chars: 201 });
        let message = e.to_string();
        assert!(message.contains("201"), "{message}");
        assert!(message.contains("200"), "{message}");
        // Words joined by spaces count the spaces.
        let words = vec!["abcd"; 41].join(" ");
        assert_eq!(
            err(&format!("/budget set-daily 123 5 {words}")),
            ParseError::ReasonTooLong { chars: 41 * 5 - 1 }
        );
    }

    #[test]
    fn reasons_lose_controls_and_bidi_marks() {
        let Command::SetLimit { reason, .. } =
            ok("/budget set-daily 123 5 \"a\u{202E}b\u{0}c\nd\u{2066}e\"")
        else {
            panic!("not a set-limit");
        };
        assert_eq!(reason.as_deref(), Some("abc de"));
    }

    #[test]
    fn not_a_command() {
        for text in [
            "",
            "   ",
            "hello",
            "budget show 123",
            "/budgets show 123",
            "/budgetshow 123",
            "show 123 /budget",
            "\"/budget\" show 123",
            // A stray quote in ordinary chat is not a quoting error.
            "he said \"hi",
        ] {
            assert_eq!(
                parse_command(text),
                Err(ParseError::NotACommand),
                "{text:?}"
            );
        }
        let message = ParseError::NotACommand.to_string();
        assert!(message.contains("/budget"), "{message}");
        assert!(message.contains("`/budget help`"), "{message}");
    }

    #[test]
    fn bare_budget_shows_the_help() {
        for text in ["/budget", "  /budget  ", "/budget \"\""] {
            assert_eq!(err(text), ParseError::MissingSubcommand, "{text:?}");
        }
        let message = ParseError::MissingSubcommand.to_string();
        assert!(message.contains(&help_text(Lang::En)), "{message}");
    }

    #[test]
    fn missing_arguments() {
        let cases = [
            ("/budget show", "show", "stock"),
            ("/budget show \"\"", "show", "stock"),
            ("/budget set-daily", "set-daily", "stock"),
            ("/budget set-daily 123", "set-daily", "limit"),
            ("/budget set-daily \"\" 5", "set-daily", "stock"),
            ("/budget set-total 123", "set-total", "limit"),
            ("/budget set-total 123 \"\" reason", "set-total", "limit"),
            ("/budget cancel", "cancel", "request"),
            ("/budget history", "history", "stock"),
        ];
        for (text, subcommand, argument) in cases {
            assert_eq!(
                err(text),
                ParseError::MissingArgument {
                    subcommand,
                    argument
                },
                "{text:?}"
            );
        }
        let message = err("/budget set-total 123").to_string();
        assert_eq!(
            message,
            "`/budget set-total` needs a <limit>. Type `/budget set-total <stock> <limit> \
             [at <when>] [reason...]`, e.g. `/budget set-total 123 1,000,000 spring campaign`."
        );
    }

    #[test]
    fn unexpected_arguments() {
        let cases = [
            ("/budget show 123 456", "show", "456"),
            ("/budget show Spring sale", "show", "sale"),
            ("/budget pending now", "pending", "now"),
            ("/budget cancel last please", "cancel", "please"),
            ("/budget history 123 5 more", "history", "more"),
            ("/budget help set-daily", "help", "set-daily"),
            // An empty token before a real extra one is skipped over.
            ("/budget pending \"\" x", "pending", "x"),
        ];
        for (text, subcommand, extra) in cases {
            assert_eq!(
                err(text),
                ParseError::UnexpectedArgument {
                    subcommand,
                    extra: s(extra)
                },
                "{text:?}"
            );
        }
        // Empty trailing tokens are not extra arguments.
        assert_eq!(ok("/budget pending \"\""), Command::Pending);
        let show = err("/budget show Spring sale").to_string();
        assert!(show.contains("`sale` is one argument too many"), "{show}");
        assert!(show.contains("`/budget show <stock>`"), "{show}");
        assert!(show.contains("\"Spring sale\""), "{show}");
        let pending = err("/budget pending now").to_string();
        assert!(pending.contains("Type `/budget pending`"), "{pending}");
        assert!(!pending.contains("quotes"), "{pending}");
    }

    #[test]
    fn history_count_out_of_range() {
        for count in ["0", "51", "100", "-1", "abc", "5.5", "99999999999", "+5"] {
            assert_eq!(
                err(&format!("/budget history 123 {count}")),
                ParseError::CountOutOfRange { given: s(count) },
                "{count}"
            );
        }
        let message = err("/budget history 123 51").to_string();
        assert!(message.contains("`51`"), "{message}");
        assert!(message.contains("from 1 to 50"), "{message}");
        assert!(message.contains("`/budget history 123 20`"), "{message}");
    }

    #[test]
    fn help_lists_the_whole_grammar() {
        let help = help_text(Lang::En);
        for line in [
            "/budget show <stock>",
            "/budget set-daily <stock> <limit> [at <when>] [reason...]",
            "/budget set-total <stock> <limit> [at <when>] [reason...]",
            "/budget pending",
            "/budget cancel <request>",
            "/budget history <stock> [count]",
            "/budget help",
        ] {
            assert!(help.contains(line), "{line} missing from:\n{help}");
        }
        assert!(help.contains("100,000,000"), "{help}");
        assert!(help.contains("\"Spring sale\""), "{help}");
        assert!(help.contains("\"2nd push\""), "{help}");
        assert!(
            help.contains("`at 20:00`") && help.contains("`at +90m`"),
            "{help}"
        );
        // One line per subcommand, each with an explanation.
        assert_eq!(help.lines().filter(|l| l.contains(" - ")).count(), 7);
    }

    #[test]
    fn usage_lookup() {
        assert_eq!(usage("show"), Some("/budget show <stock>"));
        assert_eq!(
            usage("SET-DAILY"),
            Some("/budget set-daily <stock> <limit> [at <when>] [reason...]")
        );
        assert_eq!(usage("history"), Some("/budget history <stock> [count]"));
        assert_eq!(usage("cancel"), Some("/budget cancel <request>"));
        assert_eq!(usage("set_daily"), None);
        assert_eq!(usage(""), None);
    }

    #[test]
    fn every_table_entry_parses_its_own_example() {
        for sub in SUBCOMMANDS {
            assert!(parse_command(sub.example).is_ok(), "{}", sub.example);
            assert!(sub.usage.starts_with(&format!("/budget {}", sub.name)));
        }
    }
}
