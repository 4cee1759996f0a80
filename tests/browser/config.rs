//! Spec §5: the configuration is checked whole, and the copy used is the one checked.

use super::*;

/// The config's ranges are checked on the copy that is used, not only on a first read
/// of a live object whose getters may answer differently the second time.
#[wasm_bindgen_test]
fn the_config_copy_that_is_used_is_the_one_checked() {
    let e = health_proxy::HealthProxy::new(js(
        "(() => { let reads = 0; return { leader: 'http://127.0.0.1:18081', follower: 'http://127.0.0.1:18082', health: { get timeoutMs() { return reads++ ? 0 : 1500; } } }; })()",
    ))
    .err()
    .expect("a timeout of 0 in the copy must be refused");
    assert_eq!(code(&e), "INVALID_CONFIG");
    assert!(message(&e).contains("health.timeoutMs"), "{}", message(&e));
}

#[wasm_bindgen_test]
fn bad_configs_throw_invalid_config_naming_the_field() {
    for (overrides, field) in [
        (r#"{"health":{"timeoutMS":5}}"#, "health.timeoutMS"),
        (r#"{"health":{"timeoutMs":"fast"}}"#, "health.timeoutMs"),
        (r#"{"requestTimeoutMs":5}"#, "requestTimeoutMs"),
        (r#"{"leader":"ftp://x"}"#, "leader"),
        (r#"{"follower":"http://127.0.0.1:18081"}"#, "follower"),
        (r#"{"routes":[{"prefix":"/a"}]}"#, "routes[0].critical"),
        (r#"{"cache":{"storage":"cookies"}}"#, "cache.storage"),
        (r#"{"failoverStatuses":[404]}"#, "failoverStatuses[0]"),
    ] {
        let e = health_proxy::HealthProxy::new(config(overrides))
            .err()
            .expect(overrides);
        assert_eq!(code(&e), "INVALID_CONFIG");
        assert!(message(&e).contains(field), "{overrides}: {}", message(&e));
    }
    let with_fn = config("{}");
    js_sys::Reflect::set(
        &with_fn,
        &"onError".into(),
        &js_sys::Function::new_no_args(""),
    )
    .unwrap();
    let e = health_proxy::HealthProxy::new(with_fn).err().unwrap();
    assert!(message(&e).contains("onError"));
    for not_object in [
        JsValue::UNDEFINED,
        JsValue::from_str("x"),
        JsValue::from_f64(1.0),
    ] {
        let e = health_proxy::HealthProxy::new(not_object).err().unwrap();
        assert_eq!(code(&e), "INVALID_CONFIG");
    }
}

#[wasm_bindgen_test]
fn hostile_config_objects_are_invalid_config() {
    for (config, field) in [
        ("new Proxy({}, { ownKeys() { throw new Error('trap') } })", "config"),
        (
            "{ leader: 'http://127.0.0.1:18081', follower: 'http://127.0.0.1:18082', get health() { throw new Error('getter') } }",
            "health",
        ),
        (
            "{ leader: 'http://127.0.0.1:18081', follower: 'http://127.0.0.1:18082', routes: new Proxy([], { get(t, k) { if (k === 'length') return 2; throw new Error('item'); } }) }",
            "routes",
        ),
    ] {
        let e = health_proxy::HealthProxy::new(js(config)).err().unwrap();
        assert_eq!(code(&e), "INVALID_CONFIG", "{config}");
        assert!(message(&e).starts_with(field), "{config}: {}", message(&e));
    }
}
