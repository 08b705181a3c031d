//! Items declared in an orchestrator's body and its blocks, placed so that each is
//! visible where Rust makes it visible.
//!
//! A block's code may end up in several blocks of the machine. Functions, constants and
//! imports are declared again in each (they are the same wherever declared). A type, a
//! trait or an impl must exist once, so a block's type items go into a module of their
//! own, nested in the module of the block around it (its code sees what the outer
//! blocks declare, through `use super::*`), and every machine block holding code of that
//! block imports the module's items (`use __items_1::__items_3::*`): an import in a block
//! shadows what the enclosing module declares, as the block's own declaration would, and
//! two blocks may declare the same name. Items are made `pub(crate)` for that import
//! (they cannot be named outside the function anyway).

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::{Fields, ImplItem, Item, Stmt, Visibility};

use super::Lowerer;

/// The module being filled for a block with type items.
pub struct ItemModule {
    name: Ident,
    /// The path from the machine's top to it.
    path: TokenStream,
    items: Vec<TokenStream>,
}

/// Whether `item` must exist once: a type, a trait, an impl, a static.
fn declared_once(item: &Item) -> bool {
    !matches!(
        item,
        Item::Fn(_) | Item::Const(_) | Item::Use(_) | Item::Macro(_) | Item::ExternCrate(_)
    )
}

/// Whether the statements declare an item that must exist once.
pub fn have_type_items(stmts: &[Stmt]) -> bool {
    stmts
        .iter()
        .any(|s| matches!(s, Stmt::Item(item) if declared_once(item)))
}

fn widen(vis: &mut Visibility) {
    if matches!(vis, Visibility::Inherited) {
        *vis = syn::parse_quote!(pub(crate));
    }
}

/// `item` made visible to the function that imports its module.
fn visible(mut item: Item) -> Item {
    match &mut item {
        Item::Struct(s) => {
            widen(&mut s.vis);
            if let Fields::Named(_) | Fields::Unnamed(_) = s.fields {
                s.fields.iter_mut().for_each(|f| widen(&mut f.vis));
            }
        }
        Item::Union(u) => {
            widen(&mut u.vis);
            u.fields.named.iter_mut().for_each(|f| widen(&mut f.vis));
        }
        Item::Enum(e) => widen(&mut e.vis),
        Item::Trait(t) => widen(&mut t.vis),
        Item::Type(t) => widen(&mut t.vis),
        Item::Static(s) => widen(&mut s.vis),
        Item::Mod(m) => widen(&mut m.vis),
        Item::Fn(f) => widen(&mut f.vis),
        Item::Const(c) => widen(&mut c.vis),
        Item::Use(u) => widen(&mut u.vis),
        Item::Impl(i) if i.trait_.is_none() => {
            for member in &mut i.items {
                match member {
                    ImplItem::Fn(f) => widen(&mut f.vis),
                    ImplItem::Const(c) => widen(&mut c.vis),
                    ImplItem::Type(t) => widen(&mut t.vis),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    item
}

impl Lowerer {
    /// Starts the module of a block whose statements declare type items: returns the
    /// import that every machine block holding the block's code needs.
    pub(super) fn open_item_module(&mut self, stmts: &[Stmt]) -> TokenStream {
        self.item_module_count += 1;
        let name = format_ident!("__items_{}", self.item_module_count);
        let path = match self.item_modules.last() {
            Some(outer) => {
                let outer = &outer.path;
                quote!(#outer::#name)
            }
            None => name.to_token_stream(),
        };
        let mut items = vec![quote!(
            use super::*;
        )];
        for stmt in stmts {
            let Stmt::Item(item) = stmt else { continue };
            // functions, constants and imports are copied in too, for the types' impls
            if !matches!(item, Item::Macro(_) | Item::ExternCrate(_)) {
                items.push(visible(item.clone()).into_token_stream());
            }
        }
        let import = quote!(#[allow(unused_imports)] use #path::*;);
        self.item_modules.push(ItemModule { name, path, items });
        import
    }

    /// Ends the innermost block's module: it goes into the module around it, or to the
    /// machine's top.
    pub(super) fn close_item_module(&mut self) {
        let Some(ItemModule { name, items, .. }) = self.item_modules.pop() else {
            return;
        };
        let module = quote! {
            #[allow(dead_code, unused_imports, non_camel_case_types, clippy::all)]
            pub(crate) mod #name {
                #(#items)*
            }
        };
        match self.item_modules.last_mut() {
            Some(outer) => outer.items.push(module),
            None => self.m.items.push(module),
        }
    }
}

/// Whether a statement's item stays where it is written at the machine's top: anything
/// but a type item, which goes into the body's module.
pub fn stays_flat(item: &Item) -> bool {
    !declared_once(item)
}
