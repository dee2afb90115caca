//! Import of households and residents from `.xlsx` and CSV files, and export of
//! masked, scoped and audited resident lists.

use citycore::{
    accounts::Role,
    audit::{AuditAction, AuditStore},
    with_pool,
};
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, areas, spawn_app};

const CHINESE_HEADER: &str = "地址,网格,姓名,公民身份号码,与户主关系,联系电话,标签";
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Builds a valid identity number for a Chaoyang resident born on `birth` (YYYYMMDD),
/// with sequence `sequence` (odd for men) and the GB 11643 check digit.
pub(crate) fn identity(birth: &str, sequence: u32) -> String {
    let body = format!("110105{birth}{:03}", sequence % 1000);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(weights).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
    format!("{body}{check}")
}

/// Returns the same number with its check digit changed.
fn with_wrong_check_digit(number: &str) -> String {
    let last = if number.ends_with('1') { '2' } else { '1' };
    format!("{}{last}", &number[..17])
}

pub(crate) async fn registry_app() -> (TestApp, Session) {
    let app = spawn_app().await;
    app.ensure_test_areas().await;
    let admin = app.login_as(Role::Administrator, &[]).await;
    for (code, name_zh, kind) in
        [("living_alone", "独居老人", "plain"), ("disabled", "残疾人", "disability")]
    {
        let tag = json!({ "code": code, "name_zh": name_zh, "name_en": code, "kind": kind });
        assert_eq!(admin.post_json("/api/v1/resident-tags", &tag).await.status(), 201);
    }
    (app, admin)
}

pub(crate) async fn upload(
    session: &Session,
    file_name: &str,
    bytes: Vec<u8>,
    query: &str,
) -> reqwest::Response {
    upload_with(session, file_name, bytes, query, &[]).await
}

pub(crate) async fn upload_with(
    session: &Session,
    file_name: &str,
    bytes: Vec<u8>,
    query: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
    let mut form = reqwest::multipart::Form::new().part("file", part);
    for (name, value) in fields {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    let url = session.url(&format!("/api/v1/resident-imports{query}"));
    let request = session.client.post(url).header("x-csrf-token", &session.csrf_token);
    request.multipart(form).send().await.expect("request sent")
}

pub(crate) async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    with_pool!(&app.db, |pool| {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).fetch_one(pool).await.unwrap()
    })
}

pub(crate) fn csv_file(rows: &[String]) -> Vec<u8> {
    let mut text = format!("{CHINESE_HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.into_bytes()
}

/// Builds a workbook with one sheet per `(name, rows)`, every cell a string.
fn workbook(sheets: &[(&str, Vec<Vec<String>>)]) -> Workbook {
    let mut workbook = Workbook::new();
    for (name, rows) in sheets {
        let sheet = workbook.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                sheet.write_string(r as u32, c as u16, cell).unwrap();
            }
        }
    }
    workbook
}

fn split(line: &str) -> Vec<String> {
    line.split(',').map(str::to_owned).collect()
}

/// Finds the problems of one row as (field, code) pairs.
fn problems_of(report: &Value, row: u64) -> Vec<(String, String)> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["row"] == row)
        .map(|p| (p["field"].as_str().unwrap().to_owned(), p["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn template_downloads_in_chinese_and_english() {
    let (_app, admin) = registry_app().await;
    let response = admin.get("/api/v1/resident-imports/template").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], XLSX_TYPE);
    let bytes = response.bytes().await.unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    use calamine::Reader;
    assert_eq!(book.sheet_names(), vec!["居民".to_owned()]);
    let range = book.worksheet_range("居民").unwrap();
    assert_eq!(range.get_value((0, 0)).unwrap().to_string(), "地址");
    assert_eq!(range.get_value((0, 3)).unwrap().to_string(), "公民身份号码");
    assert_eq!(range.height(), 2, "header and one example row");

    let english = admin.get("/api/v1/resident-imports/template?format=csv&locale=en").await;
    assert_eq!(english.status(), 200);
    let text = english.text().await.unwrap();
    assert!(text.starts_with("\u{feff}Address,Grid,Name,Identity number"), "{text}");

    let template = admin.get("/api/v1/resident-imports/template?format=csv").await;
    let bytes = template.bytes().await.unwrap().to_vec();
    let response = upload(&admin, "template.csv", bytes, "").await;
    assert_eq!(response.status(), 200, "the unchanged template checks cleanly");
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["skipped_rows"], json!([2]), "the example row is skipped");
    assert_eq!(report["residents_to_create"], 0);
}

