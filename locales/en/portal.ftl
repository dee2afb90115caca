# The resident portal: sign-up, verification and the resident's own pages.
portal-title = Resident services
portal-errors-title = Please correct the following and submit again:
portal-back-home = Back to resident services
portal-back-notices = Back to my notices
portal-nav = Resident services
portal-signups-nav = Sign-ups

portal-signup-title = Resident sign-up
portal-signup-intro = After you sign up, a community worker checks your identity number against the resident registry. Once verified, you can see your household and the community's notices.
portal-signup-display-name = Name
portal-signup-display-name-hint = As on your identity card.
portal-signup-identity = Identity number
portal-signup-identity-hint = 18 characters; the last may be X. Used only to match the registry, and stored encrypted.
portal-signup-phone = Mobile number
portal-signup-phone-hint = For example 13800138000. Stored encrypted.
portal-signup-username = Username
portal-signup-username-hint = 3 to 64 letters, digits, dots, underscores or hyphens, used to log in.
portal-signup-password = Password
portal-signup-password-hint = At least 10 characters.
portal-signup-submit = Sign up
portal-signup-have-account = Already have an account?
portal-signup-login = Log in

portal-pending-waiting = Your sign-up is waiting for a community worker to verify it. Once verified, your household and notices appear here.
portal-pending-rejected = Your sign-up was not verified. Provide what the reason asks for, or visit the community office.
portal-pending-reason = Reason:
portal-pending-none = Your account is not linked to a resident record yet; ask your community office to check your identity.

portal-home-address = Address: { $address }
portal-home-unread = { $count } unread
portal-home-urgent = { $count } urgent
portal-link-notices = My notices
portal-link-household = My household
portal-link-cases = My reported problems
portal-link-report = Report a problem

portal-household-title = My household
portal-household-masked-note = To protect personal data, identity and phone numbers show only some digits.
portal-household-you = You
portal-household-relation = Relation to the head
portal-household-identity = Identity number
portal-household-phone = Phone
portal-household-no-phone = Not recorded
portal-relation-head = Head of household
portal-relation-spouse = Spouse
portal-relation-child = Child
portal-relation-parent = Parent
portal-relation-grandchild = Grandchild
portal-relation-sibling = Sibling
portal-relation-other = Other

portal-notices-title = My notices
portal-notices-empty = No notices yet.
portal-notices-new-arrived = A new notice has arrived; reload the page to see it.
portal-notice-urgent = Urgent
portal-notice-unread = Unread
portal-notice-sent-at = Published { $time }
portal-notice-attachments = Attachments

portal-signups-title = Resident sign-ups
portal-signups-intro = These sign-ups carry the identity number of a resident in your grids. Check the name and phone, then approve, or reject with a reason.
portal-signups-empty = No sign-ups are waiting.
portal-signups-submitted = Submitted
portal-signups-record = Matching record
portal-signups-no-record = No resident record has this identity number
portal-signups-phone-matches = matches the record
portal-signups-phone-differs = differs from the record
portal-signups-approve = Approve
portal-signups-reason = Reason for rejecting
portal-signups-reject = Reject

notice-signup-received = Sign-up received. Log in to follow its verification.
notice-signup-approved = Sign-up approved; the account is linked to the resident record.
notice-signup-rejected = Sign-up rejected; the resident sees the reason after logging in.

error-signup-identity-taken = This identity number already has a pending or approved sign-up. If you did not submit it, contact your community office.
error-signup-not-found = No pending sign-up { $id }; it may have been decided already.
error-signup-no-record = No resident record has this identity number, so the sign-up cannot be approved. Register the resident first, or reject it with a reason.
error-signup-reason-invalid = Enter a reason of 1 to { $max } characters; the resident will read it.
