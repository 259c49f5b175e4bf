//! Who may request, approve, reject and cancel, the quorum, self-approval and expiry: pure
//! functions from a request and an actor to the next request or a typed denial.

use super::actor::Capability;
use super::request::{Actor, Approval, ChangeRequest, RequestState, Via};

/// Approve or reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// A refusal told to the actor, never an error in the logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DenyReason {
    NotRequester,
    NotApprover,
    SelfApproval,
    AlreadyApproved { have: u32, need: u32 },
    NotPending { id: String, state: RequestState },
    Expired { id: String },
    NotYourRequest { id: String },
    UnknownRequest { given: String },
    NoRequests,
}

/// What a successful decision did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecideOutcome {
    /// Recorded; more approvals are needed.
    Approval {
        have: u32,
        need: u32,
    },
    /// The quorum is met: the request is Approved and must be applied.
    Approved,
    Rejected,
}

/// May this actor make requests?
pub fn may_request(actor: &Actor) -> Result<(), DenyReason> {
    if actor.can(Capability::Requester) {
        Ok(())
    } else {
        Err(DenyReason::NotRequester)
    }
}

/// True when a pending request's time is up.
pub fn is_expired(request: &ChangeRequest, now: u64) -> bool {
    request.state == RequestState::Pending && now >= request.expires_at
}

/// One decision on a request: the single rule set every button, reaction and command reaches.
pub fn decide(
    request: &ChangeRequest,
    actor: &Actor,
    decision: Decision,
    via: Via,
    now: u64,
) -> Result<(ChangeRequest, DecideOutcome), DenyReason> {
    if request.state != RequestState::Pending {
        return Err(DenyReason::NotPending {
            id: request.id.to_string(),
            state: request.state,
        });
    }
    if is_expired(request, now) {
        return Err(DenyReason::Expired {
            id: request.id.to_string(),
        });
    }
    if !actor.can(Capability::Approver) {
        return Err(DenyReason::NotApprover);
    }
    let mut next = request.clone();
    match decision {
        Decision::Reject => {
            next.state = RequestState::Rejected;
            next.decided_by = Some(actor.as_ref());
            next.decided_at = Some(now);
            Ok((next, DecideOutcome::Rejected))
        }
        Decision::Approve => {
            if actor.id == request.requester.id {
                return Err(DenyReason::SelfApproval);
            }
            let need = request.required_approvals.max(1);
            if request.has_approved(&actor.id) {
                return Err(DenyReason::AlreadyApproved {
                    have: request.approvals.len() as u32,
                    need,
                });
            }
            next.approvals.push(Approval {
                by: actor.as_ref(),
                at: now,
                via,
            });
            let have = next.approvals.len() as u32;
            if have >= need {
                next.state = RequestState::Approved;
                next.decided_by = Some(actor.as_ref());
                next.decided_at = Some(now);
                Ok((next, DecideOutcome::Approved))
            } else {
                Ok((next, DecideOutcome::Approval { have, need }))
            }
        }
    }
}

/// The requester withdraws a pending request.
pub fn cancel(
    request: &ChangeRequest,
    actor: &Actor,
    now: u64,
) -> Result<ChangeRequest, DenyReason> {
    if request.state != RequestState::Pending {
        return Err(DenyReason::NotPending {
            id: request.id.to_string(),
            state: request.state,
        });
    }
    if actor.id != request.requester.id {
        return Err(DenyReason::NotYourRequest {
            id: request.id.to_string(),
        });
    }
    let mut next = request.clone();
    next.state = RequestState::Cancelled;
    next.decided_by = Some(actor.as_ref());
    next.decided_at = Some(now);
    Ok(next)
}

