//! Orchestrations: the trait `#[orchestrator]` implements, the context user code sees,
//! and the contract of one step.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::CodecError;
use crate::inspect::Decoded;
use crate::store::{InstanceTasks, PartReader};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::task::{Command, Completions, Millis, TaskId, Wake};

/// An orchestration, implemented by `#[orchestrator]` on an `async fn`.
///
/// The implementing type is a zero-sized struct named like the function; the function
/// of the same name that the macro also leaves ([`OrchestrationFn`]) is what the
/// runtime, the client and `ctx.sub_orchestration` take.
pub trait Orchestration: Copy + Send + Sync + 'static {
    /// What the orchestration takes.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// What it returns on success.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// The name it is registered and stored under.
    const NAME: &'static str;
    /// The version instances started from this code run under: an instance is only
    /// stepped by code of the version it started with (`#[orchestrator(version = N)]`,
    /// 1 if not given).
    const VERSION: u32;
    /// The earlier versions this one declares migrations from
    /// (`#[orchestrator(migrate(from = N, ..))]`): an instance of such a version whose
    /// code is no longer registered is moved to this one.
    const MIGRATES_FROM: &'static [u32] = &[];

    /// Runs one step: from the start, or from a saved state with the results it waited
    /// for, to the next `.await` or to the end.
    fn step(ctx: &OrchestrationContext, input: StepInput<'_>) -> Result<Step, StepError>;
}

/// What names an orchestration wherever one is passed (`client.start(total, ..)`,
/// `.orchestration(total)`): the function `#[orchestrator]` leaves under your function's
/// name, which returns the [`Orchestration`] type. A function rather than the type
/// itself, so that a local or a parameter named like the orchestration is an ordinary
/// binding.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an orchestration",
    label = "expected the name of an `#[orchestrator]` function"
)]
pub trait OrchestrationFn: Copy {
    /// The orchestration it names.
    type Orchestration: Orchestration;
}

impl<F: Fn() -> O + Copy, O: Orchestration> OrchestrationFn for F {
    type Orchestration = O;
}

/// The input type of the orchestration `F` names.
pub type OrchestrationInput<F> = <<F as OrchestrationFn>::Orchestration as Orchestration>::Input;
/// The output type of the orchestration `F` names.
pub type OrchestrationOutput<F> = <<F as OrchestrationFn>::Orchestration as Orchestration>::Output;

/// What a step starts from.
#[derive(Debug)]
pub enum StepInput<'a> {
    /// The first step, with the encoded orchestration input.
    Start { input: &'a [u8] },
    /// A later step, with the saved state and the results its wake condition asked for.
    Resume {
        state: &'a [u8],
        completions: &'a mut Completions,
    },
    /// A later step of an instance saved by version `from`, whose code is not
    /// registered: this version's migrations from `from` apply, and its points that are
    /// unchanged since `from` resume as they are.
    Migrate {
        from: u32,
        state: &'a [u8],
        completions: &'a mut Completions,
    },
    /// No step: read the checkpoint at its resume point, hand what is there to the
    /// context ([`crate::inspect`]) and stop, before any user code runs.
    Inspect {
        state: &'a [u8],
        tasks: &'a InstanceTasks,
    },
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Waiting: save `state`, run the context's commands, step again when `wake` holds.
    Suspended(Suspension),
    /// Finished with this encoded output.
    Completed(Vec<u8>),
    /// The orchestrator returned an error; this is its message.
    Failed(String),
}

/// A checkpoint: the encoded state and what it waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub state: Vec<u8>,
    pub wake: Wake,
}

