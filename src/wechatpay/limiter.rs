//! Client-side rate limiter: at most `limit` calls start in any window of one second (plus a
//! small margin so network jitter cannot push the server's view over the limit), and starts are
//! paced at least `window / limit` apart.
//!
//! Why the pacing: without it a burst lets `limit` calls start at the same instant; they then
//! compete for CPU (signing) and connections, so the first of them reach the server up to
//! ~100 ms late while the next batch, starting exactly one window later, arrives promptly. The
//! server then sees more than `limit` arrivals in one second (found by the simulator test
//! `burst_of_100_stays_within_20_per_second`). Evenly spaced starts do not pile up.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Extra width of the window, so arrivals spread by jitter still fit the server's 1 s window.
const WINDOW_MARGIN: Duration = Duration::from_millis(50);

/// A sliding-window limiter shared by every call of one brand.
#[derive(Debug)]
pub struct RateLimiter {
    limit: usize,
    window: Duration,
    spacing: Duration,
    starts: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub fn per_second(limit: u32) -> Self {
        let limit = limit.max(1);
        let window = Duration::from_secs(1) + WINDOW_MARGIN;
        Self {
            limit: limit as usize,
            window,
            spacing: window / limit,
            starts: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits until a call may start and records it. Callers are served in arrival order
    /// because the lock is fair.
    pub async fn acquire(&self) {
        let mut starts = self.starts.lock().await;
        let now = Instant::now();
        while starts
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            starts.pop_front();
        }
        if starts.len() >= self.limit {
            let oldest = starts[starts.len() - self.limit];
            tokio::time::sleep_until(oldest + self.window).await;
        }
        if let Some(last) = starts.back() {
            tokio::time::sleep_until(*last + self.spacing).await;
        }
        starts.push_back(Instant::now());
        while starts.len() > self.limit {
            starts.pop_front();
        }
    }
}
