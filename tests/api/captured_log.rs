//! Capture of the warnings and errors that a test's own tasks log, for tests that check
//! what an operator would read.

use std::{
    cell::RefCell,
    io::Write,
    sync::{Arc, Mutex, Once},
};

/// A log sink shared with the test.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

thread_local! {
    /// The sink of the test running on this thread, if it captures its log.
    static SINK: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Writes to this thread's [`SINK`], or nowhere.
struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        SINK.with(|sink| {
            if let Some(captured) = sink.borrow().as_ref() {
                captured.0.lock().unwrap().extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the warnings and errors logged on this thread from now on. Every task of a
/// single-threaded test runtime, the server's too, runs on the test's thread.
///
/// The subscriber is the process's global one. A scoped subscriber (`set_default`) missed
/// lines in full runs: tracing caches a call site as disabled when another test's thread
/// registers it while no subscriber wants it.
pub fn capture_warnings() -> Captured {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(|| ThreadSink)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        // Fixes any call site that another thread registered while the subscriber was
        // being installed; no subscriber changes after this, so the cache stays right.
        tracing::callsite::rebuild_interest_cache();
    });
    let captured = Captured::default();
    SINK.with(|sink| *sink.borrow_mut() = Some(captured.clone()));
    captured
}

impl Captured {
    /// Returns what was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
