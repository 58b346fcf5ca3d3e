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
use spoke_core::{ObjectType, TypeRef};
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
fn bound_types(row: &Operation, path: &str) -> Vec<Vec<TypeRef>> {
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
                ObjectType::all().to_vec()
            } else {
                ObjectType::standard(s).into_iter().collect()
            }
        })
        .collect()
}

/// Every combination of one type per parameter.
fn combinations(lists: &[Vec<TypeRef>]) -> Vec<Vec<TypeRef>> {
    lists.iter().fold(vec![Vec::new()], |acc, list| {
        acc.iter()
            .flat_map(|prefix| {
                list.iter().map(move |t| {
                    let mut v = prefix.clone();
                    v.push(t.clone());
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

    // Each type with its own spec file (calls-v3.json for calls…) is held to that file's
    // scopes on its own paths; on the generic paths (`{objectType}`, v4 pairs), a scope its
    // own file grants is accepted for it too, since HubSpot's generic specs do not list
    // every per-type scope (`sales-email-read`, `crm.dealsplits.read_write`).
    let mut own: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in FAMILIES {
        for s in load(&dir, file) {
            let segment = s
                .path
                .strip_prefix("/crm/v3/objects/")
                .map(|rest| rest.split('/').next().unwrap_or_default());
            let ty = match (*file, segment) {
                ("deal-splits-v3.json", _) => ObjectType::resolve("deal_splits"),
                (_, Some(seg)) if !is_param(seg) => {
                    let ty = ObjectType::resolve(seg);
                    if ty.is_none() {
                        problems.push(format!(
                            "{file}: {} names a type spoke does not serve",
                            s.path
                        ));
                    }
                    ty
                }
                _ => None,
            };
            if let Some(ty) = ty {
                own.entry(ty.id.as_str().to_owned())
                    .or_default()
                    .extend(s.alternatives.iter().flatten().cloned());
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
            let generic = s
                .path
                .split('/')
                .any(|seg| matches!(seg, "{objectType}" | "{fromObjectType}" | "{toObjectType}"));
            for types in combinations(&bound_types(row, &s.path)) {
                let owns = |scope: &str| {
                    generic
                        && types.iter().any(|t| {
                            own.get(t.id.as_str())
                                .is_some_and(|set| set.contains(scope))
                        })
                };
                for scope in row.scope.required(&types).into_iter().flatten() {
                    if !allowed(&scope) && !owns(&scope) {
                        let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
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
    let types: Vec<TypeRef> = ObjectType::all().to_vec();
    let mut spoke_scopes: BTreeSet<String> = spoke_core::scope::all_scopes().into_iter().collect();
    // Generated rows take their scopes from HubSpot's whole spec collection, which the
    // reference directory holds only part of (`generated_rows_answer_hubspots_403` checks
    // them against a checkout of it).
    for op in operations()
        .iter()
        .filter(|o| !matches!(o.source, Source::Elsewhere(_)))
    {
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
    for op in operations()
        .iter()
        .filter(|o| !o.implemented() && !matches!(o.source, Source::Elsewhere(_)))
    {
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
        assert_names_scopes(body, &required, &what);
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
    assert!(seen >= 10, "{seen} unimplemented rows");
}

/// The 403 of an operation spoke does not serve names HubSpot's scopes for it: one
/// `errors` entry per requirement (`requiredGranularScopes`: its alternatives), `links`.
fn assert_names_scopes(body: &Value, required: &[Vec<String>], what: &str) {
    let required: Vec<&Vec<String>> = required.iter().filter(|r| !r.is_empty()).collect();
    let expected: Vec<Value> = required
        .iter()
        .map(|alts| {
            serde_json::json!({
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": alts},
            })
        })
        .collect();
    if expected.is_empty() {
        assert!(body.get("errors").is_none(), "{what}: {body}");
        assert!(body.get("links").is_none(), "{what}: {body}");
    } else {
        assert_eq!(body["errors"], Value::Array(expected), "{what}");
        assert_eq!(
            body["links"],
            serde_json::json!({"scopes": "https://developers.hubspot.com/scopes"}),
            "{what}"
        );
    }
}

/// Operations of the rest of HubSpot's API that connectors call, with the scopes HubSpot
/// requires (as the spec collection or the legacy documentation gives them), written out
/// here so that a wrong generated table fails.
const CONNECTOR_ROWS: &[(&str, &str, &[&[&str]])] = &[
    ("POST", "/crm/v3/lists/search", &[&["crm.lists.read"]]),
    (
        "GET",
        "/crm/v3/lists/{listId}/memberships",
        &[&["crm.lists.read"]],
    ),
    (
        "DELETE",
        "/crm/v3/lists/{listId}",
        &[
            &["crm.lists.read"],
            &["cms.membership.access_groups.write", "crm.lists.write"],
        ],
    ),
    ("GET", "/marketing/v3/forms", &[&["forms"]]),
    ("GET", "/forms/v2/forms", &[&["forms"]]),
    (
        "GET",
        "/form-integrations/v1/submissions/forms/{formId}",
        &[&["forms"]],
    ),
    ("GET", "/email/public/v1/events", &[&["content"]]),
    ("GET", "/email/public/v1/campaigns/by-id", &[&["content"]]),
    ("GET", "/email/public/v1/subscriptions", &[&["content"]]),
    (
        "GET",
        "/email/public/v1/subscriptions/timeline",
        &[&["content"]],
    ),
    ("GET", "/automation/v3/workflows", &[&["automation"]]),
    ("GET", "/automation/v4/flows", &[&["automation"]]),
    (
        "GET",
        "/marketing/v3/emails",
        &[&["marketing.email.read", "marketing.email.write", "content"]],
    ),
    (
        "GET",
        "/marketing-emails/v1/emails/with-statistics",
        &[&["content"]],
    ),
    ("GET", "/events/v3/events", &[&["oauth"]]),
    (
        "GET",
        "/engagements/v1/engagements/paged",
        &[&[
            "crm.objects.contacts.read",
            "crm.objects.companies.read",
            "crm.objects.deals.read",
            "tickets",
            "e-commerce",
        ]],
    ),
    (
        "GET",
        "/contacts/v1/lists/all/contacts/all",
        &[&["crm.objects.contacts.read"]],
    ),
    (
        "POST",
        "/contacts/v1/contact/createOrUpdate/email/{email}",
        &[&["crm.objects.contacts.write"]],
    ),
    (
        "POST",
        "/companies/v2/companies",
        &[&["crm.objects.companies.write"]],
    ),
    (
        "PUT",
        "/companies/v2/companies/{companyId}",
        &[&["crm.objects.companies.write"]],
    ),
    ("POST", "/deals/v1/deal", &[&["crm.objects.deals.write"]]),
    (
        "PUT",
        "/deals/v1/deal/{dealId}",
        &[&["crm.objects.deals.write"]],
    ),
    (
        "GET",
        "/crm-objects/v1/objects/tickets/paged",
        &[&["tickets"]],
    ),
    (
        "POST",
        "/files/v3/files",
        &[&["files.ui_hidden.write", "files", "files.write"]],
    ),
    (
        "GET",
        "/conversations/v3/conversations/threads",
        &[&["conversations.read"]],
    ),
    ("GET", "/cms/v3/blogs/posts", &[&["content"]]),
    // HubSpot authorizes these by developer key, not by scope: any token reaches the 403.
    ("GET", "/conversations/v3/custom-channels/{channelId}", &[]),
];

/// A concrete path for a generated row: every parameter a number.
fn filled(template: &str) -> String {
    template
        .split('/')
        .map(|s| if is_param(s) { "1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// The rest of HubSpot's API (the generated rows): a table of the operations connectors
/// call, then a sample of every API in the table, each answering like any operation spoke
/// does not serve: 401 without a token; 403 `MISSING_SCOPES` naming the scope for a token
/// without it, with no `x-spoke-not-emulated`; and with the scopes, 403 naming them all,
/// with the header. Then every generated row once, with a token holding every scope.
#[tokio::test]
async fn generated_rows_answer_hubspots_403() {
    let app = TestApp::spawn().await;
    let generated: Vec<&Operation> = operations()
        .iter()
        .filter(|o| matches!(o.source, Source::Elsewhere(_)))
        .collect();
    assert!(generated.len() > 500, "{} generated rows", generated.len());
    let mut tokens: BTreeMap<Vec<String>, String> = BTreeMap::new();

    // The connectors' rows are in the table as written above, and a sample of each API.
    let mut sample: Vec<(&Operation, Vec<Vec<String>>)> = Vec::new();
    for (method, path, scopes) in CONNECTOR_ROWS {
        let row = generated
            .iter()
            .find(|o| o.verb.as_str() == *method && routes(&o.path, path).is_some())
            .unwrap_or_else(|| panic!("{method} {path} is not a generated row"));
        let expected: Vec<Vec<String>> = scopes
            .iter()
            .map(|alts| alts.iter().map(|s| (*s).to_owned()).collect())
            .collect();
        assert_eq!(
            row.scope.required::<TypeRef>(&[]),
            expected,
            "{method} {path}"
        );
        sample.push((row, expected));
    }
    let mut apis = BTreeSet::new();
    for row in &generated {
        if apis.insert(row.api) {
            sample.push((row, row.scope.required::<TypeRef>(&[])));
        }
    }
    assert!(apis.len() > 50, "{} APIs", apis.len());

    for (row, required) in &sample {
        let what = format!("{row:?}");
        let method = Method::from_bytes(row.verb.as_str().as_bytes()).expect("method");
        let path = filled(&row.path);
        let ans = app.call(method.clone(), None, &path, None).await;
        assert_401(&ans, &what);

        if let Some(first) = required.first() {
            // A token with a real scope the row does not take.
            let other = ["oauth", "content", "forms"]
                .into_iter()
                .find(|s| !required.iter().flatten().any(|r| r == s))
                .expect("a scope the row does not take");
            let key = vec![other.to_owned()];
            if !tokens.contains_key(&key) {
                tokens.insert(key.clone(), app.token(1, &[other]).await);
            }
            let ans = app
                .call(method.clone(), Some(&tokens[&key]), &path, None)
                .await;
            assert_403(&ans, &first[0], &what);
            assert!(ans.headers.get("x-spoke-not-emulated").is_none(), "{what}");
        }

        let granted: Vec<String> = required.iter().map(|alts| alts[0].clone()).collect();
        if !tokens.contains_key(&granted) {
            let scopes: Vec<&str> = granted.iter().map(String::as_str).collect();
            let t = app.token(1, &scopes).await;
            tokens.insert(granted.clone(), t);
        }
        let ans = app
            .call(method.clone(), Some(&tokens[&granted]), &path, None)
            .await;
        let body = assert_error(
            &ans,
            403,
            Some("MISSING_SCOPES"),
            &format!(
                "The scope needed for this API call isn't available for public use. spoke does not implement {} {} yet.",
                row.verb, row.path
            ),
        );
        assert_names_scopes(body, required, &what);
        let named = format!("{} {}", row.verb, row.path);
        assert_eq!(
            ans.headers
                .get("x-spoke-not-emulated")
                .and_then(|v| v.to_str().ok()),
            Some(named.as_str()),
            "{what}"
        );
    }

    // Every generated row is routed to itself: one token with every scope any of them takes.
    let every: BTreeSet<String> = generated
        .iter()
        .flat_map(|o| o.scope.required::<TypeRef>(&[]).into_iter().flatten())
        .collect();
    let every: Vec<&str> = every.iter().map(String::as_str).collect();
    let t = app.token(1, &every).await;
    let mut wrong = Vec::new();
    for row in &generated {
        let method = Method::from_bytes(row.verb.as_str().as_bytes()).expect("method");
        let ans = app.call(method, Some(&t), &filled(&row.path), None).await;
        let named = format!("{} {}", row.verb, row.path);
        let header = ans
            .headers
            .get("x-spoke-not-emulated")
            .and_then(|v| v.to_str().ok());
        if ans.status != 403 || header != Some(named.as_str()) {
            wrong.push(format!("{named}: {} {header:?} {}", ans.status, ans.text));
        }
    }
    println!(
        "generated rows: {} ({} APIs), {} sampled",
        generated.len(),
        apis.len(),
        sample.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
