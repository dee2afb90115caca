//! The batch allocation of one lot by classes of interchangeable spaces.
//!
//! Spaces with the same free windows are interchangeable. Stays on `k` such spaces never
//! overlap exactly when at most `k` of them are in progress at every moment. Stays are
//! intervals, and intervals taken by start time can always be spread over as many spaces
//! as the maximum number that overlap. So the plan decides only the class of each request,
//! keeping a count of stays per class and time segment, and
//! [`ClassPlan::into_assignment`] spreads each class's stays over its spaces at the end.
//!
//! The plan is built in three stages:
//! 1. greedy passes book requests in three orders in the class with the most room left;
//! 2. shadow prices per class and segment, from the Lagrangian relaxation of the class
//!    capacities ([`prices`]), steer further greedy passes to the classes that other
//!    requests need least;
//! 3. a local search serves more from the best plan so far. An ejection chain books an
//!    unserved request in a class by moving a stay that covers every full segment of
//!    its span to another class, which may in turn move one more. An exchange frees one
//!    booking and lets unserved requests that overlap it in, kept when more are served.
//!    A perturbation round frees a few bookings around a random stay and refills the gap
//!    in random order, kept when no fewer are served, so the search crosses plateaus.
//!
//! Effort is counted in steps (one segment or request examined) and bounded by a budget
//! proportional to the lot's requests, and the random choices use a seed per lot, so the
//! result is the same on every machine and run.

mod prices;

use std::{cmp::Reverse, collections::BinaryHeap, collections::HashMap};

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};

/// Steps of local search per request of the lot, after the greedy and priced passes.
const STEPS_PER_REQUEST: u64 = 500;

/// Minimum steps of local search per lot. The 200 small scenarios of `citycore bench
/// allocate` reach the exact optimum with 5,000; 20,000 leaves a margin.
const MIN_STEPS: u64 = 20_000;

/// The deepest ejection chain: a request may move one stay, which may move one more, and
/// so on, three times.
const MAX_DEPTH: usize = 3;

/// The seed of the perturbation rounds, mixed with the lot's id.
const SEED: u64 = 0x5eed_ca75;

/// One change to a plan, kept so that a move that does not pay can be undone.
#[derive(Debug, Clone, Copy)]
enum Change {
    Booked { request: usize },
    Freed { request: usize, class: usize },
}

/// The bookings of one lot by class of spaces.
pub(super) struct ClassPlan {
    /// The spaces of each class, as indices into the lot's spaces.
    members: Vec<Vec<usize>>,
    /// Occupied span `[start, end + buffer)` of each request.
    spans: Vec<(i64, i64)>,
    /// Distinct span endpoints; segment `i` is `[points[i], points[i + 1])`.
    points: Vec<i64>,
    /// The segments of each request's span, `first..last`.
    segments: Vec<(usize, usize)>,
    /// The classes in a window of which each request's span fits.
    eligible: Vec<Vec<usize>>,
    /// Stays in progress per class and segment.
    // NOTE: classes × segments numbers: 80 MB for 1,000 spaces with windows that all
    // differ and 10,000 requests in one lot's batch.
    load: Vec<Vec<u32>>,
    /// Prefix sums of the shadow price per class and segment; empty before pricing.
    price_sums: Vec<Vec<f64>>,
    class_of: Vec<Option<usize>>,
    served: usize,
    journal: Vec<Change>,
    /// Requests that an ejection chain is placing, which no deeper link may move.
    chain: Vec<usize>,
    /// Scratch space of [`ClassPlan::free_class`]: eligible classes with their cost.
    by_cost: Vec<(i64, usize)>,
    steps: u64,
    budget: u64,
    /// Requests by end time then latest start: the greedy order of interval scheduling.
    by_end: Vec<usize>,
    /// Requests by start time, with the longest span, to find the ones overlapping a span.
    by_start: Vec<usize>,
    longest: i64,
}

