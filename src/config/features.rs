//! The optional parts of a build (cargo features `slack` and `postgres`, both in the default
//! build): a config that names one this build left out is refused when it loads, at its key,
//! saying how to get a build that has it, before any command starts.

use super::place::{refuse, Refusal, Step};
use super::{Config, StorageBackend};

/// What a command that needs a part this build left out says.
pub fn missing(part: &str, feature: &str) -> String {
    format!("this build has no {part} support; rebuild with --features {feature} (the default build has it)")
}

pub(super) fn check(config: &Config) -> Result<(), Refusal> {
    if !cfg!(feature = "slack") && config.slack.is_some() {
        refuse(&[Step::Key("slack")], missing("Slack", "slack"))?;
    }
    let postgres = |storage: &super::StorageConfig| storage.backend == StorageBackend::Postgres;
    if !cfg!(feature = "postgres") && config.storage.as_ref().is_some_and(postgres) {
        refuse(
            &[Step::Key("storage"), Step::Key("backend")],
            missing("PostgreSQL", "postgres"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Without the feature the section is refused by its key with the rebuild hint; with it,
    /// the same file loads.
    fn loads_only_with(feature: bool, key: &str, hint: &str, text: &str) {
        match super::super::Config::parse(text, Path::new("features.toml")) {
            Ok(_) => assert!(feature, "loaded without the feature: {text}"),
            Err(e) => {
                let shown = e.to_string();
                assert!(!feature, "refused with the feature: {shown}");
                assert!(shown.contains(key) && shown.contains(hint), "{shown}");
            }
        }
    }

    #[test]
    fn a_slack_section_needs_the_slack_feature() {
        loads_only_with(
            cfg!(feature = "slack"),
            "slack",
            "rebuild with --features slack",
            "[slack]\napprovals_channel_id = \"C0123456789\"\nnotifications_channel_id = \"C0123456789\"\n",
        );
    }

    #[test]
    fn a_postgres_store_needs_the_postgres_feature() {
        loads_only_with(
            cfg!(feature = "postgres"),
            "storage.backend",
            "rebuild with --features postgres",
            "[storage]\nbackend = \"postgres\"\n",
        );
    }
}
