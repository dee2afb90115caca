# Import and export of the resident registry.

audit-action-residents-imported = Residents imported
audit-action-residents-exported = Resident list exported

resident-export-grid-name = Grid name
resident-export-gender = Gender
resident-export-birth-date = Birth date
resident-gender-male = Male
resident-gender-female = Female

error-resident-file-format = The format must be xlsx or csv.
error-resident-import-multipart = Upload the file as a multipart/form-data form, in a field named file.
error-resident-import-file-missing = The form has no file; attach an .xlsx or .csv file in the field file.
error-resident-import-mode = The mode must be dry_run (check only, the default) or apply (check, then write).
error-resident-import-mapping-json = The mapping must be a JSON object of header text to field name, such as {"{"}"Household": "address"{"}"}.
error-resident-import-mapping-field = The mapping names the field "{ $field }", which does not exist; the fields are { $known }.
error-resident-import-mapping-header = The mapping names the header "{ $header }", which the file's header row lacks; use the header text as the file has it.
error-resident-import-column-twice = Several columns fill the field { $field } (one is "{ $header }"); remove the extra column or give a mapping.
error-resident-import-columns-missing = Required columns are missing: { $missing }. The file's headers are: { $found }. Rename the headers as in the template, or give a mapping.
error-resident-import-file-empty = The file "{ $file }" is empty; choose the filled-in roster.
error-resident-import-file-xls = The file "{ $file }" is in the old Excel format (.xls); save it as .xlsx or CSV in Excel and upload that.
error-resident-import-file-not-xlsx = The file "{ $file }" is not a valid .xlsx workbook, perhaps another file renamed; save it as .xlsx in Excel and upload that.
error-resident-import-file-format = Files ending in .{ $extension } are not supported; upload an .xlsx or .csv file.
error-resident-import-no-rows = The file "{ $file }" has no data rows below the header; fill in one resident per row.
error-resident-import-too-many-rows = The file has { $rows } data rows, over the limit of { $max } per import; split it by community or grid.
error-resident-import-sheet-unknown = The workbook has no sheet named "{ $sheet }"; its sheets are: { $sheets }.
error-resident-import-sheet-header-missing = The sheet "{ $sheet }" has no header row (address, grid, name, identity number, relation) in its first { $rows } rows. The workbook's sheets are: { $sheets }; name the data sheet with the sheet parameter, or give a mapping.
error-resident-import-header-missing = The file has no header row (address, grid, name, identity number, relation) in its first { $rows } rows; use the template's headers or give a mapping.
error-resident-import-merged-cells = The cells { $cells } of the sheet "{ $sheet }" are merged. Cells below the header must not be merged; unmerge them and fill in every row's value.
error-resident-import-csv-encoding = The file "{ $file }" is neither UTF-8 nor GB18030; save it as "CSV UTF-8" in Excel and upload that.
error-resident-import-csv-invalid = Line { $line } of the CSV file cannot be parsed; check that its quotes are paired.
error-resident-import-value-missing = Fill in { $column }; the column is required.
error-resident-import-relation-unknown = The relation "{ $value }" is unknown; use head, spouse, child, parent, grandchild, sibling or other, or the Chinese word.
error-resident-import-grid-unknown = No grid has the code or name "{ $value }"; use a grid code from the area list, such as 110105001001001.
error-resident-import-grid-ambiguous = Several grids are named "{ $value }"; use the grid code instead.
error-resident-import-grid-out-of-scope = The grid "{ $value }" is outside your areas, and you may import only into your own grids; remove the row or leave it to that grid's staff.
error-resident-import-identity-number-as-number = The identity number was saved as a number, and Excel has dropped its last digits. Format the column as text and type the number again, or use the template.
error-resident-import-tags-invalid = The tags cannot be read: { $reason }
error-resident-import-duplicate-in-file = This identity number is already in row { $row }; give each resident one row.
error-resident-import-duplicate-registered = A resident with this identity number is registered already; remove the row, and change the resident's record in the registry instead.
error-resident-import-conflict = Someone registered a resident of the file during the import, and nothing was written; run the dry run again, then import.
error-resident-import-rejected = The file has { $problems } problems, and nothing was written; fix them as the report says and import again.
error-resident-export-area-unknown = No area has the code "{ $code }"; use the code of a street, community or grid.
error-resident-export-too-many = More than { $max } residents match; export by community or grid.
error-resident-import-job-failed = The import failed on the server, and nothing was written. Try again; if it fails again, give the operator the import id { $id }.
error-resident-import-job-abandoned = The server running this import stopped before the import finished, so it was not completed. Check the registry, then upload the file again.
error-resident-import-job-not-found = No import with this id exists for your account; finished imports are kept for 7 days.
