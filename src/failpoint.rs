//! Crash failpoints for recovery tests: when `BUDGET_BOT_FAILPOINT` names a point, the process
//! aborts there, as a kill would (no destructors, no flush beyond what was already written).

/// Env var naming the failpoint to crash at.
pub const ENV: &str = "BUDGET_BOT_FAILPOINT";

/// Every failpoint, in workflow order.
pub const POINTS: &[&str] = &[
    "after_request_stored",
    "after_card_posted",
    "after_approved",
    "after_submitting",
    "after_update_sent",
    "after_applied",
];

/// Aborts the process if `name` is the configured failpoint.
pub fn hit(name: &str) {
    if std::env::var(ENV).is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}
