//! Starting and querying instances.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::codec::{self, CodecError};
use crate::ends::EndWatch;
use crate::inspect::{self, Inspection, Lookup, Shown, Waiting};
use crate::orchestration::{
    Orchestration, OrchestrationContext, OrchestrationFn, OrchestrationInput, OrchestrationOutput,
};
use crate::shared::Shared;
use crate::store::{
    now_millis, InstanceFilter, InstanceRecord, InstanceTasks, Message, Millis, Page, Purge,
    RuntimeStatus, Store, StoreError,
};
use crate::task::Wake;

/// Whether a caller may name an instance `id`.
fn valid_id(id: &str) -> bool {
    // `.` and `..` are path steps in every URL an id is put in, never a segment
    !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= crate::limits::MAX_INSTANCE_ID_BYTES
        && !id.contains(':')
        && !id.chars().any(char::is_control)
}

/// `id` as an error shows it: no longer than a line.
fn shortened(id: &str) -> String {
    const SHOWN: usize = 64;
    match id.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}… ({} bytes)", &id[..end], id.len()),
        None => id.to_owned(),
    }
}

/// Starts instances and reads their status. Cheap to clone.
pub struct Client<S> {
    shared: Arc<Shared<S>>,
}

impl<S> Clone for Client<S> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("instance `{id}` is an instance of `{actual}`, not of `{expected}`")]
    WrongOrchestration {
        id: String,
        expected: &'static str,
        actual: String,
    },
    #[error("instance `{0}` did not finish in time")]
    Timeout(String),
    #[error(
        "`{}` cannot be an instance id: ids are 1 to {} bytes without control characters \
         (a NUL, a newline, a tab), other than `.` and `..`, and `:` is reserved for \
         sub-orchestrations (`parent:task`)",
        shortened(.0),
        crate::limits::MAX_INSTANCE_ID_BYTES
    )]
    InvalidId(String),
    #[error("instance `{id}` is {status:?}, not blocked: there is nothing to retry")]
    NotBlocked { id: String, status: RuntimeStatus },
}

/// An instance as seen from outside. Payloads are encoded; decode them with
/// [`codec::decode_payload`] into the orchestration's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub id: String,
    pub name: String,
    /// The version of the orchestration's code it runs under.
    pub version: u32,
    pub status: RuntimeStatus,
    pub input: Vec<u8>,
    /// The output, once completed.
    pub output: Option<Vec<u8>>,
    /// Why it failed, was terminated, or is blocked.
    pub error: Option<String>,
    /// The last value the orchestration passed to `ctx.set_custom_status`.
    pub custom_status: Option<Vec<u8>>,
    /// What it waits for, while it waits.
    pub waiting_on: Option<Wake>,
    pub created: Millis,
    pub updated: Millis,
}

impl From<InstanceRecord> for InstanceStatus {
    fn from(r: InstanceRecord) -> Self {
        Self {
            id: r.id,
            name: r.name,
            version: r.version,
            status: r.status,
            input: r.input,
            output: r.output,
            error: r.error,
            custom_status: r.custom_status,
            waiting_on: r.wake,
            created: r.created,
            updated: r.updated,
        }
    }
}

impl<S: Store> Client<S> {
    pub(crate) fn new(shared: Arc<Shared<S>>) -> Self {
        Self { shared }
    }

    /// Starts an instance of `orchestration` with `input`, under `id` or a generated
    /// id; returns the id. It runs the version of the code `orchestration` names to its
    /// end. Starting an id that exists is [`StoreError::AlreadyExists`].
    pub async fn start<F: OrchestrationFn>(
        &self,
        orchestration: F,
        id: Option<&str>,
        input: &OrchestrationInput<F>,
    ) -> Result<String, ClientError> {
        let _ = orchestration;
        let input = codec::encode_payload(input, "orchestration input")?;
        let name = <F::Orchestration as Orchestration>::NAME;
        let version = <F::Orchestration as Orchestration>::VERSION;
        self.start_encoded(name, version, id, input).await
    }

