//! The hash-chained audit log every backend keeps: how an entry is made from a transition,
//! its hash, and the check of a whole chain. One implementation, so every backend's chain
//! verifies the same way and a backup of one backend checks like any other.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AuditNote;
use crate::domain::request::{ActorRef, ChangeRequest, RequestState};

/// The chain's first `prev_hash`.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit log entry. `hash` is the SHA-256 of the entry without `hash`, which includes
/// `prev_hash`, so changing any entry breaks the chain from there on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: u64,
    pub request_id: String,
    pub stock_id: String,
    pub actor: Option<ActorRef>,
    pub action: String,
    pub from: Option<RequestState>,
    pub to: RequestState,
    pub field: String,
    pub before: i64,
    pub after: i64,
    pub api_request_id: Option<String>,
    pub detail: Option<String>,
    /// `detail` as a catalogue message, for a history in the reader's language. Absent from
    /// entries written before it existed, and then not serialized, so their hashes still hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<crate::domain::i18n::Message>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The entry that follows `head` for the transition `from` → `next`, hashed.
    pub(crate) fn next(
        head: Option<&AuditHead>,
        from: Option<&ChangeRequest>,
        next: &ChangeRequest,
        note: &AuditNote,
    ) -> Self {
        let (seq, prev_hash) = head
            .map(|h| (h.seq + 1, h.hash.clone()))
            .unwrap_or((1, GENESIS_HASH.to_string()));
        let mut entry = AuditEntry {
            seq,
            at: note.at,
            request_id: next.id.to_string(),
            stock_id: next.stock_id.clone(),
            actor: note.actor.clone(),
            action: note.action.clone(),
            from: from.map(|c| c.state),
            to: next.state,
            field: next.mode.field_name().to_string(),
            before: next.current,
            after: next.target,
            api_request_id: note.api_request_id.clone(),
            detail: note.detail.clone(),
            reason: note.reason.clone(),
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        entry
    }

    /// The head that names this entry.
    pub(crate) fn head(&self) -> AuditHead {
        AuditHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }

    pub(crate) fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        let bytes = serde_json::to_vec(&unhashed).expect("audit entries serialize");
        hex(&Sha256::digest(&bytes))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The last audit entry, kept beside the log so the next transition links to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

/// Where the audit chain first breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditBreak {
    pub seq: u64,
    pub reason: String,
}

/// Checks a whole log: `entries` in stored order, each with the sequence number it is stored
/// under and the entry (or why it cannot be read), then the head. Names the first break.
/// Entries are taken one at a time, so a log read lazily is never held whole; an error
/// reading the log (not an entry that is unreadable) stops the check and is returned.
pub(crate) fn verify<E>(
    entries: impl IntoIterator<Item = Result<(u64, Result<AuditEntry, String>), E>>,
    head: Option<&AuditHead>,
) -> Result<Result<u64, AuditBreak>, E> {
    let mut chain = ChainCheck::new();
    for item in entries {
        let (seq, entry) = item?;
        let checked = entry
            .map_err(|e| AuditBreak {
                seq,
                reason: format!("entry is not readable: {e}"),
            })
            .and_then(|entry| chain.push(seq, &entry));
        if let Err(broken) = checked {
            return Ok(Err(broken));
        }
    }
    Ok(chain.finish(head))
}

/// The audit chain checked entry by entry, in order: sequence numbers from 1, each entry
/// linked to the one before, each hash matching its entry's contents.
pub(crate) struct ChainCheck {
    prev: String,
    count: u64,
}

impl ChainCheck {
    pub(crate) fn new() -> Self {
        Self {
            prev: GENESIS_HASH.to_string(),
            count: 0,
        }
    }

    /// Takes the next entry, stored under `key_seq`.
    pub(crate) fn push(&mut self, key_seq: u64, entry: &AuditEntry) -> Result<(), AuditBreak> {
        let expected_seq = self.count + 1;
        let broken = |reason: String| {
            Err(AuditBreak {
                seq: key_seq,
                reason,
            })
        };
        if entry.seq != key_seq || key_seq != expected_seq {
            return broken(format!(
                "sequence number {} where {expected_seq} was expected",
                entry.seq
            ));
        }
        if entry.prev_hash != self.prev {
            return broken("prev_hash does not match the previous entry's hash".into());
        }
        if entry.compute_hash() != entry.hash {
            return broken("hash does not match the entry's contents (it was changed)".into());
        }
        self.prev.clone_from(&entry.hash);
        self.count = expected_seq;
        Ok(())
    }

    /// Checks that `head` names the last entry taken (and is absent only when there is none):
    /// the next transition links to the head, so a wrong one would fork the chain.
    pub(crate) fn finish(&self, head: Option<&AuditHead>) -> Result<u64, AuditBreak> {
        let end = (self.count > 0).then(|| AuditHead {
            seq: self.count,
            hash: self.prev.clone(),
        });
        if head == end.as_ref() {
            return Ok(self.count);
        }
        let reason = match head {
            Some(head) if head.seq > self.count => format!(
                "the log ends at entry {} but the head records entry {}: entries were removed",
                self.count, head.seq
            ),
            Some(head) => format!(
                "the head records entry {} with another hash than the log's entry {}",
                head.seq, self.count
            ),
            None => format!("the log has {} entries but no head", self.count),
        };
        Err(AuditBreak {
            seq: self.count + 1,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry written before `reason` existed: its stored JSON, hash and all.
    const OLD_ENTRY: &str = r#"{"seq":1,"at":1800000000,"request_id":"abcd2345","stock_id":"123","actor":null,"action":"applied","from":"Submitting","to":"Applied","field":"max_count_per_day","before":10000,"after":20000,"api_request_id":null,"detail":"max_count_per_day is now 20,000","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","hash":""}"#;

    #[test]
    fn entries_stored_before_reasons_existed_read_and_verify_as_before() {
        let old: AuditEntry = serde_json::from_str(OLD_ENTRY).unwrap();
        assert_eq!(old.reason, None);
        // The bytes its hash is taken over are the ones it was written with: a `reason`
        // that is absent is not written, so old chains still verify.
        assert_eq!(serde_json::to_string(&old).unwrap(), OLD_ENTRY);
        assert_eq!(
            old.compute_hash(),
            hex(&Sha256::digest(OLD_ENTRY.as_bytes()))
        );
    }
}
