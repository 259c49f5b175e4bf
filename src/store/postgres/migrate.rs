//! `budget-bot migrate-store --from sled:PATH --to postgres`: a sled store copied into an
//! empty PostgreSQL store in one transaction. The sled store is first read as a backup
//! reads it (every request against its last audit entry, the chain, the head), so a damaged
//! store is refused before anything is written; the chain is copied as it is, hashes
//! included, and verified again in the copy.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context};

use super::{Import, PostgresStore};
use crate::store::sled::{card_key_from_bytes, utf8};
use crate::store::{RequestStore, SledStore};

/// Copies `from` into `to` (which must be empty); says what was copied.
pub fn copy_from_sled(
    from: &SledStore,
    from_name: &str,
    to: &PostgresStore,
) -> anyhow::Result<String> {
    crate::store::backup::write_backup(from, std::io::sink())
        .with_context(|| format!("the sled store at {from_name} cannot be copied"))?;
    let audit = from.audit_entries(None)?;
    let created: HashMap<&str, u64> = audit
        .iter()
        .filter(|entry| entry.from.is_none())
        .map(|entry| (entry.request_id.as_str(), entry.seq))
        .collect();
    let mut requests = Vec::new();
    for request in from.all()? {
        let seq = created
            .get(request.id.as_str())
            .copied()
            .ok_or_else(|| anyhow!("request {} has no audit entry that created it", request.id))?;
        requests.push((request, seq));
    }
    let mut cards = Vec::new();
    for item in from.cards.iter() {
        let (key, value) = item?;
        cards.push((
            card_key_from_bytes(&key)?,
            utf8("card index entry", &value)?,
        ));
    }
    let counts = (
        requests.len() as u64,
        cards.len() as u64,
        audit.len() as u64,
    );
    let copy = Import {
        requests,
        cards,
        audit,
        head: from.audit_head()?,
    };
    if let Err(refused) = to.import(copy)? {
        let (r, c, a) = to.counts()?;
        bail!(
            "{refused} ({} holds {r} requests, {c} cards and {a} audit entries): migrate into an empty database",
            to.describe()
        );
    }
    if to.counts()? != counts {
        bail!("the copy in {} does not hold what was read", to.describe());
    }
    match to.verify_audit()? {
        Ok(entries) => Ok(format!(
            "copied {} requests, {} cards and {entries} audit entries from {from_name} into {} (audit verify: hash chain intact)",
            counts.0,
            counts.1,
            to.describe(),
        )),
        Err(broken) => bail!(
            "copied, but the audit chain in {} is broken at entry #{}: {}",
            to.describe(),
            broken.seq,
            broken.reason
        ),
    }
}
