//! What a use case did, as typed values. Adapters decide how to show them (text, embeds,
//! a DM, a taken-back reaction) and [`super::messages`] turns them into words; nothing here
//! is prose, so no adapter has to tell a refusal from a success by the shape of a string.

use crate::domain::budget::ChangeRefusal;
use crate::domain::command::{ParseError, UnknownStock};
use crate::domain::limit::LimitRefusal;
use crate::domain::policy::DenyReason;
use crate::domain::request::ChangeRequest;
use crate::domain::schedule::ScheduleRefusal;
use crate::store::AuditEntry;
use crate::wechatpay::{ApiError, StockEntity};

/// The result of one input, for the actor who gave it.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Refused: nothing changed. Told to the actor alone.
    Denied(Denial),
    /// `/budget show`: the live stock.
    Stock {
        label: String,
        stock: Box<StockEntity>,
    },
    /// A request was stored and its card posted.
    Created(Box<ChangeRequest>),
    /// A decision or cancel was recorded; the request as it is now.
    Decided {
        request: Box<ChangeRequest>,
        decided: Decided,
    },
    /// `/budget pending`.
    Pending(Vec<ChangeRequest>),
    /// `/budget history`: the latest audit entries of a stock.
    History {
        stock: String,
        entries: Vec<AuditEntry>,
    },
    /// `/budget help`.
    Help,
}

impl Outcome {
    /// Whether only the actor should see it (refusals, their own requests and decisions).
    pub fn is_private(&self) -> bool {
        match self {
            Outcome::Denied(_) | Outcome::Created(_) | Outcome::Decided { .. } | Outcome::Help => {
                true
            }
            Outcome::Stock { .. } | Outcome::Pending(_) | Outcome::History { .. } => false,
        }
    }

    /// The request it is about, if any.
    pub fn request(&self) -> Option<&ChangeRequest> {
        match self {
            Outcome::Created(request) | Outcome::Decided { request, .. } => Some(request),
            _ => None,
        }
    }

    /// The refusal, if it is one.
    pub fn denial(&self) -> Option<&Denial> {
        match self {
            Outcome::Denied(denial) => Some(denial),
            _ => None,
        }
    }
}

/// Why an input changed nothing: user-facing, never an error in the logs.
#[derive(Clone, Debug)]
pub enum Denial {
    /// The text is not a valid `/budget` command.
    Parse(ParseError),
    /// The stock is not on the allow-list.
    UnknownStock(UnknownStock),
    /// The rules of who may do what, and when.
    Policy(DenyReason),
    /// The change is one the API cannot make on the live stock.
    Change(ChangeRefusal),
    /// The change is past a hard limit of `[approval]`: nobody may approve it.
    Limit(LimitRefusal),
    /// The `at` time is past or too far ahead.
    Schedule(ScheduleRefusal),
    /// The live stock could not be read, so nothing was shown or stored.
    StockUnreadable {
        label: String,
        purpose: ReadPurpose,
        error: ApiError,
    },
}

/// Why the stock was being read when the read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPurpose {
    /// For `/budget show`.
    Show,
    /// To check a requested change against it.
    CheckChange,
}

/// What a recorded decision did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decided {
    /// An approval was recorded; more are needed.
    Approval {
        have: u32,
        need: u32,
    },
    /// The quorum was met and applying was attempted: `settled` is false when the request
    /// could not be read back afterwards, and is still being applied.
    Approved {
        settled: bool,
    },
    /// The quorum was met before the request's time: it applies at `at`.
    Scheduled {
        at: u64,
    },
    Rejected,
    Cancelled,
}

impl From<DenyReason> for Outcome {
    fn from(reason: DenyReason) -> Self {
        Outcome::Denied(Denial::Policy(reason))
    }
}

impl From<UnknownStock> for Outcome {
    fn from(unknown: UnknownStock) -> Self {
        Outcome::Denied(Denial::UnknownStock(unknown))
    }
}

impl From<Denial> for Outcome {
    fn from(denial: Denial) -> Self {
        Outcome::Denied(denial)
    }
}
