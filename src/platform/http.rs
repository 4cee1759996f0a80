//! Fetch through the global `fetch`, with an abort guard (as reqwest's wasm backend): a
//! timeout really aborts the request and is reported as a timeout, a caller's own
//! `signal` still aborts, and dropping an unfinished request aborts it.

use super::timer::Timeout;
use crate::cat;
use crate::core::health;
use crate::prelude::*;
use ::core::cell::Cell;
use alloc::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, Request, Response};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &Request) -> js_sys::Promise;
}

/// Why a request produced no response.
pub enum SendError {
    /// No answer within the timeout; the request was aborted.
    Timeout,
    /// Connection refused or reset, DNS, CORS: the browser's `TypeError`.
    Network,
    /// The caller's own signal aborted it: its reason, to hand back unchanged.
    CallerAbort(JsValue),
    /// The request could not even be built (bad headers, a GET with a body, …).
    Invalid(JsValue),
}

/// Aborts the request on timeout or when dropped, unless disarmed once it is done.
pub struct AbortGuard {
    controller: AbortController,
    timed_out: Rc<Cell<bool>>,
    timer: Option<Timeout>,
    link: Option<(AbortSignal, Closure<dyn FnMut()>)>,
    armed: bool,
}

impl AbortGuard {
    fn new(timeout_ms: u32, linked: Option<&AbortSignal>) -> Result<AbortGuard, JsValue> {
        let controller = AbortController::new()?;
        let timed_out = Rc::new(Cell::new(false));
        let timer = {
            let controller = controller.clone();
            let timed_out = timed_out.clone();
            Timeout::new(timeout_ms, move || {
                timed_out.set(true);
                controller.abort();
            })
        };
        let link = linked.map(|signal| {
            let controller = controller.clone();
            let on_abort = Closure::<dyn FnMut()>::new(move || controller.abort());
            let _ =
                signal.add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
            (signal.clone(), on_abort)
        });
        Ok(AbortGuard {
            controller,
            timed_out,
            timer: Some(timer),
            link,
            armed: true,
        })
    }

    pub fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }

    fn classify(&self) -> SendError {
        if let Some((signal, _)) = &self.link {
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

    /// The request is complete (or handed to the caller): stop the timer, keep it alive.
    pub fn disarm(&mut self) {
        self.armed = false;
        self.timer = None;
        self.unlink();
    }

    fn unlink(&mut self) {
        if let Some((signal, on_abort)) = self.link.take() {
            let _ = signal
                .remove_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        }
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if self.armed {
            self.controller.abort();
        }
        self.unlink();
    }
}

/// Sends `init` (a plain object, copied from the caller's) to `url`, aborted after
/// `timeout_ms` or when `linked` aborts. The guard stays armed so the body can be read
/// under the same deadline; disarm it to hand the response on.
pub async fn send(
    url: &str,
    init: &js_sys::Object,
    timeout_ms: u32,
    linked: Option<&AbortSignal>,
) -> Result<(Response, AbortGuard), SendError> {
    if let Some(signal) = linked {
        if signal.aborted() {
            return Err(SendError::CallerAbort(signal.reason()));
        }
    }
    let guard = AbortGuard::new(timeout_ms, linked).map_err(|_| SendError::Network)?;
    let init = js_sys::Object::assign(&js_sys::Object::new(), init);
    js_sys::Reflect::set(&init, &JsValue::from_str("signal"), &guard.signal())
        .map_err(SendError::Invalid)?;
    let request =
        Request::new_with_str_and_init(url, init.unchecked_ref()).map_err(SendError::Invalid)?;
    match JsFuture::from(global_fetch(&request)).await {
        Ok(value) => match value.dyn_into::<Response>() {
            Ok(response) => Ok((response, guard)),
            Err(_) => Err(SendError::Network),
        },
        Err(_) => Err(guard.classify()),
    }
}

/// One health probe (spec §3): a credential-less simple GET that bypasses the HTTP
/// cache, aborted after `timeout_ms`; healthy only for a 2xx that stayed under `home`
/// and, with `expect`, whose first 4 KiB contain it.
pub async fn probe(
    url: &str,
    home: &str,
    timeout_ms: u32,
    expect: Option<&str>,
    linked: &AbortSignal,
) -> bool {
    // A plain object, not web_sys::RequestInit: its typed setters and enums would each
    // add a binding to the package.
    let init = js_sys::Object::new();
    for (key, value) in [
        ("method", "GET"),
        ("mode", "cors"),
        ("credentials", "omit"),
        ("cache", "no-store"),
        ("redirect", "follow"),
    ] {
        let _ = js_sys::Reflect::set(&init, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    let Ok((response, mut guard)) = send(url, &init, timeout_ms, Some(linked)).await else {
        return false;
    };
    let landed = response.url();
    let stayed_home = landed.is_empty() || landed.starts_with(&cat!(home, '/'));
    let status = response.status();
    let body = match expect {
        Some(_) if (200..300).contains(&status) => {
            match read_prefix(&response, health::BODY_LIMIT).await {
                Some(body) => body,
                None => return false,
            }
        }
        _ => {
            // Unread, the body would hold the connection until garbage collection.
            if let Some(stream) = response.body() {
                let _ = stream.cancel();
            }
            Vec::new()
        }
    };
    guard.disarm();
    health::is_healthy(status, stayed_home, &body, expect)
}

/// Reads at most `limit` bytes of the body, then cancels the rest.
async fn read_prefix(response: &Response, limit: usize) -> Option<Vec<u8>> {
    let Some(stream) = response.body() else {
        return Some(Vec::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut out = Vec::new();
    while out.len() < limit {
        let chunk = JsFuture::from(reader.read()).await.ok()?;
        let done = js_sys::Reflect::get(&chunk, &JsValue::from_str("done")).ok()?;
        if done.is_truthy() {
            return Some(out);
        }
        let value = js_sys::Reflect::get(&chunk, &JsValue::from_str("value")).ok()?;
        let bytes = js_sys::Uint8Array::new(&value).to_vec();
        let room = limit - out.len();
        out.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or(&bytes));
    }
    let _ = reader.cancel();
    Some(out)
}
