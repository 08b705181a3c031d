//! `for` loops with an `.await` in their body, and how they resume.
//!
//! - A loop over a borrowed collection or a lazy iterator (`&v`, `v.iter()`,
//!   `.chunks(n)`, `(1..).map(f)`, `iter::successors(..)`, ...) keeps only a cursor,
//!   the number of items taken: each item is [`nth`] of the iterator created anew from
//!   the same expression, and the loop's bindings are derived again that way after an
//!   `.await` (a borrow cannot be saved). The cost is the iterator's `nth`: O(1) for
//!   slices, chunks, windows, ranges and `step_by` on them, O(items taken) for adapters
//!   such as `successors` or `filter`. Iteration whose order changes when a collection
//!   is decoded again (`HashMap`, `HashSet`) is refused at compile time ([`Order`]).
//! - Ranges (also the endless `1..`) are stored as they are.
//! - Any other iterator (an owned collection moved into the loop) is collected into a
//!   `VecDeque` when the loop starts and drained from the front; one that says it never
//!   ends, or yields more than [`MAX_COLLECTED_ITEMS`] with no upper bound, fails the
//!   step ([`StepError::EndlessLoop`]) instead of hanging it.
//!
//! The choice between the last two is made at compile time by autoref specialization:
//! the generated code calls `(&&IterKind(iter)).durable_iter_kind()`, which finds
//! [`LazyKind`] when the iterator is one of the lazy ones and falls back to
//! [`CollectKind`] otherwise.

use std::collections::VecDeque;
use std::ops::{Range, RangeFrom, RangeInclusive};

use serde::{Deserialize, Serialize};

use crate::limits::MAX_COLLECTED_ITEMS;
use crate::slot::{Persist, Slot};
use crate::{codec, kept};
use crate::{OrchestrationContext, StepError};

/// An iterator whose own state is small and serializable.
pub trait LazyIter: Iterator {
    /// The iterator as saved in the state.
    type Saved: Iterator<Item = Self::Item>;
    /// Converts the iterator for saving.
    fn into_saved(self) -> Self::Saved;
}

impl<A> LazyIter for Range<A>
where
    Range<A>: Iterator,
{
    type Saved = Self;
    fn into_saved(self) -> Self {
        self
    }
}

impl<A> LazyIter for RangeFrom<A>
where
    RangeFrom<A>: Iterator,
{
    type Saved = Self;
    fn into_saved(self) -> Self {
        self
    }
}

/// `a..=b` as saved: serde's `RangeInclusive` drops the "exhausted" flag, which would
/// repeat the last element after a resume, so it is kept explicitly here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InclusiveRange<A> {
    next: A,
    end: A,
    done: bool,
}

macro_rules! inclusive_ranges {
    ($($t:ty)*) => {$(
        impl LazyIter for RangeInclusive<$t> {
            type Saved = InclusiveRange<$t>;
            fn into_saved(self) -> InclusiveRange<$t> {
                let done = self.is_empty();
                let (next, end) = self.into_inner();
                InclusiveRange { next, end, done }
            }
        }

        impl Iterator for InclusiveRange<$t> {
            type Item = $t;
            fn next(&mut self) -> Option<$t> {
                if self.done {
                    return None;
                }
                let item = self.next;
                if item == self.end {
                    self.done = true;
                } else {
                    self.next += 1;
                }
                Some(item)
            }
        }
    )*};
}

inclusive_ranges!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

/// Wraps the iterator of a `for` loop for kind selection.
pub struct IterKind<I>(pub I);

/// Selected for [`LazyIter`]s.
pub struct LazyTag;
/// Selected for every other iterator.
pub struct CollectTag;

/// The preferred kind: applies through `&&IterKind<I>` when `I: LazyIter`.
pub trait LazyKind {
    fn durable_iter_kind(&self) -> LazyTag {
        LazyTag
    }
}
impl<I: LazyIter> LazyKind for &IterKind<I> {}

/// The fallback kind: applies through `&IterKind<I>` for any iterator.
pub trait CollectKind {
    fn durable_iter_kind(&self) -> CollectTag {
        CollectTag
    }
}
impl<I: Iterator> CollectKind for IterKind<I> {}

impl LazyTag {
    pub fn saved<I: LazyIter>(self, iter: I) -> I::Saved {
        iter.into_saved()
    }
}