    /// [`Client::start`] for an input already encoded with [`codec::encode_payload`], by
    /// orchestration name and version: for edges that convert from another format (the
    /// HTTP API). The name, version and the input's type are not checked here. An id is
    /// 1 to [`MAX_INSTANCE_ID_BYTES`](crate::limits::MAX_INSTANCE_ID_BYTES) bytes
    /// without control characters or `:`, which sub-orchestration ids use
    /// ([`ClientError::InvalidId`]).
    pub async fn start_encoded(
        &self,
        name: &str,
        version: u32,
        id: Option<&str>,
        input: Vec<u8>,
    ) -> Result<String, ClientError> {
        if let Some(id) = id.filter(|id| !valid_id(id)) {
            return Err(ClientError::InvalidId(id.to_owned()));
        }
        let id = id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let record = InstanceRecord::new(id.clone(), name, version, input, None);
        self.shared.store.create(record).await?;
        self.shared.instance_work.notify_one();
        Ok(id)
    }

    /// Raises the external event `name` with `payload` for instance `id`.
    pub async fn raise_event<T: serde::Serialize>(
        &self,
        id: &str,
        name: &str,
        payload: &T,
    ) -> Result<(), ClientError> {
        let payload = codec::encode_payload(payload, "event payload")?;
        self.raise_event_encoded(id, name, payload).await
    }

    /// [`Client::raise_event`] for a payload already encoded with
    /// [`codec::encode_payload`].
    pub async fn raise_event_encoded(
        &self,
        id: &str,
        name: &str,
        payload: Vec<u8>,
    ) -> Result<(), ClientError> {
        let name = name.to_owned();
        self.send(id, Message::Event { name, payload }).await
    }

    /// The status of instance `id`, if it exists.
    pub async fn status(&self, id: &str) -> Result<Option<InstanceStatus>, ClientError> {
        Ok(self
            .shared
            .store
            .instance(id)
            .await?
            .map(InstanceStatus::from))
    }

