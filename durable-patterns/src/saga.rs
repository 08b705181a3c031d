//! A booking saga: reserve a flight, a hotel and a car; when a step fails, undo the
//! steps already done, last first. Each step and its compensation is a durable function
//! (`#[durable::function]`): a helper the orchestrator awaits inline, whose own state is
//! kept in the orchestration's checkpoint. `cargo run --example saga` runs it.

use std::time::Duration;

use durable::{
    activity, orchestrator, ActivityError, OrchestrationContext, RetryPolicy, Runtime,
    RuntimeBuilder, Store,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trip {
    pub traveller: String,
    pub city: String,
    /// The car rental is sold out in these cities.
    pub cars_sold_out: bool,
}

#[activity]
async fn reserve(request: (String, String)) -> Result<String, String> {
    let (what, city) = request;
    if what == "car" && city.ends_with('!') {
        return Err(format!("no {what} left in {}", city.trim_end_matches('!')));
    }
    let code = format!("{what}-{}", city.trim_end_matches('!').to_lowercase());
    println!("  [saga] reserved {code}");
    Ok(code)
}

#[activity]
async fn release(code: String) -> Result<String, String> {
    println!("  [saga] released {code}");
    Ok(format!("released {code}"))
}

/// One step of the saga: a reservation, retried a little before it counts as failed.
#[durable::function]
async fn book(
    ctx: &OrchestrationContext,
    request: (String, String),
) -> Result<String, ActivityError> {
    let retry = RetryPolicy::new(2, Duration::from_millis(50));
    ctx.call(reserve, request).with_retry(retry).await
}

/// Undoes the steps done, last first, and says what was undone.
#[durable::function]
async fn compensate(
    ctx: &OrchestrationContext,
    done: Vec<String>,
) -> Result<Vec<String>, ActivityError> {
    let mut undone = Vec::new();
    for code in done.iter().rev() {
        undone.push(ctx.call(release, code.clone()).await?);
    }
    Ok(undone)
}

#[orchestrator]
pub async fn trip(ctx: OrchestrationContext, trip: Trip) -> Result<Vec<String>, ActivityError> {
    let city = if trip.cars_sold_out {
        format!("{}!", trip.city)
    } else {
        trip.city.clone()
    };
    let mut done = Vec::new();
    for what in ["flight", "hotel", "car"] {
        match book(&ctx, (what.to_string(), city.clone())).await {
            Ok(code) => done.push(code),
            Err(failed) => {
                let mut log = vec![format!("{}: {}", trip.traveller, failed.message)];
                log.extend(compensate(&ctx, done).await?);
                return Ok(log);
            }
        }
    }
    Ok(done)
}

/// Registers the saga's orchestration and activities.
pub fn register<S: Store>(builder: RuntimeBuilder<S>) -> RuntimeBuilder<S> {
    builder
        .orchestration(trip)
        .activity(reserve)
        .activity(release)
}

/// Books `trip` on `store` and returns what was booked, or what failed and was undone.
pub async fn run<S: Store>(
    store: S,
    trip: &Trip,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let runtime = register(Runtime::builder(store)).start();
    let client = runtime.client();
    let id = client.start(self::trip, None, trip).await?;
    let result = client
        .wait(self::trip, &id, Duration::from_secs(30))
        .await?;
    runtime.shutdown().await;
    Ok(result?)
}
