//! Spec §4, `fetch`: the caller's `init` and abort honoured, and the response handed over
//! with its body still under the request's deadline.

use super::*;

/// The leader has had no probe since the count was `probes`, and the verdict stands.
async fn assert_no_probe_since(p: &health_proxy::HealthProxy, probes: f64) {
    assert_eq!(
        stats().await.n("leader.probes"),
        probes,
        "no probe was made"
    );
    assert_eq!(state(p), "leader");
}

#[wasm_bindgen_test]
async fn the_callers_init_is_honoured() {
    reset().await;
    let p = proxy("{}");
    start(&p).await;
    let r = fetch_ok(
        &p,
        "/api/echo?x=1",
        init(r#"{"method":"PUT","headers":{"x-request-id":"abc","content-type":"text/plain"},"body":"payload"}"#),
    )
    .await;
    let echo = json(r).await;
    assert_eq!(text(&echo, "method"), "PUT");
    assert_eq!(text(&echo, "path"), "/api/echo?x=1");
    assert_eq!(text(&echo, "body"), "payload");
    assert_eq!(text(&field(&echo, "headers"), "x-request-id"), "abc");
    // A non-failover status is the application's answer, untouched.
    let r = fetch_ok(&p, "/api/pages/999", GET).await;
    assert_eq!(r.status(), 404);
    assert_eq!(state(&p), "leader");
    p.stop();
}

#[wasm_bindgen_test]
async fn the_callers_abort_still_aborts_and_is_not_a_leader_failure() {
    reset().await;
    leader_mode("slow").await;
    let p = proxy(r#"{"requestTimeoutMs":5000,"health":{"timeoutMs":4000}}"#);
    assert_eq!(text(&start(&p).await, "state"), "leader");
    let (i, controller) = abortable();
    let pending = JsFuture::from(p.fetch("/api/pages".into(), Some(i)));
    sleep(200).await;
    controller.abort();
    let e = pending.await.unwrap_err();
    assert_eq!(text(&e, "name"), "AbortError");
    assert_eq!(
        state(&p),
        "leader",
        "a caller's abort must not fail the leader over"
    );
    assert_eq!(stats().await.n("follower.requests"), 0.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn the_callers_abort_reason_comes_back_unchanged_whatever_it_is() {
    reset().await;
    let p = proxy(r#"{"requestTimeoutMs":5000}"#);
    start(&p).await;
    for reason in [
        "'left the page'",
        "42",
        "new Error('navigated away')",
        "new DOMException('gone', 'AbortError')",
        "undefined",
    ] {
        for already in [false, true] {
            let (i, controller) = abortable();
            let reason = js(reason);
            if already {
                controller.abort_with_reason(&reason);
            }
            let pending = JsFuture::from(p.fetch("/api/slow?ms=2000".into(), Some(i)));
            if !already {
                sleep(100).await;
                controller.abort_with_reason(&reason);
            }
            let e = pending.await.unwrap_err();
            let given = controller.signal().reason();
            assert!(
                js_sys::Object::is(&e, &given),
                "{reason:?} (already aborted: {already}): got {e:?}"
            );
        }
    }
    assert_eq!(state(&p), "leader");
    assert_eq!(
        served_by(&p, "/api/pages").await,
        "leader",
        "the module survived"
    );
    p.stop();
}

/// The caller's own abort while it reads a body rejects the read with exactly the
/// reason it gave (as fetch does), and is no leader failure.
#[wasm_bindgen_test]
async fn the_callers_abort_while_it_reads_rejects_the_read_with_its_reason() {
    let (p, probes) = started_counting_probes(r#"{"requestTimeoutMs":5000}"#).await;
    for reason in ["42", "new Error('left the page')"] {
        let (i, controller) = abortable();
        let r = fetch_ok(&p, "/api/stall", Some(i)).await;
        // A reader sees the stream's own error; Chromium's text() reports any stream
        // error as "Failed to fetch".
        let reader: web_sys::ReadableStreamDefaultReader =
            r.body().unwrap().get_reader().unchecked_into();
        JsFuture::from(reader.read()).await.unwrap();
        let read = reader.read();
        sleep(100).await;
        let reason = js(reason);
        controller.abort_with_reason(&reason);
        match within(3000, read).await {
            Some(Err(e)) => assert!(js_sys::Object::is(&e, &reason), "{reason:?}: got {e:?}"),
            other => panic!("{reason:?}: the read ended {other:?}"),
        }
    }
    sleep(300).await;
    assert_no_probe_since(&p, probes).await;
    p.stop();
}

/// The caller's own abort while a small body is still being taken in (the response not
/// handed over yet) rejects the fetch with exactly the reason it gave, as fetch does, and
/// is no leader failure.
#[wasm_bindgen_test]
async fn the_callers_abort_before_a_small_body_is_in_rejects_the_fetch_with_its_reason() {
    let (p, probes) = started_counting_probes(r#"{"requestTimeoutMs":5000}"#).await;
    for reason in ["42", "new Error('left the page')"] {
        let (i, controller) = abortable();
        let sent = p.fetch(STALLS[1].into(), Some(i));
        sleep(300).await;
        let reason = js(reason);
        controller.abort_with_reason(&reason);
        match within(3000, sent).await {
            Some(Err(e)) => assert!(js_sys::Object::is(&e, &reason), "{reason:?}: got {e:?}"),
            other => panic!("{reason:?}: the fetch ended {other:?}"),
        }
    }
    sleep(300).await;
    assert_no_probe_since(&p, probes).await;
    p.stop();
}

/// A body that stalls is cut at the deadline, its read rejects, and a probe is made. One of
/// unknown length is handed over with its head (the caller may stream it); a small one
/// is handed over when it is whole, or, stalled, at the deadline.
#[wasm_bindgen_test]
async fn a_body_that_stalls_is_aborted_at_the_deadline_and_triggers_a_probe() {
    let (p, _) = started_counting_probes(r#"{"requestTimeoutMs":800}"#).await;
    for (path, head_within) in [(STALLS[0], 0.0..700.0), (STALLS[1], 700.0..2000.0)] {
        sleep(300).await;
        let probes = stats().await.n("leader.probes");
        let t0 = now();
        let r = fetch_ok(&p, path, GET).await;
        let head = now() - t0;
        assert!(
            head_within.contains(&head),
            "{path}: the response came after {head} ms"
        );
        assert_eq!(r.status(), 200);
        assert!(r.url().starts_with(LEADER), "{}", r.url());
        let body = within(5000, r.text().unwrap()).await;
        let took = now() - t0;
        assert!(
            body.is_some(),
            "{path}: reading a stalled body never settled"
        );
        assert!(
            body.is_some_and(|b| b.is_err()),
            "{path}: reading a stalled body must reject"
        );
        assert!(
            (700.0..2000.0).contains(&took),
            "{path}: rejected after {took} ms"
        );
        sleep(300).await;
        assert_eq!(
            stats().await.n("leader.probes"),
            probes + 1.0,
            "{path}: the stall triggered a probe"
        );
        assert_eq!(state(&p), "leader", "the probe found the leader healthy");
    }
    // A body read in time is untouched by the deadline.
    let r = fetch_ok(&p, "/api/pages", GET).await;
    sleep(900).await;
    assert_eq!(text(&json(r).await, "servedBy"), "leader");
    p.stop();
}

/// A small body's response is handed over as the very Response fetch gave (no stream
/// of ours in between: benchmark section 11); a larger one's body comes through the
/// proxy's stream, in a response that keeps everything else of the one fetch returned:
/// url, type, redirected, status, headers.
#[wasm_bindgen_test]
async fn a_delivered_response_keeps_what_fetch_said_of_it() {
    reset().await;
    let p = proxy("{}");
    start(&p).await;
    let real = js("globalThis.fetch");
    js(r#"(() => {
        const real = globalThis.fetch;
        globalThis.fetch = function () {
            const sent = real.apply(this, arguments);
            sent.then((r) => { globalThis.lastFetched = r; }, () => {});
            return sent;
        };
    })()"#);
    let r = fetch_ok(&p, "/api/status/404", GET).await;
    let fetched = js("globalThis.lastFetched");
    js_sys::Reflect::set(&js_sys::global(), &"fetch".into(), &real).unwrap();
    assert!(
        js_sys::Object::is(&r, &fetched),
        "a small body: the Response fetch gave"
    );
    assert_eq!(r.url(), format!("{LEADER}/api/status/404"));
    assert_eq!(r.status(), 404);
    assert!(json(r).await.is_object());
    // A redirect is never followed (spec §4), not even to the same origin: the read fails.
    let e = fetch_err(&p, "/api/moved", GET).await;
    assert_eq!(code(&e), "LEADER_UNAVAILABLE", "{}", message(&e));
    // 128 KiB: more than a small body, so through the proxy's stream.
    let r = fetch_ok(&p, "/api/big?kb=128", GET).await;
    assert!(
        js_sys::Object::get_own_property_descriptor(&r, &"url".into()).is_object(),
        "the proxy's own response, with the url set on it"
    );
    assert_eq!(r.url(), format!("{LEADER}/api/big?kb=128"));
    assert_eq!(field(&r, "type").as_string().as_deref(), Some("cors"));
    assert_eq!(field(&r, "redirected").as_bool(), Some(false));
    assert_eq!(r.status(), 200);
    assert_eq!(r.status_text(), "OK");
    assert_eq!(
        r.headers().get("content-type").unwrap().as_deref(),
        Some("text/plain")
    );
    assert!(
        r.body().is_some_and(|b| !b.locked()),
        "a body the caller can read"
    );
    let body = within(5000, r.array_buffer().unwrap()).await;
    assert!(
        matches!(body, Some(Ok(ref b)) if js_sys::ArrayBuffer::from(b.clone()).byte_length() == 128 * 1024),
        "{body:?}"
    );
    p.stop();
}

/// The deadline bounds the server sending a body, not the caller reading it: 8 MiB
/// read well after the deadline is whole, and is no leader failure. (When the proxy's
/// stream held the pipe back until the caller read, the deadline cut such a body.)
#[wasm_bindgen_test]
async fn a_large_body_read_after_the_deadline_is_whole() {
    let (p, probes) = started_counting_probes(r#"{"requestTimeoutMs":2000}"#).await;
    let r = fetch_ok(&p, "/api/big?kb=8192", GET).await;
    sleep(2500).await;
    let body = within(5000, r.array_buffer().unwrap()).await;
    let bytes = match body {
        Some(Ok(b)) => js_sys::ArrayBuffer::from(b).byte_length(),
        other => panic!("reading the body: {other:?}"),
    };
    assert_eq!(bytes, 8 * 1024 * 1024);
    assert_no_probe_since(&p, probes).await;
    p.stop();
}

/// WebKitGTK sometimes leaves the body of an aborted fetch pending for good, and its
/// `pipeTo` waits on that read before it aborts anything. A fetch that behaves so on
/// purpose (its body sends one part, then ignores the abort) must still have the
/// caller's read rejected at the deadline, in every engine. (Chromium's and Firefox's
/// pipes do not wait for that read: this catches the WebKit case in WebKit only.)
#[wasm_bindgen_test]
async fn a_body_whose_fetch_ignores_the_abort_still_rejects_at_the_deadline() {
    let (p, probes) = started_counting_probes(r#"{"requestTimeoutMs":800}"#).await;
    let real = js("globalThis.fetch");
    js(r#"(() => {
        const real = globalThis.fetch;
        globalThis.fetch = function (input, init) {
            const url = input instanceof Request ? input.url : String(input);
            if (!url.endsWith("/api/deaf")) return real.apply(this, arguments);
            const body = new ReadableStream({
                start(c) { c.enqueue(new TextEncoder().encode('{"part":"')); },
            });
            return Promise.resolve(new Response(body, { status: 200 }));
        };
    })()"#);
    let t0 = now();
    let sent = JsFuture::from(p.fetch("/api/deaf".into(), GET)).await;
    let body = match &sent {
        Ok(r) => {
            within(
                5000,
                r.clone()
                    .unchecked_into::<web_sys::Response>()
                    .text()
                    .unwrap(),
            )
            .await
        }
        Err(_) => None,
    };
    let took = now() - t0;
    js_sys::Reflect::set(&js_sys::global(), &"fetch".into(), &real).unwrap();
    assert!(sent.is_ok(), "the head came back: {sent:?}");
    assert!(body.is_some(), "reading the body never settled");
    assert!(
        body.is_some_and(|b| b.is_err()),
        "reading the body must reject"
    );
    assert!((700.0..2000.0).contains(&took), "rejected after {took} ms");
    sleep(300).await;
    assert_eq!(
        stats().await.n("leader.probes"),
        probes + 1.0,
        "the stall triggered a probe"
    );
    p.stop();
}
