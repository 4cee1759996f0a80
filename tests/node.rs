//! The Node path (server-side rendering): no window, no Web Storage. Construction,
//! validation, routing and a real probe against the simulator.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

const GET: Option<JsValue> = None;

#[wasm_bindgen_test]
fn there_is_no_window_here() {
    assert!(js_sys::Reflect::get(&js_sys::global(), &"window".into())
        .unwrap()
        .is_undefined());
    assert!(
        js_sys::Reflect::get(&js_sys::global(), &"localStorage".into())
            .unwrap()
            .is_undefined()
    );
}

#[wasm_bindgen_test]
fn construction_and_validation() {
    let p = proxy("{}");
    assert_eq!(state(&p), "unknown");
    assert_eq!(
        code(&p.resolve("/api/pages".into(), GET).unwrap_err()),
        "NOT_READY"
    );
    let e = health_proxy::HealthProxy::new(config(r#"{"cache":{"ttl":1}}"#))
        .err()
        .unwrap();
    assert_eq!(code(&e), "INVALID_CONFIG");
    assert!(message(&e).contains("cache.ttl"), "{}", message(&e));
    let e = health_proxy::HealthProxy::new(config(r#"{"hysteresis":{"successesToUp":0}}"#))
        .err()
        .unwrap();
    assert!(message(&e).contains("hysteresis.successesToUp"));
}

#[wasm_bindgen_test]
async fn a_probe_against_the_simulator_with_memory_only_cache() {
    reset().await;
    // "local" storage is asked for, but Node has none: the verdict lives in memory, in
    // this instance only. Nothing is written where another instance could read it...
    let p = proxy(r#"{"cache":{"storage":"local","key":"node"}}"#);
    let snap = start(&p).await;
    assert_eq!(text(&snap, "state"), "leader");
    assert_eq!(text(&snap, "source"), "probe");
    assert!(field(&js_sys::global(), "localStorage").is_undefined());
    // ...so a second instance with the same key finds no cached verdict and probes.
    let other = proxy(r#"{"cache":{"storage":"local","key":"node"}}"#);
    assert_eq!(text(&start(&other).await, "source"), "probe");
    other.stop();
    assert_eq!(
        p.resolve("/api/pages/1".into(), GET).unwrap(),
        format!("{LEADER}/api/pages/1")
    );
    let r = fetch_ok(&p, "/api/pages", GET).await;
    assert_eq!(text(&json(r).await, "servedBy"), "leader");
    assert_eq!(
        code(&p.resolve("/../etc".into(), GET).unwrap_err()),
        "INVALID_PATH"
    );

    leader_mode("refused").await;
    assert_eq!(text(&check(&p).await, "state"), "emergency");
    assert_eq!(
        p.resolve("/api/pages".into(), GET).unwrap(),
        format!("{FOLLOWER}/api/pages")
    );
    assert_eq!(
        code(
            &p.resolve("/api/notes".into(), Some("POST".into()))
                .unwrap_err()
        ),
        "LEADER_UNAVAILABLE"
    );
    p.stop();
    leader_mode("up").await;
}

/// In Node an exception escaping a promise kills a server-side-rendering process.
#[wasm_bindgen_test]
async fn hostile_objects_and_odd_abort_reasons_settle_every_promise() {
    reset().await;
    let p = proxy(r#"{"requestTimeoutMs":5000}"#);
    assert_eq!(text(&start(&p).await, "state"), "leader");
    for init in [
        "{ get method() { throw new Error('boom') } }",
        "new Proxy({}, { ownKeys() { throw new Error('trap') } })",
        "{ signal: 'not a signal' }",
    ] {
        let e = fetch_err(&p, "/api/pages", js(init)).await;
        assert_eq!(code(&e), "INVALID_PATH", "{init}");
    }
    let e = health_proxy::HealthProxy::new(js(
        "new Proxy({}, { ownKeys() { throw new Error('trap') } })",
    ))
    .err()
    .unwrap();
    assert_eq!(code(&e), "INVALID_CONFIG");
    for reason in [
        "'left the page'",
        "42",
        "new Error('x')",
        "new DOMException('gone', 'AbortError')",
        "undefined",
    ] {
        let (i, controller) = abortable();
        let pending =
            wasm_bindgen_futures::JsFuture::from(p.fetch("/api/slow?ms=2000".into(), Some(i)));
        sleep(100).await;
        controller.abort_with_reason(&js(reason));
        let e = pending.await.unwrap_err();
        assert!(
            js_sys::Object::is(&e, &controller.signal().reason()),
            "{reason}: {e:?}"
        );
    }
    let r = fetch_ok(&p, "/api/pages", GET).await;
    assert_eq!(text(&json(r).await, "servedBy"), "leader");
    p.stop();
}

#[wasm_bindgen_test]
async fn odd_fetches_are_network_errors_never_traps() {
    support::odd_fetches_are_network_errors_never_traps().await;
}
