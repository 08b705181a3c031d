//! The attribute arguments both macros take: `name = "..."`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

/// Parsed `#[orchestrator(..)]` / `#[activity(..)]` arguments.
#[derive(Default)]
pub struct Args {
    /// The registered name, when overridden.
    pub name: Option<LitStr>,
}

pub fn parse(attr: TokenStream, macro_name: &str) -> syn::Result<Args> {
    let metas = syn::punctuated::Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
    let mut args = Args::default();
    for meta in metas {
        match &meta {
            Meta::NameValue(nv) if nv.path.is_ident("name") => {
                let Expr::Lit(ExprLit {
                    lit: Lit::Str(name),
                    ..
                }) = &nv.value
                else {
                    return Err(syn::Error::new_spanned(
                        &nv.value,
                        "`name` takes a string literal: `name = \"...\"`",
                    ));
                };
                if name.value().is_empty() {
                    return Err(syn::Error::new_spanned(name, "the name must not be empty"));
                }
                if args.name.replace(name.clone()).is_some() {
                    return Err(syn::Error::new_spanned(&meta, "`name` is given twice"));
                }
            }
            _ => {
                let path = meta.path();
                let shown = quote::quote!(#path).to_string().replace(' ', "");
                return Err(syn::Error::new_spanned(
                    &meta,
                    format!(
                        "unknown argument `{shown}` to #[{macro_name}]; the only argument is `name = \"...\"`"
                    ),
                ));
            }
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn accepts_a_name_and_rejects_the_rest() {
        assert!(parse(quote!(), "activity").unwrap().name.is_none());
        let args = parse(quote!(name = "x"), "activity").unwrap();
        assert_eq!(args.name.unwrap().value(), "x");
        let err = parse(quote!(retries = 3), "activity").err().unwrap();
        assert!(err.to_string().contains("unknown argument `retries`"));
        assert!(parse(quote!(name = 3), "activity").is_err());
        assert!(parse(quote!(name = "a", name = "b"), "activity").is_err());
    }
}
