//! Rates from cumulative counters and the ring buffers that keep their history, kept apart
//! from collection (host workers) and drawing (ui).

use std::time::Instant;

use crate::model::{IoCounters, NodeCpu};

/// One VM's cumulative counters at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VmSample {
    pub at: Instant,
    /// Domain id: a new id means the VM restarted and every counter began again.
    pub dom_id: Option<u32>,
    pub cpu_time_ns: Option<u64>,
    pub io: IoCounters,
}

/// Per-second rates between two samples. None where no rate can be trusted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VmRates {
    /// Percent of the VM's vCPUs (virt-manager's normalisation: 100% = every vCPU busy).
    pub cpu_pct: Option<f64>,
    pub disk_rd_bps: Option<f64>,
    pub disk_wr_bps: Option<f64>,
    pub disk_rd_iops: Option<f64>,
    pub disk_wr_iops: Option<f64>,
    pub net_rx_bps: Option<f64>,
    pub net_tx_bps: Option<f64>,
}

impl VmRates {
    /// Read plus write (or rx plus tx), when at least one side is known.
    pub fn sum(a: Option<f64>, b: Option<f64>) -> Option<f64> {
        match (a, b) {
            (None, None) => None,
            _ => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        }
    }
}

/// Rate of a cumulative counter. None when either reading is missing or the counter went
/// backwards (a reset, e.g. a hot-unplugged disk or a restarted guest).
pub fn counter_rate(prev: Option<u64>, cur: Option<u64>, secs: f64) -> Option<f64> {
    let (p, c) = (prev?, cur?);
    (c >= p && secs > 0.0).then(|| (c - p) as f64 / secs)
}

/// Rates between two samples of the same VM; all None across a restart or when the samples
/// are less than a millisecond apart.
pub fn vm_rates(prev: &VmSample, cur: &VmSample, vcpus: u32) -> VmRates {
    if prev.dom_id != cur.dom_id || cur.dom_id.is_none() {
        return VmRates::default();
    }
    let Some(wall) = cur.at.checked_duration_since(prev.at) else {
        return VmRates::default();
    };
    let secs = wall.as_secs_f64();
    if secs < 1e-3 {
        return VmRates::default();
    }
    let cpu_pct = (vcpus > 0)
        .then(|| counter_rate(prev.cpu_time_ns, cur.cpu_time_ns, secs))
        .flatten()
        .map(|ns_per_s| (ns_per_s / 1e9 / f64::from(vcpus) * 100.0).clamp(0.0, 100.0));
    let (p, c) = (&prev.io, &cur.io);
    VmRates {
        cpu_pct,
        disk_rd_bps: counter_rate(p.disk_rd_bytes, c.disk_rd_bytes, secs),
        disk_wr_bps: counter_rate(p.disk_wr_bytes, c.disk_wr_bytes, secs),
        disk_rd_iops: counter_rate(p.disk_rd_reqs, c.disk_rd_reqs, secs),
        disk_wr_iops: counter_rate(p.disk_wr_reqs, c.disk_wr_reqs, secs),
        net_rx_bps: counter_rate(p.net_rx_bytes, c.net_rx_bytes, secs),
        net_tx_bps: counter_rate(p.net_tx_bytes, c.net_tx_bytes, secs),
    }
}

/// Node CPU busy percentage between two readings (all CPUs together).
pub fn node_cpu_percent(prev: &NodeCpu, cur: &NodeCpu) -> Option<f64> {
    let total = cur.total_ns.checked_sub(prev.total_ns)?;
    let idle = cur.idle_ns.checked_sub(prev.idle_ns)?;
    (total > 0).then(|| ((total.saturating_sub(idle)) as f64 / total as f64 * 100.0).min(100.0))
}

/// A fixed-capacity history of readings; the oldest falls out. `NaN` marks a gap (no rate).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ring {
    buf: Vec<f32>,
    head: usize,
    cap: usize,
}

impl Ring {
    pub fn new(cap: usize) -> Ring {
        Ring {
            buf: Vec::new(),
            head: 0,
            cap: cap.max(1),
        }
    }

