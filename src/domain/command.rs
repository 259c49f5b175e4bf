//! The `/budget` command grammar shared by every chat adapter: tokenizing, parsing, limits,
//! stock resolution and the help and error texts a chat user reads. Pure: no I/O.
//!
//! ```text
//! /budget show <stock>
//! /budget set-daily <stock> <limit> [reason...]
//! /budget set-total <stock> <limit> [reason...]
//! /budget pending
//! /budget cancel <request>
//! /budget history <stock> [count]
//! /budget help
//! ```

use std::fmt;

use crate::domain::limit::{UpdateMode, MAX_BUDGET_VALUE};
use crate::domain::text;

/// The word every command starts with.
const PREFIX: &str = "/budget";
/// Longest accepted reason, in characters (not bytes: reasons are often Chinese).
pub const MAX_REASON_CHARS: usize = 200;
/// `history` count when none is given.
pub const DEFAULT_HISTORY_COUNT: u32 = 10;
/// Largest `history` count; keeps one answer within a chat message.
pub const MAX_HISTORY_COUNT: u32 = 50;
/// Longest piece of user input echoed back in an error, so a pasted essay does not flood the chat.
const MAX_ECHO_CHARS: usize = 40;

/// One parsed `/budget` command. `<stock>` is kept as typed: resolving it needs the allow-list,
/// which the caller holds (see [`resolve_stock`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Show {
        stock: String,
    },
    /// `set-daily` (`MaxCountPerDay`) or `set-total` (`MaxCount`).
    SetLimit {
        mode: UpdateMode,
        stock: String,
        limit: i64,
        reason: Option<String>,
    },
    Pending,
    /// `request` is opaque here: a request id or `last`.
    Cancel {
        request: String,
    },
    History {
        stock: String,
        count: u32,
    },
    Help,
}

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

/// One subcommand's spelling, usage line, a working example and a one-line explanation. The help
/// text, usage lookups, did-you-mean and error messages all come from this one table so they
/// cannot drift apart.
struct Subcommand {
    name: &'static str,
    usage: &'static str,
    example: &'static str,
    about: &'static str,
}

const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "show",
        usage: "/budget show <stock>",
        example: "/budget show 123",
        about: "show a stock's daily and total limits",
    },
    Subcommand {
        name: "set-daily",
        usage: "/budget set-daily <stock> <limit> [reason...]",
        example: "/budget set-daily 123 20000 spring campaign",
        about: "ask to change a stock's daily limit (max_count_per_day)",
    },
    Subcommand {
        name: "set-total",
        usage: "/budget set-total <stock> <limit> [reason...]",
        example: "/budget set-total 123 1,000,000 spring campaign",
        about: "ask to change a stock's total limit (max_count)",
    },
    Subcommand {
        name: "pending",
        usage: "/budget pending",
        example: "/budget pending",
        about: "list changes waiting for approval",
    },
    Subcommand {
        name: "cancel",
        usage: "/budget cancel <request>",
        example: "/budget cancel last",
        about: "cancel a pending change by its request id, or `last` for the most recent request",
    },
    Subcommand {
        name: "history",
        usage: "/budget history <stock> [count]",
        example: "/budget history 123 20",
        about: "list a stock's recent changes (default 10, at most 50)",
    },
    Subcommand {
        name: "help",
        usage: "/budget help",
        example: "/budget help",
        about: "show this help",
    },
];

