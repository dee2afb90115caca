# KPIs of the case loop: the dashboard, its formulas and errors.
error-invalid-kpi-query = KPI parameter value "{ $value }" is invalid.