/// A step could not run: the instance cannot go on with this code and these bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(
        "orchestrator `{orchestrator}` has no resume point like the one its checkpoint was \
         taken at, `{saved}`: the code changed there. Register code that has it (a fixed \
         deploy, or the old code side by side as an earlier `version`), add a migration, or \
         terminate the instance"
    )]
    UnknownPoint {
        orchestrator: &'static str,
        saved: String,
    },
    #[error(
        "orchestrator `{orchestrator}` cannot resume its checkpoint at `{point}`: {why}. \
         Register code that saves the same locals there (a fixed deploy, or the old code \
         side by side as an earlier `version`), add a migration, or terminate the instance"
    )]
    PointChanged {
        orchestrator: &'static str,
        point: &'static str,
        why: String,
    },
    #[error(
        "the checkpoint of orchestrator `{orchestrator}` at {point} is damaged: it does not \
         decode ({error}) although the names and types it was saved with match this code. \
         Either a type saved there changed inside while keeping its name (a field added, \
         removed or reordered in a struct: register the code that saved it as an earlier \
         `version`), or its bytes were changed outside durable (repair or purge it)"
    )]
    CorruptState {
        orchestrator: &'static str,
        point: &'static str,
        error: String,
    },
    #[error(
        "the checkpoint of orchestrator `{orchestrator}` does not start with this format's \
         header: either it was saved in the first state format, by a durable release before \
         resume points had identities (finish such instances with that release), or its bytes \
         were damaged outside durable (repair or purge it)"
    )]
    LegacyState { orchestrator: &'static str },
    #[error("orchestrator `{orchestrator}` jumped to a block it does not have (a bug in durable-macros)")]
    BadResumePoint { orchestrator: &'static str },
    #[error(
        "a `for` loop's iterator has no end durable can see: {why}. Such an iterator (one \
         held in a local, or of your own type) is collected when the loop starts; bound it \
         with `.take(n)`, or write the loop over the iterator's expression itself \
         (`for d in (1..).map(f)`, `iter::successors(..)`, `iter::repeat(..)`), which \
         durable resumes item by item without collecting"
    )]
    EndlessLoop { why: String },
    #[error("part {0} of the instance's state, kept beside its checkpoint, cannot be read: {1}")]
    Part(u64, String),
    #[error(
        "the migration `{migration}` of orchestrator `{orchestrator}` does not fit the \
         checkpoint at `{point}`: {why}"
    )]
    MigrationMismatch {
        orchestrator: &'static str,
        migration: &'static str,
        point: &'static str,
        why: String,
    },
    #[error("an operation pushed to a task set could not be scheduled: {0}")]
    TaskSet(String),
    #[error("in durable function `{function}`: {error}")]
    InFunction {
        function: &'static str,
        error: Box<StepError>,
    },
    #[error(
        "durable function `{function}` was awaited inside `join`/`select` or resumed without \
         its caller's context; await a durable function on its own"
    )]
    NotResumable { function: &'static str },
    #[error("resumed without the result of task {}", .0 .0)]
    MissingResult(TaskId),
    #[error("event `{name}` does not fit the type the orchestration waits for: {error}")]
    BadEvent { name: String, error: String },
}

impl StepError {
    /// Whether the instance must wait for other code rather than fail: the running code
    /// cannot resume its checkpoint, which is kept with everything it waits for. Only an
    /// event payload of the wrong type, which a client raised, fails the instance.
    pub fn blocks(&self) -> bool {
        match self {
            StepError::BadEvent { .. } => false,
            StepError::InFunction { error, .. } => error.blocks(),
            _ => true,
        }
    }
}

/// What an orchestrator's code sees as `ctx`: how to start durable operations, and the
/// instance it runs for.
///
/// A context lives for one step; the runtime builds a new one for the next. It is a
/// cheap handle: clones share the step's state, so it can be passed around by value or
/// by reference.
#[derive(Debug, Clone)]
pub struct OrchestrationContext {
    inner: Rc<StepState>,
}

#[derive(Debug)]
struct StepState {
    instance_id: String,
    now: Millis,
    next_task: Cell<u64>,
    commands: RefCell<Vec<Command>>,
    custom_status: RefCell<Option<Vec<u8>>>,
    /// What an inspecting step read at its resume point.
    inspected: RefCell<Option<Decoded>>,
    /// How to read the parts of the instance's state kept beside its checkpoint, if
    /// the store keeps any, and what the step writes there.
    parts: Option<PartReader>,
    part_writes: RefCell<Vec<(u64, Option<Vec<u8>>)>>,
    part_drops: RefCell<Vec<Range<u64>>>,
}

