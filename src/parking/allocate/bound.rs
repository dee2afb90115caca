//! An upper bound of the optimum: the exact optimum of a relaxation in which a stay may
//! move from one space of its lot to another at any moment.
//!
//! Without the rule that a stay keeps its space, the only limit left is how many spaces
//! of the lot are shared at each moment. Serving the most requests under such a limit is
//! an interval packing whose constraint matrix has consecutive ones, so taking requests
//! by end time and keeping each one that still fits everywhere along its span is
//! optimal. Every real allocation is a solution of the relaxation, so none serves more.

use std::collections::HashMap;

use super::{Request, Space};

/// The spaces of one lot and the occupied spans of its servable requests.
type Lot<'a> = (Vec<&'a Space>, Vec<(i64, i64)>);

/// Returns the relaxation's optimum for `requests` over `spaces`, summed over lots.
pub fn upper_bound(spaces: &[Space], buffer: i64, requests: &[Request]) -> usize {
    let mut lots: HashMap<i64, Lot> = HashMap::new();
    for space in spaces {
        lots.entry(space.lot_id).or_default().0.push(space);
    }
    for request in requests {
        let span = (request.start, request.end + buffer);
        let Some((lot_spaces, spans)) = lots.get_mut(&request.lot_id) else { continue };
        // A stay that fits no single window of the lot cannot be served at all.
        let fits = lot_spaces
            .iter()
            .any(|space| space.windows.iter().any(|(from, to)| *from <= span.0 && span.1 <= *to));
        if request.start < request.end && fits {
            spans.push(span);
        }
    }
    lots.values().map(|(lot_spaces, spans)| lot_bound(lot_spaces, spans.clone())).sum()
}

fn lot_bound(spaces: &[&Space], mut spans: Vec<(i64, i64)>) -> usize {
    let mut points: Vec<i64> = spaces
        .iter()
        .flat_map(|space| space.windows.iter().flat_map(|(from, to)| [*from, *to]))
        .chain(spans.iter().flat_map(|(from, to)| [*from, *to]))
        .collect();
    points.sort_unstable();
    points.dedup();
    // Shared spaces on each elementary segment [points[i], points[i + 1]).
    let mut free: Vec<i64> = points
        .windows(2)
        .map(|segment| {
            let covering = spaces.iter().filter(|space| {
                space.windows.iter().any(|(from, to)| *from <= segment[0] && segment[1] <= *to)
            });
            covering.count() as i64
        })
        .collect();
    spans.sort_by_key(|(from, to)| (*to, std::cmp::Reverse(*from)));
    let mut served = 0;
    for (from, to) in spans {
        let first = points.partition_point(|point| *point < from);
        let last = points.partition_point(|point| *point < to);
        let segments = &mut free[first..last];
        if segments.iter().all(|spaces| *spaces > 0) {
            segments.iter_mut().for_each(|spaces| *spaces -= 1);
            served += 1;
        }
    }
    served
}
