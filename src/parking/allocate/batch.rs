//! The batch allocation: pending requests re-optimised together, one lot at a time.

use std::collections::BTreeMap;

use super::{Request, Space, classes::ClassPlan};

/// Allocates pending `requests` together and returns the space of each, in input order.
///
/// Lots share no spaces, so each lot is solved on its own, and the lots are spread over
/// the available cores. In a lot, spaces with the same free windows form a class. The
/// plan decides the class of each request, so that no class has more stays in progress
/// than spaces (see `classes`). It runs greedy passes, passes steered by shadow prices,
/// then a local search of bounded, deterministic effort. The result is the same on every machine and run.
// NOTE: measured against the exact optimum (`--features exact`) only on generated
// scenarios of up to 4,000 requests. When every space has its own windows, each space is
// a class of its own, and the search reached only about 99 % of the optimum there.
pub fn allocate_batch(spaces: Vec<Space>, buffer: i64, requests: &[Request]) -> Vec<Option<i64>> {
    let lots = group_by_lot(&spaces, buffer, requests);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(lots.len());
    let mut placed = vec![None; requests.len()];
    if threads == 0 {
        return placed;
    }
    // Lot `i` goes to thread `i % threads`: neighbouring lots have similar sizes, so the
    // threads get similar work. The result does not depend on the number of threads.
    let results: Vec<Vec<(usize, Vec<Option<usize>>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let (lots, spaces) = (&lots, &spaces);
                scope.spawn(move || {
                    let mine = (thread..lots.len()).step_by(threads);
                    mine.map(|i| (i, solve_lot(spaces, &lots[i]))).collect()
                })
            })
            .collect();
        let joined = handles.into_iter().map(|handle| handle.join());
        joined
            .map(|result| result.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    for (i, lot_placed) in results.into_iter().flatten() {
        let lot = &lots[i];
        for (local, space) in lot_placed.into_iter().enumerate() {
            placed[lot.requests[local]] = space.map(|s| spaces[lot.spaces[s]].space_id);
        }
    }
    placed
}

/// One lot's share of a batch: indices into the input spaces and requests, and the
/// occupied span `[start, end + buffer)` of each request.
struct LotJob {
    lot_id: i64,
    spaces: Vec<usize>,
    requests: Vec<usize>,
    spans: Vec<(i64, i64)>,
}

/// Groups spaces and servable requests by lot, in lot id order. Requests that are empty,
/// reversed, overflow with the buffer or name a lot without spaces are left out.
fn group_by_lot(spaces: &[Space], buffer: i64, requests: &[Request]) -> Vec<LotJob> {
    let mut lots: BTreeMap<i64, LotJob> = BTreeMap::new();
    for (index, space) in spaces.iter().enumerate() {
        let empty = || LotJob {
            lot_id: space.lot_id,
            spaces: Vec::new(),
            requests: Vec::new(),
            spans: Vec::new(),
        };
        lots.entry(space.lot_id).or_insert_with(empty).spaces.push(index);
    }
    let buffer = buffer.max(0);
    for (index, request) in requests.iter().enumerate() {
        let Some(end) = request.end.checked_add(buffer) else { continue };
        let Some(lot) = lots.get_mut(&request.lot_id) else { continue };
        if request.start < request.end {
            lot.requests.push(index);
            lot.spans.push((request.start, end));
        }
    }
    lots.into_values().filter(|lot| !lot.requests.is_empty()).collect()
}

/// Allocates one lot and returns, for each of its requests, the index of its space in
/// `lot.spaces`.
fn solve_lot(spaces: &[Space], lot: &LotJob) -> Vec<Option<usize>> {
    let windows: Vec<&[(i64, i64)]> =
        lot.spaces.iter().map(|&s| spaces[s].windows.as_slice()).collect();
    let mut plan = ClassPlan::new(&windows, lot.spans.clone());
    plan.improve(lot.lot_id as u64);
    plan.into_assignment()
}
