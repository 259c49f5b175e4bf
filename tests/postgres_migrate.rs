//! `budget-bot migrate-store --from sled:PATH --to postgres` (issue 14): every request, card
//! and audit entry copied, the chain verified in the copy, a non-empty target refused, and
//! a copied pending request goes on as before. Skipped (loudly) without a test database,
//! failed on CI.
#![cfg(feature = "postgres")]

mod common;

use budget_bot::domain::request::RequestState;
use budget_bot::store::postgres::testing::test_database;
use budget_bot::store::{CardKey, PostgresStore, RequestStore, Store};
use common::{run_bin, start_sim, write_config};

#[tokio::test]
async fn a_sled_store_is_copied_whole_and_its_pending_requests_go_on() {
    let Some(db) = test_database("a_sled_store_is_copied_whole") else {
        return;
    };
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.base_url(), "");
    let config = config.to_str().unwrap().to_string();
    let console = ["--config", config.as_str(), "console", "--json"];
    let (status, _, stderr) = run_bin(
        &console,
        "alice: /budget set-daily 123 20000 applied on sled\nbob: react ✅ last\n\
         alice: /budget set-daily 123 30000 left pending\n",
        &[],
    )
    .await;
    assert!(status.success(), "{stderr}");
    let sled_path = dir.path().join("store.sled");
    let (requests, audit, last, card) = {
        let sled = Store::open(&sled_path).unwrap();
        let last = sled.last().unwrap().unwrap();
        let card = last.card.clone().expect("its card was posted");
        let card = CardKey::new("console", &card.channel_id, &card.message_id);
        assert_eq!(
            sled.request_for_card(&card).unwrap().as_deref(),
            Some(last.id.as_str())
        );
        (
            sled.all().unwrap(),
            sled.audit_entries(None).unwrap(),
            last,
            card,
        )
    };
    assert_eq!(requests.len(), 2);

    let env = [("BUDGET_BOT_DATABASE_URL", db.url.as_str())];
    let from = format!("sled:{}", sled_path.display());
    let migrate = [
        "--config",
        config.as_str(),
        "migrate-store",
        "--from",
        &from,
        "--to",
        "postgres",
    ];
    let (status, stdout, stderr) = run_bin(&migrate, "", &env).await;
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.contains("copied 2 requests")
            && stdout.contains(&format!("{} audit entries", audit.len()))
            && stdout.contains("hash chain intact"),
        "{stdout}"
    );

    let copy = PostgresStore::connect(&db.url).unwrap();
    assert_eq!(copy.all().unwrap(), requests);
    assert_eq!(copy.audit_entries(None).unwrap(), audit, "hashes and all");
    assert_eq!(copy.verify_audit().unwrap(), Ok(audit.len() as u64));
    assert_eq!(copy.last().unwrap().unwrap(), last);
    assert_eq!(
        copy.request_for_card(&card).unwrap().as_deref(),
        Some(last.id.as_str())
    );

    let (status, _, stderr) = run_bin(&migrate, "", &env).await;
    assert!(!status.success());
    assert!(
        stderr.contains("the target store is not empty") && stderr.contains("2 requests"),
        "{stderr}"
    );
    assert_eq!(
        copy.all().unwrap(),
        requests,
        "the refused copy wrote nothing"
    );

    // The copied pending request is approved and applied from the PostgreSQL store.
    common::use_postgres(std::path::Path::new(&config), "");
    let (status, stdout, stderr) = run_bin(&console, "carol: react ✅ last\n", &env).await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("\"state\":\"Applied\""), "{stdout}");
    let applied = copy.get(last.id.as_str()).unwrap().unwrap();
    assert_eq!(applied.state, RequestState::Applied);
    assert_eq!(applied.out_request_no, last.out_request_no);
    assert_eq!(sim.handle().applied_count(), 2);
    assert!(copy.verify_audit().unwrap().is_ok());
}
