//! The database schema, versioned by the files in `migrations/` (built into the binary).
//! Migrations run when a store is opened, under an advisory lock, so instances started
//! together on an empty database migrate it once and all come up. A database whose schema is
//! newer than this build knows is refused rather than written with old rules.
//!
//! The runner is ours, but its record is refinery's (which earlier builds ran): the same
//! `refinery_schema_history` table, rows and checksums, so a database migrated by an earlier
//! build goes on working, and one migrated here is accepted by refinery. refinery itself is
//! not in the binary: it parses each migration's file name with a `regex` at run time, and
//! that engine alone cost half a megabyte of the release binary (issue 11).

use std::hash::{Hash, Hasher};

use postgres::Client;
use siphasher::sip::SipHasher13;

use super::pool::Session;
use crate::store::StoreError;

/// One migration: the file `migrations/V<version>__<name>.sql`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/V",
                $version,
                "__",
                $name,
                ".sql"
            )),
        }
    };
}

/// Every file in `migrations/`, oldest first (a test checks none is left out).
const MIGRATIONS: &[Migration] = &[migration!(1, "store"), migration!(2, "marks")];

const _: () = assert!(
    ascending(MIGRATIONS),
    "MIGRATIONS must be in ascending version order"
);

/// The schema version this build writes: the newest migration.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version as i64;

/// refinery's record of the migrations applied.
const HISTORY_TABLE: &str = "refinery_schema_history";

/// The advisory lock migrations run under (any fixed number every instance agrees on).
const MIGRATION_LOCK: i64 = 0x6275_6467_6574_0001;

const fn ascending(migrations: &[Migration]) -> bool {
    let mut i = 1;
    while i < migrations.len() {
        if migrations[i - 1].version >= migrations[i].version {
            return false;
        }
        i += 1;
    }
    !migrations.is_empty()
}

impl Migration {
    /// refinery's checksum, so its history rows and ours agree: SipHash-1-3 with zero keys
    /// (the `siphasher` crate, as refinery uses; std's `DefaultHasher` promises no fixed
    /// algorithm) over the name, the version and the SQL, with std's `Hash`, in that order.
    fn checksum(&self) -> u64 {
        let mut hasher = SipHasher13::new();
        self.name.hash(&mut hasher);
        self.version.hash(&mut hasher);
        self.sql.hash(&mut hasher);
        hasher.finish()
    }
}

impl std::fmt::Display for Migration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "V{}__{}", self.version, self.name)
    }
}

/// A row of the history table, as stored (its columns are nullable text).
#[derive(Clone, Debug)]
struct Applied {
    version: i32,
    name: Option<String>,
    checksum: Option<String>,
}

/// Brings the schema up to [`SCHEMA_VERSION`] under the migration lock.
pub fn migrate(session: &mut Session) -> Result<(), StoreError> {
    bring_up(session, MIGRATIONS)
}

/// [`migrate`] with the migrations given (a test's list).
fn bring_up(session: &mut Session, migrations: &[Migration]) -> Result<(), StoreError> {
    session.with("cannot take the migration lock", |client| {
        client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
    })?;
    let migrated = run(session, migrations);
    session.with("cannot release the migration lock", |client| {
        client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
    })?;
    migrated
}

fn run(session: &mut Session, migrations: &[Migration]) -> Result<(), StoreError> {
    let applied = session.with("cannot read the schema version", applied_migrations)?;
    let missing = plan(&applied, migrations).map_err(|reason| session.refusal(reason))?;
    if missing.is_empty() {
        return Ok(());
    }
    session.with("cannot create the schema history table", |client| {
        client.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version INT4 PRIMARY KEY, \
             name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255))"
        ))
    })?;
    for migration in missing {
        session.with(
            &format!("cannot migrate its schema: migration {migration} failed, so none of it was applied"),
            |client| apply(client, migration),
        )?;
        tracing::info!(%migration, "schema migration applied");
    }
    Ok(())
}

/// One migration and its history row in one transaction: a failure leaves neither.
fn apply(client: &mut Client, migration: &Migration) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.batch_execute(migration.sql)?;
    // RFC 3339 in UTC, as refinery writes (and parses when it reads the table).
    let applied_on = jiff::Timestamp::now().to_string();
    tx.execute(
        &format!(
            "INSERT INTO {HISTORY_TABLE} (version, name, applied_on, checksum) \
             VALUES ($1, $2, $3, $4)"
        ),
        &[
            &migration.version,
            &migration.name,
            &applied_on,
            &migration.checksum().to_string(),
        ],
    )?;
    tx.commit()
}

