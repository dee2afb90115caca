# Console layout and navigation.
nav-skip-to-content = Skip to main content
nav-label = Main navigation
nav-dashboard = Dashboard
nav-areas = Areas and grids
nav-map = Grid map
nav-users = Users
nav-logout = Log out
footer-text = citycore open-source street governance platform · times shown in Beijing time
