//! A process killed at each step of the workflow (failpoints abort it, as a kill would), then
//! restarted on the same sled path: nothing lost, nothing applied twice.

mod common;

use budget_bot::domain::request::RequestState;
use budget_bot::failpoint;
use budget_bot::store::Store;
use common::{run_bin, start_sim, write_config};

const FIRST_RUN: &str = "alice: /budget set-daily 123 20000 crash test\nbob: react ✅ last\n";
const SECOND_RUN: &str = "bob: react ✅ last\ndave: /budget pending\n";

#[tokio::test]
async fn killed_at_each_step_then_restarted_applies_exactly_once() {
    for point in failpoint::POINTS {
        let sim = start_sim().await;
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &sim.base_url(), "");
        let config = config.to_str().unwrap();
        let args = ["--config", config, "console", "--json"];

        let (status, _, stderr) = run_bin(&args, FIRST_RUN, &[(failpoint::ENV, point)]).await;
        assert!(!status.success(), "{point}: the process was killed");
        assert!(
            stderr.contains(&format!("failpoint {point}")),
            "{point}: {stderr}"
        );

        let (status, stdout, stderr) = run_bin(&args, SECOND_RUN, &[]).await;
        assert!(status.success(), "{point}: restart works: {stderr}");
        assert!(stdout.contains("No pending requests"), "{point}: {stdout}");

        assert_eq!(
            sim.handle().applied_count(),
            1,
            "{point}: applied exactly once"
        );
        let stock = sim.handle().stock("200000001", "123").unwrap();
        assert_eq!(stock.max_count_per_day(), Some(20_000), "{point}");
        let updates: Vec<_> = sim.handle().update_budget_requests();
        assert!(
            updates.iter().all(|u| u.body == updates[0].body),
            "{point}: every send carries the same body and out_request_no"
        );

        let store = Store::open(&dir.path().join("store.sled")).unwrap();
        let all = store.all().unwrap();
        assert_eq!(
            all.len(),
            1,
            "{point}: the request was neither lost nor duplicated"
        );
        assert_eq!(all[0].state, RequestState::Applied, "{point}");
        assert!(
            all[0].card.is_some(),
            "{point}: the card exists after recovery"
        );
        assert_eq!(
            updates[0].out_request_no.as_deref(),
            Some(all[0].out_request_no.as_str()),
            "{point}"
        );
        assert!(
            store.verify_audit().unwrap().is_ok(),
            "{point}: audit chain intact"
        );
        drop(store);
    }
}

/// Killed right after the update was sent, then restarted while WeChat Pay cannot be read: the
/// request stays Submitting (never a false "Failed, nothing was sent") until a read works.
#[tokio::test]
async fn restart_that_cannot_reread_keeps_the_request_unresolved() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.base_url(), "");
    let config = config.to_str().unwrap();
    let args = ["--config", config, "console", "--json"];
    let (status, _, _) = run_bin(&args, FIRST_RUN, &[(failpoint::ENV, "after_update_sent")]).await;
    assert!(!status.success());
    assert_eq!(sim.handle().applied_count(), 1);

    for _ in 0..4 {
        sim.handle().push_fault(
            budget_bot::sim::FaultMatch::GetStock,
            budget_bot::sim::Fault::Status500,
        );
    }
    let (status, stdout, stderr) = run_bin(&args, "", &[]).await;
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.contains("will retry with the same request number"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("\"state\":\"Failed\""),
        "never a false failure: {stdout}"
    );
    assert!(stdout.contains("\"state\":\"Submitting\""), "{stdout}");
    let (status, stdout, stderr) = run_bin(&args, "dave: /budget pending\n", &[]).await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("\"state\":\"Applied\""), "{stdout}");
    assert_eq!(sim.handle().applied_count(), 1);
    let store = Store::open(&dir.path().join("store.sled")).unwrap();
    assert_eq!(store.all().unwrap()[0].state, RequestState::Applied);
}
