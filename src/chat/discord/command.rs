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
use crate::i18n::Lang;

/// Every language besides English that Discord shows the command in, by its locale.
const LOCALIZED: [(&str, Lang); 1] = [("zh-CN", Lang::ZhCn)];

/// An option with its description in every language (the catalogue id `id`).
fn option(kind: CommandOptionType, name: &str, id: &str) -> CreateCommandOption {
    LOCALIZED.iter().fold(
        CreateCommandOption::new(kind, name, messages::label(Lang::En, id)),
        |option, (locale, lang)| option.description_localized(*locale, messages::label(*lang, id)),
    )
}

/// The `/budget` command with typed options; descriptions in English with `zh-CN`
/// localizations, so each user's client shows its own.
pub fn budget_command() -> CreateCommand {
    let stock = || {
        option(CommandOptionType::String, "stock", "opt-stock")
            .required(true)
            .set_autocomplete(true)
    };
    let limit = || {
        option(CommandOptionType::Integer, "limit", "opt-limit")
            .required(true)
            .min_int_value(0)
            .max_int_value(MAX_BUDGET_VALUE as u64)
    };
    let reason = || option(CommandOptionType::String, "reason", "opt-reason").max_length(200);
    let sub = |name: &str| option(CommandOptionType::SubCommand, name, &format!("cmd-{name}"));
    let command = LOCALIZED.iter().fold(
        CreateCommand::new("budget").description(messages::label(Lang::En, "cmd-budget")),
        |command, (locale, lang)| {
            command.description_localized(*locale, messages::label(*lang, "cmd-budget"))
        },
    );
    let at = || option(CommandOptionType::String, "at", "opt-at").max_length(40);
    command
        .dm_permission(false)
        .add_option(sub("show").add_sub_option(stock()))
        .add_option(
            sub("set-daily")
                .add_sub_option(stock())
                .add_sub_option(limit())
                .add_sub_option(reason())
                .add_sub_option(at()),
        )
        .add_option(
            sub("set-total")
                .add_sub_option(stock())
                .add_sub_option(limit())
                .add_sub_option(reason())
                .add_sub_option(at()),
        )
        .add_option(sub("pending"))
        .add_option(sub("cancel").add_sub_option(
            option(CommandOptionType::String, "request", "opt-request").required(true),
        ))
        .add_option(
            sub("history").add_sub_option(stock()).add_sub_option(
                option(CommandOptionType::Integer, "count", "opt-count")
                    .min_int_value(1)
                    .max_int_value(50),
            ),
        )
}

/// The subcommand and its options of a `/budget` interaction, as a domain command.
pub fn command_from_options(lang: Lang, options: &[CommandDataOption]) -> Result<Command, String> {
    let Some(sub) = options.first() else {
        return Err(messages::pick_a_subcommand(lang));
    };
    let CommandDataOptionValue::SubCommand(args) = &sub.value else {
        return Err(messages::pick_a_subcommand(lang));
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
    let required = |value: Option<String>, name: &str| {
        value.ok_or_else(|| messages::option_required(lang, name))
    };
    let set = |mode| -> Result<Command, String> {
        Ok(Command::SetLimit {
            mode,
            stock: required(string("stock"), "stock")?,
            limit: integer("limit").ok_or_else(|| messages::limit_option_required(lang))?,
            reason: string("reason").filter(|r| !r.trim().is_empty()),
            at: string("at")
                .filter(|t| !t.trim().is_empty())
                .map(|t| when_option(lang, &t))
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
        other => Err(messages::unknown_subcommand(lang, other)),
    }
}

/// The typed `at` option: one whole time, nothing else.
fn when_option(lang: Lang, text: &str) -> Result<When, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match parse_when(&words) {
        Some((when, used)) if used == words.len() => Ok(when),
        _ => Err(messages::not_a_time(lang, text)),
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
            command_from_options(
                Lang::En,
                &sub("set-daily", vec![stock.clone(), limit.clone(), reason])
            ),
            Ok(Command::SetLimit {
                mode: UpdateMode::MaxCountPerDay,
                stock: "123".into(),
                limit: 20_000,
                reason: Some("push".into()),
                at: None
            })
        );
        assert_eq!(
            command_from_options(Lang::En, &sub("set-total", vec![stock.clone(), limit])),
            Ok(Command::SetLimit {
                mode: UpdateMode::MaxCount,
                stock: "123".into(),
                limit: 20_000,
                reason: None,
                at: None
            })
        );
        assert_eq!(
            command_from_options(Lang::En, &sub("history", vec![stock.clone()])),
            Ok(Command::History {
                stock: "123".into(),
                count: DEFAULT_HISTORY_COUNT
            })
        );
        assert!(
            command_from_options(Lang::En, &sub("set-daily", vec![stock]))
                .unwrap_err()
                .contains("limit")
        );
        assert!(command_from_options(Lang::En, &[]).is_err());
        let at = |text: &str| option("at", CommandDataOptionValue::String(text.into()));
        let limit = option("limit", CommandDataOptionValue::Integer(20_000));
        let stock = option("stock", CommandDataOptionValue::String("123".into()));
        match command_from_options(
            Lang::En,
            &sub("set-daily", vec![stock.clone(), limit.clone(), at("20:30")]),
        ) {
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
        let refused = command_from_options(
            Lang::En,
            &sub(
                "set-total",
                vec![stock.clone(), limit.clone(), at("tonight")],
            ),
        )
        .unwrap_err();
        assert!(
            refused.contains("tonight") && refused.contains("+90m"),
            "{refused}"
        );
        let refused = command_from_options(
            Lang::ZhCn,
            &sub("set-total", vec![stock, limit, at("tonight")]),
        )
        .unwrap_err();
        assert!(refused.contains("不是时间"), "{refused}");
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
