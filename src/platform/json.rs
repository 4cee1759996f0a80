//! Platform adapter: the model's JSON traits (`health::JsonFields`, `config::ExpectValue`)
//! implemented on values from the browser's `JSON.parse` — a health body that is an
//! object, and `health.expect` in the plain copy of the config — and the cached verdict as
//! the plain object kept in Web Storage and posted to other tabs.

use crate::model::cache::Entry;
use crate::model::config::ExpectValue;
use crate::model::health::{JsonFields, Scalar};
use crate::model::report::{Episode, SLOTS};
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

/// A cached verdict or another tab's, from its plain object: serde reads the verdict; the
/// live episode's row (spec §11) is read here from the array `ep` (`model::cache`).
pub(crate) fn entry_from_js(value: &JsValue) -> Option<Entry> {
    let mut entry: Entry = serde_wasm_bindgen::from_value(value.clone()).ok()?;
    entry.set_episode(episode_from_js(value));
    Some(entry)
}

fn episode_from_js(value: &JsValue) -> Option<Episode> {
    let ep = js_sys::Reflect::get(value, &JsValue::from_str("ep")).ok()?;
    let ep: js_sys::Array = ep.dyn_into().ok()?;
    let mut row = [0.0; SLOTS];
    let mut i = 0;
    for n in &mut row {
        *n = ep.get(i).as_f64()?;
        i += 1;
    }
    Episode::read(row).filter(|_| ep.length() == i)
}

/// The plain object of [`entry_from_js`].
pub(crate) fn entry_to_js(entry: &Entry) -> Option<JsValue> {
    let value = super::to_js(entry)?;
    if let Some(e) = entry.episode() {
        let ep = js_sys::Array::new();
        for n in e.row() {
            ep.push(&JsValue::from_f64(*n));
        }
        let _ = js_sys::Reflect::set(&value, &JsValue::from_str("ep"), &ep);
    }
    Some(value)
}
