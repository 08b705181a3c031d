//! Human interaction: phone verification. A code is sent; the orchestration waits for
//! the user to type it (an external event), at most three attempts, each racing a
//! timeout. `cargo run --example human_interaction` runs it.

use std::time::Duration;

use durable::codec::CodecError;
use durable::{
    activity, orchestrator, select, ActivityError, Either, OrchestrationContext, Runtime,
    RuntimeBuilder, Store,
};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Activity(#[from] ActivityError),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

#[activity]
pub async fn send_code(phone: String) -> Result<u32, String> {
    // A real service would text a random code; the demo derives it from the number.
    let code = code_for(&phone);
    println!("  [verify] texted code {code:04} to {phone}");
    Ok(code)
}

#[orchestrator]
pub async fn verify_phone(
    ctx: OrchestrationContext,
    input: (String, Duration),
) -> Result<String, VerifyError> {
    let (phone, timeout) = input;
    let code = ctx.call(send_code, phone).await?;
    for attempt in 1..=3 {
        ctx.set_custom_status(&format!("waiting for the code, attempt {attempt} of 3"))?;
        match select(ctx.timer(timeout), ctx.event::<u32>("code")).await {
            Either::Left(()) => return Ok(format!("timed out at attempt {attempt}")),
            Either::Right(typed) if typed == code => {
                return Ok(format!("verified at attempt {attempt}"))
            }
            Either::Right(_) => {}
        }
    }
    Ok("three wrong codes: denied".into())
}

/// Registers the verification's orchestration and activity.
pub fn register<S: Store>(builder: RuntimeBuilder<S>) -> RuntimeBuilder<S> {
    builder.orchestration(verify_phone).activity(send_code)
}

/// Starts a verification on `store`, types `codes` (the right one is `code_for(phone)`),
/// and returns the outcome.
pub async fn run<S: Store>(
    store: S,
    phone: &str,
    timeout: Duration,
    codes: &[u32],
) -> Result<String, Box<dyn std::error::Error>> {
    let runtime = register(Runtime::builder(store)).start();
    let client = runtime.client();
    let id = client
        .start(verify_phone, None, &(phone.to_owned(), timeout))
        .await?;
    for code in codes {
        println!("  [verify] user types {code:04}");
        client.raise_event(&id, "code", code).await?;
    }
    let result = client
        .wait(verify_phone, &id, Duration::from_secs(60))
        .await?;
    runtime.shutdown().await;
    Ok(result?)
}

/// The code `send_code` texts to `phone`.
pub fn code_for(phone: &str) -> u32 {
    phone.bytes().map(u32::from).sum::<u32>() % 10_000
}
