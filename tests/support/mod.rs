//! Shared by the wasm test suites: the simulator's addresses and control API, configs,
//! and small async helpers. The simulator (`tests/hub-sim`) must be running.
#![allow(dead_code)]

use gloo_net::http::{Request, Response};
use health_proxy::HealthProxy;
use js_sys::{Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

pub const LEADER: &str = "http://127.0.0.1:18081";
pub const FOLLOWER: &str = "http://127.0.0.1:18082";
pub const CONTROL: &str = "http://127.0.0.1:18083";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function, ms: i32) -> JsValue;
}

/// The simulator's answer to a control call, as a JS value.
async fn control_json(path: &str, response: Result<Response, gloo_net::Error>) -> JsValue {
    let response =
        response.unwrap_or_else(|e| panic!("control {path}: the simulator is not running? {e}"));
    assert!(response.ok(), "control {path}: {}", response.status());
    JSON::parse(&response.text().await.unwrap()).unwrap()
}

/// POSTs to the simulator's control API (a CORS simple request) and returns its JSON.
pub async fn control(path: &str) -> JsValue {
    let url = format!("{CONTROL}{path}");
    control_json(path, Request::post(&url).send().await).await
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
    let url = format!("{CONTROL}/stats");
    let request = Request::get(&url).cache(web_sys::RequestCache::NoStore);
    Stats(control_json("/stats", request.send().await).await)
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

/// A caller that may abort: an `init` carrying a fresh controller's signal, and the
/// controller to abort it with.
pub fn abortable() -> (JsValue, web_sys::AbortController) {
    let controller = web_sys::AbortController::new().unwrap();
    let i = init("{}");
    Reflect::set(&i, &"signal".into(), &controller.signal()).unwrap();
    (i, controller)
}

/// Removes `key` from the page's `localStorage` (a test's cached verdict).
pub fn forget(key: &str) {
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .remove_item(key)
        .unwrap();
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

/// `globalThis.fetch` replaced by `odd` (a JS function expression) for the requests to the
/// leader and the follower whose URL contains `only` (the control API keeps the real
/// one); the real one is back when this is dropped.
pub struct OddFetch(JsValue);

impl OddFetch {
    pub fn install(odd: &str, only: &str) -> OddFetch {
        let install: js_sys::Function = js(
            "(odd, only, control) => { const real = globalThis.fetch; globalThis.fetch = function (input, init) { const url = typeof input === 'string' ? input : input.url; return url.startsWith(control) || !url.includes(only) ? real.apply(this, arguments) : odd(input, init); }; return real; }",
        )
        .unchecked_into();
        let real = install
            .call3(&JsValue::NULL, &js(odd), &only.into(), &CONTROL.into())
            .unwrap();
        OddFetch(real)
    }
}

impl Drop for OddFetch {
    fn drop(&mut self) {
        Reflect::set(&js_sys::global(), &"fetch".into(), &self.0).unwrap();
    }
}

/// What reaches the page (or Node) uncaught from now on: errors and unhandled rejections,
/// as text. A wasm trap in a task shows here as `RuntimeError: unreachable`.
pub fn uncaught() -> js_sys::Array {
    js("(() => { const seen = []; const f = (e) => seen.push(String(e?.reason ?? e?.error ?? e)); if (typeof addEventListener === 'function') { addEventListener('error', f); addEventListener('unhandledrejection', f); } if (globalThis.process?.on) process.on('unhandledRejection', f); return seen; })()")
        .unchecked_into()
}

/// Spec §4: a replaced `fetch` that throws, rejects with a non-`Error`, or gives something
/// other than a `Response` is a network error to the proxy (requests and probes), never a
/// trap; each `proxy.fetch` settles within `requestTimeoutMs` and the proxy goes on.
pub async fn odd_fetches_are_network_errors_never_traps() {
    reset().await;
    let seen = uncaught();
    for odd in [
        "() => Promise.reject('a string')",
        "() => Promise.reject({ message: 'a plain object' })",
        "() => Promise.reject(undefined)",
        "() => Promise.resolve({ ok: true })",
        "() => { throw 'thrown' }",
        "() => ({ ok: true })",
        "() => ({ then() { throw 'a throwing then' } })",
    ] {
        // One proxy per case: each case takes the verdict down and back up once.
        let p = proxy(r#"{"requestTimeoutMs":800,"hysteresis":{"successesToUp":1}}"#);
        assert_eq!(text(&start(&p).await, "state"), "leader");
        let odd_fetch = OddFetch::install(odd, "/");
        let request = within(800, p.fetch("/api/pages".into(), None)).await;
        let probe = within(800, p.check_now()).await;
        drop(odd_fetch);
        // Both origins are behind the odd fetch: the probe finds neither, so the client
        // is offline and the read is refused with that code (spec §2, §4).
        match request {
            Some(Err(e)) => assert_eq!(code(&e), "OFFLINE", "{odd}: {}", message(&e)),
            other => panic!("{odd}: proxy.fetch did not reject in time: {other:?}"),
        }
        match probe {
            Some(Ok(s)) => assert_eq!(text(&s, "state"), "offline", "{odd}"),
            other => panic!("{odd}: checkNow did not settle in time: {other:?}"),
        }
        // The next real fetch works: the module is alive.
        assert_eq!(text(&check(&p).await, "state"), "leader", "{odd}");
        let r = fetch_ok(&p, "/api/pages", None::<JsValue>).await;
        assert_eq!(text(&json(r).await, "servedBy"), "leader", "{odd}");
        p.stop();
    }
    sleep(100).await;
    assert_eq!(seen.length(), 0, "uncaught: {:?}", seen.to_vec());
}
