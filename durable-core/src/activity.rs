//! Activities: the functions that do real work (I/O, HTTP, databases). An orchestrator
//! calls them with `ctx.call(activity, input)`; they run at least once per call.

use std::fmt::Display;
use std::future::Future;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// An activity, implemented by `#[activity]` on an `async fn`.
///
/// The implementing type is a zero-sized struct named like the function; the function
/// of the same name that the macro also leaves ([`ActivityFn`]) is what `ctx.call`
/// takes, and the input and output types are checked at compile time.
pub trait Activity: Copy + Send + Sync + 'static {
    /// What the activity takes.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// What it returns on success.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// What it returns on failure; the orchestrator sees its message in an [`ActivityError`].
    type Error: Display;
    /// The name it is registered and stored under.
    const NAME: &'static str;

    /// Runs the activity once.
    fn execute(
        ctx: ActivityContext,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
}

/// What names an activity wherever one is passed (`ctx.call(price, item)`,
/// `.activity(price)`): the function `#[activity]` leaves under your function's name,
/// which returns the [`Activity`] type. A function rather than the type itself, so that
/// a local or a parameter named like the activity is an ordinary binding.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an activity",
    label = "expected the name of an `#[activity]` function"
)]
pub trait ActivityFn: Copy {
    /// The activity it names.
    type Activity: Activity;
}

impl<F: Fn() -> A + Copy, A: Activity> ActivityFn for F {
    type Activity = A;
}

/// The input type of the activity `F` names.
pub type InputOf<F> = <<F as ActivityFn>::Activity as Activity>::Input;

/// What an activity knows about the call it is running for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityContext {
    instance_id: String,
    attempt: u32,
}

impl ActivityContext {
    /// A context for one attempt of a call made by orchestration `instance_id`.
    pub fn new(instance_id: impl Into<String>, attempt: u32) -> Self {
        Self {
            instance_id: instance_id.into(),
            attempt,
        }
    }

    /// The orchestration instance that called the activity.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// Which attempt this is, starting at 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// An activity call failed: what an orchestrator gets from `ctx.call(..).await`.
///
/// Convert it into your orchestrator's error type with `From` to use `?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("activity `{activity}` failed: {message}")]
pub struct ActivityError {
    /// The registered name of the activity.
    pub activity: String,
    /// The activity's error, as text.
    pub message: String,
}

/// A boxed, sendable future.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

/// An activity behind its name: encoded input in, encoded output or error text out.
pub type ErasedActivity = fn(ActivityContext, Vec<u8>) -> BoxFuture<crate::task::TaskResult>;

/// The type-erased form of activity `A`, for registries keyed by name.
pub fn erase<A: Activity>() -> ErasedActivity {
    |ctx, input| {
        Box::pin(async move {
            let input: A::Input = crate::codec::decode_payload(&input, "activity input")
                .map_err(|e| format!("activity `{}`: {e}", A::NAME))?;
            let output = A::execute(ctx, input).await.map_err(|e| e.to_string())?;
            crate::codec::encode_payload(&output, "activity output").map_err(|e| e.to_string())
        })
    }
}
