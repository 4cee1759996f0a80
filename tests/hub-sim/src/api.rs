//! The leader and follower API servers, including fault modes.

use crate::http::{self, ReadError, Request, Response};
use crate::json;
use crate::state::{lock, ConnHandle, Effective, Role, Sim};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(75);
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
const ACCEPT_POLL: Duration = Duration::from_millis(5);
const HANG_POLL: Duration = Duration::from_millis(20);
const HANG_MAX: Duration = Duration::from_secs(300);
const MAX_SLEEP_MS: u64 = 600_000;

pub const NGINX_502: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
pub const NGINX_503: &str = "<html><head><title>503 Service Unavailable</title></head><body><center><h1>503 Service Unavailable</h1></center><hr><center>nginx</center></body></html>";
pub const PORTAL: &str =
    "<html><body><h1>Welcome to CoffeeShop WiFi</h1><p>Please log in</p></body></html>";

struct Page {
    id: u64,
    title: &'static str,
    body: &'static str,
    updated_at: &'static str,
}

const PAGES: [Page; 4] = [
    Page {
        id: 1,
        title: "Welcome",
        body: "Welcome to the company hub. Start here for everything you need on your first day.",
        updated_at: "2026-11-01",
    },
    Page {
        id: 2,
        title: "Emergency contacts",
        body: "Facilities: +1 555 0100. IT on call: +1 555 0199. Security desk: +1 555 0111.",
        updated_at: "2026-11-02",
    },
    Page {
        id: 3,
        title: "Opening hours",
        body: "The office is open Monday to Friday, 08:00-18:00. Closed on public holidays.",
        updated_at: "2026-11-03",
    },
    Page {
        id: 4,
        title: "How to report an outage",
        body: "Post in #incidents and page the on-call engineer. Include what you saw and when.",
        updated_at: "2026-11-04",
    },
];

const FILES: [(&str, u64); 3] = [
    ("handbook.pdf", 123_456),
    ("holiday-calendar.ics", 4_096),
    ("floor-plan.png", 987_654),
];

fn page_json(p: &Page) -> String {
    format!(
        "{{\"id\":{},\"title\":{},\"body\":{},\"updatedAt\":{}}}",
        p.id,
        json::s(p.title),
        json::s(p.body),
        json::s(p.updated_at)
    )
}

/// Adds the CORS headers every leader/follower/control response carries.
pub fn add_cors(resp: &mut Response, req: Option<&Request>) {
    let origin = req
        .and_then(|r| r.header("origin"))
        .unwrap_or("*")
        .to_string();
    resp.set("Access-Control-Allow-Origin", origin);
    resp.set("Vary", "Origin");
    resp.set(
        "Access-Control-Expose-Headers",
        "X-Served-By, X-Request-Count",
    );
}

/// Adds the preflight-specific headers (in addition to `add_cors`).
pub fn add_preflight(resp: &mut Response, req: &Request) {
    resp.set(
        "Access-Control-Allow-Methods",
        "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
    );
    let allow_headers = req
        .header("access-control-request-headers")
        .filter(|h| !h.trim().is_empty())
        .unwrap_or("content-type");
    resp.set("Access-Control-Allow-Headers", allow_headers.to_string());
    resp.set("Access-Control-Max-Age", "0");
}

pub fn preflight_response(req: &Request) -> Response {
    let mut r = Response::empty(204);
    add_preflight(&mut r, req);
    r
}

fn err_json(status: u16, msg: &str) -> Response {
    Response::json(status, format!("{{\"error\":{}}}", json::s(msg)))
}

fn sleep_ms(ms: u64) {
    if ms > 0 {
        std::thread::sleep(Duration::from_millis(ms.min(MAX_SLEEP_MS)));
    }
}

