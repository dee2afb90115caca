# 居民档案的消息。

audit-action-resident-created = 登记居民
audit-action-resident-revealed = 查看居民完整号码
audit-action-resident-key-rotated = 轮换档案数据密钥

error-identity-number-format = 身份证号应为 18 位：17 位数字加 1 位校验码（0–9 或 X），例如 11010519491231002X。
error-identity-number-birth-date = 身份证号中的出生日期“{ $digits }”不是 1900 年至今的有效日期，请核对第 7 至 14 位。
error-identity-number-check-digit = 身份证号最后一位与校验码不符，请对照身份证逐位核对。
error-phone-invalid = 电话号码应为 7 至 12 位数字，例如 13800138000 或 010-65529988。
error-resident-address-invalid = 请填写户地址，1 至 { $max } 个字。
error-resident-grid-unknown = “{ $code }”不是网格编码，请使用区域列表中的网格编码，例如 110105001001001。
error-resident-household-unknown = 您的辖区内没有编号为 { $id } 的户，请先建户，或填写您辖区内的户编号。
error-resident-duplicate = 该身份证号的居民已登记，请按身份证号查找，不要重复登记。
error-resident-name-invalid = 请填写居民姓名，1 至 { $max } 个字。
error-resident-relation-invalid = 与户主关系应为 head（户主）、spouse（配偶）、child（子女）、parent（父母）、grandchild（孙辈）、sibling（兄弟姐妹）或 other（其他）。
error-resident-gender-mismatch = 性别与身份证号不符；不填则按身份证号确定，或更正身份证号。
error-resident-birth-date-mismatch = 出生日期与身份证号不符；不填则按身份证号确定，或更正身份证号。
error-resident-limit-invalid = limit 应为 1 至 200 的整数。
error-resident-tag-filter-unknown = 没有这个编码的标签，可用 GET /api/v1/resident-tags 查看标签编码。
error-resident-query-invalid = 查询参数无效：{ $reason }
error-resident-reveal-field = 请选择要查看的号码：identity_number（身份证号）或 phone（电话）。
error-resident-reveal-reason = 请填写查看完整号码的理由，1 至 { $max } 个字；理由记入审计日志。
error-resident-tag-code-invalid = 标签编码应为 1 至 40 个小写字母、数字或下划线，例如 living_alone。
error-resident-tag-name-invalid = 请填写标签名称，中文不超过 50 个字，英文不超过 80 个字符。
error-resident-tag-kind-invalid = 标签类型应为 plain（普通）、disability（残疾）或 returned（返回人员）。
error-resident-tag-duplicate = 编码为 { $code } 的标签已存在，请换一个编码。
error-resident-tag-unknown = 没有编码为“{ $tag }”的标签，请先由管理员定义标签。
error-resident-tag-repeated = 标签“{ $tag }”重复，每个标签只填一次。
error-resident-disability-category = 标签“{ $tag }”需要残疾类别：visual（视力）、hearing（听力）、speech（言语）、physical（肢体）、intellectual（智力）、mental（精神）或 multiple（多重）。
error-resident-disability-grade = 标签“{ $tag }”需要残疾等级，1 至 4 级。
error-resident-return-area = 标签“{ $tag }”需要填写返回前所在地区，1 至 100 个字。
error-resident-return-since = 标签“{ $tag }”需要填写返回日期，不晚于今天，格式为 YYYY-MM-DD。
error-resident-tag-attributes = 标签“{ $tag }”不带残疾或返回信息，请删去。
