//! Retention: instances that ended long enough ago are purged, a batch at a time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, warn};

use crate::shared::Shared;
use crate::store::{millis_after, now_millis, Purge, Store};

/// The most ended instances one retention batch purges.
pub const RETENTION_BATCH: usize = 1000;

/// Purges instances that ended more than `age` ago, a batch at a time.
pub(super) async fn retention_service<S: Store>(
    shared: Arc<Shared<S>>,
    age: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let every = age.clamp(Duration::from_millis(10), Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
        loop {
            let before = now_millis().saturating_sub(millis_after(0, age));
            let ended = match shared.store.ended_before(before, RETENTION_BATCH).await {
                Ok(ended) => ended,
                Err(e) => {
                    warn!("retention: cannot list ended instances: {e}");
                    break;
                }
            };
            let mut purged = 0;
            for id in &ended {
                match shared.store.purge(id).await {
                    Ok(Purge::Deleted { descendants }) => purged += 1 + descendants,
                    Ok(_) => {} // taking a step, or gone already: the next round
                    Err(e) => warn!(instance = %id, "retention: cannot purge: {e}"),
                }
            }
            if purged > 0 {
                debug!(purged, "retention: purged ended instances");
            }
            if ended.len() < RETENTION_BATCH || purged == 0 || *stopped.borrow() {
                break;
            }
        }
    }
}
