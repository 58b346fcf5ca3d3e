//! Seeding a portal from a fixture: custom properties, owners, pipelines, records and
//! associations in one JSON document whose parts are HubSpot's own input bodies, so a user
//! pastes what they already send to HubSpot.
//!
//! Every part goes through the rules HubSpot's API applies to it, by calling the handlers'
//! own functions (property definitions, user creation, pipeline input, record validation,
//! association types): a fixture cannot hold anything the API would refuse, and no rule is
//! written twice. Writes go through the same store methods as the API's, so whatever the
//! store does on a write (history, webhook events) happens for seeded data too.
//!
//! All or nothing. Everything that can be checked without writing is checked first: the
//! document's shape, every body, every type, property definitions against the portal's
//! and each other, owners' emails, pipeline inputs, refs, association types. Then the
//! parts are written in dependency order (properties and pipelines before the records that
//! use them); a failure there (a record value the new properties refuse, an email another
//! user holds) restores the portal from a snapshot taken just before the first write, so
//! the portal is as it was. A portal created for the fixture (`POST /_spoke/portals` with
//! `seed`) is deleted instead. The guarantee is for the portal's data as spoke sees it;
//! another client writing to the same portal while a seed fails loses those writes with
//! the undo, so seeds are meant for portals no one else is writing to.
//!
//! After a seed the portal's whole state is kept as the snapshot [`SEED_SNAPSHOT`], so
//! `POST /_spoke/portals/{id}/reset` with `{"to":"seed"}` restores exactly it (the same
//! record ids: refs stay valid). Reserved snapshot names contain `/`, which the snapshot API
//! refuses in names, so they cannot collide with a user's and are not listed.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use spoke_core::time::now_millis;
use spoke_core::{ObjectId, PortalId, PropertyDefinition};
use spoke_store::admin::SnapshotRefusal;
use spoke_store::directory::UserChange;
use spoke_store::pipelines::{self, Change};
use spoke_store::{AssociationWrite, LinkType, NewObject, WriteSource};
use spoke_types::associations::AssociationSpec;
use spoke_types::directory::UserProvisionRequest;
use spoke_types::pipelines::PipelineInput;
use spoke_types::properties::PropertyCreate;

use crate::auth::Principal;
use crate::catalogue::{operations, refuse_read_only, Authorized, Type};
use crate::error::{ApiError, ApiResult};
use crate::handlers::associations::{default_link, failure_error, Definitions};
use crate::handlers::objects::{
    api_source, conflict_error, require_properties, require_public_create, PipelineCheck,
};
use crate::handlers::pipelines::PipelinedType;
use crate::handlers::{directory, objects, pipelines as pipeline_handlers, properties};
use crate::schema::{resolve_type, TypeSchema};
use crate::AppState;

/// The snapshot that holds a portal's seeded state.
pub const SEED_SNAPSHOT: &str = "spoke/seed";

/// Whether a snapshot name is one of spoke's own (never a user's: those have no `/`).
pub fn reserved_snapshot(name: &str) -> bool {
    name.contains('/')
}

/// The parts of a fixture, in the order they are written.
const PARTS: [&str; 5] = [
    "properties",
    "owners",
    "pipelines",
    "records",
    "associations",
];

/// Records written per store call: one transaction each, and well under PostgreSQL's
/// bound on a statement's parameters.
const RECORD_CHUNK: usize = 500;

/// What a seed does with the portal's data, and so how a failed seed is undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Adds the fixture to what the portal holds; a failure restores the snapshot taken
    /// before the first write.
    Add,
    /// Resets the portal to empty first (`spoke serve --seed`); a failure restores the
    /// snapshot taken before the reset.
    Replace,
    /// The portal was made for this fixture; a failure deletes it.
    Fresh,
}

/// What a seed answers: each ref's record id by the fixture's spelling of its type, and
/// how much of each part was written.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seeded {
    pub portal_id: i64,
    pub refs: BTreeMap<String, BTreeMap<String, String>>,
    pub counts: Counts,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub properties: usize,
    pub owners: usize,
    pub pipelines: usize,
    pub records: usize,
    pub associations: usize,
}

/// A fixture's error: 400 naming where in the document (`context.path`), with what the
/// API would have said about that body. Server-side failures stay what they are.
fn at(path: &str, e: ApiError) -> ApiError {
    if e.status.is_server_error() {
        return e;
    }
    let mut out = ApiError::validation(format!("Invalid fixture at {path}: {}", e.message));
    out.context = e.context;
    out.errors = e.errors;
    out.sub_category = e.sub_category;
    out.with_context_entry("path", vec![path.to_owned()])
}

