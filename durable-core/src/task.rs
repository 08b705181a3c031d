//! The vocabulary between a suspended orchestration and whoever runs its work: task
//! ids, the commands a step emits, what wakes it, and the results that come back.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

/// Identifies one piece of scheduled work within an instance. Assigned in order by the
/// orchestration context; the counter is part of the instance, not of user state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId(pub u64);

/// Work a step asks for, committed atomically with the step's new state.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run activity `name` with the encoded `input`; its result completes `task`.
    CallActivity {
        task: TaskId,
        name: &'static str,
        input: Vec<u8>,
        retry: Option<RetryPolicy>,
        /// How long one attempt may run.
        timeout: Option<std::time::Duration>,
    },
    /// Complete `task` at time `due`.
    StartTimer { task: TaskId, due: Millis },
    /// Complete `task` with the next external event called `name`.
    WaitEvent { task: TaskId, name: String },
    /// Start orchestration `name` as instance `id` with `input`; its end completes `task`.
    StartChild {
        task: TaskId,
        name: &'static str,
        version: u32,
        id: String,
        input: Vec<u8>,
    },
}

/// How a failed activity call is retried: up to `max_attempts` attempts in all, the
/// n-th retry `first_delay * backoff^(n-1)` (at most `max_delay`) after the failure.
/// The wait is stored with the task, so it survives restarts like a durable timer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub first_delay: std::time::Duration,
    pub backoff: f64,
    pub max_delay: std::time::Duration,
}

impl RetryPolicy {
    /// `max_attempts` attempts, waiting `first_delay`, then twice as long each time, up
    /// to a minute.
    pub fn new(max_attempts: u32, first_delay: std::time::Duration) -> Self {
        Self {
            max_attempts,
            first_delay,
            backoff: 2.0,
            max_delay: std::time::Duration::from_secs(60),
        }
    }

    /// The wait before attempt `attempt + 1`, if `attempt` failed and attempts remain.
    /// Any policy gives a wait: a backoff that overflows, or is not a number, waits
    /// `max_delay`, and no wait is longer than [`RetryPolicy::LONGEST_DELAY`].
    pub fn delay_after(&self, attempt: u32) -> Option<std::time::Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let cap = self.max_delay.min(Self::LONGEST_DELAY);
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let factor = self.backoff.max(1.0).powi(exponent);
        let delay = self.first_delay.as_secs_f64() * factor;
        let delay = std::time::Duration::try_from_secs_f64(delay).unwrap_or(cap);
        Some(delay.min(cap))
    }

    /// The longest wait between attempts: about 31 years, far below what would overflow
    /// a due time in [`Millis`].
    pub const LONGEST_DELAY: std::time::Duration = std::time::Duration::from_secs(1_000_000_000);
}

/// When a suspended orchestration is ready to run its next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Wake {
    /// Once this task has a result.
    Task(TaskId),
    /// Once every one of these conditions holds (fan-in).
    All(Vec<Wake>),
    /// Once any one of these conditions holds (a race).
    Any(Vec<Wake>),
}

impl Wake {
    /// Whether `task` is one of the tasks this condition is about.
    pub fn waits_for(&self, task: TaskId) -> bool {
        match self {
            Wake::Task(t) => *t == task,
            Wake::All(wakes) | Wake::Any(wakes) => wakes.iter().any(|w| w.waits_for(task)),
        }
    }

    /// Every task this condition is about.
    pub fn tasks(&self) -> Vec<TaskId> {
        match self {
            Wake::Task(t) => vec![*t],
            Wake::All(wakes) | Wake::Any(wakes) => wakes.iter().flat_map(Wake::tasks).collect(),
        }
    }

    /// The fewest task results that can satisfy this condition: a store need not look
    /// at an instance with fewer queued.
    pub fn min_results(&self) -> usize {
        match self {
            Wake::Task(_) => 1,
            Wake::All(wakes) => wakes.iter().map(Wake::min_results).sum(),
            Wake::Any(wakes) => wakes.iter().map(Wake::min_results).min().unwrap_or(0),
        }
    }

