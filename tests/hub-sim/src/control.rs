//! The control API (switch faults, read counters) and its HTML panel.

use crate::api::{add_cors, preflight_response};
use crate::http::{Request, Response};
use crate::json;
use crate::state::{lock, FollowerMode, LeaderMode, Role, Sim};
use std::time::{Duration, Instant};

const PANEL_HTML: &str = include_str!("../assets/panel.html");
const PANEL_JS: &str = include_str!("../assets/panel.js");
const LISTENER_WAIT: Duration = Duration::from_secs(3);

fn err(status: u16, msg: &str) -> Response {
    Response::json(status, format!("{{\"error\":{}}}", json::s(msg)))
}

fn state(sim: &Sim) -> Response {
    Response::json(200, lock(&sim.inner).state_json())
}

/// After a mode change, wait until the listening sockets match the modes, so that
/// a caller who gets the answer can rely on "refused" (or the re-bind) being in effect.
fn settled_state(sim: &Sim) -> Response {
    for role in [Role::Leader, Role::Follower] {
        if !sim.wait_listener(role, LISTENER_WAIT) {
            let msg = format!(
                "{} listener did not reach the requested state (port busy?)",
                role.name()
            );
            sim.log.error(&format!("control: {msg}"));
            return err(500, &msg);
        }
    }
    state(sim)
}

fn parse_ms(req: &Request) -> Result<Option<u64>, Response> {
    match req.query_param("ms") {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| err(400, &format!("invalid ms value '{v}'"))),
    }
}

fn set_leader(sim: &Sim, req: &Request, name: &str) -> Response {
    let Some(mode) = LeaderMode::parse(name) else {
        return err(
            400,
            &format!(
                "unknown leader mode '{name}'; valid modes: {}",
                LeaderMode::valid_list()
            ),
        );
    };
    let ms = match parse_ms(req) {
        Ok(ms) => ms,
        Err(r) => return r,
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
    settled_state(sim)
}

fn set_follower(sim: &Sim, name: &str) -> Response {
    let Some(mode) = FollowerMode::parse(name) else {
        return err(
            400,
            &format!(
                "unknown follower mode '{name}'; valid modes: {}",
                FollowerMode::valid_list()
            ),
        );
    };
    lock(&sim.inner).follower_mode = mode;
    sim.log
        .info(&format!("control: follower -> {}", mode.name()));
    settled_state(sim)
}

fn route(sim: &Sim, req: &Request) -> Response {
    let method = req.method.as_str();
    if method == "OPTIONS" {
        return preflight_response(req);
    }
    let read_only = method == "GET" || method == "HEAD";
    // GET is accepted on every endpoint so a person can drive it from a browser; HEAD never mutates.
    let may_mutate = method == "GET" || method == "POST" || method == "PUT";
    if !read_only && !may_mutate {
        let mut r = err(405, "use GET or POST");
        r.set("Allow", "GET, HEAD, POST, PUT, OPTIONS");
        return r;
    }
    let path = req.path.trim_end_matches('/');
    match path {
        "" | "/index.html" => return Response::new(200, "text/html; charset=utf-8", PANEL_HTML),
        "/panel.js" => return Response::new(200, "text/javascript; charset=utf-8", PANEL_JS),
        "/state" => return state(sim),
        "/stats" => return Response::json(200, lock(&sim.inner).stats_json()),
        _ => {}
    }
    let is_mutation = path == "/reset"
        || ["/leader/", "/follower/", "/delay/"]
            .iter()
            .any(|p| path.starts_with(p));
    if !is_mutation {
        return err(404, "not found");
    }
    if !may_mutate {
        return err(405, "HEAD does not change state; use GET or POST");
    }
    if path == "/reset" {
        lock(&sim.inner).reset(&sim.settings);
        sim.log.info("control: reset");
        return settled_state(sim);
    }
    if let Some(mode) = path.strip_prefix("/leader/") {
        return set_leader(sim, req, mode);
    }
    if let Some(mode) = path.strip_prefix("/follower/") {
        return set_follower(sim, mode);
    }
    if let Some(ms) = path.strip_prefix("/delay/") {
        return match ms.parse::<u64>() {
            Ok(ms) => {
                lock(&sim.inner).delay_ms = ms;
                sim.log.info(&format!("control: delay -> {ms} ms"));
                state(sim)
            }
            Err(_) => err(
                400,
                &format!("invalid delay '{ms}' (milliseconds expected)"),
            ),
        };
    }
    err(404, "not found")
}

pub fn handle(sim: &Sim, req: &Request) -> Response {
    let mut r = route(sim, req);
    add_cors(&mut r, Some(req));
    r.set("Cache-Control", "no-store")
        .set("X-Served-By", "control");
    r
}
