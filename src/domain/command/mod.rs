//! The `/budget` command grammar shared by every chat adapter: tokenizing ([`lexer`]), the
//! grammar table and a parse per subcommand ([`grammar`]), limits and counts ([`number`]),
//! did-you-mean ([`suggest`]) and the error texts a chat user reads ([`error`]). Pure: no I/O.
//!
//! ```text
//! /budget show <stock>
//! /budget set-daily <stock> <limit> [at <when>] [reason...]
//! /budget set-total <stock> <limit> [at <when>] [reason...]
//! /budget pending
//! /budget cancel <request>
//! /budget history <stock> [count]
//! /budget help
//! ```

mod error;
mod grammar;
mod lexer;
mod number;
mod suggest;

use crate::domain::limit::UpdateMode;
use crate::domain::schedule::When;

pub use error::ParseError;
pub use grammar::{help_text, parse_command, usage, Subcommand, SUBCOMMANDS};
pub use lexer::tokenize;
pub use number::parse_limit;
pub use suggest::did_you_mean;

/// Stock lookup has its own room; these paths keep callers of `command::` compiling.
pub use crate::domain::allowlist::{resolve_stock, StockEntry, UnknownStock};
pub use crate::domain::text::code_echo;

/// Longest accepted reason, in characters (not bytes: reasons are often Chinese).
pub const MAX_REASON_CHARS: usize = 200;
/// `history` count when none is given.
pub const DEFAULT_HISTORY_COUNT: u32 = 10;
/// Largest `history` count; keeps one answer within a chat message.
pub const MAX_HISTORY_COUNT: u32 = 50;

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
        /// `at <when>`: apply once approved and this time has come.
        at: Option<When>,
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

#[cfg(test)]
mod properties;

/// Shorthands the unit tests of every part of the grammar use.
#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    pub(crate) fn ok(text: &str) -> Command {
        parse_command(text).unwrap_or_else(|e| panic!("{text:?} should parse, got: {e}"))
    }

    pub(crate) fn err(text: &str) -> ParseError {
        match parse_command(text) {
            Ok(command) => panic!("{text:?} should fail, got {command:?}"),
            Err(e) => e,
        }
    }

    pub(crate) fn s(text: &str) -> String {
        text.to_string()
    }

    pub(crate) fn set(mode: UpdateMode, stock: &str, limit: i64, reason: Option<&str>) -> Command {
        Command::SetLimit {
            mode,
            stock: s(stock),
            limit,
            reason: reason.map(s),
            at: None,
        }
    }

    /// Spaces people type inside numbers: ASCII, tab, no-break, narrow no-break, thin, figure
    /// and ideographic.
    pub(crate) const NUMBER_SPACES: [&str; 7] = [
        " ", "\t", "\u{A0}", "\u{202F}", "\u{2009}", "\u{2007}", "\u{3000}",
    ];
}
