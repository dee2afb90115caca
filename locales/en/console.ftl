# Console layout and navigation.
nav-skip-to-content = Skip to main content
nav-label = Main navigation
nav-dashboard = Dashboard
nav-areas = Areas and grids
nav-map = Grid map
nav-users = Users
nav-logout = Log out
footer-text = citycore open-source street governance platform · times shown in Beijing time

# Dashboard.
dashboard-overview = Overview
dashboard-count-street = Streets
dashboard-count-community = Communities
dashboard-count-grid = Grids
dashboard-scope = My areas
dashboard-scope-all = All areas (administrator)
dashboard-next-steps = Common tasks
dashboard-open-map = Open the grid map
dashboard-open-areas = Browse areas and grids

# Area tree and area page.
area-noun = Area
areas-tree-intro = The street is divided into city, district, street, community and grid. Select a name to expand or collapse it, and its Open link for the area page.
areas-tree-empty = No areas have been imported yet. An administrator can import GeoJSON with citycore import areas.
areas-tree-descendants = { $count } below
areas-tree-open = Open { $name }
areas-breadcrumb = Area hierarchy
areas-field-name = Name
areas-field-code = Code
areas-field-level = Level
areas-field-boundary = Boundary
areas-field-responsible = Responsible unit
areas-responsible-fallback = None set (its community is responsible)
areas-no-boundary = No boundary data
areas-polygon-count = { $count } polygons
areas-vertex-count = { $count } vertices
areas-children = Areas below
areas-no-children = No areas below this one.

# Grid map.
map-help = The map shows the boundaries of communities and grids. Select any point on the map to find its grid; the table below lists every grid.
map-label = Grid map
map-loading = Loading area boundaries…
map-load-failed = Area boundaries failed to load ({ $reason }); reload the page to try again.
map-located = This point is in { $name } ({ $code }).
map-not-located = This point is not in any grid. { $reason }
map-on-boundary = The point lies on a grid boundary.
map-outside = The point is outside every grid and was assigned to the nearest one (about { $distance } m away).
map-noscript = The map needs JavaScript; the table below lists every grid.
map-grid-list = Grids
map-grid = Grid
map-community = Community
map-zoom-in = Zoom in
map-zoom-out = Zoom out

