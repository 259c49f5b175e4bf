# 批次与申请：/budget show、审批卡片、列表、历史记录。数字已按千位分组（1,000）。

unlimited = 不限
unix-time = 时间戳 {$unix}
list-separator = 、

stock-show =
    {$label}：批次状态 {$state}
    发放次数总上限（max_count）：{$total} | 已发放总次数 {$sent_total} | 剩余 {$total_left}
    每日发放次数上限（max_count_per_day）：{$daily} | 当天已发放次数 {$sent_today} | 当天剩余 {$today_left}
    每个用户领取次数上限（max_count_per_user）：{$per_user}

field-max-count = 发放次数总上限（max_count）
field-max-count-per-day = 每日发放次数上限（max_count_per_day）

state-pending = 待审批
state-approved = 已批准
state-submitting = 提交中
state-applied = 已生效
state-rejected = 已驳回
state-expired = 已过期
state-cancelled = 已撤销
state-stale = 已过时
state-failed = 失败
state-scheduled = 已定时

status-by-at = （{$name}，{$time}）
status-by = （{$name}）
status-at = （{$time}）
status-pending = 待审批：已有 {$have}/{$need} 个批准
status-approved = 已批准{$by_at}，正在执行
status-applied = 已生效{$by_at}
status-rejected = 已驳回{$by_at}
status-cancelled = 已撤销{$by_at}
status-expired = 已过期{$by_at}
status-stale = 已过时：{$detail}
status-stale-unknown = 已过时：实时值已变化，未发送任何请求。请重新提交申请。
status-failed = 失败：{$detail}
status-failed-unknown = 失败：原因见通知频道中的消息
status-scheduled = 已批准{$by_at}，将于 {$at} 生效

card-title = 预算变更 {$id} — {$state}
card-text =
    预算变更申请 {$id}
    批次：{$stock}
    字段：{$field}
    变更：{$current} → {$target}（{$change}）
    当天已发放次数 {$sent_today}，已发放总次数 {$sent_total}
    申请人：{$requester}
    原因：{$reason}
    过期时间：{$expires}
    可批准者：{$approvers}
card-no-reason = （未填写）
card-needs = 需要：{$approvals}（须来自不同的人）
card-applies-at = 生效时间：批准后于 {$at} 生效
approvals-one = 1 个批准
approvals-many = {$count} 个批准
card-approved-by = 已批准者：{$names}
card-status = 状态：{$status}
card-result = 结果：发放次数总上限 {$total}，每日发放次数上限 {$daily}，当天已发放次数 {$sent_today}，已发放总次数 {$sent_total}，批次状态 {$state}

request-line = {$id} {$verb} {$stock} {$current} → {$target}，申请人 {$requester}（{$expires}{$status}{$schedule}）
request-line-expires = {$time} 过期；
request-line-schedule = ；批准后于 {$at} 生效

audit-bot = 机器人
audit-line = #{$seq} {$time} {$request} {$stock} {$actor} {$action}：{$from} → {$to}（{$field} {$before} → {$after}）
audit-request-id = {" "}Request-ID {$id}
number = {$value}
audit-detail = {" "}［{$detail}］
audit-via = 经由{$via}
via-reaction = 表情回应
via-button = 按钮
via-command = 命令
audit-action-requested = 提交申请
audit-action-card_posted = 发布审批卡片
audit-action-approved = 批准
audit-action-rejected = 驳回
audit-action-cancelled = 撤销
audit-action-expired = 过期
audit-action-submitting = 提交到微信支付
audit-action-resumed = 恢复提交
audit-action-applied = 生效
audit-action-stale = 过时
audit-action-failed = 失败

summary = 当前：发放次数总上限 {$total}，每日发放次数上限 {$daily}，当天已发放次数 {$sent_today}，已发放总次数 {$sent_total}，批次状态 {$state}。
