//! Core values to and from JS: Snapshot objects, `HealthProxyError`s, string arguments.

use crate::cat;
use crate::core::{HealthProxyError, Snapshot};
use crate::prelude::*;
use wasm_bindgen::JsValue;

pub fn snapshot_to_js(s: &Snapshot) -> JsValue {
    let object = js_sys::Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), &value);
    };
    let number = |v: Option<f64>| v.map_or(JsValue::NULL, JsValue::from_f64);
    set("state", JsValue::from_str(s.state.as_str()));
    set("leaderLatencyMs", number(s.leader_latency_ms));
    set("checkedAt", number(s.checked_at));
    set("source", JsValue::from_str(s.source.as_str()));
    object.into()
}

/// An `Error` with `name === "HealthProxyError"` and a string `code`.
pub fn error_to_js(e: &HealthProxyError) -> JsValue {
    let error = js_sys::Error::new(&e.message);
    error.set_name("HealthProxyError");
    let _ = js_sys::Reflect::set(
        &error,
        &JsValue::from_str("code"),
        &JsValue::from_str(e.code.as_str()),
    );
    error.into()
}

pub fn string_arg(field: &str, value: &JsValue) -> Result<String, HealthProxyError> {
    value
        .as_string()
        .ok_or_else(|| HealthProxyError::path(cat!(field, " must be a string")))
}
