# Case search: errors of the search and filter parameters, and the queue's search form.
error-search-query-too-long = 搜索内容有 { $length } 个字符；请缩短到 { $max } 个以内。
error-search-query-no-terms = 搜索内容不含汉字、字母或数字；请输入要查找的词。
error-search-area-unknown = 没有编号为 “{ $value }” 的区域；请使用 /api/v1/areas 中网格、社区或街道的编号。
error-search-offset-invalid = 偏移量 “{ $value }” 无效；请填写 0 到 { $max } 之间的整数。
search-queue-text = 搜索
search-queue-hint = 标题、描述或类别中的词，例如 噪音、井盖、noise
search-queue-category = 类别
search-queue-category-all = 全部类别
search-queue-area = 区域
search-queue-area-all = 全部区域
search-queue-overdue = 仅看超期案件
search-queue-submit = 搜索
search-queue-previous = 上一页
search-queue-next = 下一页