/// The migrations to apply, oldest first, or why the database is refused: refinery's checks
/// (with `abort_divergent` and `abort_missing`, its defaults), worded for whoever runs the bot.
fn plan<'a>(
    applied: &[Applied],
    migrations: &'a [Migration],
) -> Result<Vec<&'a Migration>, String> {
    let known = migrations.last().map_or(0, |m| i64::from(m.version));
    let newest = applied
        .iter()
        .map(|a| i64::from(a.version))
        .max()
        .unwrap_or(0);
    if newest > known {
        return Err(format!(
            "its schema is at version {newest}, newer than this budget-bot knows (version {known}): run the newer budget-bot that migrated it, or upgrade this one"
        ));
    }
    for row in applied {
        let recorded = format!(
            "migration {} ({}, checksum {})",
            row.version,
            row.name.as_deref().unwrap_or("no name"),
            row.checksum.as_deref().unwrap_or("none")
        );
        let Some(ours) = migrations.iter().find(|m| m.version == row.version) else {
            return Err(format!(
                "its schema history ({HISTORY_TABLE}) records {recorded}, which this budget-bot does not have: the database was migrated by another build; run that build, or restore the database from a backup"
            ));
        };
        let same_checksum =
            row.checksum.as_deref().and_then(|c| c.parse::<u64>().ok()) == Some(ours.checksum());
        if row.name.as_deref() != Some(ours.name) || !same_checksum {
            return Err(format!(
                "its schema history ({HISTORY_TABLE}) records {recorded}, but this budget-bot's migration {} is {ours} with checksum {}: a migration was changed after it was applied, so this build does not describe the schema it would write to; run the build that migrated the database (an applied migration must never change: a schema change goes in a new migration file)",
                ours.version,
                ours.checksum()
            ));
        }
    }
    let mut missing = Vec::new();
    for migration in migrations {
        if applied.iter().any(|a| a.version == migration.version) {
            continue;
        }
        if i64::from(migration.version) < newest {
            return Err(format!(
                "its schema is at version {newest} but migration {migration} was never applied to it: the database was migrated by another build; run that build, or restore the database from a backup"
            ));
        }
        missing.push(migration);
    }
    Ok(missing)
}

/// The history rows (none on an empty database).
fn applied_migrations(client: &mut Client) -> Result<Vec<Applied>, postgres::Error> {
    if !history_exists(client)? {
        return Ok(Vec::new());
    }
    let rows = client.query(
        &format!("SELECT version, name, checksum FROM {HISTORY_TABLE} ORDER BY version"),
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|row| Applied {
            version: row.get(0),
            name: row.get(1),
            checksum: row.get(2),
        })
        .collect())
}

fn history_exists(client: &mut Client) -> Result<bool, postgres::Error> {
    Ok(client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&HISTORY_TABLE])?
        .get(0))
}

