//! budget-bot: change WeChat Pay product-coupon budgets from chat, with approvals, exactly once.

pub mod app;
pub mod bootstrap;
pub mod chat;
pub mod config;
pub mod domain;
pub mod failpoint;
pub mod i18n;
pub mod ops;
pub mod sim;
pub mod store;
pub mod wechatpay;
