//! Every hard limit of the runtime, with the reason it exists. A caller who reaches one
//! is told by an error before anything is stored; nothing is dropped to stay under it.

/// Events an instance holds at most that its orchestration has not taken yet: queued in
/// its inbox (while it runs a step, or is suspended) or buffered in its record (raised
/// before it waited for them). A raise past it is refused with
/// [`StoreError::TooManyEvents`](crate::store::StoreError::TooManyEvents), so an
/// instance that never waits for an event cannot grow without bound, and no event a
/// caller was told is accepted is ever dropped.
pub const MAX_BUFFERED_EVENTS: usize = 1024;

/// The longest instance id a caller may give, in bytes (UTF-8). Ids are keys of every
/// store and parts of URLs and of sub-orchestration ids (`parent:task`): an id longer
/// than any name a person reads is a mistake, refused with
/// [`ClientError::InvalidId`](crate::ClientError::InvalidId) before anything is stored.
pub const MAX_INSTANCE_ID_BYTES: usize = 256;

/// Items a `for` loop collects at most when it starts, from an iterator with no upper
/// bound it can see (`size_hint`) and that durable cannot resume lazily (one held in a
/// local, or of a user's type). Collecting happens inside a step: an endless iterator
/// would otherwise hang every worker that claims the instance. Past it the step fails
/// with [`StepError::EndlessLoop`](crate::StepError::EndlessLoop) and the instance is
/// blocked, with the reason, until fixed code retries it.
pub const MAX_COLLECTED_ITEMS: usize = 1_000_000;
