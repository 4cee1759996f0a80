//! A plain thread-per-connection keep-alive server used by the page and control servers.

use crate::api::{KEEPALIVE_IDLE, WRITE_TIMEOUT};
use crate::http::{self, ReadError, Request, Response};
use crate::state::Sim;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub type Handler = fn(&Sim, &Request) -> Response;

/// Accepts forever, one thread per connection.
pub fn run(sim: Arc<Sim>, name: &'static str, listener: TcpListener, handler: Handler) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let sim2 = Arc::clone(&sim);
                let spawned = std::thread::Builder::new()
                    .name(format!("{name}-conn"))
                    .spawn(move || serve_conn(&sim2, name, stream, peer, handler));
                if let Err(e) = spawned {
                    sim.log.error(&format!("{name}: cannot spawn thread: {e}"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                sim.log.error(&format!("{name}: accept failed: {e}"));
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Serves requests on one connection until it closes.
fn serve_conn(sim: &Sim, name: &str, mut stream: TcpStream, peer: SocketAddr, handler: Handler) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(KEEPALIVE_IDLE));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut buf = Vec::new();
    loop {
        let req = match http::read_request(&mut stream, &mut buf) {
            Ok(Some(r)) => r,
            Ok(None) | Err(ReadError::Closed) | Err(ReadError::Idle) => return,
            Err(ReadError::Io(e)) => {
                sim.log.info(&format!("{name}: {peer}: {e}; closing"));
                return;
            }
            Err(ReadError::Bad(status, msg)) => {
                sim.log.error(&format!(
                    "{name}: {peer}: bad request ({status} {msg}); closing"
                ));
                let mut r = Response::text(status, &msg);
                if name == "control" {
                    crate::api::add_cors(&mut r, None);
                }
                let _ = http::send(&mut stream, &r, false, true);
                return;
            }
        };
        let started = Instant::now();
        let resp = handler(sim, &req);
        let close = !req.keep_alive();
        if let Err(e) = http::send(&mut stream, &resp, req.is_head(), close) {
            sim.log.info(&format!("{name}: {peer}: write failed: {e}"));
            return;
        }
        sim.log.info(&format!(
            "{name}: {} {} -> {} ({} ms)",
            req.method,
            req.target,
            resp.status,
            started.elapsed().as_millis()
        ));
        if close {
            return;
        }
    }
}
