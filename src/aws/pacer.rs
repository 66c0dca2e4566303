//! Keeps calls to one API at least an interval apart within this process.
//! SES allows about one `VerifyDomainDkim` per second per account; with the
//! function's reserved concurrency at 1 (the template's default) there is one
//! process at a time, so pacing here holds the whole deployment to that rate.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Duration,
    next_slot: Arc<Mutex<Option<Instant>>>,
}

impl Pacer {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next_slot: Arc::new(Mutex::new(None)),
        }
    }

    /// Wait until this caller may make its call; callers go one at a time.
    pub async fn wait_turn(&self) {
        let mut next_slot = self.next_slot.lock().await;
        if let Some(at) = *next_slot {
            tokio::time::sleep_until(at).await;
        }
        *next_slot = Some(Instant::now() + self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_by_the_interval() {
        let pacer = Pacer::new(Duration::from_secs(1));
        let start = Instant::now();
        pacer.wait_turn().await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the first call does not wait"
        );
        let other = pacer.clone();
        tokio::join!(pacer.wait_turn(), other.wait_turn());
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(2),
            "two more calls, one second apart each"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        let before = Instant::now();
        pacer.wait_turn().await;
        assert_eq!(
            before.elapsed(),
            Duration::ZERO,
            "an idle pacer lets the next call through at once"
        );
    }
}