fn invalid(path: &str, message: impl Into<String>) -> ApiError {
    at(path, ApiError::validation(message))
}

fn object<'a>(v: &'a Value, path: &str) -> ApiResult<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| invalid(path, "expected a JSON object"))
}

fn array<'a>(v: &'a Value, path: &str) -> ApiResult<&'a Vec<Value>> {
    v.as_array()
        .ok_or_else(|| invalid(path, "expected a JSON array"))
}

fn parse<T: DeserializeOwned>(v: &Value, path: &str) -> ApiResult<T> {
    serde_json::from_value(v.clone()).map_err(|e| invalid(path, format!("Invalid input JSON: {e}")))
}

/// The handlers' functions take an authorized request; a seed is the admin acting as the
/// portal with every scope, under the catalogue row whose rules it applies.
fn acting<S>(
    state: &AppState,
    portal: PortalId,
    api: &str,
    name: &str,
    subject: S,
) -> ApiResult<Authorized<S>> {
    let op = operations()
        .iter()
        .find(|o| o.api == api && o.name == name)
        .ok_or_else(|| ApiError::internal(format!("no catalogue row {api}.{name}")))?;
    Ok(Authorized {
        state: state.clone(),
        principal: Principal {
            portal,
            token_id: 0,
            scopes: spoke_core::scope::all_scopes(),
            app_id: None,
        },
        op,
        started: crate::wire::Started::new(state.now(portal)),
        subject,
    })
}

async fn fixture_type(
    state: &AppState,
    portal: PortalId,
    name: &str,
    path: &str,
) -> ApiResult<Type> {
    resolve_type(state, portal, name)
        .await
        .map_err(|e| at(path, e))
}

struct PropertyPart {
    path: String,
    auth: Authorized<Type>,
    defs: Vec<PropertyDefinition>,
}

struct OwnerPart {
    path: String,
    reference: String,
    change: UserChange,
    raw: String,
}

struct PipelinePart {
    path: String,
    auth: Authorized<PipelinedType>,
    input: pipelines::PipelineInput,
}

struct RecordItem {
    path: String,
    reference: Option<String>,
    properties: BTreeMap<String, Value>,
}

struct RecordPart {
    key: String,
    ty: Type,
    items: Vec<RecordItem>,
}

struct AssociationPart {
    path: String,
    from: (Type, String),
    to: (Type, String),
    types: Vec<LinkType>,
}

/// A fixture checked as far as it can be without writing.
struct Plan {
    properties: Vec<PropertyPart>,
    owners: Vec<OwnerPart>,
    pipelines: Vec<PipelinePart>,
    records: Vec<RecordPart>,
    associations: Vec<AssociationPart>,
}

async fn plan_parts(state: &AppState, portal: PortalId, fixture: &Value) -> ApiResult<Plan> {
    let top = object(fixture, "(fixture)")?;
    if let Some(unknown) = top.keys().find(|k| !PARTS.contains(&k.as_str())) {
        return Err(invalid(
            unknown,
            format!("unknown part; a fixture has {}", PARTS.join(", ")),
        ));
    }
    let none = Value::Null;
    let part = |name: &str| top.get(name).unwrap_or(&none);
    let owners = plan_owners(part("owners"))?;
    let owner_refs: HashSet<&str> = owners.iter().map(|o| o.reference.as_str()).collect();
    Ok(Plan {
        properties: plan_properties(state, portal, part("properties")).await?,
        pipelines: plan_pipelines(state, portal, part("pipelines")).await?,
        records: plan_records(state, portal, part("records"), &owner_refs).await?,
        owners,
        associations: Vec::new(),
    })
}

/// The entries of a part keyed by object type, in document order.
fn by_type<'a>(v: &'a Value, part: &str) -> ApiResult<Vec<(&'a String, &'a Vec<Value>, String)>> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (name, list) in object(v, part)? {
        let path = format!("{part}.{name}");
        out.push((name, array(list, &path)?, path));
    }
    Ok(out)
}

