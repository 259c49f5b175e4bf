//! budget-bot: change WeChat Pay product-coupon budgets from chat, with approvals, exactly once.

pub mod app;
pub mod bootstrap;
pub mod chat;
pub mod config;
pub mod domain;
pub mod failpoint;
pub mod ops;
pub mod sim;
pub mod store;
pub mod wechatpay;

/// The languages live with the domain (the grammar's words are in the catalogue too).
pub use domain::i18n;