impl OrchestrationContext {
    /// A context for a step of `instance_id` that runs at `now` and whose next task id
    /// is `next_task`.
    pub fn new(instance_id: impl Into<String>, next_task: u64, now: Millis) -> Self {
        Self {
            inner: Rc::new(StepState {
                instance_id: instance_id.into(),
                now,
                next_task: Cell::new(next_task),
                commands: RefCell::new(Vec::new()),
                custom_status: RefCell::new(None),
                inspected: RefCell::new(None),
                parts: None,
                part_writes: RefCell::new(Vec::new()),
                part_drops: RefCell::new(Vec::new()),
            }),
        }
    }

    /// The context reads the parts of the instance's state through `reader` (see
    /// [`Store::part_reader`](crate::Store::part_reader)). Call it on a new context.
    pub fn with_parts(mut self, reader: Option<PartReader>) -> Self {
        if let Some(state) = Rc::get_mut(&mut self.inner) {
            state.parts = reader;
        }
        self
    }

    /// Whether this step can keep parts of the state beside its checkpoint.
    pub(crate) fn keeps_parts(&self) -> bool {
        self.inner.parts.is_some()
    }

    /// Reads part `key` of the instance's state.
    pub(crate) fn read_part(&self, key: u64) -> Result<Option<Vec<u8>>, StepError> {
        match &self.inner.parts {
            Some(reader) => (reader.0)(&self.inner.instance_id, key)
                .map_err(|e| StepError::Part(key, e.to_string())),
            None => Ok(None),
        }
    }

    /// Writes (`Some`) or deletes (`None`) part `key` with this step's commit.
    pub(crate) fn write_part(&self, key: u64, bytes: Option<Vec<u8>>) {
        self.inner.part_writes.borrow_mut().push((key, bytes));
    }

    /// Deletes the parts whose keys are in `keys` with this step's commit.
    pub(crate) fn drop_parts(&self, keys: Range<u64>) {
        self.inner.part_drops.borrow_mut().push(keys);
    }

    /// The ranges of parts this step deletes.
    pub(crate) fn take_part_drops(&self) -> Vec<Range<u64>> {
        self.inner.part_drops.take()
    }

    /// `n` task ids that no task will take, the first of them returned: keys of parts.
    pub(crate) fn reserve(&self, n: u64) -> u64 {
        let first = self.inner.next_task.get();
        self.inner.next_task.set(first + n);
        first
    }

    /// The parts this step writes or deletes, in order.
    pub fn take_part_writes(&self) -> Vec<(u64, Option<Vec<u8>>)> {
        self.inner.part_writes.take()
    }

    /// Hands what an inspecting step read at its resume point to whoever inspects.
    pub(crate) fn put_inspected(&self, decoded: Decoded) {
        *self.inner.inspected.borrow_mut() = Some(decoded);
    }

    pub(crate) fn take_inspected(&self) -> Option<Decoded> {
        self.inner.inspected.borrow_mut().take()
    }

    /// The id of the running instance.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// The time this step started. Hold it in a local to keep it across an `.await`.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.inner.now)
    }

    /// The time this step started, in milliseconds since the epoch.
    pub(crate) fn now_millis(&self) -> Millis {
        self.inner.now
    }

    /// A fresh task id, for durable operations scheduling work.
    pub fn new_task(&self) -> TaskId {
        let id = self.inner.next_task.get();
        self.inner.next_task.set(id + 1);
        TaskId(id)
    }

    /// Queues a command, for durable operations scheduling work.
    pub fn command(&self, command: Command) {
        self.inner.commands.borrow_mut().push(command);
    }

    /// The task id the next step must start from (store it with the instance).
    pub fn next_task(&self) -> u64 {
        self.inner.next_task.get()
    }

    /// Publishes `value` as the instance's custom status, shown by `Client::status`
    /// (saved with the step's checkpoint).
    pub fn set_custom_status<T: Serialize>(&self, value: &T) -> Result<(), CodecError> {
        let encoded = crate::codec::encode_payload(value, "custom status")?;
        *self.inner.custom_status.borrow_mut() = Some(encoded);
        Ok(())
    }

    /// The custom status set during this step, if any.
    pub fn take_custom_status(&self) -> Option<Vec<u8>> {
        self.inner.custom_status.take()
    }

    /// The commands queued by this step, in order.
    pub fn take_commands(&self) -> Vec<Command> {
        self.inner.commands.take()
    }
}
