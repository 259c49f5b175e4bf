//! Shared helpers for integration tests. Include with `mod support;` from a test crate.

pub mod fake_discord;
