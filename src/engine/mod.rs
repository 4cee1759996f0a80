//! The running proxy: owns the verdict, schedules probes, routes requests. It joins the
//! pure core (decisions) to the platform (fetch, timers, storage); it knows no JS types
//! beyond what fetch itself needs.

mod peers;
mod probe;
mod request;
mod select;

use crate::core::cache;
use crate::core::machine::Machine;
use crate::core::routing::{Decision, Plan};
use crate::core::{Config, HealthProxyError, Snapshot, Source, State};
use crate::platform::storage::Store;
use crate::platform::timer::Timeout;
use crate::platform::{env, json};
use crate::prelude::*;
use ::core::cell::{Cell, RefCell};
use alloc::rc::Rc;

pub use request::Failure;

pub struct Routed {
    pub target: crate::core::routing::Target,
    pub url: Option<String>,
}

type Listener = Rc<dyn Fn(&Snapshot)>;

#[derive(Clone)]
pub struct Engine {
    inner: Rc<Inner>,
}

struct Inner {
    config: Config,
    machine: RefCell<Machine>,
    store: Store,
    listeners: RefCell<Vec<(u32, Listener)>>,
    next_listener: Cell<u32>,
    /// While running, the next scheduled probe.
    timer: RefCell<Option<Timeout>>,
    running: Cell<bool>,
    /// Bumped by `stop()`: a probe that started in an older generation is discarded.
    generation: Cell<u32>,
    probe: RefCell<Option<probe::InFlight>>,
    /// Sharing with other tabs, while running.
    election: RefCell<Option<crate::platform::election::Election>>,
    channel: RefCell<Option<crate::platform::channel::Channel>>,
}

impl Engine {
    pub fn new(config: Config) -> Engine {
        let store = Store::new(config.cache.storage, &config.cache.key);
        let machine = Machine::new(config.policy());
        Engine {
            inner: Rc::new(Inner {
                config,
                machine: RefCell::new(machine),
                store,
                listeners: RefCell::new(Vec::new()),
                next_listener: Cell::new(0),
                timer: RefCell::new(None),
                running: Cell::new(false),
                generation: Cell::new(0),
                probe: RefCell::new(None),
                election: RefCell::new(None),
                channel: RefCell::new(None),
            }),
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        self.inner.machine.borrow().snapshot()
    }

    pub fn state(&self) -> State {
        self.snapshot().state
    }

    /// Resolves once a verdict exists: at once from a fresh cached verdict (then
    /// revalidated in the background), else after one probe round.
    pub async fn start(&self) -> Snapshot {
        let inner = &self.inner;
        let was_running = inner.running.replace(true);
        peers::join(inner);
        if inner.machine.borrow().state() == State::Unknown {
            if let Some(cached) = self.load_cached() {
                adopt(inner, cached);
                probe::spawn(inner, Source::Probe);
                return self.snapshot();
            }
            return probe::shared(inner, Source::Probe).await;
        }
        if !was_running {
            // Restarted after stop(): the verdict stands, probing resumes now.
            probe::spawn(inner, Source::Probe);
        }
        self.snapshot()
    }

    /// Ends the schedule and any probe in flight; idempotent. Routing keeps the last verdict.
    pub fn stop(&self) {
        let inner = &self.inner;
        inner.running.set(false);
        inner.generation.set(inner.generation.get().wrapping_add(1));
        inner.timer.borrow_mut().take();
        probe::abort(inner);
        peers::leave(inner);
        inner.listeners.borrow_mut().clear();
    }

    pub async fn check_now(&self) -> Snapshot {
        probe::shared(&self.inner, Source::Probe).await
    }

    /// Where a request goes now, or why it would be refused. `url` is `None` when the
    /// URL is the target's base followed by `path_or_url` itself (a path): the JS layer
    /// then joins the strings on its side of the boundary.
    pub fn route(&self, path_or_url: &str, method: &str) -> Result<Routed, HealthProxyError> {
        let config = &self.inner.config;
        let plan = Plan::new(config, path_or_url, method)?;
        match plan.decide(self.state()) {
            Decision::Send(target) => Ok(Routed {
                target,
                url: (!path_or_url.starts_with('/')).then(|| plan.url(config, target)),
            }),
            Decision::Wait => Err(plan.refusal(crate::core::ErrorCode::NotReady, method)),
            Decision::Refuse(code) => Err(plan.refusal(code, method)),
        }
    }

    pub async fn fetch(
        &self,
        path_or_url: &str,
        init: &wasm_bindgen::JsValue,
    ) -> Result<web_sys::Response, Failure> {
        request::fetch(&self.inner, path_or_url, init).await
    }

    pub fn on_change(&self, listener: impl Fn(&Snapshot) + 'static) -> u32 {
        let id = self.inner.next_listener.get();
        self.inner.next_listener.set(id.wrapping_add(1));
        self.inner
            .listeners
            .borrow_mut()
            .push((id, Rc::new(listener)));
        id
    }

    pub fn off(&self, id: u32) {
        self.inner.listeners.borrow_mut().retain(|(i, _)| *i != id);
    }

    fn load_cached(&self) -> Option<Snapshot> {
        let config = &self.inner.config;
        let entry = json::parse(&self.inner.store.load()?)?;
        cache::decode(&entry, &config.leader, env::now_ms(), config.cache.ttl_ms)
    }
}

/// Calls every listener; a listener added or removed meanwhile takes effect next time.
fn notify(inner: &Inner, snapshot: &Snapshot) {
    let listeners: Vec<Listener> = inner
        .listeners
        .borrow()
        .iter()
        .map(|(_, l)| l.clone())
        .collect();
    for listener in listeners {
        listener(snapshot);
    }
}

/// Takes a verdict this instance did not probe for (the cache, another tab).
fn adopt(inner: &Inner, snapshot: Snapshot) {
    let changed = inner.machine.borrow_mut().adopt(snapshot);
    if changed {
        notify(inner, &snapshot);
    }
}

/// Persists the verdict for the next page load; returns its encoding, for the other tabs.
fn remember(inner: &Inner, snapshot: &Snapshot) -> Option<String> {
    let text = cache::encode(&inner.config.leader, snapshot)?;
    inner.store.save(&text);
    Some(text)
}
