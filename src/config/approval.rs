//! `[approval]`: how long a request may wait, how many approvals it needs (with tiers for
//! bigger raises), the hard limits no approval can pass, and when approvers are reminded.

use std::time::Duration;

use serde::Deserialize;

use super::place::{refuse, Refusal, Step};
use super::{de_duration, de_opt_duration, MAX_TTL, MIN_TTL};
use crate::domain::limit::HardLimits;
use crate::domain::policy::{self, Tier};

/// `[approval]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalConfig {
    #[serde(default = "d_required_approvals")]
    pub required_approvals: u32,
    #[serde(default = "d_ttl", deserialize_with = "de_duration")]
    pub ttl: Duration,
    /// One reminder to the approvers once a request has waited this long (absent: none).
    #[serde(default, deserialize_with = "de_opt_duration")]
    pub remind_after: Option<Duration>,
    /// A change to more than this is refused when requested.
    #[serde(default)]
    pub max_target: Option<i64>,
    /// A raise of more than this share (in %) of the current value is refused when requested.
    #[serde(default)]
    pub max_increase_percent: Option<u64>,
    /// Bigger raises need more approvals: the highest requirement among the tiers reached.
    #[serde(default)]
    pub tiers: Vec<Tier>,
}

fn d_required_approvals() -> u32 {
    1
}
fn d_ttl() -> Duration {
    Duration::from_secs(3600)
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self {
            required_approvals: d_required_approvals(),
            ttl: d_ttl(),
            remind_after: None,
            max_target: None,
            max_increase_percent: None,
            tiers: Vec::new(),
        }
    }
}

impl ApprovalConfig {
    /// The approvals a change from `current` to `target` needs.
    pub fn required_for(&self, current: i64, target: i64) -> u32 {
        policy::required_approvals(self.required_approvals, &self.tiers, current, target)
    }

    pub fn hard_limits(&self) -> HardLimits {
        HardLimits {
            max_target: self.max_target,
            max_increase_percent: self.max_increase_percent,
        }
    }

    /// The checks of values that parsed, each refusal naming its key.
    pub(super) fn check(&self) -> Result<(), Refusal> {
        use Step::{Index, Key};
        let at = |key| [Key("approval"), Key(key)];
        if self.ttl < MIN_TTL || self.ttl > MAX_TTL {
            refuse(
                &at("ttl"),
                format!(
                    "ttl must be between 1s and 30days, not {}",
                    humantime::format_duration(self.ttl)
                ),
            )?;
        }
        if self.required_approvals == 0 {
            refuse(
                &at("required_approvals"),
                "required_approvals must be at least 1".into(),
            )?;
        }
        if self
            .remind_after
            .is_some_and(|d| d < Duration::from_secs(1))
        {
            refuse(
                &at("remind_after"),
                "remind_after must be at least 1s".into(),
            )?;
        }
        if self.max_target.is_some_and(|m| m < 0) {
            refuse(&at("max_target"), "max_target must be 0 or more".into())?;
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            let at = |key| [Key("approval"), Key("tiers"), Index(i), Key(key)];
            if tier.required_approvals == 0 {
                refuse(
                    &at("required_approvals"),
                    "required_approvals must be at least 1".into(),
                )?;
            }
            if tier.min_increase_percent.is_none() && tier.min_increase.is_none() {
                refuse(
                    &at("required_approvals"),
                    "a tier needs min_increase_percent or min_increase (or both): \
                     which raises does it apply to?"
                        .into(),
                )?;
            }
            if tier.min_increase.is_some_and(|m| m < 1) {
                refuse(
                    &at("min_increase"),
                    "min_increase must be at least 1".into(),
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::tests::MINIMAL;
    use crate::config::{Config, WatchConfig};

    const ISSUE_EXAMPLE: &str = r#"
[approval]
required_approvals = 1
ttl = "1h"
remind_after = "20m"
max_target = 50000000
max_increase_percent = 1000
[[approval.tiers]]
min_increase_percent = 50
required_approvals = 2
[[approval.tiers]]
min_increase = 1000000
required_approvals = 3

[display]
timezone = "Asia/Shanghai"

[watch]
interval = "5m"
daily_sent_percent = [80, 95]
total_sent_percent = [90]
"#;

    fn parse(extra: &str) -> Result<Config, String> {
        Config::parse(&format!("{MINIMAL}{extra}"), Path::new("c.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_documented_sections_parse() {
        let c = parse(ISSUE_EXAMPLE).unwrap();
        assert_eq!(
            c.approval.remind_after,
            Some(std::time::Duration::from_secs(1200))
        );
        assert_eq!(c.approval.required_for(100, 160), 2);
        assert_eq!(c.approval.required_for(10_000_000, 11_000_000), 3);
        assert_eq!(c.approval.required_for(100, 50), 1);
        assert_eq!(c.approval.hard_limits().max_target, Some(50_000_000));
        assert_eq!(c.display.timezone.iana_name(), Some("Asia/Shanghai"));
        assert_eq!(c.watch, Some(WatchConfig::default()));
    }

    #[test]
    fn absent_sections_keep_todays_behaviour() {
        let c = parse("").unwrap();
        assert_eq!(c.approval.remind_after, None);
        assert!(c.approval.tiers.is_empty());
        assert_eq!(c.approval.hard_limits(), Default::default());
        assert_eq!(c.watch, None);
        assert_eq!(c.display.timezone.iana_name(), Some("Asia/Shanghai"));
        assert_eq!(
            parse("\n[watch]\n").unwrap().watch,
            Some(WatchConfig::default())
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        for (extra, key) in [
            (
                "\n[[approval.tiers]]\nrequired_approvals = 2\n",
                "approval.tiers[0].required_approvals",
            ),
            (
                "\n[[approval.tiers]]\nmin_increase = 5\nrequired_approvals = 0\n",
                "approval.tiers[0].required_approvals",
            ),
            (
                "\n[approval]\nremind_after = \"0s\"\n",
                "approval.remind_after",
            ),
            (
                "\n[display]\ntimezone = \"Mars/Olympus\"\n",
                "display.timezone",
            ),
            ("\n[watch]\ninterval = \"0s\"\n", "watch.interval"),
            (
                "\n[watch]\ndaily_sent_percent = [80, 0]\n",
                "watch.daily_sent_percent[1]",
            ),
            (
                "\n[watch]\ntotal_sent_percent = [101]\n",
                "watch.total_sent_percent[0]",
            ),
        ] {
            let err = parse(extra).unwrap_err();
            assert!(err.contains(&format!("key `{key}`")), "{extra}: {err}");
        }
    }
}
