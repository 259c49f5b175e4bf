//! `[watch]`: burn alerts. Absent, nothing is watched; present, the runtime reads every
//! allow-listed stock each `interval` and alerts when sends reach the given shares of a limit.

use std::time::Duration;

use serde::Deserialize;

use super::de_duration;
use super::place::{refuse, Refusal, Step};

/// `[watch]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    #[serde(default = "d_interval", deserialize_with = "de_duration")]
    pub interval: Duration,
    /// Alert when sent today reaches these shares (%) of `max_count_per_day`.
    #[serde(default = "d_daily")]
    pub daily_sent_percent: Vec<u32>,
    /// Alert when sent in total reaches these shares (%) of `max_count`.
    #[serde(default = "d_total")]
    pub total_sent_percent: Vec<u32>,
}

fn d_interval() -> Duration {
    Duration::from_secs(300)
}
fn d_daily() -> Vec<u32> {
    vec![80, 95]
}
fn d_total() -> Vec<u32> {
    vec![90]
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            interval: d_interval(),
            daily_sent_percent: d_daily(),
            total_sent_percent: d_total(),
        }
    }
}

impl WatchConfig {
    pub(super) fn check(&self) -> Result<(), Refusal> {
        use Step::{Index, Key};
        if self.interval < Duration::from_secs(1) {
            refuse(
                &[Key("watch"), Key("interval")],
                "interval must be at least 1s".into(),
            )?;
        }
        for key in ["daily_sent_percent", "total_sent_percent"] {
            let shares = match key {
                "daily_sent_percent" => &self.daily_sent_percent,
                _ => &self.total_sent_percent,
            };
            for (i, share) in shares.iter().enumerate() {
                if !(1..=100).contains(share) {
                    refuse(
                        &[Key("watch"), Key(key), Index(i)],
                        format!("{share} is not a share of a limit: use 1 to 100"),
                    )?;
                }
            }
        }
        Ok(())
    }
}
