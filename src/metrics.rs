//! Rates from cumulative counters and the ring buffers that keep their history, kept apart
//! from collection (host workers) and drawing (ui).

use std::time::Instant;

use crate::model::{Counter, IoCounters, NodeCpu};

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
    let rate = |k: Counter| counter_rate(prev.io.get(k), cur.io.get(k), secs);
    VmRates {
        cpu_pct,
        disk_rd_bps: rate(Counter::DiskRdBytes),
        disk_wr_bps: rate(Counter::DiskWrBytes),
        disk_rd_iops: rate(Counter::DiskRdReqs),
        disk_wr_iops: rate(Counter::DiskWrReqs),
        net_rx_bps: rate(Counter::NetRxBytes),
        net_tx_bps: rate(Counter::NetTxBytes),
    }
}

/// Node CPU busy percentage between two readings (all CPUs together).
pub fn node_cpu_percent(prev: &NodeCpu, cur: &NodeCpu) -> Option<f64> {
    let total = cur.total_ns.checked_sub(prev.total_ns)?;
    let idle = cur.idle_ns.checked_sub(prev.idle_ns)?;
    (total > 0).then(|| ((total.saturating_sub(idle)) as f64 / total as f64 * 100.0).min(100.0))
}

/// Readings of `N` series polled together over a window of `cap` polls; the oldest fall out.
/// A gap (no rate) reads as `NaN`.
///
/// Kept small because every running VM has seven series (5,000 VMs' full windows of `f32`
/// were 42 MB): each point is a bfloat16 (the top half of an `f32`: 3 significant digits,
/// plenty for a chart; the figures printed beside the charts come from the exact rates), and
/// a VM's window is tiered like an RRD archive: the newest `FINE` polls one point each, older
/// polls folded `FOLD` to a point (their mean). A 300-poll window is 60 points a series. The
/// series share one buffer of frames (a point of each) and one set of heads: seven rings of
/// their own cost seven allocations and seven headers per VM.
#[derive(Clone, Debug, PartialEq)]
pub struct Rings<const N: usize> {
    /// The fine ring (`fine_cap` frames), then the coarse one; each filled in order, then
    /// overwritten oldest first from its head. Grown lazily: a VM that ran for a minute
    /// holds a minute.
    buf: Vec<[u16; N]>,
    fine_cap: u32,
    coarse_cap: u32,
    fine_head: u32,
    coarse_head: u32,
    /// Frames that fell out of the fine ring and wait for a full fold.
    pending: [[u16; N]; FOLD - 1],
    pending_n: u8,
    /// The window in polls.
    cap: u32,
}

/// Polls a VM's history keeps one point each (a minute at the default 2 s).
const FINE: usize = 30;
/// Older polls per point: a 300-poll window is 60 points a series, 840 bytes for seven.
/// (60 and 4 made 120 points: 13.5 MB for 8,000 running VMs, most of a 50 MB budget.) On a
/// chart the older part is still a point every few columns.
const FOLD: usize = 9;
const GAP: u16 = 0x7fc0;

fn encode(v: Option<f64>) -> u16 {
    match v.map(|v| v as f32) {
        Some(v) if !v.is_nan() => {
            // Round to nearest even on the dropped half.
            let b = v.to_bits();
            ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
        }
        _ => GAP,
    }
}

fn decode(q: u16) -> f32 {
    f32::from_bits(u32::from(q) << 16)
}

/// The mean of a fold's points, gaps skipped; a fold of gaps is a gap.
fn mean(points: impl Iterator<Item = u16>) -> u16 {
    let (sum, count) = points
        .map(decode)
        .filter(|v| !v.is_nan())
        .fold((0.0f64, 0u32), |(s, c), v| (s + f64::from(v), c + 1));
    encode((count > 0).then(|| sum / f64::from(count)))
}

impl<const N: usize> Rings<N> {
    /// Every poll of the window kept as one point (a host's own charts).
    pub fn new(cap: usize) -> Self {
        Self::with_tiers(cap, cap)
    }

    /// The newest `FINE` polls one point each, older ones folded (a VM's charts).
    pub fn tiered(cap: usize) -> Self {
        Self::with_tiers(cap, FINE)
    }

    fn with_tiers(cap: usize, fine: usize) -> Self {
        let cap = cap.clamp(1, u32::MAX as usize / 2);
        let fine = fine.clamp(1, cap);
        Rings {
            buf: Vec::new(),
            fine_cap: fine as u32,
            coarse_cap: (cap - fine).div_ceil(FOLD) as u32,
            fine_head: 0,
            coarse_head: 0,
            pending: [[GAP; N]; FOLD - 1],
            pending_n: 0,
            cap: cap as u32,
        }
    }

