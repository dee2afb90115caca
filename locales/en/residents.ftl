# Messages of the resident registry (居民档案).

audit-action-resident-created = Resident registered
audit-action-resident-revealed = Resident number revealed
audit-action-resident-key-rotated = Registry data key rotated

error-identity-number-format = The identity number must have 18 characters: 17 digits and a check digit 0–9 or X, such as 11010519491231002X.
error-identity-number-birth-date = The identity number holds the birth date "{ $digits }", which is not a real date between 1900 and today; check digits 7 to 14.
error-identity-number-check-digit = The identity number's last character does not match its check digit; check each digit against the identity card.
error-phone-invalid = The phone number must have 7 to 12 digits, such as 13800138000 or 010-65529988.
error-resident-address-invalid = Enter the household's address, 1 to { $max } characters.
error-resident-grid-unknown = "{ $code }" is not the code of a grid; use the code of a grid from the area list, such as 110105001001001.
error-resident-household-unknown = Household { $id } does not exist in your areas; create the household first or use the id of one of yours.
error-resident-duplicate = A resident with this identity number is registered already; search for it by identity number instead of adding it again.
error-resident-name-invalid = Enter the resident's name, 1 to { $max } characters.
error-resident-relation-invalid = The relation to the head must be one of head, spouse, child, parent, grandchild, sibling or other.
error-resident-gender-mismatch = The gender does not match the identity number; leave it out to use the one the number encodes, or correct the number.
error-resident-birth-date-mismatch = The birth date does not match the identity number; leave it out to use the one the number encodes, or correct the number.
error-resident-limit-invalid = The limit must be a whole number from 1 to 200.
error-resident-tag-filter-unknown = No tag has this code; list the codes with GET /api/v1/resident-tags.
error-resident-query-invalid = The query string is invalid: { $reason }
error-resident-reveal-field = Choose the number to reveal: identity_number or phone.
error-resident-reveal-reason = Give the reason for seeing the number, 1 to { $max } characters; it is kept in the audit log.
error-resident-tag-code-invalid = The tag code must be 1 to 40 lower-case letters, digits or underscores, such as living_alone.
error-resident-tag-name-invalid = Enter the tag's name, up to 50 characters in Chinese and 80 in English.
error-resident-tag-kind-invalid = The tag kind must be plain, disability or returned.
error-resident-tag-duplicate = A tag with the code { $code } exists already; choose another code.
error-resident-tag-unknown = No tag has the code "{ $tag }"; an administrator defines tags first.
error-resident-tag-repeated = The tag "{ $tag }" is given twice; give each tag once.
error-resident-disability-category = The tag "{ $tag }" needs a disability category: visual, hearing, speech, physical, intellectual, mental or multiple.
error-resident-disability-grade = The tag "{ $tag }" needs a disability grade from 1 to 4.
error-resident-return-area = The tag "{ $tag }" needs the area the resident returned from, 1 to 100 characters.
error-resident-return-since = The tag "{ $tag }" needs the date of return, no later than today, as YYYY-MM-DD.
error-resident-tag-attributes = The tag "{ $tag }" takes no disability or return details; remove them.
