# Notices in the notifications channel, and the outcome details stored on a request.

notice-requested = {$actor} requests {$field} of {$stock}: {$current} → {$target} ({$change}).
notice-approval = {$actor} approved request {$id} ({$have} of {$need}).
notice-rejected = {$actor} rejected request {$id}; nothing changes.
notice-approved = {$actor} approved request {$id}; applying it now.
notice-cancelled = {$actor} cancelled request {$id}.
notice-expired = {$requester}: your request {$id} expired with {$have} of {$approvals}; nothing changes. Make a new request if it is still needed.
notice-applied = Applied request {$id}: {$field} of {$stock} changed {$current} → {$target}. {$summary}
notice-finished = Request {$id} {$state}: {$detail}
notice-applied-title = Applied: {$stock}
notice-unresolved = Request {$id}: WeChat Pay did not confirm the change ({$error}) and the stock could not be re-read; the bot will retry with the same request number.

detail-applied = {$field} is now {$target}
detail-reread-failed = could not re-read the stock before applying, so nothing was sent: {$error}
detail-stale = the live value is now {$seen} but {$approved} was approved; nothing was sent. Make a new request.
detail-body-changed = the stored request body differs from the one this version builds; nothing was sent. Make a new request.
detail-confirmed = confirmed by re-reading the stock after: {$error}
detail-not-applied = not applied: the stock still shows {$live} after: {$error}

# Scheduled changes, reminders to the approvers, and burn alerts.
notice-scheduled = {$actor} approved request {$id}; it applies at {$at}.
notice-reminder = Reminder: request {$id} ({$field} of {$stock}: {$current} → {$target}) is still waiting, with {$have} of {$approvals}; it expires at {$expires}.
reminder-to = {$approvers}: {$text}
alert-state = Stock {$stock} changed state: {$before} → {$now}.
alert-burn-daily = Stock {$stock} reached {$percent}% of its daily limit: sent today {$sent} / {$limit}. To raise it by half: {$command}
alert-burn-total = Stock {$stock} reached {$percent}% of its total limit: sent in total {$sent} / {$limit}. To raise it by half: {$command}