async fn plan_properties(
    state: &AppState,
    portal: PortalId,
    v: &Value,
) -> ApiResult<Vec<PropertyPart>> {
    let mut out = Vec::new();
    for (name, list, path) in by_type(v, "properties")? {
        let ty = fixture_type(state, portal, name, &path).await?;
        let auth = acting(state, portal, "properties-v3", "create", ty.clone())?;
        refuse_read_only(auth.op, &ty).map_err(|e| at(&path, e))?;
        // The definitions so far, the fixture's own included, so a name given twice is
        // refused like a name the portal has.
        let mut known = properties::custom(&auth).await?;
        let groups = properties::group_names(&auth).await?;
        let mut defs = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let path = format!("{path}[{i}]");
            let input: PropertyCreate = parse(item, &path)?;
            let def = properties::prepare(&ty, &input, &known, &groups, auth.now())
                .map_err(|e| at(&path, e))?;
            known.push(def.clone());
            defs.push(def);
        }
        out.push(PropertyPart { path, auth, defs });
    }
    Ok(out)
}

fn plan_owners(v: &Value) -> ApiResult<Vec<OwnerPart>> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut emails = HashSet::new();
    let mut refs = HashSet::new();
    for (i, item) in array(v, "owners")?.iter().enumerate() {
        let path = format!("owners[{i}]");
        let mut body = object(item, &path)?.clone();
        // `ref` is the fixture's, not HubSpot's: the rest is a user create body.
        let reference = match body.remove("ref") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            Some(_) => {
                return Err(invalid(
                    &format!("{path}.ref"),
                    "expected a non-empty string",
                ))
            }
        };
        let input: UserProvisionRequest = parse(&Value::Object(body), &path)?;
        let (change, raw) = directory::user_create(&input).map_err(|e| at(&path, e))?;
        if let UserChange::Create { email, .. } = &change {
            if !emails.insert(email.clone()) {
                return Err(invalid(
                    &path,
                    format!("the owner {email} is already in this fixture"),
                ));
            }
        }
        let reference = reference.unwrap_or_else(|| raw.clone());
        if !refs.insert(reference.clone()) {
            return Err(invalid(
                &path,
                format!("the ref {reference:?} is already in this fixture"),
            ));
        }
        out.push(OwnerPart {
            path,
            reference,
            change,
            raw,
        });
    }
    Ok(out)
}

async fn plan_pipelines(
    state: &AppState,
    portal: PortalId,
    v: &Value,
) -> ApiResult<Vec<PipelinePart>> {
    let mut out = Vec::new();
    for (name, list, path) in by_type(v, "pipelines")? {
        let ty = fixture_type(state, portal, name, &path).await?;
        // In the order the API checks a pipeline create: a type HubSpot writes, then one
        // without pipelines.
        let op = acting(state, portal, "pipelines-v3", "create", ())?.op;
        refuse_read_only(op, &ty).map_err(|e| at(&path, e))?;
        let subject = PipelinedType::of(ty).map_err(|e| at(&path, e))?;
        for (i, item) in list.iter().enumerate() {
            let path = format!("{path}[{i}]");
            let input: PipelineInput = parse(item, &path)?;
            let input = pipeline_handlers::pipeline_input(&input).map_err(|e| at(&path, e))?;
            let auth = acting(
                state,
                portal,
                "pipelines-v3",
                "create",
                PipelinedType {
                    ty: subject.ty.clone(),
                    rules: subject.rules,
                },
            )?;
            out.push(PipelinePart { path, auth, input });
        }
    }
    Ok(out)
}

/// The owner ref a record value names (`{"ownerRef": "olivia"}`): an owner's id is made
/// by the seed, so the fixture cannot write it.
fn owner_ref(v: &Value) -> Option<&Value> {
    v.as_object().and_then(|o| o.get("ownerRef"))
}

