//! Slots: where a generated state machine keeps a local across a block boundary.
//!
//! Every local that is still read after an `.await` lives in a slot while the
//! orchestration is suspended; the slots live at a resume point are exactly what is
//! encoded into the state. A slot is declared empty at the top of the machine, and Rust
//! infers its type from the first value put into it, so user code needs no annotations.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::{self, CodecError};
use crate::inspect::Shown;

/// A local held across an `.await` must be saved in the orchestration's state.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be held across an `.await` in an orchestrator",
    label = "this is still used after an `.await`, so it is saved in the orchestration's state",
    note = "values that live across an `.await` must be owned and serializable: `Serialize + DeserializeOwned + 'static`",
    note = "a borrow (`&T`) cannot be saved: keep an owned value (`.clone()`, `.to_owned()`) or end the borrow before the `.await`",
    note = "a method's receiver is evaluated before an `.await` in its arguments, as in Rust: where the receiver is a borrow (`map.entry(k).or_default().push(op.await)`), await into a local first",
    note = "`Collected<T>` is what a `for` loop over an owned collection saves: its remaining items. Items that are borrows (`v.iter().collect::<Vec<_>>()`) cannot be saved: loop over `&v` or `v.iter()` itself (re-derived after each `.await`), or collect owned items (`.cloned()`)"
)]
pub trait Persist: Serialize + DeserializeOwned + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + 'static> Persist for T {}

/// A local's home between blocks of a state machine.
#[derive(Debug)]
pub struct Slot<T>(Option<T>);

impl<T> Slot<T> {
    /// An empty slot; its type comes from what is put into it later.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Slot(None)
    }

    /// Stores the local when control leaves a block.
    pub fn put(&mut self, value: T) {
        self.0 = Some(value);
    }

    /// Takes the local back when a block that reads it starts.
    ///
    /// The macro only reads slots it has filled on every path to the read, and a
    /// decoded state fills every slot it carries, so an empty slot here is a bug in
    /// `durable-macros`, never something user code or stored bytes can cause.
    pub fn take(&mut self) -> T {
        self.0
            .take()
            .expect("durable: slot read before it was written (a bug in durable-macros)")
    }

    pub(crate) fn peek(&self) -> Option<&T> {
        self.0.as_ref()
    }

    pub(crate) fn peek_mut(&mut self) -> Option<&mut T> {
        self.0.as_mut()
    }
}

/// A slot seen from the state codec, whatever its type.
pub trait SlotCodec {
    /// Appends the slot's value to `buf`.
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), CodecError>;
    /// Fills the slot from the front of `bytes`.
    fn decode(&mut self, bytes: &mut &[u8]) -> Result<(), CodecError>;
    /// The name of the slot's type, part of the layout a checkpoint is checked against
    /// before it is decoded (see [`crate::point`]).
    fn type_name(&self) -> &'static str;
    /// The slot's value as JSON, for inspection.
    fn show(&self) -> Shown;
}

impl<T: Persist> SlotCodec for Slot<T> {
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), CodecError> {
        match &self.0 {
            Some(value) => codec::encode_into(value, buf, "orchestration state"),
            None => Err(CodecError::Encode {
                what: "orchestration state",
                message: "a saved slot is empty (a bug in durable-macros)".into(),
            }),
        }
    }

    fn decode(&mut self, bytes: &mut &[u8]) -> Result<(), CodecError> {
        self.0 = Some(codec::decode_from(bytes, "orchestration state")?);
        Ok(())
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn show(&self) -> Shown {
        match &self.0 {
            Some(value) => Shown::of(value),
            None => Shown::Unshowable("empty (a bug in durable-macros)".into()),
        }
    }
}

/// Requires `T` to be savable, where a migration names it.
pub fn assert_persist<T: Persist>() {}

/// Marks a slot as saved in the state. Its bound is where "this local cannot be held
/// across an `.await`" is reported, at the user's variable.
pub fn persist<T: Persist>(slot: &mut Slot<T>) -> &mut dyn SlotCodec {
    slot
}
