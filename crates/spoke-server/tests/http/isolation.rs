//! Tenant isolation, as a table: every operation of spoke's catalogue (objects v3 single,
//! list, batch and search; properties and groups; associations v4 batch, single and labels;
//! under `/crm/v3` and the dated prefixes; and the operations spoke does not implement) × {no token → 401; a
//! webhooks-journal app token of an app installed in the portal → 401; another portal's all-scopes token → the row's record,
//! property, group or label does not exist for it (never its data, never a 403 that would
//! reveal it exists); a token missing a needed scope → 403 `MISSING_SCOPES`; the right
//! scopes → 2xx (403 for an operation spoke does not implement)}. Rows come from the
//! catalogue: a new operation without calls in [`cases`] fails the test. The test runs every
//! row and fails listing every violation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::auth_scopes::{assert_401, assert_403};
use spoke_core::ObjectType;
use spoke_server::catalogue::{operations, Operation, Source};

use crate::harness::{Answer, TestApp};
use crate::support::*;

/// Strings only the row's fixture holds; no request carries them, so another portal's
/// answer containing one has leaked the row's portal's data.
const SECRETS: [&str; 5] = [
    "SecretFirstName",
    "SecretCompany",
    "SecretPropLabel",
    "SecretGroupLabel",
    "SecretAssocLabel",
];

/// What another portal's all-scopes token must get.
#[derive(Clone, Copy, Debug)]
enum Other {
    /// Exactly this status (and, for errors, HubSpot's envelope).
    Is(u16),
    /// 207 whose errors name the input as not found, with no results.
    Missing207,
    /// Any of these (HubSpot's answer to this case is not pinned down; every one of them
    /// means "not there").
    OneOf(&'static [u16]),
    /// An operation spoke does not implement: a 403 that depends on no portal's data.
    Unimplemented,
}

struct Row {
    method: Method,
    /// `{id}` the row's portal's contact, `{cid}` its company, `{email}` the contact's email,
    /// `{prop}`/`{group}` its custom property and group, `{label}` its label's type id,
    /// `{n}` a fresh number.
    path: String,
    body: Option<&'static str>,
    grant: Vec<String>,
    deny: Vec<String>,
    named: String,
    ok: u16,
    other: Other,
}

/// (scopes that grant the call, scopes that do not, the scope the 403 must name)
type Scopes = (
    &'static [&'static str],
    &'static [&'static str],
    &'static str,
);

/// One call of an operation: the object id the path names, a query, a body, the scopes,
/// the status with the right scopes, and what another portal gets.
struct Case {
    at: &'static str,
    query: &'static str,
    body: Option<&'static str>,
    scopes: Scopes,
    ok: u16,
    other: Other,
}

const C_READ: &[&str] = &["crm.objects.contacts.read"];
const C_WRITE: &[&str] = &["crm.objects.contacts.write"];
const S_READ: &[&str] = &["crm.schemas.contacts.read"];
const S_WRITE: &[&str] = &["crm.schemas.contacts.write"];
const PAIR_READ: &[&str] = &["crm.objects.contacts.read", "crm.objects.companies.read"];
const PAIR_WRITE: &[&str] = &["crm.objects.contacts.write", "crm.objects.companies.write"];

const OBJ_READ: Scopes = (
    C_READ,
    &["crm.objects.contacts.write", "crm.objects.companies.read"],
    "crm.objects.contacts.read",
);
const OBJ_WRITE: Scopes = (
    C_WRITE,
    &["crm.objects.contacts.read", "crm.objects.companies.write"],
    "crm.objects.contacts.write",
);
const SCHEMA_READ: Scopes = (
    S_READ,
    &["crm.schemas.companies.read", "crm.objects.companies.read"],
    "crm.schemas.contacts.read",
);
const SCHEMA_WRITE: Scopes = (
    S_WRITE,
    &["crm.schemas.contacts.read", "crm.objects.contacts.write"],
    "crm.schemas.contacts.write",
);
// Legacy paths name their type literally (`/companies/v2/...`).
const COMPANY_READ: Scopes = (
    &["crm.objects.companies.read"],
    &["crm.objects.contacts.read", "crm.objects.companies.write"],
    "crm.objects.companies.read",
);
const COMPANY_SCHEMA_READ: Scopes = (
    &["crm.schemas.companies.read"],
    &["crm.schemas.contacts.read", "crm.objects.contacts.read"],
    "crm.schemas.companies.read",
);
// Pair endpoints need both types: a token with contacts alone is missing companies.
const PAIR_READ_SCOPES: Scopes = (
    PAIR_READ,
    &["crm.objects.contacts.read", "crm.objects.contacts.write"],
    "crm.objects.companies.read",
);
const PAIR_WRITE_SCOPES: Scopes = (
    PAIR_WRITE,
    &["crm.objects.contacts.write", "crm.objects.companies.read"],
    "crm.objects.companies.write",
);
const OWNERS_READ: Scopes = (
    &["crm.objects.owners.read"],
    &["crm.objects.contacts.read", "settings.users.read"],
    "crm.objects.owners.read",
);
const USERS_READ: Scopes = (
    &["settings.users.read"],
    &["settings.users.write", "settings.users.teams.read"],
    "settings.users.read",
);
const USERS_WRITE: Scopes = (
    &["settings.users.write"],
    &["settings.users.read", "crm.objects.owners.read"],
    "settings.users.write",
);
const TEAMS_READ: Scopes = (
    &["settings.users.teams.read"],
    &["settings.users.read"],
    "settings.users.teams.read",
);
/// Any valid token (account info): no scope to miss, so no 403 row.
const ANY_TOKEN: Scopes = (&[], &[], "");

