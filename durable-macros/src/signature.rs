//! Checks of the annotated function's signature, with errors on the user's tokens.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, PatType, ReturnType, Type};

/// The parts of an annotated `async fn` the expansions need.
pub struct Signature<'a> {
    /// The context parameter, if present.
    pub ctx: Option<&'a PatType>,
    /// The input parameter, if present (absent means `()`).
    pub input: Option<&'a PatType>,
    /// The declared return type (a `Result`).
    pub output: &'a Type,
}

/// What kind of function is being checked, for messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Orchestrator,
    Activity,
    /// A durable function (`#[durable::function]`): shaped like an orchestrator.
    Function,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Orchestrator => "#[orchestrator]",
            Kind::Activity => "#[activity]",
            Kind::Function => "#[durable::function]",
        }
    }

    fn context(self) -> &'static str {
        match self {
            Kind::Orchestrator | Kind::Function => "OrchestrationContext",
            Kind::Activity => "ActivityContext",
        }
    }

    fn shape(self) -> &'static str {
        match self {
            Kind::Orchestrator => {
                "async fn name(ctx: OrchestrationContext, input: Input) -> Result<Output, Error>"
            }
            Kind::Activity => {
                "async fn name(input: Input) -> Result<Output, Error> (optionally with a leading `ctx: ActivityContext`)"
            }
            Kind::Function => {
                "async fn name(ctx: &OrchestrationContext, input: Input) -> Result<Output, Error>"
            }
        }
    }
}

fn err(span: Span, kind: Kind, what: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!("{} {what}; expected `{}`", kind.attr(), kind.shape()),
    )
}

/// Whether `ty` names the context type (`Ctx`, `path::Ctx`, `&Ctx`).
fn is_context(ty: &Type, kind: Kind) -> bool {
    match ty {
        Type::Reference(r) => is_context(&r.elem, kind),
        Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == kind.context()),
        Type::Paren(p) => is_context(&p.elem, kind),
        _ => false,
    }
}

pub fn check(item: &ItemFn, kind: Kind) -> syn::Result<Signature<'_>> {
    let sig = &item.sig;
    if sig.asyncness.is_none() {
        return Err(err(sig.fn_token.span(), kind, "needs an `async fn`"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(err(
            sig.generics.span(),
            kind,
            "does not support generic functions yet: give the parameters concrete types",
        ));
    }
    if let Some(c) = &sig.constness {
        return Err(err(c.span(), kind, "cannot be a `const fn`"));
    }
    if let Some(u) = &sig.unsafety {
        return Err(err(u.span(), kind, "cannot be an `unsafe fn`"));
    }
    if let Some(v) = &sig.variadic {
        return Err(err(v.span(), kind, "cannot be variadic"));
    }
    let mut params = Vec::new();
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(r) => {
                return Err(err(
                    r.span(),
                    kind,
                    "cannot take `self`: use a free function",
                ))
            }
            FnArg::Typed(pt) => params.push(pt),
        }
    }
    let (ctx, input) = match (kind, params.as_slice()) {
        (Kind::Orchestrator | Kind::Function, [ctx, input]) => (Some(*ctx), Some(*input)),
        (Kind::Orchestrator | Kind::Function, [ctx]) => (Some(*ctx), None),
        (Kind::Orchestrator | Kind::Function, []) => {
            return Err(err(
                sig.paren_token.span.join(),
                kind,
                "needs a context parameter `ctx: OrchestrationContext` first",
            ))
        }
        (Kind::Activity, [ctx, input]) => (Some(*ctx), Some(*input)),
        (Kind::Activity, [only]) if is_context(&only.ty, kind) => (Some(*only), None),
        (Kind::Activity, [input]) => (None, Some(*input)),
        (Kind::Activity, []) => (None, None),
        (_, [.., extra]) => {
            return Err(err(
                extra.span(),
                kind,
                "takes one input parameter: bundle several values in a tuple or struct",
            ))
        }
    };
    if let Some(ctx) = ctx {
        if !is_context(&ctx.ty, kind) {
            let what = match kind {
                Kind::Orchestrator | Kind::Function => {
                    "takes the context `ctx: OrchestrationContext` as its first parameter"
                }
                Kind::Activity => {
                    "takes the context `ctx: ActivityContext` only as its first of two parameters"
                }
            };
            return Err(err(ctx.ty.span(), kind, what));
        }
        if kind != Kind::Activity
            && !matches!(&*ctx.pat, Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none())
        {
            return Err(err(
                ctx.pat.span(),
                kind,
                "binds the context to a plain name, such as `ctx`",
            ));
        }
    }
    if let Some(input) = input {
        if is_context(&input.ty, Kind::Orchestrator) || is_context(&input.ty, Kind::Activity) {
            return Err(err(
                input.ty.span(),
                kind,
                "takes the context as its first parameter, not its second",
            ));
        }
        if let Some(bad) = unowned(&input.ty) {
            return Err(err(
                bad.span(),
                kind,
                "takes an owned input of a concrete type: it is encoded when the call is \
                 made and decoded where it runs, so a borrow (`&str`) or an `impl Trait` \
                 cannot be it; take `String`, `Vec<T>` or your own type",
            ));
        }
    }
    let output = match &sig.output {
        ReturnType::Default => {
            return Err(err(
                sig.paren_token.span.close(),
                kind,
                "must return `Result<Output, Error>`",
            ))
        }
        ReturnType::Type(_, ty) => ty,
    };
    let is_result = matches!(&**output, Type::Path(p)
        if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Result"));
    if !is_result {
        return Err(err(
            output.span(),
            kind,
            "must return `Result<Output, Error>`",
        ));
    }
    Ok(Signature { ctx, input, output })
}

/// The part of an input type that is a borrow or an `impl Trait`, if any.
fn unowned(ty: &Type) -> Option<&Type> {
    match ty {
        Type::Reference(_) | Type::ImplTrait(_) => Some(ty),
        Type::Paren(p) => unowned(&p.elem),
        Type::Tuple(t) => t.elems.iter().find_map(unowned),
        Type::Array(a) => unowned(&a.elem),
        Type::Slice(_) => Some(ty),
        _ => None,
    }
}
