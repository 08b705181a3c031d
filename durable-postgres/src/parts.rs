//! Reading a part of an instance's state from inside a step ([`Store::part_reader`]):
//! the item a loop over an owned collection takes, kept beside the checkpoints in
//! `durable_parts` so that each checkpoint does not carry the items still to come.
//!
//! A step's code is synchronous and the database is reached asynchronously, on a runtime
//! the step may be running on (a current-thread one included). So the store has a
//! thread of its own, with a runtime and a connection of its own, that answers reads;
//! a step sends its read there and waits for the answer where waiting does not stall
//! the caller's other tasks ([`blocking`]).
//!
//! [`Store::part_reader`]: durable_core::Store::part_reader

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use durable_core::store::blocking;
use durable_core::store::{PartReader, StoreError};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_postgres::{Client, NoTls};
use tracing::warn;

use crate::sql::{backend, describe};

type Answer = Result<Option<Vec<u8>>, StoreError>;

/// How long the reader waits to connect, unless the store's URL says
/// (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A read of part `part` of instance `instance`, and where to send its answer.
struct Read {
    instance: String,
    part: u64,
    answer: mpsc::SyncSender<Answer>,
}

/// The reads' way to the reading thread, which starts at the first read (a process
/// that runs no steps never starts it) and ends when every sender is dropped.
#[derive(Clone)]
pub(crate) struct PartReads {
    config: Arc<tokio_postgres::Config>,
    reads: Arc<OnceLock<UnboundedSender<Read>>>,
}

impl PartReads {
    /// The reads of a store connecting with `config`.
    pub(crate) fn new(mut config: tokio_postgres::Config) -> Self {
        config.application_name("durable-parts");
        if config.get_connect_timeout().is_none() {
            // a step waits for the read: a server that does not answer fails it soon
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        Self {
            config: Arc::new(config),
            reads: Arc::default(),
        }
    }

    /// The way to the reading thread, which this starts if it has not started.
    fn reads(&self) -> Result<&UnboundedSender<Read>, StoreError> {
        if let Some(reads) = self.reads.get() {
            return Ok(reads);
        }
        let (reads, queued) = unbounded_channel();
        // two first reads at once: the one that loses drops its thread's sender, and
        // that thread ends at once
        let config = self.config.clone();
        std::thread::Builder::new()
            .name("durable-parts".into())
            .spawn(move || {
                // built here: a runtime may not be dropped where a step runs
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(serve(&config, queued)),
                    Err(e) => warn!("cannot start the part reader: {e}"),
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the part reader: {e}")))?;
        Ok(self.reads.get_or_init(|| reads))
    }

    /// The reader a runtime's steps read parts with.
    pub(crate) fn reader(&self) -> PartReader {
        let reads = self.clone();
        PartReader(Arc::new(move |instance: &str, part: u64| {
            reads.read(instance, part)
        }))
    }

    fn read(&self, instance: &str, part: u64) -> Answer {
        let (answer, answered) = mpsc::sync_channel(1);
        let read = Read {
            instance: instance.to_owned(),
            part,
            answer,
        };
        let stopped = || StoreError::Backend("the part reader has stopped".into());
        self.reads()?.send(read).map_err(|_| stopped())?;
        blocking(|| answered.recv()).map_err(|_| stopped())?
    }
}

/// Answers reads until no sender is left. A read that fails is tried once more on a new
/// connection: a lost connection does not always look closed when the read fails, since
/// the server's word that it ends the session (57P01 when it is shut down or the
/// session terminated) can arrive as the answer to the read itself. A read that fails
/// twice fails its step, which blocks the instance with the reason until it is retried.
async fn serve(config: &tokio_postgres::Config, mut queued: UnboundedReceiver<Read>) {
    let mut connected: Option<Client> = None;
    while let Some(read) = queued.recv().await {
        let mut answer = read_once(config, &mut connected, &read).await;
        if answer.is_err() {
            connected = None;
            answer = read_once(config, &mut connected, &read).await;
        }
        let _ = read.answer.send(answer);
    }
}

async fn read_once(
    config: &tokio_postgres::Config,
    connected: &mut Option<Client>,
    read: &Read,
) -> Answer {
    let client = match connected {
        Some(client) if !client.is_closed() => client,
        _ => connected.insert(connect(config).await?),
    };
    let row = client
        .query_opt(
            "SELECT bytes FROM durable_parts WHERE instance = $1 AND part = $2",
            &[&read.instance, &(read.part as i64)],
        )
        .await
        .map_err(backend)?;
    Ok(row.map(|row| row.get(0)))
}

async fn connect(config: &tokio_postgres::Config) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await.map_err(|e| {
        StoreError::Backend(format!("the part reader cannot connect: {}", describe(&e)))
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            warn!("the part reader's connection ended: {e}");
        }
    });
    Ok(client)
}