impl CollectTag {
    /// Collects `iter`, unless it says it never ends or yields more than
    /// [`MAX_COLLECTED_ITEMS`] without an upper bound: then the loop does not start
    /// ([`started`] says why).
    pub fn saved<I: Iterator>(self, iter: I) -> Collected<I::Item> {
        let limit = MAX_COLLECTED_ITEMS;
        let (items, endless) = match iter.size_hint() {
            (usize::MAX, _) => (VecDeque::new(), Some("it says it never ends".into())),
            (_, Some(_)) => (iter.collect(), None),
            (_, None) => {
                let items: VecDeque<I::Item> = iter.take(limit + 1).collect();
                if items.len() > limit {
                    let why = format!("it yielded more than {limit} items");
                    (VecDeque::new(), Some(why))
                } else {
                    (items, None)
                }
            }
        };
        Collected {
            items,
            kept: None,
            endless,
        }
    }
}

/// A loop's saved iterator, as the generated code drives it: whether it could start,
/// its next item, and what it does before a checkpoint is taken.
pub trait LoopIter {
    type Item;
    fn started(&self) -> Result<(), StepError> {
        Ok(())
    }
    fn next_item(&mut self, ctx: &OrchestrationContext) -> Result<Option<Self::Item>, StepError>;
    fn park(&mut self, _ctx: &OrchestrationContext) -> Result<(), StepError> {
        Ok(())
    }
}

/// The saved forms of the [`LazyIter`]s are iterators whose state is their own.
macro_rules! plain_loop_iters {
    ($($saved:ident)*) => {$(
        impl<A> LoopIter for $saved<A> where $saved<A>: Iterator {
            type Item = <$saved<A> as Iterator>::Item;
            fn next_item(&mut self, _: &OrchestrationContext) -> Result<Option<Self::Item>, StepError> {
                Ok(self.next())
            }
        }
    )*};
}

plain_loop_iters!(Range RangeFrom InclusiveRange);

/// Fails the step if a loop's iterator could not be collected (see [`CollectTag`]):
/// called by the generated code right after the loop's iterator is saved.
pub fn started<I: LoopIter>(iter: &I) -> Result<(), StepError> {
    iter.started()
}

/// The loop's next item.
pub fn next<I: LoopIter>(
    iter: &mut I,
    ctx: &OrchestrationContext,
) -> Result<Option<I::Item>, StepError> {
    iter.next_item(ctx)
}

/// Before a checkpoint: a collected loop's remaining items go beside it, if the store
/// keeps parts and there are enough of them.
pub fn park<I: LoopIter>(iter: &mut I, ctx: &OrchestrationContext) -> Result<(), StepError> {
    iter.park(ctx)
}

/// [`park`] for a loop already in its slot: an outer loop, put there when its body
/// entered an inner loop, parks at the inner loop's checkpoints.
pub fn park_saved<I: LoopIter>(
    slot: &mut Slot<I>,
    ctx: &OrchestrationContext,
) -> Result<(), StepError> {
    match slot.peek_mut() {
        Some(iter) => iter.park(ctx),
        None => Ok(()),
    }
}

/// How many remaining items make a collected loop keep them beside its checkpoints
/// rather than in them: below it, carrying them costs less than a write per item.
pub const KEPT_BESIDE: usize = 8;

/// The items of a `for` loop's iterator, collected when the loop starts. While few
/// remain, or where the store keeps no parts, the remaining items are in each
/// checkpoint; otherwise, at the first checkpoint, each is written once beside it (a
/// part of the instance's state, under a key of its own), the checkpoint keeps where
/// they are and how many are taken, and each step reads the one it takes: a step's
/// cost does not depend on how many remain. A step that leaves the loop before its end
/// deletes the items it did not take.
#[derive(Debug)]
pub struct Collected<T> {
    items: VecDeque<T>,
    kept: Option<Kept>,
    /// Why it was not collected, if it was not: the step fails before the loop runs.
    endless: Option<String>,
}

/// Where a collected loop's items are kept beside its checkpoints.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Kept {
    /// The key of the first item.
    first: u64,
    len: u64,
    /// How many are taken.
    taken: u64,
}

/// How a [`Collected`] is saved.
#[derive(Serialize, Deserialize)]
enum Saved<T> {
    Items(VecDeque<T>),
    Kept(Kept),
}

