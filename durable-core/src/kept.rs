//! Which loops' items kept beside the checkpoints ([`Collected`]) a step's new
//! checkpoint still refers to, so that the items of a loop the step dropped are deleted
//! with its commit.
//!
//! A loop over an owned collection may be left before its end: `break`, `return`, `?`,
//! or a `break` to an outer label. Its iterator is then a dead local, dropped without
//! being saved, and nothing else refers to the items it kept: left in the store, they
//! would pile up with each batch an endless instance skims. Which way the loop was left
//! does not matter here; what matters is that a loop read from the last checkpoint was
//! not saved in the next one. Serde is how both happen, and serde passes no context, so
//! [`track`] opens a ledger for the thread while a step runs, and [`Collected`]'s
//! `Deserialize` and `Serialize` write to it. A dropped loop's keys from where the
//! checkpoint had it go as one range: the items the step took are deleted already, and
//! deleting them again costs nothing more.
//!
//! A loop read but not saved again is the only one deleted: a loop the step did not
//! read (a durable function's checkpoint carried as it was) is not touched, and one
//! saved at any point of the step is kept. The error, when there is one, is keeping
//! too much.
//!
//! [`Collected`]: crate::iter::Collected

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::OrchestrationContext;

thread_local! {
    static LEDGER: RefCell<Option<Ledger>> = const { RefCell::new(None) };
}

/// What one step read and saved.
#[derive(Default)]
struct Ledger {
    /// The keys of each loop read from the checkpoint that were still to be taken, by its
    /// first key.
    read: BTreeMap<u64, Range<u64>>,
    /// The first keys of the loops saved.
    saved: BTreeSet<u64>,
}

/// A loop whose items are kept from `first` was read, with `remaining` still to take.
pub(crate) fn read(first: u64, remaining: Range<u64>) {
    with(|ledger| {
        ledger.read.insert(first, remaining);
    });
}

/// The loop whose items are kept from `first` was saved.
pub(crate) fn saved(first: u64) {
    with(|ledger| {
        ledger.saved.insert(first);
    });
}

fn with(f: impl FnOnce(&mut Ledger)) {
    LEDGER.with(|ledger| {
        if let Some(ledger) = ledger.borrow_mut().as_mut() {
            f(ledger);
        }
    });
}

/// Runs `step` with a ledger of its own, and returns, with its result, the keys of the
/// items of each loop it read and did not save.
pub(crate) fn track<R>(step: impl FnOnce() -> R) -> (R, Vec<Range<u64>>) {
    /// Puts back what the thread had before, also when `step` panics.
    struct Scope(Option<Ledger>);
    impl Drop for Scope {
        fn drop(&mut self) {
            let outer = self.0.take();
            LEDGER.with(|ledger| *ledger.borrow_mut() = outer);
        }
    }
    let scope = Scope(LEDGER.with(|ledger| ledger.replace(Some(Ledger::default()))));
    let result = step();
    let ledger = LEDGER.with(|ledger| ledger.take()).unwrap_or_default();
    drop(scope);
    let dropped = ledger
        .read
        .into_iter()
        .filter(|(first, remaining)| !ledger.saved.contains(first) && !remaining.is_empty())
        .map(|(_, remaining)| remaining)
        .collect();
    (result, dropped)
}

/// Deletes with `ctx`'s commit the items of the loops [`track`] found dropped, a range
/// of keys each.
pub(crate) fn delete(ctx: &OrchestrationContext, dropped: Vec<Range<u64>>) {
    for keys in dropped {
        ctx.drop_parts(keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_read_and_not_saved_is_dropped_from_where_its_checkpoint_had_it() {
        let ((), dropped) = track(|| {
            read(10, 12..20);
            read(30, 30..35);
            read(40, 45..45);
            saved(30);
            saved(50);
        });
        // saved, taken to its end, or new: kept
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert_eq!(dropped[0], 12..20);
    }

    #[test]
    fn nothing_is_recorded_outside_a_step_and_a_panic_closes_the_ledger() {
        read(1, 1..5);
        let panicked = std::panic::catch_unwind(|| track(|| panic!("in a step")));
        assert!(panicked.is_err());
        LEDGER.with(|ledger| assert!(ledger.borrow().is_none()));
        let ((), dropped) = track(|| read(2, 2..3));
        assert_eq!((dropped.len(), &dropped[0]), (1, &(2..3)));
    }
}
