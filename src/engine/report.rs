//! Spec §11 carried out: a closed episode's report joins the queue kept with the verdict
//! cache, and the queue is sent to the leader, oldest first, as ordinary writes (the
//! leader only, `credentials: "omit"`, bounded by `requestTimeoutMs`, the episode id as
//! the idempotency key), in the background: no page request waits on it.

use super::Engine;
use crate::model::plan::Plan;
use crate::model::report::{self, Episode};
use crate::model::target::Target;
use crate::model::{Config, State};
use crate::platform::{env, http, spawn};
use wasm_bindgen::JsValue;

impl Engine {
    /// A round of this tab's own found the leader up: `closed` (an episode it ended,
    /// sampled in) joins the queue, and the queue is sent.
    pub(super) fn report(&self, closed: Option<Episode>, now_ms: f64) {
        let inner = &self.inner;
        let Some(reports) = &inner.config.reports else {
            return;
        };
        if let Some(e) = closed {
            let queue = inner.store.reports();
            let text = e.report(&env::random_uuid(), now_ms, reports.sample_rate);
            if let Ok(report) = js_sys::JSON::parse(&text) {
                queue.push(&report);
            }
            // Kept before it is sent, so a page closed meanwhile leaves it queued; with
            // `maxPending: 0`, only until this one try.
            drop_oldest(&queue, reports.max_pending.max(1));
            inner.store.set_reports(queue);
        }
        if inner.sending.replace(true) {
            return;
        }
        let (engine, max) = (self.clone(), reports.max_pending);
        spawn(async move {
            let inner = &engine.inner;
            // At most the queue's length: a queue some other script left odd ends anyway.
            for _ in 0..=max {
                let first = inner.store.reports().get(0);
                if first.is_undefined() || !inner.running.get() || engine.state() != State::Leader {
                    break;
                }
                let done = report::delivered(send(&inner.config, &first).await);
                // Read again: another tab may have changed the queue meanwhile.
                let queue = inner.store.reports();
                if !done {
                    drop_oldest(&queue, max);
                } else if id(&queue.get(0)) == id(&first) {
                    queue.shift();
                }
                inner.store.set_reports(queue);
                if !done {
                    break;
                }
            }
            inner.sending.set(false);
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
fn id(report: &JsValue) -> Option<String> {
    js_sys::Reflect::get(report, &JsValue::from_str("id"))
        .ok()?
        .as_string()
}

/// One report to the leader: the status it answered with, `None` when it did not.
async fn send(config: &Config, report: &JsValue) -> Option<u16> {
    let path = &config.reports.as_ref()?.path;
    // The routing rules' own: a route of the path may name the leader's base for it.
    let url = Plan::new(config, path, "POST").ok()?.url(Target::Leader);
    let headers = web_sys::Headers::new().ok()?;
    headers.set("content-type", "application/json").ok()?;
    if let (Some(name), Some(id)) = (&config.idempotency_key, id(report)) {
        headers.set(name, &id).ok()?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&js_sys::JSON::stringify(report).ok()?.into());
    // No credentials: `send` omits cookies and `Authorization` (spec §11: no user data).
    let timeout = config.request_timeout_ms;
    let (response, _guard) = http::send(&url, &init, timeout, None, false).await.ok()?;
    // The guard dropped here aborts what is left of the answer: only its status counts.
    Some(response.status())
}