const PIPE_READ: Scopes = (
    &["crm.schemas.deals.read"],
    &["crm.schemas.contacts.read", "crm.objects.contacts.read"],
    "crm.schemas.deals.read",
);
const PIPE_WRITE: Scopes = (
    &["crm.schemas.deals.write"],
    &["crm.schemas.deals.read", "crm.objects.deals.write"],
    "crm.schemas.deals.write",
);
const DEAL_READ: Scopes = (
    &["crm.objects.deals.read"],
    &["crm.objects.contacts.read", "crm.objects.deals.write"],
    "crm.objects.deals.read",
);
const CUSTOM_READ: Scopes = (
    &["crm.schemas.custom.read"],
    &["crm.schemas.custom.write", "crm.schemas.contacts.read"],
    "crm.schemas.custom.read",
);
const CUSTOM_WRITE: Scopes = (
    &["crm.schemas.custom.write"],
    &["crm.schemas.custom.read", "crm.objects.custom.write"],
    "crm.schemas.custom.write",
);
const CUSTOM_LIMITS: Scopes = (
    &["crm.objects.custom.read"],
    &["crm.objects.contacts.read"],
    "crm.schemas.custom.read",
);
const SCHEMA_BODY: &str = r#"{"name":"made_{n}","labels":{"singular":"M","plural":"Ms"},"properties":[],"requiredProperties":[],"associatedObjects":["CONTACT"]}"#;

const PIPE_BODY: &str = r#"{"label":"Pipeline {n}","displayOrder":1,"stages":[{"label":"A","displayOrder":0,"metadata":{"probability":"0.5"}}]}"#;

