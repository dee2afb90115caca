//! The allocator of shared spaces (共享车位/错峰停车): which driver's request gets which
//! space, so that no space ever has two overlapping bookings.
//!
//! Time is in seconds, every interval half-open `[start, end)`. An owner publishes the
//! windows in which a space is free. A booking occupies its space from its start until
//! its end plus the buffer (time to leave and to clean), and that whole span must lie
//! inside one window of the space, so the owner finds the space free when they return
//! ("vacate by"). Two occupied spans on one space never overlap.
//!
//! - [`Allocator`] keeps the spaces with their bookings and places one request at a
//!   time: [`Policy::FirstFit`] takes the first space that fits, the status quo of a lot
//!   without planning; [`Policy::BestFit`] takes the space that leaves the smallest idle
//!   gap before the booking.
//! - [`allocate_online`] answers requests in arrival order; [`allocate_batch`]
//!   re-optimises pending requests lot by lot, deciding per class of interchangeable
//!   spaces (`classes`): greedy passes, passes steered by shadow prices, then a local
//!   search of bounded, deterministic effort.
//! - [`bound::upper_bound`] is an exact optimum of a relaxation that lets a stay move
//!   between spaces; no allocation can serve more, so it bounds the optimum from above.
//!
//! The database enforces the same rule at commit time; this module only decides.

mod batch;
pub mod bound;
mod classes;
#[cfg(any(test, feature = "exact"))]
pub mod exact;
pub mod generate;
#[cfg(feature = "exact")]
pub mod ilp;

pub use batch::allocate_batch;

use std::collections::HashMap;

/// A space with the windows in which its owner shares it, sorted and disjoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    pub space_id: i64,
    pub lot_id: i64,
    pub windows: Vec<(i64, i64)>,
}

/// A driver's request for a space in a lot from `start` to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub request_id: i64,
    pub lot_id: i64,
    pub start: i64,
    pub end: i64,
}

/// The rule by which [`Allocator::place`] picks among the spaces a request fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The first space in the lot's order: what a lot does without planning.
    FirstFit,
    /// The space whose idle time before the booking is smallest, then after it.
    BestFit,
}

#[derive(Debug, Clone)]
struct SpaceState {
    space: Space,
    /// Occupied spans `[start, end + buffer)` with the index of their request, sorted by
    /// start.
    occupied: Vec<(i64, i64, usize)>,
}

/// Spaces and their bookings; places requests without ever overlapping two bookings.
#[derive(Debug, Clone)]
pub struct Allocator {
    buffer: i64,
    spaces: Vec<SpaceState>,
    lots: HashMap<i64, Vec<usize>>,
}

/// The fit of a request on a space: idle time before and after it, then the length of
/// the window it uses. Smaller is better: the booking wastes less, and spaces shared for
/// long stretches stay free for the stays that only they can take.
type Fit = (i64, i64, i64);

impl Allocator {
    /// Starts with `spaces` and no bookings; `buffer` seconds follow every booking.
    pub fn new(spaces: Vec<Space>, buffer: i64) -> Allocator {
        let mut lots: HashMap<i64, Vec<usize>> = HashMap::new();
        for (index, space) in spaces.iter().enumerate() {
            lots.entry(space.lot_id).or_default().push(index);
        }
        let spaces =
            spaces.into_iter().map(|space| SpaceState { space, occupied: Vec::new() }).collect();
        Allocator { buffer: buffer.max(0), spaces, lots }
    }

    /// Returns the occupied span of `request`, or `None` for an empty or reversed one.
    fn span(&self, request: &Request) -> Option<(i64, i64)> {
        (request.start < request.end)
            .then_some((request.start, request.end.checked_add(self.buffer)?))
    }

    /// Returns how well `request` fits on space `index`, or `None` when it does not.
    fn fit(&self, index: usize, request: &Request) -> Option<Fit> {
        let state = &self.spaces[index];
        fit_span(&state.space.windows, &state.occupied, self.span(request)?)
    }

