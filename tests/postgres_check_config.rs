//! `check-config` with `[storage] backend = "postgres"`, through the binary: offline, the
//! database URL is found and parses (sslmode and sslrootcert included); live, the database
//! answers as the store would connect to it, and its schema version is one this build can
//! run on. No output ever holds the URL's password, and the check never migrates.
#![cfg(feature = "postgres")]

mod common;

use std::path::PathBuf;

use budget_bot::store::postgres::testing::{test_cas, test_database};
use budget_bot::store::PostgresStore;
use serde_json::Value;

const PASSWORD: &str = "s3cret-Pa55";

/// A config whose store is PostgreSQL, its URL in the file `db_url` next to it.
struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    url_file: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            "[[stocks]]\nstock_id = \"123\"\nproduct_coupon_id = \"200000001\"\n\n\
             [storage]\nbackend = \"postgres\"\nurl_path = \"db_url\"\n",
        )
        .unwrap();
        let url_file = dir.path().join("db_url");
        Self {
            _dir: dir,
            config,
            url_file,
        }
    }

    /// Runs `check-config` with `args`, the URL in `db_url` (the variable left empty);
    /// returns stdout, after asserting that no output holds the password.
    async fn check(&self, url: Option<&str>, args: &[&str]) -> String {
        match url {
            Some(url) => std::fs::write(&self.url_file, url).unwrap(),
            None => {
                let _ = std::fs::remove_file(&self.url_file);
            }
        }
        let mut all = vec!["--config", self.config.to_str().unwrap(), "check-config"];
        all.extend_from_slice(args);
        let (_, stdout, stderr) =
            common::run_bin(&all, "", &[("BUDGET_BOT_DATABASE_URL", "")]).await;
        assert!(!stdout.contains(PASSWORD), "{stdout}");
        assert!(!stderr.contains(PASSWORD), "{stderr}");
        stdout
    }
}

#[tokio::test]
async fn the_url_is_found_and_parsed_offline_without_printing_the_password() {
    let setup = Setup::new();
    let out = setup.check(None, &[]).await;
    let missing = common::check_line(&out, "storage.url");
    assert!(
        missing.starts_with("FAIL ")
            && missing.contains("db_url")
            && missing.contains("BUDGET_BOT_DATABASE_URL"),
        "{missing}"
    );
    assert!(!out.contains("storage.path"), "{out}");

    let out = setup
        .check(
            Some(&format!(
                "postgres://bb:{PASSWORD}@127.0.0.1:notaport/ledger"
            )),
            &[],
        )
        .await;
    let bad = common::check_line(&out, "storage.url");
    assert!(
        bad.starts_with("FAIL ") && bad.contains("not a PostgreSQL URL"),
        "{bad}"
    );

    let out = setup
        .check(
            Some(&format!(
                "postgres://bb:{PASSWORD}@127.0.0.1:5432/ledger?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
            )),
            &[],
        )
        .await;
    let no_ca = common::check_line(&out, "storage.url");
    assert!(
        no_ca.starts_with("FAIL ") && no_ca.contains("sslrootcert=/nonexistent/ca.pem"),
        "{no_ca}"
    );

    let out = setup
        .check(
            Some(&format!(
                "postgres://bb:{PASSWORD}@127.0.0.1:5432/ledger?sslmode=require"
            )),
            &[],
        )
        .await;
    assert_eq!(
        common::check_line(&out, "storage.url"),
        "ok storage.url: PostgreSQL database ledger on 127.0.0.1:5432 as user bb, sslmode=require"
    );
}

#[tokio::test]
async fn live_it_connects_as_the_store_would_and_judges_the_schema_version_without_migrating() {
    let Some((ca, other)) = test_cas("check_config_live") else {
        return;
    };
    let Some(db) = test_database("check_config_live") else {
        return;
    };
    let setup = Setup::new();
    let url = format!(
        "{}&sslmode=verify-full&sslrootcert={ca}",
        db.url
            .replacen("budgetbot@", &format!("budgetbot:{PASSWORD}@"), 1)
    );

    let out = setup.check(Some(&url), &["--live"]).await;
    let connected = common::check_line(&out, "live storage");
    assert!(
        connected.starts_with(
            "ok live storage: connected to PostgreSQL database postgres on 127.0.0.1:"
        ) && connected.contains("encrypted (TLS"),
        "{connected}"
    );
    let empty = "ok live storage schema: version 0; migrated to version 2 when budget-bot starts";
    assert_eq!(common::check_line(&out, "live storage schema"), empty);
    // Checking changed nothing: the database is still unmigrated.
    let out = setup.check(Some(&url), &["--live"]).await;
    assert_eq!(common::check_line(&out, "live storage schema"), empty);

    drop(PostgresStore::connect(&db.url).unwrap());
    let out = setup.check(Some(&url), &["--live"]).await;
    assert_eq!(
        common::check_line(&out, "live storage schema"),
        "ok live storage schema: version 2"
    );

    db.execute(
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
         VALUES (3, 'from_the_future', '2030-01-01T00:00:00Z', '0')",
    );
    let out = setup.check(Some(&url), &["--live"]).await;
    let newer = common::check_line(&out, "live storage schema");
    assert!(
        newer.starts_with("FAIL ")
            && newer.contains("version 3, newer than this budget-bot knows (version 2)"),
        "{newer}"
    );
    let json: Value =
        serde_json::from_str(setup.check(Some(&url), &["--live", "--json"]).await.trim())
            .expect("one JSON object");
    let schema = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "live storage schema")
        .expect("the schema check");
    assert_eq!(schema["ok"], false, "{json}");
    assert_eq!(json["ok"], false);

    let wrong_ca = url.replace(&ca, &other);
    let out = setup.check(Some(&wrong_ca), &["--live"]).await;
    let refused = common::check_line(&out, "live storage");
    assert!(
        refused.starts_with("FAIL ") && refused.contains("UnknownIssuer"),
        "{refused}"
    );
    assert!(!out.contains("live storage schema"), "{out}");
}
