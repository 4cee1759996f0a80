//! The round-trip estimator of RFC 6298 over good leader probes, and the confirmation
//! bound of spec §8 it yields: how long an open confirmation probe may go unanswered
//! before a critical read escapes to the follower; and the probe deadline of spec §3.

/// α and β of RFC 6298 §2.3.
const ALPHA: f64 = 1.0 / 8.0;
const BETA: f64 = 1.0 / 4.0;
/// Below this many samples the bound is the whole probe timeout.
const MIN_SAMPLES: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Rtt {
    srtt: f64,
    rttvar: f64,
    samples: u32,
}

impl Rtt {
    /// Adds one good probe's round trip (RFC 6298 §2.2 and §2.3).
    pub(crate) fn sample(&mut self, rtt_ms: f64) {
        if !rtt_ms.is_finite() || rtt_ms < 0.0 {
            return;
        }
        if self.samples == 0 {
            self.srtt = rtt_ms;
            self.rttvar = rtt_ms / 2.0;
        } else {
            self.rttvar = (1.0 - BETA) * self.rttvar + BETA * (self.srtt - rtt_ms).abs();
            self.srtt = (1.0 - ALPHA) * self.srtt + ALPHA * rtt_ms;
        }
        self.samples = self.samples.saturating_add(1);
    }

    /// The confirmation bound: SRTT + 4·RTTVAR clamped to `[race_after_ms, timeout_ms]`,
    /// or `timeout_ms` with fewer than three samples.
    pub(crate) fn bound_ms(&self, race_after_ms: u32, timeout_ms: u32) -> u32 {
        let (lo, hi) = (
            f64::from(race_after_ms.min(timeout_ms)),
            f64::from(timeout_ms),
        );
        if self.samples < MIN_SAMPLES {
            return timeout_ms;
        }
        // Not `clamp`: its min ≤ max assertion would bring float Debug formatting along
        // (lo ≤ hi holds, and the sum is finite).
        (self.srtt + 4.0 * self.rttvar).max(lo).min(hi).ceil() as u32
    }
}

impl Rtt {
    /// Spec §3: a probe's deadline. `timeout_ms`, or with three samples the larger of it
    /// and 4 × SRTT, capped at 3 × `timeout_ms`: a far leader is not dead for being far.
    pub(crate) fn probe_deadline_ms(&self, timeout_ms: u32) -> u32 {
        if self.samples < MIN_SAMPLES {
            return timeout_ms;
        }
        let far = (4.0 * self.srtt).ceil().min(f64::from(timeout_ms) * 3.0) as u32;
        far.max(timeout_ms)
    }

    pub(crate) fn samples(&self) -> u32 {
        self.samples
    }

    /// (SRTT, RTTVAR, samples), as the verdict cache keeps them (spec §6).
    pub(crate) fn parts(&self) -> (f64, f64, u32) {
        (self.srtt, self.rttvar, self.samples)
    }

    /// The estimator a cached verdict describes, when its numbers can be one's.
    pub(crate) fn from_parts(srtt: f64, rttvar: f64, samples: u32) -> Option<Rtt> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        (ok(srtt) && ok(rttvar)).then_some(Rtt {
            srtt,
            rttvar,
            samples,
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_probe_deadline_knows_the_line() {
        let mut r = Rtt::default();
        for _ in 0..2 {
            r.sample(800.0);
        }
        assert_eq!(r.probe_deadline_ms(1000), 1000, "two samples: the timeout");
        r.sample(800.0);
        assert_eq!(
            r.probe_deadline_ms(1000),
            3000,
            "4 × 800, capped at 3 × 1000"
        );
        assert_eq!(r.probe_deadline_ms(2500), 3200, "4 × 800");
        assert_eq!(r.probe_deadline_ms(5000), 5000, "the timeout is larger");
        let mut near = Rtt::default();
        for _ in 0..10 {
            near.sample(20.0);
        }
        assert_eq!(
            near.probe_deadline_ms(1500),
            1500,
            "a near leader: the timeout"
        );
    }

    #[test]
    fn parts_round_trip_and_bad_numbers_are_refused() {
        let mut r = Rtt::default();
        r.sample(30.0);
        r.sample(50.0);
        let (s, v, n) = r.parts();
        assert_eq!(Rtt::from_parts(s, v, n), Some(r));
        assert_eq!(Rtt::from_parts(f64::NAN, 1.0, 3), None);
        assert_eq!(Rtt::from_parts(1.0, -1.0, 3), None);
        assert_eq!(Rtt::from_parts(f64::INFINITY, 1.0, 3), None);
    }

    #[test]
    fn too_few_samples_wait_the_whole_timeout() {
        let mut r = Rtt::default();
        assert_eq!(r.bound_ms(250, 1500), 1500);
        r.sample(20.0);
        r.sample(20.0);
        assert_eq!(r.bound_ms(250, 1500), 1500);
        r.sample(20.0);
        assert_eq!(
            r.bound_ms(250, 1500),
            250,
            "a fast steady leader: the floor"
        );
    }

    #[test]
    fn rfc_6298_arithmetic() {
        let mut r = Rtt::default();
        r.sample(100.0); // SRTT 100, RTTVAR 50
        r.sample(200.0); // RTTVAR 0.75·50 + 0.25·100 = 62.5; SRTT 0.875·100 + 0.125·200 = 112.5
        r.sample(100.0); // RTTVAR 0.75·62.5 + 0.25·12.5 = 50; SRTT 0.875·112.5 + 12.5 = 110.9375
        assert!((r.srtt - 110.9375).abs() < 1e-9);
        assert!((r.rttvar - 50.0).abs() < 1e-9);
        assert_eq!(r.bound_ms(10, 1500), 311); // 110.9375 + 200, rounded up
    }

    #[test]
    fn a_spike_widens_the_bound() {
        let mut r = Rtt::default();
        for _ in 0..20 {
            r.sample(100.0);
        }
        let steady = r.bound_ms(10, 5000);
        r.sample(900.0);
        assert!(
            r.bound_ms(10, 5000) > steady + 300,
            "{steady} → {}",
            r.bound_ms(10, 5000)
        );
    }

    proptest! {
        #[test]
        fn the_bound_never_leaves_the_clamp(
            samples in proptest::collection::vec(0.0f64..100_000.0, 0..50),
            race in 10u32..10_000,
            timeout in 50u32..60_000,
        ) {
            let mut r = Rtt::default();
            for s in &samples {
                r.sample(*s);
            }
            let b = r.bound_ms(race, timeout);
            prop_assert!(b <= timeout);
            prop_assert!(b >= race.min(timeout));
        }

        #[test]
        fn a_steady_rtt_converges_to_it(rtt in 1.0f64..5000.0) {
            let mut r = Rtt::default();
            for _ in 0..200 {
                r.sample(rtt);
            }
            prop_assert!((r.srtt - rtt).abs() < rtt * 1e-6);
            prop_assert!(r.rttvar < rtt * 1e-6 + 1e-9);
            prop_assert!(r.probe_deadline_ms(1000) >= 1000 && r.probe_deadline_ms(1000) <= 3000);
            prop_assert_eq!(r.bound_ms(1, 60_000), (rtt + 4.0 * r.rttvar).clamp(1.0, 60_000.0).ceil() as u32);
        }
    }
}
