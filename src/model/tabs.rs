//! Tab coordination (spec §6, §8, §9) in one place: the elected prober probes and tells,
//! the other tabs ask it, wait one round's time, and take over when it stays silent (its
//! tab may be frozen). Like `policy.rs` it only decides; `engine/mod.rs` carries it out.
//!
//! | event | prober | other tab |
//! |---|---|---|
//! | a verdict is wanted | probe | ask, wait half the round's time |
//! | the question is unanswered | probe | ask again for the rest of the time, then probe |
//! | asked | its fresh verdict, else probe | — |
//! | told a verdict | take it if newer | take it if newer |
//! | elected | probe when its verdict falls due | — |
//! | a verdict reached or taken | after its own round: probe on the machine's schedule | want one again if nothing is heard for twice the prober's longest gap |

use super::state::{Snapshot, Source, State};

/// What this tab knows when something happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tab {
    /// Runs the periodic probes: elected, or with no tab to share with.
    pub(crate) prober: bool,
    pub(crate) running: bool,
    /// A round of this tab's own is in flight.
    pub(crate) probing: bool,
    pub(crate) verdict: Snapshot,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Event {
    /// A verdict is wanted: a start without one, a read before any, a wake-up, the timer.
    Want,
    /// The waits since the first question, asked at `asked_at`, brought no verdict.
    Unanswered { asked_at: f64 },
    /// Another tab asks for the verdict.
    Asked,
    /// Another tab tells a verdict checked at `checked_at`.
    Told { checked_at: f64 },
    /// This tab became the prober.
    Elected,
    /// A verdict was reached (`next_probe_ms`: the machine's schedule after an own round)
    /// or taken (`None`); `rand01` in `[0, 1)` spreads the other tabs' watch.
    Settled {
        next_probe_ms: Option<u32>,
        rand01: f64,
    },
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Do {
    Nothing,
    /// Probe now, or join the round in flight.
    Probe,
    /// Ask the prober, then wait up to `wait_ms` for the next verdict.
    Ask {
        wait_ms: u32,
    },
    /// Tell this tab's verdict to the others.
    Tell,
    /// Take the verdict told.
    Adopt,
    /// (Re)arm the timer: in `ms`, a verdict is wanted.
    Timer {
        ms: u32,
    },
}

/// How this instance coordinates with the other tabs (spec §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coordination {
    /// Web Locks: a closed tab releases its lock, so the role passes on by itself.
    Lock,
    /// A lease in localStorage, renewed by its holder.
    Lease,
    /// This instance probes for itself: with no channel its verdicts could not be
    /// shared (it would never hear an elected prober), and with neither Web Locks nor
    /// Web Storage there is nothing to elect through.
    Alone,
}

/// Spec §6: what there is to coordinate through decides how.
pub(crate) fn coordination(channel: bool, locks: bool, storage: bool) -> Coordination {
    match (channel, locks, storage) {
        (false, ..) | (true, false, false) => Coordination::Alone,
        (true, true, _) => Coordination::Lock,
        (true, false, true) => Coordination::Lease,
    }
}

/// The storage lease: how long it lasts without renewal, and how often its holder renews
/// it (a lease outlives a few missed renewals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lease {
    pub(crate) ttl_ms: u32,
    pub(crate) renew_ms: u32,
}

