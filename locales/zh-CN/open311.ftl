# Open311 GeoReport v2 接口的消息。服务器会在每条错误说明前加上参数名。

error-open311-api-key-invalid = API 密钥缺失或无效；请提供管理员为您的应用创建的 api_key。
error-open311-parameter-missing = 必须提供此参数。
error-open311-location-missing = 缺少位置；请以 WGS-84 度数提供 lat 和 long。
error-open311-address-not-geocoded = 本系统不使用其他地址库的地址编号；请在 address_string 中填写本街道的地名，或以 WGS-84 度数提供 lat 和 long。
error-open311-invalid-number = “{ $value }”不是数字；请提供十进制度数，如 39.99。
error-open311-invalid-id = “{ $value }”不是服务请求编号；请提供以逗号分隔的数字。
error-open311-unknown-service = “{ $value }”不是服务代码；请用 GET services 查看可用代码。
error-open311-invalid-status = “{ $value }”不是状态；请提供 open、closed，或以逗号分隔两者。
error-open311-invalid-date = “{ $value }”不是日期；请使用带时区偏移的 ISO 8601 格式，如 2026-12-04T09:00:00+08:00。
error-open311-malformed-body = 无法读取请求（{ $value }）；请发送 application/x-www-form-urlencoded 或 JSON 对象。
error-open311-unknown-format = 未知格式；路径请以 .json 或 .xml 结尾。
