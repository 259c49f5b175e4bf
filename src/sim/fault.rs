//! Faults the simulator can inject, one per matching request, to exercise the client's
//! verification and retry paths.

use std::time::Duration;

/// What goes wrong with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer 500 SYSTEM_ERROR without looking at the request; nothing is applied.
    Status500,
    /// Answer 429 FREQUENCY_LIMITED without looking at the request; nothing is applied.
    Status429,
    /// Answer 401 SIGN_ERROR, as for a request signed with a skewed clock; nothing is applied.
    SignError,
    /// Wait this long, then handle the request normally.
    Delay(Duration),
    /// Close the TCP connection without answering; nothing is applied.
    DropConnection,
    /// Handle the request normally (an update is applied and recorded for idempotent replay),
    /// then answer 500 SYSTEM_ERROR instead of the real answer, whatever it was.
    ApplyThen500,
    /// Handle normally, but send a signature that does not verify (a `WECHATPAY/SIGNTEST/` probe).
    BadSignature,
    /// Handle normally, but send a `Wechatpay-Serial` other than the configured key id.
    WrongSerial,
    /// Handle normally, but sign with a timestamp 10 minutes in the past (correct signature).
    StaleTimestamp,
    /// Handle normally and sign the real body, then send a modified body.
    TamperedBody,
}

/// Which requests a queued fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMatch {
    /// The next request, whatever it is.
    Any,
    /// The next GET of a stock.
    GetStock,
    /// The next update-budget POST.
    UpdateBudget,
}

/// The endpoint a request was routed to, as far as fault matching cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    GetStock,
    UpdateBudget,
    Unknown,
}

impl FaultMatch {
    pub(crate) fn matches(self, endpoint: Endpoint) -> bool {
        match self {
            FaultMatch::Any => true,
            FaultMatch::GetStock => endpoint == Endpoint::GetStock,
            FaultMatch::UpdateBudget => endpoint == Endpoint::UpdateBudget,
        }
    }
}