    pub fn push(&mut self, v: Option<f64>) {
        let v = v.map_or(f32::NAN, |v| v as f32);
        if self.buf.len() == self.buf.capacity() && self.buf.len() < self.cap {
            // Doubling, but never past the window (plain doubling ends at the next power of
            // two: 512 points for a 300-point window). Lazily: 5,000 VMs' full windows are 42 MB.
            let more = self.buf.len().max(16).min(self.cap - self.buf.len());
            self.buf.reserve_exact(more);
        }
        if self.buf.len() < self.cap {
            self.buf.push(v);
        } else {
            self.buf[self.head] = v;
            self.head = (self.head + 1) % self.cap;
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Oldest to newest, gaps included.
    pub fn iter(&self) -> impl Iterator<Item = f32> + '_ {
        let (a, b) = self.buf.split_at(self.head);
        b.iter().chain(a.iter()).copied()
    }

    pub fn last(&self) -> Option<f32> {
        if self.buf.is_empty() {
            return None;
        }
        let i = (self.head + self.buf.len() - 1) % self.buf.len();
        Some(self.buf[i]).filter(|v| !v.is_nan())
    }

    /// Largest reading (gaps skipped).
    pub fn max(&self) -> Option<f32> {
        self.iter().filter(|v| !v.is_nan()).reduce(f32::max)
    }
}

/// The charted series of one VM.
#[derive(Clone, Debug, PartialEq)]
pub struct VmHistory {
    pub cpu: Ring,
    /// KiB: RSS where reported, else the balloon's current size.
    pub memory: Ring,
    pub disk_rd: Ring,
    pub disk_wr: Ring,
    pub disk_iops: Ring,
    pub net_rx: Ring,
    pub net_tx: Ring,
    /// Pushes in a row without any reading (the VM is off).
    gaps: usize,
}

impl VmHistory {
    pub fn new(cap: usize) -> VmHistory {
        VmHistory {
            cpu: Ring::new(cap),
            memory: Ring::new(cap),
            disk_rd: Ring::new(cap),
            disk_wr: Ring::new(cap),
            disk_iops: Ring::new(cap),
            net_rx: Ring::new(cap),
            net_tx: Ring::new(cap),
            gaps: 0,
        }
    }

    /// Whether a push of these has nothing to chart.
    pub fn blank(r: &VmRates, memory_kib: Option<u64>) -> bool {
        *r == VmRates::default() && memory_kib.is_none()
    }

    /// Every reading in the window is a gap: the VM has been off for all of it, and the
    /// history says no more than none would (the app drops it, see `HostView::apply_snapshot`).
    pub fn only_gaps(&self) -> bool {
        self.gaps >= self.cpu.len()
    }

