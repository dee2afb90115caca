# Messages of the Open311 GeoReport v2 interface. Each error description starts with
# the parameter name, which the server adds before the text.

error-open311-api-key-invalid = The API key is missing or invalid; send the api_key an administrator created for your application.
error-open311-parameter-missing = This parameter is required.
error-open311-location-missing = The location is missing; send lat and long in WGS-84 degrees.
error-open311-address-not-geocoded = Address ids of other registers are not used here; send address_string with a place name of this street, or lat and long in WGS-84 degrees.
error-open311-invalid-number = "{ $value }" is not a number; send decimal degrees such as 39.99.
error-open311-invalid-id = "{ $value }" is not a service request id; send numbers separated by commas.
error-open311-unknown-service = "{ $value }" is not a service code; list the codes with GET services.
error-open311-invalid-status = "{ $value }" is not a status; send open, closed or both separated by a comma.
error-open311-invalid-date = "{ $value }" is not a date; send ISO 8601 with an offset, such as 2026-12-04T09:00:00+08:00.
error-open311-malformed-body = The request could not be read ({ $value }); send application/x-www-form-urlencoded or a JSON object.
error-open311-unknown-format = Unknown format; end the path with .json or .xml.
