//! The database schema, versioned by refinery from the files in `migrations/` (built into
//! the binary). Migrations run when a store is opened, under an advisory lock, so instances
//! started together on an empty database migrate it once and all come up. A database whose
//! schema is newer than this build knows is refused rather than written with old rules.

use postgres::Client;

use super::pool::Session;
use crate::store::StoreError;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The schema version this build writes: the newest file in `migrations/`.
pub const SCHEMA_VERSION: i64 = 2;

/// refinery's record of the migrations applied.
const HISTORY_TABLE: &str = "refinery_schema_history";

/// The advisory lock migrations run under (any fixed number every instance agrees on).
const MIGRATION_LOCK: i64 = 0x6275_6467_6574_0001;

/// Brings the schema up to [`SCHEMA_VERSION`] under the migration lock.
pub fn migrate(session: &mut Session) -> Result<(), StoreError> {
    session.with("cannot take the migration lock", |client| {
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
    })?;
    let migrated = run(session);
    session.with("cannot release the migration lock", |client| {
        client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
    })?;
    migrated
}

fn run(session: &mut Session) -> Result<(), StoreError> {
    let applied = session.with("cannot read the schema version", applied_version)?;
    if applied > SCHEMA_VERSION {
        return Err(session.refusal(format!(
            "its schema is at version {applied}, newer than this budget-bot knows (version {SCHEMA_VERSION}): run the newer budget-bot that migrated it, or upgrade this one"
        )));
    }
    let mut failed = None;
    session.with("cannot migrate the schema", |client| {
        if let Err(e) = embedded::migrations::runner().run(client) {
            let mut reason = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                reason.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            failed = Some(reason);
        }
        Ok(())
    })?;
    match failed {
        Some(reason) => Err(session.refusal(format!("cannot migrate its schema: {reason}"))),
        None => Ok(()),
    }
}

/// The newest migration applied (0 on an empty database).
pub(super) fn applied_version(client: &mut Client) -> Result<i64, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&HISTORY_TABLE])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client.query_one(
        &format!("SELECT coalesce(max(version), 0)::bigint FROM {HISTORY_TABLE}"),
        &[],
    )?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_version_is_the_newest_migration() {
        let newest = super::embedded::migrations::runner()
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max();
        assert_eq!(newest, Some(super::SCHEMA_VERSION));
    }
}
