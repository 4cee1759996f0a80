//! Spec §2 "`offline` heals on the visitor's next action": which `offline` a request
//! re-checks with a probe round, how often, and which `offline` a starting instance takes.
//! Time is passed in; the engine carries the decisions out.

use super::state::State;

/// Where an `offline` verdict came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The browser's own `offline` event (or `navigator.onLine === false`): it fires
    /// `online` when that ends, so requests are refused at once until then.
    Browser,
    /// A probe round found neither side (the browser says it is online): a Wi-Fi whose
    /// uplink drops and returns fires nothing, so the next request looks again.
    Probes,
}

/// What a request made in state `offline` does before it is routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recheck {
    /// Routed by the verdict as it is: refused with `OFFLINE`.
    Refuse,
    /// Waits for the probe round in flight, then is routed by its verdict.
    Join,
    /// Starts a probe round, waits for it, then is routed by its verdict.
    Probe,
}

/// Requests start at most one probe round per this many ms.
pub(crate) const MIN_GAP_MS: f64 = 1000.0;

/// `verdict_at`: epoch ms of the `offline` verdict, the end of the round that found it
/// (this instance's own, a scheduled one too, or another tab's): a second from there
/// is more than a second from its start.
pub(crate) fn recheck(
    cut: Cut,
    round_in_flight: bool,
    verdict_at: Option<f64>,
    now_ms: f64,
) -> Recheck {
    match cut {
        Cut::Browser => Recheck::Refuse,
        Cut::Probes if round_in_flight => Recheck::Join,
        // A clock set back does not hold the round off.
        Cut::Probes => match verdict_at {
            Some(at) if now_ms >= at && now_ms - at < MIN_GAP_MS => Recheck::Refuse,
            _ => Recheck::Probe,
        },
    }
}

/// Whether a starting instance takes a verdict from the cache or another tab as it is:
/// an `offline` describes the network a page was on, not a server, so it takes a probe
/// round instead (which the tabs share, spec §6).
pub(crate) fn takes_at_start(state: State) -> bool {
    state != State::Offline
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn the_browsers_offline_is_refused_at_once_whatever_the_clock() {
        for (in_flight, last) in [(false, None), (true, None), (false, Some(0.0))] {
            assert_eq!(
                recheck(Cut::Browser, in_flight, last, 10_000.0),
                Recheck::Refuse
            );
        }
    }

    #[test]
    fn an_offline_from_probes_joins_the_round_in_flight() {
        assert_eq!(
            recheck(Cut::Probes, true, Some(9_900.0), 10_000.0),
            Recheck::Join
        );
    }

    #[test]
    fn requests_in_a_row_start_at_most_one_round_a_second() {
        // A visitor clicking every 100 ms for 5 s on a fake clock; each round takes 50 ms.
        let (mut last, mut rounds, mut round_ends) = (None::<f64>, 0, None::<f64>);
        let mut now = 0.0;
        while now < 5_000.0 {
            let in_flight = round_ends.is_some_and(|end| now < end);
            match recheck(Cut::Probes, in_flight, last, now) {
                Recheck::Probe => {
                    rounds += 1;
                    // Its verdict comes at its end.
                    last = Some(now + 50.0);
                    round_ends = Some(now + 50.0);
                }
                Recheck::Join => assert!(in_flight),
                Recheck::Refuse => assert!(now - last.unwrap() < MIN_GAP_MS),
            }
            now += 100.0;
        }
        assert_eq!(rounds, 5);
    }

    #[test]
    fn the_first_request_probes_at_once() {
        assert_eq!(recheck(Cut::Probes, false, None, 0.0), Recheck::Probe);
        assert_eq!(
            recheck(Cut::Probes, false, Some(1_000.0), 2_000.0),
            Recheck::Probe
        );
    }

    #[test]
    fn a_clock_set_back_does_not_hold_the_round_off() {
        assert_eq!(
            recheck(Cut::Probes, false, Some(50_000.0), 10_000.0),
            Recheck::Probe
        );
    }

    #[test]
    fn an_offline_from_the_cache_or_a_tab_is_not_taken_at_start() {
        assert!(!takes_at_start(State::Offline));
        for s in [State::Leader, State::Emergency, State::Unknown] {
            assert!(takes_at_start(s));
        }
    }
}