/// A pending request past its TTL becomes Expired.
pub fn expire(request: &ChangeRequest, now: u64) -> Option<ChangeRequest> {
    is_expired(request, now).then(|| {
        let mut next = request.clone();
        next.state = RequestState::Expired;
        next.decided_at = Some(now);
        next
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::limit::{OutRequestNo, UpdateMode};
    use crate::domain::request::{ActorRef, RequestId, SentCounts};

    pub(crate) fn request(required: u32) -> ChangeRequest {
        ChangeRequest {
            id: RequestId::parse("abcdefgh").unwrap(),
            stock_id: "123".into(),
            product_coupon_id: "200000001".into(),
            stock_name: None,
            mode: UpdateMode::MaxCountPerDay,
            current: 100,
            target: 200,
            sent: SentCounts { today: 1, total: 2 },
            requester: ActorRef {
                id: "console:alice".into(),
                display: "alice".into(),
            },
            reason: None,
            created_at: 1000,
            expires_at: 4600,
            out_request_no: OutRequestNo::new("bb-1000-abcdefgh").unwrap(),
            state: RequestState::Pending,
            approvals: vec![],
            required_approvals: required,
            decided_by: None,
            decided_at: None,
            outcome_detail: None,
            api_request_id: None,
            result: None,
            card: None,
            update_body: None,
        }
    }

    fn approver(name: &str) -> Actor {
        Actor::new(format!("console:{name}"), name, &[Capability::Approver])
    }

    #[test]
    fn one_approval_by_someone_else_approves() {
        let (next, outcome) = decide(
            &request(1),
            &approver("bob"),
            Decision::Approve,
            Via::Reaction,
            1001,
        )
        .unwrap();
        assert_eq!(outcome, DecideOutcome::Approved);
        assert_eq!(next.state, RequestState::Approved);
        assert_eq!(next.approvals[0].via, Via::Reaction);
    }

    #[test]
    fn requester_cannot_approve_own_request_even_with_the_role() {
        let alice = Actor::new(
            "console:alice",
            "alice",
            &[Capability::Requester, Capability::Approver],
        );
        assert_eq!(
            decide(&request(1), &alice, Decision::Approve, Via::Button, 1001),
            Err(DenyReason::SelfApproval)
        );
    }

    #[test]
    fn missing_role_is_refused() {
        let dave = Actor::new("console:dave", "dave", &[]);
        assert_eq!(
            decide(&request(1), &dave, Decision::Approve, Via::Button, 1001),
            Err(DenyReason::NotApprover)
        );
        assert_eq!(
            decide(&request(1), &dave, Decision::Reject, Via::Button, 1001),
            Err(DenyReason::NotApprover)
        );
        assert_eq!(may_request(&dave), Err(DenyReason::NotRequester));
    }

    #[test]
    fn quorum_counts_each_person_once() {
        let r = request(2);
        let (r, outcome) =
            decide(&r, &approver("bob"), Decision::Approve, Via::Button, 1001).unwrap();
        assert_eq!(outcome, DecideOutcome::Approval { have: 1, need: 2 });
        assert_eq!(r.state, RequestState::Pending);
        assert_eq!(
            decide(&r, &approver("bob"), Decision::Approve, Via::Reaction, 1002),
            Err(DenyReason::AlreadyApproved { have: 1, need: 2 })
        );
        let (r, outcome) = decide(
            &r,
            &approver("carol"),
            Decision::Approve,
            Via::Reaction,
            1003,
        )
        .unwrap();
        assert_eq!(outcome, DecideOutcome::Approved);
        assert_eq!(r.approvals.len(), 2);
    }

    #[test]
    fn any_authorized_reject_ends_the_request() {
        let (r, _) = decide(
            &request(2),
            &approver("bob"),
            Decision::Approve,
            Via::Button,
            1001,
        )
        .unwrap();
        let (r, outcome) =
            decide(&r, &approver("carol"), Decision::Reject, Via::Button, 1002).unwrap();
        assert_eq!(outcome, DecideOutcome::Rejected);
        assert_eq!(r.state, RequestState::Rejected);
        assert!(matches!(
            decide(&r, &approver("bob"), Decision::Approve, Via::Button, 1003),
            Err(DenyReason::NotPending {
                state: RequestState::Rejected,
                ..
            })
        ));
    }

    #[test]
    fn expiry() {
        let r = request(1);
        assert!(expire(&r, 4599).is_none());
        assert_eq!(expire(&r, 4600).unwrap().state, RequestState::Expired);
        assert!(matches!(
            decide(&r, &approver("bob"), Decision::Approve, Via::Button, 4600),
            Err(DenyReason::Expired { .. })
        ));
    }

    #[test]
    fn only_the_requester_cancels_and_only_while_pending() {
        let r = request(1);
        let bob = approver("bob");
        assert!(matches!(
            cancel(&r, &bob, 1001),
            Err(DenyReason::NotYourRequest { .. })
        ));
        let alice = Actor::new("console:alice", "alice", &[Capability::Requester]);
        let cancelled = cancel(&r, &alice, 1001).unwrap();
        assert_eq!(cancelled.state, RequestState::Cancelled);
        assert!(matches!(
            cancel(&cancelled, &alice, 1002),
            Err(DenyReason::NotPending { .. })
        ));
    }
}
