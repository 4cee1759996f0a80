//! The library in real headless browsers against the simulator on loopback: the page,
//! the leader and the follower are three origins, so CORS is real. Each test resets the
//! simulator; wasm-bindgen-test runs them one at a time. One file per spec section.
#![cfg(target_arch = "wasm32")]

#[path = "../support/mod.rs"]
mod support;

mod api;
mod cache;
mod config;
mod fetch;
mod health;
mod racing;
mod reports;
mod routing;
mod writes;

use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const GET: Option<JsValue> = None;

fn post(body: &str) -> JsValue {
    let init = init(r#"{"method":"POST","headers":{"content-type":"application/json"}}"#);
    js_sys::Reflect::set(&init, &"body".into(), &body.into()).unwrap();
    init
}

/// Subscribes to `p`'s state changes: the states heard so far, and the unsubscribe function.
fn record_states(
    p: &health_proxy::HealthProxy,
) -> (
    std::rc::Rc<std::cell::RefCell<Vec<String>>>,
    js_sys::Function,
) {
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let sink = seen.clone();
    let f = Closure::<dyn Fn(JsValue)>::new(move |snap: JsValue| {
        sink.borrow_mut().push(text(&snap, "state"))
    });
    (seen, p.on_change(f.into_js_value().into()).into())
}

/// After a reset of the simulator, a started proxy with `overrides`, and the leader's
/// probe count by then (to count the probes the test itself causes).
async fn started_counting_probes(overrides: &str) -> (health_proxy::HealthProxy, f64) {
    reset().await;
    let p = proxy(overrides);
    start(&p).await;
    (p, stats().await.n("leader.probes"))
}

async fn served_by(p: &health_proxy::HealthProxy, path: &str) -> String {
    let r = fetch_ok(p, path, GET).await;
    let url = r.url();
    let body = json(r).await;
    let by = text(&body, "servedBy");
    let base = if by == "leader" { LEADER } else { FOLLOWER };
    assert!(
        url.starts_with(base),
        "response.url {url} should name the {by}"
    );
    by
}

/// Both kinds of body: one of unknown length (streamed to the caller) and one whose
/// `Content-Length` is small (taken in whole before the response is handed over).
const STALLS: [&str; 2] = ["/api/stall", "/api/stall?length=1000"];
