//! Shared by the wasm test suites: the simulator's addresses and control API, configs,
//! and small async helpers. The simulator (`tests/hub-sim`) must be running.
#![allow(dead_code)]

use health_proxy::HealthProxy;
use js_sys::{Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

pub const LEADER: &str = "http://127.0.0.1:18081";
pub const FOLLOWER: &str = "http://127.0.0.1:18082";
pub const CONTROL: &str = "http://127.0.0.1:18083";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(url: &str, init: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function, ms: i32) -> JsValue;
}

/// POSTs to the simulator's control API (a CORS simple request) and returns its JSON.
pub async fn control(path: &str) -> JsValue {
    let init = JSON::parse(r#"{"method":"POST"}"#).unwrap();
    let response: web_sys::Response =
        JsFuture::from(global_fetch(&format!("{CONTROL}{path}"), &init))
            .await
            .expect("the simulator is not running")
            .into();
    assert!(response.ok(), "control {path}: {}", response.status());
    JsFuture::from(response.json().unwrap()).await.unwrap()
}

pub async fn reset() {
    control("/reset").await;
}

pub async fn leader_mode(mode: &str) {
    control(&format!("/leader/{mode}")).await;
}

pub async fn follower_mode(mode: &str) {
    control(&format!("/follower/{mode}")).await;
}

/// The simulator's counters.
pub struct Stats(JsValue);

impl Stats {
    pub fn n(&self, dotted: &str) -> f64 {
        let mut v = self.0.clone();
        for key in dotted.split('.') {
            v = Reflect::get(&v, &key.into()).unwrap();
        }
        v.as_f64()
            .unwrap_or_else(|| panic!("stats {dotted} is not a number"))
    }

    pub fn get(&self, dotted: &str) -> JsValue {
        let mut v = self.0.clone();
        for key in dotted.split('.') {
            v = Reflect::get(&v, &key.into()).unwrap();
        }
        v
    }
}

pub async fn stats() -> Stats {
    let init = JSON::parse(r#"{"cache":"no-store"}"#).unwrap();
    let response: web_sys::Response =
        JsFuture::from(global_fetch(&format!("{CONTROL}/stats"), &init))
            .await
            .unwrap()
            .into();
    Stats(JsFuture::from(response.json().unwrap()).await.unwrap())
}

pub async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    JsFuture::from(p).await.unwrap();
}

/// How `promise` settled within `ms`: `None` if it had not by then. A test that waits on
/// something the library must end (a deadline) fails on time instead of hanging the suite.
pub async fn within(ms: i32, promise: Promise) -> Option<Result<JsValue, JsValue>> {
    let race: js_sys::Function = js(
        "(p, ms) => Promise.race([p.then((v) => ({ v }), (e) => ({ e })), new Promise((r) => setTimeout(() => r(null), ms))])",
    )
    .unchecked_into();
    let outcome = JsFuture::from(Promise::from(
        race.call2(&JsValue::NULL, &promise, &JsValue::from(ms))
            .unwrap(),
    ))
    .await
    .unwrap();
    if outcome.is_null() {
        return None;
    }
    let error = js_sys::Reflect::get(&outcome, &"e".into()).unwrap();
    Some(if js_sys::Reflect::has(&outcome, &"e".into()).unwrap() {
        Err(error)
    } else {
        Ok(js_sys::Reflect::get(&outcome, &"v".into()).unwrap())
    })
}

pub fn now() -> f64 {
    js_sys::Date::now()
}

const BASE: &str = r#"{
  "leader": "http://127.0.0.1:18081",
  "follower": "http://127.0.0.1:18082",
  "health": {"timeoutMs": 400, "intervalMs": 60000, "expect": "\"status\":\"ok\""},
  "requestTimeoutMs": 800,
  "routes": [
    {"prefix": "/api/pages", "critical": true},
    {"prefix": "/api/files", "critical": true},
    {"prefix": "/api/echo", "critical": true},
    {"prefix": "/api/slow", "critical": true},
    {"prefix": "/api/hub", "critical": false}
  ],
  "hysteresis": {"successesToUp": 2},
  "cache": {"storage": "none"}
}"#;

