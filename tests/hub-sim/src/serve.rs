//! Serving connections with hyper: the plain accept loop (page, control) and the API
//! servers' loop, whose listening socket is closed while their mode is "refused".

use crate::state::{Role, Sim};
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower::{Service, ServiceExt};

/// A keep-alive connection idle this long (or a request head this slow) is closed.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(75);

/// The connection a request arrived on, in the request's extensions: closing it drops the
/// socket without an answer (and drops every request future still running on it).
#[derive(Clone)]
pub struct Conn(CancellationToken);

impl Conn {
    pub fn is_closed(&self) -> bool {
        self.0.is_cancelled()
    }

    pub async fn closed(&self) {
        self.0.cancelled().await;
    }

    /// Closes the connection without answering. Never returns: the future is dropped.
    pub async fn close(&self) -> Response {
        self.0.cancel();
        std::future::pending().await
    }
}

/// What a server answers with: an axum router, possibly wrapped in tower layers.
pub trait Svc:
    Service<Request<Incoming>, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static
{
}

impl<S> Svc for S where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static
{
}

async fn serve_conn<S: Svc>(
    sim: Arc<Sim>,
    name: &'static str,
    stream: TcpStream,
    peer: SocketAddr,
    svc: S,
    token: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let conn = Conn(token.clone());
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(conn.clone());
        svc.clone().oneshot(req)
    });
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(KEEPALIVE_IDLE)
        .title_case_headers(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        r = served => if let Err(e) = r {
            sim.log.info(&format!("{name}: {peer}: {e}; closed"));
        },
        // Dropping the connection closes the socket and drops the request in progress.
        () = token.cancelled() => {}
    }
}

/// Accepts forever, one task per connection.
pub async fn run<S: Svc>(sim: Arc<Sim>, name: &'static str, listener: TcpListener, svc: S) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let conn = serve_conn(
                    sim.clone(),
                    name,
                    stream,
                    peer,
                    svc.clone(),
                    CancellationToken::new(),
                );
                tokio::spawn(conn);
            }
            Err(e) => {
                sim.log.error(&format!("{name}: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Accepts for one API server, following its mode: "refused" closes the listening socket
/// and every open connection (as a host that went away); leaving it binds the port again.
pub async fn run_api<S: Svc>(sim: Arc<Sim>, role: Role, initial: TcpListener, svc: S) {
    let name = role.name();
    let addr = match initial.local_addr() {
        Ok(a) => a,
        Err(e) => {
            sim.log
                .error(&format!("{name}: cannot read listener address: {e}"));
            return;
        }
    };
    let mut modes = sim.modes.subscribe();
    let mut listener = Some(initial);
    // The parent of every open connection's token.
    let mut open = CancellationToken::new();
    let mut bind_error_logged = false;
    loop {
        let refused = sim.is_refused(role);
        if refused && listener.is_some() {
            listener = None; // connects now get ECONNREFUSED
            open.cancel();
            open = CancellationToken::new();
            sim.log.info(&format!(
                "{name}: refused: listening socket and open connections closed"
            ));
        } else if !refused && listener.is_none() {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    listener = Some(l);
                    bind_error_logged = false;
                    sim.log.info(&format!("{name}: listening again on {addr}"));
                }
                Err(e) => {
                    if !bind_error_logged {
                        sim.log
                            .error(&format!("{name}: cannot re-bind {addr}: {e} (retrying)"));
                        bind_error_logged = true;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        sim.listening(role).send_replace(listener.is_some());
        let Some(l) = &listener else {
            let _ = modes.changed().await;
            continue;
        };
        tokio::select! {
            r = l.accept() => match r {
                Ok((stream, peer)) => {
                    let conn = serve_conn(sim.clone(), name, stream, peer, svc.clone(), open.child_token());
                    tokio::spawn(conn);
                }
                Err(e) => {
                    sim.log.error(&format!("{name}: accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            _ = modes.changed() => {}
        }
    }
}