    /// Where instance `id` waits and with what: the `.await` it is suspended at (as
    /// written, and where in the source), what that operation waits for (calls with
    /// their input and attempt, timers with their due time, events, children), and its
    /// live locals as JSON; also its input and buffered events. `None` if there is no
    /// such instance. It reads the checkpoint with this runtime's code for the
    /// instance and changes nothing; where that code cannot read it (not registered
    /// here, or changed at that point), [`Waiting::decoded`](crate::inspect::Waiting)
    /// says why and the rest is still shown.
    pub async fn inspect(&self, id: &str) -> Result<Option<Inspection>, ClientError> {
        let Some(record) = self.shared.store.instance(id).await? else {
            return Ok(None);
        };
        let tasks = match record.state {
            Some(_) => self.shared.store.tasks(id).await?,
            None => InstanceTasks::default(),
        };
        let code = self.shared.code(&record.name, record.version);
        let ctx = OrchestrationContext::new(record.id.clone(), record.next_task, now_millis());
        // user types' `Deserialize` and `Serialize` run here: a panic in one is shown,
        // as a step's panic fails only its instance
        let guarded = |f: &dyn Fn() -> Waiting| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
                format!(
                    "reading it panicked: {}",
                    crate::runtime::panic_message(&*p)
                )
            })
        };
        let waiting = record.state.as_deref().map(|state| {
            let step = code.as_ref().map(|c| c.step).map_err(Clone::clone);
            let read = || inspect::read(&ctx, state, &Lookup::new(&tasks), step.clone());
            guarded(&read).unwrap_or_else(|why| inspect::unreadable(state, &why))
        });
        let input = code.ok().map(|c| {
            std::panic::catch_unwind(|| (c.show_input)(&record.input))
                .unwrap_or_else(|p| Shown::Unshowable(crate::runtime::panic_message(&*p)))
        });
        let events = record.events.iter().map(|(n, p)| (n.clone(), p.len()));
        Ok(Some(Inspection {
            events: events.collect(),
            input,
            waiting,
            status: InstanceStatus::from(record),
        }))
    }

    /// Instances matching `filter`, in id order: at most `limit`, after id `after`
    /// (pass the last id of a page to get the next).
    pub async fn list(
        &self,
        filter: &InstanceFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<InstanceStatus>, ClientError> {
        let page = Page {
            after: after.map(str::to_owned),
            limit,
        };
        let records = self.shared.store.list(filter, &page).await?;
        Ok(records.into_iter().map(InstanceStatus::from).collect())
    }

    /// Ends instance `id` at its next step, with `reason` as its error.
    pub async fn terminate(&self, id: &str, reason: &str) -> Result<(), ClientError> {
        let reason = reason.to_owned();
        self.send(id, Message::Terminate { reason }).await
    }

    /// Pauses instance `id`: results and events wait until it is resumed.
    pub async fn suspend(&self, id: &str) -> Result<(), ClientError> {
        self.send(id, Message::Suspend).await
    }

    /// Resumes a suspended instance.
    pub async fn resume(&self, id: &str) -> Result<(), ClientError> {
        self.send(id, Message::Resume).await
    }

    /// Steps a blocked instance again now, with the code registered now (a runtime
    /// that starts retries the blocked instances it has code for by itself). If the
    /// code still cannot resume it, it is blocked again, with the reason. An instance a
    /// store shows as blocked because its stored bytes cannot be decoded is not stepped
    /// by a retry: repair its data or purge it.
    pub async fn retry(&self, id: &str) -> Result<(), ClientError> {
        let record = self.record(id).await?;
        if record.status != RuntimeStatus::Blocked {
            return Err(ClientError::NotBlocked {
                id: id.to_owned(),
                status: record.status,
            });
        }
        self.send(id, Message::Retry).await
    }

    /// The record of instance `id`; [`StoreError::NotFound`] if there is none.
    async fn record(&self, id: &str) -> Result<InstanceRecord, ClientError> {
        let record = self.shared.store.instance(id).await?;
        Ok(record.ok_or_else(|| StoreError::NotFound(id.to_owned()))?)
    }

    async fn send(&self, id: &str, message: Message) -> Result<(), ClientError> {
        self.shared.store.send(id, message).await?;
        self.shared.instance_work.notify_one();
        Ok(())
    }

    /// Deletes instance `id`, its sub-orchestrations (and theirs), and everything stored
    /// for them, if it has ended; the id may then be used again, and the new instance
    /// sees nothing of the old one. A running instance is left alone (terminate it
    /// first): the [`Purge`] says what was done.
    pub async fn purge(&self, id: &str) -> Result<Purge, ClientError> {
        Ok(self.shared.store.purge(id).await?)
    }

    /// Purges every ended instance matching `filter`, with its descendants; how many
    /// instances matching it were deleted.
    pub async fn purge_where(&self, filter: &InstanceFilter) -> Result<usize, ClientError> {
        let mut purged = 0;
        let mut after: Option<String> = None;
        loop {
            let page = Page {
                after: after.clone(),
                limit: 500,
            };
            let records = self.shared.store.list(filter, &page).await?;
            let Some(last) = records.last() else {
                return Ok(purged);
            };
            after = Some(last.id.clone());
            for record in &records {
                let deleted = self.shared.store.purge(&record.id).await?;
                if matches!(deleted, Purge::Deleted { .. }) {
                    purged += 1;
                }
            }
        }
    }

    /// Waits until instance `id` of `orchestration` ends, for at most `timeout`: its
    /// output, or the message it failed (or was terminated) with.
    pub async fn wait<F: OrchestrationFn>(
        &self,
        orchestration: F,
        id: &str,
        timeout: Duration,
    ) -> Result<Result<OrchestrationOutput<F>, String>, ClientError> {
        let _ = orchestration;
        let name = <F::Orchestration as Orchestration>::NAME;
        let deadline = Instant::now() + timeout;
        let watch = self.shared.ends.watch(id);
        let elsewhere = self.shared.store.watch_end(id);
        // a store that hears of ends in other processes is polled only for what it may
        // miss; one that does not, often enough to see them soon
        let poll = match elsewhere {
            Some(_) => self.shared.poll,
            None => self.shared.poll.min(Duration::from_millis(50)),
        };
        loop {
            // both before the read, so that an end in between is not missed
            let ended = watch.next();
            let ended_elsewhere = elsewhere.as_ref().map(EndWatch::next);
            let record = self.record(id).await?;
            if record.name != name {
                return Err(ClientError::WrongOrchestration {
                    id: id.to_owned(),
                    expected: name,
                    actual: record.name,
                });
            }
            match (record.status, record.output, record.error) {
                (RuntimeStatus::Completed, Some(output), _) => {
                    return Ok(Ok(codec::decode_payload(&output, "orchestration output")?))
                }
                (RuntimeStatus::Failed | RuntimeStatus::Terminated, _, error) => {
                    return Ok(Err(error.unwrap_or_default()));
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout(id.to_owned()));
            }
            let _ = tokio::time::timeout_at(deadline.min(Instant::now() + poll), async {
                match ended_elsewhere {
                    Some(ended_elsewhere) => tokio::select! {
                        () = ended => {}
                        () = ended_elsewhere => {}
                    },
                    None => ended.await,
                }
            })
            .await;
        }
    }
}