/// A file with two good rows and one row for each kind of problem, as
/// `(row text, expected problems)`; the header is row 1.
fn mixed_rows(registered: &str) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let good_1 = identity("19520314", 21);
    let good_2 = identity("19550807", 42);
    let twice = identity("19800101", 13);
    let grid = areas::GRID_A1;
    vec![
        (format!("春望里1号楼101室,{grid},李建国,{good_1},户主,13800138001,living_alone"), vec![]),
        (format!("春望里1号楼101室,花家地第一网格,张桂兰,{good_2},配偶,,"), vec![]),
        (
            format!("春望里2号楼,{grid},王强,{},户主,,", with_wrong_check_digit(&twice)),
            vec![("identity_number", "identity_number_check_digit")],
        ),
        (
            format!("春望里3号楼,110105001009009,赵敏,{twice},户主,,"),
            vec![("grid", "resident_import_grid_unknown")],
        ),
        (
            format!("春望里4号楼,{grid},,{},户主,,", identity("19900220", 33)),
            vec![("name", "resident_import_value_missing")],
        ),
        (
            format!("春望里5号楼,{grid},孙丽,{},户主,12-34,", identity("19910101", 44)),
            vec![("phone", "phone_invalid")],
        ),
        (
            format!("春望里6号楼,{grid},周杰,{},表哥,,", identity("19920101", 55)),
            vec![("relation", "resident_import_relation_unknown")],
        ),
        (
            format!("春望里7号楼,{grid},吴芳,{},户主,,no_such_tag", identity("19930101", 66)),
            vec![("tags", "resident_tag_unknown")],
        ),
        (
            format!("春望里8号楼,{grid},郑伟,{registered},户主,,"),
            vec![("identity_number", "resident_import_duplicate_registered")],
        ),
        (
            format!("春望里9号楼,{grid},钱进,{good_1},户主,,"),
            vec![("identity_number", "resident_import_duplicate_in_file")],
        ),
        (
            format!("春望里10号楼,{},冯雪,{},户主,,", areas::GRID_B1, identity("19940101", 77)),
            vec![("grid", "resident_import_grid_out_of_scope")],
        ),
        (
            format!("春望里11号楼,{grid},陈晨,1101051985,户主,,"),
            vec![("identity_number", "identity_number_format")],
        ),
    ]
}

#[tokio::test]
async fn dry_run_and_rejected_apply_report_every_problem() {
    let (app, admin) = registry_app().await;
    let registered = identity("19700101", 99);
    let seed = csv_file(&[format!("春望里12号楼,{},韩梅,{registered},户主,,", areas::GRID_A2)]);
    assert_eq!(upload(&admin, "seed.csv", seed, "?mode=apply").await.status(), 201);
    let cases = mixed_rows(&registered);
    let rows: Vec<String> = cases.iter().map(|(row, _)| row.clone()).collect();
    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let (residents_before, households_before) =
        (count(&app, "resident").await, count(&app, "household").await);

    let response = upload(&worker, "名册.csv", csv_file(&rows), "").await;
    assert_eq!(response.status(), 200, "a dry run answers 200 even with problems");
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["mode"], "dry_run");
    assert_eq!(report["applied"], false);
    assert_eq!(report["rows"], 12);
    for (position, (_, expected)) in cases.iter().enumerate() {
        let row = position as u64 + 2;
        let found = problems_of(&report, row);
        let expected: Vec<(String, String)> =
            expected.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect();
        assert_eq!(found, expected, "row {row}");
    }
    let first = &report["problems"][0];
    assert_eq!(first["column"], "D (公民身份号码)", "the column is named as the sheet shows it");
    assert!(first["message"].as_str().unwrap().contains("校验码"), "{first}");
    assert_eq!(report["problem_count"], 10);
    assert_eq!(report["households_to_create"], 1, "the two good rows share an address");
    assert_eq!(report["residents_to_create"], 2);

    let response = upload(&worker, "名册.csv", csv_file(&rows), "?mode=apply").await;
    assert_eq!(response.status(), 422, "an apply with problems is rejected");
    let rejected: Value = response.json().await.unwrap();
    assert_eq!(rejected["problem_count"], 10);
    assert_eq!(rejected["applied"], false);
    assert_eq!(rejected["problems"], report["problems"], "the same report as the dry run");
    assert_eq!(count(&app, "resident").await, residents_before, "no resident written");
    assert_eq!(count(&app, "household").await, households_before, "no household written");
    let audit = app.db.list_audit(Some(AuditAction::ResidentsImported), 10, 0).await.unwrap();
    assert_eq!(audit.total, 1, "only the seed import is audited");
}

