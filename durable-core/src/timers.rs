//! [`TimerIndex`]: started timers by due time and by instance, so that firing the due
//! ones, cancelling one task's timer and purging one instance's timers each cost what
//! they touch, not the number of timers stored.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::TimerTask;
use crate::task::{Millis, TaskId};

#[derive(Debug, Default)]
pub struct TimerIndex {
    by_due: BTreeSet<TimerTask>,
    by_task: BTreeMap<(String, TaskId), Millis>,
}

impl TimerIndex {
    pub fn insert(&mut self, timer: TimerTask) {
        let key = (timer.instance.clone(), timer.task);
        if let Some(due) = self.by_task.insert(key, timer.due) {
            self.by_due.remove(&TimerTask {
                due,
                ..timer.clone()
            });
        }
        self.by_due.insert(timer);
    }

    /// The timer of `task` of `instance`, if one is started.
    pub fn get(&self, instance: &str, task: TaskId) -> Option<TimerTask> {
        let due = *self.by_task.get(&(instance.to_owned(), task))?;
        Some(TimerTask {
            due,
            instance: instance.to_owned(),
            task,
        })
    }

    pub fn remove(&mut self, timer: &TimerTask) {
        self.by_due.remove(timer);
        self.by_task.remove(&(timer.instance.clone(), timer.task));
    }

    /// Every timer of `instance`.
    pub fn of_instance(&self, instance: &str) -> Vec<TimerTask> {
        let range = (instance.to_owned(), TaskId(0))..=(instance.to_owned(), TaskId(u64::MAX));
        self.by_task
            .range(range)
            .map(|((instance, task), due)| TimerTask {
                due: *due,
                instance: instance.clone(),
                task: *task,
            })
            .collect()
    }

    /// The timers due at `now`, earliest first.
    pub fn due(&self, now: Millis) -> impl Iterator<Item = &TimerTask> {
        self.by_due.iter().take_while(move |t| t.due <= now)
    }

    /// When the next timer is due.
    pub fn next_due(&self) -> Option<Millis> {
        self.by_due.first().map(|t| t.due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(due: Millis, instance: &str, task: u64) -> TimerTask {
        TimerTask {
            due,
            instance: instance.into(),
            task: TaskId(task),
        }
    }

    #[test]
    fn timers_are_found_by_due_time_and_by_instance() {
        let mut index = TimerIndex::default();
        index.insert(timer(30, "a", 1));
        index.insert(timer(10, "b", 0));
        index.insert(timer(20, "a", 0));
        index.insert(timer(5, "a:0", 0));
        let due: Vec<_> = index.due(20).cloned().collect();
        assert_eq!(
            due,
            [timer(5, "a:0", 0), timer(10, "b", 0), timer(20, "a", 0)]
        );
        assert_eq!(
            index.of_instance("a"),
            [timer(20, "a", 0), timer(30, "a", 1)]
        );
        assert_eq!(index.get("a", TaskId(1)), Some(timer(30, "a", 1)));
        index.remove(&timer(30, "a", 1));
        assert_eq!(index.get("a", TaskId(1)), None);
        assert_eq!(index.next_due(), Some(5));
        index.insert(timer(50, "a:0", 0));
        assert_eq!(index.next_due(), Some(10), "a task has one timer");
    }
}
