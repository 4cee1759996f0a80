//! Where the verdict is kept for the next page load: Web Storage when the global scope
//! has it and it works; nowhere with `cache.storage: "none"`, or without Web Storage
//! (Node, workers, Safari private mode, a full quota), where the verdict lives only in
//! the running instance's memory (its state machine). Stored as JSON text through the
//! browser's JSON. Reports not yet sent (spec §11) are kept beside it, under a key of
//! their own, or in this instance's memory where Web Storage is not to be had.

use crate::model::cache::Entry;
use crate::model::config::StorageKind;
use std::cell::RefCell;
use wasm_bindgen::JsValue;

#[derive(Debug)]
pub(crate) struct Store {
    key: String,
    /// None for `cache.storage: "none"`, or without a working Web Storage.
    web: Option<web_sys::Storage>,
    /// The reports' key: the cache key and the leader they are about.
    reports_key: String,
    /// The reports' storage, until a write to it fails; then `memory` holds them.
    reports_web: RefCell<Option<web_sys::Storage>>,
    memory: RefCell<Vec<String>>,
}

impl Store {
    pub(crate) fn new(kind: StorageKind, key: &str, leader: &str) -> Store {
        let name = match kind {
            StorageKind::Local => Some("localStorage"),
            StorageKind::Session => Some("sessionStorage"),
            StorageKind::None => None,
        };
        let web = name.and_then(super::env::web_storage);
        Store {
            key: key.to_string(),
            reports_key: format!("{key}:reports:{leader}"),
            reports_web: RefCell::new(web.clone()),
            web,
            memory: RefCell::new(Vec::new()),
        }
    }

    /// What another page load or tab left in Web Storage (read only before this instance
    /// has a verdict of its own). Text that is not a verdict reads as none.
    pub(crate) fn load(&self) -> Option<Entry> {
        let text = self.web.as_ref()?.get_item(&self.key).ok()??;
        let value = js_sys::JSON::parse(&text).ok()?;
        serde_wasm_bindgen::from_value(value).ok()
    }

    pub(crate) fn save(&self, entry: &Entry) {
        if let Some(web) = &self.web {
            let text = super::to_js(entry)
                .and_then(|v| js_sys::JSON::stringify(&v).ok())
                .and_then(|t| t.as_string());
            if let Some(text) = text {
                // A throwing storage (quota, private mode): the verdict stays in memory.
                let _ = web.set_item(&self.key, &text);
            }
        }
    }

    /// The reports waiting to be sent (their JSON texts), oldest first: read afresh each
    /// time, as every tab of the site keeps them in the one queue. Kept as a JSON array of
    /// those texts; anything else there reads as none.
    pub(crate) fn reports(&self) -> Vec<String> {
        let Some(web) = &*self.reports_web.borrow() else {
            return self.memory.borrow().clone();
        };
        let mut queue = Vec::new();
        let text = web.get_item(&self.reports_key).ok().flatten();
        if let Some(list) = text.and_then(|t| js_sys::JSON::parse(&t).ok()) {
            if js_sys::Array::is_array(&list) {
                for item in js_sys::Array::from(&list) {
                    if let Some(report) = item.as_string() {
                        queue.push(report);
                    }
                }
            }
        }
        queue
    }

    pub(crate) fn set_reports(&self, queue: Vec<String>) {
        let mut web = self.reports_web.borrow_mut();
        if let Some(storage) = &*web {
            let list = js_sys::Array::new();
            for report in &queue {
                list.push(&JsValue::from_str(report));
            }
            let text = js_sys::JSON::stringify(&list)
                .ok()
                .and_then(|t| t.as_string());
            if text.is_some_and(|t| storage.set_item(&self.reports_key, &t).is_ok()) {
                return;
            }
            // A throwing storage (quota): this instance keeps them in memory from now on.
            *web = None;
        }
        *self.memory.borrow_mut() = queue;
    }
}
