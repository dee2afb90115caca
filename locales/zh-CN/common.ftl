app-name = citycore
app-tagline = 街道数字治理平台
