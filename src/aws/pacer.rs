//! Holds calls to one budget to at most `calls` in any window, within this process.
//! The budgets and their shares come from `core::pacing`; this is the clockwork.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::core::pacing::{Budget, Pace, PaceSettings};

#[derive(Debug, Clone)]
pub struct Pacer {
    pace: Pace,
    /// When the last `pace.calls` calls went out, oldest first.
    recent: Arc<Mutex<VecDeque<Instant>>>,
}

impl Pacer {
    pub fn new(pace: Pace) -> Self {
        Self {
            pace,
            recent: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    pub fn for_budget(settings: &PaceSettings, budget: Budget) -> Self {
        Self::new(settings.pace(budget))
    }

    /// Wait until this caller may make its call. Waiters queue in arrival order
    /// (the lock is fair), so nobody starves.
    pub async fn wait_turn(&self) {
        let mut recent = self.recent.lock().await;
        if recent.len() >= self.pace.calls as usize {
            if let Some(oldest) = recent.pop_front() {
                tokio::time::sleep_until(oldest + self.pace.window).await;
            }
        }
        recent.push_back(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pace(calls: u32, millis: u64) -> Pace {
        Pace {
            calls,
            window: Duration::from_millis(millis),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_call_per_window_spaces_calls_by_the_window() {
        let pacer = Pacer::new(pace(1, 1000));
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
            "two more, a second apart"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        let before = Instant::now();
        pacer.wait_turn().await;
        assert_eq!(
            before.elapsed(),
            Duration::ZERO,
            "an idle pacer lets a call through"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_up_to_the_budget_goes_at_once_and_no_window_holds_more() {
        let pacer = Pacer::new(pace(5, 1040));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..12 {
            pacer.wait_turn().await;
            times.push(start.elapsed());
        }
        assert!(times[..5].iter().all(|t| *t == Duration::ZERO), "{times:?}");
        assert_eq!(times[5], Duration::from_millis(1040));
        assert_eq!(times[10], Duration::from_millis(2080));
        // Any 1040 ms window holds at most 5 calls.
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .filter(|u| **u < *t + Duration::from_millis(1040))
                .count();
            assert!(in_window <= 5, "{in_window} calls from {t:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_configured_share_slows_each_process() {
        let settings = PaceSettings {
            concurrency: 3,
            ..Default::default()
        };
        let pacer = Pacer::for_budget(&settings, Budget::SesVerifyDomainDkim);
        let start = Instant::now();
        pacer.wait_turn().await;
        pacer.wait_turn().await;
        assert_eq!(start.elapsed().as_millis(), 3125, "3 / 0.96 s");
    }
}
