//! The approval card's button ids: `bgt:v1:<request id>:approve|reject`, well within Discord's
//! 100-character `custom_id` limit, versioned so old cards keep working after format changes.

use super::policy::Decision;
use super::request::RequestId;

const PREFIX: &str = "bgt:v1:";

/// Discord's limit on `custom_id`.
pub const MAX_CUSTOM_ID_LEN: usize = 100;

/// The `custom_id` of a card button.
pub fn encode(request: &RequestId, decision: Decision) -> String {
    let action = match decision {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    };
    format!("{PREFIX}{request}:{action}")
}

/// The request and decision of a button, or `None` for ids that are not ours.
pub fn decode(custom_id: &str) -> Option<(RequestId, Decision)> {
    let rest = custom_id.strip_prefix(PREFIX)?;
    let (id, action) = rest.split_once(':')?;
    let decision = match action {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return None,
    };
    Some((RequestId::parse(id)?, decision))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_within_discords_limit() {
        for _ in 0..50 {
            let id = RequestId::generate();
            for decision in [Decision::Approve, Decision::Reject] {
                let custom_id = encode(&id, decision);
                assert!(custom_id.len() <= MAX_CUSTOM_ID_LEN);
                assert_eq!(decode(&custom_id), Some((id.clone(), decision)));
            }
        }
    }

    #[test]
    fn foreign_ids_are_not_ours() {
        assert_eq!(decode("other:thing"), None);
        assert_eq!(decode("bgt:v1:abcdefgh:maybe"), None);
        assert_eq!(decode("bgt:v1:not-an-id:approve"), None);
        assert_eq!(decode("bgt:v2:abcdefgh:approve"), None);
    }
}
