//! The `datastack!` proc-macro: typed row structs, filter builders and enums for every table
//! of a committed CAVE snapshot, generated at compile time by `cave_codegen`.
//!
//! ```ignore
//! mod minnie {
//!     cave_macros::datastack!("schemas/minnie65_public", version = 1300);
//! }
//! ```
//!
//! The path is relative to the calling crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`); if the
//! snapshot is not there, the folders above it are tried up to the workspace root (the first
//! with a `Cargo.lock`), and `$CAVE_SCHEMA_DIR/<path>` first when that variable is set.
//! Options:
//! - `version = N`: only the tables of materialization version `N`; queries default to it.
//! - `tables = ["a", "b"]`: only these tables (reference targets come along); `tables = []`
//!   generates none (only the datastack constants).
//! - `crate = ::path::to::cave_runtime`: where the runtime is, if not `::cave_runtime`.
//!
//! The expansion reads the snapshot's files with `include_bytes!`, so cargo rebuilds when they
//! change. Errors are `compile_error!`s on the argument at fault; the macro never panics.
//! A crate published with a snapshot must ship it in the package (`include` in Cargo.toml).
//! Its build graph has no network, Arrow or CLI crates (`cave-schema` and `cave-codegen` only).

use std::path::{Path, PathBuf};

use cave_codegen::{self as codegen, CodegenError, Options};
use cave_schema::Snapshot;
use cave_schema::suggest::did_you_mean;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitInt, LitStr, Token, bracketed};

/// Generate the types of a datastack snapshot in place. See the crate docs.
#[proc_macro]
pub fn datastack(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    match syn::parse::<Args>(input).and_then(expand) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

const OPTIONS: [&str; 3] = ["version", "tables", "crate"];

/// The macro's arguments.
struct Args {
    path: LitStr,
    version: Option<LitInt>,
    tables: Option<Vec<LitStr>>,
    runtime: Option<syn::Path>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(input.error(
                "expected the snapshot folder, e.g. `datastack!(\"schemas/minnie65_public\")`",
            ));
        }
        let path: LitStr = input.parse()?;
        let mut args = Args {
            path,
            version: None,
            tables: None,
            runtime: None,
        };
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = if input.peek(Token![crate]) {
                let k: Token![crate] = input.parse()?;
                Ident::new("crate", k.span)
            } else {
                input.parse()?
            };
            input.parse::<Token![=]>()?;
            let name = key.to_string();
            let duplicate = || syn::Error::new(key.span(), format!("option `{name}` given twice"));
            match name.as_str() {
                "version" => {
                    if args.version.is_some() {
                        return Err(duplicate());
                    }
                    let v: LitInt = input.parse()?;
                    if !v.suffix().is_empty() || v.base10_parse::<u32>().is_err() {
                        return Err(syn::Error::new(
                            v.span(),
                            "expected a materialization version number, e.g. `version = 1300`",
                        ));
                    }
                    args.version = Some(v);
                }
                "tables" => {
                    if args.tables.is_some() {
                        return Err(duplicate());
                    }
                    let content;
                    bracketed!(content in input);
                    let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                    args.tables = Some(list.into_iter().collect());
                }
                "crate" => {
                    if args.runtime.is_some() {
                        return Err(duplicate());
                    }
                    args.runtime = Some(input.parse()?);
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown option `{other}`{}; the options are `version = N`, \
                             `tables = [\"table\", ...]` and `crate = path`",
                            did_you_mean(other, OPTIONS)
                        ),
                    ));
                }
            }
        }
        Ok(args)
    }
}

