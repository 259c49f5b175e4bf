//! budget-bot: change WeChat Pay product-coupon budgets from chat, with approvals, exactly once.

pub mod sim;
pub mod wechatpay;
