# What the bot says about a stock and its requests: /budget show, cards, lists, history.
# Numbers arrive already grouped (1,000); ids and API field names are arguments or kept as is.

unlimited = unlimited
unix-time = unix time {$unix}
list-separator = {", "}

stock-show =
    {$label}: {$state}
    total limit (max_count): {$total} | sent {$sent_total} | left {$total_left}
    daily limit (max_count_per_day): {$daily} | sent today {$sent_today} | left today {$today_left}
    per user (max_count_per_user): {$per_user}

field-max-count = total limit (max_count)
field-max-count-per-day = daily limit (max_count_per_day)

state-pending = Pending
state-approved = Approved
state-submitting = Submitting
state-applied = Applied
state-rejected = Rejected
state-expired = Expired
state-cancelled = Cancelled
state-stale = Stale
state-failed = Failed
state-scheduled = Scheduled

status-by-at = {" "}by {$name} at {$time}
status-by = {" "}by {$name}
status-at = {" "}at {$time}
status-pending = Pending: {$have} of {$need} approvals
status-approved = Approved{$by_at}; applying
status-applied = Applied{$by_at}
status-rejected = Rejected{$by_at}
status-cancelled = Cancelled{$by_at}
status-expired = Expired{$by_at}
status-stale = Stale: {$detail}
status-stale-unknown = Stale: the live value changed
status-failed = Failed: {$detail}
status-failed-unknown = Failed: see the audit log
status-scheduled = Approved{$by_at}; applies at {$at}

card-title = Budget change {$id} — {$state}
card-text =
    Budget change request {$id}
    Stock: {$stock}
    Field: {$field}
    Change: {$current} → {$target} ({$change})
    Sent: {$sent_today} today, {$sent_total} in total
    Requested by: {$requester}
    Reason: {$reason}
    Expires: {$expires}
    May approve: {$approvers}
card-no-reason = (none given)
card-needs = Needs: {$approvals} from different people
card-applies-at = Applies at: {$at} once approved
approvals-one = 1 approval
approvals-many = {$count} approvals
card-approved-by = Approved by: {$names}
card-status = Status: {$status}
card-result = Result: total {$total}, daily {$daily}, sent today {$sent_today}, sent total {$sent_total}, state {$state}

request-line = {$id} {$verb} {$stock} {$current} → {$target} by {$requester} ({$expires}{$status}{$schedule})
request-line-expires = expires {$time};{" "}
request-line-schedule = ; applies at {$at} once approved

audit-bot = bot
audit-line = #{$seq} {$time} {$request} {$stock} {$action} by {$actor}: {$from} → {$to} ({$field} {$before} → {$after})
audit-request-id = {" "}Request-ID {$id}
number = {$value}
audit-detail = {" "}[{$detail}]
audit-via = via {$via}
via-reaction = reaction
via-button = button
via-command = command
audit-action-requested = requested
audit-action-card_posted = card_posted
audit-action-approved = approved
audit-action-rejected = rejected
audit-action-cancelled = cancelled
audit-action-expired = expired
audit-action-submitting = submitting
audit-action-resumed = resumed
audit-action-applied = applied
audit-action-stale = stale
audit-action-failed = failed

summary = Now: total limit {$total}, daily limit {$daily}, sent today {$sent_today}, sent in total {$sent_total}, state {$state}.
