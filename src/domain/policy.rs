//! Who may request, approve, reject and cancel, the quorum and its tiers, self-approval,
//! expiry, reminders and schedules: pure functions from a request and an actor to the next
//! request or a typed denial.

use serde::Deserialize;

use super::actor::Capability;
use super::limit::increase_reaches;
use super::request::{Actor, Approval, ChangeRequest, RequestState, Via};

/// One `[[approval.tiers]]`: a raise that meets any of its conditions needs
/// `required_approvals` different approvers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Reached by a raise of at least this share (in %) of the current value.
    #[serde(default)]
    pub min_increase_percent: Option<u64>,
    /// Reached by a raise of at least this many coupons.
    #[serde(default)]
    pub min_increase: Option<i64>,
    pub required_approvals: u32,
}

impl Tier {
    /// Whether a change from `current` to `target` reaches this tier (only raises do).
    pub fn reached(&self, current: i64, target: i64) -> bool {
        let raise = i128::from(target) - i128::from(current);
        let by_percent = self
            .min_increase_percent
            .is_some_and(|p| increase_reaches(current, target, p));
        let by_count = self
            .min_increase
            .is_some_and(|m| raise > 0 && raise >= i128::from(m));
        by_percent || by_count
    }
}

/// The approvals a change from `current` to `target` needs, fixed when it is requested: the
/// highest requirement among the tiers it reaches, never less than `base` (a lowering, or a
/// raise that reaches no tier, needs `base`).
pub fn required_approvals(base: u32, tiers: &[Tier], current: i64, target: i64) -> u32 {
    tiers
        .iter()
        .filter(|tier| tier.reached(current, target))
        .map(|tier| tier.required_approvals)
        .fold(base, u32::max)
        .max(1)
}

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
    /// The quorum is met before the request's time: it waits, Scheduled, until `at`.
    Scheduled {
        at: u64,
    },
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
                next.decided_by = Some(actor.as_ref());
                next.decided_at = Some(now);
                // A last approval after the scheduled time applies at once.
                match request.apply_at.filter(|at| *at > now) {
                    Some(at) => {
                        next.state = RequestState::Scheduled;
                        Ok((next, DecideOutcome::Scheduled { at }))
                    }
                    None => {
                        next.state = RequestState::Approved;
                        Ok((next, DecideOutcome::Approved))
                    }
                }
            } else {
                Ok((next, DecideOutcome::Approval { have, need }))
            }
        }
    }
}

