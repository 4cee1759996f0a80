//! The `#[wasm_bindgen]` surface of spec §4: converts JS values to the model's types and
//! errors back to JS, and delegates everything else to the engine.

mod convert;
mod init;
mod memo;
mod types;

use crate::engine::request::{self, Failure};
use crate::engine::{Engine, Via};
use crate::model::plan::Plan;
use crate::model::policy::{self, Decision};
use crate::model::target::Target;
use crate::model::{ErrorCode, HealthProxyError, Source};
use crate::platform::promise;
use convert::{config_from_js, error_to_js, snapshot_to_js, string_arg};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct HealthProxy {
    engine: Engine,
    memo: memo::Memo,
    bases: memo::Bases,
}

#[wasm_bindgen]
impl HealthProxy {
    /// Validates the whole config; throws `HealthProxyError` `INVALID_CONFIG` naming the field.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "HealthProxyConfig")] config: JsValue,
    ) -> Result<HealthProxy, JsValue> {
        let config = config_from_js(config).map_err(|e| error_to_js(&e))?;
        let engine = Engine::new(config);
        Ok(HealthProxy {
            bases: memo::Bases::new(engine.config()),
            engine,
            memo: memo::Memo::new(),
        })
    }

    /// Resolves with a Snapshot once a verdict exists; never rejects because a server is down.
    #[wasm_bindgen(unchecked_return_type = "Promise<Snapshot>")]
    pub fn start(&self) -> js_sys::Promise {
        let engine = self.engine.clone();
        promise(async move { Ok(snapshot_to_js(&engine.start().await)) })
    }

    /// Ends timers, listeners and in-flight probes; idempotent. `onChange` subscriptions
    /// stay for a later `start()`.
    pub fn stop(&self) {
        self.engine.stop();
    }

    // A JsValue, not a String: no copy into wasm memory and back for the glue to decode.
    #[wasm_bindgen(getter, unchecked_return_type = "State")]
    pub fn state(&self) -> JsValue {
        JsValue::from_str(self.engine.state().as_str())
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
        #[wasm_bindgen(unchecked_optional_param_type = "string")] method: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        self.url(&path_or_url, method.as_ref())
            .map_err(|e| error_to_js(&e))
    }

    /// True exactly when `resolve` would not throw.
    #[wasm_bindgen(js_name = canServe)]
    pub fn can_serve(
        &self,
        #[wasm_bindgen(js_name = pathOrUrl, unchecked_param_type = "string")] path_or_url: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] method: Option<JsValue>,
    ) -> bool {
        // No JS Error is built for a refusal here: templates call this on every check.
        self.url(&path_or_url, method.as_ref()).is_ok()
    }

    /// Which side served `url` (a response's `url`, say): `"leader"` or `"follower"` when it
    /// lies under one of that side's configured bases, a route's own included (scheme and
    /// host in any case, the longest base first); `null` for anything else.
    #[wasm_bindgen(unchecked_return_type = "\"leader\" | \"follower\" | null")]
    pub fn side(&self, #[wasm_bindgen(unchecked_param_type = "string")] url: JsValue) -> JsValue {
        match url.as_string().and_then(|u| self.engine.config().side(&u)) {
            Some(Target::Leader) => JsValue::from_str("leader"),
            Some(Target::Follower) => JsValue::from_str("follower"),
            None => JsValue::NULL,
        }
    }

    /// `fetch` routed by the verdict; rejects with `HealthProxyError` (or the caller's
    /// own abort reason).
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        #[wasm_bindgen(js_name = pathOrUrl, unchecked_param_type = "string")] path_or_url: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "RequestInit")] init: Option<JsValue>,
    ) -> js_sys::Promise {
        let engine = self.engine.clone();
        promise(async move {
            let call = init::read_call(&path_or_url, init)
                .map_err(|e| error_to_js(&HealthProxyError::from(e)))?;
            match request::fetch(&engine, &call).await {
                Ok(response) => Ok(response),
                Err(Failure::Proxy(e)) => Err(error_to_js(&e)),
                Err(Failure::CallerAbort(e)) => Err(e),
            }
        })
    }

    /// Probes now; concurrent calls share one probe.
    #[wasm_bindgen(js_name = checkNow, unchecked_return_type = "Promise<Snapshot>")]
    pub fn check_now(&self) -> js_sys::Promise {
        let (engine, via) = (self.engine.clone(), Via::Round(Source::Probe));
        promise(async move { Ok(snapshot_to_js(&engine.verdict(via).await)) })
    }

    /// Calls `listener` with a Snapshot on every state change; returns an unsubscribe function.
    #[wasm_bindgen(js_name = onChange, unchecked_return_type = "() => void")]
    pub fn on_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(snapshot: Snapshot) => void")]
        listener: js_sys::Function,
    ) -> JsValue {
        let id = self.engine.on_change(move |snapshot| {
            // A throwing listener must not break routing or the other listeners, nor
            // go unseen.
            if let Err(e) = listener.call1(&JsValue::NULL, &snapshot_to_js(snapshot)) {
                crate::platform::env::report(&e);
            }
        });
        let engine = self.engine.clone();
        Closure::<dyn FnMut()>::new(move || engine.off(id)).into_js_value()
    }
}

impl HealthProxy {
    fn url(
        &self,
        path_or_url: &JsValue,
        method: Option<&JsValue>,
    ) -> Result<JsValue, HealthProxyError> {
        let method = method.filter(|m| !m.is_undefined() && !m.is_null());
        // Only the default method is memoised: checking another would copy its string.
        let memoised = method.is_none() && path_or_url.is_string();
        let state = self.engine.state();
        if memoised {
            if let Some(url) = self.memo.get(path_or_url, state) {
                return Ok(url);
            }
        }
        let path = string_arg("pathOrUrl", path_or_url)?;
        let given;
        let method = match method {
            Some(m) => {
                given = string_arg("method", m)?;
                given.as_str()
            }
            None => "GET",
        };
        let plan = Plan::new(self.engine.config(), &path, method)?;
        let url = match policy::table(state, plan.read, plan.critical) {
            Decision::Send(target) => self.bases.url(
                self.engine.config(),
                &plan,
                target,
                path.starts_with('/').then_some(path_or_url),
            ),
            Decision::Wait => return Err(plan.refusal(ErrorCode::NotReady, method)),
            Decision::Refuse(code) => return Err(plan.refusal(code, method)),
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
