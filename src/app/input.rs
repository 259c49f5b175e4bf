//! What an adapter hands the app: one input from one actor, already taken out of the
//! platform's event.

use crate::domain::command::Command;
use crate::domain::policy::Decision;
use crate::domain::request::Via;

/// One input to [`super::App::handle`].
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A `/budget ...` text, parsed by the app.
    Text(String),
    /// A command the platform already parsed (e.g. Discord's typed options).
    Command(Command),
    /// Approve or reject the request named by its id or `last` (a button, a console line).
    Decide {
        request: String,
        decision: Decision,
        via: Via,
    },
}
