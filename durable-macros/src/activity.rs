//! `#[activity]`: a zero-sized type implementing `durable::Activity`, whose body stays
//! callable directly as `name::run(..)`, and a function of the same name returning it,
//! which is what names the activity in `ctx.call` (a function, so locals of that name
//! are ordinary bindings).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr};

use crate::args;
use crate::signature::{self, Kind};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = args::parse(attr, "activity")?;
    let item: ItemFn = syn::parse2(item)?;
    let sig = signature::check(&item, Kind::Activity)?;

    let ident = &item.sig.ident;
    let vis = &item.vis;
    let attrs = &item.attrs;
    let name = args
        .name
        .unwrap_or_else(|| LitStr::new(&ident.to_string(), ident.span()));
    let output = sig.output;
    let input_ty = match sig.input {
        Some(input) => {
            let ty = &input.ty;
            quote!(#ty)
        }
        None => quote!(()),
    };
    let call_args = match (sig.ctx, sig.input) {
        (Some(_), Some(_)) => quote!(ctx, input),
        (Some(_), None) => quote!(ctx),
        (None, Some(_)) => quote!(input),
        (None, None) => quote!(),
    };
    let unused = match (sig.ctx, sig.input) {
        (None, None) => quote!(let _ = (ctx, input);),
        (None, Some(_)) => quote!(let _ = ctx;),
        (Some(_), None) => quote!(let _ = input;),
        (Some(_), Some(_)) => quote!(),
    };
    let params = &item.sig.inputs;
    let body = &item.block;
    let doc = format!(
        "Runs the body of activity `{}` directly, outside any orchestration.",
        name.value()
    );
    let output_span = output.span();
    let future = quote_spanned!(output_span=> impl ::core::future::Future<
        Output = ::core::result::Result<
            <Self as ::durable::Activity>::Output,
            <Self as ::durable::Activity>::Error,
        >,
    > + ::core::marker::Send);

    let name_doc = format!(
        "Names activity `{}`: pass it to `ctx.call` and `.activity(..)`.",
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

        impl #ident {
            #[doc = #doc]
            #vis async fn run(#params) -> #output #body
        }

        impl ::durable::Activity for #ident {
            type Input = #input_ty;
            type Output = <#output as ::durable::__private::Outcome>::Ok;
            type Error = <#output as ::durable::__private::Outcome>::Err;
            const NAME: &'static str = #name;

            fn execute(ctx: ::durable::ActivityContext, input: Self::Input) -> #future {
                #unused
                Self::run(#call_args)
            }
        }
    })
}
