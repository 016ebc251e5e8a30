//! Gives malloc's free pages back to the system. glibc returns only the free top of its heap
//! by itself, while a big host's transients are freed all over it: every tick libvirt decodes
//! the bulk stats of thousands of domains into small blocks, and every inventory lists them
//! all four times. With 10,000 VMs those holes kept several megabytes resident between uses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// At most one trim in this long for each kind of caller (`Who`): the workers, after their
/// ticks, at most twice a second with a hundred hosts; the UI loop, after the snapshots that
/// replaced its lists. One limit for both skipped the UI's trim, which comes a few
/// milliseconds after the worker's: the VMs it had just freed stayed resident until the next
/// tick (a megabyte of small blocks for 10,000 VMs when the lists were copied whole; since
/// they are shared, the VMs a tick changed).
const EVERY: Duration = Duration::from_millis(500);

/// How many VMs a tick (a worker's) or a batch of snapshots (the UI's) must have carried for
/// its transients to be worth a trim. Below it the holes are a few pages, which a trim after
/// every tick hands back only for malloc to fault them in again at the next (strace: about
/// six `madvise` calls a trim on the idle bench's 2 × 160 VMs, no RSS gained).
const WORTH_IT: usize = 1_000;

/// Who trims; each has its own `EVERY`.
#[derive(Clone, Copy, Debug)]
pub enum Who {
    Workers = 0,
    Ui = 1,
}

/// Milliseconds since `START` of each caller's last trim (0: none yet).
static LAST: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

fn now_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    // Plus one: 0 means "never".
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// Trims the heap after work that carried `vms` VMs, unless they were fewer than `WORTH_IT`
/// or `who` trimmed within `EVERY`. The call walks malloc's free chunks under its lock: 0.3
/// to 1.6 ms with 10,000 VMs.
pub fn trim(who: Who, vms: usize) -> bool {
    if vms < WORTH_IT || !claim(&LAST[who as usize], now_ms()) {
        return false;
    }
    let _timed = crate::log::timed(|| "malloc_trim".into());
    // SAFETY: malloc_trim only returns unused memory; any thread may call it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
    true
}

/// Takes the turn of `slot` at `now` (ms, never 0) unless it was taken within `EVERY` or
/// another thread takes it meanwhile.
fn claim(slot: &AtomicU64, now: u64) -> bool {
    let last = slot.load(Ordering::Relaxed);
    if last != 0 && now.saturating_sub(last) < EVERY.as_millis() as u64 {
        return false;
    }
    slot.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_trims_at_most_once_per_interval() {
        let every = EVERY.as_millis() as u64;
        let slots = [AtomicU64::new(0), AtomicU64::new(0)];
        assert!(claim(&slots[0], 1));
        assert!(
            !claim(&slots[0], every),
            "a second trim within the interval"
        );
        assert!(
            claim(&slots[1], every),
            "the other caller's turn is its own"
        );
        assert!(claim(&slots[0], 1 + every));
        assert!(!trim(Who::Ui, WORTH_IT - 1), "too little to be worth it");
        assert!(trim(Who::Workers, WORTH_IT) || LAST[0].load(Ordering::Relaxed) != 0);
        assert!(!trim(Who::Workers, WORTH_IT), "the real slot limits too");
    }
}
