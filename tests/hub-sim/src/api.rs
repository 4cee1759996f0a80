//! The leader and follower API servers: their routes, and the fault modes wrapped around them.

use crate::serve::Conn;
use crate::state::{lock, Counters, Effective, Inner, Note, Role, Sim, REPORTS_PATH};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Json, Router};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a blackout holds a request before the "host" drops it (no client waits this long).
const HANG_MAX: Duration = Duration::from_secs(300);
const MAX_SLEEP_MS: u64 = 600_000;
pub const MAX_BODY: usize = 16 * 1024 * 1024;

pub const NGINX_502: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
pub const NGINX_503: &str = "<html><head><title>503 Service Unavailable</title></head><body><center><h1>503 Service Unavailable</h1></center><hr><center>nginx</center></body></html>";
pub const PORTAL: &str =
    "<html><body><h1>Welcome to CoffeeShop WiFi</h1><p>Please log in</p></body></html>";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
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

#[derive(Serialize)]
struct File {
    name: &'static str,
    size: u64,
}

const FILES: [File; 3] = [
    File {
        name: "handbook.pdf",
        size: 123_456,
    },
    File {
        name: "holiday-calendar.ics",
        size: 4_096,
    },
    File {
        name: "floor-plan.png",
        size: 987_654,
    },
];

#[derive(Serialize)]
struct Link {
    title: &'static str,
    href: &'static str,
}

const LINKS: [Link; 2] = [
    Link {
        title: "Game server",
        href: "/hub/game",
    },
    Link {
        title: "Experiments",
        href: "/hub/lab",
    },
];

/// A body that names the server first: `{"servedBy":"leader", ...}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Served<T> {
    served_by: &'static str,
    #[serde(flatten)]
    data: T,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    role: &'static str,
}

#[derive(Serialize)]
struct Error<'a> {
    error: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewNote {
    text: String,
    client_id: Option<String>,
}

/// Request headers in arrival order, lower-case names, repeated ones joined with ", ".
struct EchoHeaders(Vec<(String, String)>);

impl Serialize for EchoHeaders {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct Echo<'a> {
    method: &'a str,
    path: &'a str,
    headers: EchoHeaders,
    body: String,
}

/// `?ms=N`, as given: the API reads one that is absent or not a number as 0 (as the old
/// simulator did); the control API refuses one that is not a number.
#[derive(Deserialize)]
pub struct Ms {
    pub ms: Option<String>,
}

impl Ms {
    fn get(&self) -> u64 {
        self.ms.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

#[derive(Clone)]
struct Api {
    sim: Arc<Sim>,
    role: Role,
}

impl Api {
    fn served<T: Serialize>(&self, status: StatusCode, data: T) -> Response {
        (
            status,
            Json(Served {
                served_by: self.role.name(),
                data,
            }),
        )
            .into_response()
    }
}

pub fn err_json(status: StatusCode, msg: &str) -> Response {
    (status, Json(Error { error: msg })).into_response()
}

async fn not_found() -> Response {
    err_json(StatusCode::NOT_FOUND, "not found")
}

async fn sleep_ms(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms.min(MAX_SLEEP_MS))).await;
    }
}

fn set(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// The CORS headers every leader, follower and control response carries: the request's
/// origin (or `*`), credentials allowed to that origin (so a test can see which requests
/// carry cookies), and our two headers exposed to scripts.
pub fn add_cors(resp: &mut Response, req_headers: &HeaderMap) {
    let origin = req_headers.get(header::ORIGIN).cloned();
    let h = resp.headers_mut();
    if origin.is_some() {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        origin.unwrap_or(HeaderValue::from_static("*")),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Served-By, X-Request-Count"),
    );
}

/// The preflight-specific headers (in addition to `add_cors`).
fn add_preflight(resp: &mut Response, req_headers: &HeaderMap) {
    add_preflight_allowing(resp, req_headers, None);
}

/// The preflight headers, allowing the headers `allow` lists, or whatever is asked.
fn add_preflight_allowing(resp: &mut Response, req_headers: &HeaderMap, allow: Option<&str>) {
    let allow_headers = allow
        .and_then(|a| HeaderValue::from_str(a).ok())
        .or_else(|| {
            req_headers
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .filter(|h| !h.as_bytes().trim_ascii().is_empty())
                .cloned()
        })
        .unwrap_or(HeaderValue::from_static("content-type"));
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("0"),
    );
}

pub fn preflight_response(req_headers: &HeaderMap) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    add_preflight(&mut r, req_headers);
    r
}