impl<T: Serialize> Serialize for Collected<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.kept {
            Some(kept) => {
                kept::saved(kept.first);
                Saved::<&T>::Kept(kept).serialize(serializer)
            }
            None => Saved::Items(self.items.iter().collect()).serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Collected<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (items, kept) = match Saved::deserialize(deserializer)? {
            Saved::Items(items) => (items, None),
            Saved::Kept(kept) => {
                kept::read(kept.first, kept.first + kept.taken..kept.first + kept.len);
                (VecDeque::new(), Some(kept))
            }
        };
        Ok(Collected {
            items,
            kept,
            endless: None,
        })
    }
}

impl<T: Persist> LoopIter for Collected<T> {
    type Item = T;

    fn started(&self) -> Result<(), StepError> {
        match &self.endless {
            Some(why) => Err(StepError::EndlessLoop { why: why.clone() }),
            None => Ok(()),
        }
    }

    fn next_item(&mut self, ctx: &OrchestrationContext) -> Result<Option<T>, StepError> {
        let Some(kept) = &mut self.kept else {
            return Ok(self.items.pop_front());
        };
        if kept.taken >= kept.len {
            return Ok(None);
        }
        let key = kept.first + kept.taken;
        kept.taken += 1;
        let Some(bytes) = ctx.read_part(key)? else {
            return Err(StepError::Part(key, "it is missing".into()));
        };
        ctx.write_part(key, None);
        codec::decode(&bytes, "loop item")
            .map(Some)
            .map_err(|e| StepError::Part(key, e.to_string()))
    }

    fn park(&mut self, ctx: &OrchestrationContext) -> Result<(), StepError> {
        if self.kept.is_some() || self.items.len() < KEPT_BESIDE || !ctx.keeps_parts() {
            return Ok(());
        }
        let len = self.items.len() as u64;
        let first = ctx.reserve(len);
        for (key, item) in (first..).zip(self.items.drain(..)) {
            ctx.write_part(key, Some(codec::encode(&item, "loop item")?));
        }
        self.kept = Some(Kept {
            first,
            len,
            taken: 0,
        });
        Ok(())
    }
}

/// The `n`th item of `iter`, from the start: the item a re-created loop takes next, or
/// the one its body was at when it suspended.
pub fn nth<I: Iterator>(mut iter: I, n: usize) -> Option<I::Item> {
    iter.nth(n)
}

/// Wraps a re-created loop's iterator to check, at compile time, that its order is
/// the same in every process: `(&&Order(&iter)).durable_order()` is [`Unordered`] for
/// the iterators of `HashMap` and `HashSet`, which [`stable`] refuses.
pub struct Order<'a, I>(pub &'a I);

/// What a loop over an iterator of stable order gets.
pub struct Ordered;
/// What a loop over a `HashMap` or `HashSet` gets.
pub struct Unordered;

/// The order of a collection's iteration is the same when it is decoded again.
#[diagnostic::on_unimplemented(
    message = "a loop over a `HashMap` or `HashSet` cannot resume after an `.await` in an orchestrator",
    label = "its order changes when the collection is decoded again in another step",
    note = "use a `BTreeMap` or `BTreeSet`, or collect the keys and sort them first: `let mut keys: Vec<_> = map.keys().cloned().collect(); keys.sort();`"
)]
pub trait StableOrder {}
impl StableOrder for Ordered {}

/// Requires a loop's iterator to have a stable order (see [`Order`]).
pub fn stable<T: StableOrder>(_: T) {}

/// The fallback: any iterator.
pub trait AnyOrder {
    fn durable_order(&self) -> Ordered {
        Ordered
    }
}
impl<I> AnyOrder for Order<'_, I> {}

/// Applies through `&Order<I>` for the iterators of hash collections.
pub trait HashOrder {
    fn durable_order(&self) -> Unordered {
        Unordered
    }
}

macro_rules! unordered {
    ($($path:ident::$iter:ident<$($p:ident),*>),* $(,)?) => {$(
        impl<'a, $($p),*> HashOrder for &Order<'_, std::collections::$path::$iter<'a, $($p),*>> {}
    )*};
}

unordered!(
    hash_map::Iter<K, V>,
    hash_map::IterMut<K, V>,
    hash_map::Keys<K, V>,
    hash_map::Values<K, V>,
    hash_map::ValuesMut<K, V>,
    hash_map::Drain<K, V>,
    hash_set::Iter<K>,
    hash_set::Drain<K>,
);

