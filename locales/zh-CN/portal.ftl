# 居民端：注册、核验和居民自己的页面。
portal-title = 居民服务
portal-errors-title = 请修改以下内容后再提交：
portal-back-home = 返回居民服务
portal-back-notices = 返回我的通知
portal-nav = 居民服务
portal-signups-nav = 注册核验

portal-signup-title = 居民注册
portal-signup-intro = 注册后，社区工作者会将您填写的身份证号与居民档案核对。核验通过后即可查看家庭信息和社区通知。
portal-signup-display-name = 姓名
portal-signup-display-name-hint = 与身份证上的姓名一致。
portal-signup-identity = 身份证号
portal-signup-identity-hint = 18 位，最后一位可以是 X。仅用于与居民档案核对，加密保存。
portal-signup-phone = 手机号码
portal-signup-phone-hint = 例如 13800138000，加密保存。
portal-signup-username = 用户名
portal-signup-username-hint = 3 到 64 个字母、数字、点、下划线或连字符，用于登录。
portal-signup-password = 密码
portal-signup-password-hint = 至少 10 个字符。
portal-signup-submit = 提交注册
portal-signup-have-account = 已有账号？
portal-signup-login = 登录

portal-pending-waiting = 您的注册已提交，正在等待社区工作者核验。核验通过后，这里会显示您的家庭信息和通知。
portal-pending-rejected = 您的注册未通过核验。请按以下原因补充材料，或到社区办理。
portal-pending-reason = 原因：
portal-pending-none = 您的账号尚未关联居民档案，请到社区核验身份。

portal-home-address = 住址：{ $address }
portal-home-unread = { $count } 条未读
portal-home-urgent = 其中 { $count } 条紧急
portal-link-notices = 我的通知
portal-link-household = 我的家庭
portal-link-cases = 我反映的问题
portal-link-report = 反映问题

portal-household-title = 我的家庭
portal-household-masked-note = 为保护个人信息，证件号和电话号码只显示部分数字。
portal-household-you = 本人
portal-household-relation = 与户主关系
portal-household-identity = 身份证号
portal-household-phone = 电话
portal-household-no-phone = 未登记
portal-relation-head = 户主
portal-relation-spouse = 配偶
portal-relation-child = 子女
portal-relation-parent = 父母
portal-relation-grandchild = 孙子女
portal-relation-sibling = 兄弟姐妹
portal-relation-other = 其他

portal-notices-title = 我的通知
portal-notices-empty = 暂无通知。
portal-notices-new-arrived = 有新通知，刷新页面即可查看。
portal-notice-urgent = 紧急
portal-notice-unread = 未读
portal-notice-sent-at = 发布时间：{ $time }
portal-notice-attachments = 附件

portal-signups-title = 居民注册核验
portal-signups-intro = 以下注册的身份证号与您所辖网格的居民档案一致。核对姓名和电话后通过，或填写原因后退回。
portal-signups-empty = 没有待核验的注册。
portal-signups-submitted = 提交时间
portal-signups-record = 匹配的档案
portal-signups-no-record = 没有身份证号相同的居民档案
portal-signups-phone-matches = 与档案一致
portal-signups-phone-differs = 与档案不同
portal-signups-approve = 核验通过
portal-signups-reason = 退回原因
portal-signups-reject = 退回

notice-signup-received = 注册已提交。请登录查看核验进度。
notice-signup-approved = 已核验通过，账号已关联居民档案。
notice-signup-rejected = 已退回该注册，居民登录后可看到原因。

error-signup-identity-taken = 该身份证号已有待核验或已通过的注册。如果不是您本人提交的，请联系社区。
error-signup-not-found = 未找到待核验的注册 { $id }，可能已被处理。
error-signup-no-record = 居民档案中没有这个身份证号，无法核验通过；请先登记居民档案，或填写原因退回。
error-signup-reason-invalid = 请填写退回原因（1 到 { $max } 个字符），居民会看到它。
