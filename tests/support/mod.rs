//! Shared helpers for integration tests. Include with `mod support;` from a test crate.

pub mod fake_discord;
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
