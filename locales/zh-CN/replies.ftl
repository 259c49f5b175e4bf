# 回复操作者，以及说明应当怎么做的拒绝。

created = 申请 {$id} 已保存：{$stock} {$current} → {$target}。需要在 {$expires} 前获得 {$approvals}{$schedule}；审批卡片已发到审批频道。
created-schedule = ，批准后于 {$at} 生效
pending-none = 没有待审批的申请。
pending-head = 待审批的申请共 {$count} 个：
history-none = 批次 {$stock} 还没有记录。
history-head = 批次 {$stock} 最近 {$count} 条记录：

decided-approval = 你对申请 {$id} 的批准已记录：{$have}/{$need}。
decided-rejected = 你已驳回申请 {$id}。
decided-approved-settled = 你已批准申请 {$id}。{$status}
decided-approved-applying = 你已批准申请 {$id}，正在执行。
decided-scheduled = 你已批准申请 {$id}。它将于 {$at} 生效；在此之前仍可撤销。
decided-cancelled = 申请 {$id} 已撤销。

unknown-stock = 批次 `{$given}` 不在允许列表中。请检查拼写，并使用 /budget show <stock_id or name>；含空格的名称请加引号。
unknown-stock-suggest = 批次 `{$given}` 不在允许列表中。你是不是想输入 `{$suggestion}`？请检查拼写，并使用 /budget show <stock_id or name>；含空格的名称请加引号。
stock-unreadable-show = 无法读取批次 {$label}：{$error}
stock-unreadable-check = 无法读取批次 {$label} 以核对这次变更：{$error}

deny-not-requester = 你没有申请人角色，不能申请预算变更。请向管理员申请该角色。
deny-not-approver = 你没有审批人角色，不能批准或驳回变更。请找有该角色的人处理。
deny-self-approval = 这项变更是你申请的，你不能自己批准：需要另一位审批人批准。
deny-already-approved = 你已经批准过这个申请；目前有 {$have}/{$need} 个批准，还需要其他人批准。
deny-not-pending = 申请 {$id} 已经是「{$state}」状态，无需再处理。用 /budget pending 查看待审批的申请。
deny-expired = 申请 {$id} 已过期。请用 /budget set-daily 或 /budget set-total 重新申请。
deny-not-your-request = 只有申请 {$id} 的提交人可以撤销它；审批人可以驳回。
deny-unknown-request = 没有申请 `{$given}`。用 /budget pending 查看待审批的申请及其编号。
deny-no-requests = 还没有任何申请。用 /budget set-daily 或 /budget set-total 提交一个。

refuse-wrong-state = 该批次的批次状态为 {$state}；只有在 SENDING 或 PAUSED 状态下才能修改预算。
refuse-same = 上限已经是 {$value}，无需修改：请输入不同的数字。
refuse-below-sent = {$target} 低于已发放总次数 {$sent}；发放次数总上限不能低于已发放总次数。请至少输入 {$sent}。
refuse-above-max = {$target} 超过了接口允许的最大值 {$max}。请输入不超过 {$max} 的数字。
refuse-negative = {$target} 是负数；上限必须大于或等于 0。
refuse-daily-unlimited = 该批次的每日发放次数上限为不限，接口无法把不限改为有限。请在品牌平台上修改，或使用 set-total。
refuse-current-unknown = 微信支付没有返回该批次当前的上限，无法校验这次变更。请稍后再试。

internal-error = 机器人内部出错，详情见机器人日志。请稍后重试。

# 接口错误：接口返回的错误码和错误信息原样显示。
api-answer = 微信支付返回 {$status} {$code}：{$message}（Request-ID {$request_id}）
api-answer-no-code = 微信支付返回 {$status}：{$message}（Request-ID {$request_id}）
api-answer-no-message = 微信支付返回 {$status} {$code}，没有错误信息（Request-ID {$request_id}）
api-answer-empty = 微信支付返回 {$status}，没有错误信息（Request-ID {$request_id}）
api-rate-limited = 重试 {$attempts} 次后仍超出微信支付的频率限制（Request-ID {$request_id}）
api-timeout = 重试 {$attempts} 次后微信支付仍未及时响应
api-transport = 重试 {$attempts} 次后仍无法连接微信支付；网络错误的详情见机器人日志
api-redirect = 微信支付的地址返回了 {$status} 重定向到 {$location}，未跟随：该接口不会重定向（Request-ID {$request_id}）
api-redirect-nowhere = 空地址
api-verification = 微信支付的应答签名验证失败：{$reason}（Request-ID {$request_id}）
api-decode = 无法解析微信支付的应答，详情见机器人日志（Request-ID {$request_id}）
verify-missing-header = 缺少应答头 `{$header}`
verify-bad-timestamp = 应答时间戳 `{$remote}` 不是数字
verify-stale-timestamp = 应答时间戳与机器人的时钟相差 {$skew} 秒（上限 {$limit} 秒）：请检查时钟同步（NTP）
verify-serial-mismatch = 应答的 `Wechatpay-Serial` 为 `{$remote}`，与配置的公钥 ID {$local} 不一致
verify-bad-signature = 签名无法用微信支付公钥验证
api-wrong-stock = 查询批次 {$expected} 时微信支付返回了批次 {$received} 的信息，未采用该应答（Request-ID {$request_id}）
api-unconfirmed = 微信支付的应答显示 {$field} 为 {$shown}，而不是申请的 {$target}（Request-ID {$request_id}）
api-unset = 未设置
api-none = 无

# [approval] 的硬性上限，以及无法使用的 `at <when>` 时间。
limit-above-max-target = {$target} 超过了本机器人的硬性上限 max_target（{$max}），任何人都无法批准。请使用不超过 {$max} 的数值，或请管理员修改 [approval] max_target。
limit-increase-too-large = {$current} → {$target}（+{$by}%）超过了本机器人的硬性上限 max_increase_percent（{$max_percent}%），任何人都无法批准。请使用不超过 {$allowed} 的数值，或请管理员修改 [approval] max_increase_percent。
limit-increase-from-zero = {$current} → {$target}（从 0 提高）超过了本机器人的硬性上限 max_increase_percent（{$max_percent}%），任何人都无法批准。请管理员修改 [approval] max_increase_percent。
schedule-not-in-future = {$at} 不是将来的时间。请给出更晚的时间，如 `at +2h` 或 `at 20:00`（下一个 20:00）。
schedule-too-far = {$at} 在 {$days} 天之后；变更最多只能提前 {$days} 天定时。
schedule-too-far-unknown = 该时间在 {$days} 天之后；变更最多只能提前 {$days} 天定时。
not-a-time = `{$given}` 不是时间。请写 `20:00`（下一个 20:00）、`2026-06-18 20:00`、`2026-06-18T20:00:00+08:00` 或 `+90m`。
