//! The log's writer: lines gather in memory and one thread writes them out
//! a few milliseconds later, many per system call.
//!
//! The gateway logs a line per decision. Handing each line to a writer
//! thread over a channel costs a wake-up of that thread and a `write` per
//! line; under load that was a tenth of a request's CPU. Here a line costs
//! a lock and a copy, and the writer wakes on a timer, or early when much
//! is waiting.
//!
//! Nothing is dropped: past [`Limits::max_pending`] bytes a logging thread
//! writes the waiting lines out itself before adding its own.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How much may wait, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a line waits before the writer thread writes it.
    pub interval: Duration,
    /// Waiting bytes that wake the writer thread before its interval ends.
    pub wake_at: usize,
    /// Waiting bytes past which a logging thread writes them out itself.
    pub max_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            interval: Duration::from_millis(20),
            wake_at: 256 << 10,
            max_pending: 8 << 20,
        }
    }
}

/// What the logging threads and the writer thread share.
struct Shared<W> {
    pending: Mutex<Pending>,
    /// Where lines go. Whoever writes holds it from taking the waiting bytes
    /// until they are written, so lines leave in the order they were logged,
    /// and a logging thread never waits on the sink unless it must.
    sink: Mutex<W>,
    wake: Condvar,
    limits: Limits,
}

struct Pending {
    /// Whole lines not yet written, in the order they were logged.
    bytes: Vec<u8>,
    /// Set when the guard is dropped: write what waits and stop.
    closing: bool,
}

/// Takes every waiting line (leaving `scratch`'s buffer in its place, so
/// neither is reallocated) and writes them. A failed write loses those
/// lines, as `eprintln!` would, rather than stop the program for its log.
fn write_out<W: Write>(shared: &Shared<W>, scratch: &mut Vec<u8>) {
    let mut sink = shared.sink.lock().unwrap_or_else(PoisonError::into_inner);
    std::mem::swap(
        &mut shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bytes,
        scratch,
    );
    if !scratch.is_empty() {
        let _ = sink.write_all(scratch);
        let _ = sink.flush();
        scratch.clear();
    }
}

/// The handle `tracing_subscriber` writes lines through; cheap to clone.
pub struct BatchedLog<W> {
    shared: Arc<Shared<W>>,
}

impl<W> Clone for BatchedLog<W> {
    fn clone(&self) -> Self {
        BatchedLog {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Stops the writer thread when dropped, after it has written every line.
#[must_use = "dropping the guard stops the log writer"]
pub struct Guard<W> {
    shared: Arc<Shared<W>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread over `sink`.
///
/// # Errors
/// When the thread cannot be started.
pub fn spawn<W: Write + Send + 'static>(
    sink: W,
    limits: Limits,
) -> io::Result<(BatchedLog<W>, Guard<W>)> {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending {
            bytes: Vec::with_capacity(64 << 10),
            closing: false,
        }),
        sink: Mutex::new(sink),
        wake: Condvar::new(),
        limits,
    });
    let writer = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || run(&writer))?;
    Ok((
        BatchedLog {
            shared: Arc::clone(&shared),
        },
        Guard {
            shared,
            thread: Some(thread),
        },
    ))
}

fn run<W: Write>(shared: &Shared<W>) {
    let mut scratch = Vec::with_capacity(64 << 10);
    loop {
        let closing = {
            let mut pending = shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !pending.closing && pending.bytes.len() < shared.limits.wake_at {
                pending = shared
                    .wake
                    .wait_timeout(pending, shared.limits.interval)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            pending.closing
        };
        write_out(shared, &mut scratch);
        if closing {
            return;
        }
    }
}

impl<W> Drop for Guard<W> {
    fn drop(&mut self) {
        self.shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<W: Write> Write for &BatchedLog<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let shared = &self.shared;
        let mut pending = shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if pending.closing {
            // The writer thread has written its last: write this directly.
            drop(pending);
            let mut sink = shared.sink.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = sink.write_all(buf);
            let _ = sink.flush();
            return Ok(buf.len());
        }
        if pending.bytes.len() + buf.len() > shared.limits.max_pending {
            // The sink is slower than the logging: wait for it, in order.
            drop(pending);
            write_out(shared, &mut Vec::new());
            pending = shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
        }
        pending.bytes.extend_from_slice(buf);
        if pending.bytes.len() >= shared.limits.wake_at {
            shared.wake.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a, W: Write + 'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedLog<W> {
    type Writer = &'a BatchedLog<W>;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read, counting the writes it gets.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut s = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            s.0.extend_from_slice(buf);
            s.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner).0)
                .into_owned()
        }
        fn writes(&self) -> usize {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).1
        }
    }

    fn log_lines(log: &BatchedLog<Sink>, thread: usize, n: usize) {
        for i in 0..n {
            let line = format!("thread {thread} line {i}\n");
            assert_eq!((&*log).write(line.as_bytes()).ok(), Some(line.len()));
        }
    }

    #[test]
    fn every_line_from_every_thread_arrives_whole_and_in_each_threads_order() {
        let sink = Sink::default();
        let (log, guard) = spawn(sink.clone(), Limits::default()).unwrap_or_else(|e| panic!("{e}"));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || log_lines(&log, t, 2_000))
            })
            .collect();
        for t in threads {
            t.join()
                .unwrap_or_else(|_| panic!("a logging thread panicked"));
        }
        drop(guard);
        let text = sink.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8_000);
        for t in 0..4 {
            let own: Vec<usize> = lines
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("thread {t} line ")))
                .map(|n| n.parse().unwrap_or_else(|_| panic!("a torn line: {n}")))
                .collect();
            assert_eq!(own, (0..2_000).collect::<Vec<_>>(), "thread {t}");
        }
        // Lines were written many per write.
        assert!(sink.writes() < 1_000, "{} writes", sink.writes());
    }

    #[test]
    fn a_line_is_written_within_the_interval_without_more_lines_coming() {
        let sink = Sink::default();
        let limits = Limits {
            interval: Duration::from_millis(5),
            ..Limits::default()
        };
        let (log, _guard) = spawn(sink.clone(), limits).unwrap_or_else(|e| panic!("{e}"));
        log_lines(&log, 0, 1);
        for _ in 0..400 {
            if sink.text() == "thread 0 line 0\n" {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the line was not written: {:?}", sink.text());
    }

    #[test]
    fn past_the_bound_the_logging_thread_writes_out_what_waits() {
        let sink = Sink::default();
        let limits = Limits {
            // The writer thread would not come for a minute.
            interval: Duration::from_secs(60),
            wake_at: usize::MAX,
            max_pending: 100,
        };
        let (log, guard) = spawn(sink.clone(), limits).unwrap_or_else(|e| panic!("{e}"));
        log_lines(&log, 0, 50);
        // Each line is about 20 bytes: every five or so, the logger wrote.
        assert!(sink.writes() >= 9, "{} writes", sink.writes());
        assert!(
            sink.text()
                .starts_with("thread 0 line 0\nthread 0 line 1\n")
        );
        drop(guard);
        assert_eq!(sink.text().lines().count(), 50);
    }
}
