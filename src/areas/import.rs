//! Import of areas from GeoJSON: read every feature, check the whole batch against
//! itself and the stored areas, then write all of it in one transaction or nothing.

use std::collections::{BTreeMap, HashMap};

use super::{
    Level,
    code::AreaCode,
    features::{AreaRecord, ImportSource, read_source},
    store::{AreaStore, AreaUpdate, NewArea, StoreError},
};
use crate::{db::Db, http::UserMessage};

/// Most problems reported for one import; later ones are counted, not listed.
pub const MAX_REPORTED_PROBLEMS: usize = 50;

/// How to read the features; the CLI flags and the import endpoint's query map onto it.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Property holding the code; `None` reads `code`, then `adcode`.
    pub code_prop: Option<String>,
    pub name_prop: String,
    pub level_prop: String,
    pub parent_prop: String,
    /// Level of every feature, overriding properties and codes.
    pub level: Option<Level>,
    /// Parent code of every feature, overriding properties and code prefixes.
    pub parent: Option<String>,
    /// Names by code for features without a name property (from `--names CSV`).
    pub names: HashMap<String, String>,
    /// System of the input coordinates; stored coordinates are always WGS-84.
    pub crs: super::crs::Crs,
    /// Replace the name and geometry of stored codes instead of rejecting them.
    pub update_existing: bool,
    /// Check everything but write nothing.
    pub dry_run: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            code_prop: None,
            name_prop: "name".to_owned(),
            level_prop: "level".to_owned(),
            parent_prop: "parent_code".to_owned(),
            level: None,
            parent: None,
            names: HashMap::new(),
            crs: super::crs::Crs::Wgs84,
            update_existing: false,
            dry_run: false,
        }
    }
}

/// The counts per level of areas an import wrote (or, on a dry run, would write).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportSummary {
    pub created: BTreeMap<Level, usize>,
    pub updated: BTreeMap<Level, usize>,
    pub dry_run: bool,
}

impl ImportSummary {
    /// Writes the import to the audit log; a dry run changed nothing and is not logged.
    pub async fn audit(&self, db: &Db, actor: &crate::audit::Actor, source: &str) {
        if self.dry_run {
            return;
        }
        let detail = format!(
            "source={source} created={} updated={}",
            self.created_total(),
            self.updated_total()
        );
        let entry = crate::audit::NewAuditEntry {
            actor,
            action: crate::audit::AuditAction::AreasImported,
            target: Some("areas".to_owned()),
            detail: Some(detail),
        };
        crate::audit::record(db, entry).await;
    }

    pub fn created_total(&self) -> usize {
        self.created.values().sum()
    }

