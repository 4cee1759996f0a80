//! The other tabs of the same site: every verdict is told over the channel, and one
//! elected prober runs the periodic probes. The Web Locks API when there is one (a closed tab releases its lock, so the
//! role passes on by itself), else a lease in localStorage renewed by its holder; with
//! neither (Node, some workers) every instance probes for itself. Which one, and the
//! lease's timing and rule, are decided in `model::tabs`; this file carries them out.

use super::channel::Channel;
use super::{env, spawn, Timeout};
use crate::model::cache::TabMessage;
use crate::model::tabs::{self, Coordination};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[must_use = "the election is left when dropped"]
pub(crate) struct Election {
    prober: Rc<Cell<bool>>,
    kind: Kind,
    channel: Option<Channel>,
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

impl fmt::Debug for Election {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Lock { .. } => "lock",
            Kind::Lease(_) => "lease",
            Kind::Alone => "alone",
        };
        f.debug_struct("Election")
            .field("kind", &kind)
            .field("prober", &self.prober.get())
            .field("channel", &self.channel)
            .finish()
    }
}

struct Lease {
    storage: web_sys::Storage,
    key: String,
    me: String,
    timing: tabs::Lease,
    prober: Rc<Cell<bool>>,
    on_elected: Rc<dyn Fn()>,
    timer: RefCell<Option<Timeout>>,
}

impl Election {
    /// Joins the tabs of `name`: `on_message` gets what they post, and this instance
    /// competes to be the prober, or probes alone, as `model::tabs` decides from what
    /// there is; `on_elected` runs when it becomes the prober.
    pub(crate) fn start(
        name: &str,
        on_message: impl Fn(TabMessage) + 'static,
        timing: tabs::Lease,
        on_elected: Rc<dyn Fn()>,
    ) -> Election {
        let channel = Channel::open(name, on_message);
        let prober = Rc::new(Cell::new(false));
        let locks = env::global_property("navigator", "locks").filter(|l| l.is_object());
        let storage = env::web_storage("localStorage");
        let has = (channel.is_some(), storage.is_some());
        let how = tabs::coordination(has.0, locks.is_some(), has.1);
        let locks = locks.filter(|_| how == Coordination::Lock);
        // Without a lock taken (a partial polyfill too): as if there were no Web Locks.
        let kind = match locks.and_then(|locks| lock(locks, name, &prober, on_elected.clone())) {
            Some(kind) => kind,
            None => match (tabs::coordination(has.0, false, has.1), storage) {
                (Coordination::Lease, Some(storage)) => {
                    let lease = Rc::new(Lease {
                        storage,
                        key: format!("{name}:prober"),
                        me: format!("{}", (env::random() * 1e15) as u64),
                        timing,
                        prober: prober.clone(),
                        on_elected,
                        timer: RefCell::new(None),
                    });
                    Lease::tick(&lease);
                    Kind::Lease(lease)
                }
                _ => {
                    prober.set(true);
                    on_elected();
                    Kind::Alone
                }
            },
        };
        Election {
            prober,
            kind,
            channel,
        }
    }

    pub(crate) fn post(&self, message: &TabMessage) {
        if let Some(channel) = &self.channel {
            channel.post(message);
        }
    }

    pub(crate) fn is_prober(&self) -> bool {
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

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks` (web-sys has it only under `web_sys_unstable_apis`).
    type LockManager;
    /// Throws (caught) when `request` is not a function, as a partial polyfill may have it.
    #[wasm_bindgen(method, catch)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &LockOptions,
        granted: &js_sys::Function,
    ) -> Result<JsValue, JsValue>;
    type LockOptions;
    #[wasm_bindgen(method, setter)]
    fn set_signal(this: &LockOptions, signal: &web_sys::AbortSignal);
}

fn lock(
    locks: JsValue,
    name: &str,
    prober: &Rc<Cell<bool>>,
    on_elected: Rc<dyn Fn()>,
) -> Option<Kind> {
    let locks: LockManager = locks.unchecked_into();
    let waiting = web_sys::AbortController::new().ok()?;
    let options: LockOptions = js_sys::Object::new().unchecked_into();
    options.set_signal(&waiting.signal());
    let release = Rc::new(RefCell::new(None));
    let granted = {
        let release = release.clone();
        let prober = prober.clone();
        // Held until the promise it returns resolves: that is, until the election is dropped.
        Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |_lock: JsValue| -> JsValue {
            let held =
                js_sys::Promise::new(&mut |resolve, _reject| *release.borrow_mut() = Some(resolve));
            prober.set(true);
            on_elected();
            held.into()
        })
    };
    let pending: js_sys::Promise = locks
        .request(name, &options, granted.as_ref().unchecked_ref())
        .ok()?
        .dyn_into()
        .ok()?;
    // The request settles once the lock is released or the wait aborted, both of which
    // dropping the election does; only then can the callback no longer be called, so it
    // is freed there (an abort rejects the request: expected, and ignored).
    spawn(async move {
        let _ = JsFuture::from(pending).await;
        drop(granted);
    });
    Some(Kind::Lock { release, waiting })
}

impl Lease {
    /// Takes the lease when `model::tabs` says so (renewing it), then checks again when
    /// it is due for renewal.
    fn tick(lease: &Rc<Lease>) {
        let now = env::now_ms();
        let holder = lease.stored();
        // The browser's number parser: NaN for anything that is not a time, which counts
        // as expired like a missing lease.
        let (owner, until) = holder
            .as_deref()
            .and_then(|h| h.split_once('@'))
            .map_or(("", f64::NAN), |(o, u)| (o, js_sys::Number::parse_float(u)));
        if tabs::Lease::may_take(owner == lease.me, until, now) {
            let value = format!(
                "{}@{}",
                lease.me,
                (now + f64::from(lease.timing.ttl_ms)) as u64
            );
            let _ = lease.storage.set_item(&lease.key, &value);
            // Two tabs may write at once: the one whose write stayed is the prober.
            let won = lease.stored().as_deref() == Some(value.as_str());
            let was = lease.prober.replace(won);
            if won && !was {
                (lease.on_elected)();
            }
        } else {
            lease.prober.set(false);
        }
        let weak = Rc::downgrade(lease);
        let timer = Timeout::new(lease.timing.renew_ms, move || {
            if let Some(lease) = weak.upgrade() {
                Lease::tick(&lease);
            }
        });
        *lease.timer.borrow_mut() = Some(timer);
    }

    /// The lease as stored (`holder@until`), if any.
    fn stored(&self) -> Option<String> {
        self.storage.get_item(&self.key).ok().flatten()
    }

    fn release(&self) {
        self.timer.borrow_mut().take();
        if self
            .stored()
            .as_deref()
            .and_then(|h| h.split_once('@'))
            .map(|(o, _)| o)
            == Some(self.me.as_str())
        {
            let _ = self.storage.remove_item(&self.key);
        }
    }
}