fn html(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

async fn health(State(a): State<Api>) -> Response {
    Json(Health {
        status: "ok",
        role: a.role.name(),
    })
    .into_response()
}

async fn health_slow(State(a): State<Api>, Query(q): Query<Ms>) -> Response {
    sleep_ms(q.get()).await;
    health(State(a)).await
}

/// A slow answer from a healthy server (its health check stays fast): `/api/slow?ms=600`,
/// GET or POST (a write the page gives up on while the server still takes it).
async fn slow(State(a): State<Api>, Query(q): Query<Ms>) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Slept {
        slept_ms: u64,
    }
    let ms = q.get().min(60_000);
    sleep_ms(ms).await;
    a.served(StatusCode::OK, Slept { slept_ms: ms })
}

/// `/api/redirect/{code}?to=URL`: the leader answers `code` (a 3xx) with `Location: URL`,
/// as a compromised or misconfigured server would send a request elsewhere; the
/// follower answers as `/api/echo` does, so a read that fails over gets an answer.
async fn redirect(
    State(a): State<Api>,
    Path(code): Path<String>,
    Query(q): Query<To>,
    req: Request,
) -> Response {
    if a.role == Role::Follower {
        return echo(State(a), req).await;
    }
    let status = code
        .parse::<u16>()
        .ok()
        .filter(|c| (300..400).contains(c))
        .and_then(|c| StatusCode::from_u16(c).ok());
    let (Some(status), Some(to)) = (status, q.to) else {
        return err_json(StatusCode::BAD_REQUEST, "use /api/redirect/3xx?to=URL");
    };
    Response::builder()
        .status(status)
        .header(header::LOCATION, to)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| err_json(StatusCode::BAD_REQUEST, "bad Location"))
}

#[derive(Deserialize)]
struct To {
    to: Option<String>,
}

/// A redirect to `/api/pages` on the same server: `/api/moved` (302).
async fn moved() -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, "/api/pages")
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| err_json(StatusCode::INTERNAL_SERVER_ERROR, "moved"))
}

/// A large body, sent as fast as the connection takes it: `/api/big?kb=8192` (at most
/// 64 MiB) of `x`. For a client that reads a body later than its deadline.
async fn big(Query(q): Query<Kb>) -> Response {
    let kb =
        q.kb.as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0usize);
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(axum::body::Body::from(vec![b'x'; kb.min(65_536) * 1024]))
        .unwrap_or_else(|_| err_json(StatusCode::INTERNAL_SERVER_ERROR, "big"))
}

#[derive(Deserialize)]
struct Kb {
    kb: Option<String>,
}

/// A body that stalls: the head and a first part of the body, then nothing, ever (the
/// client's deadline must end it). `/api/stall`, GET or POST (a write's answer can stall
/// too); `?length=N` declares a `Content-Length` of N bytes (a body of known length, which
/// the library takes in whole before it hands the response over), else none is declared.
async fn stall(State(a): State<Api>, Query(q): Query<Length>) -> Response {
    let first = format!("{{\"servedBy\":\"{}\",\"part\":\"", a.role.name());
    let length = q.length.as_deref().and_then(|v| v.parse::<usize>().ok());
    stalled(&first, length.map(|n| n.max(first.len() + 1)))
}

#[derive(Deserialize)]
struct Length {
    length: Option<String>,
}

/// A 200 JSON head (with `Content-Length: length` when given) and `first`, then nothing, ever.
fn stalled(first: &str, length: Option<usize>) -> Response {
    let mut head = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(length) = length {
        head = head.header(header::CONTENT_LENGTH, length);
    }
    head.body(axum::body::Body::new(Stall(Some(first.to_string().into()))))
        .unwrap_or_else(|_| err_json(StatusCode::INTERNAL_SERVER_ERROR, "stall"))
}

/// Yields its one chunk, then stays pending until the connection is dropped.
struct Stall(Option<bytes::Bytes>);

impl http_body::Body for Stall {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match self.0.take() {
            Some(chunk) => std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk)))),
            None => std::task::Poll::Pending,
        }
    }
}

/// An application error while the server itself is healthy, e.g. `/api/status/503`
/// (any method: a write can meet one too).
async fn status(Path(code): Path<String>) -> Response {
    match code.parse::<u16>() {
        Ok(code @ 200..=599) => err_json(
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "status requested by the client",
        ),
        _ => err_json(StatusCode::BAD_REQUEST, "status must be 200-599"),
    }
}

