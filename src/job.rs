//! A long-running transfer (volume upload or download) shared between the thread doing it and
//! the UI: progress counters, a cancel flag and the outcome. Like a console link, the UI reads
//! it when it draws and is woken when it changes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    Running,
    Done,
    Failed(String),
    Cancelled,
}

use crate::wake::Wake;

struct Shared {
    label: String,
    total: AtomicU64,
    done: AtomicU64,
    cancel: AtomicBool,
    state: Mutex<JobState>,
    /// What a finished job has to say besides its state ("full backup in …, 64 MiB").
    note: Mutex<Option<String>>,
    wake: Mutex<Option<Wake>>,
    /// For the log's duration of the whole job.
    started: std::time::Instant,
}

/// Handle to one job; clones share it.
#[derive(Clone)]
pub struct Job(Arc<Shared>);

impl PartialEq for Job {
    fn eq(&self, o: &Self) -> bool {
        Arc::ptr_eq(&self.0, &o.0)
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("label", &self.0.label)
            .field("done", &self.done())
            .field("total", &self.total())
            .field("state", &self.state())
            .finish()
    }
}

impl Job {
    pub fn new(label: impl Into<String>) -> Job {
        let label = label.into();
        tracing::info!(job = %label.escape_debug(), "job started");
        Job(Arc::new(Shared {
            label,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            state: Mutex::new(JobState::Running),
            note: Mutex::new(None),
            wake: Mutex::new(None),
            started: std::time::Instant::now(),
        }))
    }

    pub fn label(&self) -> &str {
        &self.0.label
    }

    /// How the UI hears about progress (set by the runtime).
    pub fn set_wake(&self, w: Wake) {
        *self.0.wake.lock().unwrap_or_else(PoisonError::into_inner) = Some(w);
    }

    fn wake(&self) {
        let w = self
            .0
            .wake
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(w) = w {
            w();
        }
    }

    pub fn set_total(&self, n: u64) {
        self.0.total.store(n, Ordering::Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.0.total.load(Ordering::Relaxed)
    }

    /// Adds transferred bytes; wakes the UI at most once per percent.
    pub fn advance(&self, n: u64) {
        let before = self.0.done.fetch_add(n, Ordering::Relaxed);
        let total = self.total().max(1);
        if before * 100 / total != (before + n) * 100 / total {
            self.wake();
        }
    }

    pub fn done(&self) -> u64 {
        self.0.done.load(Ordering::Relaxed)
    }

    /// 0.0..=1.0 (0 while the size is unknown).
    pub fn ratio(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            t => (self.done() as f64 / t as f64).min(1.0),
        }
    }

    pub fn cancel(&self) {
        tracing::info!(job = %self.0.label.escape_debug(), "job cancel asked");
        self.0.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancel.load(Ordering::Relaxed)
    }

    pub fn state(&self) -> JobState {
        self.0
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Set before [`Job::finish`]: the UI says it with the outcome.
    pub fn set_note(&self, note: String) {
        tracing::debug!(job = %self.0.label.escape_debug(), note = %note.escape_debug(), "job step");
        *self.0.note.lock().unwrap_or_else(PoisonError::into_inner) = Some(note);
    }

    pub fn note(&self) -> Option<String> {
        self.0
            .note
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn finish(&self, s: JobState) {
        let (job, ms) = (self.0.label.escape_debug(), crate::log::ms(self.0.started));
        let done = self.0.done.load(Ordering::Relaxed);
        match &s {
            JobState::Failed(e) => {
                tracing::warn!(%job, elapsed_ms = ms, done, error = %e.escape_debug(), "job failed")
            }
            other => tracing::info!(%job, elapsed_ms = ms, done, state = ?other, "job finished"),
        }
        *self.0.state.lock().unwrap_or_else(PoisonError::into_inner) = s;
        self.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn progress_wakes_once_per_percent_and_finishes() {
        let job = Job::new("upload");
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&wakes);
        job.set_wake(Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        job.set_total(1000);
        for _ in 0..100 {
            job.advance(1);
        }
        assert_eq!(wakes.load(Ordering::SeqCst), 10);
        assert!((job.ratio() - 0.1).abs() < 1e-9);
        job.cancel();
        assert!(job.is_cancelled());
        job.finish(JobState::Cancelled);
        assert_eq!(job.state(), JobState::Cancelled);
        assert_eq!(wakes.load(Ordering::SeqCst), 11);
    }
}
