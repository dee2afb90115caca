//! Shadow prices of a lot's classes and time segments, and the greedy passes they steer.
//!
//! Relaxing the capacity of every class and segment with a price (Lagrangian
//! relaxation) splits the lot into one choice per request: take the class whose segments
//! cost least, when that costs less than the 1 a served request is worth. Subgradient
//! steps raise the price of segments booked beyond their class's size and lower the
//! price of those left with room. On the benchmark's scenarios the relaxation's bound is
//! close to the optimum, so the prices tell which classes other requests need most at
//! each moment. Every few steps, and once more with the prices of the lowest bound, a
//! greedy pass books requests by end time in the cheapest class with room. The plan that
//! serves the most requests is kept.

use super::ClassPlan;

/// Subgradient steps.
const ITERATIONS: usize = 200;

/// A priced greedy pass runs after every this many steps.
const PASS_EVERY: usize = 20;

/// Steps without a lower bound after which the step size halves.
const PATIENCE: usize = 10;

/// Maximum number of class segments to price, because pricing keeps four arrays of this
/// size. Larger lots, with many spaces whose windows all differ and thousands of
/// requests, skip the priced passes and rely on the greedy passes and the local search.
const MAX_PRICED: usize = 4_000_000;

impl ClassPlan {
    /// Prices the segments, runs priced greedy passes and keeps the plan that serves most.
    /// Leaves the prices of the lowest bound found in place for the local search.
    pub(super) fn fill_by_prices(&mut self) {
        let (classes, segments) = (self.members.len(), self.points.len());
        if classes * segments > MAX_PRICED {
            return;
        }
        let mut prices = vec![vec![0.0f64; segments]; classes];
        let mut best_prices = prices.clone();
        let mut best_bound = f64::INFINITY;
        let mut best_plan = (self.served, self.class_of.clone());
        let mut starts = vec![vec![0i64; segments + 1]; classes];
        let mut gradient = vec![vec![0.0f64; segments]; classes];
        let (mut scale, mut stalled) = (1.0, 0);

        self.price_sums = prices.iter().map(|row| vec![0.0; row.len() + 1]).collect();
        for iteration in 0..ITERATIONS {
            prefix_sums(&prices, &mut self.price_sums);
            if iteration % PASS_EVERY == PASS_EVERY - 1 {
                self.priced_pass(&mut best_plan);
            }
            // The relaxation's optimum at these prices: each request in its cheapest
            // class when that costs less than 1. Its value bounds the optimum.
            starts.iter_mut().for_each(|row| row.fill(0));
            let mut bound = 0.0;
            for r in 0..self.spans.len() {
                let (first, last) = self.segments[r];
                self.steps += self.eligible[r].len() as u64;
                let cheapest = self.eligible[r]
                    .iter()
                    .map(|&class| (self.price(class, first, last), class))
                    .min_by(|a, b| a.0.total_cmp(&b.0));
                if let Some((cost, class)) = cheapest.filter(|(cost, _)| *cost < 1.0) {
                    bound += 1.0 - cost;
                    starts[class][first] += 1;
                    starts[class][last] -= 1;
                }
            }

            let mut norm = 0.0;
            for class in 0..classes {
                let size = self.members[class].len() as f64;
                let mut stays = 0;
                for segment in 0..segments {
                    stays += starts[class][segment];
                    bound += prices[class][segment] * size;
                    let excess = stays as f64 - size;
                    let step = if prices[class][segment] <= 0.0 { excess.max(0.0) } else { excess };
                    gradient[class][segment] = step;
                    norm += step * step;
                }
                self.steps += segments as u64;
            }

            // With no gradient, the relaxation's choice breaks no capacity: these prices
            // are optimal.
            if bound < best_bound - 1e-9 || norm == 0.0 {
                (best_bound, stalled) = (bound, 0);
                best_prices.clone_from(&prices);
            } else {
                stalled += 1;
                if stalled >= PATIENCE {
                    (scale, stalled) = (scale / 2.0, 0);
                }
            }
            if norm == 0.0 {
                break;
            }

            // Polyak's step towards the best plan found so far.
            let step = scale * (bound - best_plan.0 as f64).max(0.05) / norm;
            for (row, gradient) in prices.iter_mut().zip(&gradient) {
                for (price, slope) in row.iter_mut().zip(gradient) {
                    *price = (*price + step * slope).max(0.0);
                }
            }
        }
        prefix_sums(&best_prices, &mut self.price_sums);
        self.priced_pass(&mut best_plan);
        self.restore(&best_plan.1);
    }

    /// Books the requests by end time in the cheapest class with room; keeps the plan in
    /// `best` when it serves more.
    fn priced_pass(&mut self, best: &mut (usize, Vec<Option<usize>>)) {
        let order = std::mem::take(&mut self.by_end);
        self.fill(&order);
        self.by_end = order;
        if self.served > best.0 {
            *best = (self.served, self.class_of.clone());
        }
    }

    /// Returns the summed price of segments `first..last` of `class`; 0 before pricing.
    pub(super) fn price(&self, class: usize, first: usize, last: usize) -> f64 {
        self.price_sums.get(class).map_or(0.0, |sums| sums[last] - sums[first])
    }
}

/// Writes, per class, the sums of the prices of the segments before each index.
fn prefix_sums(prices: &[Vec<f64>], sums: &mut [Vec<f64>]) {
    for (row, sums) in prices.iter().zip(sums) {
        let mut total = 0.0;
        for (price, sum) in row.iter().zip(sums.iter_mut()) {
            *sum = total;
            total += price;
        }
        sums[row.len()] = total;
    }
}
