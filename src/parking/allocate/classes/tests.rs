use super::ClassPlan;

/// Builds a plan with an unlimited budget and the `booked` (request, class) pairs.
fn plan(windows: &[Vec<(i64, i64)>], spans: &[(i64, i64)], booked: &[(usize, usize)]) -> ClassPlan {
    let windows: Vec<&[(i64, i64)]> = windows.iter().map(Vec::as_slice).collect();
    let mut plan = ClassPlan::new(&windows, spans.to_vec());
    plan.budget = u64::MAX;
    booked.iter().for_each(|&(request, class)| plan.book(request, class));
    plan
}

#[test]
fn same_windows_form_one_class() {
    let windows = [vec![(0, 10)], vec![(0, 5)], vec![(0, 10)]];
    let plan = plan(&windows, &[(0, 4)], &[]);
    assert_eq!(plan.members, [vec![0, 2], vec![1]]);
    assert_eq!(plan.eligible, [vec![0, 1]]);
}

#[test]
fn class_stays_spread_without_overlap() {
    // At most two of the four stays are in progress at once, so two spaces take them.
    let windows = [vec![(0, 20)], vec![(0, 20)]];
    let spans = [(0, 4), (2, 6), (4, 8), (6, 10)];
    let plan = plan(&windows, &spans, &[(0, 0), (1, 0), (2, 0), (3, 0)]);
    let placed = plan.into_assignment();
    assert_eq!(placed, [Some(0), Some(1), Some(0), Some(1)]);
}

#[test]
fn full_class_rejects_request() {
    let windows = [vec![(0, 20)]];
    let mut plan = plan(&windows, &[(0, 4), (3, 6)], &[(0, 0)]);
    assert_eq!(plan.free_class(1), None);
    assert!(!plan.insert(1, 2), "no other class can take either stay");
    assert_eq!(plan.class_of, [Some(0), None], "a failed chain is undone");
}

#[test]
fn ejection_moves_covering_stay() {
    // Request 1 fits only class 0, where stay 0 is in its way; stay 0 also fits class 1.
    let windows = [vec![(0, 10)], vec![(0, 3)]];
    let mut plan = plan(&windows, &[(0, 3), (1, 5)], &[(0, 0)]);
    assert!(!plan.insert(1, 0), "without a chain the request finds no room");
    assert!(plan.insert(1, 1));
    assert_eq!(plan.class_of, [Some(1), Some(0)]);
    assert_eq!(plan.served, 2);
}

#[test]
fn exchange_trades_one_stay_for_two() {
    let windows = [vec![(0, 10)]];
    let mut plan = plan(&windows, &[(0, 10), (0, 4), (5, 10)], &[(0, 0)]);
    assert!(!plan.insert(1, 2));
    plan.exchange();
    assert_eq!(plan.class_of, [None, Some(0), Some(0)]);
    assert_eq!(plan.served, 2);
}

#[test]
fn prices_move_stay_to_uncontested_class() {
    // Both stays fit class 0 (always free); only the first fits class 1. Greedy passes
    // put the first in class 0, where it blocks the second; the priced passes move it.
    let windows = [vec![(0, 100)], vec![(0, 10)]];
    let mut plan = plan(&windows, &[(0, 4), (2, 12)], &[]);
    plan.start_from_best_greedy();
    assert_eq!(plan.served, 1);
    plan.fill_by_prices();
    assert_eq!(plan.class_of, [Some(1), Some(0)]);
    assert!(plan.price(0, 0, 3) > 0.0, "the contested class costs something");
}
