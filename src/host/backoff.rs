use std::time::Duration;

/// Reconnect delay after `attempt` failures: 1 s doubling to a 30 s cap.
pub fn backoff_delay(attempt: u32) -> Duration {
    let secs = 1u64 << attempt.min(5);
    Duration::from_secs(secs.min(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let d: Vec<u64> = (0..8).map(|a| backoff_delay(a).as_secs()).collect();
        assert_eq!(d, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
