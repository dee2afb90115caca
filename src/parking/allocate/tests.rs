use super::{
    bound::upper_bound,
    exact::optimum,
    generate::{Scenario, generate},
    *,
};

const HOUR: i64 = 3600;

fn space(space_id: i64, windows: &[(i64, i64)]) -> Space {
    Space { space_id, lot_id: 1, windows: windows.to_vec() }
}

fn request(request_id: i64, start_hour: i64, end_hour: i64) -> Request {
    Request { request_id, lot_id: 1, start: start_hour * HOUR, end: end_hour * HOUR }
}

#[test]
fn back_to_back_bookings_share_a_space() {
    let spaces = vec![space(1, &[(8 * HOUR, 20 * HOUR)])];
    let requests = [request(1, 8, 10), request(2, 10, 12), request(3, 9, 11)];
    let placed = allocate_online(spaces, 0, &requests, Policy::FirstFit);
    assert_eq!(placed, [Some(1), Some(1), None]);
}

#[test]
fn buffer_and_owner_return_are_respected() {
    let spaces = vec![space(1, &[(8 * HOUR, 18 * HOUR)])];
    // With a 15-minute buffer, a stay must end by 17:45 and bookings need 15 minutes apart.
    let buffer = 15 * 60;
    let late = request(1, 16, 18);
    assert_eq!(allocate_online(spaces.clone(), buffer, &[late], Policy::BestFit), [None]);
    assert_eq!(allocate_online(spaces.clone(), 0, &[late], Policy::BestFit), [Some(1)]);
    let placed =
        allocate_online(spaces, buffer, &[request(1, 8, 10), request(2, 10, 12)], Policy::BestFit);
    assert_eq!(placed, [Some(1), None]);
}

#[test]
fn allocate_rejects_stay_outside_windows() {
    let spaces = vec![space(1, &[(8 * HOUR, 12 * HOUR), (13 * HOUR, 18 * HOUR)])];
    let across_lunch = request(1, 11, 14);
    assert_eq!(allocate_batch(spaces.clone(), 0, &[across_lunch]), [None]);
    assert_eq!(upper_bound(&spaces, 0, &[across_lunch]), 0);
    let wrong_lot = Request { lot_id: 2, ..request(2, 8, 9) };
    assert_eq!(allocate_batch(spaces, 0, &[wrong_lot]), [None]);
}

#[test]
fn batch_is_optimal_on_always_free_spaces() {
    let spaces: Vec<Space> = (1..=3).map(|id| space(id, &[(0, 48 * HOUR)])).collect();
    let scenario = Scenario { lots: 1, spaces_per_lot: 0, requests: 14, days: 1, seed: 3 };
    for seed in 0..20 {
        let (_, requests) = generate(Scenario { seed, ..scenario });
        let requests: Vec<Request> =
            requests.into_iter().map(|r| Request { lot_id: 1, ..r }).collect();
        let best = optimum(&spaces, 900, &requests);
        let batch = allocate_batch(spaces.clone(), 900, &requests);
        assert_eq!(batch.iter().flatten().count(), best, "seed {seed}");
        assert_eq!(upper_bound(&spaces, 900, &requests), best, "seed {seed}");
    }
}

#[test]
fn no_mode_overbooks_and_none_beats_the_optimum() {
    let mut batch_total = 0;
    let mut optimum_total = 0;
    for seed in 0..30 {
        let scenario = Scenario { lots: 1, spaces_per_lot: 4, requests: 16, days: 3, seed };
        let (spaces, requests) = generate(scenario);
        let best = optimum(&spaces, 900, &requests);
        let bound = upper_bound(&spaces, 900, &requests);
        assert!(bound >= best, "seed {seed}: bound {bound} < optimum {best}");
        for (name, placed) in [
            ("batch", allocate_batch(spaces.clone(), 900, &requests)),
            ("best fit", allocate_online(spaces.clone(), 900, &requests, Policy::BestFit)),
            ("first fit", allocate_online(spaces.clone(), 900, &requests, Policy::FirstFit)),
        ] {
            check(&spaces, 900, &requests, &placed)
                .unwrap_or_else(|e| panic!("{name}, seed {seed}: {e}"));
            assert!(placed.iter().flatten().count() <= best, "{name}, seed {seed}");
        }
        batch_total += allocate_batch(spaces, 900, &requests).iter().flatten().count();
        optimum_total += best;
    }
    assert!(batch_total * 100 >= optimum_total * 95, "batch {batch_total} of {optimum_total}");
}

