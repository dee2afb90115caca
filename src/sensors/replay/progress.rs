//! The replay's progress display on stderr: a bar redrawn in place on a terminal, and
//! plain lines, at most one every [`LINE_INTERVAL`], when stderr is a file or a pipe.

use std::{
    io::{IsTerminal, Write},
    time::{Duration, Instant},
};

/// Time between two redraws of the bar on a terminal.
const BAR_INTERVAL: Duration = Duration::from_millis(100);
/// Time between two progress lines in a log, so that a long replay stays readable.
const LINE_INTERVAL: Duration = Duration::from_secs(5);
const BAR_WIDTH: usize = 30;

/// Readings done out of a total, with rate and estimated time left.
pub struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    last_drawn: Option<Instant>,
    terminal: bool,
    enabled: bool,
}

impl Progress {
    /// Starts the display; `enabled` false draws nothing (as in tests).
    pub fn new(total: usize, enabled: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Self { total, done: 0, started: Instant::now(), last_drawn: None, terminal, enabled }
    }

    /// Counts `readings` more as done and redraws when the interval has passed.
    pub fn advance(&mut self, readings: usize) {
        self.done += readings;
        let interval = if self.terminal { BAR_INTERVAL } else { LINE_INTERVAL };
        if self.last_drawn.is_none_or(|at| at.elapsed() >= interval) {
            self.draw();
        }
    }

    /// Draws the final state and ends the bar's line.
    pub fn finish(&mut self) {
        self.draw();
        if self.enabled && self.terminal {
            eprintln!();
        }
    }

    fn draw(&mut self) {
        self.last_drawn = Some(Instant::now());
        if !self.enabled {
            return;
        }
        let text = status_text(self.done, self.total, self.started.elapsed());
        let mut stderr = std::io::stderr().lock();
        // A failed write to stderr only loses a progress update, so it is ignored.
        let _ = if self.terminal {
            let filled = (BAR_WIDTH * self.done).checked_div(self.total).unwrap_or(BAR_WIDTH);
            let bar = format!("{}{}", "#".repeat(filled), "-".repeat(BAR_WIDTH - filled));
            write!(stderr, "\r[{bar}] {text}\x1b[K")
        } else {
            writeln!(stderr, "replay: {text}")
        };
        let _ = stderr.flush();
    }
}

/// Formats `done/total readings, rate per second, ETA m:ss`.
fn status_text(done: usize, total: usize, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 { done as f64 / seconds } else { 0.0 };
    let eta = if rate > 0.0 {
        let left = (total.saturating_sub(done)) as f64 / rate;
        format!("{}:{:02}", (left / 60.0) as u64, (left % 60.0) as u64)
    } else {
        "-".to_owned()
    };
    format!("{done}/{total} readings, {rate:.0}/s, ETA {eta}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_shows_rate_and_time_left() {
        let text = status_text(1_000, 4_000, Duration::from_secs(10));
        assert_eq!(text, "1000/4000 readings, 100/s, ETA 0:30");
    }

    #[test]
    fn status_text_before_first_reading_has_no_eta() {
        assert_eq!(status_text(0, 10, Duration::ZERO), "0/10 readings, 0/s, ETA -");
    }
}
