use super::*;
use crate::cases::{
    calendar::{TimeUnit, WorkingAmount},
    catalogue::{Department, MajorCategory},
};

const GRID: i64 = 3;
const COMMUNITY: i64 = 2;
const STREET: i64 = 1;
const CHAIN: [i64; 3] = [GRID, COMMUNITY, STREET];

fn category(code: &str) -> Category {
    let code = CategoryCode::parse(code).unwrap();
    let hour = WorkingAmount::new(1, TimeUnit::WorkingHours).unwrap();
    Category {
        major: MajorCategory {
            kind: code.kind(),
            major_code: code.major_code().to_owned(),
            name_zh: "大类".to_owned(),
            name_en: "Major".to_owned(),
        },
        code,
        name_zh: "小类".to_owned(),
        name_en: "Minor".to_owned(),
        department: Department { department_code: "DEFAULT".to_owned(), name: "默认".to_owned() },
        filing_criteria: String::new(),
        closing_criteria: String::new(),
        dispatch_limit: hour,
        handling_limit: hour,
        verification_limit: hour,
        duplicate_radius_m: 100,
        duplicate_window_hours: 72,
    }
}

fn rule(id: i64, basis: Basis, area_id: i64, scope: &str, department: &str) -> RoutingRule {
    RoutingRule {
        routing_rule_id: Some(id),
        basis,
        area_id,
        area_code: format!("area-{area_id}"),
        category: CategoryScope::parse(scope).unwrap(),
        department_code: department.to_owned(),
    }
}

#[test]
fn resolve_picks_the_expected_department() {
    use Basis::*;
    let cases = [
        (
            "component goes to the owner before the territory",
            "C0101",
            vec![rule(1, Territory, GRID, "", "TERR"), rule(2, Owner, STREET, "", "OWNER")],
            "OWNER",
        ),
        (
            "event goes to the territory before the owner",
            "E0101",
            vec![rule(1, Owner, GRID, "", "OWNER"), rule(2, Territory, STREET, "", "TERR")],
            "TERR",
        ),
        (
            "component falls back to the territory without an owner rule",
            "C0101",
            vec![rule(1, Territory, COMMUNITY, "", "TERR")],
            "TERR",
        ),
        (
            "grid rule beats a community rule of the same basis",
            "E0101",
            vec![
                rule(1, Territory, COMMUNITY, "E0101", "COMM"),
                rule(2, Territory, GRID, "", "GRID"),
            ],
            "GRID",
        ),
        (
            "minor category beats a major one on the same area",
            "E0101",
            vec![
                rule(1, Territory, GRID, "E01", "MAJOR"),
                rule(2, Territory, GRID, "E0101", "MINOR"),
            ],
            "MINOR",
        ),
        (
            "major category beats every category on the same area",
            "E0102",
            vec![rule(1, Territory, GRID, "", "ANY"), rule(2, Territory, GRID, "E01", "MAJOR")],
            "MAJOR",
        ),
        (
            "rule of another category does not apply",
            "E0201",
            vec![rule(1, Territory, GRID, "E01", "MAJOR")],
            "DEFAULT",
        ),
        (
            "rule of an area outside the chain does not apply",
            "E0101",
            vec![rule(1, Territory, 99, "", "ELSEWHERE")],
            "DEFAULT",
        ),
        ("no rule keeps the category default", "C0101", vec![], "DEFAULT"),
    ];
    for (description, code, rules, expected) in cases {
        let route = resolve(&rules, &category(code), &CHAIN);
        assert_eq!(route.department_code, expected, "{description}");
    }
}

#[test]
fn resolve_outside_every_grid_keeps_the_category_default() {
    let rules = [rule(1, Basis::Territory, STREET, "", "TERR")];
    let route = resolve(&rules, &category("E0101"), &[]);
    assert_eq!(route.department_code, "DEFAULT");
    assert_eq!(route.basis, CATEGORY_DEFAULT);
    assert_eq!(route.rule_id, None);
}

#[test]
fn resolve_records_the_rule_that_chose() {
    let rules = [rule(7, Basis::Owner, COMMUNITY, "C01", "OWNER")];
    let route = resolve(&rules, &category("C0102"), &CHAIN);
    assert_eq!(route.basis, "owner");
    assert_eq!(route.rule_id, Some(7));
    assert_eq!(route.area_code.as_deref(), Some("area-2"));
    assert_eq!(route.category.as_deref(), Some("C01"));
}

#[test]
fn category_scope_parses_and_prints_each_form() {
    let cases = [
        ("empty is every category", "", Some(None)),
        ("major code", "e01", Some(Some("E01"))),
        ("minor code", "C0203", Some(Some("C0203"))),
        ("major code 00 is invalid", "E00", None),
        ("unknown kind letter", "X01", None),
        ("four characters", "E010", None),
    ];
    for (description, text, expected) in cases {
        let parsed = CategoryScope::parse(text).map(|scope| scope.to_text());
        let expected = expected.map(|text| text.map(str::to_owned));
        assert_eq!(parsed, expected, "{description}");
    }
}