/// The normal ("up") behaviour of an API server.
fn route(sim: &Sim, role: Role, req: &Request) -> Response {
    let who = json::s(role.name());
    let method = req.method.as_str();
    if method == "OPTIONS" {
        return preflight_response(req);
    }
    let is_get = method == "GET" || method == "HEAD";
    if role == Role::Follower && !is_get {
        let mut r = err_json(405, "read-only replica");
        r.set("Allow", "GET, HEAD, OPTIONS");
        return r;
    }
    let path = req.path.as_str();
    // An application error while the server itself is healthy, e.g. `/api/status/503`
    // (any method: a write can meet one too).
    if let Some(code) = path.strip_prefix("/api/status/") {
        return match code.parse::<u16>() {
            Ok(code @ 200..=599) => err_json(code, "status requested by the client"),
            _ => err_json(400, "status must be 200-599"),
        };
    }
    if path == "/api/echo" {
        let mut headers: Vec<(String, String)> = Vec::new();
        for (k, v) in &req.headers {
            let k = k.to_ascii_lowercase();
            match headers.iter_mut().find(|(n, _)| *n == k) {
                Some((_, existing)) => {
                    existing.push_str(", ");
                    existing.push_str(v);
                }
                None => headers.push((k, v.clone())),
            }
        }
        let headers: Vec<String> = headers
            .iter()
            .map(|(k, v)| format!("{}:{}", json::s(k), json::s(v)))
            .collect();
        return Response::json(
            200,
            format!(
                "{{\"servedBy\":{who},\"method\":{},\"path\":{},\"headers\":{{{}}},\"body\":{}}}",
                json::s(method),
                json::s(&req.target),
                headers.join(","),
                json::s(&String::from_utf8_lossy(&req.body))
            ),
        );
    }
    if is_get {
        match path {
            "/health" => {
                return Response::json(200, format!("{{\"status\":\"ok\",\"role\":{who}}}"))
            }
            "/health/slow" => {
                let ms = req
                    .query_param("ms")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                sleep_ms(ms);
                return Response::json(200, format!("{{\"status\":\"ok\",\"role\":{who}}}"));
            }
            "/api/pages" => {
                let pages: Vec<String> = PAGES.iter().map(page_json).collect();
                return Response::json(
                    200,
                    format!("{{\"servedBy\":{who},\"pages\":[{}]}}", pages.join(",")),
                );
            }
            "/api/files" => {
                let files: Vec<String> = FILES
                    .iter()
                    .map(|(n, s)| format!("{{\"name\":{},\"size\":{s}}}", json::s(n)))
                    .collect();
                return Response::json(
                    200,
                    format!("{{\"servedBy\":{who},\"files\":[{}]}}", files.join(",")),
                );
            }
            "/api/hub/links" if role == Role::Leader => {
                return Response::json(
                    200,
                    "{\"servedBy\":\"leader\",\"links\":[{\"title\":\"Game server\",\"href\":\"/hub/game\"},{\"title\":\"Experiments\",\"href\":\"/hub/lab\"}]}",
                );
            }
            "/api/notes" => {
                let notes: Vec<String> = if role == Role::Leader {
                    lock(&sim.inner)
                        .notes
                        .iter()
                        .map(|n| {
                            format!(
                                "{{\"id\":{},\"text\":{},\"clientId\":{}}}",
                                n.id,
                                json::s(&n.text),
                                json::s(&n.client_id)
                            )
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                return Response::json(
                    200,
                    format!("{{\"servedBy\":{who},\"notes\":[{}]}}", notes.join(",")),
                );
            }
            _ => {}
        }
        // A body that stalls: the head and a first part, then nothing (see the connection loop).
        if path == "/api/stall" {
            return Response::json(200, format!("{{\"servedBy\":{who},\"part\":\""));
        }
        // A slow answer from a healthy server (its health check stays fast): `/api/slow?ms=600`.
        if path == "/api/slow" {
            let ms = req
                .query_param("ms")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                .min(60_000);
            sleep_ms(ms);
            return Response::json(200, format!("{{\"servedBy\":{who},\"sleptMs\":{ms}}}"));
        }
        if let Some(id) = path.strip_prefix("/api/pages/") {
            return match PAGES.iter().find(|p| id.parse::<u64>().ok() == Some(p.id)) {
                Some(p) => Response::json(
                    200,
                    format!("{{\"servedBy\":{who},\"page\":{}}}", page_json(p)),
                ),
                None => err_json(404, "page not found"),
            };
        }
    }
    if method == "POST" && path == "/api/notes" && role == Role::Leader {
        return match json::parse_note_body(&req.body) {
            Ok((text, client_id)) => {
                let mut inner = lock(&sim.inner);
                let id = inner.next_note_id;
                inner.next_note_id += 1;
                inner.notes.push(crate::state::Note {
                    id,
                    text,
                    client_id,
                });
                Response::json(201, format!("{{\"servedBy\":\"leader\",\"id\":{id}}}"))
            }
            Err(e) => err_json(400, &format!("bad JSON: {e}")),
        };
    }
    err_json(404, "not found")
}

/// How a blackout hang ended.
#[derive(PartialEq, Eq, Debug)]
enum HangEnd {
    Client,
    Server,
    Timeout,
}

/// Holds a blackout connection open without answering until the client goes away.
fn hang(stream: &mut TcpStream, handle: &ConnHandle, since: Instant) -> HangEnd {
    if stream.set_read_timeout(Some(HANG_POLL)).is_err() {
        return HangEnd::Client;
    }
    let mut tmp = [0u8; 4096];
    loop {
        if handle.is_killed() {
            return HangEnd::Server;
        }
        if since.elapsed() >= HANG_MAX {
            return HangEnd::Timeout;
        }
        match stream.read(&mut tmp) {
            Ok(0) => {
                return if handle.is_killed() {
                    HangEnd::Server
                } else {
                    HangEnd::Client
                }
            }
            Ok(_) => continue, // more bytes (e.g. a pipelined request): swallowed too
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(_) => {
                return if handle.is_killed() {
                    HangEnd::Server
                } else {
                    HangEnd::Client
                }
            }
        }
    }
}

struct Unregister<'a> {
    sim: &'a Sim,
    role: Role,
    id: u64,
}

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.sim.net(self.role).registry.unregister(self.id);
    }
}

