# The adapters' own words: input they could not take, card prompts, Discord and Slack labels.

console-line-hint = Lines look like `alice: /budget show 123`, `bob: react {$approve} last` or `bob: click approve last`.
not-a-console-user = `{$user}` is not a console user. Add them under [console.users] in the config, or use one of: {$users}.
no-console-approvers = nobody (no console user has the approver capability)
not-a-decision-emoji = React with {$approve} to approve or {$reject} to reject; `{$given}` does nothing.
not-a-button = The card's buttons are `approve` and `reject`; `{$given}` is not one. Try `click approve {$request}`.
console-not-understood = I don't understand `{$text}`. Type a /budget command (see /budget help), `react {$approve} <request>` or `click approve|reject <request>`.
line-not-utf8 = Line {$number} is not valid UTF-8 (bad byte at position {$position}) and was ignored. Save the input as UTF-8 text.
line-too-long = Line {$number} is {$bytes} bytes long, over the limit of {$max}, and was ignored without being read as a command. Type one command per line.
line-cut = {$start}… [cut: {$bytes} bytes in all]
cut-characters = … [cut: {$count} more characters]
text-cut = {$text}{$cut}
console-card-prompt = React {$approve} to approve or {$reject} to reject (or click approve|reject {$id}).

unknown-card = Your {$emoji} in the approvals channel did not count, so the bot removed it: that message is not an approval card the bot knows (not a card, or a card that was replaced). React on the request's current card or use its Approve/Reject buttons; /budget pending lists the open requests.
reaction-failed = Your {$emoji} did not count, so the bot removed it. {$error} Please react again, or use the card's buttons.
reaction-not-counted = Your {$emoji} did not count: {$reason}
reaction-on-no-card = Your {$emoji} did not count: that message is not an approval card the bot knows. React on the request's card or use its Approve/Reject buttons; /budget pending lists the open requests.
card-link = Card: {$link}
pick-a-subcommand = Pick a /budget subcommand.
option-required = The `{$name}` option is required.
limit-option-required = The `limit` option is required: a whole number.
unknown-subcommand = Unknown subcommand `{$given}`; see /budget help.

button-approve = Approve
button-reject = Reject
embed-state = State
embed-total-limit = Total limit (max_count)
embed-daily-limit = Daily limit (max_count_per_day)
embed-per-user = Per user
embed-sent-total = Sent in total
embed-sent-today = Sent today
embed-left-total = Left in total
embed-left-today = Left today
notice-total-limit = Total limit
notice-daily-limit = Daily limit
slack-card-hint = Approve or Reject, or react :white_check_mark: / :x: on this message.
link-card = Card

# Discord's /budget command and option descriptions (at most 100 characters each).
cmd-budget = WeChat Pay coupon budgets: show, change with approval, history
cmd-show = Show a stock's live limits and what was sent
cmd-set-daily = Request a new daily limit (max_count_per_day)
cmd-set-total = Request a new total limit (max_count)
cmd-pending = List requests waiting for approval
cmd-cancel = Cancel your pending request
cmd-history = Recent audit entries of a stock
opt-stock = Stock id or name from the allow-list
opt-limit = The new limit
opt-reason = Why (shown to approvers)
opt-request = Request id or `last`
opt-count = How many (1-50)
opt-at = Apply once approved at: 20:00, 2026-06-18 20:00, RFC 3339, or +90m

# How the console frames each event; `text` starts on a new line for cards.
console-reply = [#{$channel}] bot: {$text}
console-ephemeral = [#{$channel}] (only {$to} sees this) bot: {$text}
console-card = [#{$channel}] approval card:{$text}
console-card-update = [#{$channel}] card edited:{$text}
console-error = error: {$text}

# What `budget-bot demo` prints before reading its input.
demo-intro = budget-bot demo: a simulated WeChat Pay with stocks 123 ("Spring sale", SENDING), 124 (PAUSED), 125 (STOPPED), 200 (no daily limit); users alice (requester), bob and carol (approvers), dave (no role).
demo-try = Type `alice: /budget show 123`, then `alice: /budget set-daily 123 20000 weekend push`, then `bob: react ✅ last` (or `bob: click approve last`).
demo-also = Also: /budget pending, /budget history 123, /budget cancel last, /budget help. End with Ctrl-D.
