# 街道地名地址库以及案件地址的文字。

place-field-address = 地址
place-field-address-hint = 本街道的小区、楼栋、道路或地标名称，例如 春望里3号楼。未在地图上点选、也未填写坐标时，按地址确定位置。
audit-action-places-imported = 导入地名

error-place-address-unknown = 地名地址库中没有“{ $address }”；请填写小区、楼栋、道路或地标的名称，或在地图上点选位置。
error-place-address-unknown-suggest = 地名地址库中没有“{ $address }”。您要找的是不是 { $places }？请填写其中一个名称，或在地图上点选位置。
error-place-address-ambiguous = “{ $address }”对应多个地点（{ $places }）；请填写其中一个的完整名称，或在地图上点选位置。
error-place-address-too-long = 地址超过 { $max } 个字；请只填写地点名称，其他说明写在描述中。
error-place-query-invalid = 请在 q 中提供要查找的文字，长度 1 至 { $max } 个字。
error-place-limit-invalid = “{ $value }”不是有效的数量；请填写 1 至 { $max } 之间的整数。
error-place-name-missing = 地点没有名称；请填写 name 列。
error-place-name-too-long = 名称超过 { $max } 个字；请缩短。
error-place-kind-unknown = “{ $value }”不是地点类型；请使用 residential、building、road、landmark、door（或 小区、楼栋、道路、地标、门牌）。
error-place-coordinate-invalid = “{ $value }”不是坐标；请填写 -{ $limit } 至 { $limit } 之间的十进制度数。
error-place-name-repeated = “{ $value }”已在第 { $first_line } 行出现；每个地点只写一行，其他名称写在 aliases 中。
