//! Gives malloc's free pages back to the system. glibc returns only the free top of its heap
//! by itself, while a big host's transients are freed all over it: every tick libvirt decodes
//! the bulk stats of thousands of domains into small blocks, and every inventory lists them
//! all four times. With 10,000 VMs those holes kept several megabytes resident between uses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// At most one trim in this long, whoever asks (a worker after each tick, the UI loop after
/// the snapshots that replaced its lists): both, each poll of one big host; at most two a
/// second with a hundred hosts.
const EVERY: Duration = Duration::from_millis(500);

/// Milliseconds since `START` of the last trim (0: none yet).
static LAST: AtomicU64 = AtomicU64::new(0);

fn now_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    // Plus one: 0 means "never".
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// Trims the heap unless someone did within `EVERY`. The call walks malloc's free chunks
/// under its lock: 0.3 to 1.6 ms with 10,000 VMs, microseconds on a small fleet.
pub fn trim() -> bool {
    let now = now_ms();
    let last = LAST.load(Ordering::Relaxed);
    if last != 0 && now.saturating_sub(last) < EVERY.as_millis() as u64 {
        return false;
    }
    if LAST
        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        .is_err()
    {
        // Another thread is trimming now.
        return false;
    }
    let _timed = crate::log::timed(|| "malloc_trim".into());
    // SAFETY: malloc_trim only returns unused memory; any thread may call it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_at_most_once_per_interval() {
        // Other tests may trim too: only the second of two quick calls is checked.
        trim();
        assert!(!trim(), "a second trim within the interval");
    }
}
