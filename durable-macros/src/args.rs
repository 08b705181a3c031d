//! The attribute arguments of both macros: `name = "..."`, and for orchestrators
//! `version = N`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

/// Parsed `#[orchestrator(..)]` / `#[activity(..)]` arguments.
#[derive(Default)]
pub struct Args {
    /// The registered name, when overridden.
    pub name: Option<LitStr>,
    /// The orchestration version, when given (orchestrators only).
    pub version: Option<u32>,
}

pub fn parse(attr: TokenStream, macro_name: &str) -> syn::Result<Args> {
    let versioned = macro_name == "orchestrator";
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
            Meta::NameValue(nv) if versioned && nv.path.is_ident("version") => {
                let version = match &nv.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Int(n), ..
                    }) => n.base10_parse::<u32>().ok().filter(|v| *v > 0),
                    _ => None,
                };
                let Some(version) = version else {
                    return Err(syn::Error::new_spanned(
                        &nv.value,
                        "`version` takes a whole number from 1: `version = 2`",
                    ));
                };
                if args.version.replace(version).is_some() {
                    return Err(syn::Error::new_spanned(&meta, "`version` is given twice"));
                }
            }
            _ => {
                let path = meta.path();
                let shown = quote::quote!(#path).to_string().replace(' ', "");
                return Err(syn::Error::new_spanned(
                    &meta,
                    format!(
                        "unknown argument `{shown}` to #[{macro_name}]; it takes {}",
                        if versioned {
                            "`name = \"...\"` and `version = N`"
                        } else {
                            "only `name = \"...\"`"
                        }
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
        assert!(parse(quote!(version = 2), "activity").is_err());
        assert_eq!(
            parse(quote!(version = 2), "orchestrator").unwrap().version,
            Some(2)
        );
        assert!(parse(quote!(version = 0), "orchestrator").is_err());
        assert!(parse(quote!(version = "2"), "orchestrator").is_err());
    }
}
