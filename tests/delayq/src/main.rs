//! `delayq --queue N --delay-ms MS`: takes the packets iptables sends to NFQUEUE N and lets
//! each through MS milliseconds after it arrived, in arrival order: a far line.
//!
//! Prints `ready` once bound. SIGTERM or SIGINT lets every held packet through at once,
//! unbinds and exits 0, so stopping it never drops a packet.

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::VecDeque;
    use std::io::{ErrorKind, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    static STOP: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_signal(_: libc::c_int) {
        STOP.store(true, Ordering::SeqCst);
    }

    #[derive(Debug)]
    pub struct Args {
        pub queue: u16,
        pub delay: Duration,
    }

    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut queue = 0u16;
        let mut delay = None;
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--queue" => {
                    queue = value
                        .parse()
                        .map_err(|_| format!("--queue: not a queue number: {value}"))?
                }
                "--delay-ms" => {
                    let ms: u64 = value
                        .parse()
                        .map_err(|_| format!("--delay-ms: not a whole number: {value}"))?;
                    delay = Some(Duration::from_millis(ms));
                }
                _ => {
                    return Err(format!(
                        "unknown argument {flag} (usage: delayq --queue N --delay-ms MS)"
                    ))
                }
            }
        }
        Ok(Args {
            queue,
            delay: delay.ok_or("--delay-ms is required")?,
        })
    }

    pub fn run(args: Args) -> std::io::Result<()> {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
            libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        }
        let mut queue = nfq::Queue::open()?;
        queue.bind(args.queue)?;
        // Only the verdict matters: the kernel keeps the packet, we get its id.
        queue.set_copy_range(args.queue, 0)?;
        queue.set_queue_max_len(args.queue, 65_536)?;
        queue.set_nonblocking(true);
        println!("ready");
        std::io::stdout().flush()?;

        let mut held: VecDeque<(Instant, nfq::Message)> = VecDeque::new();
        let mut passed = 0u64;
        while !STOP.load(Ordering::SeqCst) {
            loop {
                match queue.recv() {
                    Ok(msg) => held.push_back((Instant::now() + args.delay, msg)),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => break,
                    Err(e) => return Err(e),
                }
            }
            let now = Instant::now();
            while held.front().is_some_and(|(due, _)| *due <= now) {
                if let Some((_, mut msg)) = held.pop_front() {
                    msg.set_verdict(nfq::Verdict::Accept);
                    queue.verdict(msg)?;
                    passed += 1;
                }
            }
            // The socket has no poll handle in this crate: a 1 ms tick bounds the added error.
            std::thread::sleep(Duration::from_millis(1));
        }
        let released = held.len();
        for (_, mut msg) in held {
            msg.set_verdict(nfq::Verdict::Accept);
            queue.verdict(msg)?;
        }
        queue.unbind(args.queue)?;
        println!("stopped: {passed} packets delayed, {released} released at stop");
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    let args = match linux::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("delayq: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    match linux::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("delayq: {e} (it needs root and an NFQUEUE rule: see tests/e2e/realnet.mjs)");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("delayq: netfilter queues exist on Linux only");
    std::process::ExitCode::FAILURE
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::linux::parse;
    use std::time::Duration;

    fn args(s: &str) -> impl Iterator<Item = String> {
        s.split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn reads_queue_and_delay() {
        let a = parse(args("--queue 3 --delay-ms 400")).unwrap();
        assert_eq!((a.queue, a.delay), (3, Duration::from_millis(400)));
        assert_eq!(parse(args("--delay-ms 5")).unwrap().queue, 0);
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert!(parse(args("--queue 1"))
            .unwrap_err()
            .contains("--delay-ms is required"));
        assert!(parse(args("--delay-ms x"))
            .unwrap_err()
            .contains("not a whole number"));
        assert!(parse(args("--queue 70000 --delay-ms 1"))
            .unwrap_err()
            .contains("not a queue number"));
        assert!(parse(args("--delay 1"))
            .unwrap_err()
            .contains("unknown argument --delay"));
        assert!(parse(args("--queue"))
            .unwrap_err()
            .contains("needs a value"));
    }
}