#[tokio::test]
async fn apply_writes_households_and_joins_registered_ones() {
    let (app, admin) = registry_app().await;
    let grid = areas::GRID_A1;
    let head = identity("19480512", 11);
    let (spouse, other) = (identity("19500923", 22), identity("19850101", 33));
    let rows = vec![
        vec!["Address", "Grid", "Name", "Identity number", "Relation", "Phone", "Tags"],
        vec![
            "春望里1号楼101室",
            grid,
            "李建国",
            &head,
            "head",
            "138 0013 8001",
            "living_alone、disabled:physical:2",
        ],
        vec!["春望里1号楼101室", grid, "张桂兰", &spouse, "spouse", "", ""],
        vec!["春望里2号楼202室", areas::GRID_A2, "王磊", &other, "户主", "", ""],
    ];
    let rows: Vec<Vec<String>> =
        rows.into_iter().map(|r| r.into_iter().map(str::to_owned).collect()).collect();
    let bytes = workbook(&[("Residents", rows)]).save_to_buffer().unwrap();
    let response = upload(&admin, "residents.xlsx", bytes, "?mode=apply").await;
    assert_eq!(response.status(), 201);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["applied"], true);
    assert_eq!(report["format"], "xlsx");
    assert_eq!(report["sheet"], "Residents");
    assert_eq!(report["households_to_create"], 2);
    assert_eq!(report["residents_to_create"], 3);
    assert_eq!(count(&app, "household").await, 2);
    assert_eq!(count(&app, "resident").await, 3);
    assert_eq!(count(&app, "resident_tag_assignment").await, 2);

    let found: Vec<Value> =
        admin.get(&format!("/api/v1/residents?identity_number={head}")).await.json().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["phone"], "138****8001");
    assert_eq!(found[0]["relation"], "head");
    assert_eq!(found[0]["tags"][0]["code"], "disabled", "tags are listed by code");
    assert_eq!(found[0]["tags"][0]["disability_grade"], 2);
    let audit = app.db.list_audit(Some(AuditAction::ResidentsImported), 10, 0).await.unwrap();
    let detail = audit.entries[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("residents=3"), "{detail}");
    assert!(!detail.contains(&head), "the audit entry holds no number");

    // A GB18030 CSV, as Chinese Excel saves it, adds a member to the first household.
    let text = format!(
        "{CHINESE_HEADER}\n春望里1号楼101室,{grid},李小龙,{},子女,,\n",
        identity("19800808", 51)
    );
    let (gb18030, _, _) = encoding_rs::GB18030.encode(&text);
    let response = upload(&admin, "名册.csv", gb18030.into_owned(), "?mode=apply").await;
    assert_eq!(response.status(), 201);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["encoding"], "gb18030");
    assert_eq!(report["households_to_join"], 1);
    assert_eq!(report["households_to_create"], 0);
    assert_eq!(count(&app, "household").await, 2, "the member joined the registered household");
    assert_eq!(count(&app, "resident").await, 4);
}

