//! The exact optimum of small instances by branch and bound, to measure the allocator
//! against. Its time grows exponentially, so it runs only in tests and in
//! `citycore bench allocate` on instances of a few dozen requests.

use super::{Request, Space};

/// Returns the most requests any allocation can serve.
pub fn optimum(spaces: &[Space], buffer: i64, requests: &[Request]) -> usize {
    let mut order: Vec<&Request> = requests.iter().filter(|r| r.start < r.end).collect();
    order.sort_by_key(|request| (request.start, request.end));
    let mut occupied: Vec<Vec<(i64, i64)>> = vec![Vec::new(); spaces.len()];
    let mut best = 0;
    search(spaces, buffer, &order, 0, 0, &mut occupied, &mut best);
    best
}

fn search(
    spaces: &[Space],
    buffer: i64,
    order: &[&Request],
    next: usize,
    served: usize,
    occupied: &mut [Vec<(i64, i64)>],
    best: &mut usize,
) {
    *best = (*best).max(served);
    if next == order.len() || served + (order.len() - next) <= *best {
        return;
    }
    let request = order[next];
    let span = (request.start, request.end + buffer);
    for (index, space) in spaces.iter().enumerate() {
        // A space with the same windows and bookings as one tried before gives the same
        // subtree.
        let twin = (0..index).any(|other| {
            spaces[other].lot_id == space.lot_id
                && spaces[other].windows == space.windows
                && occupied[other] == occupied[index]
        });
        if twin {
            continue;
        }
        let inside = space.windows.iter().any(|(from, to)| *from <= span.0 && span.1 <= *to);
        let clear = occupied[index].iter().all(|(from, to)| *to <= span.0 || span.1 <= *from);
        if space.lot_id == request.lot_id && inside && clear {
            occupied[index].push(span);
            search(spaces, buffer, order, next + 1, served + 1, occupied, best);
            occupied[index].pop();
        }
    }
    search(spaces, buffer, order, next + 1, served, occupied, best);
}