/// One of the listed files, as a download (the demo's stand-in for a file store: the
/// leader's own store while it is up, the AWS bucket's copy while it is not).
async fn download(State(a): State<Api>, Path(name): Path<String>) -> Response {
    if !FILES.iter().any(|f| f.name == name) {
        return err_json(StatusCode::NOT_FOUND, "no such file");
    }
    let body = format!("{name}: a stand-in file, served by the {}\n", a.role.name());
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(axum::body::Body::from(body))
        .unwrap_or_else(|_| err_json(StatusCode::INTERNAL_SERVER_ERROR, "download"))
}

async fn pages(State(a): State<Api>) -> Response {
    #[derive(Serialize)]
    struct Pages {
        pages: &'static [Page],
    }
    a.served(StatusCode::OK, Pages { pages: &PAGES })
}

async fn page(State(a): State<Api>, Path(id): Path<String>) -> Response {
    #[derive(Serialize)]
    struct One {
        page: &'static Page,
    }
    match PAGES.iter().find(|p| id.parse::<u64>().ok() == Some(p.id)) {
        Some(page) => a.served(StatusCode::OK, One { page }),
        None => err_json(StatusCode::NOT_FOUND, "page not found"),
    }
}

async fn files(State(a): State<Api>) -> Response {
    #[derive(Serialize)]
    struct Files {
        files: &'static [File],
    }
    a.served(StatusCode::OK, Files { files: &FILES })
}

async fn links(State(a): State<Api>) -> Response {
    #[derive(Serialize)]
    struct Links {
        links: &'static [Link],
    }
    a.served(StatusCode::OK, Links { links: &LINKS })
}

/// The leader's notes; the follower (a replica that lags) has none.
async fn notes(State(a): State<Api>) -> Response {
    #[derive(Serialize)]
    struct Notes {
        notes: Vec<Note>,
    }
    let notes = match a.role {
        Role::Leader => lock(&a.sim.inner).notes.clone(),
        Role::Follower => Vec::new(),
    };
    a.served(StatusCode::OK, Notes { notes })
}

async fn add_note(State(a): State<Api>, body: Bytes) -> Response {
    #[derive(Serialize)]
    struct Created {
        id: u64,
    }
    let note: NewNote = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => return err_json(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")),
    };
    let id = {
        let mut inner = lock(&a.sim.inner);
        let id = inner.next_note_id;
        inner.next_note_id += 1;
        inner.notes.push(Note {
            id,
            text: note.text,
            client_id: note.client_id.unwrap_or_default(),
        });
        id
    };
    a.served(StatusCode::CREATED, Created { id })
}

/// `POST /reports` on the leader (spec §11): a report is a JSON object with a string
/// `id`; it is stored as sent (the control API's `/reports` lists them), unless
/// `/reports-fail/{n}` asked for the next ones to fail (503, as a leader's failing app).
async fn take_report(State(a): State<Api>, body: Bytes) -> Response {
    #[derive(Serialize)]
    struct Stored {
        stored: usize,
    }
    let report: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return err_json(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")),
    };
    if !report.get("id").is_some_and(serde_json::Value::is_string) {
        return err_json(
            StatusCode::BAD_REQUEST,
            "a report is an object with a string id",
        );
    }
    let stored = {
        let mut inner = lock(&a.sim.inner);
        if inner.report_failures > 0 {
            inner.report_failures -= 1;
            return err_json(StatusCode::SERVICE_UNAVAILABLE, "reports fail for now");
        }
        inner.reports.push(report);
        inner.reports.len()
    };
    a.served(StatusCode::CREATED, Stored { stored })
}

async fn echo(State(a): State<Api>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in &parts.headers {
        let v = String::from_utf8_lossy(v.as_bytes());
        match headers.iter_mut().find(|(n, _)| n == k.as_str()) {
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(&v);
            }
            None => headers.push((k.as_str().to_string(), v.into_owned())),
        }
    }
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return err_json(StatusCode::PAYLOAD_TOO_LARGE, &e.to_string()),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    a.served(
        StatusCode::OK,
        Echo {
            method: parts.method.as_str(),
            path,
            headers: EchoHeaders(headers),
            body: String::from_utf8_lossy(&body).into_owned(),
        },
    )
}

/// The routes of one API server, inside the fault layer.
pub fn router(sim: Arc<Sim>, role: Role) -> Router {
    let api = Api { sim, role };
    let mut r = Router::new()
        .route("/health", get(health))
        .route("/health/slow", get(health_slow))
        .route("/api/pages", get(pages))
        .route("/api/pages/{*id}", get(page))
        .route("/api/files", get(files))
        .route("/files/{name}", get(download))
        .route("/api/slow", get(slow).post(slow))
        .route("/api/status/{*code}", any(status))
        .route("/api/stall", get(stall).post(stall))
        .route("/api/big", get(big))
        .route("/api/moved", get(moved))
        .route("/api/echo", any(echo))
        .route("/api/redirect/{code}", any(redirect));
    r = match role {
        Role::Leader => r
            .route("/api/hub/links", get(links))
            .route("/api/notes", get(notes).post(add_note))
            .route(REPORTS_PATH, axum::routing::post(take_report)),
        Role::Follower => r.route("/api/notes", get(notes)),
    };
    r.fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(api.clone(), faults))
        .with_state(api)
}

