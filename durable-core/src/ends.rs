//! Clients waiting for instances to end. An instance that ends wakes the clients waiting
//! for it only: waking every waiting client at each end, each to read its own instance
//! again, made an end cost as much as there were clients waiting for other instances.
//!
//! A runtime keeps one for the ends its workers step; a store shared by processes keeps
//! one for the ends it hears of from the others ([`Store::watch_end`]).
//!
//! [`Store::watch_end`]: crate::Store::watch_end

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// The clients of this process waiting for an instance to end, by instance.
#[derive(Default)]
pub struct Ends {
    waiting: Mutex<HashMap<String, Waiting>>,
}

struct Waiting {
    clients: usize,
    notify: Arc<Notify>,
}

impl Ends {
    fn waiting(&self) -> MutexGuard<'_, HashMap<String, Waiting>> {
        // a poisoned lock only means a panic elsewhere mid-update of a plain map
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts waiting for instance `id` to end, until the watch is dropped.
    pub fn watch(&self, id: &str) -> EndWatch<'_> {
        let mut waiting = self.waiting();
        let entry = waiting.entry(id.to_owned()).or_insert_with(|| Waiting {
            clients: 0,
            notify: Arc::default(),
        });
        entry.clients += 1;
        EndWatch {
            ends: self,
            id: id.to_owned(),
            notify: entry.notify.clone(),
        }
    }

    /// Wakes the clients waiting for instance `id`, which ended.
    pub fn ended(&self, id: &str) {
        if let Some(waiting) = self.waiting().get(id) {
            waiting.notify.notify_waiters();
        }
    }

    /// Wakes every waiting client, each to read its instance again: for ends that may
    /// have been missed, or whose instance is not known.
    pub fn ended_any(&self) {
        for waiting in self.waiting().values() {
            waiting.notify.notify_waiters();
        }
    }
}

/// A client's wait for one instance to end.
pub struct EndWatch<'a> {
    ends: &'a Ends,
    id: String,
    notify: Arc<Notify>,
}

impl EndWatch<'_> {
    /// Resolves at the next end of the instance from the moment it is called, even
    /// before it is first polled: call it before reading the instance, so that an end
    /// in between is not missed.
    pub fn next(&self) -> Notified<'_> {
        self.notify.notified()
    }
}

impl Drop for EndWatch<'_> {
    fn drop(&mut self) {
        let mut waiting = self.ends.waiting();
        if let Some(entry) = waiting.get_mut(&self.id) {
            entry.clients -= 1;
            if entry.clients == 0 {
                waiting.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll};

    use super::*;

    fn ready(future: &mut std::pin::Pin<&mut Notified<'_>>) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        matches!(future.as_mut().poll(&mut cx), Poll::Ready(()))
    }

    #[test]
    fn an_end_wakes_only_the_clients_of_that_instance() {
        let ends = Ends::default();
        let (a, b) = (ends.watch("a"), ends.watch("b"));
        let (mut next_a, mut next_b) = (pin!(a.next()), pin!(b.next()));
        ends.ended("a");
        assert!(ready(&mut next_a));
        assert!(!ready(&mut next_b));
        ends.ended("b");
        assert!(ready(&mut next_b));
    }

    #[test]
    fn an_instance_is_forgotten_when_its_last_client_stops_waiting() {
        let ends = Ends::default();
        let first = ends.watch("a");
        let second = ends.watch("a");
        drop(first);
        assert_eq!(ends.waiting().len(), 1);
        {
            let mut next = pin!(second.next());
            ends.ended("a");
            assert!(ready(&mut next));
        }
        drop(second);
        assert!(ends.waiting().is_empty());
    }

    #[test]
    fn an_end_of_unknown_instance_wakes_every_client() {
        let ends = Ends::default();
        let (a, b) = (ends.watch("a"), ends.watch("b"));
        let (mut next_a, mut next_b) = (pin!(a.next()), pin!(b.next()));
        ends.ended_any();
        assert!(ready(&mut next_a) && ready(&mut next_b));
    }
}