#[tokio::test]
async fn bad_files_get_an_error_naming_the_file_problem() {
    let (app, admin) = registry_app().await;
    let header = split(CHINESE_HEADER);
    let row = split(&format!(
        "春望里1号楼,{},李建国,{},户主,,",
        areas::GRID_A1,
        identity("19520314", 21)
    ));

    let mut merged = workbook(&[("居民", vec![header.clone(), row.clone(), row.clone()])]);
    let format = rust_xlsxwriter::Format::new();
    merged
        .worksheet_from_index(0)
        .unwrap()
        .merge_range(1, 0, 2, 0, "春望里1号楼", &format)
        .unwrap();
    let instructions = vec![vec!["请在“名册”工作表中填写".to_owned()]];
    let two_sheets = || {
        workbook(&[("说明", instructions.clone()), ("名册", vec![header.clone(), row.clone()])])
            .save_to_buffer()
            .unwrap()
    };
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "merged cells",
            "merged.xlsx",
            merged.save_to_buffer().unwrap(),
            "resident_import_merged_cells",
        ),
        (
            "data not on the first sheet",
            "two.xlsx",
            two_sheets(),
            "resident_import_sheet_header_missing",
        ),
        (
            "text renamed to xlsx",
            "renamed.xlsx",
            b"name,address\n".to_vec(),
            "resident_import_file_not_xlsx",
        ),
        ("empty file", "empty.csv", Vec::new(), "resident_import_file_empty"),
        ("header without rows", "header.csv", csv_file(&[]), "resident_import_no_rows"),
        ("a PDF", "scan.pdf", b"%PDF-1.7".to_vec(), "resident_import_file_format"),
    ];
    for (description, name, bytes, code) in cases {
        let response = upload(&admin, name, bytes, "?mode=apply").await;
        assert_eq!(response.status(), 422, "{description}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{description}");
        assert_eq!(error["error"]["field"], "file", "{description}");
    }
    let response = upload(&admin, "two.xlsx", two_sheets(), "").await;
    let error: Value = response.json().await.unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("说明"), "names the sheets: {message}");
    assert!(message.contains("名册"), "names the sheets: {message}");

    let response = upload_with(&admin, "two.xlsx", two_sheets(), "", &[("sheet", "名册")]).await;
    assert_eq!(response.status(), 200, "the sheet parameter picks the data sheet");
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["sheet"], "名册");
    assert_eq!(report["other_sheets"], json!(["说明"]));
    let mut template_named = workbook(&[("说明", instructions), ("居民", vec![header, row])]);
    let response = upload(&admin, "named.xlsx", template_named.save_to_buffer().unwrap(), "").await;
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["sheet"], "居民", "a sheet named like the template's is found");

    let oversize = vec![b'a'; 21 * 1024 * 1024];
    let response = upload(&admin, "huge.csv", oversize, "").await;
    assert_eq!(response.status(), 413, "over the 20 MiB cap");
    assert_eq!(count(&app, "resident").await, 0);
}

#[tokio::test]
async fn mapping_reads_files_with_other_headers() {
    let (_app, admin) = registry_app().await;
    let text = format!(
        "住户,片区,户主姓名,证号,身份\n春望里1号楼,{},李建国,{},户主\n",
        areas::GRID_A1,
        identity("19520314", 21)
    );
    let response = upload(&admin, "roster.csv", text.clone().into_bytes(), "").await;
    assert_eq!(response.status(), 422);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "resident_import_header_missing");
    let mapping = json!({ "住户": "address", "片区": "grid", "户主姓名": "name", "证号": "identity_number", "身份": "relation" });
    let fields = [("mapping", mapping.to_string())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response =
        upload_with(&admin, "roster.csv", text.into_bytes(), "?mode=apply", &fields).await;
    assert_eq!(response.status(), 201);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["residents_to_create"], 1);
}

