//! `#[migration]`: a plain `fn` from an older version's locals at a resume point, by
//! name and type, to a later version's, implementing `durable::Migration` for a type of
//! the same name. The body stays callable as `name::run(..)`, for unit tests.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, ReturnType};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new_spanned(
            attr,
            "#[migration] takes no arguments",
        ));
    }
    let item: ItemFn = syn::parse2(item)?;
    let sig = &item.sig;
    if let Some(token) = &sig.asyncness {
        return Err(syn::Error::new(
            token.span(),
            "a migration is a plain `fn`: it maps saved locals, and does no I/O",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            "a migration cannot be generic: its locals' types are checked against the checkpoint",
        ));
    }
    let ReturnType::Type(_, output) = &sig.output else {
        return Err(syn::Error::new(
            sig.ident.span(),
            "a migration returns the new version's locals at the point, as the fields of a \
             struct: `-> NewLocals`",
        ));
    };
    let mut names = Vec::new();
    let mut types = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(arg) = input else {
            return Err(syn::Error::new_spanned(
                input,
                "a migration takes no `self`",
            ));
        };
        let Pat::Ident(name) = &*arg.pat else {
            return Err(syn::Error::new_spanned(
                &arg.pat,
                "name each old local as the old code did: `amount: u64`",
            ));
        };
        names.push(name.ident.clone());
        types.push((*arg.ty).clone());
    }
    let ident = &sig.ident;
    let vis = &item.vis;
    let attrs = &item.attrs;
    let params = &sig.inputs;
    let body = &item.block;
    let labels = names
        .iter()
        .map(|n| n.to_string().trim_start_matches("r#").to_owned());
    // generated names the user's parameters cannot shadow
    let bytes = proc_macro2::Ident::new("bytes", proc_macro2::Span::mixed_site());
    let decode = names.iter().zip(&types).map(|(name, ty)| {
        quote_spanned! {ty.span()=>
            let #name: #ty = ::durable::codec::decode_from(#bytes, "orchestration state")?;
        }
    });
    let persist = types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> ::durable::__private::assert_persist::<#ty>();));
    Ok(quote! {
        #(#attrs)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident {}

        impl #ident {
            /// Runs the migration's body directly.
            #vis fn run(#params) -> #output #body
        }

        impl ::durable::Migration for #ident {
            type Output = #output;
            const LOCALS: &'static [&'static str] = &[#(#labels),*];

            fn types() -> ::std::vec::Vec<&'static str> {
                #(#persist)*
                ::std::vec![#(::core::any::type_name::<#types>()),*]
            }

            fn migrate(
                #bytes: &mut &[u8],
            ) -> ::core::result::Result<Self::Output, ::durable::codec::CodecError> {
                #(#decode)*
                ::core::result::Result::Ok(Self::run(#(#names),*))
            }
        }
    })
}