fn handle_conn(sim: &Sim, role: Role, mut stream: TcpStream, handle: ConnHandle, peer: SocketAddr) {
    let _unregister = Unregister {
        sim,
        role,
        id: handle.id,
    };
    let name = role.name();
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(KEEPALIVE_IDLE));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut buf = Vec::new();
    loop {
        if handle.is_killed() {
            return;
        }
        let req = match http::read_request(&mut stream, &mut buf) {
            Ok(Some(r)) => r,
            Ok(None) | Err(ReadError::Closed) | Err(ReadError::Idle) => return,
            Err(ReadError::Io(e)) => {
                if !handle.is_killed() {
                    sim.log.info(&format!("{name}: {peer}: {e}; closing"));
                }
                return;
            }
            Err(ReadError::Bad(status, msg)) => {
                if handle.is_killed() || sim.is_refused(role) {
                    return;
                }
                sim.log.error(&format!(
                    "{name}: {peer}: bad request ({status} {msg}); closing"
                ));
                let mut r = err_json(status, &msg);
                add_cors(&mut r, None);
                r.set("X-Served-By", name).set("Cache-Control", "no-store");
                let _ = http::send(&mut stream, &r, false, true);
                return;
            }
        };
        let arrived = Instant::now();
        // Count on arrival and resolve the mode, atomically.
        let (eff, delay, slow, count, epoch) = {
            let mut inner = lock(&sim.inner);
            if handle.is_killed() || inner.is_refused(role) {
                drop(inner);
                sim.log.info(&format!(
                    "{name}: {} {} -> (refused: closed without response)",
                    req.method, req.target
                ));
                return;
            }
            let acrm = req.header("access-control-request-method");
            let count = inner.counters(role).count(&req.method, &req.path, acrm);
            let eff = inner.effective(role);
            if eff == Effective::Blackout {
                inner.counters(role).hangs_open += 1;
            }
            (eff, inner.delay_ms, inner.slow_ms, count, inner.epoch)
        };
        if eff == Effective::Blackout {
            let end = hang(&mut stream, &handle, arrived);
            let ms = u64::try_from(arrived.elapsed().as_millis()).unwrap_or(u64::MAX);
            sim.end_hang(role, epoch, ms, end == HangEnd::Client);
            sim.log.info(&format!(
                "{name}: {} {} -> (blackout: no answer; {end:?} closed after {ms} ms)",
                req.method, req.target
            ));
            return;
        }
        let is_options = req.method == "OPTIONS";
        let mut resp = match eff {
            Effective::Down if !is_options => {
                let (status, body) = if role == Role::Leader {
                    (502, NGINX_502)
                } else {
                    (503, NGINX_503)
                };
                let mut r = Response::new(status, "text/html", body);
                r.set("Server", "nginx");
                r
            }
            Effective::WrongBody => {
                let mut r = Response::new(200, "text/html", PORTAL);
                if is_options {
                    add_preflight(&mut r, &req);
                }
                r
            }
            Effective::Slow if !is_options => {
                sleep_ms(slow);
                route(sim, role, &req)
            }
            _ => route(sim, role, &req),
        };
        sleep_ms(delay);
        if handle.is_killed() {
            // Switched to "refused" while we were working: the host is gone.
            return;
        }
        add_cors(&mut resp, Some(&req));
        if resp.get("Server").is_none() {
            resp.set("Server", "hub-sim");
        }
        resp.set("X-Served-By", name)
            .set("Cache-Control", "no-store")
            .set("X-Request-Count", count.to_string());
        if req.path == "/api/stall" && resp.status == 200 && !req.is_head() {
            // Announce more body than is sent, then hold the connection like a blackout.
            let head_and_part = String::from_utf8_lossy(&resp.to_bytes(false, false)).replacen(
                &format!("Content-Length: {}", resp.body.len()),
                &format!("Content-Length: {}", resp.body.len() + 1000),
                1,
            );
            if stream.write_all(head_and_part.as_bytes()).is_ok() && stream.flush().is_ok() {
                let end = hang(&mut stream, &handle, arrived);
                sim.log.info(&format!(
                    "{name}: GET /api/stall -> body stalled; {end:?} closed"
                ));
            }
            return;
        }
        let close = !req.keep_alive();
        let status = resp.status;
        if let Err(e) = http::send(&mut stream, &resp, req.is_head(), close) {
            if !handle.is_killed() {
                sim.log.info(&format!("{name}: {peer}: write failed: {e}"));
            }
            return;
        }
        sim.log.info(&format!(
            "{name}: {} {} -> {status} ({} ms)",
            req.method,
            req.target,
            arrived.elapsed().as_millis()
        ));
        if close {
            return;
        }
    }
}

