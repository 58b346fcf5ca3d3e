//! The operation catalogue held to HubSpot's OpenAPI specs (the project's shared reference,
//! `SPOKE_HUBSPOT_SPEC_DIR`, by default `../shared/reference/hubspot-openapi` beside the
//! workspace): every row exists in its spec files with its method and path; every spec
//! operation of the API families spoke serves (and their neighbours) is a row; every scope
//! spoke accepts for an operation is one of the spec's `security` alternatives for it, for
//! every object type the row can be called with; and every scope spoke can require or grant
//! is one HubSpot has. Then, over HTTP, rows without a handler answer HubSpot's 403 after
//! the same authorization as any other row.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use reqwest::Method;
use serde_json::Value;
use spoke_core::ObjectType;
use spoke_server::catalogue::{operations, Operation, Source};

use crate::auth_scopes::{assert_401, assert_403};
use crate::harness::TestApp;
use crate::support::*;

/// The spec files whose every operation must be in the catalogue.
const FAMILIES: &[&str] = &[
    "objects-v3.json",
    "objects-2026-03.json",
    "calls-v3.json",
    "communications-v3.json",
    "companies-v3.json",
    "contacts-v3.json",
    "deal-splits-v3.json",
    "deals-v3.json",
    "emails-v3.json",
    "feedback-submissions-v3.json",
    "goal-targets-v3.json",
    "leads-v3.json",
    "listings-v3.json",
    "meetings-v3.json",
    "notes-v3.json",
    "partner-clients-v3.json",
    "partner-services-v3.json",
    "postal-mail-v3.json",
    "quotes-v3.json",
    "tasks-v3.json",
    "tickets-v3.json",
    "properties-v3.json",
    "associations-v4.json",
    "associations-schema-v4.json",
    "associations-v3.json",
    "schemas-v3.json",
    "owners-v3.json",
    "pipelines-v3.json",
    "users-v3.json",
    "account-info-v3.json",
];

fn spec_dir() -> Option<PathBuf> {
    let dir = match std::env::var("SPOKE_HUBSPOT_SPEC_DIR") {
        Ok(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/hubspot-openapi"),
    };
    dir.is_dir().then_some(dir)
}

/// One operation of a spec file: method, path, and its `security` alternatives.
struct SpecOp {
    file: String,
    method: String,
    path: String,
    alternatives: Vec<Vec<String>>,
}

fn load(dir: &std::path::Path, file: &str) -> Vec<SpecOp> {
    let text = std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{file}: {e} (is the spec directory complete?)"));
    let spec: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut out = Vec::new();
    let Some(paths) = spec["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let security = op.get("security").unwrap_or(&spec["security"]);
            let alternatives = security
                .as_array()
                .map(|alts| {
                    alts.iter()
                        .map(|alt| {
                            alt.as_object()
                                .into_iter()
                                .flat_map(|o| o.values())
                                .flat_map(|v| v.as_array().cloned().unwrap_or_default())
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(SpecOp {
                file: file.to_owned(),
                method: method.to_uppercase(),
                path: path.clone(),
                alternatives,
            });
        }
    }
    out
}

/// Every scope any operation of any spec file in `dir` lists: the scopes HubSpot has.
fn every_spec_scope(dir: &std::path::Path) -> BTreeSet<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = BTreeSet::new();
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| panic!("{}: not a UTF-8 name", path.display()));
        for op in load(dir, name) {
            out.extend(op.alternatives.into_iter().flatten());
        }
    }
    out
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// Whether `template` (a catalogue path) routes `path` (a spec path, whose parameters
/// only template parameters match). Returns the number of literal segments, for priority.
fn routes(template: &str, path: &str) -> Option<usize> {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    if t.len() != p.len() {
        return None;
    }
    let mut literal = 0;
    for (a, b) in t.iter().zip(&p) {
        if is_param(a) {
            continue;
        }
        if a != b {
            return None;
        }
        literal += 1;
    }
    Some(literal)
}

/// The catalogue row serving a spec operation, as the router would pick it: the most
/// literal template of the same method (literal segments win over parameters).
fn row_for(op: &SpecOp) -> Option<&'static Operation> {
    operations()
        .iter()
        .filter(|o| o.verb.as_str() == op.method)
        .filter_map(|o| routes(&o.path, &op.path).map(|n| (n, o)))
        .max_by_key(|(n, _)| *n)
        .map(|(_, o)| o)
}

/// The object types a spec path gives the row's type parameters: a literal segment names
/// one type (none when spoke does not serve it), a parameter stands for every type.
fn bound_types(row: &Operation, path: &str) -> Vec<Vec<&'static ObjectType>> {
    let segments: Vec<&str> = path.split('/').collect();
    let positions: Vec<usize> = row
        .path
        .split('/')
        .enumerate()
        .filter(|(_, s)| matches!(*s, "{objectType}" | "{fromObjectType}" | "{toObjectType}"))
        .map(|(i, _)| i)
        .take(row.scope.types_needed())
        .collect();
    positions
        .iter()
        .map(|&i| {
            let s = segments.get(i).copied().unwrap_or("");
            if is_param(s) {
                ObjectType::all().iter().collect()
            } else {
                ObjectType::resolve(s).into_iter().collect()
            }
        })
        .collect()
}

