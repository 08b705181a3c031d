//! Starting and querying instances.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::codec::{self, CodecError};
use crate::orchestration::Orchestration;
use crate::runtime::Shared;
use crate::store::{now_millis, InstanceRecord, RuntimeStatus, Store, StoreError};

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
}

/// An instance as seen from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub id: String,
    pub name: String,
    pub status: RuntimeStatus,
    /// Why it failed, if it failed.
    pub error: Option<String>,
    pub created: crate::store::Millis,
    pub updated: crate::store::Millis,
}

impl<S: Store> Client<S> {
    pub(crate) fn new(shared: Arc<Shared<S>>) -> Self {
        Self { shared }
    }

    /// Starts an instance of `orchestration` with `input`, under `id` or a generated
    /// id; returns the id. Starting an id that exists is [`StoreError::AlreadyExists`].
    pub async fn start<O: Orchestration>(
        &self,
        orchestration: O,
        id: Option<&str>,
        input: &O::Input,
    ) -> Result<String, ClientError> {
        let _ = orchestration;
        let id = id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let now = now_millis();
        let record = InstanceRecord {
            id: id.clone(),
            name: O::NAME.to_owned(),
            status: RuntimeStatus::Pending,
            input: codec::encode(input, "orchestration input")?,
            output: None,
            error: None,
            created: now,
            updated: now,
            state: None,
            wake: None,
            next_task: 0,
            event_waits: Vec::new(),
            events: Vec::new(),
            parent: None,
        };
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
        let payload = codec::encode(payload, "event payload")?;
        let message = crate::store::Message::Event {
            name: name.to_owned(),
            payload,
        };
        self.shared.store.send(id, message).await?;
        self.shared.instance_work.notify_one();
        Ok(())
    }

    /// The status of instance `id`, if it exists.
    pub async fn status(&self, id: &str) -> Result<Option<InstanceStatus>, ClientError> {
        Ok(self
            .shared
            .store
            .instance(id)
            .await?
            .map(|r| InstanceStatus {
                id: r.id,
                name: r.name,
                status: r.status,
                error: r.error,
                created: r.created,
                updated: r.updated,
            }))
    }

    /// Waits until instance `id` of `orchestration` ends, for at most `timeout`: its
    /// output, or the message it failed with.
    pub async fn wait<O: Orchestration>(
        &self,
        orchestration: O,
        id: &str,
        timeout: Duration,
    ) -> Result<Result<O::Output, String>, ClientError> {
        let _ = orchestration;
        let deadline = Instant::now() + timeout;
        loop {
            let ended = self.shared.ended.notified();
            let record = self
                .shared
                .store
                .instance(id)
                .await?
                .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
            if record.name != O::NAME {
                return Err(ClientError::WrongOrchestration {
                    id: id.to_owned(),
                    expected: O::NAME,
                    actual: record.name,
                });
            }
            match (record.status, record.output, record.error) {
                (RuntimeStatus::Completed, Some(output), _) => {
                    return Ok(Ok(codec::decode(&output, "orchestration output")?))
                }
                (RuntimeStatus::Failed, _, error) => {
                    return Ok(Err(error.unwrap_or_default()));
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout(id.to_owned()));
            }
            let _ = tokio::time::timeout_at(deadline.min(Instant::now() + self.shared.poll), ended)
                .await;
        }
    }
}
