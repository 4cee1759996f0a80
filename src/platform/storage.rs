//! Where the verdict is kept for the next page load: Web Storage when the global scope
//! has it and it works; nowhere with `cache.storage: "none"`, or without Web Storage
//! (Node, workers, Safari private mode, a full quota), where the verdict lives only in
//! the running instance's memory (its state machine). Stored as JSON text through the
//! browser's JSON.

use crate::model::cache::Entry;
use crate::model::config::StorageKind;

#[derive(Debug)]
pub(crate) struct Store {
    key: String,
    /// None for `cache.storage: "none"`, or without a working Web Storage.
    web: Option<web_sys::Storage>,
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
            web: name.and_then(super::env::web_storage),
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
}
