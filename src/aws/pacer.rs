//! Holds calls to one budget to at most `calls` in any window, within this process.
//! The budgets and their shares come from `core::pacing`; this is the clockwork.
//!
//! AWS counts a call when it *arrives*; the function only knows when it sent one, and
//! the time on the wire varies (a busy endpoint, a slow connection, the SDK's own
//! retries). So a window is measured from the moment a call's answer came back, which
//! is surely after it arrived: calls then arrive a full window apart whatever the
//! network did, at the cost of one round trip per call. (Counting from the send time
//! was measured to be throttled now and then in the 300-zone reconcile test, when one
//! call arrived more than the 4 % margin late.)

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::{oneshot, Mutex};
use tokio::time::Instant;

use crate::core::pacing::{Budget, Pace, PaceSettings};

#[derive(Debug, Clone)]
pub struct Pacer {
    pace: Pace,
    /// The last `pace.calls` calls, oldest first.
    recent: Arc<Mutex<VecDeque<Call>>>,
}

/// One of the recent calls: still out, or answered at a known instant.
#[derive(Debug)]
enum Call {
    Out(oneshot::Receiver<Instant>),
    Answered(Instant),
}

/// A caller's turn: hold it until the call's answer is in, then drop it. Dropping it
/// is what starts the window the next caller waits out.
#[must_use = "hold the turn across the call: dropping it marks the call answered"]
#[derive(Debug)]
pub struct Turn {
    answered: Option<oneshot::Sender<Instant>>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(answered) = self.answered.take() {
            // Nobody waiting any more (the pacer was dropped) is fine.
            let _ = answered.send(Instant::now());
        }
    }
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

    /// Wait until this caller may make its call, and hold the returned turn until the
    /// answer is in. Waiters queue in arrival order (the lock is fair), so nobody
    /// starves.
    pub async fn wait_turn(&self) -> Turn {
        let mut recent = self.recent.lock().await;
        if recent.len() >= self.pace.calls as usize {
            if let Some(oldest) = recent.front_mut() {
                if let Call::Out(answer) = oldest {
                    // A turn dropped without a word (it cannot be) counts as answered now.
                    *oldest = Call::Answered(answer.await.unwrap_or_else(|_| Instant::now()));
                }
                if let Call::Answered(at) = oldest {
                    tokio::time::sleep_until(*at + self.pace.window).await;
                }
            }
            // Popped only after the wait: a caller given up on mid-wait leaves the
            // oldest call in place for the next one.
            recent.pop_front();
        }
        let (answered, when) = oneshot::channel();
        recent.push_back(Call::Out(when));
        Turn {
            answered: Some(answered),
        }
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
        drop(pacer.wait_turn().await);
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the first call does not wait"
        );
        let other = pacer.clone();
        tokio::join!(async { drop(pacer.wait_turn().await) }, async {
            drop(other.wait_turn().await)
        });
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(2),
            "two more, a second apart"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        let before = Instant::now();
        drop(pacer.wait_turn().await);
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
            drop(pacer.wait_turn().await);
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
        drop(pacer.wait_turn().await);
        drop(pacer.wait_turn().await);
        assert_eq!(start.elapsed().as_millis(), 3125, "3 / 0.96 s");
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_runs_from_the_answer_not_from_the_send() {
        let pacer = Pacer::new(pace(1, 1000));
        let start = Instant::now();
        let turn = pacer.wait_turn().await;
        // The first call takes 300 ms to answer (slow wire, or the SDK's retries).
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(turn);
        drop(pacer.wait_turn().await);
        assert_eq!(start.elapsed(), Duration::from_millis(1300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_given_up_on_while_waiting_leaves_the_window_in_place() {
        let pacer = Pacer::new(pace(1, 1000));
        let start = Instant::now();
        drop(pacer.wait_turn().await);
        let gave_up = tokio::time::timeout(Duration::from_millis(400), pacer.wait_turn()).await;
        assert!(gave_up.is_err(), "still inside the window at 400 ms");
        drop(pacer.wait_turn().await);
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(1000),
            "the next caller still waits out the first call's window, and no more"
        );
    }
}
