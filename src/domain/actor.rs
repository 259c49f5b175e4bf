//! Who acts in chat: an actor with the capabilities its adapter derived, and how an actor is
//! recorded on a request.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A capability a chat identity can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Requester,
    Approver,
}

/// Someone acting in chat, with the capabilities the adapter derived from the event itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// Platform-qualified and stable, e.g. `console:alice`, `discord:80351110224678912`.
    pub id: String,
    /// How to show them: a name, or a mention on Discord.
    pub display: String,
    pub capabilities: BTreeSet<Capability>,
}

impl Actor {
    pub fn new(id: impl Into<String>, display: impl Into<String>, caps: &[Capability]) -> Self {
        Self {
            id: id.into(),
            display: display.into(),
            capabilities: caps.iter().copied().collect(),
        }
    }
    pub fn can(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }
    pub fn as_ref(&self) -> ActorRef {
        ActorRef {
            id: self.id.clone(),
            display: self.display.clone(),
        }
    }
}

/// Who did something, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRef {
    pub id: String,
    pub display: String,
}

/// How a decision reached the bot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Button,
    Reaction,
    Command,
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Via::Button => "button",
            Via::Reaction => "reaction",
            Via::Command => "command",
        })
    }
}
