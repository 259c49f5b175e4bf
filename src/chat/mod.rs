//! Chat adapters: thin shims from a platform's events to the app's use cases.

pub mod console;
pub mod discord;
