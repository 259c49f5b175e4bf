//! For tests: a private, empty schema in the test database named by
//! `BUDGET_BOT_TEST_DATABASE_URL` (`.ci/postgres.sh` starts one and prints the variable),
//! dropped when the guard drops. Without the variable a test skips loudly, or fails when
//! `CI=true`: CI always runs the Postgres tests.

/// The variable naming the test database.
pub const TEST_DATABASE_URL: &str = "BUDGET_BOT_TEST_DATABASE_URL";

/// A schema of its own in the test database; its URL connects into it.
pub struct TestDatabase {
    /// The database URL with the schema as its search path.
    pub url: String,
    admin_url: String,
    schema: String,
}

/// A fresh schema, or `None` (after a loud message) when no test database is configured
/// outside CI. `test` names the test in that message.
pub fn test_database(test: &str) -> Option<TestDatabase> {
    let Ok(admin_url) = std::env::var(TEST_DATABASE_URL) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{TEST_DATABASE_URL} is not set, and CI runs every PostgreSQL test: start a test database with .ci/postgres.sh");
        }
        eprintln!("SKIPPED {test}: {TEST_DATABASE_URL} is not set (start a test database with .ci/postgres.sh start and export what it prints)");
        return None;
    };
    let schema = format!(
        "t_{}",
        crate::domain::request::RequestId::generate().as_str()
    );
    admin(&admin_url, &format!("CREATE SCHEMA {schema}"));
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
    Some(TestDatabase {
        url,
        admin_url,
        schema,
    })
}

/// The variables naming the test cluster's CA (which signed its certificate for localhost
/// and 127.0.0.1) and an unrelated CA; `.ci/postgres.sh start` prints both.
pub const TEST_CA: &str = "BUDGET_BOT_TEST_PG_CA";
pub const TEST_OTHER_CA: &str = "BUDGET_BOT_TEST_PG_OTHER_CA";

/// The test cluster's CA and an unrelated one, as [`test_database`] decides on skipping.
pub fn test_cas(test: &str) -> Option<(String, String)> {
    match (std::env::var(TEST_CA), std::env::var(TEST_OTHER_CA)) {
        (Ok(ca), Ok(other)) => Some((ca, other)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{TEST_CA} and {TEST_OTHER_CA} are not set, and CI runs every PostgreSQL test: start a test database with .ci/postgres.sh")
        }
        _ => {
            eprintln!("SKIPPED {test}: {TEST_CA} / {TEST_OTHER_CA} are not set (start a test database with .ci/postgres.sh start and export what it prints)");
            None
        }
    }
}

impl TestDatabase {
    /// Runs `sql` in this test's schema, as a tool would, past the store.
    pub fn execute(&self, sql: &str) {
        admin(&self.url, sql);
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        admin(
            &self.admin_url,
            &format!("DROP SCHEMA {} CASCADE", self.schema),
        );
    }
}

/// Runs `sql` on a connection of its own, on a thread of its own: a test may be inside a
/// tokio runtime, which the synchronous client must not be blocked on from.
fn admin(url: &str, sql: &str) {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to {TEST_DATABASE_URL}: {e}"));
        client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    })
    .join()
    .expect("the test database answers");
}