    fn fine_len(&self) -> usize {
        self.buf.len().min(self.fine_cap as usize)
    }

    /// Appends to `buf`, doubling its room from 16 but never past both rings (plain
    /// doubling ends at the next power of two).
    fn append(&mut self, q: [u16; N]) {
        let full = (self.fine_cap + self.coarse_cap) as usize;
        if self.buf.len() == self.buf.capacity() {
            let more = self.buf.len().max(16).min(full - self.buf.len());
            self.buf.reserve_exact(more);
        }
        self.buf.push(q);
    }

    /// One poll's readings, a value (or a gap) per series.
    pub fn push(&mut self, v: [Option<f64>; N]) {
        let q = v.map(encode);
        let fine = self.fine_cap as usize;
        if self.buf.len() < fine {
            self.append(q);
            return;
        }
        let at = self.fine_head as usize;
        let out = std::mem::replace(&mut self.buf[at], q);
        self.fine_head = ((at + 1) % fine) as u32;
        if self.coarse_cap == 0 {
            return;
        }
        let n = usize::from(self.pending_n);
        if n < FOLD - 1 {
            self.pending[n] = out;
            self.pending_n += 1;
            return;
        }
        self.pending_n = 0;
        let pending = &self.pending;
        let folded: [u16; N] =
            std::array::from_fn(|s| mean(pending.iter().map(|p| p[s]).chain([out[s]])));
        if self.buf.len() - fine < self.coarse_cap as usize {
            self.append(folded);
        } else {
            let at = self.coarse_head as usize;
            self.buf[fine + at] = folded;
            self.coarse_head = ((at + 1) % self.coarse_cap as usize) as u32;
        }
    }

    /// Series `s`: the readings, oldest first.
    pub fn view(&self, s: usize) -> View<'_> {
        View {
            frames: self.buf.as_flattened(),
            pending: self.pending[..usize::from(self.pending_n)].as_flattened(),
            stride: N,
            series: s.min(N.saturating_sub(1)),
            fine_len: self.fine_len(),
            fine_head: self.fine_head as usize,
            coarse_head: self.coarse_head as usize,
            fine_cap: self.fine_cap as usize,
            cap: self.cap as usize,
        }
    }

    /// Polls held, at most the window (the same for every series).
    pub fn len(&self) -> usize {
        self.view(0).len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Heap bytes held (the memory bench and its test).
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity() * std::mem::size_of::<[u16; N]>()
    }
}

/// One series of a `Rings`, to read.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// Every series' points, frame after frame.
    frames: &'a [u16],
    pending: &'a [u16],
    stride: usize,
    series: usize,
    fine_len: usize,
    fine_head: usize,
    coarse_head: usize,
    fine_cap: usize,
    cap: usize,
}

impl<'a> View<'a> {
    fn point(&self, frame: usize) -> u16 {
        self.frames[frame * self.stride + self.series]
    }

    fn coarse_len(&self) -> usize {
        self.frames.len() / self.stride - self.fine_len
    }

    /// Polls the points stand for, which may pass the window by a fold.
    fn held(&self) -> usize {
        self.coarse_len() * FOLD + self.pending.len() / self.stride + self.fine_len
    }

    /// Polls held, at most the window.
    pub fn len(&self) -> usize {
        self.held().min(self.cap)
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The window in polls.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Polls kept one point each, and polls per point before them.
    pub fn tiers(&self) -> (usize, usize) {
        (self.fine_cap, FOLD)
    }

    /// One reading per poll, oldest to newest, gaps included (a folded point repeats for
    /// each of its polls).
    pub fn iter(self) -> impl Iterator<Item = f32> + 'a {
        let v = self;
        let (fine_n, coarse_n) = (v.fine_len, v.coarse_len());
        let coarse = (0..coarse_n).map(move |k| v.point(fine_n + (v.coarse_head + k) % coarse_n));
        let pending =
            (0..v.pending.len() / v.stride).map(move |k| v.pending[k * v.stride + v.series]);
        let fine = (0..fine_n).map(move |k| v.point((v.fine_head + k) % fine_n));
        coarse
            .flat_map(|q| std::iter::repeat_n(q, FOLD))
            .chain(pending)
            .chain(fine)
            .skip(v.held() - v.len())
            .map(decode)
    }

    pub fn last(&self) -> Option<f32> {
        let n = self.fine_len;
        if n == 0 {
            return None;
        }
        Some(decode(self.point((self.fine_head + n - 1) % n))).filter(|v| !v.is_nan())
    }

    /// Largest reading (gaps skipped).
    pub fn max(self) -> Option<f32> {
        self.iter().filter(|v| !v.is_nan()).reduce(f32::max)
    }
}

