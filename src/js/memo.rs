//! `resolve()` results kept on the JS side of the boundary: a repeated GET of the same
//! path string returns the URL string already built, without copying either string
//! through wasm memory. Valid for one verdict state; cleared when it changes. A new URL
//! is joined in JS too, from the base's JS string and the caller's own string: decoding
//! a string built in wasm was the largest part of a resolve() (a third, profiled).

use crate::model::plan::Plan;
use crate::model::target::Target;
use crate::model::Config;
use crate::model::State;
use ::core::cell::Cell;
use js_sys::JsString;
use wasm_bindgen::JsValue;

/// The top-level bases as JS strings, made once.
pub struct Bases {
    leader: JsString,
    follower: JsString,
}

impl Bases {
    pub fn new(config: &Config) -> Bases {
        Bases {
            leader: config.leader.as_str().into(),
            follower: config.follower.as_str().into(),
        }
    }

    /// `plan`'s URL at `target`; `path` is the caller's JS string when it is a path, which
    /// goes after a top-level base as given (a URL is re-based, a route's base joined,
    /// in wasm).
    pub fn url(
        &self,
        config: &Config,
        plan: &Plan,
        target: Target,
        path: Option<&JsValue>,
    ) -> JsValue {
        let (base, js) = match target {
            Target::Leader => (&config.leader, &self.leader),
            Target::Follower => (&config.follower, &self.follower),
        };
        match path {
            Some(path) if std::ptr::eq(plan.base(target), base) => js.concat(path).into(),
            _ => plan.url(target).into(),
        }
    }
}

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
