//! The running proxy: owns the verdict and is the one place that sequences what a new
//! verdict causes (remember → share → notify → schedule). Probe rounds (`probe`) and the
//! other tabs (`platform::election`) report to it; requests (`request`) are built on top of it.

mod probe;
mod reporting;
pub(crate) mod request;
mod select;

use crate::model::budget::RetryBudget;
use crate::model::cache::{Entry, TabMessage};
use crate::model::hint::{self, CorsHint};
use crate::model::machine::{Machine, Observation};
use crate::model::offline::{self, Cut, Recheck};
use crate::model::report::{Episodes, Met};
use crate::model::tabs::{Do, Event, Tab, Tabs};
use crate::model::{Config, Snapshot, Source, State};
use crate::platform::election::Election;
use crate::platform::storage::Store;
use crate::platform::wake::{self, Wake, Wakes};
use crate::platform::{env, spawn, Sleep, Timeout};
use futures_channel::oneshot;
use select::select;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

type Listener = Rc<dyn Fn(&Snapshot)>;

#[derive(Clone)]
pub(crate) struct Engine {
    inner: Rc<Inner>,
}

struct Inner {
    config: Config,
    machine: RefCell<Machine>,
    tabs: Tabs,
    store: Store,
    listeners: RefCell<Vec<(u32, Listener)>>,
    next_listener: Cell<u32>,
    /// Whoever waits for the next verdict, own or a peer's.
    waiters: RefCell<Vec<oneshot::Sender<()>>>,
    /// Reads waiting on the leader, told when the state leaves `leader` (spec §2).
    departures: RefCell<Vec<oneshot::Sender<()>>>,
    budget: RefCell<RetryBudget>,
    /// While running, when a verdict is next wanted: the prober's next probe, another
    /// tab's watch on a silent prober.
    timer: RefCell<Option<Timeout>>,
    running: Cell<bool>,
    /// Bumped by `stop()`: a round that started in an older generation is discarded.
    generation: Cell<u32>,
    round: RefCell<Option<Round>>,
    /// Writes lost while the leader's probes succeed (issue 33: say why writes fail).
    cors_hint: Cell<CorsHint>,
    /// The other tabs, while running.
    peers: RefCell<Option<Election>>,
    /// The browser's wake-up and network events, while running (spec §9).
    wakes: RefCell<Option<Wakes>>,
    /// Spec §11: what this instance decides on the outage episode the tabs keep.
    episodes: Episodes,
    /// Reports are being sent (one sender at a time).
    sending: Cell<bool>,
}

/// The probe round in flight: its promise (for sharing) and the controller `stop()` aborts.
struct Round {
    promise: js_sys::Promise,
    controller: web_sys::AbortController,
    /// A read has escaped to the follower while this round was open (spec §8).
    escaped: Cell<bool>,
}

