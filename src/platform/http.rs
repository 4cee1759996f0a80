//! Every request the library makes goes through one checked `fetch` call, with an abort
//! guard (as reqwest's wasm backend): a timeout really aborts the request and is reported
//! as a timeout, a caller's own `signal` still aborts, and dropping an unfinished request
//! aborts it. The guard can stay with a response until its body has arrived, so the
//! deadline covers the whole exchange, and bounds every wait on the engine (spec §3, §4).

use super::Timeout;
use crate::model::health::{self, Reply};
use crate::model::path::{self, Base};
use gloo_events::EventListener;
use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, AbortSignal, RequestInit, Response, TransformStreamDefaultController,
};

/// Why a request produced no response.
#[derive(Debug)]
pub(crate) enum SendError {
    /// No answer within the timeout; the request was aborted.
    Timeout,
    /// Connection refused or reset, DNS, CORS: the browser's `TypeError`.
    Network,
    /// The caller's own signal aborted it: its reason, to hand back unchanged.
    CallerAbort(JsValue),
    /// The request could not even be built (bad headers, a GET with a body, …).
    Invalid(JsValue),
}

/// Aborts the request at its deadline or when dropped, unless disarmed first.
#[must_use = "dropping the guard aborts the request"]
pub(crate) struct AbortGuard {
    controller: AbortController,
    timed_out: Rc<Cell<bool>>,
    timer: Option<Timeout>,
    caller: Option<(AbortSignal, EventListener)>,
    armed: bool,
}

impl fmt::Debug for AbortGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortGuard")
            .field("armed", &self.armed)
            .field("timed_out", &self.timed_out.get())
            .field("linked", &self.caller.is_some())
            .finish()
    }
}

#[wasm_bindgen]
extern "C" {
    // Whatever `globalThis.fetch` is now (a RUM agent's or a test's wrapper too): it may
    // throw, return a non-promise, reject with any value or resolve with a non-Response;
    // `send` checks each (gloo-net's `send()` trapped on them: docs/size.md).
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(request: &web_sys::Request) -> Result<JsValue, JsValue>;
}

/// The reason our own controller aborts with: an `Error`, as fetch's own are.
/// The caller's own reason is handed back by [`AbortGuard::classify`], never given to fetch.
fn abort(controller: &AbortController, why: &str) {
    controller.abort_with_reason(&js_sys::Error::new(why));
}

impl AbortGuard {
    fn new(timeout_ms: u32, caller: Option<&AbortSignal>) -> Result<AbortGuard, JsValue> {
        let controller = AbortController::new()?;
        let timed_out = Rc::new(Cell::new(false));
        let timer = {
            let controller = controller.clone();
            let timed_out = timed_out.clone();
            Timeout::new(timeout_ms, move || {
                timed_out.set(true);
                abort(&controller, "health-proxy: timed out");
            })
        };
        let caller = caller.map(|signal| {
            let controller = controller.clone();
            let listener = EventListener::once(signal, "abort", move |_| {
                abort(&controller, "health-proxy: aborted by the caller");
            });
            (signal.clone(), listener)
        });
        Ok(AbortGuard {
            controller,
            timed_out,
            timer: Some(timer),
            caller,
            armed: true,
        })
    }

    pub(crate) fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }

    /// Why the request (or its body) failed.
    pub(crate) fn classify(&self) -> SendError {
        if let Some((signal, _)) = &self.caller {
            if signal.aborted() {
                return SendError::CallerAbort(signal.reason());
            }
        }
        if self.timed_out.get() {
            SendError::Timeout
        } else {
            SendError::Network
        }
    }

    /// A promise that rejects when the guard aborts (deadline, caller, drop), at once if it
    /// already has. Raced against each wait, it bounds the wait whatever the engine does
    /// with the aborted fetch: WebKitGTK may never settle a pending read of its body.
    fn aborted(&self) -> js_sys::Promise {
        let signal = self.signal();
        let mut reject = None;
        let aborted = js_sys::Promise::new(&mut |_, no| reject = Some(no));
        if let Some(reject) = reject {
            signal.set_onabort(Some(&reject));
            if signal.aborted() {
                let _ = reject.call0(&JsValue::NULL);
            }
        }
        aborted
    }

    /// `value` (any value, a thenable too) settled, or the guard's abort, whichever comes
    /// first. `Promise.race` adopts the value in a fresh native promise: a throwing
    /// `then` or a non-promise becomes a rejection or a value, never a throw.
    fn race(&self, value: &JsValue) -> JsFuture {
        JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(
            value,
            &self.aborted(),
        )))
    }

    /// The exchange is complete: stop the deadline and let the request be.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
        self.timer = None;
        self.caller = None;
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if self.armed {
            abort(&self.controller, "health-proxy: request dropped");
        }
    }
}

