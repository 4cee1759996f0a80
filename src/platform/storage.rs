//! Where the verdict is kept for the next page load: Web Storage when the global scope
//! has it and it works; nowhere with `cache.storage: "none"`, or without Web Storage
//! (Node, workers, Safari private mode, a full quota), where the verdict lives only in
//! the running instance's memory (its state machine). Stored as JSON text through the
//! browser's JSON. Reports not yet sent (spec §11) are kept beside it, under a key of
//! their own, or in this instance's memory where Web Storage is not to be had.

use crate::model::cache::Entry;
use crate::model::config::StorageKind;
use crate::model::report::{Episode, SLOTS};
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug)]
pub(crate) struct Store {
    key: String,
    /// None for `cache.storage: "none"`, or without a working Web Storage.
    web: Option<web_sys::Storage>,
    /// The keys of the live episode and of the reports (spec §11): the cache key and
    /// the leader they are about.
    episode_key: String,
    reports_key: String,
    /// What is kept, by key, without Web Storage.
    memory: js_sys::Object,
}

impl Store {
    pub(crate) fn new(kind: StorageKind, key: &str, leader: &str) -> Store {
        let name = match kind {
            StorageKind::Local => Some("localStorage"),
            StorageKind::Session => Some("sessionStorage"),
            StorageKind::None => None,
        };
        Store {
            key: key.to_string(),
            web: name.and_then(super::env::web_storage),
            episode_key: format!("{key}:episode:{leader}"),
            reports_key: format!("{key}:reports:{leader}"),
            memory: js_sys::Object::new(),
        }
    }

    /// The value kept under `key`: parsed from its JSON text in Web Storage.
    fn read(&self, key: &str) -> Option<JsValue> {
        match &self.web {
            Some(web) => js_sys::JSON::parse(&web.get_item(key).ok()??).ok(),
            None => js_sys::Reflect::get(&self.memory, &key.into()).ok(),
        }
    }

    /// Keeps `value` under `key`. A throwing storage (quota, private mode) keeps what it
    /// held: the verdict stays in memory, a report is sent but not kept.
    fn write(&self, key: &str, value: &JsValue) {
        match &self.web {
            Some(web) => {
                let text = js_sys::JSON::stringify(value)
                    .ok()
                    .and_then(|t| t.as_string());
                if let Some(text) = text {
                    let _ = web.set_item(key, &text);
                }
            }
            None => {
                let _ = js_sys::Reflect::set(&self.memory, &key.into(), value);
            }
        }
    }

    /// What another page load or tab left in Web Storage (read only before this instance
    /// has a verdict of its own). Text that is not a verdict reads as none.
    pub(crate) fn load(&self) -> Option<Entry> {
        serde_wasm_bindgen::from_value(self.read(&self.key)?).ok()
    }

    pub(crate) fn save(&self, entry: &Entry) {
        if let Some(value) = super::to_js(entry) {
            self.write(&self.key, &value);
        }
    }

    /// The live episode's row (a JSON array of numbers), when there is a sound one.
    pub(crate) fn episode(&self) -> Option<Episode> {
        let list: js_sys::Array = self.read(&self.episode_key)?.dyn_into().ok()?;
        let mut row = [0.0; SLOTS];
        let mut i = 0;
        for n in &mut row {
            *n = list.get(i).as_f64()?;
            i += 1;
        }
        Episode::read(row).filter(|_| list.length() == i)
    }

    /// Keeps the live episode's row, or `null` when there is none.
    pub(crate) fn set_episode(&self, episode: Option<&Episode>) {
        let list = js_sys::Array::new();
        for n in episode.iter().flat_map(|e| e.row()) {
            list.push(&JsValue::from_f64(*n));
        }
        let value: JsValue = if episode.is_some() {
            list.into()
        } else {
            JsValue::NULL
        };
        self.write(&self.episode_key, &value);
    }

    /// The reports waiting to be sent (their objects), oldest first: read afresh each
    /// time, as every tab of the site keeps them in the one queue, a JSON array (anything
    /// else there reads as none).
    pub(crate) fn reports(&self) -> js_sys::Array {
        let list = self.read(&self.reports_key);
        list.and_then(|l| l.dyn_into().ok()).unwrap_or_default()
    }

    pub(crate) fn set_reports(&self, queue: &js_sys::Array) {
        self.write(&self.reports_key, queue);
    }
}
