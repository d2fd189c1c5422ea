//! Expansion snapshots: each `tests/expand/NAME.rs` is expanded and compared with
//! `tests/expand/NAME.expanded.rs`, so a reviewer can read what the macro generates for a few
//! representative functions. `UPDATE_SNAPSHOTS=1 cargo test -p autodiff-macros` rewrites them.

use std::path::Path;

/// Expands every `#[differentiate]` function of a file and pretty-prints the result.
fn expand_file(source: &str) -> String {
    let file: syn::File = syn::parse_str(source).expect("fixture parses");
    let mut items = Vec::new();
    for item in file.items {
        match item {
            syn::Item::Fn(mut func) => {
                let position = func
                    .attrs
                    .iter()
                    .position(|a| a.path().is_ident("differentiate"));
                match position {
                    Some(i) => {
                        let attr = func.attrs.remove(i);
                        let args = match attr.meta {
                            syn::Meta::List(list) => list.tokens,
                            _ => proc_macro2::TokenStream::new(),
                        };
                        let expanded = crate::expand::expand(args, quote::quote!(#func));
                        let expanded: syn::File =
                            syn::parse2(expanded.clone()).unwrap_or_else(|e| {
                                panic!("expansion does not parse ({e}): {expanded}")
                            });
                        items.extend(expanded.items);
                    }
                    None => items.push(syn::Item::Fn(func)),
                }
            }
            other => items.push(other),
        }
    }
    prettyplease::unparse(&syn::File {
        shebang: None,
        attrs: Vec::new(),
        items,
    })
}

#[test]
fn expansions_match_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut mismatches = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/expand exists")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    let mut checked = 0;
    for entry in entries {
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if !name.ends_with(".rs") || name.ends_with(".expanded.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("fixture readable");
        let actual = expand_file(&source);
        let snapshot = path.with_extension("expanded.rs");
        checked += 1;
        if update {
            std::fs::write(&snapshot, &actual).expect("snapshot writable");
            continue;
        }
        match std::fs::read_to_string(&snapshot) {
            Ok(expected) if expected == actual => {}
            Ok(_) => mismatches.push(format!(
                "{name}: expansion differs from {}",
                snapshot.display()
            )),
            Err(_) => mismatches.push(format!("{name}: no snapshot {}", snapshot.display())),
        }
    }
    assert!(checked > 0, "no fixtures in {}", dir.display());
    assert!(
        mismatches.is_empty(),
        "{}\nrerun with UPDATE_SNAPSHOTS=1 to accept",
        mismatches.join("\n")
    );
}

/// The README shows the expansion of `j`: it must be the current one.
#[test]
fn readme_shows_the_current_expansion_of_j() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md readable");
    let snapshot = std::fs::read_to_string(root.join("autodiff-macros/tests/expand/j.expanded.rs"))
        .expect("snapshot readable");
    assert!(
        readme.contains(&snapshot),
        "README.md's \"What the macro generates\" block differs from autodiff-macros/tests/expand/j.expanded.rs; copy the snapshot into it"
    );
}