    /// Whether the tasks that have results (`done`) satisfy this condition.
    pub fn is_ready(&self, done: impl Fn(TaskId) -> bool) -> bool {
        self.ready(&done)
    }

    fn ready(&self, done: &dyn Fn(TaskId) -> bool) -> bool {
        match self {
            Wake::Task(t) => done(*t),
            Wake::All(wakes) => wakes.iter().all(|w| w.ready(done)),
            Wake::Any(wakes) => wakes.iter().any(|w| w.ready(done)),
        }
    }
}

/// The outcome of one task: its encoded output, or why it failed.
pub type TaskResult = Result<Vec<u8>, String>;

/// Results delivered to a step, by task.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Completions {
    results: HashMap<TaskId, TaskResult>,
}

impl Completions {
    /// No results.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the result of `task`; a later result for the same task replaces it.
    pub fn insert(&mut self, task: TaskId, result: TaskResult) {
        self.results.insert(task, result);
    }

    /// Whether `task` has a result.
    pub fn contains(&self, task: TaskId) -> bool {
        self.results.contains_key(&task)
    }

    /// Takes the result of `task`, if it arrived.
    pub fn take(&mut self, task: TaskId) -> Option<TaskResult> {
        self.results.remove(&task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retry_delays_back_off_up_to_the_cap_and_stop_after_the_last_attempt() {
        let policy = RetryPolicy {
            max_attempts: 5,
            first_delay: Duration::from_millis(100),
            backoff: 3.0,
            max_delay: Duration::from_millis(500),
        };
        let delays: Vec<_> = (1..=5).map(|a| policy.delay_after(a)).collect();
        assert_eq!(
            delays,
            [
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(300)),
                Some(Duration::from_millis(500)),
                Some(Duration::from_millis(500)),
                None
            ]
        );
    }

    #[test]
    fn no_policy_panics_or_waits_past_the_longest_delay() {
        let huge = Duration::from_secs(u64::MAX);
        let policies = [
            RetryPolicy {
                max_attempts: u32::MAX,
                first_delay: huge,
                backoff: f64::MAX,
                max_delay: huge,
            },
            RetryPolicy {
                max_attempts: 10,
                first_delay: Duration::ZERO,
                backoff: f64::INFINITY,
                max_delay: Duration::from_secs(5),
            },
            RetryPolicy {
                max_attempts: 10,
                first_delay: Duration::from_secs(1),
                backoff: f64::NAN,
                max_delay: huge,
            },
        ];
        for policy in policies {
            for attempt in [1, 2, 9, u32::MAX - 1] {
                let delay = policy.delay_after(attempt);
                assert!(
                    delay.is_none_or(|d| d <= RetryPolicy::LONGEST_DELAY),
                    "{policy:?} attempt {attempt}: {delay:?}"
                );
            }
        }
        assert_eq!(policies[0].delay_after(3), Some(RetryPolicy::LONGEST_DELAY));
        assert_eq!(policies[1].delay_after(2), Some(Duration::from_secs(5)));
        assert_eq!(policies[2].delay_after(2), Some(Duration::from_secs(1)));
    }

    #[test]
    fn nested_wake_conditions() {
        let wake = Wake::Any(vec![
            Wake::Task(TaskId(1)),
            Wake::All(vec![Wake::Task(TaskId(2)), Wake::Task(TaskId(3))]),
        ]);
        assert!(wake.waits_for(TaskId(3)) && !wake.waits_for(TaskId(4)));
        assert!(!wake.is_ready(|t| t == TaskId(2)));
        assert!(wake.is_ready(|t| t != TaskId(1)));
        assert!(wake.is_ready(|t| t == TaskId(1)));
        assert!(Wake::All(vec![]).is_ready(|_| false));
    }
}