    pub fn updated_total(&self) -> usize {
        self.updated.values().sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input breaks rules; nothing was written. At most
    /// [`MAX_REPORTED_PROBLEMS`] problems, then one `import_problems_truncated`.
    #[error("{} problems in the import", .0.len())]
    Invalid(Vec<UserMessage>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An area that a feature may name as its parent, stored or earlier in the batch.
#[derive(Debug, Clone, Copy)]
struct KnownArea {
    level: Level,
}

/// Imports `sources` as one batch.
///
/// # Errors
/// [`ImportError::Invalid`] lists the problems of every file when any feature is
/// invalid; nothing is written then. [`ImportError::Store`] when the database fails.
#[tracing::instrument(skip_all, fields(import.files = sources.len(), import.dry_run = options.dry_run))]
pub async fn import_areas(
    db: &Db,
    sources: &[ImportSource],
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let stored: HashMap<String, KnownArea> = db
        .list_areas()
        .await?
        .into_iter()
        .map(|area| (area.code, KnownArea { level: area.level }))
        .collect();
    let mut problems = Vec::new();
    let records: Vec<AreaRecord> =
        sources.iter().flat_map(|source| read_source(source, options, &mut problems)).collect();
    let (inserts, updates) = plan_writes(records, &stored, options, &mut problems);
    if !problems.is_empty() {
        tracing::debug!(import.problems = problems.len(), "import rejected");
        return Err(ImportError::Invalid(truncate(problems)));
    }
    let summary = summarize(&inserts, &updates, options.dry_run);
    if !options.dry_run {
        let updates: Vec<AreaUpdate> = updates.into_iter().map(|(_, update)| update).collect();
        db.write_areas(&inserts, &updates).await?;
        tracing::info!(
            areas.created = summary.created_total(),
            areas.updated = summary.updated_total(),
            "areas imported"
        );
    }
    Ok(summary)
}

/// Checks codes, levels and parents across the batch and splits it into inserts
/// (sorted parents first) and updates.
fn plan_writes(
    records: Vec<AreaRecord>,
    stored: &HashMap<String, KnownArea>,
    options: &ImportOptions,
    problems: &mut Vec<UserMessage>,
) -> (Vec<NewArea>, Vec<(Level, AreaUpdate)>) {
    let mut known = stored.clone();
    let mut first_seen: HashMap<String, (String, usize)> = HashMap::new();
    for record in &records {
        let code = record.code.as_str().to_owned();
        if let Some((file, index)) = first_seen.get(&code) {
            let problem = record.site().problem("duplicate_code", "properties.code");
            let first = format!("{file} features[{index}]");
            problems.push(problem.arg("code", &code).arg("first", first));
            continue;
        }
        first_seen.insert(code.clone(), (record.file.clone(), record.index));
        if let (Some(level), false) = (record.level, stored.contains_key(&code)) {
            known.insert(code, KnownArea { level });
        }
    }
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    let mut handled = std::collections::HashSet::new();
    for record in records {
        let code = record.code.as_str().to_owned();
        if !handled.insert(code.clone()) {
            continue;
        }
        let Some(level) = record.level else { continue };
        if let Some(existing) = stored.get(&code) {
            if options.update_existing {
                let geometry = record.geometry.map(|g| options.crs.polygon_to_wgs84(&g));
                updates.push((existing.level, AreaUpdate { code, name: record.name, geometry }));
            } else {
                let problem = record.site().problem("code_exists", "properties.code");
                problems.push(problem.arg("code", &code));
            }
            continue;
        }
        let Some(parent_code) = resolve_parent(&record, level, &known, problems) else { continue };
        inserts.push(NewArea {
            code,
            name: record.name,
            level,
            parent_code,
            geometry: record.geometry.map(|g| options.crs.polygon_to_wgs84(&g)),
            responsible_unit: record.responsible_unit,
        });
    }
    inserts.sort_by_key(|area| area.level);
    (inserts, updates)
}

/// Resolves the parent code (`Some(None)` for a top area), or pushes a problem and
/// returns `None`.
///
/// A named parent must exist, sit at a higher level and, for numeric codes, be a
/// prefix of the child. Without one, the nearest code prefix that exists is taken.
fn resolve_parent(
    record: &AreaRecord,
    level: Level,
    known: &HashMap<String, KnownArea>,
    problems: &mut Vec<UserMessage>,
) -> Option<Option<String>> {
    let Some((parent, member)) = &record.parent else {
        let inferred = record.code.parent_candidates().into_iter().find(|c| known.contains_key(c));
        return Some(inferred);
    };
    let site = record.site();
    let Some(found) = known.get(parent) else {
        problems.push(site.problem("parent_unknown", member).arg("parent", parent));
        return None;
    };
    if found.level >= level {
        let problem = site.problem("parent_level", member).arg("parent", parent);
        let problem = problem.arg("parent_level", found.level.as_str());
        problems.push(problem.arg("level", level.as_str()));
        return None;
    }
    let fits = AreaCode::parse(parent).is_ok_and(|p| record.code.fits_under(&p));
    if !fits {
        let problem = site.problem("code_prefix_mismatch", member).arg("parent", parent);
        problems.push(problem.arg("code", record.code.as_str()));
        return None;
    }
    Some(Some(parent.clone()))
}

fn summarize(inserts: &[NewArea], updates: &[(Level, AreaUpdate)], dry_run: bool) -> ImportSummary {
    let mut summary = ImportSummary { dry_run, ..ImportSummary::default() };
    for area in inserts {
        *summary.created.entry(area.level).or_default() += 1;
    }
    for (level, _) in updates {
        *summary.updated.entry(*level).or_default() += 1;
    }
    summary
}

fn truncate(mut problems: Vec<UserMessage>) -> Vec<UserMessage> {
    if problems.len() > MAX_REPORTED_PROBLEMS {
        let hidden = problems.len() - MAX_REPORTED_PROBLEMS;
        problems.truncate(MAX_REPORTED_PROBLEMS);
        problems.push(UserMessage::new("import_problems_truncated").arg("count", hidden));
    }
    problems
}

/// Reads a `code,name` CSV such as the NBS division tables: a header line naming
/// `code` and `name` columns (else the first two columns are used), fields optionally
/// in double quotes with `""` for a quote.
///
/// # Errors
/// A line without the code or name column, with its 1-based line number.
pub fn parse_names_csv(text: &str) -> Result<HashMap<String, String>, String> {
    let mut lines = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty());
    let Some((_, header)) = lines.next() else { return Ok(HashMap::new()) };
    let header = split_csv_line(header.trim_start_matches('\u{feff}'));
    let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (code_column, name_column, skip_header) = match (column("code"), column("name")) {
        (Some(code), Some(name)) => (code, name, true),
        _ => (0, 1, false),
    };
    let mut names = HashMap::new();
    let first = (!skip_header).then(|| (0, header.join(",")));
    for (number, line) in first.into_iter().chain(lines.map(|(n, l)| (n, l.to_owned()))) {
        let fields = split_csv_line(&line);
        match (fields.get(code_column), fields.get(name_column)) {
            (Some(code), Some(name)) => {
                names.insert(code.trim().to_owned(), name.trim().to_owned())
            }
            _ => return Err(format!("line {} has no code and name columns", number + 1)),
        };
    }
    Ok(names)
}

fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                push_char(&mut fields, '"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => push_char(&mut fields, c),
        }
    }
    fields
}