fn subcommand(name: &str) -> Option<&'static Subcommand> {
    SUBCOMMANDS
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The table entry for a canonical name taken from the table itself, so it always exists.
fn known(name: &'static str) -> &'static Subcommand {
    subcommand(name).expect("subcommand names in errors come from SUBCOMMANDS")
}

/// The whole grammar, one line per subcommand, plus what `<stock>` and `<limit>` accept.
pub fn help_text() -> String {
    let mut text = String::from("Budget commands:\n");
    for s in SUBCOMMANDS {
        text.push_str(&format!("`{}` - {}\n", s.usage, s.about));
    }
    text.push_str(&format!(
        "<stock> is an allow-listed stock_id or its name; put a name with spaces in quotes, \
         e.g. \"Spring sale\". <limit> is a whole number from 0 to {}, e.g. 20000 or 20,000. \
         Type the limit without spaces. A reason is optional, at most {} characters; put \
         it in quotes if it starts with a digit, e.g. \"2nd push\".",
        group_thousands(MAX_BUDGET_VALUE),
        MAX_REASON_CHARS
    ));
    text
}

/// The usage line of a subcommand (case-insensitive), e.g. `usage("show")` is
/// `Some("/budget show <stock>")`.
pub fn usage(subcommand_name: &str) -> Option<&'static str> {
    subcommand(subcommand_name).map(|s| s.usage)
}

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
struct Token {
    text: String,
    quoted: bool,
}

fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
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
            let reason = parse_reason(&args[2..])?;
            Ok(Command::SetLimit {
                mode,
                stock,
                limit,
                reason,
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

/// Refuses `number` followed by an unquoted word that starts like a number (a digit, or a `,`,
/// `_` or `.`), which is how `20 000` or `1\u{202F}500` arrives: read as written it would be a
/// request for 20 with the reason "000". `value` parses the joined number for the did-you-mean.
/// A number that is not all digits and separators (`sale`, `-5`) is left to the usual checks.
fn refuse_split_number(
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

fn parse_count(token: &str) -> Result<u32, ParseError> {
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

/// The candidate `given` was most likely meant to be, if any: the unique closest one within a
/// few typos (case-insensitive optimal-string-alignment distance, so a swapped pair of letters
/// counts as one typo), else the only candidate `given` abbreviates (at least 3 characters).
/// Ties return `None`: a wrong hint is worse than none.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given: Vec<char> = given.trim().to_lowercase().chars().collect();
    if given.is_empty() {
        return None;
    }
    let threshold = max_typos(given.len());
    let mut best: Option<(usize, &'a str)> = None;
    let mut best_tied = false;
    let mut prefix_of: Option<&'a str> = None;
    let mut prefix_tied = false;
    for candidate in candidates {
        let lowered: Vec<char> = candidate.to_lowercase().chars().collect();
        let distance = edit_distance(&given, &lowered);
        if distance <= threshold {
            match best {
                Some((d, _)) if distance > d => {}
                Some((d, c)) if distance == d => {
                    // The same candidate listed twice is not an ambiguity.
                    best_tied |= c.to_lowercase() != candidate.to_lowercase();
                }
                _ => {
                    best = Some((distance, candidate));
                    best_tied = false;
                }
            }
        }
        if given.len() >= 3 && lowered.starts_with(&given) {
            match prefix_of {
                Some(p) => prefix_tied |= p.to_lowercase() != candidate.to_lowercase(),
                None => prefix_of = Some(candidate),
            }
        }
    }
    match best {
        Some((_, candidate)) if !best_tied => Some(candidate),
        Some(_) => None,
        None if !prefix_tied => prefix_of,
        None => None,
    }
}

/// Typos tolerated for a word of `len` characters: none for 1-2 (anything would match), then one
/// more per three characters, at most 3.
fn max_typos(len: usize) -> usize {
    match len {
        0..=2 => 0,
        3..=5 => 1,
        6..=8 => 2,
        _ => 3,
    }
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    // Three rolling rows: the one two back is needed for transpositions.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// `100000000` as `100,000,000`.
fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 {
        out.insert(0, '-');
    }
    out
}

/// User input as it is shown inside a `code span`: bounded like every echo (see
/// [`text::bounded`]: no controls or bidi marks, cut at `max` characters and marked as cut), and
/// backticks, which would end the span, turned into apostrophes.
pub fn code_echo(input: &str, max: usize) -> String {
    text::bounded(input, max).replace('`', "'")
}

/// [`code_echo`] at the length of one argument.
fn echo(input: &str) -> String {
    code_echo(input, MAX_ECHO_CHARS)
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = group_thousands(MAX_BUDGET_VALUE);
        match self {
            ParseError::NotACommand => write!(
                f,
                "Commands start with /budget followed by a space; try `/budget help`."
            ),
            ParseError::MissingSubcommand => {
                write!(f, "`/budget` needs a subcommand. {}", help_text())
            }
            ParseError::UnknownSubcommand { given, suggestion } => {
                write!(f, "`{}` is not a /budget subcommand. ", echo(given))?;
                if let Some(name) = suggestion {
                    write!(f, "Did you mean `{}`? ", known(name).usage)?;
                }
                let names: Vec<&str> = SUBCOMMANDS.iter().map(|s| s.name).collect();
                write!(
                    f,
                    "Subcommands: {}. Type `/budget help` to see what each does.",
                    names.join(", ")
                )
            }
            ParseError::UnclosedQuote { quote } => write!(
                f,
                "A {quote} quote is never closed. Close it after the last word, e.g. \
                 `/budget set-daily 123 20000 \"Spring sale\"`."
            ),
            ParseError::MissingArgument {
                subcommand,
                argument,
            } => {
                let sub = known(subcommand);
                write!(
                    f,
                    "`/budget {}` needs a <{argument}>. Type `{}`, e.g. `{}`.",
                    sub.name, sub.usage, sub.example
                )
            }
            ParseError::UnexpectedArgument { subcommand, extra } => {
                let sub = known(subcommand);
                write!(
                    f,
                    "`{}` is one argument too many for `/budget {}`. Type `{}`, e.g. `{}`.",
                    echo(extra),
                    sub.name,
                    sub.usage,
                    sub.example
                )?;
                if sub.usage.contains("<stock>") {
                    // The usual cause: a stock name with spaces, typed without quotes.
                    write!(
                        f,
                        " Put a stock name with spaces in quotes: `\"Spring sale\"`."
                    )?;
                }
                Ok(())
            }
            ParseError::NegativeLimit { given } => write!(
                f,
                "`{}` is negative; a limit is 0 to {max}. Type it without the minus sign, \
                 e.g. `/budget set-daily 123 20000`.",
                echo(given)
            ),
            ParseError::NotANumber { given } if given.trim().is_empty() => write!(
                f,
                "The limit is empty. Type the limit in digits, e.g. `/budget set-daily 123 20000`."
            ),
            ParseError::NotANumber { given } => {
                write!(f, "`{}` is not a whole number. ", echo(given))?;
                if given.chars().any(text::is_unsafe_char) {
                    // They are not shown in the echo, which would otherwise look like a number.
                    write!(
                        f,
                        "It contains invisible or control characters (often pasted along); \
                         retype it. "
                    )?;
                }
                write!(
                    f,
                    "Type the limit in digits, e.g. `/budget set-daily 123 20000` (`20,000` and \
                     `20_000` work too)."
                )
            }
            ParseError::LimitTooLarge { given } => write!(
                f,
                "`{}` is more than the maximum limit of {max}. Type a limit from 0 to {max}, \
                 e.g. `/budget set-daily 123 20000`.",
                echo(given)
            ),
            ParseError::SplitNumber {
                subcommand,
                parts,
                guess,
            } => {
                let sub = known(subcommand);
                let written = echo(&parts.join(" "));
                match guess {
                    Some(value) => write!(
                        f,
                        "`{written}` looks like one number with a space in it: did you mean \
                         {value}? "
                    )?,
                    None => write!(
                        f,
                        "`{written}` is a number followed by a word that starts like a number, \
                         so it is unclear where the number ends. "
                    )?,
                }
                if sub.name == "history" {
                    write!(
                        f,
                        "Type one count from 1 to {MAX_HISTORY_COUNT} without spaces, e.g. `{}`.",
                        sub.example
                    )
                } else {
                    write!(
                        f,
                        "Type the limit without spaces (`20000`, `20,000` or `20_000`); if the \
                         reason starts with a digit, put it in quotes: \
                         `/budget {} 123 20000 \"2nd push\"`.",
                        sub.name
                    )
                }
            }
            ParseError::ReasonTooLong { chars } => write!(
                f,
                "The reason is {chars} characters long; the most is {MAX_REASON_CHARS}. Type a \
                 shorter reason, e.g. `/budget set-daily 123 20000 spring campaign`."
            ),
            ParseError::CountOutOfRange { given } => write!(
                f,
                "`{}` is not a history count from 1 to {MAX_HISTORY_COUNT}. Type e.g. \
                 `/budget history 123 20`, or leave the count out for the last \
                 {DEFAULT_HISTORY_COUNT}; put a stock name with spaces in quotes.",
                echo(given)
            ),
        }
    }
}

impl std::error::Error for ParseError {}

impl fmt::Display for UnknownStock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Stock `{}` is not on the allow-list. ",
            echo(&self.given)
        )?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, "Did you mean `{}`? ", echo(suggestion))?;
        }
        write!(
            f,
            "Check the spelling and use /budget show <stock_id or name>; put a name with \
             spaces in quotes."
        )
    }
}