    fn book(&mut self, index: usize, request: &Request, request_index: usize) -> i64 {
        let (start, end) = (request.start, request.end + self.buffer);
        let state = &mut self.spaces[index];
        let at = state.occupied.partition_point(|(from, _, _)| *from < start);
        state.occupied.insert(at, (start, end, request_index));
        state.space.space_id
    }

    /// Picks the space of `request`'s lot that `policy` prefers among those it fits.
    fn choose(&self, request: &Request, policy: Policy) -> Option<usize> {
        let mut best: Option<(usize, Fit)> = None;
        for &index in self.lots.get(&request.lot_id)? {
            let Some(fit) = self.fit(index, request) else { continue };
            if policy == Policy::FirstFit {
                return Some(index);
            }
            if best.is_none_or(|(_, best_fit)| fit < best_fit) {
                best = Some((index, fit));
            }
        }
        best.map(|(index, _)| index)
    }

    /// Books `request` on a space of its lot chosen by `policy`; returns the space id,
    /// or `None` when no space of the lot fits it.
    pub fn place(&mut self, request: &Request, policy: Policy) -> Option<i64> {
        self.place_indexed(request, usize::MAX, policy)
    }

    fn place_indexed(&mut self, request: &Request, index: usize, policy: Policy) -> Option<i64> {
        let space = self.choose(request, policy)?;
        Some(self.book(space, request, index))
    }
}

/// Allocates `requests` one by one in the given (arrival) order; returns the space of
/// each, or `None` for a request turned away.
pub fn allocate_online(
    spaces: Vec<Space>,
    buffer: i64,
    requests: &[Request],
    policy: Policy,
) -> Vec<Option<i64>> {
    let mut allocator = Allocator::new(spaces, buffer);
    let placed = requests.iter().enumerate();
    placed.map(|(i, request)| allocator.place_indexed(request, i, policy)).collect()
}

/// Returns how well the occupied span `(start, end)` fits on a space with `windows` and
/// the sorted, disjoint `occupied` spans, or `None` when it lies outside every window or
/// overlaps a booking.
fn fit_span(
    windows: &[(i64, i64)],
    occupied: &[(i64, i64, usize)],
    (start, end): (i64, i64),
) -> Option<Fit> {
    let window = windows.iter().find(|(from, to)| *from <= start && end <= *to)?;
    let next = occupied.partition_point(|(from, _, _)| *from < end);
    if next > 0 && occupied[next - 1].1 > start {
        return None;
    }
    let before_end = if next > 0 { occupied[next - 1].1.max(window.0) } else { window.0 };
    let after_start = occupied.get(next).map_or(window.1, |(from, _, _)| (*from).min(window.1));
    Some((start - before_end, after_start - end, window.1 - window.0))
}

/// Checks that `assigned` never overlaps two occupied spans on one space and keeps
/// every span inside a window. Returns an error naming the first request that breaks it.
pub fn check(
    spaces: &[Space],
    buffer: i64,
    requests: &[Request],
    assigned: &[Option<i64>],
) -> Result<(), String> {
    let mut by_space: HashMap<i64, Vec<(i64, i64, usize)>> = HashMap::new();
    for (i, (request, space)) in requests.iter().zip(assigned).enumerate() {
        let Some(space_id) = space else { continue };
        let space = spaces
            .iter()
            .find(|s| s.space_id == *space_id)
            .ok_or(format!("request {i}: unknown space"))?;
        let end = request.end + buffer;
        if space.lot_id != request.lot_id {
            return Err(format!("request {i} placed in another lot"));
        }
        if !space.windows.iter().any(|(from, to)| *from <= request.start && end <= *to) {
            return Err(format!("request {i} outside the windows of space {space_id}"));
        }
        by_space.entry(*space_id).or_default().push((request.start, end, i));
    }
    for spans in by_space.values_mut() {
        spans.sort_unstable();
        for pair in spans.windows(2) {
            if pair[0].1 > pair[1].0 {
                return Err(format!("requests {} and {} overlap", pair[0].2, pair[1].2));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
