//! The listening side of `LISTEN`/`NOTIFY`: one connection per store that hears the work
//! other processes queue and wakes this process's idle workers, and hears which
//! instances ended and wakes the clients waiting for those.

use std::time::Duration;

use durable_core::store::{Ends, Work};
use futures_util::stream::poll_fn;
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};
use tracing::{debug, warn};

use crate::sql::{parse_payload, Notice, CHANNEL};

/// Idle workers' wake-up calls, by kind of work, and the clients waiting for ends.
#[derive(Default)]
pub(crate) struct Wakeups {
    instances: Notify,
    activities: Notify,
    timers: Notify,
    pub(crate) ends: Ends,
}

impl Wakeups {
    pub(crate) fn of(&self, work: Work) -> &Notify {
        match work {
            Work::Instances => &self.instances,
            Work::Activities => &self.activities,
            Work::Timers => &self.timers,
        }
    }

    /// Wakes up to `count` idle workers for `work` (one, if none waits now, when the
    /// next one starts waiting).
    fn wake(&self, work: Work, count: usize) {
        let notify = self.of(work);
        for _ in 0..count.clamp(1, 64) {
            notify.notify_one();
        }
    }
}

/// Listens until the store is dropped, reconnecting after a lost connection; the
/// workers poll meanwhile, so nothing waits longer than a poll interval.
pub(crate) async fn listen(
    config: tokio_postgres::Config,
    wakeups: std::sync::Arc<Wakeups>,
    origin: u64,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen_once(&config, &wakeups, origin).await {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => warn!("listening for work from other processes: {e}; reconnecting"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    wakeups: &Wakeups,
    origin: u64,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("LISTEN {CHANNEL}");
    {
        let listening = client.batch_execute(&statement);
        tokio::pin!(listening);
        // the connection must be driven for LISTEN to complete
        loop {
            tokio::select! {
                done = &mut listening => { done?; break; }
                message = messages.next() => match message {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                },
            }
        }
    }
    debug!("listening for work on `{CHANNEL}`");
    // anything queued or ended while this connection was down: look once
    for work in [Work::Instances, Work::Activities, Work::Timers] {
        wakeups.wake(work, 1);
    }
    wakeups.ends.ended_any();
    while let Some(message) = messages.next().await {
        match message? {
            AsyncMessage::Notification(n) => match parse_payload(n.payload()) {
                Some(Notice::Queued { from, .. }) if from == origin => {} // signalled already
                Some(Notice::Queued { work, count, .. }) => wakeups.wake(work, count),
                // this process's too: another runtime on this store may have stepped it
                Some(Notice::Ended { id: Some(id) }) => wakeups.ends.ended(&id),
                Some(Notice::Ended { id: None }) => wakeups.ends.ended_any(),
                None => warn!("unexpected notification on `{CHANNEL}`: {:?}", n.payload()),
            },
            AsyncMessage::Notice(notice) => debug!("PostgreSQL notice: {notice}"),
            _ => {}
        }
    }
    drop(client);
    Ok(())
}
