//! Clock, randomness and page facts, read from the global scope.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    // Page, worker and Node alike; one binding, where js_sys::global() tries four.
    #[wasm_bindgen(thread_local_v2, js_name = globalThis)]
    static GLOBAL_THIS: js_sys::Object;
    // Both caught: a scope may lack `reportError` (older engines, some Node versions).
    #[wasm_bindgen(js_name = reportError, catch)]
    fn report_error(error: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = console, js_name = error, catch)]
    fn console_error(error: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(js_namespace = console, js_name = warn, catch)]
    fn console_warn(text: &str) -> Result<(), JsValue>;
}

/// A warning for the developer in the console, where the scope has one.
pub(crate) fn warn(text: &str) {
    let _ = console_warn(text);
}

/// Reports an error thrown by the caller's code (an `onChange` listener) the way the
/// platform reports an uncaught one, without letting it stop the proxy.
pub(crate) fn report(error: &JsValue) {
    if report_error(error).is_err() {
        let _ = console_error(error);
    }
}

/// Epoch milliseconds.
pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A uniform draw in `[0, 1)`, for backoff jitter.
pub(crate) fn random() -> f64 {
    js_sys::Math::random()
}

#[wasm_bindgen]
extern "C" {
    type Crypto;
    /// Throws (caught) where it is missing: outside secure contexts.
    #[wasm_bindgen(method, catch, js_name = randomUUID)]
    fn random_uuid(this: &Crypto) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = getRandomValues)]
    fn get_random_values(this: &Crypto, buf: &mut [u8]) -> Result<JsValue, JsValue>;
}

/// A random UUID for an idempotency key (spec §2): `crypto.randomUUID()`, which only
/// secure contexts have; elsewhere (an `http:` page) the same form from
/// `crypto.getRandomValues()`, which every context has (`Math.random()` only without `crypto`).
pub(crate) fn random_uuid() -> String {
    let crypto = global("crypto").map(JsCast::unchecked_into::<Crypto>);
    let uuid = crypto.as_ref().and_then(|c| c.random_uuid().ok());
    if let Some(uuid) = uuid.and_then(|u| u.as_string()) {
        return uuid;
    }
    let mut bytes = [0u8; 36];
    if crypto.is_none_or(|c| c.get_random_values(&mut bytes).is_err()) {
        for b in &mut bytes {
            *b = (random() * 256.0) as u8;
        }
    }
    let mut uuid = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        let digit = match i {
            8 | 13 | 18 | 23 => {
                uuid.push('-');
                continue;
            }
            14 => 4,
            19 => 8 + u32::from(b & 3),
            _ => u32::from(b & 15),
        };
        uuid.push(char::from_digit(digit, 16).unwrap_or('0'));
    }
    uuid
}

/// A property of `globalThis`, or `None` when it is missing or its getter throws
/// (as `localStorage` does in sandboxed frames).
pub(crate) fn global(name: &str) -> Option<JsValue> {
    GLOBAL_THIS
        .with(|g| js_sys::Reflect::get(g, &JsValue::from_str(name)))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// `globalThis[name][key]`, when `name` is there and reading `key` does not throw.
pub(crate) fn global_property(name: &str, key: &str) -> Option<JsValue> {
    global(name).and_then(|v| js_sys::Reflect::get(&v, &JsValue::from_str(key)).ok())
}

/// `localStorage` or `sessionStorage`, when the global scope has it and lets it be read.
pub(crate) fn web_storage(name: &str) -> Option<web_sys::Storage> {
    global(name).and_then(|v| v.dyn_into::<web_sys::Storage>().ok())
}

/// True when the page (or worker) itself was loaded over https:.
pub(crate) fn page_is_https() -> bool {
    global_property("location", "protocol")
        .and_then(|p| p.as_string())
        .is_some_and(|p| p == "https:")
}
