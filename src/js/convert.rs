//! Core values to and from JS: Snapshot objects, `HealthProxyError`s, string arguments.

use crate::cat;
use crate::prelude::*;

use crate::core::value::Value;
use crate::core::{HealthProxyError, Snapshot};
use wasm_bindgen::{JsCast, JsValue};

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

/// A JS value as the core's JSON-shaped [`Value`]: own enumerable keys, as JSON sees them.
pub fn to_value(v: &JsValue) -> Value {
    to_value_at(v, 0)
}

fn to_value_at(v: &JsValue, depth: u32) -> Value {
    if v.is_undefined() || v.is_null() {
        Value::Null
    } else if let Some(b) = v.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = v.as_f64() {
        Value::Num(n)
    } else if let Some(s) = v.as_string() {
        Value::Str(s)
    } else if depth > 8 {
        // Configs are shallow; this also stops a cyclic object.
        Value::Other("an object nested too deeply")
    } else if js_sys::Array::is_array(v) {
        let list: &js_sys::Array = v.unchecked_ref();
        Value::List(
            list.iter()
                .map(|item| to_value_at(&item, depth + 1))
                .collect(),
        )
    } else if v.is_function() {
        Value::Other("a function")
    } else if v.is_object() {
        let object: &js_sys::Object = v.unchecked_ref();
        let entries = js_sys::Object::keys(object)
            .iter()
            .filter_map(|key| {
                let value = js_sys::Reflect::get(object, &key).ok()?;
                Some((key.as_string()?, to_value_at(&value, depth + 1)))
            })
            .collect();
        Value::Map(entries)
    } else {
        Value::Other("a symbol or bigint")
    }
}