/// Sends `init` (the caller's, copied) to `url`, aborted after `timeout_ms` or when
/// `caller` aborts. The guard stays armed so the body can be read under the same deadline.
/// Never follows a redirect (spec §4: it comes back as an answer, `opaqueredirect`);
/// without `credentials`, the copy sends no cookie and no `Authorization` header.
pub(crate) async fn send(
    url: &str,
    init: &RequestInit,
    timeout_ms: u32,
    caller: Option<&AbortSignal>,
    credentials: bool,
) -> Result<(Response, AbortGuard), SendError> {
    if let Some(signal) = caller {
        if signal.aborted() {
            return Err(SendError::CallerAbort(signal.reason()));
        }
    }
    let guard = AbortGuard::new(timeout_ms, caller).map_err(|_| SendError::Network)?;
    // One copy per request: the leader's and the follower's attempts share `init`.
    let own: RequestInit = js_sys::Object::assign(&js_sys::Object::new(), init).unchecked_into();
    own.set_signal(Some(&guard.signal()));
    // A plain property set: `set_redirect` brings the enum's table into the glue.
    let _ = js_sys::Reflect::set(&own, &"redirect".into(), &"manual".into());
    if !credentials {
        own.set_credentials(web_sys::RequestCredentials::Omit);
        // `new Headers(x)` takes every form fetch does and refuses what fetch refuses.
        let headers = web_sys::Headers::new_with_str_sequence_sequence(&own.get_headers())
            .map_err(SendError::Invalid)?;
        let _ = headers.delete("authorization");
        own.set_headers(&headers);
    }
    let request = web_sys::Request::new_with_str_and_init(url, &own).map_err(SendError::Invalid)?;
    // A fetch that throws, rejects with anything, or gives something other than a
    // Response is a network error (spec §4); the guard bounds a fetch that never settles.
    let fetched = global_fetch(&request).map_err(|_| guard.classify())?;
    match guard.race(&fetched).await.map(|v| v.dyn_into::<Response>()) {
        Ok(Ok(response)) => Ok((response, guard)),
        Ok(Err(_)) => Err(SendError::Network),
        Err(_) => Err(guard.classify()),
    }
}

/// Spec §2: makes `init` (the proxy's own copy of the caller's) carry the header `name`:
/// the caller's value when it set one (in any case), else a fresh random key. Returns the
/// key sent, or `None` when the headers cannot be read (fetch then refuses them too).
pub(crate) fn put_key(init: &RequestInit, name: &str) -> Option<String> {
    let given = init.get_headers();
    // `new Headers(x)` takes every form fetch does (a Headers, a record, a list of pairs,
    // or undefined) and refuses what fetch refuses.
    let headers = web_sys::Headers::new_with_str_sequence_sequence(&given).ok()?;
    if let Some(key) = headers.get(name).ok()? {
        return Some(key);
    }
    let key = super::env::random_uuid();
    headers.set(name, &key).ok()?;
    init.set_headers(&headers);
    Some(key)
}

/// A body whose declared `Content-Length` has at most this many digits (under 100,000
/// bytes) is taken in whole before the response is handed over: a stream of our own in
/// between costs each read 0.1–0.2 ms (benchmark section 11, CONTRIBUTING.md), and a body this
/// small comes with its head. A longer body, or one of unknown length, is streamed.
const SMALL_BODY_MAX_DIGITS: usize = 5;

