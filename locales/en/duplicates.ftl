# Duplicate suggestions, merge notices and version conflicts on case pages.

error-dup-invalid-window = Duplicate-search window { $value } h is invalid; use an integer from 1 to { $max }.
error-dup-rating-not-closed = The case your report was merged into is not closed yet; you can rate it once it is.
error-dup-rating-already-given = You have already rated the case your report was merged into; each reporter rates once.

dup-notice-merged = Your report was merged with other reports of the same problem; follow its progress through your tracking link.
dup-notice-stage-changed = A case you follow moved to a new stage: { $stage }.

dup-page-suggestions = Possible duplicates
dup-page-suggestions-hint = Open cases of the same minor category reported nearby and recently, nearest first. Merging ends this case, and its reporter then follows the chosen case.
dup-page-case = Case
dup-page-distance = Distance
dup-page-metres = { $distance } m
dup-page-merge-column = Merge
dup-page-merge-into = Merge into #{ $id }

dup-page-conflict-title = Someone else acted on this case first
dup-page-conflict-not-applied = Your action "{ $action }" was not applied: another user changed the case after you opened the page.
dup-page-conflict-back = See the case's current state before acting again

dup-page-track-merged-title = Progress of the merged case
dup-page-track-merged-text = Your report and other reports of the same problem were merged into one case. Its current stage and history follow.
dup-page-track-survivor-stage = Stage of the merged case
dup-page-merged-stage = { $stage } (merged)