/// The calls of an implemented operation, by API family and operation name. An
/// implemented operation without one fails the test: a new endpoint needs its rows.
fn cases(op: &Operation) -> Vec<Case> {
    use Other::*;
    let c = |at, query, body, scopes, ok, other| Case {
        at,
        query,
        body,
        scopes,
        ok,
        other,
    };
    let one = |body, scopes, ok, other| vec![c("{id}", "", body, scopes, ok, other)];
    let inline = r#"{"properties":{"firstname":"linked"},"associations":[{"to":{"id":"{cid}"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}"#;
    let inline_batch = r#"{"inputs":[{"properties":{"firstname":"linked"},"associations":[{"to":{"id":"{cid}"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}]}"#;
    match (op.api.split('-').next().unwrap_or(""), op.name) {
        ("objects", "list") => vec![
            c("", "", None, OBJ_READ, 200, Is(200)),
            // Associations read inline need the target type's read scope too.
            c(
                "",
                "?associations=companies",
                None,
                PAIR_READ_SCOPES,
                200,
                Is(200),
            ),
        ],
        ("objects", "read") => vec![
            c("{id}", "", None, OBJ_READ, 200, Is(404)),
            c("{email}", "?idProperty=email", None, OBJ_READ, 200, Is(404)),
            c(
                "{id}",
                "?associations=companies",
                None,
                PAIR_READ_SCOPES,
                200,
                Is(404),
            ),
        ],
        ("objects", "update") => one(
            Some(r#"{"properties":{"lastname":"patched"}}"#),
            OBJ_WRITE,
            200,
            Is(404),
        ),
        ("objects", "archive") => one(None, OBJ_WRITE, 204, Is(204)),
        ("objects", "create") => vec![
            c(
                "",
                "",
                Some(r#"{"properties":{"firstname":"new"}}"#),
                OBJ_WRITE,
                201,
                Is(201),
            ),
            // Inline associations write the company's side too: both write scopes (§3.7, §4.2).
            c(
                "",
                "",
                Some(inline),
                PAIR_WRITE_SCOPES,
                201,
                OneOf(&[400, 404]),
            ),
        ],
        ("objects", "batch-read") => vec![
            c(
                "",
                "",
                Some(r#"{"inputs":[{"id":"{id}"}],"properties":["firstname"]}"#),
                OBJ_READ,
                200,
                Missing207,
            ),
            c(
                "",
                "",
                Some(
                    r#"{"inputs":[{"id":"{email}"}],"idProperty":"email","properties":["firstname"]}"#,
                ),
                OBJ_READ,
                200,
                Missing207,
            ),
        ],
        ("objects", "batch-create") => vec![
            c(
                "",
                "",
                Some(r#"{"inputs":[{"properties":{"firstname":"b"}}]}"#),
                OBJ_WRITE,
                201,
                Is(201),
            ),
            c(
                "",
                "",
                Some(inline_batch),
                PAIR_WRITE_SCOPES,
                201,
                OneOf(&[400, 404]),
            ),
        ],
        ("objects", "batch-update") => one(
            Some(r#"{"inputs":[{"id":"{id}","properties":{"lastname":"u"}}]}"#),
            OBJ_WRITE,
            200,
            Missing207,
        ),
        ("objects", "batch-upsert") => one(
            Some(
                r#"{"inputs":[{"id":"{email}","idProperty":"email","properties":{"lastname":"up"}}]}"#,
            ),
            OBJ_WRITE,
            200,
            Is(200),
        ),
        ("objects", "batch-archive") => one(
            Some(r#"{"inputs":[{"id":"{id}"}]}"#),
            OBJ_WRITE,
            204,
            Is(204),
        ),
        ("objects", "search") => vec![
            c(
                "",
                "",
                Some(
                    r#"{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"{email}"}]}],"properties":["firstname"]}"#,
                ),
                OBJ_READ,
                200,
                Is(200),
            ),
            c(
                "",
                "",
                Some(r#"{"query":"SecretFirstName","properties":["firstname"]}"#),
                OBJ_READ,
                200,
                Is(200),
            ),
        ],
        ("properties", "list") => one(None, SCHEMA_READ, 200, Is(200)),
        ("properties", "read") => one(None, SCHEMA_READ, 200, Is(404)),
        ("properties", "update") => one(
            Some(r#"{"label":"Relabelled"}"#),
            SCHEMA_WRITE,
            200,
            Is(404),
        ),
        ("properties", "archive") => one(None, SCHEMA_WRITE, 204, Is(404)),
        ("properties", "create") => one(
            Some(
                r#"{"name":"made_{n}","label":"Made","type":"string","fieldType":"text","groupName":"contactinformation"}"#,
            ),
            SCHEMA_WRITE,
            201,
            Is(201),
        ),
        ("properties", "batch-create") => one(
            Some(
                r#"{"inputs":[{"name":"batch_{n}","label":"B","type":"string","fieldType":"text","groupName":"contactinformation"}]}"#,
            ),
            SCHEMA_WRITE,
            201,
            Is(201),
        ),
        ("properties", "batch-read") => one(
            Some(r#"{"inputs":[{"name":"{prop}"}]}"#),
            SCHEMA_READ,
            200,
            Missing207,
        ),
        ("properties", "batch-archive") => one(
            Some(r#"{"inputs":[{"name":"{prop}"}]}"#),
            SCHEMA_WRITE,
            204,
            Is(204),
        ),
        ("properties", "groups-list") => one(None, SCHEMA_READ, 200, Is(200)),
        ("properties", "groups-create") => one(
            Some(r#"{"name":"grp_{n}","label":"G"}"#),
            SCHEMA_WRITE,
            201,
            Is(201),
        ),
        ("properties", "groups-read") => one(None, SCHEMA_READ, 200, Is(404)),
        ("properties", "groups-update") => {
            one(Some(r#"{"label":"Renamed"}"#), SCHEMA_WRITE, 200, Is(404))
        }
        ("properties", "groups-archive") => one(None, SCHEMA_WRITE, 204, Is(404)),
        ("associations", "batch-read") => one(
            Some(r#"{"inputs":[{"id":"{id}"}]}"#),
            PAIR_READ_SCOPES,
            200,
            Is(207),
        ),
        ("associations", "batch-create") => one(
            Some(
                r#"{"inputs":[{"from":{"id":"{id}"},"to":{"id":"{cid}"},"types":[{"associationCategory":"USER_DEFINED","associationTypeId":{label}}]}]}"#,
            ),
            PAIR_WRITE_SCOPES,
            201,
            OneOf(&[207, 400]),
        ),
        ("associations", "batch-associate-default") => one(
            Some(r#"{"inputs":[{"from":{"id":"{id}"},"to":{"id":"{cid}"}}]}"#),
            PAIR_WRITE_SCOPES,
            200,
            Is(200),
        ),
        ("associations", "batch-archive") => one(
            Some(r#"{"inputs":[{"from":{"id":"{id}"},"to":[{"id":"{cid}"}]}]}"#),
            PAIR_WRITE_SCOPES,
            204,
            Is(204),
        ),
        ("associations", "batch-labels-archive") => one(
            Some(
                r#"{"inputs":[{"from":{"id":"{id}"},"to":{"id":"{cid}"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}"#,
            ),
            PAIR_WRITE_SCOPES,
            204,
            Is(204),
        ),
        ("associations", "list") => one(None, PAIR_READ_SCOPES, 200, OneOf(&[200, 404])),
        ("associations", "create") => one(
            Some(r#"[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]"#),
            PAIR_WRITE_SCOPES,
            201,
            OneOf(&[400, 404]),
        ),
        ("associations", "create-default") => {
            one(None, PAIR_WRITE_SCOPES, 200, OneOf(&[200, 400, 404]))
        }
        ("associations", "archive") => one(None, PAIR_WRITE_SCOPES, 204, Is(204)),
        ("associations", "labels-list") => one(None, PAIR_READ_SCOPES, 200, Is(200)),
        ("associations", "labels-create") => one(
            Some(r#"{"label":"Made {n}","name":"made_{n}"}"#),
            PAIR_WRITE_SCOPES,
            200,
            Is(200),
        ),
        ("associations", "labels-update") => one(
            Some(r#"{"associationTypeId":{label},"label":"Renamed"}"#),
            PAIR_WRITE_SCOPES,
            204,
            Is(404),
        ),
        ("associations", "labels-archive") => one(None, PAIR_WRITE_SCOPES, 204, Is(404)),
        ("associations", "types") => one(None, PAIR_READ_SCOPES, 200, Is(200)),
        ("objects", "associations-list") => one(None, PAIR_READ_SCOPES, 200, Is(200)),
        ("companies", "properties") => one(None, COMPANY_SCHEMA_READ, 200, Is(200)),
        ("properties", "form") => one(None, SCHEMA_READ, 200, Is(200)),
        ("companies", "paged") => vec![c("", "?properties=name", None, COMPANY_READ, 200, Is(200))],
        ("companies", "read") => one(None, COMPANY_READ, 200, Is(404)),
        ("deals", "paged") => vec![c(
            "",
            "?includeAllProperties=true&includeAssociations=true",
            None,
            (
                &["crm.objects.deals.read"],
                C_READ,
                "crm.objects.deals.read",
            ),
            200,
            Is(200),
        )],
        // Pipelines of deals, in every portal its own: another portal reads and writes its
        // own default pipeline, never this one's.
        ("pipelines", "list") | ("pipelines", "read") | ("pipelines", "audit") => {
            one(None, PIPE_READ, 200, Is(200))
        }
        ("pipelines", "stages-list") => one(None, PIPE_READ, 200, Is(200)),
        ("pipelines", "stages-read") | ("pipelines", "stages-audit") => {
            vec![c("closedwon", "", None, PIPE_READ, 200, Is(200))]
        }
        ("pipelines", "create") => one(Some(PIPE_BODY), PIPE_WRITE, 201, Is(201)),
        ("pipelines", "replace") => one(Some(PIPE_BODY), PIPE_WRITE, 200, Is(200)),
        ("pipelines", "update") => {
            one(Some(r#"{"label":"Renamed {n}"}"#), PIPE_WRITE, 200, Is(200))
        }
        // A portal's only pipeline cannot go (each account has at least one).
        ("pipelines", "archive") => one(None, PIPE_WRITE, 400, Is(400)),
        ("pipelines", "stages-create") => one(
            Some(r#"{"label":"Stage {n}","displayOrder":9,"metadata":{"probability":"0.5"}}"#),
            PIPE_WRITE,
            201,
            Is(201),
        ),
        ("pipelines", "stages-replace") => vec![c(
            "closedwon",
            "",
            Some(r#"{"label":"Won {n}","displayOrder":5,"metadata":{"probability":"1.0"}}"#),
            PIPE_WRITE,
            200,
            Is(200),
        )],
        ("pipelines", "stages-update") => vec![c(
            "closedwon",
            "",
            Some(r#"{"label":"Won {n}","metadata":{}}"#),
            PIPE_WRITE,
            200,
            Is(200),
        )],
        ("pipelines", "stages-archive") => {
            vec![c("closedwon", "", None, PIPE_WRITE, 204, Is(204))]
        }
        ("crm", "list") => one(None, DEAL_READ, 200, Is(200)),
        ("deal", "list") => one(None, DEAL_READ, 200, Is(200)),
        ("owners", "list" | "list-slash") => vec![
            c("", "", None, OWNERS_READ, 200, Is(200)),
            c("", "?archived=true", None, OWNERS_READ, 200, Is(200)),
        ],
        ("owners", "read") => vec![
            c("", "", None, OWNERS_READ, 200, Is(404)),
            c("", "?idProperty=userId", None, OWNERS_READ, 404, Is(404)),
        ],
        ("users", "list" | "list-v3" | "list-v3-slash" | "roles") => {
            one(None, USERS_READ, 200, Is(200))
        }
        ("users", "create" | "create-v3" | "create-v3-slash") => one(
            Some(r#"{"email":"made{n}@example.com","sendWelcomeEmail":false}"#),
            USERS_WRITE,
            201,
            Is(201),
        ),
        ("users", "teams") => one(None, TEAMS_READ, 200, Is(200)),
        ("users", "read") => vec![
            c("", "", None, USERS_READ, 200, Is(404)),
            c("", "?idProperty=EMAIL", None, USERS_READ, 404, Is(404)),
        ],
        ("users", "update") => one(Some(r#"{"lastName":"patched"}"#), USERS_WRITE, 200, Is(404)),
        ("users", "archive") => one(None, USERS_WRITE, 204, Is(404)),
        ("account", "details" | "api-usage") => one(None, ANY_TOKEN, 200, Is(200)),
        // Custom object schemas: `{schema}` is the row's portal's schema, unknown elsewhere;
        // another portal lists, creates and limits its own.
        ("schemas", "list") => one(None, CUSTOM_READ, 200, Is(200)),
        ("schemas", "create") => one(Some(SCHEMA_BODY), CUSTOM_WRITE, 201, Is(201)),
        ("schemas", "batch-read") => one(
            Some(r#"{"inputs":["{schema}"]}"#),
            CUSTOM_READ,
            200,
            Is(200),
        ),
        ("schemas", "read") => one(None, CUSTOM_READ, 200, Is(404)),
        ("schemas", "update") => one(
            Some(r#"{"labels":{"plural":"Patched {n}"}}"#),
            CUSTOM_WRITE,
            200,
            Is(404),
        ),
        ("schemas", "archive" | "purge" | "associations-archive") => {
            one(None, CUSTOM_WRITE, 204, Is(404))
        }
        ("schemas", "associations-create") => one(
            Some(r#"{"fromObjectTypeId":"{schema}","toObjectTypeId":"0-2"}"#),
            CUSTOM_WRITE,
            201,
            Is(404),
        ),
        ("crm", "custom-object-types") => one(None, CUSTOM_LIMITS, 200, Is(200)),
        _ => Vec::new(),
    }
}

/// The operation's path for the row's fixture: contacts (to companies), the object `at`.
fn fill_path(op: &Operation, at: &str) -> String {
    // Pipelines exist for deals: every portal's own default pipeline answers.
    let pipelines = op.path.contains("pipelines");
    let schemas = op.path.contains("/schemas");
    op.path
        .split('/')
        .map(|s| match s {
            "{objectType}" if schemas => "{schema}",
            "{associationIdentifier}" => "{assoc}",
            "{objectType}" if pipelines => "deals",
            "{pipelineId}" => "default",
            "{stageId}" => at,
            "{objectType}" | "{fromObjectType}" => "contacts",
            "{toObjectType}" => "companies",
            "{objectId}" | "{fromObjectId}" => at,
            "{toObjectId}" | "{companyId}" => "{cid}",
            "{propertyName}" => "{prop}",
            "{groupName}" => "{group}",
            "{associationTypeId}" => "{label}",
            "{ownerId}" => "{oid}",
            "{userId}" => "{uid}",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every operation of the catalogue, each call of it a row; unimplemented operations get
/// one row of their own, their scopes from the catalogue. Returns the rows and the
/// implemented operations that have none.
fn rows() -> (Vec<Row>, Vec<String>) {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    // The generated rows touch no data and answer alike; `catalogue.rs` checks them.
    for op in operations()
        .iter()
        .filter(|op| !matches!(op.source, Source::Elsewhere(_)))
    {
        let method = Method::from_bytes(op.verb.as_str().as_bytes()).expect("method");
        if !op.implemented() {
            let types = ["contacts", "companies"].map(|t| ObjectType::resolve(t).expect("type"));
            let required = op.scope.required(&types);
            rows.push(Row {
                method,
                path: fill_path(op, "{id}"),
                body: None,
                grant: required.iter().map(|alts| alts[0].clone()).collect(),
                deny: vec!["oauth".to_owned()],
                named: required[0][0].clone(),
                ok: 403,
                other: Other::Unimplemented,
            });
            continue;
        }
        let calls = cases(op);
        if calls.is_empty() {
            missing.push(format!("{op:?}"));
        }
        for call in calls {
            let (grant, deny, named) = call.scopes;
            rows.push(Row {
                method: method.clone(),
                path: format!("{}{}", fill_path(op, call.at), call.query),
                body: call.body,
                grant: owned(grant),
                deny: owned(deny),
                named: named.to_owned(),
                ok: call.ok,
                other: call.other,
            });
        }
    }
    (rows, missing)
}

/// The row's portal's data, made fresh for each row.
struct Fixture {
    id: String,
    cid: String,
    email: String,
    prop: String,
    group: String,
    label: i64,
    n: usize,
    /// A user of the row's portal (first name `SecretFirstName`), and the owner it is.
    uid: String,
    oid: String,
    /// A custom object schema of the row's portal (labelled `SecretPropLabel`), its type
    /// id, and the type id of its association definition to contacts.
    schema: String,
    assoc: String,
}

impl Fixture {
    async fn make(app: &TestApp, admin: &str, n: usize) -> Self {
        let email = format!("iso{n}@example.com");
        let id = create_one(
            app,
            admin,
            "contacts",
            json!({"email": email, "firstname": "SecretFirstName"}),
        )
        .await;
        let cid = create_one(app, admin, "companies", json!({"name": "SecretCompany"})).await;
        let group = format!("iso_group_{n}");
        let g = app
            .post(
                admin,
                "/crm/v3/properties/contacts/groups",
                json!({"name": group, "label": "SecretGroupLabel"}),
            )
            .await;
        assert_eq!(g.status, 201, "{}", g.text);
        let prop = format!("iso_prop_{n}");
        let p = app
            .post(
                admin,
                "/crm/v3/properties/contacts",
                json!({"name": prop, "label": "SecretPropLabel", "type": "string", "fieldType": "text", "groupName": group}),
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.text);
        let l = app
            .post(
                admin,
                "/crm/v4/associations/contacts/companies/labels",
                json!({"label": "SecretAssocLabel", "name": format!("secret_{n}")}),
            )
            .await;
        assert_eq!(l.status, 200, "{}", l.text);
        let label = l.body["results"][0]["typeId"].as_i64().expect("typeId");
        let u = app
            .post(
                admin,
                "/settings/v3/users/",
                json!({"email": format!("user{n}@example.com"), "sendWelcomeEmail": false, "firstName": "SecretFirstName"}),
            )
            .await;
        assert_eq!(u.status, 201, "{}", u.text);
        let uid = u.body["id"].as_str().expect("user id").to_owned();
        let o = app
            .get(admin, &format!("/crm/v3/owners/{uid}?idProperty=userId"))
            .await;
        assert_eq!(o.status, 200, "{}", o.text);
        let oid = o.body["id"].as_str().expect("owner id").to_owned();
        let a = app
            .call(
                Method::PUT,
                Some(admin),
                &format!("/crm/v4/objects/contacts/{id}/associations/companies/{cid}"),
                Some(json!([{"associationCategory": "USER_DEFINED", "associationTypeId": label}])),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
        let sc = app
            .post(
                admin,
                "/crm-object-schemas/v3/schemas",
                json!({"name": format!("iso_schema_{n}"), "labels": {"singular": "SecretPropLabel", "plural": "SecretPropLabels"},
                       "properties": [{"name": "secret", "label": "SecretPropLabel"}], "requiredProperties": [],
                       "associatedObjects": ["CONTACT"]}),
            )
            .await;
        assert_eq!(sc.status, 201, "{}", sc.text);
        let schema = sc.body["objectTypeId"].as_str().expect("type").to_owned();
        let assoc = sc.body["associations"]
            .as_array()
            .and_then(|a| a.iter().find(|d| d["toObjectTypeId"] == "0-1"))
            .and_then(|d| d["id"].as_str())
            .expect("a definition to contacts")
            .to_owned();
        Self {
            id,
            cid,
            email,
            prop,
            group,
            label,
            n,
            uid,
            oid,
            schema,
            assoc,
        }
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("{id}", &self.id)
            .replace("{cid}", &self.cid)
            .replace("{email}", &self.email)
            .replace("{prop}", &self.prop)
            .replace("{group}", &self.group)
            .replace("{label}", &self.label.to_string())
            .replace("{n}", &self.n.to_string())
            .replace("{uid}", &self.uid)
            .replace("{oid}", &self.oid)
            .replace("{schema}", &self.schema)
            .replace("{assoc}", &self.assoc)
    }

    /// What of the row's portal's data changed (empty when nothing did).
    async fn changes(&self, app: &TestApp, admin: &str) -> Vec<String> {
        let mut out = Vec::new();
        let c = app
            .get(
                admin,
                &format!(
                    "/crm/v3/objects/contacts/{}?properties=firstname,lastname",
                    self.id
                ),
            )
            .await;
        if c.status != 200
            || c.body["properties"]["firstname"] != "SecretFirstName"
            || !c.body["properties"]["lastname"].is_null()
        {
            out.push(format!("contact: {} {}", c.status, c.text));
        }
        let p = app
            .get(admin, &format!("/crm/v3/properties/contacts/{}", self.prop))
            .await;
        if p.status != 200 || p.body["label"] != "SecretPropLabel" {
            out.push(format!("property: {} {}", p.status, p.text));
        }
        let g = app
            .get(
                admin,
                &format!("/crm/v3/properties/contacts/groups/{}", self.group),
            )
            .await;
        if g.status != 200 || g.body["label"] != "SecretGroupLabel" {
            out.push(format!("group: {} {}", g.status, g.text));
        }
        let a = app
            .get(
                admin,
                &format!(
                    "/crm/v4/objects/contacts/{}/associations/companies",
                    self.id
                ),
            )
            .await;
        let types = a.body["results"][0]["associationTypes"].to_string();
        if a.status != 200
            || a.body["results"][0]["toObjectId"]
                .as_i64()
                .map(|v| v.to_string())
                .as_deref()
                != Some(self.cid.as_str())
            || !types.contains("SecretAssocLabel")
        {
            out.push(format!("association: {} {}", a.status, a.text));
        }
        out
    }
}

async fn call(app: &TestApp, row: &Row, fx: &Fixture, token: Option<&str>) -> Answer {
    let mut req = app.http.request(
        row.method.clone(),
        format!("{}{}", app.base, fx.fill(&row.path)),
    );
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = row.body {
        req = req
            .header("content-type", "application/json")
            .body(fx.fill(b));
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

fn as_strs(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

/// Runs one of the shared assertions, turning its panic into a violation.
fn check(violations: &mut Vec<String>, what: &str, f: impl FnOnce()) {
    if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        violations.push(format!("{what}: {msg}"));
    }
}

/// What is wrong with another portal's answer.
fn other_portal_problems(row: &Row, ans: &Answer) -> Vec<String> {
    let mut out = Vec::new();
    let status = ans.status.as_u16();
    match row.other {
        Other::Is(s) if status != s => out.push(format!("status {status}, expected {s}")),
        Other::OneOf(s) if !s.contains(&status) => {
            out.push(format!("status {status}, expected one of {s:?}"))
        }
        // The all-scopes token may lack a scope spoke never grants (owners): either 403.
        Other::Unimplemented if status != 403 => out.push(format!("status {status}, expected 403")),
        Other::Missing207 => {
            let results = ans.body["results"].as_array().map_or(0, Vec::len);
            if status != 207
                || results != 0
                || ans.body["errors"][0]["category"] != "OBJECT_NOT_FOUND"
            {
                out.push("expected 207 with OBJECT_NOT_FOUND and no results".to_owned());
            }
        }
        _ => {}
    }
    if status == 403 && !matches!(row.other, Other::Unimplemented) {
        out.push("403 reveals the thing exists".to_owned());
    }
    if let Some(s) = SECRETS.iter().find(|s| ans.text.contains(**s)) {
        out.push(format!("leaks {s}"));
    }
    if ans.status.is_client_error() {
        let header = ans
            .headers
            .get("x-hubspot-correlation-id")
            .and_then(|v| v.to_str().ok());
        if ans.body["status"] != "error" || ans.body["correlationId"].as_str() != header {
            out.push("error not in HubSpot's envelope".to_owned());
        }
    }
    if !out.is_empty() {
        out.push(format!("body: {}", ans.text));
    }
    out
}

#[tokio::test]
async fn tenant_isolation_every_endpoint() {
    let app = TestApp::spawn().await;
    let mut violations = Vec::new();
    let (rows, missing) = rows();
    // A webhooks-journal app token (client credentials) of an app installed in every row's
    // portal: it names no portal, so no CRM operation takes it.
    let journal_app = app_with_token(&app).await;
    for op in missing {
        violations.push(format!(
            "{op} has no isolation row: add its calls to cases()"
        ));
    }
    for (n, row) in rows.iter().enumerate() {
        let what = format!("{} {}", row.method, row.path);
        // Two fresh portals per row: rows do not see each other's writes or share the label
        // limit, and the other portal owns nothing that could answer in the row's place
        // (label type ids, say, are numbered per portal).
        let portal = 100 + 2 * n as i64;
        let admin = app.token(portal, &["all"]).await;
        let other = app.token(portal + 1, &["all"]).await;
        let fx = Fixture::make(&app, &admin, n).await;
        let right = app.token(portal, &as_strs(&row.grant)).await;
        let wrong = app.token(portal, &as_strs(&row.deny)).await;

        let ans = call(&app, row, &fx, None).await;
        check(&mut violations, &format!("{what} without a token"), || {
            assert_401(&ans, &what)
        });
        // A row that any valid token may call has no scope to miss.
        if !row.named.is_empty() {
            let ans = call(&app, row, &fx, Some(&wrong)).await;
            check(
                &mut violations,
                &format!("{what} with {:?} (missing {})", row.deny, row.named),
                || assert_403(&ans, &row.named, &what),
            );
        }
        for change in fx.changes(&app, &admin).await {
            violations.push(format!("{what}: 401/403 calls changed {change}"));
        }

        app.store
            .install_app(journal_app.0, spoke_core::PortalId(portal), 0)
            .await
            .expect("install");
        let ans = call(&app, row, &fx, Some(&journal_app.1)).await;
        check(
            &mut violations,
            &format!("{what} with an app token"),
            || assert_401(&ans, &what),
        );
        for change in fx.changes(&app, &admin).await {
            violations.push(format!("{what}: an app token changed {change}"));
        }

        let ans = call(&app, row, &fx, Some(&other)).await;
        for p in other_portal_problems(row, &ans) {
            violations.push(format!("{what} by another portal: {p}"));
        }
        for change in fx.changes(&app, &admin).await {
            violations.push(format!("{what}: another portal changed {change}"));
        }

        let ans = call(&app, row, &fx, Some(&right)).await;
        if ans.status.as_u16() != row.ok {
            violations.push(format!(
                "{what} with {:?}: {} (expected {}): {}",
                row.grant, ans.status, row.ok, ans.text
            ));
        }
    }
    println!(
        "isolation: {} endpoints × 5 callers, {} violations",
        rows.len(),
        violations.len()
    );
    assert!(
        violations.is_empty(),
        "{} violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

/// An app and a client-credentials token of it with every journal scope.
async fn app_with_token(app: &TestApp) -> (i64, String) {
    let now = spoke_core::time::now_millis();
    let id = app
        .store
        .insert_app(spoke_store::oauth::NewApp {
            name: "Journal isolation".into(),
            client_id: "journal-isolation".into(),
            client_secret_hash: "h".into(),
            client_secret_sealed: "s".into(),
            developer_api_key_hash: "k".into(),
            developer_api_key_sealed: "ks".into(),
            redirect_uris: vec![],
            scopes: vec!["oauth".into()],
            optional_scopes: vec![],
            created_at: now,
        })
        .await
        .expect("insert_app")
        .id;
    let issued = spoke_store::journal::issue_app_token(app.store.as_ref(), id, None, now)
        .await
        .expect("store")
        .expect("token");
    (id, issued.access_token)
}
