//! `#[durable::function]`: a helper `async fn` an orchestrator awaits inline. The same
//! machine as an orchestrator's, in a type implementing `durable::__private::Function`
//! and `durable::DurableOp`; a function of the same name builds the operation from the
//! helper's arguments, so that `reserve(&ctx, item).await` reads as a call.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, Pat};

use crate::args;
use crate::orchestrator::{compile, Compiled};
use crate::signature::{self, Kind};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = args::parse(attr, "durable::function")?;
    let item: ItemFn = syn::parse2(item)?;
    let sig = signature::check(&item, Kind::Function)?;
    let ident = &item.sig.ident;
    let vis = &item.vis;
    let attrs = &item.attrs;
    let output = sig.output;
    let Compiled { input_ty, machine } = compile(&item, &sig, &[], None)?;
    let (param, arg) = match sig.input {
        Some(input) => {
            let ty = &input.ty;
            let name = match &*input.pat {
                Pat::Ident(p) => p.ident.clone(),
                _ => syn::Ident::new("input", input.pat.span()),
            };
            (quote!(, #name: #ty), quote!(#name))
        }
        None => (TokenStream::new(), quote!(())),
    };
    let name = args.name.map_or_else(|| ident.to_string(), |n| n.value());
    let layout = format!("durable::function::{name}");
    let drive = quote_spanned! {output.span()=>
        ::durable::__private::drive_function::<Self, _, _>(ctx, input, __machine)
    };
    let doc = format!(
        "Awaits durable function `{name}` in an orchestrator or another durable function: \
         `{name}(&ctx, input).await`."
    );
    Ok(quote! {
        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[must_use = "a durable function does nothing until an orchestrator awaits it"]
        #vis struct #ident {
            input: #input_ty,
        }

        #(#attrs)*
        #[doc = #doc]
        #vis fn #ident(_: &::durable::OrchestrationContext #param) -> #ident {
            #ident { input: #arg }
        }

        impl ::durable::__private::Function for #ident {
            type Input = #input_ty;
            type Output = #output;
            const NAME: &'static str = #name;
            const LAYOUT: &'static str = #layout;

            fn step(
                ctx: &::durable::OrchestrationContext,
                input: ::durable::StepInput<'_>,
            ) -> ::core::result::Result<
                ::durable::__private::Called<Self::Output>,
                ::durable::StepError,
            > {
                #machine
                #drive
            }
        }

        impl ::durable::DurableOp for #ident {
            type Output = #output;
            type Waiter = ::durable::__private::FunctionWaiter<#ident>;

            fn schedule(
                self,
                ctx: &::durable::OrchestrationContext,
            ) -> ::core::result::Result<Self::Waiter, ::durable::StepError> {
                ::durable::__private::FunctionWaiter::start(ctx, &self.input)
            }
        }
    })
}