async fn plan_records(
    state: &AppState,
    portal: PortalId,
    v: &Value,
    owners: &HashSet<&str>,
) -> ApiResult<Vec<RecordPart>> {
    let mut out = Vec::new();
    // Refs are unique per type, however the fixture spells the type.
    let mut refs: HashSet<(String, String)> = HashSet::new();
    for (name, list, path) in by_type(v, "records")? {
        let ty = fixture_type(state, portal, name, &path).await?;
        require_public_create(&ty, "create").map_err(|e| at(&path, e))?;
        let mut items = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let path = format!("{path}[{i}]");
            let fields = object(item, &path)?;
            if let Some(k) = fields.keys().find(|k| *k != "ref" && *k != "properties") {
                return Err(invalid(
                    &format!("{path}.{k}"),
                    "unknown field; a record has ref and properties",
                ));
            }
            let reference = match fields.get("ref") {
                None => None,
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(_) => {
                    return Err(invalid(
                        &format!("{path}.ref"),
                        "expected a non-empty string",
                    ))
                }
            };
            if let Some(r) = &reference {
                if !refs.insert((ty.id.as_str().to_owned(), r.clone())) {
                    return Err(invalid(
                        &format!("{path}.ref"),
                        format!(
                            "the ref {r:?} is already given to a {} in this fixture",
                            ty.singular
                        ),
                    ));
                }
            }
            let properties: BTreeMap<String, Value> = match fields.get("properties") {
                None => BTreeMap::new(),
                Some(p) => object(p, &format!("{path}.properties"))?
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            };
            for (k, v) in &properties {
                let Some(named) = owner_ref(v) else { continue };
                let known = named.as_str().is_some_and(|r| owners.contains(r));
                if !known || v.as_object().is_some_and(|o| o.len() != 1) {
                    return Err(invalid(
                        &format!("{path}.properties.{k}"),
                        format!("{{\"ownerRef\": …}} names an owner of this fixture by its ref (or email); {named} is none"),
                    ));
                }
            }
            items.push(RecordItem {
                path,
                reference,
                properties,
            });
        }
        out.push(RecordPart {
            key: name.clone(),
            ty,
            items,
        });
    }
    Ok(out)
}

/// One end of an association: `{"type", "ref"}` naming a record of the fixture.
async fn plan_end(
    state: &AppState,
    portal: PortalId,
    v: Option<&Value>,
    path: &str,
    records: &[RecordPart],
) -> ApiResult<(Type, String)> {
    let end = object(v.unwrap_or(&Value::Null), path)?;
    let text = |k: &str| match end.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(invalid(
            &format!("{path}.{k}"),
            "expected a non-empty string",
        )),
    };
    let (name, reference) = (text("type")?, text("ref")?);
    let ty = fixture_type(state, portal, &name, &format!("{path}.type")).await?;
    let known = records
        .iter()
        .filter(|p| p.ty.id == ty.id)
        .flat_map(|p| &p.items)
        .any(|i| i.reference.as_deref() == Some(reference.as_str()));
    if !known {
        return Err(invalid(
            &format!("{path}.ref"),
            format!(
                "no {} in this fixture's records has the ref {reference:?}",
                ty.singular
            ),
        ));
    }
    Ok((ty, reference))
}

async fn plan_associations(
    state: &AppState,
    portal: PortalId,
    v: &Value,
    records: &[RecordPart],
) -> ApiResult<Vec<AssociationPart>> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut definitions: HashMap<(String, String), Definitions> = HashMap::new();
    for (i, item) in array(v, "associations")?.iter().enumerate() {
        let path = format!("associations[{i}]");
        let fields = object(item, &path)?;
        if let Some(k) = fields
            .keys()
            .find(|k| !["from", "to", "types"].contains(&k.as_str()))
        {
            return Err(invalid(
                &format!("{path}.{k}"),
                "unknown field; an association has from, to and types",
            ));
        }
        let from = plan_end(
            state,
            portal,
            fields.get("from"),
            &format!("{path}.from"),
            records,
        )
        .await?;
        let to = plan_end(
            state,
            portal,
            fields.get("to"),
            &format!("{path}.to"),
            records,
        )
        .await?;
        let key = (from.0.id.as_str().to_owned(), to.0.id.as_str().to_owned());
        if !definitions.contains_key(&key) {
            let defs = Definitions::load(state, portal, &from.0, &to.0).await?;
            definitions.insert(key.clone(), defs);
        }
        let defs = definitions
            .get(&key)
            .ok_or_else(|| ApiError::internal("association definitions just loaded"))?;
        let types = match fields.get("types") {
            None | Some(Value::Null) => {
                let pair = (from.0.clone(), to.0.clone());
                vec![default_link(&pair, defs).map_err(|e| at(&path, e))?]
            }
            Some(list) => {
                let specs: Vec<AssociationSpec> = parse(list, &format!("{path}.types"))?;
                if specs.is_empty() {
                    return Err(invalid(
                        &format!("{path}.types"),
                        "expected at least one type",
                    ));
                }
                let mut types = Vec::new();
                for (j, spec) in specs.iter().enumerate() {
                    let links = defs
                        .link(spec)
                        .map_err(|e| at(&format!("{path}.types[{j}]"), e))?;
                    types.extend(links);
                }
                types
            }
        };
        out.push(AssociationPart {
            path,
            from,
            to,
            types,
        });
    }
    Ok(out)
}

