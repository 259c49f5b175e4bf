# 通知频道里的通知，以及记录在申请上的结果说明。

notice-requested = {$actor} 申请修改批次 {$stock} 的{$field}：{$current} → {$target}（{$change}）。
notice-approval = {$actor} 批准了申请 {$id}（{$have}/{$need}）。
notice-rejected = {$actor} 驳回了申请 {$id}；不做任何修改。
notice-approved = {$actor} 批准了申请 {$id}；正在执行。
notice-cancelled = {$actor} 撤销了申请 {$id}。
notice-expired = 申请 {$id} 在获得足够批准之前已过期。
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
