//! The attribute arguments of both macros: `name = "..."`, and for orchestrators
//! `version = N` and `migrate(from = N, point = "...", with = path)`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

/// Parsed `#[orchestrator(..)]` / `#[activity(..)]` arguments.
#[derive(Default)]
pub struct Args {
    /// The registered name, when overridden.
    pub name: Option<LitStr>,
    /// The orchestration version, when given (orchestrators only).
    pub version: Option<u32>,
    /// Declared migrations (orchestrators only).
    pub migrations: Vec<Migrate>,
}

/// `migrate(from = N, point = "...", with = path)`.
pub struct Migrate {
    pub from: u32,
    pub point: LitStr,
    pub with: syn::Path,
    pub span: proc_macro2::Span,
}

pub fn parse(attr: TokenStream, macro_name: &str) -> syn::Result<Args> {
    let versioned = macro_name == "orchestrator";
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr)?;
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
            Meta::List(list) if versioned && list.path.is_ident("migrate") => {
                args.migrations.push(migrate(list)?);
            }
            Meta::NameValue(nv) if versioned && nv.path.is_ident("version") => {
                let version = version_of(&nv.value, "version")?;
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
                            "`name = \"...\"`, `version = N` and \
                             `migrate(from = N, point = \"...\", with = function)`"
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

/// A version number: a whole number from 1.
fn version_of(value: &Expr, what: &str) -> syn::Result<u32> {
    let version = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(n), ..
        }) => n.base10_parse::<u32>().ok().filter(|v| *v > 0),
        _ => None,
    };
    version.ok_or_else(|| {
        syn::Error::new_spanned(
            value,
            format!("`{what}` takes a version, a whole number from 1: `{what} = 2`"),
        )
    })
}

fn migrate(list: &syn::MetaList) -> syn::Result<Migrate> {
    let metas = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
    let (mut from, mut point, mut with) = (None, None, None);
    for meta in &metas {
        let Meta::NameValue(nv) = meta else {
            return Err(syn::Error::new_spanned(meta, MIGRATE_SHAPE));
        };
        if nv.path.is_ident("from") {
            from = Some(version_of(&nv.value, "from")?);
        } else if nv.path.is_ident("point") {
            let Expr::Lit(ExprLit {
                lit: Lit::Str(name),
                ..
            }) = &nv.value
            else {
                return Err(syn::Error::new_spanned(
                    &nv.value,
                    "`point` takes the name a `#[point(\"...\")]` gives an `.await`",
                ));
            };
            point = Some(name.clone());
        } else if nv.path.is_ident("with") {
            let Expr::Path(path) = &nv.value else {
                return Err(syn::Error::new_spanned(
                    &nv.value,
                    "`with` takes the name of a `#[migration]` function",
                ));
            };
            with = Some(path.path.clone());
        } else {
            return Err(syn::Error::new_spanned(meta, MIGRATE_SHAPE));
        }
    }
    match (from, point, with) {
        (Some(from), Some(point), Some(with)) => Ok(Migrate {
            from,
            point,
            with,
            span: list.span(),
        }),
        _ => Err(syn::Error::new_spanned(list, MIGRATE_SHAPE)),
    }
}

const MIGRATE_SHAPE: &str = "a migration is `migrate(from = N, point = \"name\", with = function)`";

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
