# Case search: errors of the search and filter parameters, and the queue's search form.
error-search-query-too-long = The search text has { $length } characters; shorten it to at most { $max }.
error-search-query-no-terms = The search text contains no letters, digits or Chinese characters; type a word to search for.
error-search-area-unknown = No area has the id "{ $value }"; use the id of a grid, community or street from /api/v1/areas.
error-search-offset-invalid = The offset "{ $value }" is invalid; use a whole number from 0 to { $max }.
search-queue-text = Search text
search-queue-hint = Words in the title, description or category, such as 噪音, 井盖 or noise
search-queue-category = Category
search-queue-category-all = All categories
search-queue-area = Area
search-queue-area-all = All areas
search-queue-overdue = Overdue only
search-queue-submit = Search
search-queue-previous = Previous page
search-queue-next = Next page
