//! The exact optimum of instances of a few thousand requests, by integer programming
//! with the COIN-OR CBC solver. Built only with the `exact` feature, for tests and
//! `citycore bench allocate`; the product never links the solver.
//!
//! The program decides, per lot, how many stays each class of interchangeable spaces
//! (spaces with the same windows) holds, as the batch allocation does. That is exact,
//! not a relaxation: stays that never exceed a class's size at any moment can always be
//! spread over its spaces. The program has one binary variable per request and class
//! whose window contains the request's span, and two kinds of constraint. Each request
//! is in at most one class. Per class, at the start of every span, no more stays are in
//! progress than the class has spaces, which covers every moment because the maximum
//! overlap is reached at some stay's start. Deciding per space instead gives the same
//! optimum but takes minutes where this takes a fraction of a second.

use std::collections::{BTreeMap, HashMap};

use good_lp::{
    Expression, ProblemVariables, ResolutionError, Solution, SolverModel, Variable, coin_cbc,
    variable,
};

use super::{Request, Space};

/// The spaces of one lot and the occupied spans of its requests.
type Lot<'a> = (Vec<&'a Space>, Vec<(i64, i64)>);

/// Returns the most requests any allocation can serve, summed over lots.
///
/// # Errors
/// Fails when the solver fails.
pub fn optimum(
    spaces: &[Space],
    buffer: i64,
    requests: &[Request],
) -> Result<usize, ResolutionError> {
    let mut lots: BTreeMap<i64, Lot> = BTreeMap::new();
    for space in spaces {
        lots.entry(space.lot_id).or_default().0.push(space);
    }
    for request in requests.iter().filter(|r| r.start < r.end) {
        if let Some((_, spans)) = lots.get_mut(&request.lot_id) {
            spans.push((request.start, request.end + buffer));
        }
    }
    lots.values().map(|(lot_spaces, spans)| lot_optimum(lot_spaces, spans)).sum()
}

fn lot_optimum(spaces: &[&Space], spans: &[(i64, i64)]) -> Result<usize, ResolutionError> {
    let mut sizes: HashMap<&[(i64, i64)], usize> = HashMap::new();
    for space in spaces {
        *sizes.entry(space.windows.as_slice()).or_default() += 1;
    }
    let mut classes: Vec<(&[(i64, i64)], usize)> = sizes.into_iter().collect();
    classes.sort_unstable();

    let mut variables = ProblemVariables::new();
    // Per request, its class variables as (class, variable).
    let mut chosen: Vec<Vec<(usize, Variable)>> = vec![Vec::new(); spans.len()];
    for (request, &(start, end)) in spans.iter().enumerate() {
        for (class, (windows, _)) in classes.iter().enumerate() {
            if windows.iter().any(|(from, to)| *from <= start && end <= *to) {
                chosen[request].push((class, variables.add(variable().binary())));
            }
        }
    }

    let served: Expression = chosen.iter().flatten().map(|(_, x)| *x).sum();
    let mut model = variables.maximise(served).using(coin_cbc);
    model.set_parameter("log", "0");
    for options in chosen.iter().filter(|options| options.len() > 1) {
        let once: Expression = options.iter().map(|(_, x)| *x).sum();
        model = model.with(once.leq(1));
    }

    for (class, (_, size)) in classes.iter().enumerate() {
        let members: Vec<(usize, Variable)> = chosen
            .iter()
            .enumerate()
            .filter_map(|(r, options)| options.iter().find(|(c, _)| *c == class).map(|o| (r, o.1)))
            .collect();
        let mut starts: Vec<i64> = members.iter().map(|(r, _)| spans[*r].0).collect();
        starts.sort_unstable();
        starts.dedup();
        for moment in starts {
            let in_progress: Vec<Variable> = members
                .iter()
                .filter(|(r, _)| spans[*r].0 <= moment && moment < spans[*r].1)
                .map(|(_, x)| *x)
                .collect();
            if in_progress.len() > *size {
                let stays: Expression = in_progress.into_iter().sum();
                model = model.with(stays.leq(*size as f64));
            }
        }
    }

    let solution = model.solve()?;
    Ok(chosen.iter().flatten().filter(|(_, x)| solution.value(*x) > 0.5).count())
}
