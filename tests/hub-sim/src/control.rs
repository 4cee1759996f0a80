//! The control API (switch faults, read counters) and its HTML panel.

use crate::api::{add_cors, err_json, preflight_response, Ms};
use crate::state::{lock, FollowerMode, LeaderMode, ModeName, Role, Sim};
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::Layer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

const PANEL_HTML: &str = include_str!("../assets/panel.html");
const PANEL_JS: &str = include_str!("../assets/panel.js");
const LISTENER_WAIT: Duration = Duration::from_secs(3);

type Sh = State<Arc<Sim>>;

fn json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn state(sim: &Sim) -> Response {
    json(lock(&sim.inner).state_json())
}

/// After a mode change, wait until the listening sockets match the modes, so that
/// a caller who gets the answer can rely on "refused" (or the re-bind) being in effect.
async fn settled_state(sim: &Sim) -> Response {
    sim.modes_changed();
    for role in [Role::Leader, Role::Follower] {
        if !sim.wait_listener(role, LISTENER_WAIT).await {
            let msg = format!(
                "{} listener did not reach the requested state (port busy?)",
                role.name()
            );
            sim.log.error(&format!("control: {msg}"));
            return err_json(StatusCode::INTERNAL_SERVER_ERROR, &msg);
        }
    }
    state(sim)
}

/// GET and PUT change state as POST does (so a person can drive it from a browser); HEAD never does.
fn head_refused(method: &Method) -> Option<Response> {
    (method == Method::HEAD).then(|| {
        err_json(
            StatusCode::METHOD_NOT_ALLOWED,
            "HEAD does not change state; use GET or POST",
        )
    })
}

async fn set_leader(
    State(sim): Sh,
    method: Method,
    Path(name): Path<String>,
    Query(q): Query<Ms>,
) -> Response {
    if let Some(r) = head_refused(&method) {
        return r;
    }
    let Some(mode) = LeaderMode::parse(&name) else {
        let valid = LeaderMode::valid_list();
        let msg = format!("unknown leader mode '{name}'; valid modes: {valid}");
        return err_json(StatusCode::BAD_REQUEST, &msg);
    };
    let ms = match q.ms.as_deref().map(str::parse::<u64>) {
        None => None,
        Some(Ok(ms)) => Some(ms),
        Some(Err(_)) => {
            let v = q.ms.unwrap_or_default();
            return err_json(StatusCode::BAD_REQUEST, &format!("invalid ms value '{v}'"));
        }
    };
    {
        let mut inner = lock(&sim.inner);
        inner.leader_mode = mode;
        inner.leader_since = Instant::now();
        match (mode, ms) {
            (LeaderMode::Slow, Some(ms)) => inner.slow_ms = ms,
            (LeaderMode::Flapping, Some(ms)) => inner.flap_ms = ms,
            _ => {}
        }
    }
    sim.log.info(&format!("control: leader -> {}", mode.name()));
    settled_state(&sim).await
}

async fn set_follower(State(sim): Sh, method: Method, Path(name): Path<String>) -> Response {
    if let Some(r) = head_refused(&method) {
        return r;
    }
    let Some(mode) = FollowerMode::parse(&name) else {
        let valid = FollowerMode::valid_list();
        let msg = format!("unknown follower mode '{name}'; valid modes: {valid}");
        return err_json(StatusCode::BAD_REQUEST, &msg);
    };
    lock(&sim.inner).follower_mode = mode;
    sim.log
        .info(&format!("control: follower -> {}", mode.name()));
    settled_state(&sim).await
}

async fn set_delay(State(sim): Sh, method: Method, Path(ms): Path<String>) -> Response {
    if let Some(r) = head_refused(&method) {
        return r;
    }
    match ms.parse::<u64>() {
        Ok(ms) => {
            lock(&sim.inner).delay_ms = ms;
            sim.log.info(&format!("control: delay -> {ms} ms"));
            state(&sim)
        }
        Err(_) => err_json(
            StatusCode::BAD_REQUEST,
            &format!("invalid delay '{ms}' (milliseconds expected)"),
        ),
    }
}

