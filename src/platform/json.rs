//! Platform adapter: the model's JSON traits (`health::JsonFields`, `config::ExpectValue`)
//! implemented on values from the browser's `JSON.parse` — a health body that is an
//! object, and `health.expect` in the plain copy of the config.

use crate::model::config::ExpectValue;
use crate::model::health::{JsonFields, Scalar};
use wasm_bindgen::prelude::*;

/// A JSON value from the browser's `JSON.parse`.
pub(crate) struct JsonBody(pub(crate) JsValue);

pub(crate) fn parse_json_object(text: &str) -> Option<JsonBody> {
    let value = js_sys::JSON::parse(text).ok()?;
    (value.is_object() && !js_sys::Array::is_array(&value)).then_some(JsonBody(value))
}

impl ExpectValue for JsonBody {
    fn text(&self) -> Option<String> {
        self.0.as_string()
    }
    fn keys(&self) -> Vec<String> {
        // A value from JSON.parse: no getter or Proxy trap is left to throw.
        js_sys::Object::keys(self.0.unchecked_ref::<js_sys::Object>())
            .iter()
            .filter_map(|k| k.as_string())
            .collect()
    }
}

impl JsonFields for JsonBody {
    fn field(&self, key: &str) -> Option<Scalar> {
        let v = js_sys::Reflect::get(&self.0, &JsValue::from_str(key)).ok()?;
        if v.is_null() {
            Some(Scalar::Null)
        } else if let Some(b) = v.as_bool() {
            Some(Scalar::Flag(b))
        } else if let Some(n) = v.as_f64() {
            Some(Scalar::Number(n))
        } else {
            v.as_string().map(Scalar::Text)
        }
    }
}
