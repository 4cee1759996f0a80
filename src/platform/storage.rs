//! Where the verdict is kept: Web Storage when the global scope has it and it works,
//! memory otherwise (Node, workers, Safari private mode, a full quota); nowhere with
//! `cache.storage: "none"`. Stored as JSON text through the browser's JSON.

use crate::model::cache::Entry;
use crate::model::config::StorageKind;
use std::cell::RefCell;

#[derive(Debug)]
pub(crate) struct Store {
    key: String,
    /// False for `cache.storage: "none"`: nothing is kept.
    keep: bool,
    web: Option<web_sys::Storage>,
    memory: RefCell<Option<Entry>>,
}

impl Store {
    pub(crate) fn new(kind: StorageKind, key: &str) -> Store {
        let name = match kind {
            StorageKind::Local => Some("localStorage"),
            StorageKind::Session => Some("sessionStorage"),
            StorageKind::None => None,
        };
        Store {
            key: key.to_string(),
            keep: kind != StorageKind::None,
            web: name.and_then(super::env::web_storage),
            memory: RefCell::new(None),
        }
    }

    /// This instance's own last write first (it is the newest), else what another
    /// page load or tab left in Web Storage. Text that is not a verdict reads as none.
    pub(crate) fn load(&self) -> Option<Entry> {
        if let Some(entry) = self.memory.borrow().clone() {
            return Some(entry);
        }
        let text = self.web.as_ref()?.get_item(&self.key).ok()??;
        let value = js_sys::JSON::parse(&text).ok()?;
        serde_wasm_bindgen::from_value(value).ok()
    }

    pub(crate) fn save(&self, entry: &Entry) {
        if !self.keep {
            return;
        }
        if let Some(web) = &self.web {
            let text = super::to_js(entry)
                .and_then(|v| js_sys::JSON::stringify(&v).ok())
                .and_then(|t| t.as_string());
            if let Some(text) = text {
                // A throwing storage (quota, private mode) leaves the memory copy.
                let _ = web.set_item(&self.key, &text);
            }
        }
        *self.memory.borrow_mut() = Some(entry.clone());
    }
}
