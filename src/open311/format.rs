//! Output formats of Open311: the path extension picks JSON or XML, and one JSON value
//! renders as either.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

/// The format a client requests with the extension of the last path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// Splits a segment such as `services.json` into `services` and its format.
    /// Returns `None` for another extension or none at all.
    pub fn split(segment: &str) -> Option<(&str, Format)> {
        let (stem, extension) = segment.rsplit_once('.')?;
        let format = match extension {
            "json" => Format::Json,
            "xml" => Format::Xml,
            _ => return None,
        };
        Some((stem, format))
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// One response body before it is written: the JSON value and, for XML, the name of
/// the root element that wraps it.
#[derive(Debug, Clone)]
pub struct Document {
    pub status: StatusCode,
    pub root: &'static str,
    pub value: Value,
}

impl Document {
    pub fn ok(root: &'static str, value: Value) -> Document {
        Document { status: StatusCode::OK, root, value }
    }

    /// Writes the body in `format` with its content type.
    pub fn render(&self, format: Format) -> Response {
        let body = match format {
            Format::Json => self.value.to_string(),
            Format::Xml => {
                let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
                write_element(&mut xml, self.root, &self.value);
                xml
            }
        };
        let mut response = (self.status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
        response
    }
}

/// The element name of one item of a list, following the specification's XML examples:
/// `<services>` contains `<service>` elements, `<service_requests>` contains `<request>`.
fn item_name(list: &str) -> &str {
    match list {
        "services" => "service",
        "service_requests" => "request",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "errors" => "error",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

/// Appends `<name>value</name>`, with objects as child elements in key order, arrays
/// as one child per item, and `null` as an empty element.
fn write_element(xml: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => {
            xml.push('<');
            xml.push_str(name);
            xml.push_str("/>");
        }
        Value::Object(fields) => {
            open_tag(xml, name);
            for (key, field) in fields {
                write_element(xml, key, field);
            }
            close_tag(xml, name);
        }
        Value::Array(items) => {
            open_tag(xml, name);
            for item in items {
                write_element(xml, item_name(name), item);
            }
            close_tag(xml, name);
        }
        Value::String(text) => {
            open_tag(xml, name);
            push_escaped(xml, text);
            close_tag(xml, name);
        }
        Value::Bool(_) | Value::Number(_) => {
            open_tag(xml, name);
            xml.push_str(&value.to_string());
            close_tag(xml, name);
        }
    }
}

fn open_tag(xml: &mut String, name: &str) {
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
}

fn close_tag(xml: &mut String, name: &str) {
    xml.push_str("</");
    xml.push_str(name);
    xml.push('>');
}

/// Escapes markup characters, and replaces control characters that XML 1.0 forbids
/// even as references with U+FFFD, so that user text cannot break the document.
fn push_escaped(xml: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '&' => xml.push_str("&amp;"),
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '"' => xml.push_str("&quot;"),
            '\'' => xml.push_str("&apos;"),
            '\t' | '\n' | '\r' => xml.push(character),
            c if c.is_control() && u32::from(c) < 0x20 => xml.push('\u{FFFD}'),
            '\u{FFFE}' | '\u{FFFF}' => xml.push('\u{FFFD}'),
            c => xml.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml_of(root: &'static str, value: Value) -> String {
        let mut xml = String::new();
        write_element(&mut xml, root, &value);
        xml
    }

    #[test]
    fn split_reads_json_and_xml_extensions() {
        assert_eq!(Format::split("services.json"), Some(("services", Format::Json)));
        assert_eq!(Format::split("42.xml"), Some(("42", Format::Xml)));
        assert_eq!(Format::split("services.html"), None);
        assert_eq!(Format::split("services"), None);
    }

    #[test]
    fn xml_wraps_list_items_in_singular_elements() {
        let value = serde_json::json!([{ "service_code": "E0101", "metadata": false }]);
        assert_eq!(
            xml_of("services", value),
            "<services><service><metadata>false</metadata>\
             <service_code>E0101</service_code></service></services>"
        );
    }

    #[test]
    fn xml_escapes_markup_and_control_characters() {
        let value = serde_json::json!({ "description": "<a href=\"x\">&'\u{1}" });
        assert_eq!(
            xml_of("request", value),
            "<request><description>&lt;a href=&quot;x&quot;&gt;&amp;&apos;\u{FFFD}\
             </description></request>"
        );
    }

    #[test]
    fn xml_writes_null_as_empty_element() {
        let value = serde_json::json!({ "media_url": null });
        assert_eq!(xml_of("request", value), "<request><media_url/></request>");
    }
}
