# Messages of the street's address gazetteer (地名地址库) and of addresses on cases.

place-field-address = Address
place-field-address-hint = A compound, building, road or landmark of this street, such as 春望里3号楼. Without a map point or coordinates, the address locates the report.
audit-action-places-imported = Places imported

error-place-address-unknown = "{ $address }" is not a place in this street's gazetteer; type the name of a compound, building, road or landmark, or click the map.
error-place-address-unknown-suggest = "{ $address }" is not a place in this street's gazetteer. Did you mean { $places }? Type one of these names, or click the map.
error-place-address-ambiguous = "{ $address }" matches several places ({ $places }); type the full name of one of them, or click the map.
error-place-address-too-long = The address is longer than { $max } characters; shorten it to the place's name and put details in the description.
error-place-query-invalid = Send the text to look up in q, 1 to { $max } characters.
error-place-limit-invalid = "{ $value }" is not a valid limit; send a whole number from 1 to { $max }.
error-place-name-missing = The place has no name; fill in the name column.
error-place-name-too-long = The name is longer than { $max } characters; shorten it.
error-place-kind-unknown = "{ $value }" is not a kind of place; use residential, building, road, landmark or door (or 小区, 楼栋, 道路, 地标, 门牌).
error-place-coordinate-invalid = "{ $value }" is not a coordinate; use decimal degrees between -{ $limit } and { $limit }.
error-place-name-repeated = "{ $value }" is already named on line { $first_line }; give each place one row and put other names in aliases.