fn expand(args: Args) -> syn::Result<TokenStream> {
    let literal = args.path.value();
    let path_span = args.path.span();
    let (snapshot, files) = load(&literal, path_span)?;
    let version = match &args.version {
        Some(v) => Some(v.base10_parse::<u32>()?),
        None => None,
    };
    let options = Options {
        version,
        tables: args
            .tables
            .as_ref()
            .map(|t| t.iter().map(LitStr::value).collect()),
        runtime: match &args.runtime {
            Some(p) => p.to_token_stream().to_string(),
            None => Options::default().runtime,
        },
    };
    let tokens = codegen::expand(&snapshot, &options).map_err(|e| {
        let span = match &e {
            CodegenError::UnknownVersion { .. } => args.version.as_ref().map(LitInt::span),
            CodegenError::UnknownTable { index, .. } | CodegenError::UntypedTable { index, .. } => {
                args.tables
                    .as_ref()
                    .and_then(|t| t.get(*index))
                    .map(LitStr::span)
            }
            CodegenError::BadRuntimePath(_) => {
                args.runtime.as_ref().map(syn::spanned::Spanned::span)
            }
            CodegenError::Internal(_) => None,
        };
        syn::Error::new(span.unwrap_or(path_span), e.to_string())
    })?;
    // Rebuild when a snapshot file changes (stable Rust's way to track files) or when
    // `CAVE_SCHEMA_DIR` changes.
    let tracked = files.iter().filter_map(|f| f.to_str()).map(|f| {
        quote!(
            const _: &[u8] = ::core::include_bytes!(#f);
        )
    });
    Ok(quote! {
        #tokens
        #(#tracked)*
        const _: ::core::option::Option<&str> = ::core::option_env!("CAVE_SCHEMA_DIR");
    })
}

/// Find and load the snapshot `literal`; returns it with the files it was read from.
fn load(literal: &str, span: Span) -> syn::Result<(Snapshot, Vec<PathBuf>)> {
    let error = |message: String| syn::Error::new(span, message);
    if Path::new(literal).is_absolute() {
        return Err(error(format!(
            "`{literal}` is an absolute path; give the snapshot folder relative to the crate's \
             Cargo.toml (e.g. \"schemas/minnie65_public\"), so the crate builds on other machines"
        )));
    }
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| error("CARGO_MANIFEST_DIR is not set; build with cargo".to_string()))?;
    let (candidates, shown) = candidates(&manifest_dir, literal);
    let Some(dir) = candidates
        .iter()
        .find(|d| d.join("snapshot.json").is_file())
        .cloned()
    else {
        let datastack = Path::new(literal)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("DATASTACK");
        return Err(error(format!(
            "no datastack snapshot (a folder with snapshot.json) at \"{literal}\"; tried {} \
             (folders relative to the crate's Cargo.toml, or to $CAVE_SCHEMA_DIR when set). \
             Create it with the `cave` tool, in the crate's folder: `cave fetch --server \
             https://global.daf-apis.com --datastack {datastack} --out {literal}` (install the \
             tool with `cargo install cave-cli`, or `cargo install --path cave-cli` in a cave-rs \
             checkout)",
            shown.join(", ")
        )));
    };
    let snapshot = Snapshot::load(&dir).map_err(|e| {
        // Name files by the user's literal, not by this machine's absolute paths.
        let text = e.to_string().replace(&dir.display().to_string(), literal);
        error(format!("cannot load the snapshot \"{literal}\": {text}"))
    })?;
    // `views.json` may be missing (a snapshot without views).
    let mut files: Vec<PathBuf> = cave_schema::snapshot::FILES
        .iter()
        .map(|f| dir.join(f))
        .filter(|f| f.is_file())
        .collect();
    let types_dir = dir.join(&snapshot.manifest.types_dir);
    for name in snapshot.types.names() {
        let file = types_dir.join(format!("{name}.json"));
        if file.is_file() {
            files.push(file);
        }
    }
    Ok((snapshot, files))
}

/// Whether `dir` is inside a cargo target folder (which carries a `CACHEDIR.TAG`).
fn in_target_dir(dir: &Path) -> bool {
    dir.ancestors()
        .skip(1)
        .any(|a| a.join("CACHEDIR.TAG").is_file())
}

/// The folders to try, in order, and how to show them in an error: the crate's folder and
/// its ancestors relative to it, `$CAVE_SCHEMA_DIR` as such.
fn candidates(manifest_dir: &Path, literal: &str) -> (Vec<PathBuf>, Vec<String>) {
    let mut dirs = Vec::new();
    let mut shown = Vec::new();
    if let Some(base) = std::env::var_os("CAVE_SCHEMA_DIR") {
        dirs.push(PathBuf::from(base).join(literal));
        shown.push(format!("`$CAVE_SCHEMA_DIR/{literal}`"));
    }
    let mut up = String::new();
    let mut at = Some(manifest_dir);
    for _ in 0..12 {
        let Some(dir) = at else { break };
        dirs.push(dir.join(literal));
        shown.push(format!("`{up}{literal}`"));
        // Stop at the workspace root, but not at the copy of Cargo.lock that tools such as
        // trybuild put in scratch crates inside cargo's target folder.
        if dir.join("Cargo.lock").is_file() && !in_target_dir(dir) {
            break;
        }
        up.push_str("../");
        at = dir.parent();
    }
    (dirs, shown)
}
