//! Blocked instances retried as a runtime starts.

use std::sync::Arc;

use tracing::{debug, warn};

use super::RETENTION_BATCH;
use crate::shared::Shared;
use crate::store::{InstanceFilter, Message, Page, RuntimeStatus, Store};

/// Retries the blocked instances this runtime has code for, once, as it starts: a
/// deploy that brings back the code of their version, or fixes what blocked them, lets
/// them go on by themselves. Reads only blocked instances (the store's status index).
pub(super) async fn retry_blocked<S: Store>(shared: Arc<Shared<S>>) {
    let filter = InstanceFilter {
        statuses: vec![RuntimeStatus::Blocked],
        ..InstanceFilter::default()
    };
    let mut page = Page {
        after: None,
        limit: RETENTION_BATCH,
    };
    loop {
        let blocked = match shared.store.list(&filter, &page).await {
            Ok(blocked) => blocked,
            Err(e) => {
                warn!("cannot list blocked instances to retry them: {e}");
                return;
            }
        };
        let Some(last) = blocked.last() else { return };
        page.after = Some(last.id.clone());
        let mut retried = 0;
        for record in &blocked {
            if !shared.registry.has(&record.name, record.version) {
                continue;
            }
            match shared.store.send(&record.id, Message::Retry).await {
                Ok(()) => retried += 1,
                Err(e) => warn!(instance = %record.id, "cannot retry a blocked instance: {e}"),
            }
        }
        if retried > 0 {
            debug!(retried, "retrying blocked instances");
            shared.instance_work.notify_one();
        }
    }
}
