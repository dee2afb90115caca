# 通知（政策触达）的消息。

audit-action-notice-sent = 发送或预约通知

error-notice-area-unknown = 没有编号为 { $id } 的区域，请使用 GET /api/v1/areas 返回的区域编号。
error-notice-area-outside-scope = 区域 { $id } 不在您的辖区内，只能向您辖区内的居民发送通知。
error-notice-tags-match = tags_match 应为 any（具有任一标签）或 all（具有全部标签），而不是“{ $value }”。
error-notice-too-many-tags = 一条通知最多按 { $max } 个标签筛选对象。
error-notice-title-invalid = 请填写通知标题，1 至 { $max } 个字。
error-notice-body-invalid = 请填写通知正文，1 至 { $max } 个字。
error-notice-priority-invalid = 优先级应为 normal（普通）或 urgent（紧急），而不是“{ $value }”。
error-notice-follow-up-hours = follow_up_hours 应为 1 至 720 之间的整数：发出多少小时后仍未读的居民进入网格员回访名单。
error-notice-send-at-too-far = 预约发送时间最多为 { $days } 天之后，请提前不超过 { $days } 天预约。
error-notice-audience-empty = 按所选区域和标签，没有任何居民会收到这条通知；请放宽区域或标签条件，可先用 POST /api/v1/resident-notices/audience 预览人数。
error-notice-no-linked-resident = 您的账号尚未关联居民档案，请到社区核验身份后再查看通知。
error-notice-account-not-resident = 用户 { $id } 不是居民账号，只能把居民账号关联到居民档案。
error-notice-account-linked-elsewhere = 该账号或该居民已与其他档案或账号关联，每个居民只能关联一个账号。
error-notice-follow-up-method = 回访方式应为 call（电话）或 visit（上门），而不是“{ $value }”。
error-notice-follow-up-outcome = 回访结果应为 reached（已联系到）、not_reached（未联系到）或 moved_away（已搬离），而不是“{ $value }”。
error-notice-note-too-long = 回访备注最多 { $max } 个字。

error-notice-attachment-missing-file = 请以 multipart/form-data 格式发送文件，文件字段名为 file。
error-notice-attachment-no-name = 文件没有名称；请使用以 .pdf、.jpg、.png、.docx 或 .xlsx 结尾的文件名重新上传。
error-notice-attachment-type = { $name } 不是 PDF、JPEG、PNG、DOCX 或 XLSX 文件；文件内容和扩展名都必须是其中一种。请转换格式后重新上传。
error-notice-attachment-mismatch = { $name } 的内容是 { $content } 文件，与扩展名不符；请改成正确的扩展名或转换格式后重新上传。
error-notice-attachment-too-large = { $name } 超过 { $max } MiB；请压缩或拆分后重新上传。
error-notice-attachment-undecodable = 无法读取图片 { $name }（{ $reason }）；请重新导出或换一个文件。
error-notice-attachment-pending = 您已有 { $max } 个上传的文件尚未用于通知；请先随通知发出，或等待它们在上传 { $hours } 小时后过期。
error-notice-attachment-too-many = 一条通知最多带 { $max } 个附件；请删去一些后重试。
error-notice-attachment-twice = 附件编号 { $id } 在 attachment_ids 中出现了两次；每个上传的文件只需列一次。
error-notice-attachment-unusable = 附件编号 { $id } 不是您尚未使用的上传文件：编号不存在、由他人上传、已附在其他通知上或已过期。请用 POST /api/v1/resident-notices/attachments 重新上传，并使用新的编号。
