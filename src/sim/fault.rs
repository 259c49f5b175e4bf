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
    /// Answer this redirect status (302 and 307 are the interesting ones) without handling the
    /// request, so nothing is applied. `Location` is this simulator's own GET of the same stock
    /// (on 127.0.0.1) with a one-time token: a client that follows it (a 302 turns a POST into a
    /// GET) reads the unchanged stock, signed and verifiable, and may take it for the update's
    /// answer. The real API does not redirect.
    Redirect(u16),
    /// Handle normally (an update is applied), but answer a success with another stock's
    /// entity, correctly signed: an answer that is authentic but about the wrong stock.
    OtherStock,
    /// Handle normally (an update is applied), but answer a success with the stock as it was
    /// before the request, correctly signed: the change happened, the answer does not show it.
    AnswerBefore,
    /// Apply nothing, and answer 200 with the stock as it is, correctly signed: an
    /// acknowledgement that does not show the change (and is not one).
    IgnoreAndAnswerStock,
    /// Answer exactly this without handling the request; nothing is applied.
    Answer(CannedAnswer),
    /// Handle normally, but send (and sign with) this `Wechatpay-Timestamp` text, which must be
    /// a valid header value.
    TimestampHeader(String),
}

/// A fixed answer, for faults in the text WeChat Pay (or something in front of it) sends back.
#[derive(Clone, PartialEq, Eq)]
pub struct CannedAnswer {
    pub status: u16,
    pub body: Vec<u8>,
    /// True for an answer from a gateway or proxy in front of the API: no Request-ID and no
    /// `Wechatpay-*` signature headers.
    pub gateway: bool,
    /// The `Request-ID` to send instead of a generated one (ignored for a gateway answer).
    /// It must be a valid header value (no line breaks).
    pub request_id: Option<String>,
}

impl CannedAnswer {
    /// An answer from the API itself: signed, with a generated Request-ID.
    pub fn api(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            body: body.into(),
            gateway: false,
            request_id: None,
        }
    }

    /// An answer from a gateway in front of the API (say a 502 with an empty body).
    pub fn gateway(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            gateway: true,
            ..Self::api(status, body)
        }
    }

    /// The same answer with this Request-ID header.
    pub fn with_request_id(self, request_id: impl Into<String>) -> Self {
        Self {
            request_id: Some(request_id.into()),
            ..self
        }
    }
}

/// Canned bodies can be megabytes: the request log and the simulator's trace lines show sizes.
impl std::fmt::Debug for CannedAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CannedAnswer")
            .field("status", &self.status)
            .field("body_bytes", &self.body.len())
            .field("gateway", &self.gateway)
            .field(
                "request_id_chars",
                &self.request_id.as_ref().map(|r| r.chars().count()),
            )
            .finish()
    }
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
