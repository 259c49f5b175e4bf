//! Chat adapters: thin shims from a platform's events to the app's use cases. What they share
//! lives here: which emoji decide, and the platform-neutral view of an approval card. No
//! adapter imports another.

pub mod console;
pub mod discord;
#[cfg(feature = "slack")]
pub mod slack;
mod surfaces;

pub use surfaces::Surfaces;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::app::messages;
use crate::domain::policy::Decision;
use crate::domain::request::{ChangeRequest, RequestState};
use crate::i18n::Lang;

/// Whether an adapter is connected to its platform right now, for `/readyz`. Clones share
/// one flag: the adapter sets it, the ops server reads it.
#[derive(Clone, Debug, Default)]
pub struct Connection(Arc<AtomicBool>);

impl Connection {
    pub fn set(&self, connected: bool) {
        self.0.store(connected, Ordering::Relaxed);
    }

    pub fn is_connected(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The reactions a card invites.
pub const APPROVE_EMOJI: &str = "✅";
pub const REJECT_EMOJI: &str = "❌";

/// The decision an emoji stands for: ✅ (or ✔, `:white_check_mark:`) approves, ❌ (or ✖,
/// `:x:`) rejects, with or without the variation selector some keyboards add. Every adapter
/// reads reactions through this one table.
pub fn decision_for_emoji(emoji: &str) -> Option<Decision> {
    match emoji.trim_end_matches('\u{fe0f}') {
        "✅" | "✔" | ":white_check_mark:" => Some(Decision::Approve),
        "❌" | "✖" | ":x:" => Some(Decision::Reject),
        _ => None,
    }
}

/// The emoji a card invites for `decision`.
pub fn emoji_of(decision: Decision) -> &'static str {
    match decision {
        Decision::Approve => APPROVE_EMOJI,
        Decision::Reject => REJECT_EMOJI,
    }
}

/// How a card's state reads at a glance (a platform picks the colour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Waiting for approvals or being applied.
    Open,
    Applied,
    /// Rejected, expired or cancelled: nothing changed.
    Ended,
    /// Failed or stale.
    Failed,
}

impl Tone {
    pub fn of(state: RequestState) -> Self {
        match state {
            RequestState::Pending
            | RequestState::Approved
            | RequestState::Submitting
            | RequestState::Scheduled => Tone::Open,
            RequestState::Applied => Tone::Applied,
            RequestState::Failed | RequestState::Stale => Tone::Failed,
            RequestState::Rejected | RequestState::Expired | RequestState::Cancelled => Tone::Ended,
        }
    }
}

/// An approval card as every platform shows it: a title, its text, a tone, and whether it
/// still takes decisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardView {
    pub title: String,
    pub text: String,
    pub tone: Tone,
    pub open: bool,
}

impl CardView {
    /// In `lang`; `approvers` names who may approve; `expires` is the expiry as the platform writes it.
    pub fn new(lang: Lang, request: &ChangeRequest, approvers: &str, expires: &str) -> Self {
        Self {
            title: messages::card_title(lang, request),
            text: messages::card_text_with(lang, request, approvers, expires),
            tone: Tone::of(request.state),
            open: request.state == RequestState::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_adapters_emoji_decide_the_same() {
        for approve in ["✅", "✅\u{fe0f}", "✔", "✔\u{fe0f}", ":white_check_mark:"] {
            assert_eq!(
                decision_for_emoji(approve),
                Some(Decision::Approve),
                "{approve}"
            );
        }
        for reject in ["❌", "❌\u{fe0f}", "✖", "✖\u{fe0f}", ":x:"] {
            assert_eq!(
                decision_for_emoji(reject),
                Some(Decision::Reject),
                "{reject}"
            );
        }
        for other in ["👍", "", "ok", "✅✅"] {
            assert_eq!(decision_for_emoji(other), None, "{other}");
        }
        for decision in [Decision::Approve, Decision::Reject] {
            assert_eq!(decision_for_emoji(emoji_of(decision)), Some(decision));
        }
    }
}
