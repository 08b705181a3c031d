//! Queuing messages: the inbox row and the counters of its instance's row in one
//! statement, so that a claim reads an instance back only when what is queued may let
//! it step (the `ready` column), however many instances wait and however many results
//! a fan-in has collected so far.

use deadpool_postgres::GenericClient;
use durable_core::codec;
use durable_core::limits::MAX_BUFFERED_EVENTS;
use durable_core::store::Message;
use durable_core::StoreError;

use crate::pipeline::Param;
use crate::sql::{self, kind_code};

/// Queues `message` for instance `id` if it exists; returns whether it does.
pub(crate) async fn enqueue(
    client: &impl GenericClient,
    id: &str,
    message: &Message,
) -> Result<bool, StoreError> {
    let kind = kind_code(message);
    let bytes = codec::encode(message, "message").map_err(sql::codec)?;
    let queued = sql::execute(client, ENQUEUE, &[&id, &kind, &bytes]).await?;
    Ok(queued > 0)
}

/// [`enqueue`] as a statement of a [`Pipeline`](crate::pipeline::Pipeline).
pub(crate) fn enqueue_statement(
    id: &str,
    message: &Message,
) -> Result<(&'static str, Vec<Param>), StoreError> {
    let kind = kind_code(message);
    let bytes = codec::encode(message, "message").map_err(sql::codec)?;
    Ok((
        ENQUEUE,
        vec![Box::new(id.to_owned()), Box::new(kind), Box::new(bytes)],
    ))
}

/// Queues event `message` for instance `id` unless it holds [`MAX_BUFFERED_EVENTS`]
/// events not yet taken (queued, or buffered in its record), checked under the row's
/// lock; a statement of a [`Pipeline`](crate::pipeline::Pipeline) that returns no row
/// if it was refused or there is no instance.
pub(crate) fn enqueue_event_statement(
    id: &str,
    message: &Message,
) -> Result<(&'static str, Vec<Param>), StoreError> {
    let bytes = codec::encode(message, "message").map_err(sql::codec)?;
    let limit = i32::try_from(MAX_BUFFERED_EVENTS).unwrap_or(i32::MAX);
    Ok((
        ENQUEUE_EVENT,
        vec![Box::new(id.to_owned()), Box::new(bytes), Box::new(limit)],
    ))
}

const ENQUEUE: &str = "
    WITH target AS (
        UPDATE durable_instances SET
            pending = true,
            q_total = q_total + 1,
            q_results = q_results + ($2::smallint = 0)::int,
            q_events = q_events + ($2::smallint = 1)::int,
            q_commands = q_commands + ($2::smallint = 2)::int
        WHERE id = $1
        RETURNING id
    )
    INSERT INTO durable_inbox (instance, kind, message) SELECT id, $2, $3 FROM target
    RETURNING seq";

const ENQUEUE_EVENT: &str = "
    WITH target AS (
        UPDATE durable_instances SET
            pending = true,
            q_total = q_total + 1,
            q_events = q_events + 1
        WHERE id = $1 AND q_events + buffered_events < $3
        RETURNING id
    )
    INSERT INTO durable_inbox (instance, kind, message) SELECT id, 1, $2 FROM target
    RETURNING seq";
