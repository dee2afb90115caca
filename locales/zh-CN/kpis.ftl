# 案件考核指标：看板、公式与错误信息。
error-invalid-kpi-query = 考核指标参数值 “{ $value }” 无效。
