//! A first orchestration: an order that is checked, priced item by item, and paid for
//! only if a discount check passes. It runs in-process with its state encoded, dropped
//! and decoded at every `.await`; it prints the activities as they run and the size of
//! every checkpoint.

use durable::testing::InlineRunner;
use durable::{activity, orchestrator, ActivityError, OrchestrationContext};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Order {
    customer: String,
    items: Vec<(String, u32)>,
}

#[derive(Debug, thiserror::Error)]
enum OrderError {
    #[error(transparent)]
    Activity(#[from] ActivityError),
    #[error("order for {0} is empty")]
    Empty(String),
}

#[activity]
async fn price(item: (String, u32)) -> Result<u64, String> {
    let (name, quantity) = item;
    let unit = match name.as_str() {
        "apple" => 30,
        "bread" => 250,
        "cheese" => 720,
        other => return Err(format!("no price for {other}")),
    };
    println!(
        "  activity price({name} x{quantity}) = {}",
        unit * u64::from(quantity)
    );
    Ok(unit * u64::from(quantity))
}

#[activity]
async fn loyal(customer: String) -> Result<bool, String> {
    println!("  activity loyal({customer})");
    Ok(customer.starts_with('a'))
}

#[activity]
async fn charge(payment: (String, u64)) -> Result<String, String> {
    println!("  activity charge({}, {} cents)", payment.0, payment.1);
    Ok(format!("receipt-{}-{}", payment.0, payment.1))
}

#[orchestrator]
async fn checkout(ctx: OrchestrationContext, order: Order) -> Result<String, OrderError> {
    let Order { customer, items } = order;
    if items.is_empty() {
        return Err(OrderError::Empty(customer));
    }
    let mut total = 0;
    for item in items {
        total += ctx.call(price, item).await?;
    }
    if total > 1000 && ctx.call(loyal, customer.clone()).await? {
        total = total * 9 / 10;
    }
    let receipt = ctx.call(charge, (customer, total)).await?;
    Ok(receipt)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let runner = InlineRunner::new()
        .activity(price)
        .activity(loyal)
        .activity(charge);
    let order = Order {
        customer: "alice".into(),
        items: vec![
            ("apple".into(), 4),
            ("bread".into(), 2),
            ("cheese".into(), 1),
        ],
    };
    println!("checkout {order:?}");
    match runner.run(checkout, &order).await {
        Ok(run) => {
            for (i, size) in run.checkpoints.iter().enumerate() {
                println!("checkpoint {}: {size} bytes of state", i + 1);
            }
            match run.result {
                Ok(receipt) => println!("completed: {receipt}"),
                Err(message) => println!("failed: {message}"),
            }
        }
        Err(e) => eprintln!("could not run: {e}"),
    }
}
