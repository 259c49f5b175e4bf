//! Shared helpers for integration tests. Include with `mod support;` from a test crate.

pub mod fake_discord;
// It reads Slack's form-encoded bodies with the crate the Slack adapter brings.
#[cfg(feature = "slack")]
pub mod fake_slack;
pub mod process;

use fake_discord::{
    FakeDiscord, APPROVALS_CHANNEL_ID, APPROVER_ROLE_ID, GUILD_ID, NOTIFICATIONS_CHANNEL_ID,
    REQUESTER_ROLE_ID,
};

/// The `[discord]` section of a budget-bot config for the fake's guild, channels and roles,
/// with the fake as `api_base_url`.
#[allow(dead_code)]
pub fn discord_section(fake: &FakeDiscord) -> String {
    format!(
        "\n[discord]\napplication_id = \"{}\"\nguild_id = \"{GUILD_ID}\"\n\
         approvals_channel_id = \"{APPROVALS_CHANNEL_ID}\"\n\
         notifications_channel_id = \"{NOTIFICATIONS_CHANNEL_ID}\"\n\
         requester_role_ids = [\"{REQUESTER_ROLE_ID}\"]\napprover_role_ids = [\"{APPROVER_ROLE_ID}\"]\n\
         api_base_url = \"{}\"\n",
        fake.config().application_id,
        fake.base_url()
    )
}

/// The same `[discord]` section as a value, for tests that build a `Config` in code.
#[allow(dead_code)]
pub fn discord_config(fake: &FakeDiscord) -> budget_bot::config::DiscordConfig {
    budget_bot::config::DiscordConfig {
        token_path: None,
        application_id: fake.config().application_id.to_string(),
        guild_id: GUILD_ID.to_string(),
        approvals_channel_id: APPROVALS_CHANNEL_ID.to_string(),
        notifications_channel_id: NOTIFICATIONS_CHANNEL_ID.to_string(),
        requester_role_ids: vec![REQUESTER_ROLE_ID.to_string()],
        approver_role_ids: vec![APPROVER_ROLE_ID.to_string()],
        api_base_url: Some(fake.base_url()),
    }
}
