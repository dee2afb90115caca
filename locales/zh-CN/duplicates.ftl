# Duplicate suggestions, merge notices and version conflicts on case pages.

error-dup-invalid-window = 查重时间窗 { $value } 小时无效；应为 1 到 { $max } 之间的整数。
error-dup-rating-not-closed = 合并后的案件尚未办结，办结后才能评价。
error-dup-rating-already-given = 您已经评价过合并后的案件，每位反映人只能评价一次。

dup-notice-merged = 您反映的问题已与同一问题的其他反映合并办理，办理进度可在原跟踪链接查看。
dup-notice-stage-changed = 您关注的案件进入新阶段：{ $stage }。

dup-page-suggestions = 疑似重复案件
dup-page-suggestions-hint = 附近同一小类、近期上报且未办结的案件，按距离由近到远排列。合并后本案件结束，反映人改为跟踪所选案件。
dup-page-case = 案件
dup-page-distance = 距离
dup-page-metres = { $distance } 米
dup-page-merge-column = 合并
dup-page-merge-into = 合并到 #{ $id }

dup-page-conflict-title = 案件已被他人处理
dup-page-conflict-not-applied = 您的操作“{ $action }”未执行：在您打开页面后，已有其他人处理了该案件。
dup-page-conflict-back = 查看案件当前状态后再操作

dup-page-track-merged-title = 合并办理进度
dup-page-track-merged-text = 您反映的问题与其他人反映的同一问题已合并为一个案件办理。以下是该案件的当前阶段和办理过程。
dup-page-track-survivor-stage = 合并后案件阶段
dup-page-merged-stage = { $stage }（已合并办理）
