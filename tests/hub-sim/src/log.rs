//! Request and error lines on stderr, written by a thread of their own so that a parent
//! that never drains our stderr cannot stall the servers.

use std::io::Write as _;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::time::Instant;

pub struct Logger {
    tx: Option<SyncSender<String>>,
    quiet: bool,
    start: Instant,
}

impl Logger {
    pub fn new(quiet: bool) -> Self {
        let (tx, rx) = sync_channel::<String>(4096);
        let spawned = std::thread::Builder::new()
            .name("log".into())
            .spawn(move || {
                let stderr = std::io::stderr();
                for line in rx {
                    let _ = writeln!(stderr.lock(), "{line}");
                }
            });
        Logger {
            tx: spawned.ok().map(|_| tx),
            quiet,
            start: Instant::now(),
        }
    }

    fn put(&self, msg: &str) {
        if let Some(tx) = &self.tx {
            let t = self.start.elapsed();
            // A full queue drops the line rather than block a request.
            let _ = tx.try_send(format!(
                "[{:>4}.{:03}] {msg}",
                t.as_secs(),
                t.subsec_millis()
            ));
        }
    }

    /// Per-request / informational lines (suppressed by --quiet).
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            self.put(msg);
        }
    }

    /// Problems worth seeing even with --quiet.
    pub fn error(&self, msg: &str) {
        self.put(msg);
    }
}
