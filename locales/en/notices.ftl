# Messages of notices to residents.

audit-action-notice-sent = Notice sent or scheduled

error-notice-area-unknown = There is no area with id { $id }; use an id from GET /api/v1/areas.
error-notice-area-outside-scope = Area { $id } is outside your areas; you can send notices only to residents of your own areas.
error-notice-tags-match = tags_match must be any (at least one of the tags) or all (every tag), not "{ $value }".
error-notice-too-many-tags = A notice can filter its audience by at most { $max } tags.
error-notice-title-invalid = Enter a title of 1 to { $max } characters.
error-notice-body-invalid = Enter a body of 1 to { $max } characters.
error-notice-priority-invalid = Priority must be normal or urgent, not "{ $value }".
error-notice-follow-up-hours = follow_up_hours must be a whole number from 1 to 720: the hours after sending when residents who have not read the notice join the grid workers' follow-up list.
error-notice-send-at-too-far = A notice can be scheduled at most { $days } days ahead; choose an earlier send_at.
error-notice-audience-empty = No resident matches the chosen areas and tags, so the notice would reach nobody; widen the areas or tags, and check the count first with POST /api/v1/resident-notices/audience.
error-notice-no-linked-resident = Your account is not linked to a resident record yet; ask your community office to check your identity and link it.
error-notice-account-not-resident = User { $id } is not a resident account; only resident accounts can be linked to a resident record.
error-notice-account-linked-elsewhere = This account or this resident is already linked to another record or account; each resident has one account.
error-notice-follow-up-method = method must be call or visit, not "{ $value }".
error-notice-follow-up-outcome = outcome must be reached, not_reached or moved_away, not "{ $value }".
error-notice-note-too-long = The note can have at most { $max } characters.

error-notice-attachment-missing-file = Send the file as a multipart/form-data request with one part named file.
error-notice-attachment-no-name = The file has no name; send it with a file name that ends in .pdf, .jpg, .png, .docx or .xlsx.
error-notice-attachment-type = { $name } is not a PDF, JPEG, PNG, DOCX or XLSX file; both its content and its name's extension must be one of these. Convert it and upload it again.
error-notice-attachment-mismatch = { $name } contains a { $content } file, which its extension does not say; rename it to the right extension or convert it, then upload it again.
error-notice-attachment-too-large = { $name } is over { $max } MiB; compress or split it and upload it again.
error-notice-attachment-undecodable = The image { $name } cannot be read ({ $reason }); export it again or use another file.
error-notice-attachment-pending = You have { $max } uploads that no notice uses yet; send them with a notice or wait until they expire { $hours } hours after upload.
error-notice-attachment-too-many = A notice can carry at most { $max } attachments; remove some and try again.
error-notice-attachment-twice = Attachment id { $id } is listed twice in attachment_ids; list each upload once.
error-notice-attachment-unusable = Attachment id { $id } is not one of your unused uploads: it is unknown, was uploaded by someone else, is attached to another notice already or has expired. Upload the file again with POST /api/v1/resident-notices/attachments and use the new id.
