//! JSON for the core: a JS value, or stored text through `JSON.parse`, as the core's
//! [`Value`] (the browser's parser rather than one compiled into the wasm).

use crate::core::value::Value;
use wasm_bindgen::{JsCast, JsValue};

/// Stored or received text as a [`Value`]; `None` if it is not JSON.
pub fn parse(text: &str) -> Option<Value> {
    js_sys::JSON::parse(text).ok().map(|v| to_value(&v))
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