/// A single series (a host's CPU or memory).
#[derive(Clone, Debug, PartialEq)]
pub struct Ring(Rings<1>);

impl Ring {
    /// Every poll of the window kept as one point.
    pub fn new(cap: usize) -> Ring {
        Ring(Rings::new(cap))
    }

    /// The newest `FINE` polls one point each, older ones folded.
    pub fn tiered(cap: usize) -> Ring {
        Ring(Rings::tiered(cap))
    }

    pub fn push(&mut self, v: Option<f64>) {
        self.0.push([v]);
    }

    pub fn view(&self) -> View<'_> {
        self.0.view(0)
    }

    pub fn iter(&self) -> impl Iterator<Item = f32> + '_ {
        self.view().iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.view().capacity()
    }

    pub fn last(&self) -> Option<f32> {
        self.view().last()
    }

    pub fn max(&self) -> Option<f32> {
        self.view().max()
    }

    pub fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }
}

/// One of a VM's charted series, in `VmHistory::push`'s order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmSeries {
    Cpu,
    /// KiB: RSS where reported, else the balloon's current size.
    Memory,
    DiskRd,
    DiskWr,
    /// Read and write requests per second together.
    DiskIops,
    NetRx,
    NetTx,
}

/// The charted series of one VM.
#[derive(Clone, Debug, PartialEq)]
pub struct VmHistory {
    /// A series per `VmSeries`.
    rings: Rings<7>,
    /// Pushes in a row without any reading (the VM is off).
    gaps: u32,
}

impl VmHistory {
    pub fn new(cap: usize) -> VmHistory {
        VmHistory {
            rings: Rings::tiered(cap),
            gaps: 0,
        }
    }

