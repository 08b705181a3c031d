//! Waiting from code that cannot `.await`: a store call that may wait (on the disk, on
//! a database) made from inside a step, which runs synchronously on a tokio worker.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `f`, which may wait, where waiting does not stall other tasks: through
/// `block_in_place` on a multi-threaded tokio runtime, which hands the worker's other
/// tasks to another thread meanwhile; as it is on a current-thread runtime (which has
/// no other thread to hand its tasks to) or outside tokio.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
