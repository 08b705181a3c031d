//! Quickstart: three orders checked out by a durable orchestration on RocksDB (in
//! `./durable-data`, or `$DURABLE_DATA`). Each item is priced by an activity that takes a
//! moment, so you can stop the program (Ctrl-C) halfway and run it again: the orders
//! continue from their last checkpoint, and items already priced are not priced again.

use std::time::Duration;

use durable::rocks::RocksStore;
use durable::{
    activity, orchestrator, ActivityError, ClientError, OrchestrationContext, Runtime, StoreError,
};
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
    tokio::time::sleep(Duration::from_millis(700)).await;
    let unit = match name.as_str() {
        "apple" => 30,
        "bread" => 250,
        "cheese" => 720,
        "wine" => 1500,
        other => return Err(format!("no price for {other}")),
    };
    println!(
        "  priced {quantity} x {name}: {} cents",
        unit * u64::from(quantity)
    );
    Ok(unit * u64::from(quantity))
}

#[activity]
async fn loyal(customer: String) -> Result<bool, String> {
    println!("  checked loyalty of {customer}");
    Ok(customer.starts_with('a'))
}

#[activity]
async fn charge(payment: (String, u64)) -> Result<String, String> {
    println!("  charged {} {} cents", payment.0, payment.1);
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

fn orders() -> Vec<(&'static str, Order)> {
    let order = |customer: &str, items: &[(&str, u32)]| Order {
        customer: customer.into(),
        items: items.iter().map(|(n, q)| (n.to_string(), *q)).collect(),
    };
    vec![
        (
            "order-alice",
            order("alice", &[("apple", 4), ("bread", 2), ("cheese", 1)]),
        ),
        ("order-bob", order("bob", &[("wine", 2), ("apple", 10)])),
        ("order-carol", order("carol", &[])),
    ]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var("DURABLE_DATA").unwrap_or_else(|_| "durable-data".into());
    let store = RocksStore::open(&dir)?;
    println!("store: {dir} (delete it to start over)");
    let runtime = Runtime::builder(store)
        .orchestration(checkout)
        .activity(price)
        .activity(loyal)
        .activity(charge)
        .concurrency(2, 2)
        .start();
    let client = runtime.client();
    for (id, order) in orders() {
        match client.start(checkout, Some(id), &order).await {
            Ok(_) => println!("started {id}: {order:?}"),
            Err(ClientError::Store(StoreError::AlreadyExists(_))) => {
                println!("{id} exists: it continues where it was")
            }
            Err(e) => return Err(e.into()),
        }
    }
    for (id, _) in orders() {
        match client.wait(checkout, id, Duration::from_secs(60)).await? {
            Ok(receipt) => println!("{id} completed: {receipt}"),
            Err(message) => println!("{id} failed: {message}"),
        }
    }
    runtime.shutdown().await;
    Ok(())
}