/// The newest migration applied (0 on an empty database).
pub(super) fn applied_version(client: &mut Client) -> Result<i64, postgres::Error> {
    if !history_exists(client)? {
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
    use super::*;

    #[test]
    fn every_file_in_migrations_is_embedded_with_its_text() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_str().unwrap().to_string();
            files.push((file, std::fs::read_to_string(&path).unwrap()));
        }
        files.sort();
        assert!(!files.is_empty());
        for (file, text) in &files {
            let listed = MIGRATIONS.iter().find(|m| format!("{m}.sql") == *file);
            let listed = listed.unwrap_or_else(|| {
                panic!("migrations/{file} is not in MIGRATIONS (schema.rs): add it, or name it V<n>__<name>.sql if it is a migration")
            });
            assert_eq!(listed.sql, text, "migrations/{file}");
        }
        assert_eq!(files.len(), MIGRATIONS.len(), "{files:?}");
    }

    #[test]
    fn checksums_are_refinerys() {
        for m in MIGRATIONS {
            let theirs = refinery::Migration::unapplied(&m.to_string(), m.sql).unwrap();
            assert_eq!(
                (theirs.version(), theirs.name()),
                (m.version, m.name),
                "{m}"
            );
            assert_eq!(m.checksum(), theirs.checksum(), "{m}");
        }
    }

    fn row(m: &Migration) -> Applied {
        Applied {
            version: m.version,
            name: Some(m.name.to_string()),
            checksum: Some(m.checksum().to_string()),
        }
    }

    fn versions(plan: Vec<&Migration>) -> Vec<i32> {
        plan.iter().map(|m| m.version).collect()
    }

    #[test]
    fn an_empty_database_gets_every_migration_and_a_partial_one_the_rest() {
        assert_eq!(versions(plan(&[], MIGRATIONS).unwrap()), [1, 2]);
        assert_eq!(
            versions(plan(&[row(&MIGRATIONS[0])], MIGRATIONS).unwrap()),
            [2]
        );
        let all: Vec<_> = MIGRATIONS.iter().map(row).collect();
        assert!(plan(&all, MIGRATIONS).unwrap().is_empty());
    }

    #[test]
    fn an_applied_migration_changed_since_is_refused() {
        let mut edited = row(&MIGRATIONS[0]);
        edited.checksum = Some("12345".into());
        let text = plan(&[edited, row(&MIGRATIONS[1])], MIGRATIONS).unwrap_err();
        assert!(
            text.contains("records migration 1 (store, checksum 12345)")
                && text.contains("a migration was changed after it was applied"),
            "{text}"
        );
        let mut renamed = row(&MIGRATIONS[1]);
        renamed.name = Some("other".into());
        let text = plan(&[row(&MIGRATIONS[0]), renamed], MIGRATIONS).unwrap_err();
        assert!(text.contains("records migration 2 (other,"), "{text}");
        let mut unreadable = row(&MIGRATIONS[0]);
        unreadable.checksum = None;
        let text = plan(&[unreadable], MIGRATIONS).unwrap_err();
        assert!(
            text.contains("migration 1 (store, checksum none)"),
            "{text}"
        );
    }

    #[test]
    fn a_history_this_build_does_not_describe_is_refused() {
        let newer = Applied {
            version: 3,
            name: Some("from_the_future".into()),
            checksum: Some("0".into()),
        };
        let text = plan(&[row(&MIGRATIONS[0]), newer], MIGRATIONS).unwrap_err();
        assert!(
            text.contains("version 3, newer than this budget-bot knows (version 2)"),
            "{text}"
        );
        let skipped = plan(&[row(&MIGRATIONS[1])], MIGRATIONS).unwrap_err();
        assert!(
            skipped.contains("at version 2 but migration V1__store was never applied"),
            "{skipped}"
        );
        let unknown = Applied {
            version: 0,
            name: Some("elsewhere".into()),
            checksum: Some("0".into()),
        };
        let text = plan(&[unknown], MIGRATIONS).unwrap_err();
        assert!(
            text.contains(
                "records migration 0 (elsewhere, checksum 0), which this budget-bot does not have"
            ),
            "{text}"
        );
    }

    use super::super::pool::{Pool, Target};
    use super::super::testing::test_database;
    use super::super::PostgresStore;
    use crate::store::RequestStore;

    /// What budget-bot builds before this runner ran.
    mod by_refinery {
        refinery::embed_migrations!("migrations");
    }

    fn connect(url: &str) -> Client {
        Target::parse(url).unwrap().connect().unwrap()
    }

    type Row = (i32, Option<String>, Option<String>, Option<String>);

    fn history(url: &str) -> Vec<Row> {
        connect(url)
            .query(
                "SELECT version, name, applied_on, checksum FROM refinery_schema_history ORDER BY version",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    }

    /// refinery reads the history as it would before migrating: every row the same
    /// migration as its own (version, name, checksum), and nothing left to apply.
    fn refinery_accepts(url: &str) {
        let runner = by_refinery::migrations::runner();
        let mut client = connect(url);
        let applied = runner.get_applied_migrations(&mut client).unwrap();
        assert_eq!(&applied, runner.get_migrations());
        let report = runner.run(&mut client).unwrap();
        assert!(report.applied_migrations().is_empty(), "{report:?}");
    }

    #[test]
    fn a_database_migrated_by_refinery_is_opened_as_it_is() {
        let Some(db) = test_database("a_database_migrated_by_refinery_is_opened_as_it_is") else {
            return;
        };
        let report = by_refinery::migrations::runner()
            .run(&mut connect(&db.url))
            .unwrap();
        assert_eq!(report.applied_migrations().len(), MIGRATIONS.len());
        let before = history(&db.url);
        let store = PostgresStore::connect(&db.url).unwrap();
        assert_eq!(history(&db.url), before);
        assert!(store.swap_mark("k", None, Some("v")).unwrap());
        assert_eq!(store.mark("k").unwrap().as_deref(), Some("v"));
        assert_eq!(store.counts().unwrap(), (0, 0, 0));
    }

    #[test]
    fn a_database_migrated_here_is_accepted_by_refinery() {
        let Some(db) = test_database("a_database_migrated_here_is_accepted_by_refinery") else {
            return;
        };
        drop(PostgresStore::connect(&db.url).unwrap());
        let ours = history(&db.url);
        assert_eq!(ours.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2]);
        refinery_accepts(&db.url);
        assert_eq!(history(&db.url), ours);
    }

    #[test]
    fn an_older_builds_database_gets_only_the_newer_migration_and_refinery_accepts_it() {
        let Some(db) = test_database("an_older_builds_database_gets_only_the_newer_migration")
        else {
            return;
        };
        by_refinery::migrations::runner()
            .set_target(refinery::Target::Version(1))
            .run(&mut connect(&db.url))
            .unwrap();
        let older = history(&db.url);
        assert_eq!(older.len(), 1);
        let store = PostgresStore::connect(&db.url).unwrap();
        let now = history(&db.url);
        assert_eq!((now.len(), &now[0]), (2, &older[0]));
        assert!(store.swap_mark("k", None, Some("v")).unwrap());
        refinery_accepts(&db.url);
    }

    #[test]
    fn an_applied_migration_whose_checksum_changed_is_refused_naming_it() {
        let Some(db) = test_database("an_applied_migration_whose_checksum_changed_is_refused")
        else {
            return;
        };
        drop(PostgresStore::connect(&db.url).unwrap());
        db.execute("UPDATE refinery_schema_history SET checksum = '1' WHERE version = 1");
        let text = PostgresStore::connect(&db.url)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            text.contains("records migration 1 (store, checksum 1)")
                && text.contains("migration 1 is V1__store with checksum")
                && text.contains("a migration was changed after it was applied"),
            "{text}"
        );
    }

    /// A third migration that fails in its own SQL, and one whose SQL runs but whose history
    /// row cannot be written.
    const BROKEN: [Migration; 2] = [
        Migration {
            version: 3,
            name: "broken",
            sql: "CREATE TABLE half_done (x int); SELECT 1 / 0;",
        },
        Migration {
            version: 3,
            name: "unrecorded",
            sql: "CREATE TABLE half_done (x int); \
                  ALTER TABLE refinery_schema_history ADD CONSTRAINT no_3 CHECK (version < 3);",
        },
    ];

    #[test]
    fn a_failed_migration_leaves_nothing_of_itself_and_keeps_the_ones_before() {
        let Some(db) = test_database("a_failed_migration_leaves_nothing_of_itself") else {
            return;
        };
        let pool = Pool::start(Target::parse(&db.url).unwrap()).unwrap();
        for (broken, cause) in BROKEN.into_iter().zip(["division by zero", "no_3"]) {
            let text = pool
                .run(move |session| bring_up(session, &[MIGRATIONS[0], MIGRATIONS[1], broken]))
                .expect_err("refused")
                .to_string();
            assert!(
                text.contains(&format!(
                    "cannot migrate its schema: migration {broken} failed"
                )) && text.contains(cause),
                "{text}"
            );
            let versions: Vec<i32> = history(&db.url).iter().map(|r| r.0).collect();
            assert_eq!(versions, [1, 2]);
            let left: (bool, i64) = {
                let row = connect(&db.url)
                    .query_one(
                        "SELECT to_regclass('half_done') IS NOT NULL, \
                         (SELECT count(*) FROM pg_constraint WHERE conname = 'no_3')",
                        &[],
                    )
                    .unwrap();
                (row.get(0), row.get(1))
            };
            assert_eq!(left, (false, 0), "{broken}");
        }
        // The lock was released: the store opens (at version 2) on another connection.
        drop(PostgresStore::connect(&db.url).unwrap());
    }
}
