# The /budget grammar's help and its parse errors. Usage lines and examples are command words
# and stay as they are in every language.

help-head = Budget commands:
help-line = `{$usage}` - {$about}
help-about-show = show a stock's daily and total limits
help-about-set-daily = ask to change a stock's daily limit (max_count_per_day), now or `at` a time
help-about-set-total = ask to change a stock's total limit (max_count), now or `at` a time
help-about-pending = list changes waiting for approval or for their scheduled time
help-about-cancel = cancel a pending change by its request id, or `last` for the most recent request
help-about-history = list a stock's recent changes (default 10, at most 50)
help-about-help = show this help
help-tail = <stock> is an allow-listed stock_id or its name; put a name with spaces in quotes, e.g. "Spring sale". <limit> is a whole number from 0 to {$max}, e.g. 20000 or 20,000. Type the limit without spaces. A reason is optional, at most {$reason_max} characters; put it in quotes if it starts with a digit, e.g. "2nd push". `at <when>` applies an approved change later: `at 20:00` (the next 20:00), `at 2026-06-18 20:00`, `at 2026-06-18T20:00:00+08:00` or `at +90m`; within {$days} days.

parse-not-a-command = Commands start with /budget followed by a space; try `/budget help`.
parse-missing-subcommand = `/budget` needs a subcommand. {$help}
parse-unknown-subcommand = `{$given}` is not a /budget subcommand. Subcommands: {$names}. Type `/budget help` to see what each does.
parse-unknown-subcommand-suggest = `{$given}` is not a /budget subcommand. Did you mean `{$usage}`? Subcommands: {$names}. Type `/budget help` to see what each does.
parse-unclosed-quote = A {$quote} quote is never closed. Close it after the last word, e.g. `/budget set-daily 123 20000 "Spring sale"`.
parse-missing-argument = `/budget {$subcommand}` needs a <{$argument}>. Type `{$usage}`, e.g. `{$example}`.
parse-unexpected-argument = `{$extra}` is one argument too many for `/budget {$subcommand}`. Type `{$usage}`, e.g. `{$example}`.
parse-quote-stock-name = {" "}Put a stock name with spaces in quotes: `"Spring sale"`.
parse-negative-limit = `{$given}` is negative; a limit is 0 to {$max}. Type it without the minus sign, e.g. `/budget set-daily 123 20000`.
parse-empty-limit = The limit is empty. Type the limit in digits, e.g. `/budget set-daily 123 20000`.
parse-not-a-number = `{$given}` is not a whole number. {$invisible}Type the limit in digits, e.g. `/budget set-daily 123 20000` (`20,000` and `20_000` work too).
parse-invisible-chars = It contains invisible or control characters (often pasted along); retype it.{" "}
parse-limit-too-large = `{$given}` is more than the maximum limit of {$max}. Type a limit from 0 to {$max}, e.g. `/budget set-daily 123 20000`.
parse-split-number-guess = `{$written}` looks like one number with a space in it: did you mean {$value}?{" "}
parse-split-number-unclear = `{$written}` is a number followed by a word that starts like a number, so it is unclear where the number ends.{" "}
parse-split-count = Type one count from 1 to {$max} without spaces, e.g. `{$example}`.
parse-split-limit = Type the limit without spaces (`20000`, `20,000` or `20_000`); if the reason starts with a digit, put it in quotes: `/budget {$subcommand} 123 20000 "2nd push"`.
parse-reason-too-long = The reason is {$chars} characters long; the most is {$max}. Type a shorter reason, e.g. `/budget set-daily 123 20000 spring campaign`.
parse-count-out-of-range = `{$given}` is not a history count from 1 to {$max}. Type e.g. `/budget history 123 20`, or leave the count out for the last {$default}; put a stock name with spaces in quotes.