fn push_char(fields: &mut [String], c: char) {
    if let Some(field) = fields.last_mut() {
        field.push(c);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::areas::features::read_source;

    #[test]
    fn names_csv_reads_quoted_names_by_header() {
        let text = "code,name,cityCode\n110105,\"朝阳区\",1101\n110108,\"海淀\"\"区\",1101\n";
        let names = parse_names_csv(text).unwrap();
        assert_eq!(names.get("110105").map(String::as_str), Some("朝阳区"));
        assert_eq!(names.get("110108").map(String::as_str), Some("海淀\"区"));
    }

    #[test]
    fn names_csv_without_header_uses_first_columns() {
        let names = parse_names_csv("11,北京市\n12,天津市\n").unwrap();
        assert_eq!(names.len(), 2);
        assert_eq!(names.get("11").map(String::as_str), Some("北京市"));
    }

    #[test]
    fn bare_geometry_reads_numeric_adcode_and_csv_name() {
        let document = json!({
            "type": "MultiPolygon",
            "coordinates": [[[[116.4, 39.9], [116.5, 39.9], [116.5, 40.0], [116.4, 39.9]]]],
            "properties": {"adcode": 110105},
        });
        let source = ImportSource { name: "110105.geojson".to_owned(), text: document.to_string() };
        let mut options = ImportOptions::default();
        options.names.insert("110105".to_owned(), "朝阳区".to_owned());
        let mut problems = Vec::new();
        let records = read_source(&source, &options, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].code.as_str(), "110105");
        assert_eq!(records[0].name, "朝阳区");
        assert_eq!(records[0].level, Some(Level::District));
    }

    #[test]
    fn city_code_finds_its_short_nbs_name() {
        let document =
            json!({"type": "Feature", "properties": {"code": "110000"}, "geometry": null});
        let source = ImportSource { name: "city.geojson".to_owned(), text: document.to_string() };
        let mut options = ImportOptions::default();
        options.names.insert("11".to_owned(), "北京市".to_owned());
        let mut problems = Vec::new();
        let records = read_source(&source, &options, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(records[0].name, "北京市");
        assert_eq!(records[0].level, Some(Level::City));
    }

    #[test]
    fn malformed_documents_name_the_file() {
        let cases = [
            ("not json", "{", "import_invalid_json"),
            ("geometry collection", r#"{"type": "GeometryCollection"}"#, "import_not_geojson"),
        ];
        for (description, text, code) in cases {
            let source = ImportSource { name: "bad.geojson".to_owned(), text: text.to_owned() };
            let mut problems = Vec::new();
            read_source(&source, &ImportOptions::default(), &mut problems);
            assert_eq!(problems.len(), 1, "{description}");
            assert_eq!(problems[0].code, code, "{description}");
            assert!(
                problems[0].args.contains(&("file", "bad.geojson".to_owned())),
                "{description}"
            );
        }
    }

    #[test]
    fn long_problem_lists_are_truncated() {
        let problems = vec![UserMessage::new("ring_unclosed"); MAX_REPORTED_PROBLEMS + 7];
        let kept = truncate(problems);
        assert_eq!(kept.len(), MAX_REPORTED_PROBLEMS + 1);
        assert_eq!(kept[MAX_REPORTED_PROBLEMS].code, "import_problems_truncated");
        assert!(kept[MAX_REPORTED_PROBLEMS].args.contains(&("count", "7".to_owned())));
    }
}