impl Lease {
    /// Whether this instance takes the lease: it is free (`until` NaN: missing or not a
    /// time), expired, or its own (then it renews it).
    pub(crate) fn may_take(held_by_me: bool, until: f64, now_ms: f64) -> bool {
        held_by_me || until.is_nan() || until < now_ms
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tabs {
    /// The prober's period while the leader is healthy.
    pub(crate) interval_ms: u32,
    /// One round's time, the leader probe then the follower's: the longest a question
    /// waits (spec §6).
    pub(crate) round_ms: u32,
    /// The longest a live prober is silent between verdicts: its interval or its
    /// longest backoff.
    pub(crate) gap_ms: u32,
}

impl Tabs {
    /// The timing from the health settings: a round is the leader probe then the
    /// follower's; a live prober's longest silence is its interval or its longest backoff.
    pub(crate) fn new(interval_ms: u32, timeout_ms: u32, max_backoff_ms: u32) -> Tabs {
        Tabs {
            interval_ms,
            round_ms: timeout_ms.saturating_mul(2),
            gap_ms: interval_ms.max(max_backoff_ms),
        }
    }

    /// The storage lease lasts three intervals and is renewed every one.
    pub(crate) fn lease(&self) -> Lease {
        let ttl_ms = self.interval_ms.saturating_mul(3);
        Lease {
            ttl_ms,
            renew_ms: ttl_ms / 3,
        }
    }

    pub(crate) fn decide(&self, tab: Tab, event: Event, now_ms: f64) -> Do {
        let v = tab.verdict;
        match event {
            Event::Want if tab.prober => Do::Probe,
            // Half the time, then once more: a question the prober missed (it was not
            // listening yet) is asked again, and the whole wait stays one round's time.
            Event::Want => Do::Ask {
                wait_ms: self.round_ms / 2,
            },
            Event::Unanswered { .. } if !tab.running => Do::Nothing,
            Event::Unanswered { asked_at } => {
                // A clock set back must not stretch the wait past one round.
                let left = f64::from(self.round_ms) - (now_ms - asked_at).max(0.0);
                if tab.prober || left.is_nan() || left < 1.0 {
                    Do::Probe
                } else {
                    Do::Ask {
                        wait_ms: left.ceil() as u32,
                    }
                }
            }
            Event::Asked if !tab.prober || !tab.running => Do::Nothing,
            Event::Asked => {
                // An `offline` is not told: it describes the network the prober was
                // on, and the asker wants a round (spec §2), which this one shares.
                let fresh = v.source != Source::Cache
                    && v.state != State::Unknown
                    && v.state != State::Offline
                    && v.fresh_for_ms(now_ms, self.interval_ms) > 0.0;
                if fresh {
                    Do::Tell
                } else {
                    Do::Probe
                }
            }
            Event::Told { checked_at } if v.checked_at.is_some_and(|t| checked_at <= t) => {
                Do::Nothing
            }
            Event::Told { .. } => Do::Adopt,
            Event::Elected if !tab.running || tab.probing => Do::Nothing,
            Event::Elected => {
                let due = match (v.state, v.source) {
                    (State::Leader, Source::Probe | Source::Request | Source::Peer) => {
                        v.fresh_for_ms(now_ms, self.interval_ms)
                    }
                    _ => 0.0,
                };
                Do::Timer {
                    ms: due.min(f64::from(self.interval_ms)) as u32,
                }
            }
            Event::Settled { .. } if !tab.running => Do::Nothing,
            Event::Settled { next_probe_ms, .. } if tab.prober => {
                next_probe_ms.map_or(Do::Nothing, |ms| Do::Timer { ms })
            }
            // A prober that stays silent twice its longest gap (a frozen or throttled tab
            // keeps its lock) is asked, then replaced by a tab that probes itself; the
            // spread keeps the other tabs from all asking at once.
            Event::Settled { rand01, .. } => {
                let quiet = f64::from(self.gap_ms) * 2.0 + f64::from(self.round_ms);
                Do::Timer {
                    ms: (quiet * (1.0 + rand01.clamp(0.0, 1.0) / 2.0)) as u32,
                }
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TABS: Tabs = Tabs {
        interval_ms: 15_000,
        round_ms: 3000,
        gap_ms: 60_000,
    };

    fn verdict(state: State, source: Source, at: Option<f64>) -> Snapshot {
        Snapshot {
            state,
            leader_latency_ms: None,
            checked_at: at,
            source,
        }
    }

    fn tab(prober: bool, verdict: Snapshot) -> Tab {
        Tab {
            prober,
            running: true,
            probing: false,
            verdict,
        }
    }

    fn none() -> Snapshot {
        Snapshot::initial()
    }

    #[test]
    fn the_timing_comes_from_the_health_settings() {
        assert_eq!(Tabs::new(15_000, 1500, 60_000), TABS);
        assert_eq!(Tabs::new(90_000, 1500, 60_000).gap_ms, 90_000);
        assert_eq!(
            TABS.lease(),
            Lease {
                ttl_ms: 45_000,
                renew_ms: 15_000
            }
        );
    }

    #[test]
    fn the_lease_is_taken_when_free_expired_or_ours() {
        assert!(Lease::may_take(false, f64::NAN, 10.0));
        assert!(Lease::may_take(false, 9.0, 10.0));
        assert!(Lease::may_take(true, 11.0, 10.0));
        assert!(!Lease::may_take(false, 11.0, 10.0));
    }

    #[test]
    fn an_instance_probes_alone_only_with_nothing_to_share_through() {
        use Coordination::*;
        for locks in [true, false] {
            for storage in [true, false] {
                assert_eq!(coordination(false, locks, storage), Alone);
            }
        }
        assert_eq!(coordination(true, true, true), Lock);
        assert_eq!(coordination(true, true, false), Lock);
        assert_eq!(coordination(true, false, true), Lease);
        assert_eq!(coordination(true, false, false), Alone);
    }

    #[test]
    fn a_verdict_is_fresh_for_the_rest_of_its_interval() {
        let v = verdict(State::Leader, Source::Probe, Some(1000.0));
        assert_eq!(v.fresh_for_ms(1000.0, 15_000), 15_000.0);
        assert_eq!(v.fresh_for_ms(11_000.0, 15_000), 5000.0);
        assert_eq!(v.fresh_for_ms(16_000.0, 15_000), 0.0);
        assert_eq!(v.fresh_for_ms(99_000.0, 15_000), 0.0);
        assert_eq!(none().fresh_for_ms(0.0, 15_000), 0.0);
    }

    #[test]
    fn a_verdict_is_probed_by_the_prober_and_asked_for_by_the_others() {
        assert_eq!(TABS.decide(tab(true, none()), Event::Want, 0.0), Do::Probe);
        assert_eq!(
            TABS.decide(tab(false, none()), Event::Want, 0.0),
            Do::Ask { wait_ms: 1500 }
        );
    }

    #[test]
    fn an_unanswered_question_is_asked_again_then_the_tab_probes() {
        let t = tab(false, none());
        let at = 1000.0;
        assert_eq!(
            TABS.decide(t, Event::Unanswered { asked_at: at }, at + 1500.0),
            Do::Ask { wait_ms: 1500 }
        );
        assert_eq!(
            TABS.decide(t, Event::Unanswered { asked_at: at }, at + 3000.0),
            Do::Probe
        );
        // Elected meanwhile: no one else to ask.
        assert_eq!(
            TABS.decide(
                tab(true, none()),
                Event::Unanswered { asked_at: at },
                at + 10.0
            ),
            Do::Probe
        );
        // Stopped meanwhile: nothing.
        let stopped = Tab {
            running: false,
            ..t
        };
        assert_eq!(
            TABS.decide(stopped, Event::Unanswered { asked_at: at }, at + 3000.0),
            Do::Nothing
        );
    }

    #[test]
    fn the_prober_answers_with_a_fresh_verdict_else_probes() {
        let now = 100_000.0;
        let fresh = verdict(State::Leader, Source::Probe, Some(now - 14_999.0));
        assert_eq!(TABS.decide(tab(true, fresh), Event::Asked, now), Do::Tell);
        let old = verdict(State::Leader, Source::Probe, Some(now - 15_000.0));
        assert_eq!(TABS.decide(tab(true, old), Event::Asked, now), Do::Probe);
        // A cached verdict is not vouched for: the prober revalidates it.
        let cached = verdict(State::Leader, Source::Cache, Some(now - 10.0));
        assert_eq!(TABS.decide(tab(true, cached), Event::Asked, now), Do::Probe);
        assert_eq!(TABS.decide(tab(true, none()), Event::Asked, now), Do::Probe);
        // An `offline` is the prober's network, not a server: a round, shared (spec §2).
        let offline = verdict(State::Offline, Source::Probe, Some(now - 10.0));
        assert_eq!(
            TABS.decide(tab(true, offline), Event::Asked, now),
            Do::Probe
        );
        // Only the prober answers.
        assert_eq!(
            TABS.decide(tab(false, fresh), Event::Asked, now),
            Do::Nothing
        );
    }

    #[test]
    fn a_told_verdict_is_taken_when_newer() {
        let ours = verdict(State::Leader, Source::Probe, Some(5000.0));
        for (told, want) in [
            (4999.0, Do::Nothing),
            (5000.0, Do::Nothing),
            (5001.0, Do::Adopt),
        ] {
            let e = Event::Told { checked_at: told };
            assert_eq!(TABS.decide(tab(false, ours), e, 6000.0), want);
        }
        let e = Event::Told { checked_at: 1.0 };
        assert_eq!(TABS.decide(tab(true, none()), e, 6000.0), Do::Adopt);
    }

    #[test]
    fn a_new_prober_probes_when_the_verdict_falls_due() {
        let now = 100_000.0;
        let probed = verdict(State::Leader, Source::Peer, Some(now - 5000.0));
        assert_eq!(
            TABS.decide(tab(true, probed), Event::Elected, now),
            Do::Timer { ms: 10_000 }
        );
        for v in [
            none(),
            verdict(State::Leader, Source::Cache, Some(now)),
            verdict(State::Emergency, Source::Probe, Some(now)),
        ] {
            assert_eq!(
                TABS.decide(tab(true, v), Event::Elected, now),
                Do::Timer { ms: 0 }
            );
        }
        let busy = Tab {
            probing: true,
            ..tab(true, none())
        };
        assert_eq!(TABS.decide(busy, Event::Elected, now), Do::Nothing);
    }

    #[test]
    fn the_prober_keeps_the_schedule_and_the_others_watch_it() {
        let v = verdict(State::Leader, Source::Probe, Some(0.0));
        let own = Event::Settled {
            next_probe_ms: Some(15_000),
            rand01: 0.5,
        };
        let taken = Event::Settled {
            next_probe_ms: None,
            rand01: 0.0,
        };
        assert_eq!(
            TABS.decide(tab(true, v), own, 0.0),
            Do::Timer { ms: 15_000 }
        );
        assert_eq!(TABS.decide(tab(true, v), taken, 0.0), Do::Nothing);
        // Twice the prober's longest gap and a round, spread by up to a half.
        assert_eq!(
            TABS.decide(tab(false, v), taken, 0.0),
            Do::Timer { ms: 123_000 }
        );
        assert_eq!(
            TABS.decide(tab(false, v), own, 0.0),
            Do::Timer { ms: 153_750 }
        );
    }

    /// A small simulation of tabs on a fake clock, for the property test: the prober
    /// hears questions only from `listen_at` on (a booting tab misses them).
    struct World {
        tabs: Vec<Tab>,
        listen_at: f64,
        probes: u32,
    }

    impl World {
        /// One tab wants a verdict at `now`: runs its ask/wait loop with the prober's
        /// answer coming back after `answer_ms` if the prober listens. Returns the time
        /// the tab holds a verdict and whether it had to probe itself.
        fn want(
            &mut self,
            who: usize,
            now: f64,
            answer_ms: f64,
            prober_frozen: bool,
        ) -> (f64, bool) {
            let mut clock = now;
            let mut event = Event::Want;
            let mut asks = 0;
            loop {
                let me = self.tabs[who];
                match TABS.decide(me, event, clock) {
                    Do::Probe => {
                        self.probes += 1;
                        clock += 10.0;
                        self.tabs[who].verdict = verdict(State::Leader, Source::Probe, Some(clock));
                        return (clock, true);
                    }
                    Do::Ask { wait_ms } => {
                        asks += 1;
                        assert!(asks <= 2, "asked {asks} times");
                        assert!(wait_ms >= 1);
                        let prober = self.tabs.iter().position(|t| t.prober);
                        let answered = prober.filter(|p| {
                            !prober_frozen
                                && self.tabs[*p].running
                                && clock >= self.listen_at
                                && f64::from(wait_ms) > answer_ms
                        });
                        if let Some(p) = answered {
                            let answer = TABS.decide(self.tabs[p], Event::Asked, clock);
                            if answer == Do::Probe {
                                self.probes += 1;
                                self.tabs[p].verdict =
                                    verdict(State::Leader, Source::Probe, Some(clock + answer_ms));
                            }
                            clock += answer_ms;
                            let told = self.tabs[p].verdict;
                            let e = Event::Told {
                                checked_at: told.checked_at.unwrap_or(0.0),
                            };
                            if TABS.decide(self.tabs[who], e, clock) == Do::Adopt {
                                self.tabs[who].verdict = Snapshot {
                                    source: Source::Peer,
                                    ..told
                                };
                            }
                            return (clock, false);
                        }
                        clock += f64::from(wait_ms);
                        event = Event::Unanswered { asked_at: now };
                    }
                    other => panic!("{other:?} in the ask loop"),
                }
            }
        }
    }

    proptest! {
        /// Whatever the boot order, the answer delay and whether the prober is frozen,
        /// a tab that wants a verdict holds one within one round's time (plus its own
        /// probe), asks at most twice, and probes itself only when the prober could not
        /// answer in that time.
        #[test]
        fn a_question_is_answered_or_the_tab_probes_in_bounded_time(
            n in 2usize..6,
            prober in 0usize..6,
            listen_ms in 0.0f64..4000.0,
            answer_ms in 0.0f64..5000.0,
            frozen in any::<bool>(),
            fresh in any::<bool>(),
            start in 0.0f64..1e12,
        ) {
            let prober = prober % n;
            let verdict0 = if fresh {
                verdict(State::Leader, Source::Probe, Some(start - 1000.0))
            } else {
                none()
            };
            let tabs = (0..n)
                .map(|i| tab(i == prober, if i == prober { verdict0 } else { none() }))
                .collect();
            let mut world = World { tabs, listen_at: start + listen_ms, probes: 0 };
            let half = f64::from(TABS.round_ms / 2);
            for who in (0..n).filter(|i| *i != prober) {
                let (at, probed) = world.want(who, start, answer_ms, frozen);
                prop_assert!(at - start <= f64::from(TABS.round_ms) + answer_ms + 10.0);
                prop_assert!(world.tabs[who].verdict.checked_at.is_some());
                // Heard at the first question or at the second, asked half-way.
                let could_answer = !frozen && answer_ms < half && listen_ms <= half;
                prop_assert_eq!(probed, !could_answer);
            }
            // A live prober that answers in time costs at most one probe between them all,
            // however late it began to listen within the first half.
            if !frozen && answer_ms < half && listen_ms <= half {
                prop_assert!(world.probes <= 1, "{} probes", world.probes);
            }
        }

        /// Every event leaves a tab with something bounded to do: no timer beyond the
        /// watch, no wait beyond one round.
        #[test]
        fn every_decision_is_bounded(
            prober in any::<bool>(),
            running in any::<bool>(),
            probing in any::<bool>(),
            at in proptest::option::of(0.0f64..1e12),
            now in 0.0f64..1e12,
            kind in 0u8..6,
            x in 0.0f64..1e12,
            rand01 in 0.0f64..1.0,
        ) {
            let t = Tab { prober, running, probing, verdict: verdict(State::Leader, Source::Peer, at) };
            let event = match kind {
                0 => Event::Want,
                1 => Event::Unanswered { asked_at: x },
                2 => Event::Asked,
                3 => Event::Told { checked_at: x },
                4 => Event::Elected,
                _ => Event::Settled { next_probe_ms: Some(15_000), rand01 },
            };
            match TABS.decide(t, event, now) {
                Do::Ask { wait_ms } => prop_assert!((1..=TABS.round_ms).contains(&wait_ms)),
                Do::Timer { ms } => prop_assert!(ms <= 2 * (2 * TABS.gap_ms + TABS.round_ms)),
                _ => {}
            }
        }
    }
}
