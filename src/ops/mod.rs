//! Operating the bot: checks of a config before going live.

pub mod check;