/// The test config, with `overrides` (JSON) merged in key by key. Unless they name a
/// `cache.key`, each proxy gets its own, so a proxy a failed test left running can never
/// share its verdict with the next test's (tabs of one key share verdicts, spec §6).
pub fn config(overrides: &str) -> JsValue {
    thread_local!(static NEXT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    let base = JSON::parse(BASE).unwrap();
    let extra = JSON::parse(overrides).unwrap();
    merge(&base, &extra);
    let cache = Reflect::get(&base, &"cache".into()).unwrap();
    if Reflect::get(&cache, &"key".into()).unwrap().is_undefined() {
        let n = NEXT.with(|c| c.replace(c.get() + 1));
        let key = format!("test-{}-{n}", js_sys::Math::random());
        Reflect::set(&cache, &"key".into(), &key.into()).unwrap();
    }
    base
}

fn merge(into: &JsValue, from: &JsValue) {
    let keys = js_sys::Object::keys(from.unchecked_ref::<js_sys::Object>());
    for key in keys.iter() {
        let value = Reflect::get(from, &key).unwrap();
        let current = Reflect::get(into, &key).unwrap();
        if value.is_object() && !js_sys::Array::is_array(&value) && current.is_object() {
            merge(&current, &value);
        } else {
            Reflect::set(into, &key, &value).unwrap();
        }
    }
}

pub fn proxy(overrides: &str) -> HealthProxy {
    HealthProxy::new(config(overrides)).unwrap_or_else(|e| panic!("config refused: {e:?}"))
}

pub async fn start(p: &HealthProxy) -> JsValue {
    JsFuture::from(p.start()).await.unwrap()
}

pub async fn check(p: &HealthProxy) -> JsValue {
    JsFuture::from(p.check_now()).await.unwrap()
}

pub fn field(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).unwrap()
}

pub fn text(v: &JsValue, key: &str) -> String {
    field(v, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

/// `proxy.fetch` → the response, or panics with the error.
pub async fn fetch_ok(
    p: &HealthProxy,
    path: &str,
    init: impl Into<Option<JsValue>>,
) -> web_sys::Response {
    match JsFuture::from(p.fetch(path.into(), init.into())).await {
        Ok(r) => r.into(),
        Err(e) => panic!("fetch {path} failed: {}", message(&e)),
    }
}

/// `proxy.fetch` → the rejection; panics if it resolved.
pub async fn fetch_err(p: &HealthProxy, path: &str, init: impl Into<Option<JsValue>>) -> JsValue {
    match JsFuture::from(p.fetch(path.into(), init.into())).await {
        Ok(r) => {
            let r: web_sys::Response = r.into();
            panic!(
                "fetch {path} should have failed, got {} from {}",
                r.status(),
                r.url()
            )
        }
        Err(e) => e,
    }
}

/// The `code` of a HealthProxyError, checking its shape on the way.
pub fn code(e: &JsValue) -> String {
    assert!(e.is_instance_of::<js_sys::Error>(), "not an Error: {e:?}");
    assert_eq!(text(e, "name"), "HealthProxyError", "{e:?}");
    assert!(!text(e, "message").is_empty());
    text(e, "code")
}

pub fn message(e: &JsValue) -> String {
    field(e, "message")
        .as_string()
        .unwrap_or_else(|| format!("{e:?}"))
}

pub async fn json(r: web_sys::Response) -> JsValue {
    JsFuture::from(r.json().unwrap()).await.unwrap()
}

pub fn init(json: &str) -> JsValue {
    JSON::parse(json).unwrap()
}

pub fn state(p: &HealthProxy) -> String {
    // The getter hands JS a string value (JsValue), as JS sees it.
    p.state().as_string().unwrap_or_default()
}

/// A JS value built from an expression (hostile objects, Proxies, odd abort reasons).
pub fn js(expr: &str) -> JsValue {
    js_sys::Function::new_no_args(&format!("return ({expr});"))
        .call0(&JsValue::NULL)
        .unwrap()
}

/// Bytes of the wasm module's memory (it only ever grows).
pub fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    js_sys::ArrayBuffer::from(memory.buffer()).byte_length() as f64
}
