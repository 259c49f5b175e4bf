# 通知频道里的通知，以及记录在申请上的结果说明。

notice-requested = {$actor} 申请修改批次 {$stock} 的{$field}：{$current} → {$target}（{$change}）。
notice-approval = {$actor} 批准了申请 {$id}（{$have}/{$need}）。
notice-rejected = {$actor} 驳回了申请 {$id}；不做任何修改。
notice-approved = {$actor} 批准了申请 {$id}；正在执行。
notice-cancelled = {$actor} 撤销了申请 {$id}。
notice-expired = {$requester}：你的申请 {$id} 已过期，当时已有 {$have}/{$approvals}；不做任何修改。如仍需要，请重新提交申请。
notice-applied = 申请 {$id} 已生效：批次 {$stock} 的 {$field} 已从 {$current} 改为 {$target}。{$summary}
notice-finished = 申请 {$id} {$state}：{$detail}
notice-applied-title = 已生效：{$stock}
notice-unresolved = 申请 {$id}：微信支付没有确认这次变更（{$error}），也无法重新读取批次；机器人会用同一个请求单号重试。

detail-applied = {$field} 现为 {$target}
detail-reread-failed = 执行前无法重新读取批次，因此没有发送任何请求：{$error}
detail-stale = 实时值现为 {$seen}，而批准的是 {$approved}；没有发送任何请求。请重新提交申请。
detail-body-changed = 保存的请求内容与当前版本生成的不一致；没有发送任何请求。请重新提交申请。
detail-confirmed = 重新读取批次后确认已生效，此前的错误：{$error}
detail-not-applied = 未生效：此前的错误之后批次仍显示 {$live}：{$error}

# 定时变更、给审批人的提醒，以及发放进度提醒。
notice-scheduled = {$actor} 批准了申请 {$id}；它将于 {$at} 生效。
notice-reminder = 提醒：申请 {$id}（批次 {$stock} 的{$field}：{$current} → {$target}）仍在等待审批，已有 {$have}/{$approvals}；将于 {$expires} 过期。
reminder-to = {$approvers}：{$text}
alert-state = 批次 {$stock} 的批次状态已变化：{$before} → {$now}。
alert-burn-daily = 批次 {$stock} 的当天已发放次数已达每日发放次数上限的 {$percent}%：{$sent} / {$limit}。提高一半：{$command}
alert-burn-total = 批次 {$stock} 的已发放总次数已达发放次数总上限的 {$percent}%：{$sent} / {$limit}。提高一半：{$command}
