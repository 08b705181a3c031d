//! Every hard limit of the runtime, with the reason it exists. A caller who reaches one
//! is told by an error before anything is stored; nothing is dropped to stay under it.

/// Events an instance holds at most that its orchestration has not taken yet: queued in
/// its inbox (while it runs a step, or is suspended) or buffered in its record (raised
/// before it waited for them). A raise past it is refused with
/// [`StoreError::TooManyEvents`](crate::store::StoreError::TooManyEvents), so an
/// instance that never waits for an event cannot grow without bound, and no event a
/// caller was told is accepted is ever dropped.
pub const MAX_BUFFERED_EVENTS: usize = 1024;