/// Seeds `portal` from `fixture`, all or nothing (the module's doc says how), and keeps the
/// result as the portal's seed. A portal that does not exist is `None`.
pub async fn seed(
    state: &AppState,
    portal: PortalId,
    fixture: &Value,
    mode: Mode,
) -> ApiResult<Option<Seeded>> {
    // One seed at a time per process: each replaces the seed snapshot.
    let _one = state.seeding.lock().await;
    if state.store.list_snapshots(portal).await?.is_none() {
        return Ok(None);
    }
    // A fixture is checked against the portal it is added to; one that replaces the
    // portal's data is checked against the emptied portal, so after the reset.
    let planned = match mode {
        Mode::Replace => None,
        Mode::Add | Mode::Fresh => Some(plan(state, portal, fixture).await?),
    };
    let undo_name = format!("spoke/undo/{}", uuid::Uuid::new_v4().simple());
    if mode != Mode::Fresh {
        match state
            .store
            .create_snapshot(portal, &undo_name, now_millis())
            .await?
        {
            Ok(_) => {}
            Err(SnapshotRefusal::NoSuchPortal) => return Ok(None),
            Err(SnapshotRefusal::Exists) => {
                return Err(ApiError::internal("a fresh undo snapshot name was taken"))
            }
        }
    }
    let outcome = async {
        let planned = match planned {
            Some(p) => p,
            None => {
                state.store.reset_portal(portal, now_millis()).await?;
                super::forget_portal(state, portal).await;
                plan(state, portal, fixture).await?
            }
        };
        let seeded = write(state, portal, planned).await?;
        keep_seed(state, portal).await?;
        Ok::<_, ApiError>(seeded)
    }
    .await;
    let cleanup = match (&outcome, mode) {
        (Ok(_), Mode::Fresh) => Ok(()),
        (Ok(_), _) => state
            .store
            .delete_snapshot(portal, &undo_name)
            .await
            .map(drop),
        (Err(_), Mode::Fresh) => state.store.delete_portal(portal).await.map(drop),
        (Err(_), _) => {
            let restored = state.store.restore_snapshot(portal, &undo_name).await;
            let dropped = state.store.delete_snapshot(portal, &undo_name).await;
            restored.and(dropped).map(drop)
        }
    };
    super::forget_portal(state, portal).await;
    let seeded = outcome?;
    cleanup?;
    Ok(Some(seeded))
}

/// Checks a fixture as far as it can be without writing: every part, then the
/// associations between its records.
async fn plan(state: &AppState, portal: PortalId, fixture: &Value) -> ApiResult<Plan> {
    let mut plan = plan_parts(state, portal, fixture).await?;
    let associations = fixture
        .as_object()
        .and_then(|o| o.get("associations"))
        .unwrap_or(&Value::Null);
    plan.associations = plan_associations(state, portal, associations, &plan.records).await?;
    Ok(plan)
}

/// The portal as it is now becomes its seed.
async fn keep_seed(state: &AppState, portal: PortalId) -> ApiResult<()> {
    state.store.delete_snapshot(portal, SEED_SNAPSHOT).await?;
    match state
        .store
        .create_snapshot(portal, SEED_SNAPSHOT, now_millis())
        .await?
    {
        Ok(_) => Ok(()),
        Err(SnapshotRefusal::NoSuchPortal) => {
            Err(ApiError::internal("the portal vanished while seeding"))
        }
        Err(SnapshotRefusal::Exists) => Err(ApiError::internal(
            "the seed snapshot was taken concurrently",
        )),
    }
}

fn seed_source() -> WriteSource {
    WriteSource {
        source_id: Some("spoke-seed".into()),
        ..api_source()
    }
}

