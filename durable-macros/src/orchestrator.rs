//! `#[orchestrator]`: checks the signature, lowers the body, runs liveness, and emits
//! a zero-sized type implementing `durable::Orchestration` whose step function contains
//! the state machine, and a function of the same name returning it that names the
//! orchestration wherever one is passed. [`compile`] is shared with
//! `#[durable::function]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr, Pat};

use std::collections::HashSet;

use crate::args::Migrate;
use crate::lower::{Dest, Lowerer};
use crate::points::Points;
use crate::signature::{self, Kind};
use crate::{args, emit, liveness};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = args::parse(attr, "orchestrator")?;
    let item: ItemFn = syn::parse2(item)?;
    let sig = signature::check(&item, Kind::Orchestrator)?;

    let ident = &item.sig.ident;
    let vis = &item.vis;
    let attrs = &item.attrs;
    let name = args
        .name
        .unwrap_or_else(|| LitStr::new(&ident.to_string(), ident.span()));
    let output = sig.output;
    let version = args.version.unwrap_or(1);

    let Compiled { input_ty, machine } = compile(&item, &sig, &args.migrations, args.version)?;
    let mut migrates_from: Vec<u32> = args.migrations.iter().map(|m| m.from).collect();
    migrates_from.sort_unstable();
    migrates_from.dedup();
    let drive = quote_spanned! {output.span()=>
        ::durable::__private::drive::<Self, _>(ctx, input, __machine)
    };

    let name_doc = format!(
        "Names orchestration `{}`: pass it to `.orchestration(..)`, `client.start` and \
         `ctx.sub_orchestration`.",
        name.value()
    );
    Ok(quote! {
        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident {}

        #(#attrs)*
        #[doc = #name_doc]
        #vis fn #ident() -> #ident {
            #ident {}
        }

        impl ::durable::Orchestration for #ident {
            type Input = #input_ty;
            type Output = <#output as ::durable::__private::Outcome>::Ok;
            const NAME: &'static str = #name;
            const VERSION: u32 = #version;
            const MIGRATES_FROM: &'static [u32] = &[#(#migrates_from),*];

            fn step(
                ctx: &::durable::OrchestrationContext,
                input: ::durable::StepInput<'_>,
            ) -> ::core::result::Result<::durable::Step, ::durable::StepError> {
                #machine
                #drive
            }
        }
    })
}

/// An `async fn` body compiled into a machine: what its wrapper needs.
pub struct Compiled {
    /// The input type (`()` without one).
    pub input_ty: TokenStream,
    /// The machine function, `__machine`, for the wrapper's step function to drive.
    pub machine: TokenStream,
}

/// Lowers `item`'s body, runs liveness and emits the machine: shared by orchestrators
/// and durable functions.
pub fn compile(
    item: &ItemFn,
    sig: &signature::Signature<'_>,
    migrations: &[Migrate],
    version: Option<u32>,
) -> syn::Result<Compiled> {
    let mut lowerer = Lowerer::new();
    let Some(ctx_param) = sig.ctx else {
        unreachable!("signature::check requires a context parameter")
    };
    let Pat::Ident(ctx_pat) = &*ctx_param.pat else {
        unreachable!("signature::check requires a plain context binding")
    };
    let ctx = ctx_pat.ident.clone();
    let ctx_ty = &ctx_param.ty;
    let bind_ctx = match &**ctx_ty {
        syn::Type::Reference(_) => quote!(let #ctx: #ctx_ty = __ctx;),
        _ => quote!(let #ctx: #ctx_ty = ::core::clone::Clone::clone(__ctx);),
    };
    lowerer.define_ambient(&ctx);
    let (input_ty, start) = match sig.input {
        Some(input) => {
            let (pat, ty) = (&input.pat, &input.ty);
            lowerer.define_pattern(pat);
            let input = crate::emit::checked(quote!(__input), quote!(__step.input()));
            (quote!(#ty), quote!(#input let #pat: #ty = __input;))
        }
        None => (quote!(()), TokenStream::new()),
    };
    let end = item.block.brace_token.span.close();
    lowerer.lower_body(item.block.stmts.clone(), Dest::Return, end);
    let checked = check_migrations(migrations, version, &lowerer.points);
    let machine = match (lowerer.finish(), checked) {
        (Ok(m), Ok(())) => m,
        (Err(mut e), Err(more)) => {
            e.combine(more);
            return Err(e);
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let live = liveness::live_in(&machine);
    let body = emit::emit(&machine, &live, start, migrations)?.body;
    let output = sig.output;
    let machine = quote! {
        #[allow(unreachable_code, unused_mut, unused_braces, clippy::needless_return)]
        fn __machine(
            __ctx: &::durable::OrchestrationContext,
            __step: &mut ::durable::__private::StepIo<'_>,
        ) -> <#output as ::durable::__private::Outcome>::Machine {
            #bind_ctx
            #body
        }
    };
    Ok(Compiled { input_ty, machine })
}

/// Migrations come from earlier versions, to points pinned in this body, once each.
fn check_migrations(
    migrations: &[Migrate],
    version: Option<u32>,
    points: &Points,
) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = None;
    let mut add = |e: syn::Error| match &mut errors {
        Some(first) => first.combine(e),
        None => errors = Some(e),
    };
    let mut seen = HashSet::new();
    for m in migrations {
        match version {
            None => add(syn::Error::new(
                m.span,
                "a migration moves instances from an earlier version: give this one its \
                 `version = N`",
            )),
            Some(v) if m.from >= v => add(syn::Error::new(
                m.span,
                format!("a migration comes from an earlier version than this one ({v})"),
            )),
            Some(_) => {}
        }
        let point = m.point.value();
        if !points.is_pinned(&point) {
            add(syn::Error::new(
                m.point.span(),
                format!(
                    "no `.await` of this orchestrator is pinned `#[point(\"{point}\")]`: a \
                     migration names the point it applies at"
                ),
            ));
        }
        if !seen.insert((m.from, point.clone())) {
            add(syn::Error::new(
                m.span,
                format!("a second migration from version {} at `{point}`", m.from),
            ));
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