impl ClassPlan {
    /// Starts an empty plan for the spaces with `windows` and the requests with `spans`.
    pub(super) fn new(windows: &[&[(i64, i64)]], spans: Vec<(i64, i64)>) -> ClassPlan {
        let mut class_of_windows: HashMap<&[(i64, i64)], usize> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (space, space_windows) in windows.iter().enumerate() {
            let next = members.len();
            let class = *class_of_windows.entry(space_windows).or_insert(next);
            if class == next {
                members.push(Vec::new());
            }
            members[class].push(space);
        }

        let mut points: Vec<i64> = spans.iter().flat_map(|(from, to)| [*from, *to]).collect();
        points.sort_unstable();
        points.dedup();
        let index = |time: i64| points.partition_point(|point| *point < time);
        let segments = spans.iter().map(|(from, to)| (index(*from), index(*to))).collect();

        let eligible = spans
            .iter()
            .map(|&(start, end)| {
                let fits = |class: &usize| {
                    let class_windows = windows[members[*class][0]];
                    class_windows.iter().any(|(from, to)| *from <= start && end <= *to)
                };
                (0..members.len()).filter(fits).collect()
            })
            .collect();

        let mut by_end: Vec<usize> = (0..spans.len()).collect();
        by_end.sort_by_key(|&r| (spans[r].1, -spans[r].0));
        let mut by_start: Vec<usize> = (0..spans.len()).collect();
        by_start.sort_by_key(|&r| spans[r]);
        let longest = spans.iter().map(|(from, to)| to - from).max().unwrap_or(0);
        ClassPlan {
            load: vec![vec![0; points.len()]; members.len()],
            members,
            class_of: vec![None; spans.len()],
            spans,
            points,
            segments,
            eligible,
            price_sums: Vec::new(),
            served: 0,
            journal: Vec::new(),
            chain: Vec::new(),
            by_cost: Vec::new(),
            steps: 0,
            budget: 0,
            by_end,
            by_start,
            longest,
        }
    }

    /// Spreads each class's stays over its spaces and returns the space (an index into
    /// the lot's spaces) of each request, `None` for those turned away.
    pub(super) fn into_assignment(self) -> Vec<Option<usize>> {
        let mut placed = vec![None; self.spans.len()];
        for (class, spaces) in self.members.iter().enumerate() {
            // The space free soonest: when a stay starts, fewer than the class's size are
            // in progress, so that space is free by then.
            let mut free: BinaryHeap<Reverse<(i64, usize)>> =
                spaces.iter().map(|&space| Reverse((i64::MIN, space))).collect();
            for &r in &self.by_start {
                if self.class_of[r] != Some(class) {
                    continue;
                }
                let Some(Reverse((until, space))) = free.pop() else { break };
                debug_assert!(until <= self.spans[r].0, "class {class} over capacity");
                placed[r] = Some(space);
                free.push(Reverse((self.spans[r].1, space)));
            }
        }
        placed
    }

    /// Builds the plan: greedy passes, priced passes, then local search.
    pub(super) fn improve(&mut self, lot_seed: u64) {
        self.start_from_best_greedy();
        self.fill_by_prices();
        let budget = (STEPS_PER_REQUEST * self.spans.len() as u64).max(MIN_STEPS);
        self.budget = self.steps + budget;
        self.descend();
        self.journal.clear();
        let mut rng = StdRng::seed_from_u64(SEED ^ lot_seed);
        while self.steps < self.budget && self.served > 0 && self.served < self.spans.len() {
            let (mark, before) = (self.journal.len(), self.served);
            self.perturb(&mut rng);
            self.descend();
            if self.served < before {
                self.rollback(mark);
            }
            self.journal.clear();
        }
    }

    fn start_from_best_greedy(&mut self) {
        let spans = &self.spans;
        let mut by_length = self.by_end.clone();
        by_length.sort_by_key(|&r| (spans[r].1, spans[r].1 - spans[r].0));
        let orders = [self.by_end.clone(), by_length, self.by_start.clone()];
        let mut best: Option<(usize, Vec<Option<usize>>)> = None;
        for order in orders {
            self.fill(&order);
            if best.as_ref().is_none_or(|(served, _)| self.served > *served) {
                best = Some((self.served, self.class_of.clone()));
            }
        }
        self.restore(&best.map(|(_, classes)| classes).unwrap_or_default());
    }

