# Console layout and navigation.
nav-skip-to-content = 跳到主要内容
nav-label = 主导航
nav-dashboard = 工作台
nav-areas = 区域与网格
nav-map = 网格地图
nav-users = 用户管理
nav-logout = 退出登录
footer-text = citycore 开源街道治理平台 · 时间按北京时间显示