impl Engine {
    pub(crate) fn new(config: Config) -> Engine {
        let store = Store::new(
            config.cache.storage,
            &config.cache.key,
            config.leader.as_str(),
        );
        let machine = Machine::new(config.tuning());
        let h = &config.health;
        let tabs = Tabs::new(h.interval_ms, h.timeout_ms, h.max_backoff_ms);
        let r = config.reports.as_ref();
        // A row untouched as long as other tabs wait before taking over: left behind.
        let stale = tabs.gap_ms.saturating_mul(2).saturating_add(tabs.round_ms);
        let episodes = Episodes::new(r.is_some(), r.map_or(0.0, |r| r.sample_rate), stale);
        Engine {
            inner: Rc::new(Inner {
                config,
                machine: RefCell::new(machine),
                tabs,
                store,
                listeners: RefCell::new(Vec::new()),
                next_listener: Cell::new(0),
                waiters: RefCell::new(Vec::new()),
                departures: RefCell::new(Vec::new()),
                budget: RefCell::new(RetryBudget::default()),
                timer: RefCell::new(None),
                running: Cell::new(false),
                generation: Cell::new(0),
                round: RefCell::new(None),
                cors_hint: Cell::new(CorsHint::default()),
                peers: RefCell::new(None),
                wakes: RefCell::new(None),
                episodes,
                sending: Cell::new(false),
            }),
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        self.inner.machine.borrow().snapshot()
    }

    pub(crate) fn state(&self) -> State {
        self.snapshot().state
    }

    /// Spec §8's confirmation bound, from this client's good probes.
    pub(crate) fn escape_after_ms(&self) -> u32 {
        let (c, rtt) = (&self.inner.config, *self.inner.machine.borrow().rtt());
        rtt.bound_ms(c.race_after_ms, c.health.timeout_ms)
    }

    /// Spec §3: the leader probe's deadline, from this client's good probes.
    fn probe_deadline_ms(&self) -> u32 {
        let timeout = self.inner.config.health.timeout_ms;
        self.inner.machine.borrow().rtt().probe_deadline_ms(timeout)
    }

    /// A read was made: the retry budget counts it.
    pub(crate) fn read_made(&self) {
        self.inner.budget.borrow_mut().read(env::now_ms());
    }

    /// One retry from the budget (spec §2); false when it is spent.
    pub(crate) fn withdraw_retry(&self) -> bool {
        self.inner.budget.borrow_mut().withdraw(env::now_ms())
    }

    /// Resolves when the state next leaves `leader`. A read waiting on it waits on its own
    /// deadline too, so a departure that never comes costs nothing.
    pub(crate) fn departure(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut departures = self.inner.departures.borrow_mut();
        // Reads that finished dropped their receivers: forget them.
        departures.retain(|d| !d.is_canceled());
        departures.push(tx);
        rx
    }

    /// Resolves once a verdict exists: at once from a fresh cached verdict (revalidated by
    /// the elected prober), else from another tab's probe, else after a probe round.
    pub(crate) async fn start(&self) -> Snapshot {
        let was_running = self.inner.running.replace(true);
        self.join_peers();
        self.listen_for_wakes();
        if wake::is_offline() {
            self.go_offline();
            return self.snapshot();
        }
        if self.state() != State::Unknown {
            if !was_running {
                // Restarted after stop(): the verdict stands, probing resumes now.
                self.refresh(Via::Round(Source::Probe));
            }
            return self.snapshot();
        }
        if let Some(cached) = self.load_cached() {
            // An `offline` is the network a page was on: a round decides (spec §2).
            if offline::takes_at_start(cached.state) {
                self.adopt(cached);
                return self.snapshot();
            }
        }
        self.verdict(Via::Tabs).await
    }

    /// The one path to a verdict: through the tabs as [`Tabs`] decides (the prober
    /// probes, another tab asks it and waits, probing itself only if no answer comes),
    /// or a round of this instance's own, joined when one is in flight.
    pub(crate) async fn verdict(&self, via: Via) -> Snapshot {
        if via != Via::Tabs || !self.asked().await {
            if let Some(promise) = self.round(via) {
                let _ = JsFuture::from(promise).await;
            }
        }
        self.snapshot()
    }

    /// Spec §2: whether a request made now waits for a probe round's verdict (the one in
    /// flight, or a new one at most once a second) before it is routed, and how many ms it
    /// waits before that round may start: in `offline` from probes while the browser says
    /// it is online. The browser's own `offline` is taken as it is (`None`).
    pub(crate) fn rechecks_offline(&self, asked_at: f64) -> Option<f64> {
        let cut = self.inner.machine.borrow().offline_cut()?;
        let cut = if wake::is_offline() {
            Cut::Browser
        } else {
            cut
        };
        let in_flight = self.inner.round.borrow().is_some();
        let last = self.snapshot().checked_at;
        match offline::recheck(cut, in_flight, last, env::now_ms(), asked_at) {
            Recheck::Refuse => None,
            Recheck::Join | Recheck::Probe => Some(0.0),
            Recheck::Wait(ms) => Some(ms),
        }
    }

    /// A write got an answer (issue 33's hint counts lost writes in a row).
    pub(crate) fn write_answered(&self) {
        let mut h = self.inner.cors_hint.get();
        h.answered();
        self.inner.cors_hint.set(h);
    }

    /// A write got a network error and the probe found the leader `leader_up`: the second
    /// in a row warns once per page that the leader's CORS likely refuses it.
    pub(crate) fn write_lost(&self, leader_up: bool, method: &str) {
        use std::sync::atomic::{AtomicBool, Ordering};
        static WARNED: AtomicBool = AtomicBool::new(false);
        let mut h = self.inner.cors_hint.get();
        let warn = h.failed(leader_up);
        self.inner.cors_hint.set(h);
        if warn && !WARNED.swap(true, Ordering::Relaxed) {
            let key = self.inner.config.idempotency_key.as_deref();
            env::warn(&hint::warning(method, key));
        }
    }

    /// [`Engine::verdict`] in the background: a round starts at once.
    pub(crate) fn refresh(&self, via: Via) {
        if via == Via::Tabs {
            let engine = self.clone();
            // Wanted as of now: a verdict taken before the task runs (a read made before
            // start(), which then took the cache) answers it. Asking after that would wait
            // for a newer one, ignore the prober's same verdict, and probe after a round.
            let held = self.snapshot().checked_at;
            spawn(async move {
                if engine.snapshot().checked_at == held {
                    engine.verdict(via).await;
                }
            });
        } else {
            let _ = self.round(via);
        }
    }

    /// Asks the prober until a verdict comes (true) or the policy says to probe (false).
    async fn asked(&self) -> bool {
        let before = self.snapshot().checked_at;
        let asked_at = env::now_ms();
        let mut event = Event::Want;
        loop {
            match self.decide(event) {
                Do::Probe => return false,
                Do::Ask { wait_ms } => {
                    let next = self.next_verdict();
                    self.post(&TabMessage::Ask);
                    let _ = select(next, Sleep::new(wait_ms)).await;
                    if self.snapshot().checked_at != before {
                        return true;
                    }
                    event = Event::Unanswered { asked_at };
                }
                _ => return true,
            }
        }
    }

    /// What the tab policy says to do on `event`, from what this instance knows now.
    fn decide(&self, event: Event) -> Do {
        let inner = &self.inner;
        let tab = Tab {
            prober: self.is_prober(),
            running: inner.running.get(),
            probing: inner.round.borrow().is_some(),
            verdict: self.snapshot(),
        };
        inner.tabs.decide(tab, event, env::now_ms())
    }

    /// Carries out what the policy says on `event` about the timer.
    fn arm(&self, event: Event) {
        if let Do::Timer { ms } = self.decide(event) {
            self.schedule(ms);
        }
    }

    /// Ends the schedule, the round in flight and the tab sharing; idempotent. Routing
    /// keeps the last verdict and `onChange` subscriptions stay for a later `start()`.
    pub(crate) fn stop(&self) {
        let inner = &self.inner;
        inner.running.set(false);
        inner.generation.set(inner.generation.get().wrapping_add(1));
        inner.timer.borrow_mut().take();
        if let Some(round) = inner.round.borrow_mut().take() {
            round.controller.abort();
        }
        inner.peers.borrow_mut().take();
        inner.wakes.borrow_mut().take();
        // Nobody is left to answer them: let waiters go on.
        inner.waiters.borrow_mut().clear();
    }

    pub(crate) fn on_change(&self, listener: impl Fn(&Snapshot) + 'static) -> u32 {
        let id = self.inner.next_listener.get();
        self.inner.next_listener.set(id.wrapping_add(1));
        let listeners = &self.inner.listeners;
        listeners.borrow_mut().push((id, Rc::new(listener)));
        id
    }

    pub(crate) fn off(&self, id: u32) {
        self.inner.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    /// True for the first read that escapes while the current round is open (spec §8):
    /// later ones wait for the round's verdict.
    pub(crate) fn claim_escape(&self) -> bool {
        let round = self.inner.round.borrow();
        round.as_ref().is_none_or(|r| !r.escaped.replace(true))
    }

    /// Joins the round in flight, or starts one `via` says (the tabs' is a full one).
    fn round(&self, via: Via) -> Option<js_sys::Promise> {
        if let Some(round) = self.inner.round.borrow().as_ref() {
            return Some(round.promise.clone());
        }
        let (source, leader_only) = match via {
            Via::Tabs => (Source::Probe, false),
            Via::Round(source) => (source, false),
            Via::LeaderOnly => (Source::Request, true),
        };
        let controller = web_sys::AbortController::new().ok()?;
        let signal = controller.signal();
        let generation = self.inner.generation.get();
        let engine = self.clone();
        let promise = crate::platform::promise(async move {
            let deadline = engine.probe_deadline_ms();
            let outcome = probe::round(&engine.inner.config, &signal, leader_only, deadline).await;
            // stop() ended this round: its outcome is an abort, not a verdict.
            if engine.inner.generation.get() == generation {
                engine.inner.round.borrow_mut().take();
                engine.conclude(outcome, source);
            }
            Ok(JsValue::UNDEFINED)
        });
        *self.inner.round.borrow_mut() = Some(Round {
            promise: promise.clone(),
            controller,
            escaped: Cell::new(false),
        });
        Some(promise)
    }

    /// A round of this instance's own: remember → share → notify → report → schedule.
    fn conclude(&self, outcome: Observation, source: Source) {
        let (machine, now, rand01) = (&self.inner.machine, env::now_ms(), env::random());
        let step = machine.borrow_mut().observe(outcome, now, source, rand01);
        let state = step.snapshot.state;
        // The live episode is kept beside the verdict cache, so every tab of the site
        // counts into it and a reload keeps it.
        let store = &self.inner.store;
        let on = self.inner.config.reports.is_some();
        let mut live = store.episode();
        let rtt = *machine.borrow().rtt();
        let episodes = &self.inner.episodes;
        let closed = episodes.observed(&mut live, outcome, state, now, env::random(), &rtt);
        if on {
            store.set_episode(live.as_ref());
        }
        if state == State::Leader {
            // Queued before the others are told: the prober, told `leader`, sends it.
            self.report(closed);
        }
        if let Some(entry) = self.remember(&step.snapshot) {
            self.post(&TabMessage::Told(entry));
        }
        self.settled(step.changed, &step.snapshot);
        self.arm(Event::Settled {
            next_probe_ms: Some(step.next_probe_ms),
            rand01: env::random(),
        });
    }

    /// Counts what a request met into the live episode (spec §11).
    pub(crate) fn met(&self, what: Met) {
        let store = &self.inner.store;
        if let Some(mut live) = store.episode() {
            live.met(what);
            store.set_episode(Some(&live));
        }
    }

    /// Takes a verdict this instance did not probe for (the cache, another tab).
    fn adopt(&self, snapshot: Snapshot) {
        let changed = self.inner.machine.borrow_mut().adopt(snapshot);
        self.settled(changed, &snapshot);
        self.arm(Event::Settled {
            next_probe_ms: None,
            rand01: env::random(),
        });
    }

    /// A verdict was reached: wake whoever waits for one, tell listeners of a change.
    fn settled(&self, changed: bool, snapshot: &Snapshot) {
        // Taken whole, not drained: size.
        for waiter in std::mem::take(&mut *self.inner.waiters.borrow_mut()) {
            let _ = waiter.send(());
        }
        if changed && snapshot.state != State::Leader {
            for departure in std::mem::take(&mut *self.inner.departures.borrow_mut()) {
                let _ = departure.send(());
            }
        }
        if changed {
            // A listener added or removed meanwhile takes effect next time.
            let mut listeners: Vec<Listener> = Vec::new();
            for (_, l) in self.inner.listeners.borrow().iter() {
                listeners.push(l.clone());
            }
            for listener in listeners {
                listener(snapshot);
            }
        }
    }

    /// Resolves at the next verdict this instance holds (own, peer's or cached).
    fn next_verdict(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.inner.waiters.borrow_mut().push(tx);
        rx
    }

    /// Persists the verdict for the next page load; returns it, for the other tabs.
    fn remember(&self, snapshot: &Snapshot) -> Option<Entry> {
        let learnt = self.inner.machine.borrow().learnt();
        let entry = Entry::new(&self.inner.config.leader, snapshot, learnt)?;
        self.inner.store.save(&entry);
        Some(entry)
    }

    /// A fresh cached entry; what any cached entry learnt is lent, whatever its age.
    fn load_cached(&self) -> Option<Snapshot> {
        let config = &self.inner.config;
        let entry = self.inner.store.load()?;
        if let Some(learnt) = entry.learnt(&config.leader) {
            self.inner.machine.borrow_mut().take_learnt(learnt);
        }
        entry.decode(&config.leader, env::now_ms(), config.cache.ttl_ms)
    }

    fn schedule(&self, delay_ms: u32) {
        let weak = Rc::downgrade(&self.inner);
        let timer = Timeout::new(delay_ms, move || {
            if let Some(inner) = weak.upgrade() {
                // Off the timer's callback: replacing the handle never drops it mid-call.
                Engine { inner }.refresh(Via::Tabs);
            }
        });
        // Replacing the handle clears any timer still pending.
        *self.inner.timer.borrow_mut() = Some(timer);
    }

    fn listen_for_wakes(&self) {
        if self.inner.wakes.borrow().is_some() {
            return;
        }
        let weak = Rc::downgrade(&self.inner);
        let wakes = wake::listen(move |w| {
            if let Some(inner) = weak.upgrade() {
                Engine { inner }.on_wake(w);
            }
        });
        *self.inner.wakes.borrow_mut() = Some(wakes);
    }

    /// Spec §9: the browser knows better than the next scheduled probe.
    fn on_wake(&self, w: Wake) {
        if !self.inner.running.get() {
            return;
        }
        let stale = self.inner.machine.borrow().is_stale(env::now_ms());
        match w {
            Wake::Offline => self.go_offline(),
            Wake::Online | Wake::NetworkChanged => self.refresh(Via::Tabs),
            Wake::Shown if stale => self.refresh(Via::Tabs),
            Wake::Shown => {}
        }
    }

    fn go_offline(&self) {
        let changed = self.inner.machine.borrow_mut().go_offline(env::now_ms());
        let snapshot = self.snapshot();
        self.settled(changed, &snapshot);
    }

    pub(super) fn is_prober(&self) -> bool {
        let peers = self.inner.peers.borrow();
        peers.as_ref().is_none_or(Election::is_prober)
    }

    fn join_peers(&self) {
        if self.inner.peers.borrow().is_some() {
            return;
        }
        let config = &self.inner.config;
        let (key, leader) = (&config.cache.key, config.leader.as_str());
        let name = format!("health-proxy:{key}:{leader}");
        let on_message = {
            let weak = Rc::downgrade(&self.inner);
            move |message: TabMessage| {
                if let Some(inner) = weak.upgrade() {
                    Engine { inner }.on_peer_message(message);
                }
            }
        };
        let on_elected: Rc<dyn Fn()> = {
            let weak = Rc::downgrade(&self.inner);
            Rc::new(move || {
                if let Some(inner) = weak.upgrade() {
                    // Off the caller's stack: election callbacks may run inside `join`.
                    spawn(async move { Engine { inner }.arm(Event::Elected) });
                }
            })
        };
        let peers = Election::start(&name, on_message, self.inner.tabs.lease(), on_elected);
        *self.inner.peers.borrow_mut() = Some(peers);
    }

    /// A message from another tab, as the tab policy says: a question is answered by the
    /// prober (its verdict, or a round), a newer verdict is taken.
    fn on_peer_message(&self, message: TabMessage) {
        let config = &self.inner.config;
        let entry = match message {
            TabMessage::Told(entry) => entry,
            TabMessage::Ask => {
                match self.decide(Event::Asked) {
                    Do::Tell => {
                        let learnt = self.inner.machine.borrow().learnt();
                        if let Some(v) = Entry::new(&config.leader, &self.snapshot(), learnt) {
                            self.post(&TabMessage::Told(v));
                        }
                    }
                    Do::Probe => self.refresh(Via::Round(Source::Probe)),
                    _ => {}
                }
                return;
            }
        };
        let Some(mut snapshot) = entry.decode(&config.leader, env::now_ms(), u32::MAX) else {
            return;
        };
        let told = Event::Told {
            checked_at: entry.checked_at(),
        };
        if self.decide(told) != Do::Adopt {
            return;
        }
        snapshot.source = Source::Peer;
        if let Some(learnt) = entry.learnt(&config.leader) {
            self.inner.machine.borrow_mut().take_learnt(learnt);
        }
        if snapshot.state == State::Leader {
            // Spec §11: the tab that probed has closed the episode (a tab of its own
            // storage, `cache.storage: "session"`, ends its own); a round trip of "before".
            if config.reports.is_some() {
                self.inner.store.set_episode(None);
            }
        }
        self.remember(&snapshot);
        self.adopt(snapshot);
        if snapshot.state == State::Leader {
            // The prober sends what waits once the leader is back (spec §11).
            self.report(None);
        }
    }

    fn post(&self, message: &TabMessage) {
        if let Some(peers) = self.inner.peers.borrow().as_ref() {
            peers.post(message);
        }
    }
}

/// How a verdict is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// Through the tabs (spec §6): a start, a read before any verdict, a wake-up, the timer.
    Tabs,
    /// A full round of this instance's own, the leader then the follower.
    Round(Source),
    /// A round started here probes the leader only and takes a failure as `emergency`
    /// (spec §8): the read that asked goes to the follower next, and if the follower
    /// fails too, that failure triggers a full round.
    LeaderOnly,
}
