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
use crate::StepError;

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
        Collected { items, endless }
    }
}

/// A loop's saved iterator, as it starts: whether it could be saved.
pub trait Started {
    fn started(&self) -> Result<(), StepError>;
}

/// The saved forms of the [`LazyIter`]s always start.
macro_rules! always_started {
    ($($saved:ident)*) => {$(
        impl<A> Started for $saved<A> {
            fn started(&self) -> Result<(), StepError> {
                Ok(())
            }
        }
    )*};
}

always_started!(Range RangeFrom InclusiveRange);

impl<T> Started for Collected<T> {
    fn started(&self) -> Result<(), StepError> {
        match &self.endless {
            Some(why) => Err(StepError::EndlessLoop { why: why.clone() }),
            None => Ok(()),
        }
    }
}

/// Fails the step if a loop's iterator could not be collected (see [`CollectTag`]):
/// called by the generated code right after the loop's iterator is saved.
pub fn started<I: Started>(iter: &I) -> Result<(), StepError> {
    iter.started()
}

/// The items of a `for` loop's iterator, collected when the loop starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Collected<T> {
    items: VecDeque<T>,
    /// Why it was not collected, if it was not: the step fails before the loop runs.
    #[serde(skip)]
    endless: Option<String>,
}

impl<T> Iterator for Collected<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.items.pop_front()
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
        let collected = (&&IterKind(v.clone().into_iter()))
            .durable_iter_kind()
            .saved(v.into_iter());
        assert_eq!(collected.collect::<Vec<i32>>(), [1, 2, 3]);
    }
}
