//! Where the verdict is kept: Web Storage when the global scope has it and it works,
//! memory otherwise (Node, workers, Safari private mode, a full quota); nowhere with
//! `cache.storage: "none"`.

use crate::core::config::StorageKind;
use crate::prelude::*;
use ::core::cell::RefCell;

pub struct Store {
    key: String,
    /// False for `cache.storage: "none"`: nothing is kept.
    keep: bool,
    web: Option<web_sys::Storage>,
    memory: RefCell<Option<String>>,
}

impl Store {
    pub fn new(kind: StorageKind, key: &str) -> Store {
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
    /// page load or tab left in Web Storage.
    pub fn load(&self) -> Option<String> {
        if let Some(value) = self.memory.borrow().clone() {
            return Some(value);
        }
        self.web
            .as_ref()
            .and_then(|web| web.get_item(&self.key).ok().flatten())
    }

    pub fn save(&self, value: &str) {
        if !self.keep {
            return;
        }
        if let Some(web) = &self.web {
            // A throwing storage (quota, private mode) leaves the memory copy.
            let _ = web.set_item(&self.key, value);
        }
        *self.memory.borrow_mut() = Some(value.to_string());
    }
}
