//! The library inside a dedicated Web Worker in headless Chromium: no `window`, no Web
//! Storage, only the global `fetch` and timers.
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn routes_and_fails_over_inside_a_worker() {
    let global = js_sys::global();
    assert!(js_sys::Reflect::get(&global, &"window".into())
        .unwrap()
        .is_undefined());
    assert!(js_sys::Reflect::get(&global, &"localStorage".into())
        .unwrap()
        .is_undefined());
    reset().await;
    let p = proxy(r#"{"cache":{"storage":"local"}}"#);
    assert_eq!(text(&start(&p).await, "state"), "leader");
    let r = fetch_ok(&p, "/api/pages", JsValue::UNDEFINED).await;
    assert!(r.url().starts_with(LEADER));
    leader_mode("blackout").await;
    let r = fetch_ok(&p, "/api/pages/1", JsValue::UNDEFINED).await;
    assert!(r.url().starts_with(FOLLOWER), "{}", r.url());
    // The read may have escaped to the follower (spec §8) just before the confirming probe
    // failed and the follower's probe answered: the verdict follows within a round trip.
    for _ in 0..40 {
        if state(&p) == "emergency" {
            break;
        }
        sleep(25).await;
    }
    assert_eq!(state(&p), "emergency");
    p.stop();
    leader_mode("up").await;
}
