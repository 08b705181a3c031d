//! The timer service: fires due durable timers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, warn};

use crate::shared::Shared;
use crate::store::{now_millis, Store, Work};

/// Fires due timers: sleeps until the next one is due, a new one is started, or the
/// poll interval passes (timers started by another process).
pub(super) async fn timer_service<S: Store>(
    shared: Arc<Shared<S>>,
    mut stopped: watch::Receiver<bool>,
) {
    while !*stopped.borrow() {
        let now = now_millis();
        let wait = match shared.store.fire_timers(now).await {
            Ok((fired, next)) => {
                if fired > 0 {
                    debug!(fired, "timers fired");
                    shared.instance_work.notify_one();
                }
                next.map_or(shared.poll, |due| {
                    Duration::from_millis(due.saturating_sub(now)).min(shared.poll)
                })
            }
            Err(e) => {
                warn!("cannot fire timers: {e}");
                shared.poll
            }
        };
        tokio::select! {
            _ = shared.timer_work.notified() => {}
            _ = shared.store.work_queued(Work::Timers) => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
        }
    }
}
