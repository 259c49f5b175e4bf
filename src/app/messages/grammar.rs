//! The words of the command grammar (help, parse errors, the allow-list's did-you-mean) and
//! of the API's errors, in the reader's language. The grammar's table in `domain::command`
//! gives the spelling, usage and example of each subcommand, which stay as typed.

use crate::domain::allowlist::UnknownStock;
use crate::domain::command::{
    ParseError, Subcommand, DEFAULT_HISTORY_COUNT, MAX_HISTORY_COUNT, MAX_REASON_CHARS, SUBCOMMANDS,
};
use crate::domain::limit::MAX_BUDGET_VALUE;
use crate::domain::request::group;
use crate::domain::text::{self, arg_echo as echo};
use crate::i18n::{lookup, Lang};
use crate::t;
use crate::wechatpay::ApiError;

/// The table entry of a subcommand named by the grammar itself.
fn known(name: &str) -> &'static Subcommand {
    SUBCOMMANDS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or(&SUBCOMMANDS[SUBCOMMANDS.len() - 1])
}

/// The whole grammar, one line per subcommand, plus what `<stock>` and `<limit>` accept.
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
        reason_max = MAX_REASON_CHARS
    ));
    text
}

/// Why a message is not a valid command, saying what to type instead.
pub fn parse_error(lang: Lang, e: &ParseError) -> String {
    let max = group(MAX_BUDGET_VALUE);
    match e {
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

/// A stock that is not on the allow-list, with the closest one when there is one.
pub fn unknown_stock(lang: Lang, unknown: &UnknownStock) -> String {
    match &unknown.suggestion {
        Some(suggestion) => t!(
            lang,
            "unknown-stock-suggest",
            given = text::echo(&unknown.given),
            suggestion = text::echo(suggestion)
        ),
        None => t!(lang, "unknown-stock", given = text::echo(&unknown.given)),
    }
}

/// An API error: the bot's explanation, with the API's own code and message as they came.
pub fn api_error(lang: Lang, e: &ApiError) -> String {
    let rid = |id: &Option<String>| id.clone().unwrap_or_else(|| t!(lang, "api-none"));
    match e {
        ApiError::Api {
            status,
            code,
            message,
            request_id,
            ..
        } => {
            let request_id = rid(request_id);
            match (code.is_empty(), message.is_empty()) {
                (true, true) => t!(
                    lang,
                    "api-answer-empty",
                    status = status,
                    request_id = request_id
                ),
                (false, true) => t!(
                    lang,
                    "api-answer-no-message",
                    status = status,
                    code = code,
                    request_id = request_id
                ),
                (true, false) => t!(
                    lang,
                    "api-answer-no-code",
                    status = status,
                    message = message,
                    request_id = request_id
                ),
                (false, false) => t!(
                    lang,
                    "api-answer",
                    status = status,
                    code = code,
                    message = message,
                    request_id = request_id
                ),
            }
        }
        ApiError::RateLimited {
            attempts,
            request_id,
        } => t!(
            lang,
            "api-rate-limited",
            attempts = attempts,
            request_id = rid(request_id)
        ),
        ApiError::Timeout { attempts } => t!(lang, "api-timeout", attempts = attempts),
        ApiError::Transport { attempts, reason } => {
            t!(lang, "api-transport", attempts = attempts, reason = reason)
        }
        ApiError::Redirect {
            status,
            location,
            request_id,
        } => t!(
            lang,
            "api-redirect",
            status = status,
            location = location
                .clone()
                .unwrap_or_else(|| t!(lang, "api-redirect-nowhere")),
            request_id = rid(request_id)
        ),
        ApiError::Verification { source, request_id } => t!(
            lang,
            "api-verification",
            reason = source,
            request_id = rid(request_id)
        ),
        ApiError::Decode { reason, request_id } => t!(
            lang,
            "api-decode",
            reason = reason,
            request_id = rid(request_id)
        ),
        ApiError::WrongStock {
            expected,
            received,
            request_id,
        } => t!(
            lang,
            "api-wrong-stock",
            expected = expected,
            received = received,
            request_id = rid(request_id)
        ),
        ApiError::Unconfirmed {
            field,
            target,
            shown,
            request_id,
        } => t!(
            lang,
            "api-unconfirmed",
            field = field,
            shown = shown.map_or_else(|| t!(lang, "api-unset"), group),
            target = group(*target),
            request_id = rid(request_id)
        ),
    }
}
