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
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Recheck {
    /// Routed by the verdict as it is: refused with `OFFLINE`.
    Refuse,
    /// Waits for the probe round in flight, then is routed by its verdict.
    Join,
    /// Starts a probe round, waits for it, then is routed by its verdict.
    Probe,
    /// A round found the client cut off less than a second ago: waits this many ms, until
    /// one may start, then looks again. Refusing it instead would answer `OFFLINE` from a
    /// verdict older than the request, though the line may have come back since.
    Wait(f64),
}

/// Requests start at most one probe round per this many ms.
pub(crate) const MIN_GAP_MS: f64 = 1000.0;

/// `verdict_at`: epoch ms of the `offline` verdict, the end of the round that found it
/// (this instance's own, a scheduled one too, or another tab's): a second from there
/// is more than a second from its start. `asked_at`: when the request was made (it asks
/// again after a wait); a round that ended since then has looked for it.
pub(crate) fn recheck(
    cut: Cut,
    round_in_flight: bool,
    verdict_at: Option<f64>,
    now_ms: f64,
    asked_at: f64,
) -> Recheck {
    match cut {
        Cut::Browser => Recheck::Refuse,
        Cut::Probes if round_in_flight => Recheck::Join,
        Cut::Probes => match verdict_at {
            Some(at) if at > asked_at && at <= now_ms => Recheck::Refuse,
            // A clock set back does not hold the round off.
            Some(at) if now_ms >= at && now_ms - at < MIN_GAP_MS => {
                Recheck::Wait(at + MIN_GAP_MS - now_ms)
            }
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
                recheck(Cut::Browser, in_flight, last, 10_000.0, 10_000.0),
                Recheck::Refuse
            );
        }
    }

    #[test]
    fn an_offline_from_probes_joins_the_round_in_flight() {
        assert_eq!(
            recheck(Cut::Probes, true, Some(9_900.0), 10_000.0, 10_000.0),
            Recheck::Join
        );
    }

    #[test]
    fn requests_in_a_row_start_at_most_one_round_a_second_and_none_is_refused_unlooked() {
        // A visitor clicking every 100 ms for 5 s on a fake clock; each round takes 50 ms.
        // A request told to wait comes back when its wait is over (a timer on the clock).
        let (mut last, mut rounds, mut round_ends) = (None::<f64>, 0, None::<f64>);
        // `waiting`: (due, asked_at) of each request told to wait.
        let (mut waiting, mut clicks, mut looked) = (Vec::<(f64, f64)>::new(), 0, 0);
        let mut now = 0.0;
        while now < 5_000.0 {
            let mut asks: Vec<f64> = waiting.iter().filter(|w| w.0 <= now).map(|w| w.1).collect();
            waiting.retain(|w| w.0 > now);
            if now % 100.0 == 0.0 {
                asks.push(now);
                clicks += 1;
            }
            for asked_at in asks {
                let in_flight = round_ends.is_some_and(|end| now < end);
                match recheck(Cut::Probes, in_flight, last, now, asked_at) {
                    Recheck::Probe => {
                        rounds += 1;
                        looked += 1;
                        // Its verdict comes at its end.
                        last = Some(now + 50.0);
                        round_ends = Some(now + 50.0);
                    }
                    Recheck::Join => {
                        assert!(in_flight);
                        looked += 1;
                    }
                    Recheck::Wait(ms) => {
                        assert!(ms > 0.0 && ms <= MIN_GAP_MS, "{ms}");
                        waiting.push((now + ms, asked_at));
                    }
                    // Refused from the verdict it was made in, without a look.
                    Recheck::Refuse => {}
                }
            }
            now += 50.0;
        }
        assert_eq!(rounds, 5);
        // Every click started or joined a round, but those still waiting at the end.
        assert_eq!(looked + waiting.len(), clicks);
    }

    #[test]
    fn a_request_that_waited_takes_a_round_that_ended_since_it_was_made() {
        // Another tab's round, say, ended at 1_200 while it waited from 1_100.
        assert_eq!(
            recheck(Cut::Probes, false, Some(1_200.0), 2_100.0, 1_100.0),
            Recheck::Refuse
        );
    }

    #[test]
    fn a_request_within_a_second_of_a_round_waits_for_the_next_one() {
        assert_eq!(
            recheck(Cut::Probes, false, Some(1_000.0), 1_300.0, 1_300.0),
            Recheck::Wait(700.0)
        );
    }

    #[test]
    fn the_first_request_probes_at_once() {
        assert_eq!(recheck(Cut::Probes, false, None, 0.0, 0.0), Recheck::Probe);
        assert_eq!(
            recheck(Cut::Probes, false, Some(1_000.0), 2_000.0, 2_000.0),
            Recheck::Probe
        );
    }

    #[test]
    fn a_clock_set_back_does_not_hold_the_round_off() {
        assert_eq!(
            recheck(Cut::Probes, false, Some(50_000.0), 10_000.0, 10_000.0),
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
