//! Capped exponential backoff with jitter, for re-probing a leader that is down, so a
//! recovering leader is not hit by every client at the same instant.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) base_ms: u32,
    pub(crate) max_ms: u32,
}

impl Backoff {
    /// The ceiling for `attempt` (0-based): `base · 2^attempt`, capped at `max_ms`.
    pub(crate) fn ceiling_ms(&self, attempt: u32) -> u32 {
        let factor = 1u64 << attempt.min(31);
        let exp = u64::from(self.base_ms).saturating_mul(factor);
        exp.min(u64::from(self.max_ms)) as u32
    }

    /// "Equal jitter": a delay drawn from `[ceiling/2, ceiling]` with `rand01` in `[0, 1)`,
    /// so clients spread out but none retries much sooner than the schedule says.
    pub(crate) fn delay_ms(&self, attempt: u32, rand01: f64) -> u32 {
        let ceiling = f64::from(self.ceiling_ms(attempt));
        let r = if rand01.is_finite() {
            rand01.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let half = ceiling / 2.0;
        (half + half * r + 0.5) as u32
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_then_caps() {
        let b = Backoff {
            base_ms: 1000,
            max_ms: 60_000,
        };
        let ceilings: Vec<u32> = (0..9).map(|a| b.ceiling_ms(a)).collect();
        assert_eq!(
            ceilings,
            [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
        );
        assert_eq!(b.ceiling_ms(500), 60_000);
    }

    proptest! {
        #[test]
        fn jitter_stays_within_half_and_full_ceiling(attempt in 0u32..100, r in 0.0f64..1.0, max in 1000u32..3_600_000) {
            let b = Backoff { base_ms: 1000, max_ms: max };
            let d = b.delay_ms(attempt, r);
            let c = b.ceiling_ms(attempt);
            prop_assert!(d >= c / 2 && d <= c, "{d} not in [{}, {c}]", c / 2);
            prop_assert!(d <= max);
        }
    }

    #[test]
    fn jitter_spreads_clients() {
        let b = Backoff {
            base_ms: 1000,
            max_ms: 60_000,
        };
        assert_eq!(b.delay_ms(3, 0.0), 4000);
        assert_eq!(b.delay_ms(3, 0.999_999), 8000);
        assert_eq!(b.delay_ms(3, f64::NAN), 6000);
    }
}