#[tokio::test]
async fn export_is_masked_scoped_and_audited() {
    let (app, admin) = registry_app().await;
    let in_a1 = identity("19520314", 21);
    let in_b1 = identity("19600101", 32);
    let rows = [
        format!("春望里1号楼,{},李建国,{in_a1},户主,13800138001,living_alone", areas::GRID_A1),
        format!("春望里2号楼,{},王磊,{},户主,,", areas::GRID_A2, identity("19850101", 33)),
        format!("望湖1号楼,{},=HYPERLINK(\"x\"),{in_b1},户主,13900139002,", areas::GRID_B1),
    ];
    assert_eq!(upload(&admin, "all.csv", csv_file(&rows), "?mode=apply").await.status(), 201);

    let worker = app.login_as(Role::CommunityWorker, &[areas::COMMUNITY_A]).await;
    let response = worker.get("/api/v1/residents/export?format=csv").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "header and the two residents of community A: {text}");
    assert!(lines[0].starts_with("\u{feff}地址,网格,网格名称,姓名"), "{}", lines[0]);
    assert!(text.contains("110105********"), "identity numbers masked: {text}");
    assert!(text.contains("138****8001"), "phones masked: {text}");
    assert!(!text.contains(&in_a1), "no clear identity number: {text}");
    assert!(!text.contains("13800138001"), "no clear phone number: {text}");
    assert!(!text.contains("望湖"), "community B is out of scope: {text}");

    let response = worker.get("/api/v1/residents/export?tag=living_alone&area=110105001001").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], XLSX_TYPE);
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader;
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(range.height(), 2, "header and the one tagged resident");
    assert_eq!(range.get_value((1, 3)).unwrap().to_string(), "李建国");
    let masked = format!("110105********{}", &in_a1[14..]);
    assert_eq!(range.get_value((1, 6)).unwrap().to_string(), masked);

    let all = admin
        .get("/api/v1/residents/export?format=csv&area=110105001002")
        .await
        .text()
        .await
        .unwrap();
    assert!(all.contains("'=HYPERLINK"), "a formula-like name is quoted: {all}");
    assert!(!all.contains(&in_b1), "{all}");

    let audit = app.db.list_audit(Some(AuditAction::ResidentsExported), 10, 0).await.unwrap();
    assert_eq!(audit.total, 3, "every export is audited");
    let oldest = &audit.entries[2];
    assert_eq!(oldest.actor_user_id, Some(worker.user_id));
    let detail = oldest.detail.clone().unwrap_or_default();
    assert!(detail.contains("format=csv"), "{detail}");
    assert!(detail.contains("rows=2"), "{detail}");
    let filtered = audit.entries[1].detail.clone().unwrap_or_default();
    assert!(filtered.contains("tag=living_alone"), "{filtered}");
    assert!(filtered.contains("rows=1"), "{filtered}");
}

/// Builds `count` valid rows of a street, four residents to a household spread over
/// three grids; `count` stays below 60,000 so that numbers never repeat.
pub(crate) fn street_rows(count: u32) -> Vec<String> {
    let grids = [areas::GRID_A1, areas::GRID_A2, areas::GRID_B1];
    let surnames = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
    let given = ["秀英", "建国", "桂兰", "志强", "丽娟", "海燕", "国华", "春梅"];
    let relations = ["户主", "配偶", "子女", "父母"];
    (0..count)
        .map(|n| {
            let household = n / 4;
            // Each thousand rows has its own birth month, so numbers never repeat.
            let thousand = n / 1000;
            let birth =
                format!("19{:02}{:02}{:02}", 40 + thousand % 60, 1 + thousand / 60, 1 + n % 28);
            format!(
                "春望里{}号楼{}室,{},{}{},{},{},1380000{:04},",
                household / 50 + 1,
                household % 50 + 101,
                grids[(household % 3) as usize],
                surnames[(n % 10) as usize],
                given[(n % 8) as usize],
                identity(&birth, n),
                relations[(n % 4) as usize],
                n
            )
        })
        .collect()
}

#[tokio::test]
async fn large_file_imports_in_one_transaction() {
    let (app, admin) = registry_app().await;
    let rows = street_rows(2_000);
    let response = upload(&admin, "street.csv", csv_file(&rows), "?mode=apply").await;
    let status = response.status();
    let report: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{}", report["problems"]);
    assert_eq!(report["rows"], 2_000);
    assert_eq!(report["households_to_create"], 500);
    assert_eq!(count(&app, "resident").await, 2_000);
}
