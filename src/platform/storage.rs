//! Where the verdict is kept for the next page load: Web Storage when the global scope
//! has it and it works; nowhere with `cache.storage: "none"`, or without Web Storage
//! (Node, workers, Safari private mode, a full quota), where the verdict lives only in
//! the running instance's memory (its state machine). Stored as JSON text through the
//! browser's JSON. Reports not yet sent (spec §11) are kept beside it, under a key of
//! their own, or in this instance's memory where Web Storage is not to be had.

use crate::model::cache::Entry;
use crate::model::config::StorageKind;
use crate::model::report::{Episode, SLOTS};
use std::cell::{Cell, RefCell};
use wasm_bindgen::JsCast;

#[derive(Debug)]
pub(crate) struct Store {
    key: String,
    /// None for `cache.storage: "none"`, or without a working Web Storage.
    web: Option<web_sys::Storage>,
    /// The keys of the live episode and of the reports (spec §11): the cache key and
    /// the leader they are about.
    episode_key: String,
    reports_key: String,
    /// Both, without Web Storage.
    episode: Cell<Option<Episode>>,
    memory: RefCell<js_sys::Array>,
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
            episode_key: format!("{key}:episode:{leader}"),
            reports_key: format!("{key}:reports:{leader}"),
            episode: Cell::new(None),
            web,
            memory: RefCell::new(js_sys::Array::new()),
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

    /// The live episode's row (a JSON array of numbers), when there is a sound one.
    pub(crate) fn episode(&self) -> Option<Episode> {
        let Some(web) = &self.web else {
            return self.episode.get();
        };
        let text = web.get_item(&self.episode_key).ok()??;
        let list: js_sys::Array = js_sys::JSON::parse(&text).ok()?.dyn_into().ok()?;
        let mut row = [0.0; SLOTS];
        let mut i = 0;
        for n in &mut row {
            *n = list.get(i).as_f64()?;
            i += 1;
        }
        Episode::read(row).filter(|_| list.length() == i)
    }

    pub(crate) fn set_episode(&self, episode: Option<&Episode>) {
        let Some(web) = &self.web else {
            return self.episode.set(episode.copied());
        };
        let _ = match episode {
            Some(e) => {
                let list = js_sys::Array::new();
                for n in e.row() {
                    list.push(&wasm_bindgen::JsValue::from_f64(*n));
                }
                let text = js_sys::JSON::stringify(&list).map(String::from);
                text.and_then(|t| web.set_item(&self.episode_key, &t))
            }
            None => web.remove_item(&self.episode_key),
        };
    }

    /// The reports waiting to be sent (their objects), oldest first: read afresh each
    /// time, as every tab of the site keeps them in the one queue, a JSON array (anything
    /// else there reads as none).
    pub(crate) fn reports(&self) -> js_sys::Array {
        let Some(web) = &self.web else {
            return self.memory.borrow().clone();
        };
        let text = web.get_item(&self.reports_key).ok().flatten();
        let list = text.and_then(|t| js_sys::JSON::parse(&t).ok());
        list.and_then(|l| l.dyn_into().ok()).unwrap_or_default()
    }

    /// Keeps `queue`; a throwing storage (quota) keeps what it held.
    pub(crate) fn set_reports(&self, queue: js_sys::Array) {
        match &self.web {
            Some(web) => {
                if let Some(text) = js_sys::JSON::stringify(&queue)
                    .ok()
                    .and_then(|t| t.as_string())
                {
                    let _ = web.set_item(&self.reports_key, &text);
                }
            }
            None => *self.memory.borrow_mut() = queue,
        }
    }
}
