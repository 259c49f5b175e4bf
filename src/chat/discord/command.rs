//! The `/budget` slash command: its registration with typed options, those options back into
//! a domain command, and autocomplete of allow-listed stocks.

use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandOptionType, CreateCommand,
    CreateCommandOption,
};

use crate::app::messages;
use crate::config::StockConfig;
use crate::domain::command::{Command, DEFAULT_HISTORY_COUNT};
use crate::domain::limit::{UpdateMode, MAX_BUDGET_VALUE};
use crate::domain::schedule::{parse_when, When};

/// The `/budget` command with typed options.
pub fn budget_command() -> CreateCommand {
    let stock = || {
        CreateCommandOption::new(
            CommandOptionType::String,
            "stock",
            "Stock id or name from the allow-list",
        )
        .required(true)
        .set_autocomplete(true)
    };
    let limit = || {
        CreateCommandOption::new(CommandOptionType::Integer, "limit", "The new limit")
            .required(true)
            .min_int_value(0)
            .max_int_value(MAX_BUDGET_VALUE as u64)
    };
    let reason = || {
        CreateCommandOption::new(
            CommandOptionType::String,
            "reason",
            "Why (shown to approvers)",
        )
        .max_length(200)
    };
    let at = || {
        CreateCommandOption::new(
            CommandOptionType::String,
            "at",
            "Apply once approved at: 20:00, 2026-06-18 20:00, RFC 3339, or +90m",
        )
        .max_length(40)
    };
    let sub = |name: &str, description: &str| {
        CreateCommandOption::new(CommandOptionType::SubCommand, name, description)
    };
    CreateCommand::new("budget")
        .description("WeChat Pay coupon budgets: show, change with approval, history")
        .dm_permission(false)
        .add_option(
            sub("show", "Show a stock's live limits and what was sent").add_sub_option(stock()),
        )
        .add_option(
            sub("set-daily", "Request a new daily limit (max_count_per_day)")
                .add_sub_option(stock())
                .add_sub_option(limit())
                .add_sub_option(reason())
                .add_sub_option(at()),
        )
        .add_option(
            sub("set-total", "Request a new total limit (max_count)")
                .add_sub_option(stock())
                .add_sub_option(limit())
                .add_sub_option(reason())
                .add_sub_option(at()),
        )
        .add_option(sub("pending", "List requests waiting for approval"))
        .add_option(
            sub("cancel", "Cancel your pending request").add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    "request",
                    "Request id or `last`",
                )
                .required(true),
            ),
        )
        .add_option(
            sub("history", "Recent audit entries of a stock")
                .add_sub_option(stock())
                .add_sub_option(
                    CreateCommandOption::new(
                        CommandOptionType::Integer,
                        "count",
                        "How many (1-50)",
                    )
                    .min_int_value(1)
                    .max_int_value(50),
                ),
        )
}

/// The subcommand and its options of a `/budget` interaction, as a domain command.
pub fn command_from_options(options: &[CommandDataOption]) -> Result<Command, String> {
    let Some(sub) = options.first() else {
        return Err(messages::pick_a_subcommand());
    };
    let CommandDataOptionValue::SubCommand(args) = &sub.value else {
        return Err(messages::pick_a_subcommand());
    };
    let string = |name: &str| {
        args.iter()
            .find(|o| o.name == name)
            .and_then(|o| match &o.value {
                CommandDataOptionValue::String(s) => Some(s.clone()),
                _ => None,
            })
    };
    let integer = |name: &str| {
        args.iter()
            .find(|o| o.name == name)
            .and_then(|o| match &o.value {
                CommandDataOptionValue::Integer(i) => Some(*i),
                _ => None,
            })
    };
    let required =
        |value: Option<String>, name: &str| value.ok_or_else(|| messages::option_required(name));
    let set = |mode| -> Result<Command, String> {
        Ok(Command::SetLimit {
            mode,
            stock: required(string("stock"), "stock")?,
            limit: integer("limit").ok_or_else(messages::limit_option_required)?,
            reason: string("reason").filter(|r| !r.trim().is_empty()),
            at: string("at")
                .filter(|t| !t.trim().is_empty())
                .map(|t| when_option(&t))
                .transpose()?,
        })
    };
    match sub.name.as_str() {
        "show" => Ok(Command::Show {
            stock: required(string("stock"), "stock")?,
        }),
        "set-daily" => set(UpdateMode::MaxCountPerDay),
        "set-total" => set(UpdateMode::MaxCount),
        "pending" => Ok(Command::Pending),
        "cancel" => Ok(Command::Cancel {
            request: required(string("request"), "request")?,
        }),
        "history" => Ok(Command::History {
            stock: required(string("stock"), "stock")?,
            count: integer("count")
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(DEFAULT_HISTORY_COUNT),
        }),
        other => Err(messages::unknown_subcommand(other)),
    }
}

