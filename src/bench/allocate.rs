//! `citycore bench allocate`: how many requests the shared-space allocator serves and
//! how fast, on generated sharing scenarios.
//!
//! Quality: on scenarios of 1,000–4,000 requests, the requests served by first come,
//! first served (the status quo: each request, in arrival order, takes the first free
//! space), by the online best fit and by the batch allocation. Built with
//! `--features exact`, each is compared with the exact optimum
//! (`parking::allocate::ilp`), and also with branch and bound on 200 small scenarios.
//! Without that feature, each is compared with the upper bound of
//! [`crate::parking::allocate::bound`], which no allocation can exceed. Speed: 100,000 requests over 10,000 spaces, online and
//! batch.

use std::time::Instant;

use clap::Args;

use crate::parking::allocate::{
    Policy, allocate_batch, allocate_online,
    bound::upper_bound,
    check,
    generate::{Scenario, generate},
};

#[derive(Debug, Args)]
pub struct AllocateBenchArgs {
    /// Requests of the speed run.
    #[arg(long, default_value_t = 100_000)]
    pub requests: usize,
    /// Spaces of the speed run, in lots of 100.
    #[arg(long, default_value_t = 10_000)]
    pub spaces: usize,
}

/// Buffer after every booking: 15 minutes.
const BUFFER: i64 = 900;

fn served(placed: &[Option<i64>]) -> usize {
    placed.iter().flatten().count()
}

/// Runs the quality and speed measurements and prints them.
///
/// # Errors
/// Fails when an allocation breaks the no-overlap rule.
pub fn run_allocate(args: AllocateBenchArgs) -> anyhow::Result<()> {
    println!("quality: served requests (share of the {})", reference_name());
    let mut totals = [0usize; 4];
    let mut worst = f64::INFINITY;
    for scenario in quality_scenarios() {
        let (spaces, requests) = generate(scenario);
        let bound = reference(&spaces, &requests)?;
        let relaxed = upper_bound(&spaces, BUFFER, &requests);
        let fcfs = allocate_online(spaces.clone(), BUFFER, &requests, Policy::FirstFit);
        let online = allocate_online(spaces.clone(), BUFFER, &requests, Policy::BestFit);
        let batch = allocate_batch(spaces.clone(), BUFFER, &requests);
        for placed in [&fcfs, &online, &batch] {
            check(&spaces, BUFFER, &requests, placed).map_err(anyhow::Error::msg)?;
        }
        let counts = [served(&fcfs), served(&online), served(&batch), bound];
        let share = |n: usize| 100.0 * n as f64 / bound.max(1) as f64;
        println!(
            "  {} spaces, {} requests: first come first served {} ({:.1} %), online best fit {} ({:.1} %), batch {} ({:.2} %), {} {}, upper bound {}",
            spaces.len(),
            requests.len(),
            counts[0],
            share(counts[0]),
            counts[1],
            share(counts[1]),
            counts[2],
            share(counts[2]),
            reference_name(),
            bound,
            relaxed
        );
        worst = worst.min(share(counts[2]));
        for (total, count) in totals.iter_mut().zip(counts) {
            *total += count;
        }
    }
    let share = |n: usize| 100.0 * n as f64 / totals[3].max(1) as f64;
    println!(
        "  all: first come first served {:.1} %, online best fit {:.1} %, batch {:.2} % of the {} (lowest scenario {worst:.2} %)",
        share(totals[0]),
        share(totals[1]),
        share(totals[2]),
        reference_name()
    );

    #[cfg(feature = "exact")]
    small_against_exact();

    let lots = args.spaces.div_ceil(100).max(1);
    let scenario = Scenario {
        lots,
        spaces_per_lot: args.spaces / lots,
        requests: args.requests,
        days: 7,
        seed: 42,
    };
    let (spaces, requests) = generate(scenario);
    println!("speed: {} requests over {} spaces in {lots} lots", requests.len(), spaces.len());
    for (name, policy) in [
        ("online first fit", Some(Policy::FirstFit)),
        ("online best fit", Some(Policy::BestFit)),
        ("batch", None),
    ] {
        let started = Instant::now();
        let placed = match policy {
            Some(policy) => allocate_online(spaces.clone(), BUFFER, &requests, policy),
            None => allocate_batch(spaces.clone(), BUFFER, &requests),
        };
        let seconds = started.elapsed().as_secs_f64();
        check(&spaces, BUFFER, &requests, &placed).map_err(anyhow::Error::msg)?;
        println!("  {name}: {:.3} s, {} served", seconds, served(&placed));
    }
    Ok(())
}

/// Week-long scenarios of 600–4,000 requests: five of two lots, ten of one.
fn quality_scenarios() -> Vec<Scenario> {
    let two_lots = [(40, 1000), (60, 2000), (80, 3000), (100, 3000), (150, 4000)];
    let two_lots = two_lots.into_iter().zip(1..).map(|((spaces_per_lot, requests), seed)| {
        Scenario { lots: 2, spaces_per_lot, requests, days: 7, seed }
    });
    let one_lot = (10..20).map(|seed: u64| Scenario {
        lots: 1,
        spaces_per_lot: 30 + (seed as usize % 5) * 10,
        requests: 600 + (seed as usize % 4) * 300,
        days: 7,
        seed,
    });
    two_lots.chain(one_lot).collect()
}

/// Names what the quality runs are compared with.
fn reference_name() -> &'static str {
    if cfg!(feature = "exact") { "optimum" } else { "upper bound" }
}

/// Returns the exact optimum with `--features exact`, the upper bound without.
fn reference(
    spaces: &[crate::parking::allocate::Space],
    requests: &[crate::parking::allocate::Request],
) -> anyhow::Result<usize> {
    #[cfg(feature = "exact")]
    return Ok(crate::parking::allocate::ilp::optimum(spaces, BUFFER, requests)?);
    #[cfg(not(feature = "exact"))]
    Ok(upper_bound(spaces, BUFFER, requests))
}

/// Compares every mode with the exact optimum on 200 small scenarios (22 requests over
/// 5 spaces, three days), where branch and bound finishes.
#[cfg(feature = "exact")]
fn small_against_exact() {
    use crate::parking::allocate::exact::optimum;
    let mut totals = [0usize; 4];
    for seed in 0..200 {
        let scenario = Scenario { lots: 1, spaces_per_lot: 5, requests: 22, days: 3, seed };
        let (spaces, requests) = generate(scenario);
        let counts = [
            served(&allocate_online(spaces.clone(), BUFFER, &requests, Policy::FirstFit)),
            served(&allocate_online(spaces.clone(), BUFFER, &requests, Policy::BestFit)),
            served(&allocate_batch(spaces.clone(), BUFFER, &requests)),
            optimum(&spaces, BUFFER, &requests),
        ];
        for (total, count) in totals.iter_mut().zip(counts) {
            *total += count;
        }
    }
    let share = |n: usize| 100.0 * n as f64 / totals[3].max(1) as f64;
    println!(
        "exact, 200 small scenarios: optimum {}, first come first served {:.1} %, online best fit {:.1} %, batch {:.2} %",
        totals[3],
        share(totals[0]),
        share(totals[1]),
        share(totals[2])
    );
}
