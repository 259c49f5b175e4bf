//! Who may request and approve on Slack: members of the configured user groups (read with
//! `usergroups.users.list`, trusted for at most a minute) and the configured member ids.
//! Slack's events carry no groups, so the adapter looks them up.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use slack_morphism::prelude::*;
use tokio::sync::Mutex;

use crate::config::Capability;
use crate::domain::request::Actor;

use super::notifier::PLATFORM;
use super::settings::{Client, SlackSettings};

/// The groups' members as last read.
struct Snapshot {
    read_at: Instant,
    requesters: HashSet<String>,
    approvers: HashSet<String>,
}

pub(super) struct Members {
    client: Arc<Client>,
    token: SlackApiToken,
    settings: SlackSettings,
    cache: Mutex<Option<Snapshot>>,
}

impl Members {
    pub(super) fn new(client: Arc<Client>, token: SlackApiToken, settings: SlackSettings) -> Self {
        Self {
            client,
            token,
            settings,
            cache: Mutex::new(None),
        }
    }

    /// The actor behind `user`, from the groups as cached (re-read when older than the TTL,
    /// or always with `reread`). Also says whether the groups were read just now.
    pub(super) async fn actor(&self, user: &str, reread: bool) -> (Actor, bool) {
        let mut cache = self.cache.lock().await;
        let stale = cache
            .as_ref()
            .is_none_or(|s| s.read_at.elapsed() >= self.settings.membership_ttl);
        let mut fresh = false;
        if reread || stale {
            if let Some(snapshot) = self.read().await {
                *cache = Some(snapshot);
                fresh = true;
            }
        }
        let in_group = |pick: fn(&Snapshot) -> &HashSet<String>| {
            cache.as_ref().is_some_and(|s| pick(s).contains(user))
        };
        let mut caps = Vec::new();
        if self.settings.requester_users.contains(user) || in_group(|s| &s.requesters) {
            caps.push(Capability::Requester);
        }
        if self.settings.approver_users.contains(user) || in_group(|s| &s.approvers) {
            caps.push(Capability::Approver);
        }
        let actor = Actor::new(format!("{PLATFORM}:{user}"), format!("<@{user}>"), &caps);
        // With no groups configured there is nothing to re-read.
        let groups =
            !self.settings.requester_groups.is_empty() || !self.settings.approver_groups.is_empty();
        (actor, fresh || !groups)
    }

    /// Every configured group's members, or `None` (logged) when Slack does not answer.
    async fn read(&self) -> Option<Snapshot> {
        let session = self.client.open_session(&self.token);
        let read = |groups: &[String]| {
            let session = &session;
            let groups = groups.to_vec();
            async move {
                let mut members = HashSet::new();
                for group in groups {
                    let answer = session
                        .usergroups_users_list(&SlackApiUserGroupsUsersListRequest::new(
                            SlackUserGroupId(group.clone()),
                        ))
                        .await;
                    match answer {
                        Ok(list) => members.extend(list.users.into_iter().map(|u| u.0)),
                        Err(e) => {
                            tracing::warn!(%group, error = %e, "could not read a Slack user group's members");
                            return None;
                        }
                    }
                }
                Some(members)
            }
        };
        let requesters = read(&self.settings.requester_groups).await?;
        let approvers = read(&self.settings.approver_groups).await?;
        Some(Snapshot {
            read_at: Instant::now(),
            requesters,
            approvers,
        })
    }
}
