//! Spec §11 carried out: a closed episode's report joins the queue kept with the verdict
//! cache, and the queue is sent to the leader, oldest first, as ordinary writes (the
//! leader only, `credentials: "omit"`, bounded by `requestTimeoutMs`, the episode id as
//! the idempotency key), in the background: no page request waits on it.

use super::request::{self, Call};
use super::Engine;
use crate::model::report::{self, Episode};
use crate::model::State;
use crate::platform::{env, spawn};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

impl Engine {
    /// The leader is up (a round of this tab's found it, or another tab told it):
    /// `closed` (an episode this tab's round ended, sampled in) joins the queue, and the
    /// tab that probes sends the queue, oldest first.
    pub(super) fn report(&self, closed: Option<(Episode, f64)>) {
        let inner = &self.inner;
        let Some(reports) = &inner.config.reports else {
            return;
        };
        let queue = inner.store.reports();
        if let Some((e, end)) = closed {
            let text = e.report(&env::random_uuid(), end, reports.sample_rate);
            if let Ok(report) = js_sys::JSON::parse(&text) {
                queue.push(&report);
            }
            // Kept before it is sent, so a page closed meanwhile leaves it queued; with
            // `maxPending: 0`, only until this one try.
            drop_oldest(&queue, reports.max_pending.max(1));
            inner.store.set_reports(&queue);
        }
        let first = queue.get(0);
        // Spec §11: the tab that probes sends (one sender for the tabs' one queue).
        if first.is_undefined() || !self.is_prober() || inner.sending.replace(true) {
            return;
        }
        let (engine, max) = (self.clone(), reports.max_pending);
        spawn(async move {
            let inner = &engine.inner;
            let done = report::delivered(send(&engine, &first).await);
            // Read again: another tab may have changed the queue meanwhile.
            let queue = inner.store.reports();
            if done {
                queue.shift();
            } else {
                drop_oldest(&queue, max);
            }
            inner.store.set_reports(&queue);
            inner.sending.set(false);
            if done && inner.running.get() && engine.state() == State::Leader {
                // The next one, if any, while the leader is still up.
                engine.report(None);
            }
        });
    }
}

/// Drops the oldest reports of `queue` beyond `max`.
fn drop_oldest(queue: &js_sys::Array, max: u32) {
    for _ in 0..report::over(queue.length(), max) {
        queue.shift();
    }
}

/// A queued report's id (its idempotency key).
fn id(report: &JsValue) -> JsValue {
    js_sys::Reflect::get(report, &JsValue::from_str("id")).unwrap_or_default()
}

/// One report to the leader, as a page's write through the proxy: the status it was
/// answered with, `None` when it was refused or not answered.
async fn send(engine: &Engine, report: &JsValue) -> Option<u16> {
    let config = engine.config();
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&js_sys::JSON::stringify(report).ok()?.into());
    init.set_credentials(web_sys::RequestCredentials::Omit);
    let headers = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&headers, &"content-type".into(), &"application/json".into());
    if let Some(name) = &config.idempotency_key {
        let _ = js_sys::Reflect::set(&headers, &name.into(), &id(report));
    }
    init.set_headers(&headers);
    let call = Call {
        path: config.reports.as_ref()?.path.clone(),
        method: "POST".into(),
        init,
        signal: None,
        error_to_js: |_| JsValue::NULL,
    };
    let answer = request::fetch(engine, &call).await.ok()?;
    // A small answer comes as a promise of the response (`http::watch_body`).
    let response = JsFuture::from(js_sys::Promise::resolve(&answer))
        .await
        .ok()?;
    Some(response.unchecked_into::<web_sys::Response>().status())
}
