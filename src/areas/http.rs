//! `/api/v1/areas` routes: list, detail, GeoJSON export and import.
//!
//! Every coordinate these routes return is WGS-84 longitude/latitude unless the
//! request sets `crs=gcj02` (export only).

use crate::http::Query;
use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};

use super::{
    Area, Level,
    crs::Crs,
    export::{ExportFilter, feature_collection},
    features::ImportSource,
    import::{ImportError, ImportOptions, ImportSummary, import_areas},
};
use crate::{
    accounts::{CurrentUser, Permission},
    http::{AppError, AppState, UserMessage},
    locate::AreaIndex,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/areas", get(list_areas))
        .route("/api/v1/areas.geojson", get(export_areas))
        .route("/api/v1/areas/import", post(import_areas_body))
        .route("/api/v1/areas/{code}", get(get_area))
}

/// Filters of the list and the export, as text so that bad values name their field.
#[derive(Debug, Deserialize)]
pub struct AreaFilterQuery {
    level: Option<String>,
    parent: Option<String>,
    crs: Option<String>,
}

fn parse_level(text: Option<&str>) -> Result<Option<Level>, AppError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => Level::parse(text).map(Some).ok_or_else(|| {
            AppError::BadRequest(
                UserMessage::new("level_query_unknown").arg("level", text).field("level"),
            )
        }),
    }
}

fn parse_crs(text: Option<&str>) -> Result<Crs, AppError> {
    match text.filter(|t| !t.is_empty()) {
        None => Ok(Crs::Wgs84),
        Some(text) => Crs::parse(text).ok_or_else(|| {
            AppError::BadRequest(UserMessage::new("crs_unknown").arg("crs", text).field("crs"))
        }),
    }
}

/// One area in a list; `bbox_wgs84` is `[min_lon, min_lat, max_lon, max_lat]`.
#[derive(Debug, Serialize)]
pub struct AreaItem {
    code: String,
    name: String,
    level: Level,
    parent_code: Option<String>,
    responsible_unit: Option<String>,
    bbox_wgs84: Option<[f64; 4]>,
}

impl AreaItem {
    fn new(area: &Area, index: &AreaIndex) -> Self {
        use geo::BoundingRect;
        let bbox = area.geometry.as_ref().and_then(|g| g.bounding_rect());
        Self {
            code: area.code.clone(),
            name: area.name.clone(),
            level: area.level,
            parent_code: area.parent_id.and_then(|id| index.area(id)).map(|p| p.code.clone()),
            responsible_unit: area.responsible_unit.clone(),
            bbox_wgs84: bbox.map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]),
        }
    }
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn list_areas(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(query): Query<AreaFilterQuery>,
) -> Result<Json<Vec<AreaItem>>, AppError> {
    user.require(Permission::ViewAreas)?;
    let level = parse_level(query.level.as_deref())?;
    let index = state.locator.snapshot();
    let parent_id = match query.parent.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(code) => Some(index.by_code(code).ok_or_else(|| area_not_found(code))?.area_id),
    };
    let items = index
        .areas()
        .iter()
        .filter(|a| level.is_none_or(|l| a.level == l))
        .filter(|a| parent_id.is_none_or(|p| a.parent_id == Some(p)))
        .map(|a| AreaItem::new(a, &index))
        .collect();
    Ok(Json(items))
}

fn area_not_found(code: &str) -> AppError {
    AppError::NotFound(UserMessage::new("area_not_found").arg("code", code).field("code"))
}

/// One area with its boundary (`geometry_wgs84`, GeoJSON), ancestors (city first) and
/// the codes of its children.
#[derive(Debug, Serialize)]
pub struct AreaDetail {
    #[serde(flatten)]
    area: AreaItem,
    geometry_wgs84: Option<serde_json::Value>,
    ancestors: Vec<AreaItem>,
    children: Vec<String>,
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id, area.code = %code))]
async fn get_area(
    user: CurrentUser,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<AreaDetail>, AppError> {
    user.require(Permission::ViewAreas)?;
    let index = state.locator.snapshot();
    let area = index.by_code(&code).ok_or_else(|| area_not_found(&code))?;
    let geometry = area.geometry.as_ref().map(|g| {
        serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(g)))
            .unwrap_or_default()
    });
    Ok(Json(AreaDetail {
        area: AreaItem::new(area, &index),
        geometry_wgs84: geometry,
        ancestors: index
            .ancestors(area.area_id)
            .into_iter()
            .map(|a| AreaItem::new(a, &index))
            .collect(),
        children: index.children(area.area_id).into_iter().map(|a| a.code.clone()).collect(),
    }))
}

#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn export_areas(
    user: CurrentUser,
    State(state): State<AppState>,
    Query(query): Query<AreaFilterQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    user.require(Permission::ViewAreas)?;
    let filter = ExportFilter {
        level: parse_level(query.level.as_deref())?,
        crs: parse_crs(query.crs.as_deref())?,
    };
    Ok(Json(feature_collection(state.locator.snapshot().areas(), filter)))
}

/// Query options of the import, named like the CLI flags. `--names` has no query
/// equivalent, so every feature posted here needs a name property.
#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    code_prop: Option<String>,
    name_prop: Option<String>,
    level_prop: Option<String>,
    parent_prop: Option<String>,
    level: Option<String>,
    parent: Option<String>,
    crs: Option<String>,
    #[serde(default)]
    update_existing: bool,
    #[serde(default)]
    dry_run: bool,
}

impl TryFrom<ImportQuery> for ImportOptions {
    type Error = AppError;

    fn try_from(query: ImportQuery) -> Result<Self, AppError> {
        let defaults = ImportOptions::default();
        Ok(ImportOptions {
            code_prop: query.code_prop,
            name_prop: query.name_prop.unwrap_or(defaults.name_prop),
            level_prop: query.level_prop.unwrap_or(defaults.level_prop),
            parent_prop: query.parent_prop.unwrap_or(defaults.parent_prop),
            level: parse_level(query.level.as_deref())?,
            parent: query.parent,
            names: defaults.names,
            crs: parse_crs(query.crs.as_deref())?,
            update_existing: query.update_existing,
            dry_run: query.dry_run,
        })
    }
}

/// Imports the GeoJSON body (administrators only), then rebuilds this node's index.
#[tracing::instrument(skip_all, fields(user.id = user.user_id))]
async fn import_areas_body(
    user: CurrentUser,
    client_ip: crate::accounts::ClientIp,
    State(state): State<AppState>,
    Query(query): Query<ImportQuery>,
    body: String,
) -> Result<Json<ImportSummary>, AppError> {
    user.require(Permission::ManageAreas)?;
    let options = ImportOptions::try_from(query)?;
    let source = ImportSource { name: "request body".to_owned(), text: body };
    let summary = import_areas(&state.db, &[source], &options).await.map_err(import_error)?;
    summary.audit(&state.db, &user.actor(&client_ip), "api").await;
    if !summary.dry_run {
        state.locator.reload(&state.db).await?;
    }
    Ok(Json(summary))
}

fn import_error(error: ImportError) -> AppError {
    match error {
        ImportError::Invalid(problems) => {
            let count = problems.len();
            AppError::Invalid(
                UserMessage::new("import_invalid").arg("count", count).details(problems),
            )
        }
        ImportError::Store(error) => AppError::Internal(error.into()),
    }
}