    pub fn push(&mut self, r: &VmRates, memory_kib: Option<u64>) {
        self.gaps = if Self::blank(r, memory_kib) {
            self.gaps + 1
        } else {
            0
        };
        self.cpu.push(r.cpu_pct);
        self.memory.push(memory_kib.map(|m| m as f64));
        self.disk_rd.push(r.disk_rd_bps);
        self.disk_wr.push(r.disk_wr_bps);
        self.disk_iops
            .push(VmRates::sum(r.disk_rd_iops, r.disk_wr_iops));
        self.net_rx.push(r.net_rx_bps);
        self.net_tx.push(r.net_tx_bps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_ring_grows_with_its_readings_up_to_its_window_exactly() {
        let mut r = Ring::new(300);
        assert_eq!(r.buf.capacity(), 0, "nothing before the first reading");
        for i in 0..30 {
            r.push(Some(f64::from(i)));
        }
        assert!(r.buf.capacity() < 64, "{}", r.buf.capacity());
        for i in 30..301 {
            r.push(Some(f64::from(i)));
        }
        assert_eq!(r.buf.capacity(), 300);
        assert_eq!(r.len(), 300);
        assert_eq!(r.iter().next(), Some(1.0));
    }

    fn sample(at: Instant, id: u32, cpu: u64, rd: u64) -> VmSample {
        VmSample {
            at,
            dom_id: Some(id),
            cpu_time_ns: Some(cpu),
            io: IoCounters {
                disk_rd_bytes: Some(rd),
                disk_rd_reqs: Some(rd / 4096),
                net_rx_bytes: Some(rd * 2),
                ..IoCounters::default()
            },
        }
    }

    #[test]
    fn cpu_is_normalised_per_vcpu() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        // One full core for 2 s on a 2-vCPU VM is 50%.
        let r = vm_rates(&sample(t0, 1, 0, 0), &sample(t1, 1, 2_000_000_000, 0), 2);
        assert!((r.cpu_pct.unwrap() - 50.0).abs() < 1e-9, "{r:?}");
        let r = vm_rates(&sample(t0, 1, 0, 0), &sample(t1, 1, 500_000_000, 0), 1);
        assert!((r.cpu_pct.unwrap() - 25.0).abs() < 1e-9, "{r:?}");
        // Never above 100% even if the counter jumps (vCPU hot-unplug between samples).
        let r = vm_rates(&sample(t0, 1, 0, 0), &sample(t1, 1, 9_000_000_000, 0), 1);
        assert_eq!(r.cpu_pct, Some(100.0));
        assert_eq!(
            vm_rates(&sample(t0, 1, 0, 0), &sample(t1, 1, 1, 0), 0).cpu_pct,
            None
        );
    }

    #[test]
    fn byte_and_request_rates() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(2500);
        let r = vm_rates(
            &sample(t0, 7, 0, 4096 * 10),
            &sample(t1, 7, 0, 4096 * 110),
            1,
        );
        assert_eq!(r.disk_rd_bps, Some(4096.0 * 100.0 / 2.5));
        assert_eq!(r.disk_rd_iops, Some(40.0));
        assert_eq!(r.net_rx_bps, Some(2.0 * 4096.0 * 100.0 / 2.5));
        assert_eq!(r.disk_wr_bps, None, "not reported: no rate, not zero");
    }

    #[test]
    fn restart_and_counter_reset_give_no_rate() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        // New domain id: the VM restarted, counters began again.
        let r = vm_rates(&sample(t0, 1, 9_000, 9_000), &sample(t1, 2, 10, 10), 1);
        assert_eq!(r, VmRates::default());
        // Same id, counter went backwards (disk hot-unplugged): that counter has no rate.
        let r = vm_rates(&sample(t0, 1, 0, 9_000), &sample(t1, 1, 1_000_000, 10), 1);
        assert_eq!(r.disk_rd_bps, None);
        assert!(r.cpu_pct.is_some());
        // Shut-off VMs (no id) and samples too close together.
        let mut off = sample(t0, 1, 0, 0);
        off.dom_id = None;
        assert_eq!(vm_rates(&off, &off, 1), VmRates::default());
        assert_eq!(
            vm_rates(&sample(t0, 1, 0, 0), &sample(t0, 1, 5, 5), 1),
            VmRates::default()
        );
        // The next pair after a restart gives rates again.
        let t2 = t1 + Duration::from_secs(2);
        let r = vm_rates(&sample(t1, 2, 10, 10), &sample(t2, 2, 1_000_000_010, 10), 1);
        assert_eq!(r.cpu_pct, Some(50.0));
    }

    #[test]
    fn node_cpu_busy_share() {
        let a = NodeCpu {
            total_ns: 1_000,
            idle_ns: 800,
        };
        let b = NodeCpu {
            total_ns: 2_000,
            idle_ns: 1_550,
        };
        assert_eq!(node_cpu_percent(&a, &b), Some(25.0));
        assert_eq!(node_cpu_percent(&b, &a), None);
        assert_eq!(node_cpu_percent(&a, &a), None);
    }

    #[test]
    fn ring_keeps_the_newest() {
        let mut r = Ring::new(3);
        assert_eq!(r.last(), None);
        for v in [1.0, 2.0, 3.0, 4.0] {
            r.push(Some(v));
        }
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![2.0, 3.0, 4.0]);
        assert_eq!(r.last(), Some(4.0));
        r.push(None);
        assert_eq!(r.len(), 3);
        assert_eq!(r.last(), None);
        assert!(r.iter().last().unwrap().is_nan());
        assert_eq!(r.max(), Some(4.0));
    }
}
