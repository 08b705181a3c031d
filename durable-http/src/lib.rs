//! The HTTP management API of `durable`, as an axum [`Router`] to mount in your own
//! service: start instances, poll their status, raise events, terminate, suspend,
//! resume, purge and list them, with the routes and JSON shapes of Azure Durable
//! Functions' HTTP API.
//!
//! JSON exists only here. Each orchestration the API serves is registered with its
//! Rust types, and every payload is converted between JSON and those types at the edge:
//! a body that is not valid JSON, or not the shape of the registered type, is a `400`
//! with the reason, before anything is stored.
//!
//! ```no_run
//! # use durable::{orchestrator, OrchestrationContext, ActivityError, MemoryStore, Runtime};
//! # #[orchestrator]
//! # async fn approval(ctx: OrchestrationContext, doc: String) -> Result<bool, ActivityError> {
//! #     Ok(ctx.event::<bool>("approved").await)
//! # }
//! # async fn serve() -> std::io::Result<()> {
//! let runtime = Runtime::builder(MemoryStore::new()).orchestration(approval).start();
//! let api = durable::http::Api::new(runtime.client())
//!     .orchestration(approval)
//!     .event::<bool>(approval, "approved");
//! let app = axum::Router::new().nest("/api", api.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! | Route | Answer |
//! |---|---|
//! | `POST /orchestrators/{name}[/{instanceId}]`, body = input | `202`, `Location`, the management links; an ended instance of the id is replaced ([`Api::replace_ended`]) |
//! | `GET /instances/{id}` | the status: `202` with `Location` while it runs, `200` once ended |
//! | `GET /dashboard/` | the dashboard: instances, where each waits, and buttons for the commands |
//! | `GET /instances/{id}/state` | the status, and where it waits: the `.await` (expression, file, line, column), what it awaits, its live locals ([`Client::inspect`]) |
//! | `POST /instances/{id}/raiseEvent/{event}`, body = payload | `202` |
//! | `POST /instances/{id}/terminate?reason=..`, `/suspend?reason=..`, `/resume?reason=..` | `202`; a termination's reason is the instance's error, a suspension's or resumption's is logged |
//! | `DELETE /instances/{id}` | `200` once purged; `409` while it runs |
//! | `GET /instances?runtimeStatus=..&name=..&createdTimeFrom=..&createdTimeTo=..&top=..&continuationToken=..` | a page of statuses, `{instances, continuationToken}` |
//! | `GET /instances/?..` (Durable Functions' clients) | a page as a JSON array; the next page's token in the `x-ms-continuation-token` header, sent back in the same request header |
//!
//! Errors are `{"error": message}`: `400` for bad input (an instance id is 1 to 256
//! bytes without control characters or `:`), `404` for an unknown orchestrator,
//! instance, event or route, `405` for a method a route does not take, `409` for an
//! instance id in use by a running instance, `410` for commands to an instance that has ended, `413` for a
//! body over the limit ([`Api::body_limit`]), `429` for an event past an instance's
//! bound.

mod convert;
mod dashboard;
mod error;
mod inspect;
mod routes;
mod status;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use durable_core::{Client, Orchestration, OrchestrationFn, Store};
use serde::de::DeserializeOwned;
use serde::Serialize;

use convert::{from_json, to_json, Conversions};

/// The orchestrations served over HTTP, with their types. Build it, then mount
/// [`Api::router`].
pub struct Api<S> {
    client: Client<S>,
    /// By name, then version.
    orchestrations: HashMap<&'static str, BTreeMap<u32, Conversions>>,
    body_limit: usize,
    replace_ended: bool,
}

/// The largest request body the API reads by default, in bytes: inputs and event
/// payloads larger than this are refused with `413` ([`Api::body_limit`]).
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

impl<S: Store> Api<S> {
    /// An API over `client` that serves no orchestration yet.
    pub fn new(client: Client<S>) -> Self {
        Self {
            client,
            orchestrations: HashMap::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            replace_ended: true,
        }
    }

    /// Whether starting an id whose instance has ended replaces it (default `true`, as
    /// Durable Functions does for ended instances): the old one is purged with its
    /// sub-orchestrations, atomically, and the new one started. A running instance is a
    /// `409` either way; with `false`, so is an ended one, which makes a start with an
    /// id idempotent.
    pub fn replace_ended(mut self, replace: bool) -> Self {
        self.replace_ended = replace;
        self
    }

    /// The largest request body read, in bytes (default [`DEFAULT_BODY_LIMIT`]): a
    /// larger input or event payload is a `413` with the limit, before anything is
    /// stored.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Serves `orchestration`: it can be started over HTTP, and its input and output
    /// are shown as JSON.
    pub fn orchestration(mut self, orchestration: impl OrchestrationFn) -> Self {
        self.entry(orchestration);
        self
    }

    /// Lets event `name` be raised over HTTP on instances of `orchestration`, with a
    /// JSON payload of type `T` (what the orchestrator's `ctx.event::<T>(name)` takes).
    pub fn event<T>(mut self, orchestration: impl OrchestrationFn, name: &str) -> Self
    where
        T: Serialize + DeserializeOwned,
    {
        let events = &mut self.entry(orchestration).events;
        events.insert(name.to_owned(), from_json::<T>);
        self
    }

    /// Shows the custom status of `orchestration`'s instances as JSON, decoded as `T`
    /// (what its `ctx.set_custom_status(..)` is given). Without it, `customStatus` is
    /// `null`.
    pub fn custom_status<T>(mut self, orchestration: impl OrchestrationFn) -> Self
    where
        T: Serialize + DeserializeOwned,
    {
        self.entry(orchestration).custom_status_to_json = Some(to_json::<T>);
        self
    }

    fn entry<F: OrchestrationFn>(&mut self, orchestration: F) -> &mut Conversions {
        let _ = orchestration;
        self.conversions::<F::Orchestration>()
    }

    fn conversions<O: Orchestration>(&mut self) -> &mut Conversions {
        self.orchestrations
            .entry(O::NAME)
            .or_default()
            .entry(O::VERSION)
            .or_insert_with(|| Conversions {
                input_from_json: from_json::<O::Input>,
                input_to_json: to_json::<O::Input>,
                output_to_json: to_json::<O::Output>,
                custom_status_to_json: None,
                events: HashMap::new(),
            })
    }

    /// The types of version `version` of orchestration `name`, or, when that version
    /// is not served, of the latest: an instance of a version whose code is gone is
    /// migrated to a later one when it steps, and what it awaits (so the type of an
    /// event it waits for) is the same there. Payloads carry type tags, so a type that
    /// does not fit is refused, never misread.
    fn types(&self, name: &str, version: u32) -> Option<&Conversions> {
        let versions = self.orchestrations.get(name)?;
        versions
            .get(&version)
            .or_else(|| versions.last_key_value().map(|(_, types)| types))
    }

    /// The latest version of orchestration `name` served, which new instances start.
    fn latest(&self, name: &str) -> Option<(u32, &Conversions)> {
        let (version, types) = self.orchestrations.get(name)?.last_key_value()?;
        Some((*version, types))
    }

    /// The routes, ready to serve or to nest under a prefix (the links in responses
    /// include the prefix).
    pub fn router(self) -> Router {
        routes::router(Arc::new(self))
    }
}
