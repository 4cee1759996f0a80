//! The retry budget of spec §2, after Finagle's and Envoy's: retries may be at most 20 % of
//! the reads of the last 10 s (and at least one), so a sick leader is never hammered.

/// The window, in one-second buckets.
const BUCKETS: usize = 10;
const BUCKET_MS: f64 = 1000.0;
/// Retries per read allowed over the window, in percent.
const PERCENT: u32 = 20;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RetryBudget {
    /// Per second of the window: (which second, reads, retries).
    buckets: [(i64, u32, u32); BUCKETS],
}

impl RetryBudget {
    /// A read was made at `now_ms`.
    pub(crate) fn read(&mut self, now_ms: f64) {
        if let Some(b) = self.bucket(now_ms) {
            b.1 = b.1.saturating_add(1);
        }
    }

    /// Takes one retry at `now_ms` when the budget allows it; false when it is spent.
    pub(crate) fn withdraw(&mut self, now_ms: f64) -> bool {
        let second = second(now_ms);
        let (reads, retries) = self
            .buckets
            .iter()
            // Seconds ahead of now count too: a clock set back grants nothing extra.
            .filter(|(s, ..)| *s > second - BUCKETS as i64)
            .fold((0u32, 0u32), |(r, t), (_, reads, retries)| {
                (r.saturating_add(*reads), t.saturating_add(*retries))
            });
        if retries >= (reads.saturating_mul(PERCENT) / 100).max(1) {
            return false;
        }
        if let Some(b) = self.bucket(now_ms) {
            b.2 = b.2.saturating_add(1);
        }
        true
    }

    /// The bucket of `now_ms`, emptied if it last held an older second.
    fn bucket(&mut self, now_ms: f64) -> Option<&mut (i64, u32, u32)> {
        let second = second(now_ms);
        let b = self
            .buckets
            .get_mut(second.rem_euclid(BUCKETS as i64) as usize)?;
        if b.0 != second {
            *b = (second, 0, 0);
        }
        Some(b)
    }
}

fn second(now_ms: f64) -> i64 {
    if now_ms.is_finite() {
        (now_ms / BUCKET_MS).floor() as i64
    } else {
        0
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn at_least_one_retry_per_window() {
        let mut b = RetryBudget::default();
        assert!(b.withdraw(1_000.0), "no reads yet: still one");
        assert!(!b.withdraw(1_500.0));
        // The window is 10 s: the retry at 1 s counts until 10.999 s.
        assert!(!b.withdraw(10_999.0));
        assert!(b.withdraw(11_000.0));
    }

    #[test]
    fn twenty_percent_of_the_reads_of_the_last_ten_seconds() {
        let mut b = RetryBudget::default();
        for i in 0..50 {
            b.read(100_000.0 + f64::from(i) * 100.0); // 50 reads over 5 s
        }
        let granted = (0..20).filter(|_| b.withdraw(105_000.0)).count();
        assert_eq!(granted, 10, "20 % of 50");
        // The reads age out of the window; the retries too.
        assert!(!b.withdraw(109_999.0));
        assert!(
            b.withdraw(115_000.0),
            "reads at 100–104.9 s and retries at 105 s are gone by 115 s: one"
        );
        assert!(!b.withdraw(115_001.0));
    }

    #[test]
    fn a_clock_going_back_does_not_panic_or_grant_more() {
        let mut b = RetryBudget::default();
        assert!(b.withdraw(50_000.0));
        assert!(!b.withdraw(49_000.0));
        assert!(!b.withdraw(f64::NAN) || !b.withdraw(f64::NAN));
    }

    proptest! {
        #[test]
        fn never_more_than_the_budget(
            events in proptest::collection::vec((0u32..30_000, any::<bool>()), 0..400),
        ) {
            let mut events = events;
            events.sort_by_key(|e| e.0);
            let mut b = RetryBudget::default();
            let mut log: Vec<(f64, bool)> = vec![];
            for (t, is_read) in events {
                let t = f64::from(t);
                if is_read {
                    b.read(t);
                    log.push((t, true));
                } else if b.withdraw(t) {
                    log.push((t, false));
                    // Over the window of this retry's second: retries ≤ max(1, 20 % of reads).
                    let from = (t / 1000.0).floor() * 1000.0 - 9000.0;
                    let reads = log.iter().filter(|(at, r)| *r && *at >= from).count();
                    let retries = log.iter().filter(|(at, r)| !*r && *at >= from).count();
                    prop_assert!(retries <= (reads * 20 / 100).max(1), "{retries} retries for {reads} reads");
                }
            }
        }
    }
}
