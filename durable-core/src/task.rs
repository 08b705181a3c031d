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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run activity `name` with the encoded `input`; its result completes `task`.
    CallActivity {
        task: TaskId,
        name: &'static str,
        input: Vec<u8>,
    },
    /// Complete `task` at time `due`.
    StartTimer { task: TaskId, due: Millis },
    /// Complete `task` with the next external event called `name`.
    WaitEvent { task: TaskId, name: String },
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
