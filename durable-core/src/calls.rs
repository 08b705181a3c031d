//! [`CallQueue`]: queued activity calls and the claims on them, as a store keeps them in
//! memory. Claiming the next call costs O(log n) however many calls are queued, claimed
//! or backing off, and calls are served in the order they became ready to run, not by
//! instance id: an instance that fans out to 100,000 calls does not starve the others.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::{Lease, LockedActivity, StoreError};
use crate::task::{Millis, TaskId};

/// A queued activity call: its instance and task.
pub type CallKey = (String, TaskId);

#[derive(Debug)]
struct Entry {
    /// When the call may run: when it was queued, or its retry's backoff ends.
    ready: Millis,
    /// Its place in line among calls ready at the same time.
    seq: u64,
    lease: Option<Lease>,
}

/// Queued calls, in line by when they are ready, and their claims, by when they expire.
#[derive(Debug, Default)]
pub struct CallQueue {
    /// In key order, so that one instance's calls are a range.
    calls: BTreeMap<CallKey, Entry>,
    /// Calls with no claim: (ready, seq, key).
    free: BTreeSet<(Millis, u64, CallKey)>,
    /// Claimed calls: (claim expires, seq, key).
    claimed: BTreeSet<(Millis, u64, CallKey)>,
    next_seq: u64,
}

impl CallQueue {
    /// Queues call `key`, ready at `ready`, behind the calls ready before it. A call
    /// queued already (a retry) is put back in line with no claim.
    pub fn insert(&mut self, key: CallKey, ready: Millis) {
        self.remove(&key);
        self.next_seq += 1;
        let seq = self.next_seq;
        self.free.insert((ready, seq, key.clone()));
        let lease = None;
        self.calls.insert(key, Entry { ready, seq, lease });
    }

    pub fn contains(&self, key: &CallKey) -> bool {
        self.calls.contains_key(key)
    }

    /// Removes call `key`; when it was ready.
    pub fn remove(&mut self, key: &CallKey) -> Option<Millis> {
        let entry = self.calls.remove(key)?;
        match &entry.lease {
            None => self.free.remove(&(entry.ready, entry.seq, key.clone())),
            Some(lease) => self
                .claimed
                .remove(&(lease.expires, entry.seq, key.clone())),
        };
        Some(entry.ready)
    }

    /// The call to claim next at `now`: the first in line of those ready and with no
    /// live claim. Claims that expired by `now` are dropped first, and their calls go
    /// back to their place in line.
    pub fn next(&mut self, now: Millis) -> Option<CallKey> {
        while let Some((expires, seq, key)) = self.claimed.first().cloned() {
            if expires > now {
                break;
            }
            self.claimed.pop_first();
            if let Some(entry) = self.calls.get_mut(&key) {
                entry.lease = None;
                self.free.insert((entry.ready, seq, key));
            }
        }
        let (ready, _, key) = self.free.first()?;
        (*ready <= now).then(|| key.clone())
    }

    /// The claim on call `key`, if it has one.
    pub fn lease(&self, key: &CallKey) -> Option<&Lease> {
        self.calls.get(key)?.lease.as_ref()
    }

    /// The key of the call `locked` holds, if its claim is still the call's: compared
    /// by token, which a renewal keeps.
    pub fn claimed(&self, locked: &LockedActivity) -> Result<CallKey, StoreError> {
        let key = (locked.task.instance.clone(), locked.task.task);
        if self.lease(&key).map(|l| l.token) != Some(locked.lease.token) {
            return Err(StoreError::LeaseLost);
        }
        Ok(key)
    }

    /// Extends the claim `locked` holds to `expires`. A call held for the commit of its
    /// result ([`CallQueue::hold_for_commit`]) keeps that hold.
    pub fn renew(&mut self, locked: &LockedActivity, expires: Millis) -> Result<Lease, StoreError> {
        let key = self.claimed(locked)?;
        let renewed = Lease {
            token: locked.lease.token,
            expires,
        };
        if self.lease(&key).is_some_and(|l| l.expires != Millis::MAX) {
            self.hold(&key, renewed.clone());
        }
        Ok(renewed)
    }

