//! The worker thread that runs the SDK's futures under the call's deadline (D5).
//!
//! The warm path never gets here: only a `get` that must ask AWS, and `list`'s priming, start
//! a runtime.

use crate::log;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long past the deadline the answer waits for a worker that is stuck in a blocking call
/// before it is given without it.
const STUCK_GRACE: Duration = Duration::from_millis(300);
/// The worker thread's stack: the main thread's size, as the SDK's futures are deep.
const WORKER_STACK: usize = 8 << 20;

/// Runs the future made by `make` on a single-threaded runtime in a worker thread until
/// `deadline`; `None` when time ran out or the runtime could not start.
///
/// The SDK reads token and cache files inline, blocking the runtime's thread (a FIFO, a hung
/// network mount), and dropping a runtime waits for its blocking tasks: so the work runs on a
/// thread of its own that is never joined. At the deadline its runtime drops the future (which
/// kills a running `credential_process`); if the thread is stuck in a blocking call instead,
/// the answer is given [`STUCK_GRACE`] later without it, and the process exits over it.
pub(crate) fn run_until<T, F, M>(deadline: Instant, make: M) -> Option<T>
where
    M: FnOnce() -> F + Send + 'static,
    F: Future<Output = T>,
    T: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("ecr-login-sdk".to_owned())
        .stack_size(WORKER_STACK)
        .spawn(move || {
            let Some(rt) = runtime() else {
                let _ = tx.send(None);
                return;
            };
            let out = rt.block_on(async { tokio::time::timeout_at(deadline.into(), make()).await });
            let _ = tx.send(out.ok());
            // Never wait for blocking tasks (a hung DNS lookup) on the way out.
            rt.shutdown_background();
        });
    if let Err(e) = spawned {
        log::error("Cannot start a thread", &[("error", &e.to_string())]);
        return None;
    }
    let wait = deadline.saturating_duration_since(Instant::now()) + STUCK_GRACE;
    match rx.recv_timeout(wait) {
        Ok(out) => out,
        Err(_) => {
            log::error(
                "The AWS credential chain is stuck in a blocking call (a FIFO or a hung mount?); answering without it",
                &[],
            );
            None
        }
    }
}

/// A single-threaded runtime with timers and I/O (`None`, logged, if it cannot start).
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            log::error(
                "Cannot start the async runtime",
                &[("error", &e.to_string())],
            );
            None
        }
    }
}
