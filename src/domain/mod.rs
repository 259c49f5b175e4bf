//! Pure domain logic: no I/O, no tokio, no serenity, no config and no wire types. Everything
//! else imports from here; this imports nothing of the crate but itself (tests/architecture.rs).

// First, so that its `t!` macro is in scope in the modules after it.
#[macro_use]
pub mod i18n;

pub mod actor;
pub mod allowlist;
pub mod budget;
pub mod burn;
pub mod command;
pub mod custom_id;
pub mod limit;
pub mod policy;
pub mod request;
pub mod schedule;
pub mod stock;
pub mod text;
