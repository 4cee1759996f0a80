//! The caller's `fetch` arguments as a [`Call`]: `init` copied into a plain object with
//! every read guarded, so a throwing getter or a Proxy becomes `INVALID_PATH` naming the
//! field, never an exception escaping the promise.

use super::convert::{error_to_js, string_arg};
use crate::engine::request::Call;
use crate::model::error::RequestError;
use crate::platform::describe;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

#[wasm_bindgen]
extern "C" {
    // Object.assign runs the caller's getters: caught here, unlike js_sys's binding.
    #[wasm_bindgen(js_namespace = Object, js_name = assign, catch)]
    fn assign(target: &js_sys::Object, source: &JsValue) -> Result<InitCopy, JsValue>;
    /// The copy of the caller's `init`: its fields as given (checked below), each read
    /// caught (a setter on `Object.prototype` can leave a getter that throws).
    #[wasm_bindgen(extends = js_sys::Object)]
    type InitCopy;
    #[wasm_bindgen(method, getter, catch)]
    fn method(this: &InitCopy) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter, catch)]
    fn signal(this: &InitCopy) -> Result<JsValue, JsValue>;
    // A signal the proxy can use safely: AbortSignal.any() checks it is a real one, and
    // its reason is the caller's own.
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = any, catch)]
    fn any_signal(signals: &js_sys::Array) -> Result<AbortSignal, JsValue>;
}

pub(crate) fn read_call(path: &JsValue, init: Option<JsValue>) -> Result<Call, RequestError> {
    let path = string_arg("pathOrUrl", path)?;
    // No init: an empty one (a GET without a signal).
    let init = init.filter(|i| !i.is_null_or_undefined());
    let init = init.unwrap_or_else(|| js_sys::Object::new().into());
    if !init.is_object() {
        return Err(RequestError::BadInit {
            field: "init",
            detail: "it must be an object like fetch's RequestInit".into(),
        });
    }
    let bad = |field| {
        move |e: JsValue| RequestError::BadInit {
            field,
            detail: describe(&e),
        }
    };
    let copy = assign(&js_sys::Object::new(), &init).map_err(bad("init"))?;
    let method = copy.method().map_err(bad("init.method"))?;
    let method = if method.is_undefined() || method.is_null() {
        "GET".to_string()
    } else {
        string_arg("init.method", &method)?
    };
    let signal = copy.signal().map_err(bad("init.signal"))?;
    let signal = if signal.is_undefined() || signal.is_null() {
        None
    } else {
        let own = match any_signal(&js_sys::Array::of1(&signal)) {
            Ok(own) => Some(own),
            // Engines without AbortSignal.any(): the caller's own signal, if it is one.
            Err(_) if !has_signal_any() => signal.dyn_ref::<AbortSignal>().cloned(),
            Err(_) => None,
        };
        Some(own.ok_or_else(|| RequestError::BadInit {
            field: "init.signal",
            detail: "it is not an AbortSignal".into(),
        })?)
    };
    Ok(Call {
        path,
        method,
        init: copy.unchecked_into(),
        signal,
        error_to_js,
    })
}

fn has_signal_any() -> bool {
    crate::platform::env::global_property("AbortSignal", "any").is_some_and(|any| any.is_function())
}