    /// Holds call `key`, claimed with `lease`, until its result is written: nobody may
    /// take it over meanwhile, however long the write takes.
    pub fn hold_for_commit(&mut self, key: &CallKey, lease: &Lease) {
        let held = Lease {
            expires: Millis::MAX,
            ..lease.clone()
        };
        self.hold(key, held);
    }

    /// Claims call `key` with `lease`, in place of any claim it has.
    pub fn hold(&mut self, key: &CallKey, lease: Lease) {
        self.set_lease(key, Some(lease));
    }

    /// Drops the claim on call `key`: it is free to claim again, in its place in line.
    pub fn release(&mut self, key: &CallKey) {
        self.set_lease(key, None);
    }

    fn set_lease(&mut self, key: &CallKey, lease: Option<Lease>) {
        let Some(entry) = self.calls.get_mut(key) else {
            return;
        };
        match entry.lease.take() {
            None => self.free.remove(&(entry.ready, entry.seq, key.clone())),
            Some(old) => self.claimed.remove(&(old.expires, entry.seq, key.clone())),
        };
        match &lease {
            None => self.free.insert((entry.ready, entry.seq, key.clone())),
            Some(new) => self.claimed.insert((new.expires, entry.seq, key.clone())),
        };
        entry.lease = lease;
    }

    /// Every queued call of `instance`.
    pub fn of_instance(&self, instance: &str) -> Vec<CallKey> {
        let range = (instance.to_owned(), TaskId(0))..=(instance.to_owned(), TaskId(u64::MAX));
        self.calls.range(range).map(|(k, _)| k.clone()).collect()
    }

    /// Every queued call of `instance`, and whether a worker holds a live claim on it
    /// at `now` (what inspection shows as running).
    pub fn of_instance_claimed(&self, instance: &str, now: Millis) -> Vec<(CallKey, bool)> {
        let calls = self.of_instance(instance).into_iter();
        calls
            .map(|k| {
                let claimed = self.lease(&k).is_some_and(|l| l.expires > now);
                (k, claimed)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(instance: &str, task: u64) -> CallKey {
        (instance.into(), TaskId(task))
    }

    fn lease(token: u64, expires: Millis) -> Lease {
        Lease { token, expires }
    }

    #[test]
    fn calls_are_served_in_the_order_they_became_ready() {
        let mut queue = CallQueue::default();
        for task in 0..1000 {
            queue.insert(call("a-big-fan-out", task), 10);
        }
        queue.insert(call("z-late", 0), 11);
        queue.insert(call("b-retry", 0), 500);
        let mut served = Vec::new();
        while let Some(key) = queue.next(20) {
            queue.hold(&key, lease(1, 1_000));
            served.push(key);
        }
        assert_eq!(served.len(), 1001, "the retry is not ready yet");
        assert_eq!(
            served[1000],
            call("z-late", 0),
            "after the calls ready before it"
        );
        assert_eq!(queue.next(600), Some(call("b-retry", 0)));
    }

    #[test]
    fn an_expired_claim_frees_its_call_and_a_released_one_goes_back_in_line() {
        let mut queue = CallQueue::default();
        queue.insert(call("a", 0), 1);
        queue.insert(call("a", 1), 2);
        let first = queue.next(5).unwrap();
        queue.hold(&first, lease(7, 100));
        assert_eq!(queue.next(5), Some(call("a", 1)));
        queue.hold(&call("a", 1), lease(8, Millis::MAX));
        assert_eq!(queue.next(99), None, "both claimed");
        assert_eq!(queue.next(100), Some(call("a", 0)), "its claim expired");
        assert_eq!(queue.lease(&call("a", 0)), None);
        queue.hold(&call("a", 0), lease(9, 200));
        queue.hold(&call("a", 0), lease(9, 300));
        assert_eq!(queue.next(250), None, "renewed");
        queue.release(&call("a", 1));
        assert_eq!(queue.next(250), Some(call("a", 1)));
        assert_eq!(queue.of_instance("a").len(), 2);
        assert_eq!(queue.remove(&call("a", 0)), Some(1));
        assert_eq!(queue.remove(&call("a", 1)), Some(2));
        assert!(queue.calls.is_empty() && queue.free.is_empty() && queue.claimed.is_empty());
    }
}