/// The typed `at` option: one whole time, nothing else.
fn when_option(text: &str) -> Result<When, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match parse_when(&words) {
        Some((when, used)) if used == words.len() => Ok(when),
        _ => Err(messages::not_a_time(text)),
    }
}

/// Autocomplete choices for the `stock` option: allow-listed stocks matching what was typed.
pub fn stock_choices<'a>(stocks: &'a [StockConfig], typed: &str) -> Vec<(String, &'a str)> {
    let typed = typed.trim().to_lowercase();
    stocks
        .iter()
        .filter(|s| {
            typed.is_empty()
                || s.stock_id.to_lowercase().contains(&typed)
                || s.name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&typed))
        })
        .take(25)
        .map(|s| (s.label(), s.stock_id.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(name: &str, value: CommandDataOptionValue) -> CommandDataOption {
        serde_json::from_value(serde_json::json!({"name": name, "type": 3, "value": ""}))
            .map(|mut o: CommandDataOption| {
                o.value = value;
                o
            })
            .unwrap()
    }

    #[test]
    fn typed_options_become_domain_commands() {
        let sub = |name: &str, args: Vec<CommandDataOption>| {
            vec![option(name, CommandDataOptionValue::SubCommand(args))]
        };
        let stock = option("stock", CommandDataOptionValue::String("123".into()));
        let limit = option("limit", CommandDataOptionValue::Integer(20_000));
        let reason = option("reason", CommandDataOptionValue::String("push".into()));
        assert_eq!(
            command_from_options(&sub(
                "set-daily",
                vec![stock.clone(), limit.clone(), reason]
            )),
            Ok(Command::SetLimit {
                mode: UpdateMode::MaxCountPerDay,
                stock: "123".into(),
                limit: 20_000,
                reason: Some("push".into()),
                at: None
            })
        );
        assert_eq!(
            command_from_options(&sub("set-total", vec![stock.clone(), limit])),
            Ok(Command::SetLimit {
                mode: UpdateMode::MaxCount,
                stock: "123".into(),
                limit: 20_000,
                reason: None,
                at: None
            })
        );
        assert_eq!(
            command_from_options(&sub("history", vec![stock.clone()])),
            Ok(Command::History {
                stock: "123".into(),
                count: DEFAULT_HISTORY_COUNT
            })
        );
        assert!(command_from_options(&sub("set-daily", vec![stock]))
            .unwrap_err()
            .contains("limit"));
        assert!(command_from_options(&[]).is_err());
        let at = |text: &str| option("at", CommandDataOptionValue::String(text.into()));
        let limit = option("limit", CommandDataOptionValue::Integer(20_000));
        let stock = option("stock", CommandDataOptionValue::String("123".into()));
        match command_from_options(&sub(
            "set-daily",
            vec![stock.clone(), limit.clone(), at("20:30")],
        )) {
            Ok(Command::SetLimit { at, .. }) => {
                assert_eq!(
                    at,
                    Some(When::Clock {
                        hour: 20,
                        minute: 30
                    })
                )
            }
            other => panic!("{other:?}"),
        }
        let refused =
            command_from_options(&sub("set-total", vec![stock, limit, at("tonight")])).unwrap_err();
        assert!(
            refused.contains("tonight") && refused.contains("+90m"),
            "{refused}"
        );
    }

    #[test]
    fn autocomplete_matches_ids_and_names() {
        let stocks = vec![
            StockConfig {
                stock_id: "123".into(),
                product_coupon_id: "1".into(),
                name: Some("Spring sale".into()),
            },
            StockConfig {
                stock_id: "456".into(),
                product_coupon_id: "1".into(),
                name: None,
            },
        ];
        assert_eq!(
            stock_choices(&stocks, "SPR"),
            vec![("Spring sale (123)".to_string(), "123")]
        );
        assert_eq!(
            stock_choices(&stocks, "45"),
            vec![("456".to_string(), "456")]
        );
        assert_eq!(stock_choices(&stocks, "").len(), 2);
    }
}
