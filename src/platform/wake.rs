//! Browser events that make a verdict stale (spec §9): the network going away or coming
//! back, the page shown again or restored from the back/forward cache, a change of
//! network. Where an event does not exist (a Worker has no `document`, Node has no
//! events on its global), nothing is listened to.

use super::env;
use gloo_events::EventListener;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::EventTarget;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    Offline,
    Online,
    /// `visibilitychange` to visible, or `pageshow` from the back/forward cache.
    Shown,
    /// The Network Information API's `change`.
    NetworkChanged,
}

/// The listeners, removed when dropped.
#[derive(Debug)]
#[must_use = "the listeners are removed when dropped"]
pub(crate) struct Wakes {
    _listeners: Vec<EventListener>,
}

pub(crate) fn listen(on: impl Fn(Wake) + Clone + 'static) -> Wakes {
    let mut listeners = Vec::new();
    let mut add = |target: Option<EventTarget>,
                   event: &'static str,
                   wake: fn(&web_sys::Event) -> Option<Wake>| {
        if let Some(target) = target {
            let on = on.clone();
            listeners.push(EventListener::new(&target, event, move |e| {
                if let Some(w) = wake(e) {
                    on(w);
                }
            }));
        }
    };
    let global = target(env::global("globalThis"));
    add(global.clone(), "offline", |_| Some(Wake::Offline));
    add(global.clone(), "online", |_| Some(Wake::Online));
    add(global, "pageshow", |e| {
        // Only a PageTransitionEvent is dispatched as `pageshow`.
        let e: &web_sys::PageTransitionEvent = e.unchecked_ref();
        e.persisted().then_some(Wake::Shown)
    });
    add(target(env::global("document")), "visibilitychange", |_| {
        visible().then_some(Wake::Shown)
    });
    let connection = env::global_property("navigator", "connection");
    add(target(connection), "change", |_| Some(Wake::NetworkChanged));
    Wakes {
        _listeners: listeners,
    }
}

/// `navigator.onLine === false`: the browser knows it has no network.
pub(crate) fn is_offline() -> bool {
    env::global_property("navigator", "onLine").is_some_and(|on| on.as_bool() == Some(false))
}

fn visible() -> bool {
    env::global_property("document", "visibilityState")
        .and_then(|v| v.as_string())
        .is_none_or(|v| v == "visible")
}

/// The value as an event target, when it is one (Node's `globalThis` is not).
fn target(value: Option<JsValue>) -> Option<EventTarget> {
    value.and_then(|v| v.dyn_into::<EventTarget>().ok())
}
