//! The static page server: `/pkg/...` from `--pkg`, everything else from `--www`, all
//! under the landing page's Content-Security-Policy, gzipped for browsers that accept it;
//! and the demo console at `/demo/`.

use crate::state::Sim;
use axum::extract::{Request, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http://127.0.0.1:* http://localhost:*; img-src 'self' data:; style-src 'self'";

const CONSOLE_HTML: &str = include_str!("../assets/console.html");
const CONSOLE_JS: &str = include_str!("../assets/console.js");
const CONSOLE_CSS: &str = include_str!("../assets/console.css");

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The landing page's headers on every answer, errors included.
async fn page_headers(req: Request, next: Next) -> Response {
    let mut r = if req.method() == Method::GET || req.method() == Method::HEAD {
        next.run(req).await
    } else {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        r
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// Where the console finds the control API and the two servers it watches.
#[derive(Serialize)]
struct Servers {
    control: String,
    leader: String,
    follower: String,
}

async fn servers(State(sim): State<Arc<Sim>>) -> Json<Servers> {
    let s = &sim.settings;
    let url = |port: u16| format!("http://{}:{port}", crate::url_host(&s.host));
    Json(Servers {
        control: url(s.control_port),
        leader: url(s.leader_port),
        follower: url(s.follower_port),
    })
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

pub fn router(sim: Arc<Sim>) -> Router {
    let not_found = || async { text(StatusCode::NOT_FOUND, "not found\n") };
    let www = ServeDir::new(&sim.settings.www).not_found_service(not_found.into_service());
    let pkg = ServeDir::new(&sim.settings.pkg).not_found_service(not_found.into_service());
    Router::new()
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route(
            "/demo/",
            get(|| async { asset("text/html; charset=utf-8", CONSOLE_HTML) }),
        )
        .route(
            "/demo/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", CONSOLE_JS) }),
        )
        .route(
            "/demo/console.css",
            get(|| async { asset("text/css; charset=utf-8", CONSOLE_CSS) }),
        )
        .route("/demo/servers.json", get(servers))
        .nest_service("/pkg", pkg)
        .fallback_service(www)
        .layer(middleware::from_fn(page_headers))
        // gzip when the browser asks for it, as S3 behind CloudFront or Amplify serve it.
        .layer(CompressionLayer::new())
        .with_state(sim)
}
