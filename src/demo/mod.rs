//! The generated demo street shown by `citycore serve --demo`.
//!
//! A fictional street (街道) in Beijing's Chaoyang district with 8 communities of
//! 5 grids each, drawn on a jittered lattice so that neighbouring grids share their
//! vertices exactly, as surveyed grids do. Codes follow the NBS division scheme and
//! the 15-digit Beijing unit-grid code. Nothing here comes from real boundaries. The
//! street's gazetteer of made-up compounds, buildings, roads and landmarks comes with
//! it, so that reports by address work in the demo, and devices of the smart core with
//! two days of readings, so that its dashboard has something to show.

mod devices;
mod parking;
mod places;
mod street;

use crate::{
    accounts::{
        Role,
        service::{AccountInput, create_account},
    },
    areas::AreaStore,
    audit::Actor,
    cases::routing::service::{RuleDraft, replace_rules},
    config::Settings,
    db::Db,
    locate::{AreaIndex, Locator},
};

pub use places::demo_places_csv;
pub use street::demo_areas;

/// Creates the demo street and its staff accounts when the database has no areas.
///
/// A second start with the same data reuses it and creates nothing.
///
/// # Errors
/// Fails when the database fails.
pub async fn seed_if_empty(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    if !db.list_areas().await?.is_empty() {
        tracing::info!("areas exist; demo data not created");
        return Ok(());
    }
    let areas = demo_areas();
    db.insert_areas(&areas).await?;
    tracing::info!(areas = areas.len(), "demo street created");
    let locator = Locator::new(settings.locate.clone());
    locator.reload(db).await?;
    let index = locator.snapshot();
    let gazetteer = demo_places_csv();
    let counts = crate::places::import::import_places(
        db,
        &index,
        gazetteer.as_bytes(),
        crate::areas::crs::Crs::Wgs84,
        &Actor::cli(),
        "demo",
    )
    .await?;
    tracing::info!(places = counts.created, "demo gazetteer created");
    seed_routing_rules(db, &index).await?;
    println!("citycore demo street 春望街道 created. Accounts (passwords are shown only once):");
    let mut admin_id = None;
    for (username, display_name, role, area, department) in DEMO_ACCOUNTS {
        let input = AccountInput {
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            role,
            area_codes: area.iter().map(|code| (*code).to_owned()).collect(),
            locale: None,
            department_code: department.map(str::to_owned),
            password: None,
        };
        let created = create_account(db, &index, input, &Actor::cli()).await?;
        if role == Role::Administrator {
            admin_id = Some(created.user_id);
        }
        let password =
            created.generated_password.map(|p| p.expose().to_owned()).unwrap_or_default();
        println!("  {username:<10} {:<18} password: {password}", role.as_str());
    }
    if let Some(admin_id) = admin_id {
        parking::seed_parking(db, &index, admin_id).await?;
    }
    devices::seed_devices(db, &index, settings).await?;
    Ok(())
}

/// Username, display name, role, area scope and department of each demo account. The
/// handler belongs to the street's enforcement team (CGZF), which [`DEMO_RULES`] makes
/// responsible for street appearance in 春晖园, the grid worker's community.
type DemoAccount = (&'static str, &'static str, Role, Option<&'static str>, Option<&'static str>);
const DEMO_ACCOUNTS: [DemoAccount; 6] = [
    ("admin", "街道管理员", Role::Administrator, None, None),
    ("paiqian", "指挥中心派遣员", Role::Dispatcher, Some("110105900"), None),
    ("chuzhi", "城管处置人员", Role::Handler, Some("110105900"), Some("CGZF")),
    ("shequ", "春晖园社区工作者", Role::CommunityWorker, Some("110105900001"), None),
    ("wangge", "春晖园第1网格员", Role::GridWorker, Some("110105900001001"), None),
    // Owns the shopping street's car park and shares it at night (see `parking`).
    ("shanghu", "春望商业街商户", Role::Merchant, None, None),
];

/// Basis, area code, category scope and department of each demo routing rule.
///
/// Street appearance (E01) in 春晖园 falls to the enforcement team, except in its
/// second grid, whose sanitation station (HWS) is closer: the grid rule wins. In 青禾里,
/// a residential compound, the housing office (ZJS) owns the public facilities (C01).
const DEMO_RULES: [(&str, &str, &str, &str); 3] = [
    ("territory", "110105900001", "E01", "CGZF"),
    ("territory", "110105900001002", "E01", "HWS"),
    ("owner", "110105900002", "C01", "ZJS"),
];

/// Stores [`DEMO_RULES`] through the same validation as an import.
async fn seed_routing_rules(db: &Db, index: &AreaIndex) -> anyhow::Result<()> {
    let drafts: Vec<RuleDraft> = DEMO_RULES
        .iter()
        .map(|(basis, area_code, category, department_code)| RuleDraft {
            basis: (*basis).to_owned(),
            area_code: (*area_code).to_owned(),
            category: Some((*category).to_owned()),
            department_code: (*department_code).to_owned(),
        })
        .collect();
    let rules = replace_rules(db, index, &drafts).await?;
    tracing::info!(routing.rules = rules.len(), "demo routing rules created");
    Ok(())
}
