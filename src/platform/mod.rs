//! The web APIs health-proxy uses, reached through `globalThis` (not `window`) so the
//! package also runs in Web Workers and in Node: fetch with an abort guard, timers that
//! clear on drop, Web Storage that degrades to memory, JSON.

pub mod channel;
pub mod election;
pub mod env;
pub mod http;
pub mod json;
pub mod storage;
pub mod timer;

use crate::prelude::*;
use ::core::future::Future;
use ::core::pin::Pin;
use wasm_bindgen::JsValue;

/// A future as a JS Promise. Boxed to one type, so the promise machinery is in the
/// module once rather than once per async function (a few KB of wasm).
pub fn promise(task: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> js_sys::Promise {
    let task: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>> = Box::pin(task);
    wasm_bindgen_futures::future_to_promise(task)
}

/// Runs a future in the background, boxed for the same reason as [`promise`].
pub fn spawn(task: impl Future<Output = ()> + 'static) {
    let task: Pin<Box<dyn Future<Output = ()>>> = Box::pin(task);
    wasm_bindgen_futures::spawn_local(task);
}
