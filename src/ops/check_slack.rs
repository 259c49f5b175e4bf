//! The `[slack]` checks of `check-config`: ids and tokens offline; live, the bot token
//! (`auth.test`), each channel (`conversations.info`: it exists, is not archived, the bot is
//! in it) and each user group (`usergroups.list`). The tokens are never printed.

use std::path::Path;

use slack_morphism::prelude::*;

use super::{failure, not_tried, shown, Failure, Report};
use crate::chat::slack::{client, SlackSettings, SlackTokens};
use crate::config::SlackConfig;

/// The offline checks; the settings and tokens when every one passed.
pub(super) fn offline(
    report: &mut Report,
    slack: &SlackConfig,
    base_dir: &Path,
) -> Option<(SlackSettings, SlackTokens)> {
    let settings = SlackSettings::from_config(slack);
    report.push(
        "slack",
        settings.as_ref().map(|_| ()).map_err(|e| {
            failure(
                format!("{e:#}"),
                "Fix the id or key named (see the README, \"Running on Slack\").",
            )
        }),
    );
    let tokens = SlackTokens::load(slack, base_dir);
    report.push(
        "slack.tokens",
        tokens.as_ref().map(|_| ()).map_err(|e| {
            failure(
                format!("{e:#}"),
                "Set SLACK_BOT_TOKEN, and SLACK_APP_TOKEN (socket mode) or SLACK_SIGNING_SECRET \
                 (http mode), or the *_path keys in [slack] to files holding them.",
            )
        }),
    );
    Some((settings.ok()?, tokens.ok()?))
}

/// The live checks, one line each.
pub(super) async fn live(report: &mut Report, checked: Option<(SlackSettings, SlackTokens)>) {
    let Some((settings, tokens)) = checked else {
        report.push("live slack", not_tried("slack"));
        return;
    };
    let client = match client(settings.api_base_url.as_deref()) {
        Ok(client) => client,
        Err(e) => {
            report.push(
                "live slack",
                Err(failure(
                    format!("{e:#}"),
                    "Check the system's certificates.",
                )),
            );
            return;
        }
    };
    let token = SlackApiToken::new(SlackApiTokenValue(tokens.bot.expose().to_string()));
    let session = client.open_session(&token);
    if let Err(e) = session.auth_test().await {
        report.push(
            "live slack token",
            Err(failure(
                format!("Slack refused the bot token: {e}"),
                "Set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (OAuth & Permissions, xoxb-…).",
            )),
        );
        return;
    }
    report.push("live slack token", Ok(()));
    for (key, channel) in [
        ("approvals_channel_id", &settings.approvals_channel),
        ("notifications_channel_id", &settings.notifications_channel),
    ] {
        let answer = session
            .conversations_info(&SlackApiConversationsInfoRequest::new(SlackChannelId(
                channel.clone(),
            )))
            .await;
        report.push(format!("live slack.{key}"), channel_fit(channel, answer));
    }
    let groups = session
        .usergroups_list(&SlackApiUserGroupsListRequest::new())
        .await;
    let known: Vec<String> = match groups {
        Ok(list) => list.usergroups.into_iter().map(|g| g.id.0).collect(),
        Err(e) => {
            report.push(
                "live slack groups",
                Err(failure(
                    format!("the user groups cannot be read: {e}"),
                    "Add the usergroups:read scope to the app and reinstall it.",
                )),
            );
            return;
        }
    };
    for (key, ids) in [
        ("requester_group_ids", &settings.requester_groups),
        ("approver_group_ids", &settings.approver_groups),
    ] {
        for (i, id) in ids.iter().enumerate() {
            report.push(
                format!("live slack.{key}[{i}]"),
                if known.contains(id) {
                    Ok(())
                } else {
                    Err(failure(
                        format!("the workspace has no user group {}", shown(id)),
                        "Copy the group's id (S…) from People → User groups.",
                    ))
                },
            );
        }
    }
}

fn channel_fit(
    channel: &str,
    answer: Result<SlackApiConversationsInfoResponse, slack_morphism::errors::SlackClientError>,
) -> Result<(), Failure> {
    let info = answer.map_err(|e| {
        failure(
            format!("channel {} cannot be read: {e}", shown(channel)),
            "Copy the channel's id (C…) from the bottom of its About tab.",
        )
    })?;
    if info.channel.flags.is_archived == Some(true) {
        return Err(failure(
            format!("channel {} is archived", shown(channel)),
            "Unarchive it or name another channel.",
        ));
    }
    if info.channel.flags.is_member == Some(false) {
        return Err(failure(
            format!("the bot is not in channel {}", shown(channel)),
            "Invite it: /invite @budget-bot in that channel.",
        ));
    }
    Ok(())
}