#[test]
fn large_scenarios_are_never_overbooked() {
    let scenario = Scenario { lots: 5, spaces_per_lot: 40, requests: 3000, days: 7, seed: 9 };
    let (spaces, requests) = generate(scenario);
    for placed in [
        allocate_batch(spaces.clone(), 900, &requests),
        allocate_online(spaces.clone(), 900, &requests, Policy::BestFit),
        allocate_online(spaces.clone(), 900, &requests, Policy::FirstFit),
    ] {
        check(&spaces, 900, &requests, &placed).unwrap();
        assert!(placed.iter().flatten().count() <= upper_bound(&spaces, 900, &requests));
    }
}

#[test]
fn batch_reaches_the_exact_optimum_on_small_scenarios() {
    // Seeds other than those of `citycore bench allocate`, so the bench stays a fresh
    // sample.
    let (mut batch_total, mut optimum_total) = (0, 0);
    for seed in 1000..1100 {
        let scenario = Scenario { lots: 1, spaces_per_lot: 5, requests: 22, days: 3, seed };
        let (spaces, requests) = generate(scenario);
        let placed = allocate_batch(spaces.clone(), 900, &requests);
        check(&spaces, 900, &requests, &placed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        batch_total += placed.iter().flatten().count();
        optimum_total += optimum(&spaces, 900, &requests);
    }
    assert!(batch_total * 1000 >= optimum_total * 995, "batch {batch_total} of {optimum_total}");
}

#[test]
fn batch_result_is_deterministic() {
    let scenario = Scenario { lots: 3, spaces_per_lot: 20, requests: 600, days: 7, seed: 5 };
    let (spaces, requests) = generate(scenario);
    let first = allocate_batch(spaces.clone(), 900, &requests);
    assert_eq!(allocate_batch(spaces, 900, &requests), first);
}

/// Against the integer program, on scenarios other than those of `citycore bench
/// allocate`. Runs with `cargo test --features exact`, which `.ci/run` does.
#[cfg(feature = "exact")]
mod against_the_integer_program {
    use super::*;
    use crate::parking::allocate::ilp;

    #[test]
    fn integer_program_agrees_with_branch_and_bound() {
        for seed in 2000..2040 {
            let scenario = Scenario { lots: 2, spaces_per_lot: 3, requests: 24, days: 3, seed };
            let (spaces, requests) = generate(scenario);
            let exact = ilp::optimum(&spaces, 900, &requests).expect("CBC solves");
            assert_eq!(exact, optimum(&spaces, 900, &requests), "seed {seed}");
        }
    }

    #[test]
    fn batch_serves_995_per_mille_of_the_optimum() {
        let (mut batch_total, mut optimum_total) = (0, 0);
        for seed in 3000..3008 {
            let size = seed as usize % 4;
            let scenario = Scenario {
                lots: 1 + size % 2,
                spaces_per_lot: 40 + size * 20,
                requests: 800 + size * 400,
                days: 7,
                seed,
            };
            let (spaces, requests) = generate(scenario);
            let placed = allocate_batch(spaces.clone(), 900, &requests);
            check(&spaces, 900, &requests, &placed).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let best = ilp::optimum(&spaces, 900, &requests).expect("CBC solves");
            let served = placed.iter().flatten().count();
            assert!(served <= best, "seed {seed}: {served} beats the optimum {best}");
            batch_total += served;
            optimum_total += best;
        }
        assert!(
            batch_total * 1000 >= optimum_total * 995,
            "batch {batch_total} of {optimum_total}"
        );
    }
}