/// The requester withdraws a pending request, or an approved one still waiting for its time.
pub fn cancel(
    request: &ChangeRequest,
    actor: &Actor,
    now: u64,
) -> Result<ChangeRequest, DenyReason> {
    if !matches!(
        request.state,
        RequestState::Pending | RequestState::Scheduled
    ) {
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

/// A Scheduled request whose time has come becomes Approved, to be applied like any other.
pub fn due(request: &ChangeRequest, now: u64) -> Option<ChangeRequest> {
    let at = request.apply_at?;
    (request.state == RequestState::Scheduled && now >= at).then(|| {
        let mut next = request.clone();
        next.state = RequestState::Approved;
        next
    })
}

/// A request still pending `remind_after` seconds after it was made, and not reminded yet,
/// is marked reminded (the caller then reminds the approvers, once).
pub fn remind(request: &ChangeRequest, remind_after: u64, now: u64) -> Option<ChangeRequest> {
    let time_up = now >= request.created_at.saturating_add(remind_after);
    (request.state == RequestState::Pending
        && request.reminded_at.is_none()
        && time_up
        && !is_expired(request, now))
    .then(|| {
        let mut next = request.clone();
        next.reminded_at = Some(now);
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
            outcome_reason: None,
            api_request_id: None,
            result: None,
            card: None,
            update_body: None,
            apply_at: None,
            reminded_at: None,
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

    #[test]
    fn a_quorum_before_the_schedule_waits_and_after_it_applies_at_once() {
        let mut r = request(1);
        r.apply_at = Some(2000);
        let (next, outcome) =
            decide(&r, &approver("bob"), Decision::Approve, Via::Button, 1500).unwrap();
        assert_eq!(outcome, DecideOutcome::Scheduled { at: 2000 });
        assert_eq!(next.state, RequestState::Scheduled);
        assert!(due(&next, 1999).is_none());
        assert_eq!(due(&next, 2000).unwrap().state, RequestState::Approved);
        let alice = Actor::new("console:alice", "alice", &[Capability::Requester]);
        assert_eq!(
            cancel(&next, &alice, 1600).unwrap().state,
            RequestState::Cancelled
        );
        let (late, outcome) =
            decide(&r, &approver("bob"), Decision::Approve, Via::Button, 2001).unwrap();
        assert_eq!(outcome, DecideOutcome::Approved);
        assert_eq!(late.state, RequestState::Approved);
    }

    #[test]
    fn a_reminder_comes_once_while_pending() {
        let r = request(1);
        assert!(remind(&r, 600, 1599).is_none());
        let reminded = remind(&r, 600, 1600).unwrap();
        assert_eq!(reminded.reminded_at, Some(1600));
        assert!(remind(&reminded, 600, 1700).is_none());
        assert!(remind(&r, 600, 4600).is_none(), "not once expired");
    }

    #[test]
    fn tiers_take_the_highest_requirement_reached() {
        let tiers = [
            Tier {
                min_increase_percent: Some(50),
                min_increase: None,
                required_approvals: 2,
            },
            Tier {
                min_increase_percent: None,
                min_increase: Some(1_000_000),
                required_approvals: 3,
            },
        ];
        assert_eq!(required_approvals(1, &tiers, 100, 110), 1);
        assert_eq!(required_approvals(1, &tiers, 100, 150), 2);
        assert_eq!(required_approvals(1, &tiers, 100, 160), 2);
        assert_eq!(required_approvals(1, &tiers, 10_000_000, 11_000_000), 3);
        assert_eq!(required_approvals(1, &tiers, 100, 2_000_000), 3);
        assert_eq!(required_approvals(1, &tiers, 0, 1), 2, "from 0");
        assert_eq!(required_approvals(1, &tiers, 2_000_000, 1), 1, "lowering");
        assert_eq!(required_approvals(2, &[], 100, 1_000), 2);
    }

    mod tier_rule {
        use super::*;
        use crate::domain::limit::increase_reaches;
        use proptest::prelude::*;

        fn tier() -> impl Strategy<Value = Tier> {
            (
                proptest::option::of(0u64..2_000),
                proptest::option::of(1i64..10_000_000),
                1u32..6,
            )
                .prop_filter("a tier has a condition", |(p, m, _)| {
                    p.is_some() || m.is_some()
                })
                .prop_map(
                    |(min_increase_percent, min_increase, required_approvals)| Tier {
                        min_increase_percent,
                        min_increase,
                        required_approvals,
                    },
                )
        }

        proptest! {
            /// The requirement is the base or the highest reached tier's, whichever is more;
            /// a lowering (or no change) needs the base; a tier is reached exactly when one of
            /// its conditions is met.
            #[test]
            fn the_highest_reached_requirement_applies(
                base in 1u32..4,
                tiers in proptest::collection::vec(tier(), 0..5),
                current in 0i64..100_000_000,
                target in 0i64..100_000_000,
            ) {
                let need = required_approvals(base, &tiers, current, target);
                let raise = target - current;
                let reached: Vec<&Tier> = tiers
                    .iter()
                    .filter(|t| {
                        raise > 0
                            && (t.min_increase.is_some_and(|m| raise >= m)
                                || t.min_increase_percent.is_some_and(|p| {
                                    increase_reaches(current, target, p)
                                }))
                    })
                    .collect();
                prop_assert!(need >= base);
                for tier in &reached {
                    prop_assert!(need >= tier.required_approvals);
                }
                prop_assert!(
                    need == base || reached.iter().any(|t| t.required_approvals == need),
                    "{} is neither the base nor a reached tier's", need
                );
                if raise <= 0 {
                    prop_assert_eq!(need, base);
                }
            }

            /// A bigger raise from the same value never needs fewer approvals.
            #[test]
            fn a_bigger_raise_never_needs_fewer(
                tiers in proptest::collection::vec(tier(), 0..5),
                current in 0i64..10_000_000,
                raise in 0i64..10_000_000,
                more in 0i64..10_000_000,
            ) {
                let smaller = required_approvals(1, &tiers, current, current + raise);
                let bigger = required_approvals(1, &tiers, current, current + raise + more);
                prop_assert!(bigger >= smaller);
            }

            /// A raise by exactly a tier's percentage reaches it; one coupon less does not
            /// (when that is still a raise and no other condition is met).
            #[test]
            fn percentages_are_reached_at_equality(
                percent in 1u64..1_000,
                current in 1i64..1_000_000,
            ) {
                let tier = Tier { min_increase_percent: Some(percent), min_increase: None, required_approvals: 2 };
                let exact = i128::from(current) * i128::from(percent);
                if exact % 100 == 0 {
                    let target = current + (exact / 100) as i64;
                    prop_assert!(tier.reached(current, target));
                    prop_assert!(!tier.reached(current, target - 1) || target - 1 == current);
                }
                prop_assert!(tier.reached(0, 1), "a raise from 0 reaches every percentage");
            }
        }
    }
}
