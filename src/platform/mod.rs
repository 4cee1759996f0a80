//! The web APIs health-proxy uses, reached through `globalThis` (not `window`) so the
//! package also runs in Web Workers and in Node: one checked fetch with an abort
//! guard, Web Storage that degrades to memory, the tab election and channel.

pub(crate) mod channel;
pub(crate) mod election;
pub(crate) mod env;
pub(crate) mod http;
pub(crate) mod json;
pub(crate) mod storage;
pub(crate) mod wake;

use std::future::Future;
use std::pin::Pin;
use wasm_bindgen::{JsCast, JsValue};

/// A future as a JS Promise. Boxed to one type, so the promise machinery is in the
/// module once rather than once per async function (a few KB of wasm).
pub(crate) fn promise(
    task: impl Future<Output = Result<JsValue, JsValue>> + 'static,
) -> js_sys::Promise {
    let task: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(task);
    wasm_bindgen_futures::future_to_promise(task)
}

/// Runs a future in the background, boxed for the same reason as [`promise`].
pub(crate) fn spawn(task: impl Future<Output = ()> + 'static) {
    let task: Pin<Box<dyn Future<Output = ()>>> = Box::pin(task);
    wasm_bindgen_futures::spawn_local(task);
}

/// A timer that fires once unless dropped first (gloo-timers).
pub(crate) use gloo_timers::callback::Timeout;
/// A future that completes after the given milliseconds; dropping it clears the timer.
pub(crate) use gloo_timers::future::TimeoutFuture as Sleep;

/// A model value as a plain JS object (`null` for `None`, as JSON has it).
pub(crate) fn to_js<T: serde::Serialize>(value: &T) -> Option<JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// A thrown value read as an `Error`, and the `Error` a HealthProxyError becomes.
    #[wasm_bindgen(extends = js_sys::Error)]
    pub(crate) type ErrorObject;
    /// Any thrown value's `message`: a getter that throws, or a value that is not an
    /// object, is an error here, not an exception.
    #[wasm_bindgen(method, getter, catch)]
    fn message(this: &ErrorObject) -> Result<JsValue, JsValue>;
}

/// A thrown JS value as text for a message, read without risking another throw.
pub(crate) fn describe(e: &JsValue) -> String {
    if let Some(text) = e.as_string() {
        return text;
    }
    e.unchecked_ref::<ErrorObject>()
        .message()
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "a value that is not an Error".into())
}
