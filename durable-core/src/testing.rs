//! An in-process driver for tests: runs an orchestration to completion, executing its
//! activities inline, and carries nothing from one step to the next but the encoded
//! state bytes. Every `.await` is therefore a full save / drop / restore round trip.

use std::collections::HashMap;

use crate::activity::{erase, Activity, ActivityContext, ActivityFn, ErasedActivity};
use crate::codec::{self, CodecError};
use crate::orchestration::{
    Orchestration, OrchestrationContext, OrchestrationFn, OrchestrationInput, OrchestrationOutput,
    Step, StepError, StepInput,
};
use crate::store::now_millis;
use crate::task::{Command, Completions};

/// Runs orchestrations in-process with activities executed inline.
#[derive(Default)]
pub struct InlineRunner {
    activities: HashMap<&'static str, ErasedActivity>,
    /// External events, by name, oldest first: delivered to the waits of every run.
    events: Vec<(String, Vec<u8>)>,
}

/// How an inline run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineRun<T> {
    /// The orchestrator's result; an error is the message of the error it returned.
    pub result: Result<T, String>,
    /// The encoded size of each state it saved, in order: one per `.await`.
    pub checkpoints: Vec<usize>,
}

/// An inline run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum InlineError {
    #[error(transparent)]
    Step(#[from] StepError),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("activity `{0}` is not registered with the runner")]
    UnknownActivity(&'static str),
    #[error("the orchestration suspended, but what it waits for can never arrive")]
    Stuck,
    #[error(
        "the inline runner does not run sub-orchestrations (`{0}`); use a Runtime on a MemoryStore"
    )]
    SubOrchestration(&'static str),
}

impl InlineRunner {
    /// A runner with no activities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `activity` under its name.
    pub fn activity<F: ActivityFn>(mut self, activity: F) -> Self {
        let _ = activity;
        let name = <F::Activity as Activity>::NAME;
        self.activities.insert(name, erase::<F::Activity>());
        self
    }

    /// Makes an external event available: the first wait for `name` in a run gets the
    /// first payload queued under that name, and so on.
    pub fn event<T: serde::Serialize>(
        mut self,
        name: &str,
        payload: &T,
    ) -> Result<Self, CodecError> {
        self.events.push((
            name.to_owned(),
            codec::encode_payload(payload, "event payload")?,
        ));
        Ok(self)
    }

    /// Runs `orchestration` on `input` to its end.
    pub async fn run<F: OrchestrationFn>(
        &self,
        orchestration: F,
        input: &OrchestrationInput<F>,
    ) -> Result<InlineRun<OrchestrationOutput<F>>, InlineError> {
        let _ = orchestration;
        self.run_machine::<F::Orchestration>(input).await
    }

    async fn run_machine<O: Orchestration>(
        &self,
        input: &O::Input,
    ) -> Result<InlineRun<O::Output>, InlineError> {
        let input = codec::encode_payload(input, "orchestration input")?;
        let mut next_task = 0;
        let mut checkpoints = Vec::new();
        let mut saved: Option<(Vec<u8>, Completions)> = None;
        let mut events = self.events.clone();
        loop {
            let ctx = OrchestrationContext::new("inline", next_task, now_millis());
            let step = match &mut saved {
                None => O::step(&ctx, StepInput::Start { input: &input })?,
                Some((state, completions)) => {
                    O::step(&ctx, StepInput::Resume { state, completions })?
                }
            };
            next_task = ctx.next_task();
            let suspension = match step {
                Step::Completed(output) => {
                    let output = codec::decode_payload(&output, "orchestration output")?;
                    return Ok(InlineRun {
                        result: Ok(output),
                        checkpoints,
                    });
                }
                Step::Failed(message) => {
                    return Ok(InlineRun {
                        result: Err(message),
                        checkpoints,
                    })
                }
                Step::Suspended(suspension) => suspension,
            };
            checkpoints.push(suspension.state.len());
            let mut completions = Completions::new();
            for command in ctx.take_commands() {
                match command {
                    Command::CallActivity {
                        task, name, input, ..
                    } => {
                        let activity = self
                            .activities
                            .get(name)
                            .ok_or(InlineError::UnknownActivity(name))?;
                        let result = activity(ActivityContext::new("inline", 1), input).await;
                        completions.insert(task, result);
                    }
                    // time is not waited for in-process: a timer fires at once
                    Command::StartTimer { task, .. } => completions.insert(task, Ok(Vec::new())),
                    Command::StartChild { name, .. } => {
                        return Err(InlineError::SubOrchestration(name))
                    }
                    Command::WaitEvent { task, name } => {
                        if let Some(i) = events.iter().position(|(n, _)| *n == name) {
                            completions.insert(task, Ok(events.remove(i).1));
                        }
                    }
                }
            }
            if !suspension.wake.is_ready(|task| completions.contains(task)) {
                return Err(InlineError::Stuck);
            }
            saved = Some((suspension.state, completions));
        }
    }
}
