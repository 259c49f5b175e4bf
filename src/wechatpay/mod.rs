//! The WeChat Pay brand API: signing, verification, models and the HTTP client.

pub mod client;
pub mod error;
pub mod hosts;
pub mod keys;
pub mod limiter;
pub mod model;
pub mod sign;
pub mod verify;

pub use client::{ApiResponse, ClientSettings, CouponApi, StockKey, StockPaths, WechatPayClient};
pub use error::ApiError;
pub use model::{
    OutRequestNo, StockEntity, StockSnapshot, StockState, UpdateBudgetRequest, UpdateMode,
};
