# Replies to whoever acted, and refusals saying what to do instead.

created = Request {$id} stored: {$stock} {$current} → {$target}. It needs {$approvals} by {$expires}{$schedule}; the card is in the approvals channel.
created-schedule = {" "}and then applies at {$at}
pending-none = No pending requests.
pending-head = {$count} pending request(s):
history-none = No history for {$stock} yet.
history-head = Last {$count} event(s) for {$stock}:

decided-approval = Your approval of {$id} is recorded: {$have} of {$need}.
decided-rejected = You rejected request {$id}.
decided-approved-settled = You approved request {$id}. {$status}
decided-approved-applying = You approved request {$id}; it is being applied.
decided-scheduled = You approved request {$id}. It applies at {$at}; until then it can be cancelled.
decided-cancelled = Request {$id} is cancelled.

unknown-stock = Stock `{$given}` is not on the allow-list. Check the spelling and use /budget show <stock_id or name>; put a name with spaces in quotes.
unknown-stock-suggest = Stock `{$given}` is not on the allow-list. Did you mean `{$suggestion}`? Check the spelling and use /budget show <stock_id or name>; put a name with spaces in quotes.
stock-unreadable-show = Could not read stock {$label}: {$error}
stock-unreadable-check = Could not read stock {$label} to check the change: {$error}

deny-not-requester = You don't have the requester role, so you can't request budget changes. Ask an admin for it.
deny-not-approver = You don't have the approver role, so you can't approve or reject changes. Ask someone who has it.
deny-self-approval = You requested this change, so you can't approve it: someone else with the approver role must.
deny-already-approved = You already approved this request; it has {$have} of {$need} approvals and needs someone else.
deny-not-pending = Request {$id} is already {$state}; there is nothing left to decide. See /budget pending for open requests.
deny-expired = Request {$id} has expired. Make a new request with /budget set-daily or /budget set-total.
deny-not-your-request = Only the person who made request {$id} can cancel it; approvers can reject it instead.
deny-unknown-request = There is no request `{$given}`. See /budget pending for open requests and their ids.
deny-no-requests = There are no requests yet. Make one with /budget set-daily or /budget set-total.

refuse-wrong-state = This stock is {$state}; budgets can only change while it is SENDING or PAUSED.
refuse-same = The limit is already {$value}. Nothing to change: give a different number.
refuse-below-sent = {$target} is below the {$sent} coupons already sent; the total limit cannot go under that. Use at least {$sent}.
refuse-above-max = {$target} is above the API's maximum of {$max}. Use a number up to {$max}.
refuse-negative = {$target} is negative; limits are 0 or more.
refuse-daily-unlimited = This stock's daily limit is unlimited, and the API cannot turn an unlimited daily limit into a limited one. Change it on the brand platform, or use set-total.
refuse-current-unknown = WeChat Pay did not report this stock's current limit, so the change cannot be guarded. Try again later.

internal-error = Something went wrong on the bot's side; the details are in the bot's log. Try again in a moment.

# The API's errors: its own code and message are shown as they came.
api-answer = WeChat Pay answered {$status} {$code}: {$message} (Request-ID {$request_id})
api-answer-no-code = WeChat Pay answered {$status}: {$message} (Request-ID {$request_id})
api-answer-no-message = WeChat Pay answered {$status} {$code} with no message (Request-ID {$request_id})
api-answer-empty = WeChat Pay answered {$status} with no message (Request-ID {$request_id})
api-rate-limited = WeChat Pay rate limit still exceeded after {$attempts} attempts (Request-ID {$request_id})
api-timeout = WeChat Pay did not answer in time after {$attempts} attempts
api-transport = could not reach WeChat Pay after {$attempts} attempts; the network error is in the bot's log
api-redirect = WeChat Pay's address answered a {$status} redirect to {$location}, which was not followed: the API does not redirect (Request-ID {$request_id})
api-redirect-nowhere = nowhere
api-verification = WeChat Pay's answer failed signature verification: {$reason} (Request-ID {$request_id})
api-decode = WeChat Pay's answer could not be decoded; the details are in the bot's log (Request-ID {$request_id})
verify-missing-header = the `{$header}` header is missing
verify-bad-timestamp = its timestamp `{$remote}` is not a number
verify-stale-timestamp = its timestamp is {$skew} s away from the bot's clock (limit {$limit} s): check the clock sync (NTP)
verify-serial-mismatch = its `Wechatpay-Serial` `{$remote}` is not the configured key id {$local}
verify-bad-signature = the signature does not verify with the WeChat Pay public key
api-wrong-stock = WeChat Pay answered about stock {$received} when asked about stock {$expected}; the answer was not used (Request-ID {$request_id})
api-unconfirmed = WeChat Pay's answer shows {$field} {$shown}, not the requested {$target} (Request-ID {$request_id})
api-unset = unset
api-none = none

# Hard limits of [approval] and `at <when>` times that cannot be used.
limit-above-max-target = {$target} is above this bot's hard limit max_target of {$max}; nobody can approve it. Use at most {$max}, or ask an admin to change [approval] max_target.
limit-increase-too-large = {$current} → {$target} (+{$by}%) is past this bot's hard limit max_increase_percent of {$max_percent}%; nobody can approve it. Use at most {$allowed}, or ask an admin to change [approval] max_increase_percent.
limit-increase-from-zero = {$current} → {$target} (a raise from 0) is past this bot's hard limit max_increase_percent of {$max_percent}%; nobody can approve it. Ask an admin to change [approval] max_increase_percent.
schedule-not-in-future = {$at} is not in the future. Give a later time, e.g. `at +2h` or `at 20:00` (the next 20:00).
schedule-too-far = {$at} is more than {$days} days ahead; a change can be scheduled at most {$days} days ahead.
schedule-too-far-unknown = That time is more than {$days} days ahead; a change can be scheduled at most {$days} days ahead.
not-a-time = `{$given}` is not a time. Write `20:00` (the next 20:00), `2026-06-18 20:00`, `2026-06-18T20:00:00+08:00` or `+90m`.
