//! The category catalogue: seeded defaults, CSV round trip, all-or-nothing import and
//! the `/api/v1/categories` routes.

use citycore::cases::catalogue::{
    CatalogueStore,
    service::{CatalogueError, export_catalogue, import_catalogue},
};

use crate::helpers::spawn_app;

const DEFAULT_CSV: &str = include_str!("../../data/catalogue/default.csv");

async fn export(app: &crate::helpers::TestApp) -> String {
    let mut output = Vec::new();
    export_catalogue(&app.db, &mut output).await.expect("export");
    String::from_utf8(output).expect("UTF-8")
}

/// Returns the header and the data rows of the shipped file, without its comments.
fn shipped_lines() -> Vec<&'static str> {
    DEFAULT_CSV.lines().filter(|line| !line.starts_with('#')).collect()
}

#[tokio::test]
async fn fresh_database_has_shipped_catalogue() {
    let app = spawn_app().await;
    assert_eq!(export(&app).await.lines().collect::<Vec<_>>(), shipped_lines());
}

#[tokio::test]
async fn catalogue_export_round_trips_into_fresh_database() {
    let source = spawn_app().await;
    let edited = DEFAULT_CSV.replace(",250,72\n", ",300,48\n");
    import_catalogue(&source.db, edited.as_bytes()).await.expect("import edited");
    let exported = export(&source).await;
    assert!(exported.contains(",300,48\n"), "{exported}");

    let target = spawn_app().await;
    let count = import_catalogue(&target.db, exported.as_bytes()).await.expect("import export");
    assert_eq!(count, shipped_lines().len() - 1);
    assert_eq!(export(&target).await, exported);
}

#[tokio::test]
async fn bad_catalogue_files_write_nothing() {
    let app = spawn_app().await;
    let before = export(&app).await;
    let lines = shipped_lines();
    let (header, first) = (lines[0], lines[1]);

    // Each file also carries one valid new category and one valid change, which must
    // not be written either.
    let new_row = first.replacen("C0101", "C0199", 1);
    let changed = lines[2].replacen("井盖破损", "井盖损坏", 1);
    let cases = [
        (
            "unknown unit",
            first.replacen("working_hours", "hours", 1),
            header.to_owned(),
            "dispatch_unit",
        ),
        (
            "negative limit",
            first.replacen(",2,working_hours", ",-2,working_hours", 1),
            header.to_owned(),
            "handling_limit",
        ),
        ("duplicate code", new_row.clone(), header.to_owned(), "code"),
        ("missing column", first.to_owned(), header.replace(",closing_criteria", ""), ""),
    ];

    for (description, bad_row, header, column) in cases {
        let file = format!("{header}\n{new_row}\n{changed}\n{bad_row}\n");
        let result = import_catalogue(&app.db, file.as_bytes()).await;
        let Err(CatalogueError::Import(errors)) = result else {
            panic!("{description}: expected import errors, got {result:?}");
        };

        let first_error = &errors.0[0];
        assert_eq!(
            first_error.column.clone().unwrap_or_default(),
            column,
            "{description}: {errors:?}"
        );
        assert_eq!(export(&app).await, before, "{description} wrote rows");
    }

    let code = citycore::cases::catalogue::CategoryCode::parse("C0199").unwrap();
    assert!(app.db.category_by_code(&code).await.unwrap().is_none());
}

#[tokio::test]
async fn categories_require_login() {
    let app = spawn_app().await;
    assert_eq!(app.get("/api/v1/categories").await.status(), 401);
    let response = app
        .client
        .put(app.url("/api/v1/categories/E0101"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}
