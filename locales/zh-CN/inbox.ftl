# The account inbox of reporter notices on "my cases".

inbox-title = 消息
inbox-new = 新
inbox-case = 案件 { $case }
inbox-cases = 我反映的问题
