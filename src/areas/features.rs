//! Reading GeoJSON documents into area records, one per feature.
//!
//! Accepted documents: a FeatureCollection, a single Feature, or a bare Polygon or
//! MultiPolygon carrying a non-standard `properties` member (as the Amap district
//! files do). A single Feature or bare geometry is reported as `features[0]`.

use serde_json::{Map, Value};

use super::{
    Level,
    code::AreaCode,
    geometry::{FeatureSite, parse_polygons},
    import::ImportOptions,
};
use crate::http::UserMessage;

/// One GeoJSON text to import and the name used in messages (a file path or
/// `request body`).
#[derive(Debug, Clone)]
pub struct ImportSource {
    pub name: String,
    pub text: String,
}

/// A feature that parsed; its parent is still unresolved.
#[derive(Debug, Clone)]
pub struct AreaRecord {
    pub file: String,
    pub index: usize,
    pub code: AreaCode,
    pub name: String,
    /// `None` when neither an option, a property nor the code gives it.
    pub level: Option<Level>,
    /// The parent named by `--parent` or the parent property, with the member it came from.
    pub parent: Option<(String, String)>,
    pub geometry: Option<geo::MultiPolygon<f64>>,
    pub responsible_unit: Option<String>,
}

impl AreaRecord {
    pub fn site(&self) -> FeatureSite<'_> {
        FeatureSite { file: &self.file, index: self.index }
    }
}

/// Reads every feature of `source`, pushing each problem to `problems`.
pub fn read_source(
    source: &ImportSource,
    options: &ImportOptions,
    problems: &mut Vec<UserMessage>,
) -> Vec<AreaRecord> {
    let document: Value = match serde_json::from_str(&source.text) {
        Ok(document) => document,
        Err(error) => {
            problems.push(
                UserMessage::new("import_invalid_json")
                    .arg("file", &source.name)
                    .arg("reason", error.to_string())
                    .field(source.name.clone()),
            );
            return Vec::new();
        }
    };
    let features: Vec<&Value> = match document.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => match document.get("features") {
            Some(Value::Array(features)) => features.iter().collect(),
            _ => {
                problems.push(document_problem(source, "import_not_geojson", "features"));
                return Vec::new();
            }
        },
        Some("Feature" | "Polygon" | "MultiPolygon") => vec![&document],
        _ => {
            problems.push(document_problem(source, "import_not_geojson", "type"));
            return Vec::new();
        }
    };
    let mut records = Vec::with_capacity(features.len());
    for (index, feature) in features.into_iter().enumerate() {
        let site = FeatureSite { file: &source.name, index };
        if let Some(record) = read_feature(site, feature, options, problems) {
            records.push(record);
        }
    }
    records
}

fn document_problem(source: &ImportSource, code: &'static str, member: &str) -> UserMessage {
    UserMessage::new(code).arg("file", &source.name).arg("field", member).field(member)
}

/// Splits a Feature into properties and geometry; a bare geometry is its own geometry.
fn parts(feature: &Value) -> (Option<&Map<String, Value>>, Option<&Value>) {
    let properties = feature.get("properties").and_then(Value::as_object);
    if feature.get("type").and_then(Value::as_str) == Some("Feature") {
        (properties, feature.get("geometry").filter(|g| !g.is_null()))
    } else {
        (properties, Some(feature))
    }
}

fn read_feature(
    site: FeatureSite<'_>,
    feature: &Value,
    options: &ImportOptions,
    problems: &mut Vec<UserMessage>,
) -> Option<AreaRecord> {
    if !feature.is_object() {
        problems.push(site.problem("feature_invalid", "type"));
        return None;
    }
    let before = problems.len();
    let (properties, geometry) = parts(feature);
    let text = |name: &str| properties.and_then(|p| p.get(name)).and_then(property_text);

    let code = read_code(site, options, &text, problems);
    let name = match (text(&options.name_prop), &code) {
        (Some(name), _) => Some(name),
        // NBS tables list a province as `11` and a prefecture as `1101`, so a city code
        // such as `110000` also looks up its short form.
        (None, Some(code)) => options
            .names
            .get(code.as_str())
            .or_else(|| options.names.get(code.descendant_prefix()))
            .cloned(),
        (None, None) => None,
    };
    if name.is_none() && code.is_some() {
        let member = format!("properties.{}", options.name_prop);
        problems
            .push(site.problem("property_missing", &member).arg("property", &options.name_prop));
    }
    let level = read_level(site, options, &text, code.as_ref(), problems);
    let parent = match (&options.parent, text(&options.parent_prop)) {
        (Some(code), _) => Some((code.clone(), "parent".to_owned())),
        (None, Some(code)) => Some((code, format!("properties.{}", options.parent_prop))),
        (None, None) => None,
    };
    let geometry = geometry.and_then(|value| parse_polygons(site, value, problems));
    if problems.len() > before {
        return None;
    }
    Some(AreaRecord {
        file: site.file.to_owned(),
        index: site.index,
        code: code?,
        name: name?,
        level,
        parent,
        geometry,
        responsible_unit: text("responsible_unit"),
    })
}

/// Reads the code from `--code-prop`, or from `code` and then `adcode` by default.
fn read_code(
    site: FeatureSite<'_>,
    options: &ImportOptions,
    text: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<UserMessage>,
) -> Option<AreaCode> {
    let names: Vec<&str> = match &options.code_prop {
        Some(name) => vec![name.as_str()],
        None => vec!["code", "adcode"],
    };
    let Some((name, value)) = names.iter().find_map(|name| text(name).map(|v| (*name, v))) else {
        let member = format!("properties.{}", names[0]);
        problems.push(site.problem("property_missing", &member).arg("property", names[0]));
        return None;
    };
    match AreaCode::parse(&value) {
        Ok(code) => Some(code),
        Err(reason) => {
            let member = format!("properties.{name}");
            let problem = site.problem("code_invalid", &member).arg("code", &value);
            problems.push(problem.arg("reason", reason.to_string()));
            None
        }
    }
}

/// Reads the level from `--level`, then the level property, then the code's digits.
fn read_level(
    site: FeatureSite<'_>,
    options: &ImportOptions,
    text: &dyn Fn(&str) -> Option<String>,
    code: Option<&AreaCode>,
    problems: &mut Vec<UserMessage>,
) -> Option<Level> {
    if let Some(level) = options.level {
        return Some(level);
    }
    let member = format!("properties.{}", options.level_prop);
    if let Some(value) = text(&options.level_prop) {
        let level = Level::parse(&value);
        if level.is_none() {
            problems.push(site.problem("level_unknown", &member).arg("level", value));
        }
        return level;
    }
    let level = code.and_then(AreaCode::implied_level);
    if level.is_none() && code.is_some() {
        problems.push(site.problem("level_missing", &member));
    }
    level
}

/// Converts a property to text. Strings are trimmed and integers (such as a numeric
/// `adcode`) printed, while empty strings, null and other types count as missing.
fn property_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) if number.is_u64() => Some(number.to_string()),
        _ => None,
    }
}