async fn write(state: &AppState, portal: PortalId, mut plan: Plan) -> ApiResult<Seeded> {
    let mut counts = Counts::default();
    let mut refs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();

    for part in plan.properties {
        let n = part.defs.len();
        if !properties::insert(&part.auth, part.defs)
            .await
            .map_err(|e| at(&part.path, e))?
        {
            return Err(invalid(
                &part.path,
                "a property of this name was created meanwhile",
            ));
        }
        counts.properties += n;
    }

    let mut owner_refs = BTreeMap::new();
    if !plan.owners.is_empty() {
        let auth = acting(state, portal, "users-v3", "create", ())?;
        for owner in plan.owners {
            let user = directory::write(&auth, owner.change, &owner.raw)
                .await
                .map_err(|e| at(&owner.path, e))?;
            owner_refs.insert(owner.reference, user.owner_id.to_string());
            counts.owners += 1;
        }
        refs.insert("owners".into(), owner_refs.clone());
    }
    // Owner refs in record values become the ids just made (planned: each names one).
    for item in plan.records.iter_mut().flat_map(|p| p.items.iter_mut()) {
        for v in item.properties.values_mut() {
            if let Some(id) = owner_ref(v)
                .and_then(Value::as_str)
                .and_then(|r| owner_refs.get(r))
            {
                *v = Value::String(id.clone());
            }
        }
    }

    for part in plan.pipelines {
        pipeline_handlers::write(&part.auth, Change::Create(part.input), false)
            .await
            .map_err(|e| at(&part.path, e))?;
        counts.pipelines += 1;
    }

    // Each record's id by (type id, ref), for the associations.
    let mut ids: HashMap<(String, String), ObjectId> = HashMap::new();
    for part in plan.records {
        let created = write_records(state, portal, &part).await?;
        counts.records += created.len();
        let entry = refs.entry(part.key.clone()).or_default();
        for (item, id) in part.items.iter().zip(created) {
            if let Some(r) = &item.reference {
                entry.insert(r.clone(), id.to_string());
                ids.insert((part.ty.id.as_str().to_owned(), r.clone()), id);
            }
        }
    }

    let mut writes = Vec::new();
    let mut paths = Vec::new();
    for a in plan.associations {
        let id = |(ty, r): &(Type, String)| {
            ids.get(&(ty.id.as_str().to_owned(), r.clone()))
                .copied()
                .ok_or_else(|| ApiError::internal("a planned ref has no record"))
        };
        writes.push(AssociationWrite {
            from_type: a.from.0.id.as_str().to_owned(),
            from_id: id(&a.from)?,
            to_type: a.to.0.id.as_str().to_owned(),
            to_id: id(&a.to)?,
            types: a.types,
        });
        paths.push(a.path);
    }
    if !writes.is_empty() {
        let n = writes.len();
        let outcomes = state.store.put_associations(portal, writes).await?;
        for (outcome, path) in outcomes.iter().zip(&paths) {
            if let Err(f) = outcome {
                return Err(at(path, failure_error(f)));
            }
        }
        counts.associations += n;
    }

    Ok(Seeded {
        portal_id: portal.0,
        refs,
        counts,
    })
}

/// Validates one type's records against its schema as it stands now (the fixture's
/// properties, owners and pipelines written), as a create request is validated, then
/// writes them.
async fn write_records(
    state: &AppState,
    portal: PortalId,
    part: &RecordPart,
) -> ApiResult<Vec<ObjectId>> {
    let store = state.store.as_ref();
    let mut schema = TypeSchema::load(store, portal, part.ty.clone()).await?;
    schema
        .hold_owners(store, part.items.iter().map(|i| &i.properties))
        .await?;
    let auth = acting(state, portal, "objects-v3", "batch-create", ())?;
    let check = PipelineCheck::load(
        &auth,
        &schema,
        part.items.iter().map(|i| &i.properties),
        None,
    )
    .await?;
    let mut valid = Vec::with_capacity(part.items.len());
    for (i, item) in part.items.iter().enumerate() {
        let mut properties = schema
            .validate(&item.properties)
            .and_then(|mut v| check.check(i, &mut v).map(|()| v))
            .map_err(|e| at(&item.path, ApiError::property_values(&e)))?;
        require_properties(&schema, &properties).map_err(|e| at(&item.path, e))?;
        properties.retain(|_, v| !v.is_empty());
        valid.push(properties);
    }
    let mut ids = Vec::with_capacity(valid.len());
    let mut offset = 0;
    for chunk in valid.chunks(RECORD_CHUNK) {
        let ctx = objects::write_context_at(state.now(portal), &schema, seed_source(), true);
        let items = chunk
            .iter()
            .map(|p| NewObject {
                properties: p.clone(),
                associations: Vec::new(),
            })
            .collect();
        let outcomes = store.create_objects(&ctx, items).await?;
        for (k, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Ok(record) => ids.push(record.id),
                Err(f) => {
                    let path = part
                        .items
                        .get(offset + k)
                        .map_or(part.key.as_str(), |i| i.path.as_str());
                    return Err(at(path, conflict_error(&part.ty, f)));
                }
            }
        }
        offset += chunk.len();
    }
    Ok(ids)
}
