//! Services (the minor categories of the catalogue), service definitions and discovery.

use serde_json::{Value, json};

use super::{error::Open311Error, format::Document};
use crate::{
    cases::catalogue::{CatalogueStore, Category, CategoryCode},
    db::Db,
    http::AppError,
    i18n::Locale,
};

/// Version of this service list for discovery's `changeset`. It changes when the
/// endpoints or their formats change, not when the catalogue does.
const CHANGESET: &str = "2026-12-04T00:00:00Z";

/// Returns the name of `category` in `locale`.
pub fn service_name(category: &Category, locale: Locale) -> &str {
    match locale {
        Locale::ZhCn => &category.name_zh,
        Locale::En => &category.name_en,
    }
}

fn group_name(category: &Category, locale: Locale) -> &str {
    match locale {
        Locale::ZhCn => &category.major.name_zh,
        Locale::En => &category.major.name_en,
    }
}

/// Renders one service of `GET services`. Every category is realtime, because a POST creates
/// the case at once, and has no attributes, so `metadata` is false.
fn service_json(category: &Category, locale: Locale) -> Value {
    json!({
        "service_code": category.code.as_str(),
        "service_name": service_name(category, locale),
        // The filing criteria tell a reporter what counts as this kind of problem; they
        // are stored in one language only.
        "description": category.filing_criteria,
        "metadata": false,
        "type": "realtime",
        "keywords": category.code.kind().as_str(),
        "group": group_name(category, locale),
    })
}

/// Lists every category as a service.
///
/// # Errors
/// A server error when the catalogue cannot be read.
pub async fn list_services(db: &Db, locale: Locale) -> Result<Document, Open311Error> {
    let categories =
        db.list_categories().await.map_err(|error| AppError::Internal(error.into()))?;
    let services = categories.iter().map(|category| service_json(category, locale)).collect();
    Ok(Document::ok("services", Value::Array(services)))
}

/// Returns the definition of one service: its code and an empty attribute list.
///
/// # Errors
/// 404 naming the code when no category has it.
pub async fn service_definition(db: &Db, code: &str) -> Result<Document, Open311Error> {
    let not_found = || Open311Error::from(AppError::not_found("service", code));
    let parsed = CategoryCode::parse(code).ok_or_else(not_found)?;
    let category = db
        .category_by_code(&parsed)
        .await
        .map_err(|error| AppError::Internal(error.into()))?
        .ok_or_else(not_found)?;
    let definition = json!({ "service_code": category.code.as_str(), "attributes": [] });
    Ok(Document::ok("service_definition", definition))
}

/// Describes this endpoint for discovery; `base_url` is where `/open311/v2` is served.
pub fn discovery(base_url: &str) -> Document {
    let endpoint = json!({
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": base_url,
        "changeset": CHANGESET,
        "type": "production",
        "formats": ["application/json", "text/xml"],
    });
    // NOTE: contact and key_service stay empty until the operator can configure them.
    let discovery = json!({
        "changeset": CHANGESET,
        "contact": "",
        "key_service": "",
        "endpoints": [endpoint],
    });
    Document::ok("discovery", discovery)
}
