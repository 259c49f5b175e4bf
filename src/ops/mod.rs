//! Operating the bot in production: Prometheus metrics, the health and readiness endpoints
//! `run` serves, the `healthcheck` client for container health checks, and the log format.

pub mod health;
pub mod logs;
pub mod metrics;
pub mod server;
pub mod settings;
