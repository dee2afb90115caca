app-name = citycore
app-tagline = Digital governance for a city street
