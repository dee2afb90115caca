//! The generated demo street shown by `citycore serve --demo`.
//!
//! A fictional street (街道) in Beijing's Chaoyang district with 8 communities of
//! 5 grids each, drawn on a jittered lattice so that neighbouring grids share their
//! vertices exactly, as surveyed grids do. Codes follow the NBS division scheme and
//! the 15-digit Beijing unit-grid code. Nothing here comes from real boundaries.

mod street;

use crate::{
    accounts::{
        Role,
        service::{AccountInput, create_account},
    },
    areas::AreaStore,
    audit::Actor,
    config::Settings,
    db::Db,
    locate::Locator,
};

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
    println!("citycore demo street 春望街道 created. Accounts (passwords are shown only once):");
    for (username, display_name, role, area) in DEMO_ACCOUNTS {
        let input = AccountInput {
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            role,
            area_codes: area.iter().map(|code| (*code).to_owned()).collect(),
            locale: None,
            department_code: None,
            password: None,
        };
        let created = create_account(db, &index, input, &Actor::cli()).await?;
        let password =
            created.generated_password.map(|p| p.expose().to_owned()).unwrap_or_default();
        println!("  {username:<10} {:<18} password: {password}", role.as_str());
    }
    Ok(())
}

/// Username, display name, role and area scope of each demo account.
const DEMO_ACCOUNTS: [(&str, &str, Role, Option<&str>); 5] = [
    ("admin", "街道管理员", Role::Administrator, None),
    ("paiqian", "指挥中心派遣员", Role::Dispatcher, Some("110105900")),
    ("chuzhi", "城管处置人员", Role::Handler, Some("110105900")),
    ("shequ", "春晖园社区工作者", Role::CommunityWorker, Some("110105900001")),
    ("wangge", "春晖园第1网格员", Role::GridWorker, Some("110105900001001")),
];
