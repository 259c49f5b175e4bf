//! Operating the bot in production: checks of a config before going live, Prometheus metrics,
//! the health and readiness endpoints `run` serves, the `healthcheck` client for container
//! health checks, and the log format.

pub mod check;
pub mod health;
pub mod logs;
pub mod metrics;
pub mod server;
pub mod settings;
