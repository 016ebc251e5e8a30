//! Rates from cumulative counters, kept apart from collection and drawing.

use std::time::Instant;

/// A cumulative CPU-time reading for one VM.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuSample {
    pub cpu_time_ns: u64,
    pub at: Instant,
    /// Domain id: a new id means the VM restarted and the counter began again.
    pub dom_id: Option<u32>,
}

/// CPU usage between two samples as a percentage of the VM's vCPUs (virt-manager's
/// normalisation: 100% = every vCPU busy). None when no rate can be trusted: a restart, a
/// counter that went backwards, or samples too close together.
pub fn cpu_percent(prev: &CpuSample, cur: &CpuSample, vcpus: u32) -> Option<f64> {
    if prev.dom_id != cur.dom_id || cur.cpu_time_ns < prev.cpu_time_ns || vcpus == 0 {
        return None;
    }
    let wall = cur.at.checked_duration_since(prev.at)?.as_nanos() as f64;
    if wall < 1e6 {
        return None;
    }
    let used = (cur.cpu_time_ns - prev.cpu_time_ns) as f64;
    Some((used / wall / f64::from(vcpus) * 100.0).clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn s(ns: u64, at: Instant, id: u32) -> CpuSample {
        CpuSample {
            cpu_time_ns: ns,
            at,
            dom_id: Some(id),
        }
    }

    #[test]
    fn normalised_per_vcpu() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        // One full core for 2 s on a 2-vCPU VM is 50%.
        let p = cpu_percent(&s(0, t0, 1), &s(2_000_000_000, t1, 1), 2).unwrap();
        assert!((p - 50.0).abs() < 1e-9, "{p}");
        let p = cpu_percent(&s(0, t0, 1), &s(500_000_000, t1, 1), 1).unwrap();
        assert!((p - 25.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn restart_or_reset_gives_no_rate() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(cpu_percent(&s(9_000, t0, 1), &s(10, t1, 1), 1), None);
        assert_eq!(cpu_percent(&s(0, t0, 1), &s(10, t1, 2), 1), None);
        assert_eq!(cpu_percent(&s(0, t0, 1), &s(10, t0, 1), 1), None);
        assert_eq!(cpu_percent(&s(0, t0, 1), &s(10, t1, 1), 0), None);
    }
}
