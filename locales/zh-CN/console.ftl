# Console layout and navigation.
nav-skip-to-content = 跳到主要内容
nav-label = 主导航
nav-dashboard = 工作台
nav-areas = 区域与网格
nav-map = 网格地图
nav-users = 用户管理
nav-logout = 退出登录
footer-text = citycore 开源街道治理平台 · 时间按北京时间显示

# Dashboard.
dashboard-overview = 概况
dashboard-count-street = 街道
dashboard-count-community = 社区
dashboard-count-grid = 网格
dashboard-scope = 我的管辖范围
dashboard-scope-all = 全部区域（管理员）
dashboard-next-steps = 常用操作
dashboard-open-map = 查看网格地图
dashboard-open-areas = 浏览区域与网格

# Area tree and area page.
area-noun = 区域
areas-tree-intro = 街道按“市—区—街道—社区—网格”逐级划分。点击名称展开或收起下级，点击“查看详情”打开区域页面。
areas-tree-empty = 尚未导入任何区域。管理员可用 citycore import areas 导入 GeoJSON。
areas-tree-descendants = 下辖 { $count } 个
areas-tree-open = 查看{ $name }详情
areas-breadcrumb = 区域层级
areas-field-name = 名称
areas-field-code = 编码
areas-field-level = 层级
areas-field-boundary = 边界
areas-field-responsible = 责任单位
areas-responsible-fallback = 未指定（由所属社区兜底负责）
areas-no-boundary = 无边界数据
areas-polygon-count = { $count } 个多边形
areas-vertex-count = { $count } 个顶点
areas-children = 下级区域
areas-no-children = 没有下级区域。

# Grid map.
map-help = 地图显示各社区和网格的边界。点击地图上任意位置可查询其所属网格；下方表格列出全部网格。
map-label = 网格地图
map-loading = 正在加载区域边界……
map-load-failed = 区域边界加载失败（{ $reason }），请刷新页面重试。
map-located = 该位置属于{ $name }（{ $code }）。
map-not-located = 该位置不在任何网格内。{ $reason }
map-on-boundary = 该点位于网格边界上。
map-outside = 该点在网格外，已就近归入（约 { $distance } 米）。
map-noscript = 地图需要 JavaScript；下方表格列出了全部网格。
map-grid-list = 网格列表
map-grid = 网格
map-community = 所属社区
map-zoom-in = 放大
map-zoom-out = 缩小

