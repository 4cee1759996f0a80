//! `fetch` through the proxy (spec §2–§3): route, send with a timeout, and on a leader
//! failure let a probe decide — a critical read then gets one retry on the follower;
//! nothing else is ever retried.

use super::{probe, Inner};
use crate::core::error::ErrorCode;
use crate::core::routing::{Decision, Plan, Target};
use crate::core::{HealthProxyError, Source, State};
use crate::platform::http::{self, SendError};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortSignal, Response};

pub enum Failure {
    /// The proxy's own refusal or verdict.
    Proxy(HealthProxyError),
    /// The caller's abort reason or the browser's own error for an unbuildable request,
    /// handed back unchanged.
    Js(JsValue),
}

impl From<HealthProxyError> for Failure {
    fn from(e: HealthProxyError) -> Self {
        Failure::Proxy(e)
    }
}

/// The caller's `init`, copied to a plain object, with what routing needs from it.
struct CallerInit {
    init: js_sys::Object,
    method: String,
    signal: Option<AbortSignal>,
}

fn read_init(init: &JsValue) -> Result<CallerInit, HealthProxyError> {
    let copy = js_sys::Object::new();
    if init.is_undefined() || init.is_null() {
        return Ok(CallerInit {
            init: copy,
            method: "GET".to_string(),
            signal: None,
        });
    }
    let Some(object) = init
        .dyn_ref::<js_sys::Object>()
        .filter(|_| init.is_object())
    else {
        return Err(HealthProxyError::path(
            "init must be an object like fetch's RequestInit",
        ));
    };
    let copy = js_sys::Object::assign(&copy, object);
    let method = match js_sys::Reflect::get(&copy, &JsValue::from_str("method")) {
        Ok(m) if m.is_undefined() || m.is_null() => "GET".to_string(),
        Ok(m) => m.as_string().ok_or_else(|| {
            HealthProxyError::path("init.method must be a string such as \"POST\"")
        })?,
        Err(_) => "GET".to_string(),
    };
    let signal = js_sys::Reflect::get(&copy, &JsValue::from_str("signal"))
        .ok()
        .and_then(|s| s.dyn_into::<AbortSignal>().ok());
    Ok(CallerInit {
        init: copy,
        method,
        signal,
    })
}

pub async fn fetch(
    inner: &Rc<Inner>,
    path_or_url: &str,
    init: &JsValue,
) -> Result<Response, Failure> {
    let caller = read_init(init)?;
    let config = &inner.config;
    let plan = Plan::new(config, path_or_url, &caller.method)?;
    let mut state = inner.machine.borrow().state();
    if state == State::Unknown {
        state = probe::shared(inner, Source::Probe).await.state;
    }
    match plan.decide(state) {
        Decision::Wait => Err(plan.refusal(ErrorCode::NotReady, &caller.method).into()),
        Decision::Refuse(code) => Err(plan.refusal(code, &caller.method).into()),
        Decision::Send(Target::Follower) => via_follower(inner, &plan, &caller).await,
        Decision::Send(Target::Leader) => via_leader(inner, &plan, &caller).await,
    }
}

async fn via_leader(
    inner: &Rc<Inner>,
    plan: &Plan<'_>,
    caller: &CallerInit,
) -> Result<Response, Failure> {
    let config = &inner.config;
    let timeout = config.request_timeout_ms;
    let (answer, why) = match http::send(
        &plan.url(config, Target::Leader),
        &caller.init,
        timeout,
        caller.signal.as_ref(),
    )
    .await
    {
        Ok((response, mut guard)) => {
            guard.disarm();
            if !config.is_failover_status(response.status()) {
                return Ok(response);
            }
            let why = format!("the leader answered {}", response.status());
            (Some(response), why)
        }
        Err(SendError::CallerAbort(reason)) | Err(SendError::Invalid(reason)) => {
            return Err(Failure::Js(reason))
        }
        Err(SendError::Timeout) => (
            None,
            format!("the leader did not answer within {timeout} ms"),
        ),
        Err(SendError::Network) => (
            None,
            "the leader could not be reached (network error)".to_string(),
        ),
    };

    // A failed request is only a hint: the verdict comes from a probe.
    let state = probe::shared(inner, Source::Request).await.state;
    let what = format!("{} {}", caller.method.to_ascii_uppercase(), plan.rel);
    if !plan.read {
        return Err(HealthProxyError::new(
            ErrorCode::LeaderUnavailable,
            format!("{what}: {why}; a write is never retried, so check whether it took effect before sending it again"),
        )
        .into());
    }
    if state == State::Leader {
        // The probe found the leader healthy: its own answer, if it gave one.
        return match answer {
            Some(response) => Ok(response),
            None => Err(HealthProxyError::new(
                ErrorCode::LeaderUnavailable,
                format!("{what}: {why}"),
            )
            .into()),
        };
    }
    if let Some(response) = answer {
        if let Some(body) = response.body() {
            let _ = body.cancel();
        }
    }
    match plan.decide(state) {
        Decision::Send(Target::Follower) => via_follower(inner, plan, caller).await,
        Decision::Refuse(code) => {
            let refusal = plan.refusal(code, &caller.method);
            Err(HealthProxyError::new(code, format!("{} ({why})", refusal.message)).into())
        }
        Decision::Send(Target::Leader) | Decision::Wait => Err(HealthProxyError::new(
            ErrorCode::LeaderUnavailable,
            format!("{what}: {why}"),
        )
        .into()),
    }
}

async fn via_follower(
    inner: &Rc<Inner>,
    plan: &Plan<'_>,
    caller: &CallerInit,
) -> Result<Response, Failure> {
    let config = &inner.config;
    let timeout = config.request_timeout_ms;
    let why = match http::send(
        &plan.url(config, Target::Follower),
        &caller.init,
        timeout,
        caller.signal.as_ref(),
    )
    .await
    {
        Ok((response, mut guard)) => {
            guard.disarm();
            if config.is_failover_status(response.status()) {
                // Let a probe tell emergency from offline for the next request.
                probe::spawn(inner, Source::Request);
            }
            return Ok(response);
        }
        Err(SendError::CallerAbort(reason)) | Err(SendError::Invalid(reason)) => {
            return Err(Failure::Js(reason))
        }
        Err(SendError::Timeout) => format!("the follower did not answer within {timeout} ms"),
        Err(SendError::Network) => "the follower could not be reached (network error)".to_string(),
    };
    probe::spawn(inner, Source::Request);
    Err(HealthProxyError::new(
        ErrorCode::Offline,
        format!(
            "{} {}: the leader is unavailable and {why}; this client appears to be offline",
            caller.method.to_ascii_uppercase(),
            plan.rel
        ),
    )
    .into())
}