/// What the old simulator did before routing: preflights answer at once, and the
/// follower (a read-only replica) refuses writes.
async fn route(a: &Api, req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS {
        let allow = match a.role {
            Role::Leader => lock(&a.sim.inner).allow_headers.clone(),
            Role::Follower => None,
        };
        let mut r = StatusCode::NO_CONTENT.into_response();
        add_preflight_allowing(&mut r, req.headers(), allow.as_deref());
        return r;
    }
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let is_redirect = req.uri().path().starts_with("/api/redirect/");
    if a.role == Role::Follower && !is_get && !is_redirect {
        let mut r = err_json(StatusCode::METHOD_NOT_ALLOWED, "read-only replica");
        set(&mut r, "allow", "GET, HEAD, OPTIONS");
        return r;
    }
    next.run(req).await
}

/// What the mode makes of one request, resolved (and counted) when it arrives.
struct Arrival {
    eff: Effective,
    delay_ms: u64,
    slow_ms: u64,
    /// The side's `requests` counter after this one: sent back as `X-Request-Count`.
    count: u64,
    epoch: u64,
    /// The end of the `jitter` hiccup it arrived in.
    held: Option<Instant>,
}

/// The fault modes around the routes: counts each request on arrival, then answers as
/// the current mode says (or never answers, or closes the connection).
async fn faults(
    State(a): State<Api>,
    Extension(conn): Extension<Conn>,
    req: Request,
    next: Next,
) -> Response {
    let what = format!(
        "{} {}",
        req.method(),
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let arrived = Instant::now();
    let Some(arrival) = arrive(&a, &conn, &req, arrived) else {
        log(&a, &what, "(refused: closed without response)");
        return conn.close().await;
    };
    if arrival.eff == Effective::Blackout {
        return hang(&a, &conn, req, arrived, arrival.epoch, what).await;
    }
    // A hiccup of mode `jitter`: everything that arrives waits for its end (preflights too).
    if let Some(end) = arrival.held {
        tokio::time::sleep_until(end.into()).await;
    }
    let req_headers = req.headers().clone();
    let cors = has_cors(a.role, arrival.eff, req.method());
    let mut resp = answer(&a, &arrival, req, next).await;
    sleep_ms(arrival.delay_ms).await;
    if cors {
        add_cors(&mut resp, &req_headers);
    }
    stamp(&mut resp, a.role, arrival.count);
    let status = resp.status().as_u16();
    let ms = arrived.elapsed().as_millis();
    log(&a, &what, &format!("{status} ({ms} ms)"));
    resp
}

/// Counts the request and resolves the mode, atomically; `None` when the side refuses
/// connections (or the connection is already gone): nothing arrived.
fn arrive(a: &Api, conn: &Conn, req: &Request, arrived: Instant) -> Option<Arrival> {
    let mut inner = lock(&a.sim.inner);
    if conn.is_closed() || inner.is_refused(a.role) {
        return None;
    }
    let count = count(inner.counters(a.role), req);
    let mut eff = inner.effective(a.role);
    if lost(&mut inner, a.role, req) {
        eff = Effective::Blackout;
    }
    if eff == Effective::Blackout {
        inner.counters(a.role).hangs_open += 1;
    }
    let held = match a.role {
        Role::Leader => inner.hiccup_end(arrived),
        Role::Follower => None,
    };
    Some(Arrival {
        eff,
        delay_ms: inner.delay_ms,
        slow_ms: inner.slow_ms,
        count,
        epoch: inner.epoch,
        held,
    })
}

/// Counts one arriving request: by kind and path, a write's idempotency key, a report
/// that carries a cookie, a probe's `Host`. Returns the new `requests` value.
fn count(counters: &mut Counters, req: &Request) -> u64 {
    let (method, path, headers) = (req.method(), req.uri().path(), req.headers());
    let acrm = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|v| v.to_str().ok());
    let count = counters.count(method.as_str(), path, acrm);
    let write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(key) = headers.get("idempotency-key").filter(|_| write) {
        let key = String::from_utf8_lossy(key.as_bytes()).into_owned();
        counters.write_keys.push(key);
    }
    if *method == Method::POST && path == REPORTS_PATH && headers.contains_key(header::COOKIE) {
        counters.report_cookies += 1;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    counters.count_host(method.as_str(), path, host);
    count
}

/// `/lose/{n}`: the next leader API requests (not preflights, not probes) are lost,
/// held unanswered as a blackout holds them. Takes one from the count.
fn lost(inner: &mut Inner, role: Role, req: &Request) -> bool {
    let lost = role == Role::Leader
        && inner.lose > 0
        && req.method() != Method::OPTIONS
        && req.uri().path().starts_with("/api/");
    if lost {
        inner.lose -= 1;
    }
    lost
}

/// NGINX's own error page for a dead upstream carries no CORS headers unless its config
/// adds them with `always` (the README's acme-hub.conf does): the browser then sees a
/// network error, not a 502 it can read.
fn has_cors(role: Role, eff: Effective, method: &Method) -> bool {
    !(eff == Effective::Down && method != Method::OPTIONS && role == Role::Leader)
}

/// The answer of the mode (the routes' own when it is up).
async fn answer(a: &Api, arrival: &Arrival, req: Request, next: Next) -> Response {
    let is_options = req.method() == Method::OPTIONS;
    match arrival.eff {
        Effective::Down if !is_options => {
            let mut r = match a.role {
                Role::Leader => html(StatusCode::BAD_GATEWAY, NGINX_502),
                Role::Follower => html(StatusCode::SERVICE_UNAVAILABLE, NGINX_503),
            };
            set(&mut r, "server", "nginx");
            r
        }
        Effective::WrongBody => {
            let mut r = html(StatusCode::OK, PORTAL);
            if is_options {
                add_preflight(&mut r, req.headers());
            }
            r
        }
        Effective::HealthStall if req.uri().path().starts_with("/health") && !is_options => {
            stalled(r#"{"status":"#, None)
        }
        Effective::Slow if !is_options => {
            sleep_ms(arrival.slow_ms).await;
            route(a, req, next).await
        }
        _ => route(a, req, next).await,
    }
}

/// The headers every answer of the API servers carries: who served it (the server's
/// own `Server` kept, as NGINX's), no caching, and the request count.
fn stamp(resp: &mut Response, role: Role, count: u64) {
    if !resp.headers().contains_key(header::SERVER) {
        set(resp, "server", "hub-sim");
    }
    set(resp, "x-served-by", role.name());
    set(resp, "cache-control", "no-store");
    set(resp, "x-request-count", &count.to_string());
}

/// One line of the request log: `leader: GET /api/pages -> 200 (3 ms)`.
fn log(a: &Api, what: &str, outcome: &str) {
    a.sim
        .log
        .info(&format!("{}: {what} -> {outcome}", a.role.name()));
}

/// Ends a blackout hang when its request future is dropped: by hyper when the client
/// closes, by the connection's owner when the "host" goes (refused) or the hang times out.
struct HangEnd<'a> {
    a: &'a Api,
    conn: &'a Conn,
    arrived: Instant,
    epoch: u64,
    what: String,
    timed_out: bool,
}

impl Drop for HangEnd<'_> {
    fn drop(&mut self) {
        let ms = u64::try_from(self.arrived.elapsed().as_millis()).unwrap_or(u64::MAX);
        let client = !self.conn.is_closed();
        self.a.sim.end_hang(self.a.role, self.epoch, ms, client);
        let by = match (client, self.timed_out) {
            (true, _) => "client",
            (false, true) => "timeout",
            (false, false) => "server",
        };
        self.a.sim.log.info(&format!(
            "{}: {} -> (blackout: no answer; closed by {by} after {ms} ms)",
            self.a.role.name(),
            self.what
        ));
    }
}

/// A blackout: the request was accepted and is never answered.
async fn hang(
    a: &Api,
    conn: &Conn,
    req: Request,
    arrived: Instant,
    epoch: u64,
    what: String,
) -> Response {
    let mut end = HangEnd {
        a,
        conn,
        arrived,
        epoch,
        what,
        timed_out: false,
    };
    // Take the whole body in: hyper watches for the client closing only once the
    // request has been read, and a dropped body would stop it reading at all.
    let _ = axum::body::to_bytes(req.into_body(), MAX_BODY).await;
    tokio::select! {
        () = tokio::time::sleep(HANG_MAX.saturating_sub(arrived.elapsed())) => end.timed_out = true,
        () = conn.closed() => {}
    }
    // `end` lives in this future until the connection drops it.
    conn.close().await
}
