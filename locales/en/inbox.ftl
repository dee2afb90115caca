# The account inbox of reporter notices on "my cases".

inbox-title = Notices
inbox-new = New
inbox-case = Case { $case }
inbox-cases = Reported problems
