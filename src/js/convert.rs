//! JS values to and from the model's types: the config (checked by the schema walk, read
//! by serde but for its one free-form JSON value, `health.expect`), Snapshots,
//! `HealthProxyError`s, string arguments.

use crate::model::config::ConfigInput;
use crate::model::error::{ConfigError, RequestError};
use crate::model::schema::{self, Seen, Shape};
use crate::model::{Config, ErrorCode, HealthProxyError, Snapshot};
use crate::platform::json::JsonBody;
use crate::platform::{describe, env, to_js, ErrorObject};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    // A HealthProxyError's own fields (they are in health_proxy.d.ts).
    #[wasm_bindgen(method, setter)]
    fn set_code(this: &ErrorObject, code: &str);
    #[wasm_bindgen(method, setter = idempotencyKey)]
    fn set_idempotency_key(this: &ErrorObject, key: &JsValue);
    // js_sys's Object.keys would let a throwing Proxy trap escape.
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn object_keys(object: &JsValue) -> Result<js_sys::Array, JsValue>;
    /// The plain JSON copy of the config, or its `health` (when it is not an object, the
    /// read throws: caught).
    type PlainConfig;
    #[wasm_bindgen(method, getter, catch)]
    fn health(this: &PlainConfig) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter = expect, catch)]
    fn expected(this: &PlainConfig) -> Result<JsValue, JsValue>;
    // An array may be a Proxy whose trap throws: js_sys's `length` would let it escape.
    type ConfigArray;
    #[wasm_bindgen(method, getter, catch)]
    fn length(this: &ConfigArray) -> Result<JsValue, JsValue>;
}

/// The caller's config object, read once, every read guarded.
struct ConfigValue(JsValue);

impl Shape for ConfigValue {
    fn seen(&self) -> Seen {
        let v = &self.0;
        if v.is_undefined() || v.is_null() {
            Seen::Absent
        } else if v.as_bool().is_some() {
            Seen::Flag
        } else if let Some(n) = v.as_f64() {
            Seen::Number(n)
        } else if v.is_string() {
            Seen::Text
        } else if js_sys::Array::is_array(v) {
            let len = v
                .unchecked_ref::<ConfigArray>()
                .length()
                .ok()
                .and_then(|l| l.as_f64())
                .unwrap_or(0.0);
            Seen::List(len as u32)
        } else if v.is_function() {
            Seen::Other("a function")
        } else if v.is_object() {
            Seen::Object
        } else {
            Seen::Other("a symbol or bigint")
        }
    }

    fn keys(&self) -> Result<Vec<String>, String> {
        let keys = object_keys(&self.0).map_err(|e| describe(&e))?;
        Ok(keys.iter().filter_map(|k| k.as_string()).collect())
    }

    fn get(&self, key: &str) -> Result<Self, String> {
        js_sys::Reflect::get(&self.0, &JsValue::from_str(key))
            .map(ConfigValue)
            .map_err(|e| describe(&e))
    }

    fn item(&self, index: u32) -> Result<Self, String> {
        js_sys::Reflect::get_u32(&self.0, index)
            .map(ConfigValue)
            .map_err(|e| describe(&e))
    }
}

/// Validates the caller's config: the schema walk names any unknown key or wrong value;
/// then a plain JSON copy (no getters or traps left to run) is walked again and read by
/// serde: `JSON.stringify` ran the getters a second time, and the copy is what is used.
pub(crate) fn config_from_js(value: JsValue) -> Result<Config, HealthProxyError> {
    schema::check(&ConfigValue(value.clone()))?;
    let unreadable = |detail: String| ConfigError::Unreadable {
        field: "config".into(),
        detail,
    };
    let text = js_sys::JSON::stringify(&value).map_err(|e| unreadable(describe(&e)))?;
    let plain = js_sys::JSON::parse(&String::from(text)).map_err(|e| unreadable(describe(&e)))?;
    schema::check(&ConfigValue(plain.clone()))?;
    let expect = plain
        .unchecked_ref::<PlainConfig>()
        .health()
        .and_then(|h| h.unchecked_into::<PlainConfig>().expected())
        .ok()
        .filter(|e| !e.is_undefined() && !e.is_null())
        .map(JsonBody);
    let mut input: ConfigInput =
        serde_wasm_bindgen::from_value(plain).map_err(|e| unreadable(e.to_string()))?;
    input.put_expect(expect.as_ref());
    Ok(Config::from_input(input, env::page_is_https())?)
}

pub(crate) fn snapshot_to_js(s: &Snapshot) -> JsValue {
    to_js(s).unwrap_or(JsValue::NULL)
}

pub(crate) fn string_arg(field: &'static str, value: &JsValue) -> Result<String, RequestError> {
    value.as_string().ok_or(RequestError::NotAString { field })
}

/// An `Error` with `name === "HealthProxyError"`, a string `code` and, for
/// `OUTCOME_UNKNOWN`, the `idempotencyKey` the write carried (or `null`).
pub(crate) fn error_to_js(e: &HealthProxyError) -> JsValue {
    let error: ErrorObject = js_sys::Error::new(&e.message).unchecked_into();
    error.set_name("HealthProxyError");
    error.set_code(e.code.as_str());
    if e.code == ErrorCode::OutcomeUnknown {
        // `null`, not `undefined`, for a write that carried none.
        let key = e.idempotency_key.as_deref();
        error.set_idempotency_key(&key.map_or(JsValue::NULL, JsValue::from_str));
    }
    error.into()
}