impl std::error::Error for UnknownStock {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Command {
        parse_command(text).unwrap_or_else(|e| panic!("{text:?} should parse, got: {e}"))
    }

    fn err(text: &str) -> ParseError {
        match parse_command(text) {
            Ok(command) => panic!("{text:?} should fail, got {command:?}"),
            Err(e) => e,
        }
    }

    fn s(text: &str) -> String {
        text.to_string()
    }

    fn set(mode: UpdateMode, stock: &str, limit: i64, reason: Option<&str>) -> Command {
        Command::SetLimit {
            mode,
            stock: s(stock),
            limit,
            reason: reason.map(s),
        }
    }

    // ---- happy paths -------------------------------------------------------------------------

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

    // ---- quoting -----------------------------------------------------------------------------

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

    // ---- limits ------------------------------------------------------------------------------

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

    // ---- structural errors -------------------------------------------------------------------

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
        assert!(message.contains(&help_text()), "{message}");
    }

    #[test]
    fn unknown_subcommand_suggestions() {
        let cases = [
            ("set-dialy", Some("set-daily")),
            ("setdaily", Some("set-daily")),
            ("set_daily", Some("set-daily")),
            ("settotal", Some("set-total")),
            ("set_total", Some("set-total")),
            ("SET-TOTL", Some("set-total")),
            ("pendng", Some("pending")),
            ("pneding", Some("pending")),
            ("hist", Some("history")),
            ("histroy", Some("history")),
            ("cancle", Some("cancel")),
            ("shwo", Some("show")),
            ("hepl", Some("help")),
            ("set", None),
            ("delete", None),
            ("approve", None),
            ("xyz", None),
        ];
        for (given, suggestion) in cases {
            assert_eq!(
                err(&format!("/budget {given} 123")),
                ParseError::UnknownSubcommand {
                    given: s(given),
                    suggestion
                },
                "{given}"
            );
        }
    }

    #[test]
    fn unknown_subcommand_message() {
        let with = err("/budget set-dialy 123 5").to_string();
        assert!(
            with.contains("`set-dialy` is not a /budget subcommand"),
            "{with}"
        );
        assert!(
            with.contains("Did you mean `/budget set-daily <stock> <limit> [reason...]`?"),
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
             [reason...]`, e.g. `/budget set-total 123 1,000,000 spring campaign`."
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

    // ---- help and usage ----------------------------------------------------------------------

    #[test]
    fn help_lists_the_whole_grammar() {
        let help = help_text();
        for line in [
            "/budget show <stock>",
            "/budget set-daily <stock> <limit> [reason...]",
            "/budget set-total <stock> <limit> [reason...]",
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
        // One line per subcommand, each with an explanation.
        assert_eq!(help.lines().filter(|l| l.contains(" - ")).count(), 7);
    }

    #[test]
    fn usage_lookup() {
        assert_eq!(usage("show"), Some("/budget show <stock>"));
        assert_eq!(
            usage("SET-DAILY"),
            Some("/budget set-daily <stock> <limit> [reason...]")
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

    // ---- did you mean ------------------------------------------------------------------------

    #[test]
    fn did_you_mean_cases() {
        let words = ["show", "set-daily", "set-total", "pending"];
        let cases = [
            ("SHOW", Some("show")),
            ("sho", Some("show")),
            ("set-dialy", Some("set-daily")),
            ("set-dail", Some("set-daily")),
            ("pen", Some("pending")),
            // Equally close to both set-* words: no guess.
            ("set-", None),
            ("set-xxxxx", None),
            ("", None),
            ("s", None),
            ("sh", None),
            // Two typos in a four-letter word is too far to guess.
            ("sxxw", None),
            ("zzzz", None),
            ("completely-different", None),
        ];
        for (given, expected) in cases {
            assert_eq!(did_you_mean(given, words), expected, "{given:?}");
        }
    }

    #[test]
    fn did_you_mean_ties_and_duplicates() {
        assert_eq!(did_you_mean("1235", ["1234", "1236"]), None);
        assert_eq!(did_you_mean("1235", ["1234", "1234"]), Some("1234"));
        // The closer of two candidates wins.
        assert_eq!(
            did_you_mean("1234567890", ["1234567899", "1234500000"]),
            Some("1234567899")
        );
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        let d = |a: &str, b: &str| {
            let a: Vec<char> = a.chars().collect();
            let b: Vec<char> = b.chars().collect();
            edit_distance(&a, &b)
        };
        assert_eq!(d("", ""), 0);
        assert_eq!(d("abc", ""), 3);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("ab", "ba"), 1);
        assert_eq!(d("dialy", "daily"), 1);
        assert_eq!(d("ca", "abc"), 3);
        assert_eq!(d("预算", "预算"), 0);
    }

    // ---- stocks ------------------------------------------------------------------------------

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

    // ---- numbers split by spaces -------------------------------------------------------------

    /// Spaces people type inside numbers: ASCII, tab, no-break, narrow no-break, thin, figure
    /// and ideographic.
    const NUMBER_SPACES: [&str; 7] = [
        " ", "\t", "\u{A0}", "\u{202F}", "\u{2009}", "\u{2007}", "\u{3000}",
    ];

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
    fn group_thousands_formats() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(MAX_BUDGET_VALUE), "100,000,000");
        assert_eq!(group_thousands(-1234567), "-1,234,567");
    }
}

/// Property tests of the grammar (proptest): no input makes it panic, and a limit or count is
/// only ever read as the user wrote it.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Every kind of space a keyboard, IME or copy-paste puts inside a number.
    const SPACES: &[char] = &[
        ' ', '\t', '\u{A0}', '\u{202F}', '\u{2009}', '\u{2007}', '\u{2002}', '\u{2003}',
        '\u{205F}', '\u{3000}', '\u{1680}',
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
            prop_assert_eq!(parse_limit(&group_thousands(value)), Ok(value));
            let (sub, mode) = if daily {
                ("set-daily", UpdateMode::MaxCountPerDay)
            } else {
                ("set-total", UpdateMode::MaxCount)
            };
            let text = format!("/budget {sub} 123 {limit_text}{reason_text}");
            prop_assert_eq!(
                parse_command(&text),
                Ok(Command::SetLimit { mode, stock: "123".into(), limit: value, reason }),
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
}
