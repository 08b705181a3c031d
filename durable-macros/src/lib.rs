//! `#[orchestrator]` and `#[activity]`.
//!
//! The entry points are thin: parsing and checking live in `args` and `signature`,
//! and the orchestrator compiler is a pipeline of plain modules:
//! `lower` (split the body into blocks at every `.await` and at control flow that
//! contains one), `liveness` (which locals each block boundary must keep), and
//! `emit` (one state-machine function whose slots Rust's inference types).

use proc_macro::TokenStream;

mod activity;
mod args;
mod assign;
mod awaits;
mod display;
mod emit;
mod function;
mod identity;
mod ir;
mod liveness;
mod lower;
mod migration;
mod orchestrator;
mod patterns;
mod points;
mod scope;
mod signature;

/// Compiles an `async fn` into a durable orchestration: a state machine that saves its
/// live locals at every `.await` and resumes from there after a restart.
///
/// ```
/// use durable::{activity, orchestrator, ActivityError, OrchestrationContext};
///
/// #[activity]
/// async fn hello(name: String) -> Result<String, String> {
///     Ok(format!("hello {name}"))
/// }
///
/// #[orchestrator]
/// async fn greet(ctx: OrchestrationContext, name: String) -> Result<String, ActivityError> {
///     let greeting = ctx.call(hello, name).await?;
///     Ok(greeting)
/// }
///
/// # let runner = durable::testing::InlineRunner::new().activity(hello);
/// # let run = tokio::runtime::Builder::new_current_thread().build().unwrap()
/// #     .block_on(runner.run(greet, &"ada".to_string())).unwrap();
/// # assert_eq!(run.result, Ok("hello ada".to_string()));
/// ```
///
/// The function becomes a zero-sized type of the same name implementing
/// `durable::Orchestration`, and a function of that name returning it, which is what
/// `.orchestration(..)`, `client.start(..)` and `ctx.sub_orchestration(..)` take.
/// `#[orchestrator(name = "...")]` sets the registered name.
#[proc_macro_attribute]
pub fn orchestrator(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    orchestrator::expand(attr.into(), item.clone())
        .unwrap_or_else(|e| on_error(e, item))
        .into()
}

/// Turns an `async fn(input) -> Result<Output, Error>` (optionally with a leading
/// `ActivityContext`) into an activity that orchestrators call with `ctx.call(name, input)`.
///
/// The function becomes a zero-sized type of the same name implementing
/// `durable::Activity` (its body stays callable as `name::run(..)`), and a function of
/// that name returning it, which is what `ctx.call` takes.
/// `#[activity(name = "...")]` sets the registered name.
#[proc_macro_attribute]
pub fn activity(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    activity::expand(attr.into(), item.clone())
        .unwrap_or_else(|e| on_error(e, item))
        .into()
}

/// Turns a plain `fn` from an older version's locals at a resume point (by the names and
/// types the old code gave them, in the order it declared them) to a struct of the new
/// version's locals there into a migration, which `#[orchestrator(version = N,
/// migrate(from = M, point = "name", with = this_fn))]` applies to instances saved by
/// version M at the point pinned `#[point("name")]`.
///
/// The function becomes a zero-sized type of the same name implementing
/// `durable::Migration`; its body stays callable as `name::run(..)`.
#[proc_macro_attribute]
pub fn migration(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    match migration::expand(attr.into(), item) {
        Ok(out) => out.into(),
        Err(e) => e.into_compile_error().into(),
    }
}

/// Compiles a helper `async fn(ctx: &OrchestrationContext, input: Input) -> Result<T,
/// E>` into a durable function: an orchestrator (or another durable function) awaits it
/// inline, `name(&ctx, input).await`, and its own state is kept in the caller's
/// checkpoint while it waits; it may await anything an orchestrator may. It adds no
/// instance and no commit of its own.
///
/// The function becomes a type of the same name implementing `durable::DurableOp`,
/// and a function of that name building it from the arguments.
#[proc_macro_attribute]
pub fn function(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    function::expand(attr.into(), item.clone())
        .unwrap_or_else(|e| e.into_compile_error())
        .into()
}

/// The errors, plus the handle type and function the function would have become, so
/// that code naming it does not pile further "cannot find" errors on top.
fn on_error(error: syn::Error, item: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let mut out = error.into_compile_error();
    if let Ok(item) = syn::parse2::<syn::ItemFn>(item) {
        let (vis, ident) = (&item.vis, &item.sig.ident);
        out.extend(quote::quote! {
            #[allow(non_camel_case_types)]
            #[derive(Clone, Copy, Debug, Default)]
            #vis struct #ident {}

            #vis fn #ident() -> #ident {
                #ident {}
            }
        });
    }
    out
}