/// Hands `response` over with `guard` still bounding its body (as reqwest's wasm backend
/// keeps its abort guard in the body), so the deadline bounds the server sending it, not
/// the caller reading it. A small body ([`SMALL_BODY_MAX_DIGITS`]) is read in full, from a clone,
/// before the response is handed over (a promise of it is returned); any other is piped
/// as it arrives into a stream the caller reads. A body the deadline cuts runs `on_stall`
/// and makes the caller's read reject, with the reason `on_stall` gives, else the
/// deadline's; the caller's own abort rejects with its reason. Finishing the body, or
/// having none, disarms the guard.
pub(crate) fn watch_body(
    response: Response,
    mut guard: AbortGuard,
    on_stall: impl FnOnce() -> Option<JsValue> + 'static,
) -> JsValue {
    let Some(body) = response.body() else {
        guard.disarm();
        return response.into();
    };
    // The deadline may have passed while the response was held (a leader's answer kept
    // while a probe or the follower was tried): not a stall of the server's.
    let late = guard.signal().aborted();
    let small = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .is_some_and(|n| {
            (1..=SMALL_BODY_MAX_DIGITS).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit())
        });
    // Held: a clone is read to its end, then the original, every byte of it in, is what
    // the caller gets (the Response fetch gave, untouched, with nothing left to hang on).
    // Streamed: the body is piped into the caller's stream, which the task below errors,
    // never the pipe, with the reason fetch would give. The pipe is raced against the
    // guard's abort: WebKit's pipe waits for its pending read of an aborted fetch body
    // before it ends, and WebKitGTK sometimes never settles that read.
    let (wait, streamed) = match small
        .then(|| response.clone().ok()?.array_buffer().ok())
        .flatten()
    {
        Some(drain) => (drain, None),
        None => {
            let Some((pipe, control, out)) = rewrap(&response) else {
                guard.disarm();
                return response.into();
            };
            let options = web_sys::StreamPipeOptions::new();
            options.set_prevent_abort(true);
            let pipe = body.pipe_to_with_options(&pipe.writable(), &options);
            (pipe, Some((control, out)))
        }
    };
    let first = guard.race(&wait);
    let mut settle = None;
    let handed: JsValue = match &streamed {
        Some((_, out)) => out.into(),
        None => js_sys::Promise::new(&mut |yes, no| settle = Some((yes, no))).into(),
    };
    super::spawn(async move {
        let outcome = first.await;
        // Why the body was cut short: the caller's own reason when its signal aborted
        // (`Err`), else the reason its read rejects with: `on_stall`'s or the deadline's
        // when the server stalled, the failure's own otherwise.
        let cut = outcome.err().map(|failed| match guard.classify() {
            SendError::CallerAbort(reason) => Err(reason),
            SendError::Timeout if !late => {
                Ok(on_stall().unwrap_or_else(|| guard.signal().reason()))
            }
            SendError::Timeout => Ok(guard.signal().reason()),
            _ => Ok(failed),
        });
        guard.disarm();
        if let Some((control, _)) = streamed {
            if let Some(reason) = cut {
                control.error_with_reason(&reason.unwrap_or_else(|r| r));
            }
            return;
        }
        let Some((yes, no)) = settle else {
            return;
        };
        let _ = match cut {
            None => yes.call1(&JsValue::NULL, &response),
            Some(Ok(reason)) => match rewrap(&response) {
                Some((_, control, out)) => {
                    control.error_with_reason(&reason);
                    yes.call1(&JsValue::NULL, &out)
                }
                None => no.call1(&JsValue::NULL, &reason),
            },
            // A held response was not handed over yet: fetch rejects, as fetch does.
            Some(Err(reason)) => no.call1(&JsValue::NULL, &reason),
        };
    });
    handed
}