    /// Clears the plan and books the requests in `order`, each in its best class with
    /// room.
    fn fill(&mut self, order: &[usize]) {
        self.clear();
        for &r in order {
            if let Some(class) = self.free_class(r) {
                self.book(r, class);
            }
        }
    }

    /// Clears the plan and books each request in the class `classes` gives it.
    fn restore(&mut self, classes: &[Option<usize>]) {
        self.clear();
        for (r, class) in classes.iter().enumerate() {
            if let Some(class) = class {
                self.book(r, *class);
            }
        }
        self.journal.clear();
    }

    fn clear(&mut self) {
        self.load.iter_mut().for_each(|load| load.fill(0));
        self.class_of.fill(None);
        self.served = 0;
        self.journal.clear();
    }

    fn book(&mut self, request: usize, class: usize) {
        let (first, last) = self.segments[request];
        self.load[class][first..last].iter_mut().for_each(|stays| *stays += 1);
        self.class_of[request] = Some(class);
        self.served += 1;
        self.journal.push(Change::Booked { request });
    }

    fn free(&mut self, request: usize) {
        let Some(class) = self.class_of[request].take() else { return };
        let (first, last) = self.segments[request];
        self.load[class][first..last].iter_mut().for_each(|stays| *stays -= 1);
        self.served -= 1;
        self.journal.push(Change::Freed { request, class });
    }

    /// Undoes the changes made since the journal had `mark` entries.
    fn rollback(&mut self, mark: usize) {
        while self.journal.len() > mark {
            match self.journal.pop() {
                Some(Change::Booked { request }) => self.free(request),
                Some(Change::Freed { request, class }) => self.book(request, class),
                None => break,
            }
            // Undoing pushes an entry of its own, which must not stay in the journal.
            self.journal.pop();
        }
    }

    /// Returns the class with room for `request` whose segments cost least at the shadow
    /// prices, then the one with the largest share of its spaces left free.
    fn free_class(&mut self, request: usize) -> Option<usize> {
        let (first, last) = self.segments[request];
        let mut by_cost = std::mem::take(&mut self.by_cost);
        by_cost.clear();
        for &class in &self.eligible[request] {
            let cost = (self.price(class, first, last) * 1e6).round() as i64;
            by_cost.push((cost, class));
        }
        by_cost.sort_unstable();
        let mut best: Option<((i64, i64), usize)> = None;
        for &(cost, class) in &by_cost {
            // A dearer class cannot win, so its segments need no scan.
            if best.is_some_and(|((best_cost, _), _)| cost > best_cost) {
                break;
            }
            let size = self.members[class].len() as u32;
            let peak = self.load[class][first..last].iter().max().copied().unwrap_or(0);
            self.steps += (last - first) as u64;
            if peak >= size {
                continue;
            }
            let free_share = i64::from(size - peak) * 1000 / i64::from(size);
            if best.is_none_or(|(key, _)| (cost, -free_share) < key) {
                best = Some(((cost, -free_share), class));
            }
        }
        self.by_cost = by_cost;
        best.map(|(_, class)| class)
    }

    /// Returns the full segments of `class` in the span of `request` as the first and
    /// last index, or `None` when the class has room all along it.
    fn full_range(&mut self, request: usize, class: usize) -> Option<(usize, usize)> {
        let (first, last) = self.segments[request];
        let size = self.members[class].len() as u32;
        let load = &self.load[class][first..last];
        self.steps += load.len() as u64;
        let low = load.iter().position(|stays| *stays >= size)?;
        let high = load.iter().rposition(|stays| *stays >= size)?;
        Some((first + low, first + high))
    }

