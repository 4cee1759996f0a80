//! One prober per browser: tabs of the same site elect one instance to run the periodic
//! probes. The Web Locks API when there is one (a closed tab releases its lock, so the role
//! passes on by itself), else a lease in localStorage renewed by its holder; with neither
//! (Node, some workers) every instance probes for itself.

use super::env;
use super::timer::Timeout;
use crate::cat;
use crate::prelude::*;
use ::core::cell::{Cell, RefCell};
use alloc::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub struct Election {
    prober: Rc<Cell<bool>>,
    kind: Kind,
}

enum Kind {
    /// `navigator.locks`: the held lock is released by resolving its promise.
    Lock {
        release: Rc<RefCell<Option<js_sys::Function>>>,
        waiting: web_sys::AbortController,
    },
    Lease(Rc<Lease>),
    /// Nothing to coordinate through: this instance is its own prober.
    Alone,
}

struct Lease {
    storage: web_sys::Storage,
    key: String,
    me: String,
    ttl_ms: u32,
    prober: Rc<Cell<bool>>,
    on_elected: Rc<dyn Fn()>,
    timer: RefCell<Option<Timeout>>,
}

impl Election {
    /// Starts competing for `name`; `on_elected` runs when this instance becomes the prober.
    /// `lease_ms` is how long a storage lease lasts without renewal.
    pub fn start(name: &str, lease_ms: u32, on_elected: Rc<dyn Fn()>) -> Election {
        let prober = Rc::new(Cell::new(false));
        if let Some(kind) = lock(name, &prober, on_elected.clone()) {
            return Election { prober, kind };
        }
        if let Some(storage) = env::web_storage("localStorage") {
            let lease = Rc::new(Lease {
                storage,
                key: cat!(name, ":prober"),
                me: cat!((env::random() * 1e15) as u64),
                ttl_ms: lease_ms,
                prober: prober.clone(),
                on_elected,
                timer: RefCell::new(None),
            });
            Lease::tick(&lease);
            return Election {
                prober,
                kind: Kind::Lease(lease),
            };
        }
        prober.set(true);
        on_elected();
        Election {
            prober,
            kind: Kind::Alone,
        }
    }

    pub fn is_prober(&self) -> bool {
        self.prober.get()
    }
}

impl Drop for Election {
    fn drop(&mut self) {
        self.prober.set(false);
        match &self.kind {
            Kind::Lock { release, waiting } => {
                waiting.abort();
                if let Some(resolve) = release.borrow_mut().take() {
                    let _ = resolve.call0(&JsValue::NULL);
                }
            }
            Kind::Lease(lease) => lease.release(),
            Kind::Alone => {}
        }
    }
}

fn lock(name: &str, prober: &Rc<Cell<bool>>, on_elected: Rc<dyn Fn()>) -> Option<Kind> {
    let navigator = env::global("navigator")?;
    let locks = js_sys::Reflect::get(&navigator, &JsValue::from_str("locks"))
        .ok()
        .filter(|l| l.is_object())?;
    let request: js_sys::Function = js_sys::Reflect::get(&locks, &JsValue::from_str("request"))
        .ok()?
        .dyn_into()
        .ok()?;
    let waiting = web_sys::AbortController::new().ok()?;
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &JsValue::from_str("signal"), &waiting.signal()).ok()?;
    let release = Rc::new(RefCell::new(None));
    let granted = {
        let release = release.clone();
        let prober = prober.clone();
        // Held until the promise it returns resolves: that is, until stop().
        Closure::once_into_js(move |_lock: JsValue| -> JsValue {
            let held =
                js_sys::Promise::new(&mut |resolve, _reject| *release.borrow_mut() = Some(resolve));
            prober.set(true);
            on_elected();
            held.into()
        })
    };
    let pending = request
        .call3(&locks, &JsValue::from_str(name), &options, &granted)
        .ok()?;
    // Stopping while still waiting rejects the request with an AbortError: expected.
    let ignore = Closure::once_into_js(|_: JsValue| {});
    if let Some(catch) = js_sys::Reflect::get(&pending, &JsValue::from_str("catch"))
        .ok()
        .and_then(|c| c.dyn_into::<js_sys::Function>().ok())
    {
        let _ = catch.call1(&pending, &ignore);
    }
    Some(Kind::Lock { release, waiting })
}

impl Lease {
    /// Takes the lease if it is free, expired or ours (renewing it), then checks again
    /// in a third of its lifetime.
    fn tick(lease: &Rc<Lease>) {
        let now = env::now_ms();
        let holder = lease.storage.get_item(&lease.key).ok().flatten();
        let (owner, until) = holder
            .as_deref()
            .and_then(|h| h.split_once('@'))
            .map(|(o, u)| (o.to_string(), u.parse::<u64>().unwrap_or(0) as f64))
            .unwrap_or_default();
        if owner == lease.me || until < now {
            let value = cat!(lease.me, '@', (now + f64::from(lease.ttl_ms)) as u64);
            let _ = lease.storage.set_item(&lease.key, &value);
            // Two tabs may write at once: the one whose write stayed is the prober.
            let won = lease.storage.get_item(&lease.key).ok().flatten().as_deref()
                == Some(value.as_str());
            let was = lease.prober.replace(won);
            if won && !was {
                (lease.on_elected)();
            }
        } else {
            lease.prober.set(false);
        }
        let weak = Rc::downgrade(lease);
        let timer = Timeout::new(lease.ttl_ms / 3, move || {
            if let Some(lease) = weak.upgrade() {
                Lease::tick(&lease);
            }
        });
        *lease.timer.borrow_mut() = Some(timer);
    }

    fn release(&self) {
        self.timer.borrow_mut().take();
        let mine = self.storage.get_item(&self.key).ok().flatten();
        if mine
            .as_deref()
            .and_then(|h| h.split_once('@'))
            .map(|(o, _)| o)
            == Some(self.me.as_str())
        {
            let _ = self.storage.remove_item(&self.key);
        }
    }
}
