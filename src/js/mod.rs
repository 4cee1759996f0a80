//! The `#[wasm_bindgen]` surface of spec §4: converts JS values to the core's types and
//! errors back to JS, and delegates everything else to the engine.

use crate::prelude::*;

mod convert;
mod memo;
mod types;

use crate::core::routing::Target;
use crate::core::{Config, HealthProxyError};
use crate::engine::{Engine, Failure};
use crate::platform::env;
use crate::platform::json::to_value;
use crate::platform::promise;
use convert::{error_to_js, snapshot_to_js, string_arg};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct HealthProxy {
    engine: Engine,
    memo: memo::Memo,
    /// The bases as JS strings, to build URLs without copying strings out of wasm.
    leader: js_sys::JsString,
    follower: js_sys::JsString,
}

#[wasm_bindgen]
impl HealthProxy {
    /// Validates the whole config; throws `HealthProxyError` `INVALID_CONFIG` naming the field.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "HealthProxyConfig")] config: JsValue,
    ) -> Result<HealthProxy, JsValue> {
        let config = Config::from_value(&to_value(&config), env::page_is_https())
            .map_err(|e| error_to_js(&e))?;
        Ok(HealthProxy {
            leader: js_sys::JsString::from(config.leader.as_str()),
            follower: js_sys::JsString::from(config.follower.as_str()),
            engine: Engine::new(config),
            memo: memo::Memo::new(),
        })
    }

    /// Resolves with a Snapshot once a verdict exists; never rejects because a server is down.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot>")]
    pub fn start(&self) -> js_sys::Promise {
        let engine = self.engine.clone();
        promise(async move { Ok(snapshot_to_js(&engine.start().await)) })
    }

    /// Ends timers, listeners and in-flight probes; idempotent.
    pub fn stop(&self) {
        self.engine.stop();
    }

    #[wasm_bindgen(getter, unchecked_return_type = "State")]
    pub fn state(&self) -> String {
        self.engine.state().as_str().to_string()
    }

    #[wasm_bindgen(unchecked_return_type = "Snapshot")]
    pub fn snapshot(&self) -> JsValue {
        snapshot_to_js(&self.engine.snapshot())
    }

    /// The absolute URL this request goes to now; throws when it would be refused.
    #[wasm_bindgen(unchecked_return_type = "string")]
    pub fn resolve(
        &self,
        #[wasm_bindgen(js_name = pathOrUrl, unchecked_param_type = "string")] path_or_url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] method: JsValue,
    ) -> Result<JsValue, JsValue> {
        self.url(&path_or_url, &method).map_err(|e| error_to_js(&e))
    }

    /// True exactly when `resolve` would not throw.
    #[wasm_bindgen(js_name = canServe)]
    pub fn can_serve(
        &self,
        #[wasm_bindgen(js_name = pathOrUrl, unchecked_param_type = "string")] path_or_url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] method: JsValue,
    ) -> bool {
        // No JS Error is built for a refusal here: templates call this on every check.
        self.url(&path_or_url, &method).is_ok()
    }

    /// `fetch` routed by the verdict; rejects with `HealthProxyError` (or the caller's
    /// own abort reason).
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        #[wasm_bindgen(js_name = pathOrUrl, unchecked_param_type = "string")] path_or_url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RequestInit | undefined")] init: JsValue,
    ) -> js_sys::Promise {
        let engine = self.engine.clone();
        promise(async move {
            let path = string_arg("pathOrUrl", &path_or_url).map_err(|e| error_to_js(&e))?;
            match engine.fetch(&path, &init).await {
                Ok(response) => Ok(response.into()),
                Err(Failure::Proxy(e)) => Err(error_to_js(&e)),
                Err(Failure::Js(e)) => Err(e),
            }
        })
    }

    /// Probes now; concurrent calls share one probe.
    #[wasm_bindgen(js_name = checkNow, unchecked_return_type = "Promise<Snapshot>")]
    pub fn check_now(&self) -> js_sys::Promise {
        let engine = self.engine.clone();
        promise(async move { Ok(snapshot_to_js(&engine.check_now().await)) })
    }

    /// Calls `listener` with a Snapshot on every state change; returns an unsubscribe function.
    #[wasm_bindgen(js_name = onChange, unchecked_return_type = "() => void")]
    pub fn on_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(snapshot: Snapshot) => void")]
        listener: js_sys::Function,
    ) -> JsValue {
        let id = self.engine.on_change(move |snapshot| {
            // A throwing listener must not break routing or the other listeners.
            let _ = listener.call1(&JsValue::NULL, &snapshot_to_js(snapshot));
        });
        let engine = self.engine.clone();
        Closure::<dyn FnMut()>::new(move || engine.off(id)).into_js_value()
    }
}

impl HealthProxy {
    fn url(&self, path_or_url: &JsValue, method: &JsValue) -> Result<JsValue, HealthProxyError> {
        // Only the default method is memoised: checking another would copy its string.
        let memoised = method.is_undefined() && path_or_url.is_string();
        let state = self.engine.state();
        if memoised {
            if let Some(url) = self.memo.get(path_or_url, state) {
                return Ok(url);
            }
        }
        let path = string_arg("pathOrUrl", path_or_url)?;
        let method = method_arg(method)?;
        let routed = self
            .engine
            .route(&path, method.as_deref().unwrap_or("GET"))?;
        let url = match routed.url {
            Some(url) => JsValue::from(url),
            None => {
                let base = match routed.target {
                    Target::Leader => &self.leader,
                    Target::Follower => &self.follower,
                };
                base.concat(path_or_url).into()
            }
        };
        if memoised {
            self.memo.put(path_or_url, &url);
        }
        Ok(url)
    }
}

impl Drop for HealthProxy {
    // `free()` from JS: nothing of this proxy may keep running.
    fn drop(&mut self) {
        self.engine.stop();
    }
}

/// The method given, or `None` for the default GET.
fn method_arg(method: &JsValue) -> Result<Option<String>, HealthProxyError> {
    if method.is_undefined() || method.is_null() {
        Ok(None)
    } else {
        string_arg("method", method).map(Some)
    }
}
