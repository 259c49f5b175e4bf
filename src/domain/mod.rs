//! Pure domain logic: no I/O, no tokio, no serenity.

pub mod budget;
pub mod command;
pub mod custom_id;
pub mod policy;
pub mod request;
pub mod text;