/// The next `n` leader API requests (not the health check, not preflights) are lost:
/// they hang unanswered until the client gives up, as on a lossy line.
async fn set_lose(State(sim): Sh, method: Method, Path(n): Path<String>) -> Response {
    if let Some(r) = head_refused(&method) {
        return r;
    }
    match n.parse::<u32>() {
        Ok(n) => {
            lock(&sim.inner).lose = n;
            sim.log
                .info(&format!("control: lose the next {n} leader API requests"));
            state(&sim)
        }
        Err(_) => err_json(
            StatusCode::BAD_REQUEST,
            &format!("invalid count '{n}' (a number of requests expected)"),
        ),
    }
}

/// `/allow-headers/{list}`: the leader's preflight answers allow only these request
/// headers (comma-separated, e.g. `content-type`); `/allow-headers/any` allows whatever a
/// preflight asks, as before. `reset` sets it back to `any`.
async fn set_allow_headers(State(sim): Sh, method: Method, Path(list): Path<String>) -> Response {
    if let Some(r) = head_refused(&method) {
        return r;
    }
    let allow = (list != "any").then_some(list);
    if allow
        .as_deref()
        .is_some_and(|l| HeaderValue::from_str(l).is_err())
    {
        return err_json(StatusCode::BAD_REQUEST, "not a header value");
    }
    sim.log.info(&format!(
        "control: leader preflights allow {}",
        allow.as_deref().unwrap_or("any header")
    ));
    lock(&sim.inner).allow_headers = allow;
    state(&sim)
}

/// `/reports-fail/{n}`: the leader answers the next `n` outage reports 503.
async fn set_reports_fail(State(sim): Sh, method: Method, Path(n): Path<String>) -> Response {
    if let Some(r) = head_refused(&method) {
        return r;
    }
    match n.parse::<u32>() {
        Ok(n) => {
            lock(&sim.inner).report_failures = n;
            sim.log
                .info(&format!("control: the next {n} reports fail (503)"));
            state(&sim)
        }
        Err(_) => err_json(
            StatusCode::BAD_REQUEST,
            &format!("invalid count '{n}' (a number of reports expected)"),
        ),
    }
}

/// The outage reports the leader took, as a JSON array, oldest first.
fn reports(sim: &Sim) -> Response {
    let list = serde_json::Value::Array(lock(&sim.inner).reports.clone());
    json(list.to_string())
}

async fn reset(State(sim): Sh, method: Method) -> Response {
    if let Some(r) = head_refused(&method) {
        return r;
    }
    lock(&sim.inner).reset(&sim.settings);
    sim.log.info("control: reset");
    settled_state(&sim).await
}

/// Preflights answer at once and only GET, HEAD, POST and PUT reach the routes; every
/// answer carries CORS (the control API is called from the pages' origin).
async fn envelope(req: Request, next: Next) -> Response {
    let req_headers = req.headers().clone();
    let mut r = match req.method().as_str() {
        "OPTIONS" => preflight_response(&req_headers),
        "GET" | "HEAD" | "POST" | "PUT" => next.run(req).await,
        _ => {
            let mut r = err_json(StatusCode::METHOD_NOT_ALLOWED, "use GET or POST");
            r.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, POST, PUT, OPTIONS"),
            );
            r
        }
    };
    add_cors(&mut r, &req_headers);
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-served-by", HeaderValue::from_static("control"));
    r
}

pub fn router(sim: Arc<Sim>) -> NormalizePath<Router> {
    let panel = || async {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            PANEL_HTML,
        )
    };
    let router = Router::new()
        .route("/", any(panel))
        .route("/index.html", any(panel))
        .route(
            "/panel.js",
            any(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    PANEL_JS,
                )
            }),
        )
        .route("/state", any(|State(sim): Sh| async move { state(&sim) }))
        .route(
            "/stats",
            any(|State(sim): Sh| async move { json(lock(&sim.inner).stats_json()) }),
        )
        .route("/reset", any(reset))
        .route("/leader/{mode}", any(set_leader))
        .route("/follower/{mode}", any(set_follower))
        .route("/delay/{ms}", any(set_delay))
        .route("/lose/{n}", any(set_lose))
        .route("/allow-headers/{list}", any(set_allow_headers))
        .route(
            "/reports",
            any(|State(sim): Sh| async move { reports(&sim) }),
        )
        .route("/reports-fail/{n}", any(set_reports_fail))
        .fallback(|| async { err_json(StatusCode::NOT_FOUND, "not found") })
        .layer(middleware::from_fn(envelope))
        .with_state(sim);
    // `/stats/` is `/stats`, as in the old simulator.
    NormalizePathLayer::trim_trailing_slash().layer(router)
}