fn bind_nonblocking(addr: SocketAddr) -> io::Result<TcpListener> {
    let l = TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Runs the accept loop of an API server forever. The listener is polled every few
/// milliseconds so that "refused" can drop it and later modes can re-bind the port.
pub fn run_acceptor(sim: Arc<Sim>, role: Role, initial: TcpListener) {
    let name = role.name();
    let net = sim.net(role);
    let addr = match initial.local_addr() {
        Ok(a) => a,
        Err(e) => {
            sim.log
                .error(&format!("{name}: cannot read listener address: {e}"));
            return;
        }
    };
    let mut listener = match initial.set_nonblocking(true) {
        Ok(()) => Some(initial),
        Err(e) => {
            sim.log
                .error(&format!("{name}: set_nonblocking failed: {e}; re-binding"));
            None
        }
    };
    net.listening.store(listener.is_some(), Ordering::SeqCst);
    let mut bind_error_logged = false;
    loop {
        let refused = sim.is_refused(role);
        if refused && listener.is_some() {
            listener = None; // closes the listening socket: connects now get ECONNREFUSED
            let n = net.registry.kill_all();
            net.listening.store(false, Ordering::SeqCst);
            sim.log.info(&format!(
                "{name}: refused: listening socket closed, {n} open connection(s) closed"
            ));
        } else if !refused && listener.is_none() {
            match bind_nonblocking(addr) {
                Ok(l) => {
                    listener = Some(l);
                    net.listening.store(true, Ordering::SeqCst);
                    bind_error_logged = false;
                    sim.log.info(&format!("{name}: listening again on {addr}"));
                }
                Err(e) => {
                    if !bind_error_logged {
                        sim.log
                            .error(&format!("{name}: cannot re-bind {addr}: {e} (retrying)"));
                        bind_error_logged = true;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            }
        }
        if let Some(l) = &listener {
            loop {
                match l.accept() {
                    Ok((stream, peer)) => spawn_conn(&sim, role, stream, peer),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        sim.log.error(&format!("{name}: accept failed: {e}"));
                        break;
                    }
                }
            }
        }
        std::thread::sleep(ACCEPT_POLL);
    }
}

fn spawn_conn(sim: &Arc<Sim>, role: Role, stream: TcpStream, peer: SocketAddr) {
    // Register before spawning, in the acceptor thread, so that a later switch to
    // "refused" (handled by this same thread) is guaranteed to see the connection.
    let Some(handle) = sim.net(role).registry.register(&stream) else {
        sim.log.error(&format!(
            "{}: cannot clone socket for {peer}; dropping connection",
            role.name()
        ));
        return;
    };
    let id = handle.id;
    let sim2 = Arc::clone(sim);
    let spawned = std::thread::Builder::new()
        .name(format!("{}-conn", role.name()))
        .spawn(move || handle_conn(&sim2, role, stream, handle, peer));
    if let Err(e) = spawned {
        sim.net(role).registry.unregister(id);
        sim.log
            .error(&format!("{}: cannot spawn thread: {e}", role.name()));
    }
}
