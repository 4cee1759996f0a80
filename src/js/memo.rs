//! `resolve()` results kept on the JS side of the boundary: a repeated GET of the same
//! path string returns the URL string already built, without copying either string
//! through wasm memory. Valid for one verdict state; cleared when it changes.

use crate::model::State;
use ::core::cell::Cell;
use wasm_bindgen::JsValue;

/// Enough for the handful of API paths a page resolves over and over.
const CAPACITY: u32 = 64;

pub struct Memo {
    urls: js_sys::Map,
    /// Counted here: asking the Map would be one more call across the boundary.
    len: Cell<u32>,
    state: Cell<State>,
}

impl Memo {
    pub fn new() -> Memo {
        Memo {
            urls: js_sys::Map::new(),
            len: Cell::new(0),
            state: Cell::new(State::Unknown),
        }
    }

    /// The URL resolved earlier for `path` (a JS string) in `state`.
    pub fn get(&self, path: &JsValue, state: State) -> Option<JsValue> {
        if self.state.replace(state) != state {
            self.clear();
            return None;
        }
        Some(self.urls.get(path)).filter(|url| !url.is_undefined())
    }

    pub fn put(&self, path: &JsValue, url: &JsValue) {
        if self.len.get() >= CAPACITY {
            self.clear();
        }
        self.len.set(self.len.get() + 1);
        self.urls.set(path, url);
    }

    fn clear(&self) {
        self.urls.clear();
        self.len.set(0);
    }
}
