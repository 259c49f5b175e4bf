# 各聊天平台自己的话：无法处理的输入、卡片提示、Discord 和 Slack 的标签。

console-line-hint = 每行的格式如 `alice: /budget show 123`、`bob: react {$approve} last` 或 `bob: click approve last`。
not-a-console-user = `{$user}` 不是控制台用户。请在配置的 [console.users] 中添加，或使用以下用户之一：{$users}。
no-console-approvers = 无人（没有控制台用户具有审批权限）
not-a-decision-emoji = 用 {$approve} 批准，用 {$reject} 驳回；`{$given}` 不起作用。
not-a-button = 卡片上的按钮是 `approve` 和 `reject`；`{$given}` 不是其中之一。试试 `click approve {$request}`。
console-not-understood = 无法理解 `{$text}`。请输入 /budget 命令（见 /budget help）、`react {$approve} <request>` 或 `click approve|reject <request>`。
line-not-utf8 = 第 {$number} 行不是有效的 UTF-8 文本（第 {$position} 个字节有误），已忽略。请把输入保存为 UTF-8 文本。
line-too-long = 第 {$number} 行长 {$bytes} 字节，超过上限 {$max}，已忽略，未作为命令读取。请每行输入一条命令。
line-cut = {$start}…［已截断，共 {$bytes} 字节］
cut-characters = …［已截断，还有 {$count} 个字符］
text-cut = {$text}{$cut}
console-card-prompt = 用 {$approve} 批准，用 {$reject} 驳回（或 click approve|reject {$id}）。

unknown-card = 你在审批频道添加的 {$emoji} 无效，机器人已将其移除：这条消息不是机器人认识的审批卡片（不是卡片，或是已被替换的卡片）。请在该申请当前的卡片上添加表情，或使用卡片上的批准/驳回按钮；/budget pending 会列出待审批的申请。
reaction-failed = 你的 {$emoji} 无效，机器人已将其移除。{$error} 请重新添加表情，或使用卡片上的按钮。
reaction-not-counted = 你的 {$emoji} 无效：{$reason}
reaction-on-no-card = 你的 {$emoji} 无效：这条消息不是机器人所知的审批卡片。请在申请的卡片上添加表情，或使用卡片上的批准/驳回按钮；/budget pending 列出待处理的申请。
card-link = 卡片：{$link}
pick-a-subcommand = 请选择一个 /budget 子命令。
option-required = 必须填写 `{$name}` 选项。
limit-option-required = 必须填写 `limit` 选项：一个整数。
unknown-subcommand = 未知的子命令 `{$given}`；请查看 /budget help。

button-approve = 批准
button-reject = 驳回
embed-state = 批次状态
embed-total-limit = 发放次数总上限（max_count）
embed-daily-limit = 每日发放次数上限（max_count_per_day）
embed-per-user = 每个用户领取次数上限
embed-sent-total = 已发放总次数
embed-sent-today = 当天已发放次数
embed-left-total = 总剩余
embed-left-today = 当天剩余
notice-total-limit = 发放次数总上限
notice-daily-limit = 每日发放次数上限
slack-card-hint = 点击批准或驳回，或在这条消息上回应 :white_check_mark: / :x:。
link-card = 审批卡片

# Discord 中 /budget 命令及其选项的说明（每条最多 100 个字符）。
cmd-budget = 微信支付商品券预算：查看、经审批修改、历史记录
cmd-show = 查看批次的实时上限和发放情况
cmd-set-daily = 申请新的每日发放次数上限（max_count_per_day）
cmd-set-total = 申请新的发放次数总上限（max_count）
cmd-pending = 列出待审批的申请
cmd-cancel = 撤销你的待审批申请
cmd-history = 批次最近的审计记录
opt-stock = 允许列表中的批次ID或名称
opt-limit = 新的上限
opt-reason = 原因（审批人可见）
opt-request = 申请编号或 `last`
opt-count = 条数（1-50）
opt-at = 批准后的生效时间：20:00、2026-06-18 20:00、RFC 3339 时间或 +90m

# 控制台如何显示每个事件；卡片的 text 从新的一行开始。
console-reply = [#{$channel}] 机器人：{$text}
console-ephemeral = [#{$channel}]（仅 {$to} 可见）机器人：{$text}
console-card = [#{$channel}] 审批卡片：{$text}
console-card-update = [#{$channel}] 卡片已更新：{$text}
console-error = 错误：{$text}

# `budget-bot demo` 在读取输入前显示的说明。
demo-intro = budget-bot demo：模拟的微信支付，批次 123（"Spring sale"，SENDING）、124（PAUSED）、125（STOPPED）、200（每日发放次数上限为不限）；用户 alice（申请人）、bob 和 carol（审批人）、dave（无角色）。
demo-try = 输入 `alice: /budget show 123`，然后 `alice: /budget set-daily 123 20000 weekend push`，再 `bob: react ✅ last`（或 `bob: click approve last`）。
demo-also = 还可以：/budget pending、/budget history 123、/budget cancel last、/budget help。按 Ctrl-D 结束。
