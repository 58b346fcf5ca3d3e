//! Issue 12's guard: no code outside the catalogue branches on a standard type's id or API
//! name. Every per-type rule is a field of the type (`spoke_core::catalog`), so a custom
//! type, built from its schema, gets every rule a standard type has, and adding a standard
//! type is adding one catalogue entry.
//!
//! The check: outside the files that are the catalogue, no string literal in the workspace's
//! non-test source is exactly a standard type's id (`"0-1"`) or plural name (`"contacts"`).
//! Singular names are not checked: several are also property names (`email`, `name`).

use std::fs;
use std::path::{Path, PathBuf};

use spoke_core::ObjectType;

/// The catalogue: where types are described, by id and name.
const CATALOGUE: &[&str] = &[
    // The standard types and their HubSpot-defined properties.
    "crates/spoke-core/src/catalog.rs",
    // HubSpot's association types between standard types: a table keyed by type ids.
    "crates/spoke-core/src/association.rs",
    // The operation catalogue: paths that name a type literally (`/companies/v2/...`).
    "crates/spoke-server/src/catalogue.rs",
    "crates/spoke-server/src/catalogue/elsewhere.rs",
];

/// Literals a file may hold for a reason that is not a branch: (file, literal, why).
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "crates/spoke-server/src/handlers/legacy.rs",
        "contacts",
        "the v1 deal's `associations` names four types in its wire fields",
    ),
    (
        "crates/spoke-server/src/handlers/legacy.rs",
        "companies",
        "the v1 deal's `associations` names four types in its wire fields",
    ),
    (
        "crates/spoke-server/src/handlers/legacy.rs",
        "deals",
        "the v1 deal's `associations` names four types in its wire fields",
    ),
    (
        "crates/spoke-server/src/handlers/legacy.rs",
        "tickets",
        "the v1 deal's `associations` names four types in its wire fields",
    ),
];

/// Crates and folders whose code is not spoke's behavior: the benchmark (an HTTP client
/// that loads contacts, companies and deals) and the conformance suite (fixtures).
const SKIPPED: &[&str] = &["crates/spoke-bench/", "crates/spoke-store/src/conformance/"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of a line of code (not of comments), unescaped enough to compare.
fn literals(line: &str) -> Vec<&str> {
    let code = line.trim_start();
    if code.starts_with("//") {
        return Vec::new();
    }
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // A `//` outside a literal starts a comment.
            b'/' if bytes.get(i + 1) == Some(&b'/') => break,
            // A char literal or a lifetime: skip `'"'` so it opens no string.
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 3,
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                out.push(&line[start..j.min(line.len())]);
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// The code of a file before its unit tests (`#[cfg(test)]` modules sit at the end).
fn non_test(source: &str) -> &str {
    source
        .find("#[cfg(test)]")
        .map_or(source, |at| &source[..at])
}

#[test]
fn no_code_outside_the_catalogue_names_a_standard_type() {
    let root = workspace();
    let mut forbidden: Vec<String> = Vec::new();
    for ty in ObjectType::all() {
        forbidden.push(ty.id.as_str().to_owned());
        forbidden.push(ty.name.clone());
    }
    let forms = spoke_core::catalog::forms();
    forbidden.push(forms.id.as_str().to_owned());
    forbidden.push(forms.name.clone());

    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    assert!(files.len() > 50, "found {} source files", files.len());
    let mut found = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let source_dir = rel.contains("/src/");
        if !source_dir
            || CATALOGUE.contains(&rel.as_str())
            || SKIPPED.iter().any(|s| rel.starts_with(s))
        {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in non_test(&text).lines().enumerate() {
            for lit in literals(line) {
                let named = forbidden.iter().any(|f| f == lit);
                let allowed = ALLOWED.iter().any(|(f, l, _)| *f == rel && *l == lit);
                if named && !allowed {
                    found.push(format!("{rel}:{}: \"{lit}\": {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "code outside the catalogue names a standard type; make the rule a field of the \
         type in spoke_core::catalog instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_literal_scanner_finds_literals_and_skips_comments() {
    assert_eq!(
        literals(r#"if ty.id == "0-1" && p == "email" {"#),
        ["0-1", "email"]
    );
    assert_eq!(
        literals(r#"    // "contacts" in a comment"#),
        Vec::<&str>::new()
    );
    assert_eq!(literals(r#"f("deals"); // "tickets""#), ["deals"]);
    assert_eq!(literals(r#"let q = '"'; g("a\"b")"#), [r#"a\"b"#]);
}