    pub fn series(&self, s: VmSeries) -> View<'_> {
        self.rings.view(s as usize)
    }

    pub fn cpu(&self) -> View<'_> {
        self.series(VmSeries::Cpu)
    }

    /// Polls held (every series holds as many).
    pub fn len(&self) -> usize {
        self.rings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rings.is_empty()
    }

    /// Whether a push of these has nothing to chart.
    pub fn blank(r: &VmRates, memory_kib: Option<u64>) -> bool {
        *r == VmRates::default() && memory_kib.is_none()
    }

    /// Every reading in the window is a gap: the VM has been off for all of it, and the
    /// history says no more than none would (the app drops it, see `HostView::apply_snapshot`).
    pub fn only_gaps(&self) -> bool {
        self.gaps as usize >= self.len()
    }

    pub fn push(&mut self, r: &VmRates, memory_kib: Option<u64>) {
        self.gaps = if Self::blank(r, memory_kib) {
            self.gaps.saturating_add(1)
        } else {
            0
        };
        self.rings.push([
            r.cpu_pct,
            memory_kib.map(|m| m as f64),
            r.disk_rd_bps,
            r.disk_wr_bps,
            VmRates::sum(r.disk_rd_iops, r.disk_wr_iops),
            r.net_rx_bps,
            r.net_tx_bps,
        ]);
    }

    /// Bytes this history holds, itself included (the memory budget per running VM).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.rings.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_ring_grows_with_its_readings_up_to_its_window_exactly() {
        let mut r = Ring::new(300);
        assert_eq!(r.0.buf.capacity(), 0, "nothing before the first reading");
        for i in 0..30 {
            r.push(Some(f64::from(i)));
        }
        assert!(r.0.buf.capacity() < 64, "{}", r.0.buf.capacity());
        for i in 30..301 {
            r.push(Some(f64::from(i)));
        }
        assert_eq!(r.0.buf.capacity(), 300);
        assert_eq!(r.len(), 300);
        assert_eq!(r.iter().next(), Some(1.0));
    }

    #[test]
    fn a_tiered_ring_keeps_the_newest_polls_and_means_of_older_ones() {
        let v = |i: usize| ((i * 7) % 16) as f64;
        let coarse = (300 - FINE).div_ceil(FOLD);
        for total in [
            1,
            FINE - 1,
            FINE,
            FINE + 1,
            FINE + FOLD - 1,
            FINE + FOLD,
            FINE + FOLD + 1,
            299,
            300,
            301,
            303,
            304,
            1000,
            1003,
        ] {
            let mut r = Ring::tiered(300);
            for i in 0..total {
                r.push(Some(v(i)));
            }
            // The model: polls 0.. fall out of the fine ring in order and fold by FOLDs, each
            // mean rounded as a point is.
            let evicted = total.saturating_sub(FINE);
            let folds = evicted / FOLD;
            let mut want: Vec<f32> = Vec::new();
            for k in folds.saturating_sub(coarse)..folds {
                let mean = (0..FOLD).map(|j| v(k * FOLD + j)).sum::<f64>() / FOLD as f64;
                want.extend(std::iter::repeat_n(decode(encode(Some(mean))), FOLD));
            }
            want.extend((folds * FOLD..total).map(|i| v(i) as f32));
            let skip = want.len().saturating_sub(300);
            let want = &want[skip..];
            assert_eq!(r.iter().collect::<Vec<_>>(), want, "after {total} polls");
            assert_eq!(r.len(), want.len(), "after {total} polls");
            assert_eq!(r.last(), Some(v(total - 1) as f32));
            assert!(r.heap_bytes() <= 2 * (FINE + coarse), "{}", r.heap_bytes());
        }
    }

    #[test]
    fn series_sharing_one_buffer_read_back_as_rings_of_their_own() {
        let mut all: Rings<3> = Rings::tiered(300);
        let mut one = [Ring::tiered(300), Ring::tiered(300), Ring::tiered(300)];
        let bits = |it: &mut dyn Iterator<Item = f32>| it.map(f32::to_bits).collect::<Vec<_>>();
        for i in 0..700usize {
            let v = [
                Some((i % 13) as f64),
                (i % 5 != 0).then(|| (i * 3 % 17) as f64),
                None,
            ];
            all.push(v);
            for (r, x) in one.iter_mut().zip(v) {
                r.push(x);
            }
            for (s, r) in one.iter().enumerate() {
                let view = all.view(s);
                assert_eq!(
                    bits(&mut view.iter()),
                    bits(&mut r.iter()),
                    "series {s}, poll {i}"
                );
                assert_eq!(view.last(), r.last());
                assert_eq!(view.len(), r.len());
            }
        }
        assert!(all.heap_bytes() <= 3 * one[0].heap_bytes());
    }

    #[test]
    fn a_fold_of_gaps_is_a_gap_and_a_fold_with_readings_skips_them() {
        let n = FINE + 2 * FOLD;
        let mut r = Ring::tiered(n);
        for i in 0..n {
            // The first fold: gap, 2, gap, 4, gap, 6…; the second: all gaps.
            let v = (i < FOLD && i % 2 == 1).then(|| (i + 1) as f64);
            r.push(v);
        }
        let mean = (2..=FOLD).step_by(2).sum::<usize>() as f32 / (FOLD / 2) as f32;
        let got: Vec<f32> = r.iter().collect();
        assert_eq!(got.len(), n);
        assert!(got[..FOLD].iter().all(|v| *v == mean), "{got:?}");
        assert!(got[FOLD..2 * FOLD].iter().all(|v| v.is_nan()), "{got:?}");
        assert_eq!(r.max(), Some(mean));
    }

    #[test]
    fn points_are_bfloat16_rounded_to_nearest() {
        for v in [0.0, 1.0, 57.3, 99.9, 1234.5, 3.0e9, 1.0e-3] {
            let back = decode(encode(Some(v)));
            let err = ((f64::from(back) - v) / v.max(1e-9)).abs();
            assert!(err <= 1.0 / 256.0, "{v} read back as {back}");
        }
        assert_eq!(decode(encode(Some(57.3))), 57.25);
        assert!(decode(encode(None)).is_nan());
        assert!(decode(encode(Some(f64::NAN))).is_nan());
    }

    #[test]
    fn a_running_vm_s_ten_minutes_of_history_fit_in_a_kib() {
        let mut h = VmHistory::new(300);
        let r = VmRates {
            cpu_pct: Some(12.5),
            disk_rd_bps: Some(4096.0),
            ..VmRates::default()
        };
        for _ in 0..1000 {
            h.push(&r, Some(1 << 20));
        }
        assert_eq!(h.cpu().len(), 300);
        assert_eq!(h.series(VmSeries::DiskRd).last(), Some(4096.0));
        assert_eq!(h.series(VmSeries::Memory).last(), Some(1_048_576.0));
        assert_eq!(h.cpu().last(), Some(12.5));
        assert_eq!(h.series(VmSeries::NetTx).last(), None);
        // 7 series of 60 points (30 polls, then 270 folded by nine) in one buffer, and the
        // frames waiting for a fold.
        assert!(h.bytes() <= 1_024, "{} bytes", h.bytes());
    }

    fn sample(at: Instant, id: u32, cpu: u64, rd: u64) -> VmSample {
        VmSample {
            at,
            dom_id: Some(id),
            cpu_time_ns: Some(cpu),
            io: IoCounters::default()
                .with(Counter::DiskRdBytes, Some(rd))
                .with(Counter::DiskRdReqs, Some(rd / 4096))
                .with(Counter::NetRxBytes, Some(rd * 2)),
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