/// Every combination of one type per parameter.
fn combinations(lists: &[Vec<&'static ObjectType>]) -> Vec<Vec<&'static ObjectType>> {
    lists.iter().fold(vec![Vec::new()], |acc, list| {
        acc.iter()
            .flat_map(|prefix| {
                list.iter().map(move |t| {
                    let mut v = prefix.clone();
                    v.push(*t);
                    v
                })
            })
            .collect()
    })
}

#[test]
fn the_catalogue_matches_hubspots_specs() {
    let Some(dir) = spec_dir() else {
        println!(
            "SKIPPED catalogue vs specs: no spec directory (set SPOKE_HUBSPOT_SPEC_DIR to \
             shared/reference/hubspot-openapi)"
        );
        return;
    };
    let mut problems = Vec::new();

    // Each row is where its source says.
    for op in operations() {
        let Source::Spec(files) = op.source else {
            continue;
        };
        for file in files {
            let found = load(&dir, file)
                .iter()
                .any(|s| s.method == op.verb.as_str() && routes(&op.path, &s.path).is_some());
            if !found {
                problems.push(format!("{op:?}: not in {file}"));
            }
        }
    }

    // Each spec operation is a row, and the row asks for no scope the spec does not list.
    let mut deviations: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut checked = 0;
    for file in FAMILIES {
        for s in load(&dir, file) {
            let Some(row) = row_for(&s) else {
                problems.push(format!(
                    "{file}: {} {} is not in the catalogue",
                    s.method, s.path
                ));
                continue;
            };
            checked += 1;
            let allowed = |scope: &str| s.alternatives.iter().any(|alt| alt == &[scope]);
            for types in combinations(&bound_types(row, &s.path)) {
                for scope in row.scope.required(&types).into_iter().flatten() {
                    if !allowed(&scope) {
                        let names: Vec<&str> = types.iter().map(|t| t.name).collect();
                        deviations
                            .entry(scope)
                            .or_default()
                            .insert(format!("{}: {} {} {names:?}", s.file, s.method, s.path));
                    }
                }
            }
        }
    }
    for (scope, where_) in &deviations {
        problems.push(format!(
            "spoke accepts {scope} where the spec does not ({} operations): {where_:?}",
            where_.len()
        ));
    }

    // Whatever the path names, no row requires, and no token is granted, a scope HubSpot
    // does not have.
    let real = every_spec_scope(&dir);
    assert!(
        real.contains("crm.objects.contacts.read"),
        "no scopes read from the specs"
    );
    let types: Vec<&'static ObjectType> = ObjectType::all().iter().collect();
    let mut spoke_scopes: BTreeSet<String> = spoke_core::scope::all_scopes().into_iter().collect();
    for op in operations() {
        let lists = vec![types.clone(); op.scope.types_needed()];
        for combination in combinations(&lists) {
            spoke_scopes.extend(op.scope.required(&combination).into_iter().flatten());
        }
    }
    for scope in spoke_scopes.difference(&real) {
        problems.push(format!("{scope} is in none of HubSpot's specs"));
    }
    println!(
        "catalogue: {} rows, {checked} spec operations checked, {} problems",
        operations().len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A path of `op` with every parameter filled: contacts (and companies as the other type of
/// a pair), and a number for ids.
fn concrete(op: &Operation) -> String {
    op.path
        .split('/')
        .map(|s| match s {
            "{objectType}" | "{fromObjectType}" => "contacts",
            "{toObjectType}" => "companies",
            s if is_param(s) => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Rows without a handler: 401 without a token, 400 for an unknown type, 403
/// `MISSING_SCOPES` naming a scope the row needs, and with the scopes HubSpot's 403 for an
/// API the caller cannot use.
#[tokio::test]
async fn unimplemented_operations_answer_hubspots_403_after_authorization() {
    let app = TestApp::spawn().await;
    let all = app.token(1, &["all"]).await;
    let none = app.token(1, &["oauth"]).await;
    let mut seen = 0;
    for op in operations().iter().filter(|o| !o.implemented()) {
        seen += 1;
        let method = Method::from_bytes(op.verb.as_str().as_bytes()).expect("method");
        let path = concrete(op);
        let what = format!("{op:?}");
        let ans = app.call(method.clone(), None, &path, None).await;
        assert_401(&ans, &what);

        let required = op.scope.required(&[
            ObjectType::resolve("contacts").expect("contacts"),
            ObjectType::resolve("companies").expect("companies"),
        ]);
        let first = &required[0][0];
        let ans = app.call(method.clone(), Some(&none), &path, None).await;
        assert_403(&ans, first, &what);

        let granted: Vec<&str> = required.iter().map(|alts| alts[0].as_str()).collect();
        let right = app.token(1, &granted).await;
        let ans = app.call(method.clone(), Some(&right), &path, None).await;
        let body = assert_error(
            &ans,
            403,
            Some("MISSING_SCOPES"),
            &format!(
                "The scope needed for this API call isn't available for public use. spoke does not implement {} {} yet.",
                op.verb, op.path
            ),
        );
        assert!(body.get("errors").is_none(), "{what}: {}", ans.text);
        assert_wire_error(&ans);
        let named = format!("{} {}", op.verb, op.path);
        assert_eq!(
            ans.headers
                .get("x-spoke-not-emulated")
                .and_then(|v| v.to_str().ok()),
            Some(named.as_str()),
            "{what}: the answer says which operation spoke does not serve"
        );
        // A real missing scope is not spoke's gap: no such header.
        let ans = app.call(method.clone(), Some(&none), &path, None).await;
        assert!(
            ans.headers.get("x-spoke-not-emulated").is_none(),
            "{what}: {:?}",
            ans.headers
        );
        if op.scope.types_needed() > 0 {
            let unknown = path.replacen("/contacts", "/widgets", 1);
            let ans = app.call(method.clone(), Some(&all), &unknown, None).await;
            assert_error(&ans, 400, None, "Unable to infer object type from: widgets");
        }
    }
    // Owners, users and pipelines left this list as they got handlers.
    assert!(seen >= 20, "{seen} unimplemented rows");
}
