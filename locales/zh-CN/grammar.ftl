# /budget 语法的帮助和解析错误。用法和示例是命令本身，各语言保持不变。

help-head = 预算命令：
help-line = `{$usage}` - {$about}
help-about-show = 查看批次的每日发放次数上限和发放次数总上限
help-about-set-daily = 申请修改批次的每日发放次数上限（max_count_per_day），可立即生效或用 `at` 指定时间
help-about-set-total = 申请修改批次的发放次数总上限（max_count），可立即生效或用 `at` 指定时间
help-about-pending = 列出待审批或等待定时生效的变更
help-about-cancel = 按申请编号撤销待审批的变更，`last` 表示最近的一个申请
help-about-history = 列出批次最近的变更（默认 10 条，最多 50 条）
help-about-help = 显示本帮助
help-tail = <stock> 是允许列表中的批次ID（stock_id）或名称；含空格的名称请加引号，如 "Spring sale"。<limit> 是 0 到 {$max} 之间的整数，如 20000 或 20,000，数字中不要有空格。原因可选，最多 {$reason_max} 个字符；以数字开头时请加引号，如 "2nd push"。`at <when>` 让已批准的变更在指定时间生效：`at 20:00`（下一个 20:00）、`at 2026-06-18 20:00`、`at 2026-06-18T20:00:00+08:00` 或 `at +90m`；须在 {$days} 天之内。

parse-not-a-command = 命令以 /budget 加一个空格开头；试试 `/budget help`。
parse-missing-subcommand = `/budget` 后面需要子命令。{$help}
parse-unknown-subcommand = `{$given}` 不是 /budget 的子命令。子命令有：{$names}。输入 `/budget help` 查看各自的作用。
parse-unknown-subcommand-suggest = `{$given}` 不是 /budget 的子命令。你是不是想输入 `{$usage}`？子命令有：{$names}。输入 `/budget help` 查看各自的作用。
parse-unclosed-quote = 有一个 {$quote} 引号没有闭合。请在最后一个词后闭合，如 `/budget set-daily 123 20000 "Spring sale"`。
parse-missing-argument = `/budget {$subcommand}` 需要 <{$argument}>。请输入 `{$usage}`，如 `{$example}`。
parse-unexpected-argument = `{$extra}` 对 `/budget {$subcommand}` 来说多了一个参数。请输入 `{$usage}`，如 `{$example}`。
parse-quote-stock-name = 含空格的批次名称请加引号：`"Spring sale"`。
parse-negative-limit = `{$given}` 是负数；上限为 0 到 {$max}。请去掉负号，如 `/budget set-daily 123 20000`。
parse-empty-limit = 上限为空。请用数字输入上限，如 `/budget set-daily 123 20000`。
parse-not-a-number = `{$given}` 不是整数。{$invisible}请用数字输入上限，如 `/budget set-daily 123 20000`（也可以写 `20,000` 或 `20_000`）。
parse-invisible-chars = 其中含有不可见字符或控制字符（常随粘贴带入），请重新输入。
parse-limit-too-large = `{$given}` 超过了最大上限 {$max}。请输入 0 到 {$max} 之间的上限，如 `/budget set-daily 123 20000`。
parse-split-number-guess = `{$written}` 看起来是中间带空格的一个数字：你是不是想输入 {$value}？
parse-split-number-unclear = `{$written}` 是一个数字后面跟着一个以数字开头的词，无法判断数字在哪里结束。
parse-split-count = 请输入 1 到 {$max} 之间的条数，不要带空格，如 `{$example}`。
parse-split-limit = 输入上限时不要带空格（`20000`、`20,000` 或 `20_000`）；如果原因以数字开头，请加引号：`/budget {$subcommand} 123 20000 "2nd push"`。
parse-reason-too-long = 原因长 {$chars} 个字符，最多 {$max} 个。请输入更短的原因，如 `/budget set-daily 123 20000 spring campaign`。
parse-count-out-of-range = `{$given}` 不是 1 到 {$max} 之间的历史记录条数。请输入如 `/budget history 123 20`，或不填条数以查看最近 {$default} 条；含空格的批次名称请加引号。