    /// Books `request` in a class with room, or by an ejection chain of at most `depth`
    /// links. Returns whether it is booked; on `false` the plan is unchanged.
    fn insert(&mut self, request: usize, depth: usize) -> bool {
        if self.steps >= self.budget {
            return false;
        }
        if let Some(class) = self.free_class(request) {
            self.book(request, class);
            return true;
        }
        if depth == 0 {
            return false;
        }
        self.chain.push(request);
        let mut booked = false;
        'classes: for i in 0..self.eligible[request].len() {
            let class = self.eligible[request][i];
            let Some((low, high)) = self.full_range(request, class) else { continue };
            for blocking in self.covering(class, low, high) {
                if self.steps >= self.budget {
                    break 'classes;
                }
                let mark = self.journal.len();
                self.free(blocking);
                self.book(request, class);
                if self.insert(blocking, depth - 1) {
                    booked = true;
                    break 'classes;
                }
                self.rollback(mark);
            }
        }
        self.chain.pop();
        booked
    }

    /// Returns the stays of `class`, outside the current chain, that cover segments
    /// `low..=high`.
    fn covering(&mut self, class: usize, low: usize, high: usize) -> Vec<usize> {
        let mut found = self.overlapping((self.points[low], self.points[high + 1]));
        found.retain(|&r| {
            let (first, last) = self.segments[r];
            self.class_of[r] == Some(class) && first <= low && high < last
        });
        found.retain(|r| !self.chain.contains(r));
        found
    }

    /// Returns the requests, booked or not, whose spans overlap `(start, end)`, by start.
    fn overlapping(&mut self, (start, end): (i64, i64)) -> Vec<usize> {
        let by_start = &self.by_start;
        let from =
            by_start.partition_point(|&r| self.spans[r].0 <= start.saturating_sub(self.longest));
        let to = by_start.partition_point(|&r| self.spans[r].0 < end);
        let found = by_start[from..to].iter().copied().filter(|&r| self.spans[r].1 > start);
        let found = found.collect();
        self.steps += (to - from) as u64;
        found
    }

    /// Applies ejection chains and exchanges until neither serves more or the budget ends.
    fn descend(&mut self) {
        loop {
            let before = self.served;
            for depth in 1..=MAX_DEPTH {
                for i in 0..self.by_end.len() {
                    let request = self.by_end[i];
                    if self.class_of[request].is_none() {
                        self.insert(request, depth);
                    }
                }
            }
            self.exchange();
            if self.served == before || self.steps >= self.budget {
                return;
            }
        }
    }

    /// Frees each booking in turn and lets the unserved requests that overlap it in. Keeps
    /// the change when more requests are served than before.
    fn exchange(&mut self) {
        for freed in 0..self.spans.len() {
            if self.steps >= self.budget {
                return;
            }
            if self.class_of[freed].is_none() {
                continue;
            }
            let (mark, before) = (self.journal.len(), self.served);
            self.free(freed);
            for other in self.overlapping(self.spans[freed]) {
                if other != freed && self.class_of[other].is_none() {
                    self.insert(other, 1);
                }
            }
            self.insert(freed, 1);
            if self.served <= before {
                self.rollback(mark);
            }
        }
    }

    /// Frees one to three bookings that overlap a random booked stay, then tries the
    /// unserved requests around it in random order, and the freed ones last.
    fn perturb(&mut self, rng: &mut StdRng) {
        let pick = rng.random_range(0..self.served);
        let Some(pivot) = (0..self.spans.len()).filter(|&r| self.class_of[r].is_some()).nth(pick)
        else {
            return;
        };
        let mut around = self.overlapping(self.spans[pivot]);
        around.retain(|&r| self.class_of[r].is_some());
        around.shuffle(rng);
        around.truncate(rng.random_range(1..=3));
        let low = around.iter().map(|&r| self.spans[r].0).min().unwrap_or(0);
        let high = around.iter().map(|&r| self.spans[r].1).max().unwrap_or(0);
        around.iter().for_each(|&r| self.free(r));
        let mut waiting = self.overlapping((low, high));
        waiting.retain(|r| self.class_of[*r].is_none() && !around.contains(r));
        waiting.shuffle(rng);
        for request in waiting.into_iter().chain(around) {
            self.insert(request, 1);
        }
    }
}

#[cfg(test)]
mod tests;
