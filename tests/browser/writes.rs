//! Spec §2: writes — never to the follower, never retried, `OUTCOME_UNKNOWN` when
//! unanswered, and idempotency keys.

use super::*;

#[wasm_bindgen_test]
async fn a_write_that_fails_is_reported_and_never_retried() {
    for mode in ["app-down", "blackout"] {
        reset().await;
        let p = proxy("{}");
        start(&p).await;
        leader_mode(mode).await;
        // text/plain: a CORS simple request, so the write itself (not a preflight) reaches
        // the leader even in a blackout, where it then hangs.
        let write = init(r#"{"method":"POST","headers":{"content-type":"text/plain"}}"#);
        js_sys::Reflect::set(
            &write,
            &"body".into(),
            &r#"{"text":"lost?","clientId":"w1"}"#.into(),
        )
        .unwrap();
        // The simulator's 502, like NGINX's without `always`, has no CORS header: the page
        // sees a network error, which fetch does not place before or after sending.
        let e = fetch_err(&p, "/api/notes", write).await;
        assert_eq!(code(&e), "OUTCOME_UNKNOWN", "leader {mode}");
        assert!(message(&e).contains("never retried"), "{}", message(&e));
        assert!(
            field(&e, "idempotencyKey").is_null(),
            "the option is off and the caller set no key"
        );
        sleep(50).await;
        let s = stats().await;
        assert_eq!(
            s.n("leader.writes"),
            1.0,
            "the write reached the leader exactly once ({})",
            message(&e)
        );
        assert_eq!(s.n("follower.writes"), 0.0);
        assert_eq!(s.n("follower.preflightWriteMethods"), 0.0);
        p.stop();
    }
}

const KEYED: &str = r#"{"writes":{"idempotencyKey":"Idempotency-Key"}}"#;

/// A version 4 UUID, as `crypto.randomUUID()` makes them.
fn assert_uuid(key: &str) {
    let b = key.as_bytes();
    assert!(
        b.len() == 36
            && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
            && b[14] == b'4'
            && key.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
        "not a UUID v4: {key:?}"
    );
}

/// The keys the leader received with writes, in arrival order.
async fn keys_at_the_leader() -> Vec<String> {
    let keys = stats().await.get("leader.writeKeys");
    if keys.is_undefined() {
        return Vec::new();
    }
    js_sys::Array::from(&keys)
        .iter()
        .map(|k| k.as_string().unwrap())
        .collect()
}

#[wasm_bindgen_test]
async fn a_write_refused_before_sending_is_leader_unavailable_and_nothing_reaches_the_leader() {
    for mode in ["refused", "blackout"] {
        reset().await;
        leader_mode(mode).await;
        let p = proxy(KEYED);
        assert_eq!(text(&start(&p).await, "state"), "emergency");
        let before = stats().await;
        let e = fetch_err(&p, "/api/notes", post(r#"{"text":"x","clientId":"r1"}"#)).await;
        assert_eq!(code(&e), "LEADER_UNAVAILABLE", "leader {mode}");
        assert!(message(&e).contains("was not sent"), "{}", message(&e));
        assert!(
            field(&e, "idempotencyKey").is_undefined(),
            "a write not sent has no key to retry with"
        );
        sleep(50).await;
        let after = stats().await;
        // Nothing at all: neither the write nor its preflight (counted on arrival, even
        // in a blackout).
        assert_eq!(after.n("leader.writes"), 0.0, "leader {mode}");
        assert_eq!(
            after.n("leader.preflights"),
            before.n("leader.preflights"),
            "leader {mode}"
        );
        assert_eq!(after.n("follower.writes"), 0.0);
        assert_eq!(after.n("follower.preflightWriteMethods"), 0.0);
        p.stop();
    }
}

#[wasm_bindgen_test]
async fn a_write_that_times_out_is_outcome_unknown_with_the_key_the_leader_received() {
    // The leader takes the write and answers after the deadline: healthy (its probe
    // answers), then slow as a whole (its probe fails too). Unknown either way.
    for (path, whole_leader_slow, verdict) in [
        ("/api/slow?ms=2500", false, "leader"),
        ("/api/notes", true, "emergency"),
    ] {
        reset().await;
        let p = proxy(KEYED);
        start(&p).await;
        if whole_leader_slow {
            leader_mode("slow").await;
        }
        let e = fetch_err(&p, path, post(r#"{"text":"late","clientId":"t1"}"#)).await;
        assert_eq!(code(&e), "OUTCOME_UNKNOWN", "{path}: {}", message(&e));
        assert_eq!(state(&p), verdict, "{path}");
        let key = field(&e, "idempotencyKey")
            .as_string()
            .unwrap_or_else(|| panic!("{path}: no idempotencyKey on {e:?}"));
        assert_uuid(&key);
        assert!(
            message(&e).contains(&format!("Idempotency-Key: {key}")),
            "{}",
            message(&e)
        );
        sleep(50).await;
        assert_eq!(
            keys_at_the_leader().await,
            [key.as_str()],
            "{path}: the leader got the write once, with the key the error names"
        );
        assert_eq!(stats().await.n("follower.writes"), 0.0);
        p.stop();
    }
}

#[wasm_bindgen_test]
async fn a_writes_stalled_body_rejects_its_read_with_outcome_unknown_and_the_key() {
    // requestTimeoutMs is the test config's 800.
    let (p, _) = started_counting_probes(KEYED).await;
    let read_all: js_sys::Function = js(
        "(r) => { const rd = r.body.getReader(); const pump = () => rd.read().then((x) => (x.done ? null : pump())); return pump(); }",
    )
    .unchecked_into();
    for path in STALLS {
        reset().await;
        let r = fetch_ok(&p, path, post("{}")).await;
        assert_eq!(
            r.status(),
            200,
            "{path}: the status is the write's known outcome"
        );
        let reading = js_sys::Promise::from(read_all.call1(&JsValue::NULL, &r).unwrap());
        let e = match within(5000, reading).await {
            Some(Err(e)) => e,
            other => panic!("{path}: reading a stalled body must reject: {other:?}"),
        };
        assert_eq!(code(&e), "OUTCOME_UNKNOWN", "{path}: {}", message(&e));
        assert!(
            message(&e).contains("answered 200 by the leader"),
            "{path}: {}",
            message(&e)
        );
        let key = field(&e, "idempotencyKey").as_string().unwrap();
        assert_eq!(keys_at_the_leader().await, [key], "{path}");
        // A read's stalled body keeps the deadline's own reason.
        let r = fetch_ok(&p, path, GET).await;
        let reading = js_sys::Promise::from(read_all.call1(&JsValue::NULL, &r).unwrap());
        match within(5000, reading).await {
            Some(Err(e)) => assert!(field(&e, "code").is_undefined(), "{path}: {e:?}"),
            other => panic!("{path}: reading a stalled body must reject: {other:?}"),
        }
    }
    p.stop();
}

#[wasm_bindgen_test]
async fn a_callers_own_idempotency_key_is_kept_and_each_write_gets_a_fresh_one() {
    reset().await;
    let p = proxy(KEYED);
    start(&p).await;
    let sent_key = |body: JsValue| text(&field(&body, "headers"), "idempotency-key");
    // Every form of headers fetch takes, and the name in any case.
    for (init_json, want) in [
        (
            r#"{"method":"POST","headers":{"idempotency-key":"mine-1"}}"#,
            "mine-1",
        ),
        (
            r#"{"method":"PUT","headers":[["IDEMPOTENCY-KEY","mine-2"],["content-type","text/plain"]]}"#,
            "mine-2",
        ),
    ] {
        let body = json(fetch_ok(&p, "/api/echo", init(init_json)).await).await;
        assert_eq!(sent_key(body), want, "{init_json}");
    }
    let headers = js("new Headers({ 'Idempotency-Key': 'mine-3', 'x-other': 'kept' })");
    let with_headers = init(r#"{"method":"DELETE"}"#);
    js_sys::Reflect::set(&with_headers, &"headers".into(), &headers).unwrap();
    let body = json(fetch_ok(&p, "/api/echo", with_headers).await).await;
    assert_eq!(sent_key(body.clone()), "mine-3");
    assert_eq!(text(&field(&body, "headers"), "x-other"), "kept");
    // No key of the caller's: a fresh one per write, the caller's other headers kept.
    let first = json(fetch_ok(&p, "/api/echo", post("{}")).await).await;
    let second = json(fetch_ok(&p, "/api/echo", post("{}")).await).await;
    assert_eq!(
        text(&field(&first, "headers"), "content-type"),
        "application/json"
    );
    let (a, b) = (sent_key(first), sent_key(second));
    assert_uuid(&a);
    assert_uuid(&b);
    assert_ne!(a, b);
    // Reads carry none (a custom header would preflight every read).
    let read = json(fetch_ok(&p, "/api/echo", GET).await).await;
    assert!(field(&field(&read, "headers"), "idempotency-key").is_undefined());
    assert_eq!(
        keys_at_the_leader().await,
        ["mine-1", "mine-2", "mine-3", a.as_str(), b.as_str()]
    );
    p.stop();
}

#[wasm_bindgen_test]
async fn an_idempotency_key_without_crypto_random_uuid_and_with_hostile_headers() {
    reset().await;
    let p = proxy(KEYED);
    start(&p).await;
    // An http: page that is not localhost has no crypto.randomUUID (secure contexts only).
    let saved = js(
        "(() => { const p = Object.getPrototypeOf(crypto); const d = Object.getOwnPropertyDescriptor(p, 'randomUUID'); delete p.randomUUID; return d; })()",
    );
    assert!(js("typeof crypto.randomUUID").as_string().unwrap() == "undefined");
    // The key comes from crypto.getRandomValues, not Math.random (issue 31).
    js("(() => { globalThis.__random = Math.random; Math.random = () => 0; })()");
    let sent = fetch_ok(&p, "/api/echo", post("{}")).await;
    js("(() => { Math.random = globalThis.__random; })()");
    let restore: js_sys::Function =
        js("(d) => Object.defineProperty(Object.getPrototypeOf(crypto), 'randomUUID', d)")
            .unchecked_into();
    restore.call1(&JsValue::NULL, &saved).unwrap();
    let key = text(&field(&json(sent).await, "headers"), "idempotency-key");
    assert_uuid(&key);
    assert_ne!(
        key, "00000000-0000-4000-8000-000000000000",
        "a key from Math.random"
    );
    // Headers whose reads throw: the write rejects (fetch would refuse them too), nothing escapes.
    let hostile = init(r#"{"method":"POST"}"#);
    let headers = js("new Proxy({}, { ownKeys() { throw new Error('boom'); } })");
    js_sys::Reflect::set(&hostile, &"headers".into(), &headers).unwrap();
    let e = fetch_err(&p, "/api/echo", hostile).await;
    assert_eq!(code(&e), "INVALID_PATH", "{}", message(&e));
    assert_eq!(keys_at_the_leader().await, [key.as_str()]);
    p.stop();
}

#[wasm_bindgen_test]
async fn without_the_option_no_idempotency_key_is_added() {
    reset().await;
    let p = proxy("{}");
    start(&p).await;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let body = json(
            fetch_ok(
                &p,
                "/api/echo",
                init(&format!(r#"{{"method":"{method}"}}"#)),
            )
            .await,
        )
        .await;
        assert!(
            field(&field(&body, "headers"), "idempotency-key").is_undefined(),
            "{method}: {:?}",
            js_sys::JSON::stringify(&body)
        );
    }
    assert!(keys_at_the_leader().await.is_empty());
    p.stop();
}

#[wasm_bindgen_test]
async fn a_healthy_leaders_5xx_to_a_write_is_the_callers_answer() {
    let (p, probes) = started_counting_probes("{}").await;
    let r = fetch_ok(&p, "/api/status/503", post("{}")).await;
    assert_eq!(r.status(), 503);
    assert!(r.url().starts_with(LEADER));
    let s = stats().await;
    assert_eq!(
        s.n("leader.probes"),
        probes + 1.0,
        "the 503 was judged by a probe"
    );
    assert_eq!(s.n("follower.requests"), 0.0);
    assert_eq!(state(&p), "leader");
    p.stop();
}