/// A response like `original` whose body comes out of a new stream, with the stream's
/// controller (to error it); `url`, `redirected` and `type` are kept, as a constructed
/// Response would lose them.
fn rewrap(
    original: &Response,
) -> Option<(
    web_sys::TransformStream,
    TransformStreamDefaultController,
    Response,
)> {
    // `start(controller)` is the only moment a transformer sees its controller: a bound
    // `Array.prototype.push` keeps it, with no closure to allocate and free.
    let kept = js_sys::Array::new();
    let push: js_sys::Function = js_sys::Reflect::get(&kept, &JsValue::from_str("push"))
        .ok()?
        .unchecked_into();
    let transformer = web_sys::Transformer::new();
    transformer.set_start(&push.bind0(&kept));
    // The readable side takes every chunk at once, so the pipe drains the fetch body as
    // it arrives: the exchange (and its deadline) ends when the server has sent it all,
    // however slowly the caller then reads. A body that stalls is the server's doing.
    let eager = web_sys::QueuingStrategy::new();
    eager.set_high_water_mark(f64::INFINITY);
    let pipe =
        web_sys::TransformStream::new_with_transformer_and_writable_strategy_and_readable_strategy(
            &transformer,
            &web_sys::QueuingStrategy::new(),
            &eager,
        )
        .ok()?;
    let control = kept.get(0).dyn_into().ok()?;
    // A Response is itself a valid init: its `status`, `statusText` and `headers` are read.
    let out = Response::new_with_opt_readable_stream_and_init(
        Some(&pipe.readable()),
        original.unchecked_ref(),
    )
    .ok()?;
    for key in ["url", "redirected", "type"] {
        let key = JsValue::from_str(key);
        let value = js_sys::Reflect::get(original, &key).ok()?;
        let descriptor = js_sys::PropertyDescriptor::new_value(&value);
        js_sys::Object::define_property(&out, &key, descriptor.unchecked_ref());
    }
    Some((pipe, control, out))
}

/// Whether `response` is a redirect the proxy did not follow: `opaqueredirect` in a
/// browser, the redirect status itself where the platform shows it (Node).
pub(crate) fn is_redirect(response: &Response) -> bool {
    let kind = js_sys::Reflect::get(response, &"type".into()).ok();
    kind.and_then(|k| k.as_string()).as_deref() == Some("opaqueredirect")
        || matches!(response.status(), 301 | 302 | 303 | 307 | 308)
}

/// One health probe (spec §3): a credential-less simple GET that bypasses the HTTP
/// cache, aborted after `timeout_ms` or by `stop`. Why nothing came back (a timeout, a
/// network error: spec §11 counts them apart), or what did; the verdict on that is the
/// model's ([`health::is_healthy`]).
pub(crate) async fn probe(
    url: &str,
    home: &Base,
    timeout_ms: u32,
    read_body: bool,
    stop: &AbortSignal,
) -> Result<Reply, SendError> {
    // GET and mode "cors" are fetch's defaults; `send` omits credentials and follows no
    // redirect (a redirect is a status outside 2xx: a failure).
    let init = RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoStore);
    let (response, mut guard) = send(url, &init, timeout_ms, Some(stop), false).await?;
    let landed = response.url();
    let status = response.status();
    let body = if read_body && health::is_success(status) {
        match read_prefix(&response, &guard, health::BODY_LIMIT).await {
            Some(body) => body,
            None => return Err(guard.classify()),
        }
    } else {
        // Unread, the body would hold the connection until garbage collection.
        if let Some(stream) = response.body() {
            let _ = stream.cancel();
        }
        Vec::new()
    };
    guard.disarm();
    Ok(Reply {
        status,
        stayed_home: landed.is_empty() || path::under(&landed, &[home]).is_some(),
        body,
    })
}

/// Reads at most `limit` bytes of the body, then cancels the rest; each read is bounded
/// by the probe's deadline (`guard`), so a body that stalls fails the probe in time.
async fn read_prefix(response: &Response, guard: &AbortGuard, limit: usize) -> Option<Vec<u8>> {
    let Some(stream) = response.body() else {
        return Some(Vec::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut out = Vec::new();
    while out.len() < limit {
        let chunk: web_sys::ReadableStreamReadResult =
            guard.race(&reader.read()).await.ok()?.unchecked_into();
        if chunk.get_done().unwrap_or(true) {
            return Some(out);
        }
        let bytes = js_sys::Uint8Array::new(&chunk.get_value()).to_vec();
        let room = limit - out.len();
        out.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or(&bytes));
    }
    let _ = reader.cancel();
    Some(out)
}