macro_rules! unordered_owned {
    ($($path:ident::$iter:ident<$($p:ident),*>),* $(,)?) => {$(
        impl<$($p),*> HashOrder for &Order<'_, std::collections::$path::$iter<$($p),*>> {}
    )*};
}

unordered_owned!(
    hash_map::IntoIter<K, V>,
    hash_map::IntoKeys<K, V>,
    hash_map::IntoValues<K, V>,
    hash_set::IntoIter<K>,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PartReader;

    #[test]
    fn inclusive_range_survives_a_round_trip_at_its_last_element() {
        let mut it = (250u8..=255).into_saved();
        let mut seen = Vec::new();
        while let Some(x) = it.next() {
            seen.push(x);
            let bytes = crate::codec::encode(&it, "t").unwrap();
            it = crate::codec::decode(&bytes, "t").unwrap();
        }
        assert_eq!(seen, vec![250, 251, 252, 253, 254, 255]);
        let (start, end) = (3u32, 2u32);
        assert_eq!((start..=end).into_saved().count(), 0);
    }

    #[test]
    #[allow(clippy::needless_borrow)]
    fn order_selection_tells_hash_iterators_apart() {
        use std::collections::{BTreeMap, HashMap};
        let (tree, hash) = (BTreeMap::from([(1, 2)]), HashMap::from([(1, 2)]));
        let (a, b) = (tree.iter(), hash.iter());
        let _: Ordered = (&&Order(&a)).durable_order();
        let _: Unordered = (&&Order(&b)).durable_order();
        assert_eq!(nth(tree.keys(), 0), Some(&1));
        assert_eq!(nth((1u64..).map(|n| n * 100), 3), Some(400));
    }

    #[test]
    #[allow(clippy::needless_borrow)]
    fn kind_selection_keeps_ranges_lazy_and_collects_the_rest() {
        let lazy = (&&IterKind(1u64..)).durable_iter_kind().saved(1u64..);
        let _: RangeFrom<u64> = lazy;
        let v = vec![1, 2, 3];
        let mut collected = (&&IterKind(v.clone().into_iter()))
            .durable_iter_kind()
            .saved(v.into_iter());
        let ctx = OrchestrationContext::new("i", 0, 0);
        let mut items = Vec::new();
        while let Some(item) = next(&mut collected, &ctx).unwrap() {
            items.push(item);
        }
        assert_eq!(items, [1u64, 2, 3]);
    }

    #[test]
    fn a_long_collection_is_kept_beside_the_checkpoint_and_read_back_an_item_a_step() {
        let ctx = OrchestrationContext::new("i", 5, 0);
        let mut collected = CollectTag.saved(0..20u64);
        assert_eq!(next(&mut collected, &ctx).unwrap(), Some(0));
        park(&mut collected, &ctx).unwrap();
        let parked = ctx.take_part_writes();
        assert!(
            parked.is_empty(),
            "no reader: the items stay in the checkpoint"
        );
        let reader = PartReader(std::sync::Arc::new(|_: &str, _: u64| Ok(None)));
        let ctx = OrchestrationContext::new("i", 5, 0).with_parts(Some(reader));
        park(&mut collected, &ctx).unwrap();
        let parked = ctx.take_part_writes();
        assert_eq!(parked.len(), 19, "each remaining item, once");
        assert_eq!(ctx.next_task(), 5 + 19, "their keys are reserved");
        let saved = codec::encode(&collected, "loop").unwrap();
        assert!(saved.len() < 8, "{} bytes", saved.len());
        let mut restored: Collected<u64> = codec::decode(&saved, "loop").unwrap();
        let kept: std::collections::HashMap<u64, Vec<u8>> =
            parked.into_iter().map(|(k, v)| (k, v.unwrap())).collect();
        let reader = PartReader(std::sync::Arc::new(move |_: &str, k: u64| {
            Ok(kept.get(&k).cloned())
        }));
        let ctx = OrchestrationContext::new("i", 24, 0).with_parts(Some(reader));
        assert_eq!(next(&mut restored, &ctx).unwrap(), Some(1));
        assert_eq!(next(&mut restored, &ctx).unwrap(), Some(2));
        assert_eq!(
            ctx.take_part_writes(),
            [(5, None), (6, None)],
            "taken, deleted"
        );
    }
}
