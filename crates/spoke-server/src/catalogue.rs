//! The operation catalogue: every HubSpot operation spoke knows, one row each, with its
//! method, HubSpot's path template, the spec file it comes from, the scopes it needs, its
//! rate-limit class and its handler. The router, the scope check ([`Authorized`]) and the
//! rate limiter all read this table, so an operation is described once.
//!
//! Operations HubSpot has under the APIs spoke serves, and their neighbours (owners,
//! pipelines, schemas, associations v3), are rows too, without a handler: they authorize
//! like any other operation and then answer [`ApiError::not_implemented`].
//! `tests/http/catalogue.rs` holds every row to HubSpot's OpenAPI specs.
//!
//! The rest of HubSpot's public API (lists, forms, email, workflows, CMS, files,
//! conversations, legacy v1/v2 writes…) is a generated table, [`elsewhere`], derived from
//! HubSpot's spec collection and legacy documentation by `scripts/catalogue-elsewhere`: rows
//! without a handler too, so every operation HubSpot has answers its 403 instead of a 404.

mod elsewhere;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::LazyLock;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use spoke_core::time::Millis;
use spoke_core::{scope, ObjectType, TypeRef};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::handlers::{
    associations as assoc, directory as dir, legacy, objects, pipelines as pipes,
    properties as props, schemas, search,
};
use crate::schema::resolve_type;
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }

    /// The verb a request's method is routed as (axum answers HEAD with the GET route).
    fn of(method: &Method) -> Option<Self> {
        Some(match *method {
            Method::GET | Method::HEAD => Self::Get,
            Method::POST => Self::Post,
            Method::PUT => Self::Put,
            Method::PATCH => Self::Patch,
            Method::DELETE => Self::Delete,
            _ => return None,
        })
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Which scopes an operation needs. The object types come from the path: its first
/// `{objectType}`/`{fromObjectType}` parameter, and for pairs its `{toObjectType}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRule {
    /// The path type's object read or write scopes (hubspot-behavior.md §4.2).
    Object(Access),
    /// The object scopes of both types of the path (associations: §4.2).
    Pair(Access),
    /// The path type's schema scopes (properties, pipelines).
    Schema(Access),
    /// A fixed list of alternatives.
    Fixed(&'static [&'static str]),
    /// The object scopes of a type the path names literally (`/companies/v2/...`).
    ObjectOf(&'static str, Access),
    /// The schema scopes of a type the path names literally (`/companies/v2/properties`).
    SchemaOf(&'static str, Access),
    /// Fixed requirements, checked in order, each a list of alternatives; none at all for
    /// operations HubSpot authorizes by developer key or app rather than by scope.
    AllOf(&'static [&'static [&'static str]]),
    /// Any valid token (the spec's `oauth`, which every token has: account info).
    Token,
}

impl ScopeRule {
    /// Whether the operation only reads: it needs a read scope of objects or schemas. A
    /// fixed list of scopes says nothing either way.
    pub fn reads(self) -> bool {
        matches!(
            self,
            Self::Object(Access::Read)
                | Self::Pair(Access::Read)
                | Self::Schema(Access::Read)
                | Self::ObjectOf(_, Access::Read)
                | Self::SchemaOf(_, Access::Read)
        )
    }

    /// How many object types of the path this rule resolves.
    pub fn types_needed(self) -> usize {
        match self {
            Self::Object(_) | Self::Schema(_) => 1,
            Self::Pair(_) => 2,
            Self::Fixed(_)
            | Self::ObjectOf(..)
            | Self::SchemaOf(..)
            | Self::AllOf(_)
            | Self::Token => 0,
        }
    }

    /// The standard type a rule names literally (`/companies/v2/...`): the request's
    /// subject type, after the path's.
    pub fn named_type(self) -> Option<&'static str> {
        match self {
            Self::ObjectOf(name, _) | Self::SchemaOf(name, _) => Some(name),
            _ => None,
        }
    }

    /// The requirements for the path's resolved `types` (as many as [`Self::types_needed`]),
    /// checked in order; each is a list of alternatives, any one of which satisfies it.
    pub fn required<T: Borrow<ObjectType>>(self, types: &[T]) -> Vec<Vec<String>> {
        let object = |ty: &ObjectType, access| match access {
            Access::Read => scope::object_read(ty),
            Access::Write => scope::object_write(ty),
        };
        match self {
            Self::Object(a) => types
                .iter()
                .take(1)
                .map(|t| object(t.borrow(), a))
                .collect(),
            Self::Pair(a) => types
                .iter()
                .take(2)
                .map(|t| object(t.borrow(), a))
                .collect(),
            Self::Schema(a) => types
                .iter()
                .take(1)
                .map(Borrow::borrow)
                .map(|t| match a {
                    Access::Read => scope::schema_read(t),
                    Access::Write => scope::schema_write(t),
                })
                .collect(),
            Self::Fixed(list) => vec![list.iter().map(|s| (*s).to_owned()).collect()],
            // The name is the catalogue's own; the catalogue's tests resolve every one.
            Self::ObjectOf(name, a) => ObjectType::standard(name)
                .map(|t| object(&t, a))
                .into_iter()
                .collect(),
            Self::SchemaOf(name, a) => ObjectType::standard(name)
                .map(|t| match a {
                    Access::Read => scope::schema_read(&t),
                    Access::Write => scope::schema_write(&t),
                })
                .into_iter()
                .collect(),
            Self::AllOf(lists) => lists
                .iter()
                .map(|list| list.iter().map(|s| (*s).to_owned()).collect())
                .collect(),
            Self::Token => Vec::new(),
        }
    }
}

/// The alternatives HubSpot lists for the association operations that name no object type
/// (associations-v4.json's usage report, associations-schema-v4.json's configurations): every
/// object scope it has, in the specs' order, whether or not spoke serves that type.
const EVERY_OBJECT_SCOPE: &[&str] = &[
    "crm.objects.deals.read",
    "crm.objects.subscriptions.read",
    "crm.objects.services.read",
    "crm.objects.tickets.sensitive.read",
    "crm.objects.orders.read",
    "crm.objects.listings.write",
    "crm.objects.custom.read",
    "crm.objects.companies.write",
    "crm.objects.tasks.read",
    "crm.objects.custom.sensitive.write.v2",
    "crm.objects.custom.highly_sensitive.write.v2",
    "crm.objects.companies.read",
    "crm.objects.contacts.highly_sensitive.read.v2",
    "crm.objects.appointments.sensitive.read.v2",
    "crm.objects.tickets.highly_sensitive.read",
    "crm.objects.companies.sensitive.read.v2",
    "crm.objects.tickets.sensitive.write",
    "media_bridge.read",
    "crm.objects.deals.highly_sensitive.read.v2",
    "crm.objects.contacts.highly_sensitive.write.v2",
    "crm.objects.companies.highly_sensitive.read.v2",
    "crm.objects.commercepayments.write",
    "crm.objects.invoices.write",
    "crm.objects.contacts.sensitive.write.v2",
    "crm.objects.users.write",
    "crm.objects.calls.read",
    "crm.objects.meetings.read",
    "crm.objects.custom.sensitive.read.v2",
    "crm.objects.users.read",
    "crm.objects.partner-services.read",
    "crm.objects.orders.write",
    "crm.objects.partner-services.write",
    "crm.objects.appointments.write",
    "crm.objects.projects.highly_sensitive.write",
    "crm.objects.carts.write",
    "crm.objects.tickets.highly_sensitive.write",
    "tickets",
    "crm.objects.commercepayments.read",
    "crm.objects.products.write",
    "crm.objects.services.write",
    "crm.objects.subscriptions.write",
    "crm.objects.deals.sensitive.write.v2",
    "crm.objects.contacts.read",
    "crm.objects.appointments.sensitive.write.v2",
    "crm.objects.invoices.read",
    "crm.objects.projects.highly_sensitive.read",
    "tickets.sensitive.v2",
    "crm.objects.custom.write",
    "crm.objects.deals.write",
    "e-commerce",
    "crm.objects.appointments.read",
    "crm.objects.companies.sensitive.write.v2",
    "crm.objects.projects.read",
    "crm.objects.deals.highly_sensitive.write.v2",
    "crm.objects.custom.highly_sensitive.read.v2",
    "crm.objects.companies.highly_sensitive.write.v2",
    "crm.objects.goals.write",
    "crm.objects.line_items.write",
    "crm.objects.projects.sensitive.read",
    "crm.objects.contacts.write",
    "crm.objects.goals.read",
    "crm.objects.line_items.read",
    "crm.objects.partner-clients.write",
    "crm.objects.projects.write",
    "crm.objects.deals.sensitive.read.v2",
    "crm.objects.projects.sensitive.write",
    "crm.objects.quotes.write",
    "tickets.highly_sensitive.v2",
    "crm.objects.leads.read",
    "crm.objects.leads.write",
    "crm.objects.carts.read",
    "crm.objects.emails.read",
    "crm.objects.quotes.read",
    "crm.objects.courses.write",
    "crm.objects.partner-clients.read",
    "crm.objects.notes.read",
    "crm.objects.courses.read",
    "crm.objects.listings.read",
    "crm.objects.contacts.sensitive.read.v2",
    "crm.objects.products.read",
];

/// HubSpot's rate-limit policies (hubspot-behavior.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    /// The rolling 10-second window, with `X-HubSpot-RateLimit-*` headers.
    Standard,
    /// Search's own per-second limit, without headers.
    Search,
}

/// Where an operation is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// HubSpot's spec files (in the project's `hubspot-openapi` reference) that hold it,
    /// with this method and a path this template matches.
    Spec(&'static [&'static str]),
    /// A path HubSpot routes (or spoke serves) for the operation with this id, under
    /// another prefix that no spec file lists.
    Alias(&'static str),
    /// A legacy (v1/v2) or documented-only path no spec file holds, with where its
    /// behavior is described (a section of the project's reference).
    Legacy(&'static str),
    /// A row of the generated table ([`elsewhere`]): the file of HubSpot's public spec
    /// collection (`CRM/Lists/Rollouts/144891/v3/lists.json`) or the legacy documentation
    /// page it was derived from.
    Elsewhere(&'static str),
}

/// Builds the route of an implemented operation for its method.
pub type Route = fn(MethodFilter) -> MethodRouter<AppState>;

pub struct Operation {
    /// The API (`objects-v3`, `associations-schema-v4`…), named after its spec file.
    pub api: &'static str,
    /// The operation within the API (`batch-read`, `labels-create`…).
    pub name: &'static str,
    pub verb: Verb,
    /// HubSpot's path template; also the axum route.
    pub path: String,
    pub source: Source,
    pub scope: ScopeRule,
    pub rate: RateClass,
    /// `None`: known but not implemented.
    pub handler: Option<Route>,
}

impl Operation {
    /// `api.name`, unique in the catalogue.
    pub fn id(&self) -> String {
        format!("{}.{}", self.api, self.name)
    }

    pub fn implemented(&self) -> bool {
        self.handler.is_some()
    }

    /// The path's parameters that name object types, in order.
    pub fn type_params(&self) -> Vec<&str> {
        params(&self.path)
            .filter(|p| matches!(*p, "objectType" | "fromObjectType" | "toObjectType"))
            .collect()
    }
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} {})", self.id(), self.verb, self.path)
    }
}

/// The `{name}` parameters of a path template, in order.
pub fn params(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// Every operation spoke knows.
pub fn operations() -> &'static [Operation] {
    &OPERATIONS
}

static OPERATIONS: LazyLock<Vec<Operation>> = LazyLock::new(build);

static BY_ROUTE: LazyLock<HashMap<(Verb, &'static str), &'static Operation>> =
    LazyLock::new(|| {
        operations()
            .iter()
            .map(|op| ((op.verb, op.path.as_str()), op))
            .collect()
    });

/// The operation a request was routed to (from axum's matched route), if any.
pub fn matched(method: &Method, route: Option<&MatchedPath>) -> Option<&'static Operation> {
    let verb = Verb::of(method)?;
    BY_ROUTE.get(&(verb, route?.as_str())).copied()
}

/// The catalogue's routes: one per operation, HubSpot's path as the axum route.
pub fn router() -> Router<AppState> {
    operations().iter().fold(Router::new(), |router, op| {
        let route = match op.handler {
            Some(route) => route(op.verb.filter()),
            None => on(op.verb.filter(), not_implemented),
        };
        router.route(&op.path, route)
    })
}

async fn not_implemented(auth: Authorized<Vec<Type>>) -> ApiError {
    let required = auth.op.scope.required(&auth.subject);
    ApiError::not_implemented(auth.op.verb.as_str(), &auth.op.path, &required)
}

/// The path's object type, resolved (for the rows that name one literally, that type).
pub type Type = TypeRef;
/// The path's two object types (from, to), resolved.
pub type Pair = (Type, Type);

/// What a handler learns from the path once [`Authorized`] has checked its scopes: the
/// path's object type (`Type`), its pair of types (`Pair`), nothing (`()`), or what a
/// handler module derives from them (the type's live schema, for objects).
pub trait Subject: Sized {
    /// Resolves the subject of a request authorized so far (`auth`) from the path's
    /// `types` (as many as its scope rule resolves). It may read the store, and refuse the
    /// request, before its body is read.
    fn resolve(
        auth: &Authorized<()>,
        types: &[Type],
    ) -> impl Future<Output = ApiResult<Self>> + Send;
}

/// A subject its operation's scope rule does not resolve: a catalogue row and its
/// handler disagree.
fn unresolved(op: &Operation) -> ApiError {
    ApiError::internal(format!("{op:?}: its scope rule resolves no such subject"))
}

impl Subject for () {
    async fn resolve(_: &Authorized<()>, _: &[Type]) -> ApiResult<Self> {
        Ok(())
    }
}

impl Subject for Type {
    async fn resolve(auth: &Authorized<()>, types: &[Type]) -> ApiResult<Self> {
        let ty = types.first().cloned().ok_or_else(|| unresolved(auth.op))?;
        refuse_read_only(auth.op, &ty)?;
        Ok(ty)
    }
}

/// Every type the path's scope rule resolved, however many.
impl Subject for Vec<Type> {
    async fn resolve(_: &Authorized<()>, types: &[Type]) -> ApiResult<Self> {
        Ok(types.to_vec())
    }
}

/// A read-only type (feedback submissions, deal splits) refuses every write of its records
/// and of its property definitions: HubSpot's specs for it have no such operation. Refused
/// before the body is read, as a missing operation would be.
pub(crate) fn refuse_read_only(op: &Operation, ty: &ObjectType) -> ApiResult<()> {
    let writes = matches!(
        op.scope,
        ScopeRule::Object(Access::Write) | ScopeRule::Schema(Access::Write)
    );
    if !ty.read_only || !writes {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "The {} operation is not supported for {}: HubSpot writes them and its API only reads them. Use `spoke import` to load them.",
        op.name.trim_start_matches("batch-"),
        ty.name
    )))
}

impl Subject for Pair {
    async fn resolve(auth: &Authorized<()>, types: &[Type]) -> ApiResult<Self> {
        match types {
            [a, b, ..] => Ok((a.clone(), b.clone())),
            _ => Err(unresolved(auth.op)),
        }
    }
}

/// A request authorized by its operation's catalogue row, in invariant 4's order: the
/// token (401), then the path's object types (400 for an unknown one), then the scopes
/// (403), then whatever its [`Subject`] checks; a handler's body extractor
/// ([`wire::Body`](crate::wire::Body)) comes last and parses only after all of them.
pub struct Authorized<S> {
    pub state: AppState,
    pub principal: Principal,
    pub op: &'static Operation,
    /// When the request was authorized: a batch answer's `startedAt`.
    pub started: crate::wire::Started,
    pub subject: S,
}

impl<S: Subject> FromRequestParts<AppState> for Authorized<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let principal = Principal::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let op = matched(&parts.method, parts.extensions.get::<MatchedPath>())
            .ok_or_else(|| ApiError::internal("a route without a catalogue row").into_response())?;
        // axum's own rejection (a parameter that is not UTF-8 once decoded), so the answer
        // is the one the path extractors gave before.
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let types = authorize(state, op, &principal, &params)
            .await
            .map_err(IntoResponse::into_response)?;
        let started = crate::wire::Started::new(state.now(principal.portal));
        let auth = Authorized {
            state: state.clone(),
            principal,
            op,
            started,
            subject: (),
        };
        let subject = S::resolve(&auth, &types)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(auth.with(subject))
    }
}

impl<S> Authorized<S> {
    /// Now on the request's portal's clock (`crate::clock`).
    pub fn now(&self) -> Millis {
        self.state.now(self.principal.portal)
    }
}

impl Authorized<()> {
    /// This request, with its subject resolved.
    fn with<S>(self, subject: S) -> Authorized<S> {
        let Self {
            state,
            principal,
            op,
            started,
            subject: (),
        } = self;
        Authorized {
            state,
            principal,
            op,
            started,
            subject,
        }
    }
}

/// Resolves the path's object types the rule needs (for the token's portal), then checks
/// its scopes.
async fn authorize(
    state: &AppState,
    op: &Operation,
    principal: &Principal,
    params: &RawPathParams,
) -> ApiResult<Vec<Type>> {
    let wanted = op.type_params();
    let mut types = Vec::with_capacity(2);
    for name in wanted.iter().take(op.scope.types_needed()) {
        let segment = params
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v);
        types.push(resolve_type(state, principal.portal, segment).await?);
    }
    if let Some(name) = op.scope.named_type() {
        // The catalogue's own name; its tests resolve every one.
        let ty = ObjectType::standard(name)
            .ok_or_else(|| ApiError::internal(format!("{op:?} names no standard type")))?;
        types.push(ty);
    }
    for required in op.scope.required(&types) {
        principal.require(&required)?;
    }
    Ok(types)
}

#[rustfmt::skip]
fn build() -> Vec<Operation> {
    use Access::{Read, Write};
    use ScopeRule::{Fixed, Object, ObjectOf, Pair, Schema, SchemaOf};
    use Verb::{Delete, Get, Patch, Post, Put};

    let mut ops = Vec::new();
    let mut add = |api, name, verb, path: String, source, scope, handler: Option<Route>| {
        ops.push(Operation {
            api,
            name,
            verb,
            path,
            source,
            scope,
            // Search is the one operation with a limit of its own (§6).
            rate: if name == "search" {
                RateClass::Search
            } else {
                RateClass::Standard
            },
            handler,
        });
    };
    macro_rules! serve {
        ($handler:path) => {
            Some(|m| on(m, $handler))
        };
    }

    // Objects v3 and its date-versioned twin (hubspot-behavior.md §1, §7).
    for (api, prefix) in [
        ("objects-v3", "/crm/v3/objects"),
        ("objects-2026-03", "/crm/objects/2026-03"),
    ] {
        let spec = match api {
            "objects-v3" => Source::Spec(&["objects-v3.json"]),
            _ => Source::Spec(&["objects-2026-03.json"]),
        };
        let p = |tail: &str| format!("{prefix}/{{objectType}}{tail}");
        add(api, "list", Get, p(""), spec, Object(Read), serve!(objects::list));
        add(api, "create", Post, p(""), spec, Object(Write), serve!(objects::create_one));
        add(api, "batch-archive", Post, p("/batch/archive"), spec, Object(Write), serve!(objects::batch_archive));
        add(api, "batch-create", Post, p("/batch/create"), spec, Object(Write), serve!(objects::batch_create));
        add(api, "batch-read", Post, p("/batch/read"), spec, Object(Read), serve!(objects::batch_read));
        add(api, "batch-update", Post, p("/batch/update"), spec, Object(Write), serve!(objects::batch_update));
        add(api, "batch-upsert", Post, p("/batch/upsert"), spec, Object(Write), serve!(objects::batch_upsert));
        add(api, "search", Post, p("/search"), spec, Object(Read), serve!(search::search));
        add(api, "read", Get, p("/{objectId}"), spec, Object(Read), serve!(objects::read_one));
        add(api, "archive", Delete, p("/{objectId}"), spec, Object(Write), serve!(objects::archive_one));
        add(api, "update", Patch, p("/{objectId}"), spec, Object(Write), serve!(objects::update_one));
    }
    // Operations only some object types' own specs have.
    let o = |tail: &str| format!("/crm/v3/objects/{{objectType}}{tail}");
    let merge = Source::Spec(&[
        "contacts-v3.json",
        "companies-v3.json",
        "deals-v3.json",
        "tickets-v3.json",
    ]);
    add("objects-v3", "merge", Post, o("/merge"), merge, Object(Write), None);
    add("objects-v3", "gdpr-delete", Post, o("/gdpr-delete"), Source::Spec(&["contacts-v3.json"]), Object(Write), None);
    let partner = Source::Spec(&["partner-clients-v3.json", "partner-services-v3.json"]);
    let v3 = o("/{objectId}/associations/{toObjectType}");
    add("objects-v3", "associations-list", Get, v3.clone(), partner, Object(Read), serve!(legacy::associations_v3_list));
    let v3 = format!("{v3}/{{toObjectId}}/{{associationType}}");
    add("objects-v3", "associations-create", Put, v3.clone(), partner, Object(Write), None);
    add("objects-v3", "associations-archive", Delete, v3, partner, Object(Write), None);
    let splits = Source::Spec(&["deal-splits-v3.json"]);
    let splits_scope = Fixed(&["crm.dealsplits.read_write"]);
    for name in ["read", "upsert"] {
        let path = format!("/crm/objects/v3/deals/splits/batch/{name}");
        add("deal-splits-v3", name, Post, path, splits, splits_scope, None);
    }
    // HubSpot's Python client (12.x) calls them under the objects v3 prefix.
    let alias = [("read", "deal-splits-v3.read"), ("upsert", "deal-splits-v3.upsert")];
    for (name, of) in alias {
        let path = format!("/crm/v3/objects/deals/splits/batch/{name}");
        add("deal-splits-v3-objects", name, Post, path, Source::Alias(of), splits_scope, None);
    }

    // Properties v3, and the date-versioned prefix spoke also serves (no spec lists it).
    for (api, prefix) in [
        ("properties-v3", "/crm/v3/properties"),
        ("properties-2026-03", "/crm/properties/2026-03"),
    ] {
        let p = |tail: &str| format!("{prefix}/{{objectType}}{tail}");
        let src = |name: &'static str| match api {
            "properties-v3" => Source::Spec(&["properties-v3.json"]),
            _ => Source::Alias(name),
        };
        add(api, "list", Get, p(""), src("properties-v3.list"), Schema(Read), serve!(props::list));
        add(api, "create", Post, p(""), src("properties-v3.create"), Schema(Write), serve!(props::create));
        add(api, "batch-archive", Post, p("/batch/archive"), src("properties-v3.batch-archive"), Schema(Write), serve!(props::batch_archive));
        add(api, "batch-create", Post, p("/batch/create"), src("properties-v3.batch-create"), Schema(Write), serve!(props::batch_create));
        add(api, "batch-read", Post, p("/batch/read"), src("properties-v3.batch-read"), Schema(Read), serve!(props::batch_read));
        add(api, "groups-list", Get, p("/groups"), src("properties-v3.groups-list"), Schema(Read), serve!(props::list_groups));
        add(api, "groups-create", Post, p("/groups"), src("properties-v3.groups-create"), Schema(Write), serve!(props::create_group));
        let g = "/groups/{groupName}";
        add(api, "groups-read", Get, p(g), src("properties-v3.groups-read"), Schema(Read), serve!(props::read_group));
        add(api, "groups-archive", Delete, p(g), src("properties-v3.groups-archive"), Schema(Write), serve!(props::archive_group));
        add(api, "groups-update", Patch, p(g), src("properties-v3.groups-update"), Schema(Write), serve!(props::update_group));
        let n = "/{propertyName}";
        add(api, "read", Get, p(n), src("properties-v3.read"), Schema(Read), serve!(props::read));
        add(api, "archive", Delete, p(n), src("properties-v3.archive"), Schema(Write), serve!(props::archive));
        add(api, "update", Patch, p(n), src("properties-v3.update"), Schema(Write), serve!(props::update));
    }

    // Associations v4 (§3): batch, per record, and labels (associations schema v4).
    let spec = Source::Spec(&["associations-v4.json"]);
    let b = |tail: &str| format!("/crm/v4/associations/{{fromObjectType}}/{{toObjectType}}/batch/{tail}");
    add("associations-v4", "batch-read", Post, b("read"), spec, Pair(Read), serve!(assoc::batch_read));
    add("associations-v4", "batch-create", Post, b("create"), spec, Pair(Write), serve!(assoc::batch_create));
    add("associations-v4", "batch-associate-default", Post, b("associate/default"), spec, Pair(Write), serve!(assoc::batch_default));
    add("associations-v4", "batch-archive", Post, b("archive"), spec, Pair(Write), serve!(assoc::batch_archive));
    add("associations-v4", "batch-labels-archive", Post, b("labels/archive"), spec, Pair(Write), serve!(assoc::batch_labels_archive));
    let one = "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}";
    add("associations-v4", "list", Get, one.into(), spec, Pair(Read), serve!(assoc::list_for_record));
    add("associations-v4", "create", Put, format!("{one}/{{toObjectId}}"), spec, Pair(Write), serve!(assoc::put_labelled));
    add("associations-v4", "archive", Delete, format!("{one}/{{toObjectId}}"), spec, Pair(Write), serve!(assoc::delete_pair));
    let default = "/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}";
    add("associations-v4", "create-default", Put, default.into(), spec, Pair(Write), serve!(assoc::put_default));
    let usage = "/crm/v4/associations/usage/high-usage-report/{userId}";
    add("associations-v4", "high-usage-report", Post, usage.into(), spec, Fixed(EVERY_OBJECT_SCOPE), None);
    // Labels live in the associations schema spec; spoke also serves them under
    // `/crm/v4/associations`, where HubSpot's clients used to call them.
    for (api, prefix) in [
        ("associations-schema-v4", "/crm/associations/v4"),
        ("associations-v4", "/crm/v4/associations"),
    ] {
        let l = format!("{prefix}/{{fromObjectType}}/{{toObjectType}}/labels");
        let src = |name: &'static str| match api {
            "associations-schema-v4" => Source::Spec(&["associations-schema-v4.json"]),
            _ => Source::Alias(name),
        };
        add(api, "labels-list", Get, l.clone(), src("associations-schema-v4.labels-list"), Pair(Read), serve!(assoc::list_labels));
        add(api, "labels-create", Post, l.clone(), src("associations-schema-v4.labels-create"), Pair(Write), serve!(assoc::create_label));
        add(api, "labels-update", Put, l.clone(), src("associations-schema-v4.labels-update"), Pair(Write), serve!(assoc::update_label));
        let one = format!("{l}/{{associationTypeId}}");
        add(api, "labels-archive", Delete, one, src("associations-schema-v4.labels-archive"), Pair(Write), serve!(assoc::delete_label));
    }
    let spec = Source::Spec(&["associations-schema-v4.json"]);
    let c = "/crm/associations/v4/definitions/configurations";
    add("associations-schema-v4", "configurations-all", Get, format!("{c}/all"), spec, Fixed(EVERY_OBJECT_SCOPE), None);
    let pair = format!("{c}/{{fromObjectType}}/{{toObjectType}}");
    add("associations-schema-v4", "configurations-list", Get, pair.clone(), spec, Pair(Read), None);
    for name in ["create", "purge", "update"] {
        let path = format!("{pair}/batch/{name}");
        add("associations-schema-v4", name, Post, path, spec, Pair(Write), None);
    }

    // Associations v3.
    let spec = Source::Spec(&["associations-v3.json"]);
    let v3 = |tail: &str| format!("/crm/v3/associations/{{fromObjectType}}/{{toObjectType}}/batch/{tail}");
    add("associations-v3", "batch-archive", Post, v3("archive"), spec, Pair(Write), None);
    add("associations-v3", "batch-create", Post, v3("create"), spec, Pair(Write), None);
    add("associations-v3", "batch-read", Post, v3("read"), spec, Pair(Read), serve!(legacy::associations_v3_batch_read));
    let types = "/crm/v3/associations/{fromObjectType}/{toObjectType}/types".to_owned();
    add("associations-v3", "types", Get, types, Source::Legacy("hubspot-behavior-platform.md §25.6"), Pair(Read), serve!(legacy::associations_v3_types));

    // Custom object schemas (hubspot-behavior-apps.md §40), under the spec's prefix, its
    // dated twins and the older `/crm/v3/schemas` (HubSpot's guide used it until 2024;
    // Airbyte and singer list schemas there on every run).
    let read = Fixed(&[
        "crm.schemas.custom.read",
        "crm.objects.custom.sensitive.read.v2",
        "crm.objects.custom.highly_sensitive.read.v2",
        "crm.objects.custom.read",
    ]);
    let write = Fixed(&["crm.schemas.custom.write"]);
    for (api, prefix) in [
        ("schemas-v3", "/crm-object-schemas/v3/schemas"),
        ("schemas-2025-09", "/crm-object-schemas/2025-09/schemas"),
        ("schemas-2026-03", "/crm-object-schemas/2026-03/schemas"),
        ("schemas-2026-09", "/crm-object-schemas/2026-09/schemas"),
        ("schemas-crm-v3", "/crm/v3/schemas"),
    ] {
        let src = |name: &'static str| match api {
            "schemas-v3" => Source::Spec(&["schemas-v3.json"]),
            _ => Source::Alias(name),
        };
        let s = |tail: &str| format!("{prefix}{tail}");
        add(api, "list", Get, s(""), src("schemas-v3.list"), read, serve!(schemas::list));
        add(api, "create", Post, s(""), src("schemas-v3.create"), write, serve!(schemas::create));
        add(api, "batch-read", Post, s("/batch/read"), src("schemas-v3.batch-read"), read, serve!(schemas::batch_read));
        add(api, "read", Get, s("/{objectType}"), src("schemas-v3.read"), read, serve!(schemas::read));
        add(api, "archive", Delete, s("/{objectType}"), src("schemas-v3.archive"), write, serve!(schemas::archive));
        add(api, "update", Patch, s("/{objectType}"), src("schemas-v3.update"), write, serve!(schemas::update));
        add(api, "associations-create", Post, s("/{objectType}/associations"), src("schemas-v3.associations-create"), write, serve!(schemas::create_association));
        let a = s("/{objectType}/associations/{associationIdentifier}");
        add(api, "associations-archive", Delete, a, src("schemas-v3.associations-archive"), write, serve!(schemas::delete_association));
    }
    // The hard delete before `?archived=true` (spec history, the Python SDK until 2024-10).
    let purge = Source::Legacy("hubspot-behavior-apps.md §40.1");
    add("schemas-crm-v3", "purge", Delete, "/crm/v3/schemas/{objectType}/purge".into(), purge, write, serve!(schemas::purge));
    // The limits tracking API's custom object types (§40.7), with its specs' scopes.
    let limits = Fixed(&[
        "crm.schemas.custom.read",
        "crm.objects.custom.sensitive.read.v2",
        "crm.objects.custom.highly_sensitive.read.v2",
        "crm.objects.custom.read",
        "crm.objects.custom.sensitive.write.v2",
        "crm.schemas.custom.write",
        "crm.objects.custom.highly_sensitive.write.v2",
        "crm.objects.custom.write",
    ]);
    // The limits tracking spec is not in the reference set the catalogue test reads.
    let tracking = Source::Legacy("hubspot-behavior-apps.md §40.7, limits tracking API reference");
    add("crm-limits-tracking-v3", "custom-object-types", Get, "/crm/v3/limits/custom-object-types".into(), tracking, limits, serve!(schemas::limits));
    for version in ["2025-09", "2026-03", "2026-09"] {
        let api: &'static str = match version {
            "2025-09" => "crm-limits-tracking-2025-09",
            "2026-03" => "crm-limits-tracking-2026-03",
            _ => "crm-limits-tracking-2026-09",
        };
        let path = format!("/crm/limits/{version}/custom-object-types");
        add(api, "custom-object-types", Get, path, Source::Alias("crm-limits-tracking-v3.custom-object-types"), limits, serve!(schemas::limits));
    }

    // Owners and pipelines (hubspot-behavior-platform.md).
    let spec = Source::Spec(&["owners-v3.json"]);
    let owners = Fixed(&["crm.objects.owners.read", "automation"]);
    add("owners-v3", "list", Get, "/crm/v3/owners".into(), spec, owners, serve!(dir::list_owners));
    add("owners-v3", "read", Get, "/crm/v3/owners/{ownerId}".into(), spec, owners, serve!(dir::read_owner));
    // HubSpot's clients (and singer, dlt) list owners with a trailing slash (§20.1).
    add("owners-v3", "list-slash", Get, "/crm/v3/owners/".into(), Source::Alias("owners-v3.list"), owners, serve!(dir::list_owners));
    let spec = Source::Spec(&["pipelines-v3.json"]);
    let p = |tail: &str| format!("/crm/v3/pipelines/{{objectType}}{tail}");
    let (one, stages) = ("/{pipelineId}", "/{pipelineId}/stages");
    let stage = "/{pipelineId}/stages/{stageId}";
    add("pipelines-v3", "list", Get, p(""), spec, Schema(Read), serve!(pipes::list));
    add("pipelines-v3", "create", Post, p(""), spec, Schema(Write), serve!(pipes::create));
    add("pipelines-v3", "read", Get, p(one), spec, Schema(Read), serve!(pipes::read));
    add("pipelines-v3", "replace", Put, p(one), spec, Schema(Write), serve!(pipes::replace));
    add("pipelines-v3", "archive", Delete, p(one), spec, Schema(Write), serve!(pipes::archive));
    add("pipelines-v3", "update", Patch, p(one), spec, Schema(Write), serve!(pipes::update));
    add("pipelines-v3", "audit", Get, p("/{pipelineId}/audit"), spec, Schema(Read), serve!(pipes::audit));
    add("pipelines-v3", "stages-list", Get, p(stages), spec, Schema(Read), serve!(pipes::stages_list));
    add("pipelines-v3", "stages-create", Post, p(stages), spec, Schema(Write), serve!(pipes::stages_create));
    add("pipelines-v3", "stages-read", Get, p(stage), spec, Schema(Read), serve!(pipes::stages_read));
    add("pipelines-v3", "stages-replace", Put, p(stage), spec, Schema(Write), serve!(pipes::stages_replace));
    add("pipelines-v3", "stages-archive", Delete, p(stage), spec, Schema(Write), serve!(pipes::stages_archive));
    add("pipelines-v3", "stages-update", Patch, p(stage), spec, Schema(Write), serve!(pipes::stages_update));
    add("pipelines-v3", "stages-audit", Get, p("/{pipelineId}/stages/{stageId}/audit"), spec, Schema(Read), serve!(pipes::stages_audit));
    // The legacy read shapes of the same pipelines (hubspot-behavior-platform.md §23.8,
    // §23.9): the object's read scope, which works for them in practice.
    let v1 = Source::Legacy("hubspot-behavior-platform.md §23.8, legacy CRM Pipelines v1");
    add("crm-pipelines-v1", "list", Get, "/crm-pipelines/v1/pipelines/{objectType}".into(), v1, Object(Read), serve!(pipes::v1_list));
    let deals = Source::Legacy("hubspot-behavior-platform.md §23.9, legacy Deal Pipelines v1");
    add("deal-pipelines-v1", "list", Get, "/deals/v1/pipelines".into(), deals, ObjectOf("deals", Read), serve!(pipes::deals_v1_list));
    // Legacy read shapes connectors still call (hubspot-behavior-platform.md §25), served
    // from the same data as v3.
    let v4 = "/crm/v4/objects/{objectType}".to_owned();
    add("objects-v4", "list", Get, v4, Source::Alias("objects-v3.list"), Object(Read), serve!(objects::list));
    let doc = |section: &'static str| Source::Legacy(section);
    add("properties-v2", "list", Get, "/properties/v2/{objectType}/properties".into(), doc("hubspot-behavior-platform.md §25.1"), Schema(Read), serve!(legacy::properties_v2));
    // Airbyte reads it before anything else; without it no stream is discovered.
    add("properties-v2", "form", Get, "/properties/v2/form/properties".into(), doc("hubspot-behavior-platform.md §25.1"), SchemaOf("contacts", Read), serve!(legacy::form_properties));
    add("properties-v1", "list", Get, "/properties/v1/{objectType}/properties".into(), doc("hubspot-behavior-platform.md §25.1"), Schema(Read), serve!(legacy::properties_v1));
    let named = "/properties/v1/{objectType}/properties/named/{propertyName}".to_owned();
    add("properties-v1", "read", Get, named, doc("hubspot-behavior-platform.md §25.1"), Schema(Read), serve!(legacy::property_v1));
    let companies = |access| ObjectOf("companies", access);
    add("companies-v2", "properties", Get, "/companies/v2/properties".into(), doc("hubspot-behavior-platform.md §25.1"), SchemaOf("companies", Read), serve!(legacy::companies_properties));
    add("companies-v2", "paged", Get, "/companies/v2/companies/paged".into(), doc("hubspot-behavior-platform.md §25.2"), companies(Read), serve!(legacy::companies_paged));
    add("companies-v2", "read", Get, "/companies/v2/companies/{companyId}".into(), doc("hubspot-behavior-platform.md §25.2"), companies(Read), serve!(legacy::company_read));
    add("deals-v1", "paged", Get, "/deals/v1/deal/paged".into(), doc("hubspot-behavior-platform.md §25.3"), ObjectOf("deals", Read), serve!(legacy::deals_paged));
    // Settings users v3 (§21): the spec lists the list and create under
    // `/settings/users/v3`; HubSpot's clients and docs call `/settings/v3/users/`.
    let spec = Source::Spec(&["users-v3.json"]);
    let read = Fixed(&["settings.users.read", "crm.objects.users.read"]);
    let write = Fixed(&["settings.users.write", "crm.objects.users.write"]);
    let teams = Fixed(&["settings.users.teams.read"]);
    add("users-v3", "list", Get, "/settings/users/v3".into(), spec, read, serve!(dir::list_users));
    add("users-v3", "create", Post, "/settings/users/v3".into(), spec, write, serve!(dir::create_user));
    for (suffix, path) in [("", "/settings/v3/users"), ("-slash", "/settings/v3/users/")] {
        let (list, create) = match suffix {
            "" => ("list-v3", "create-v3"),
            _ => ("list-v3-slash", "create-v3-slash"),
        };
        add("users-v3", list, Get, path.into(), Source::Alias("users-v3.list"), read, serve!(dir::list_users));
        add("users-v3", create, Post, path.into(), Source::Alias("users-v3.create"), write, serve!(dir::create_user));
    }
    add("users-v3", "teams", Get, "/settings/v3/users/teams".into(), spec, teams, serve!(dir::list_teams));
    add("users-v3", "roles", Get, "/settings/v3/users/roles".into(), spec, read, serve!(dir::list_roles));
    let one = "/settings/v3/users/{userId}";
    add("users-v3", "read", Get, one.into(), spec, read, serve!(dir::read_user));
    add("users-v3", "update", Put, one.into(), spec, write, serve!(dir::update_user));
    add("users-v3", "archive", Delete, one.into(), spec, write, serve!(dir::remove_user));

    // Account info v3 (§22): any valid token.
    let spec = Source::Spec(&["account-info-v3.json"]);
    add("account-info-v3", "details", Get, "/account-info/v3/details".into(), spec, ScopeRule::Token, serve!(dir::account_details));
    let usage = "/account-info/v3/api-usage/daily/private-apps";
    add("account-info-v3", "api-usage", Get, usage.into(), spec, ScopeRule::Token, serve!(dir::api_usage));
    // Last: generated rows yield to every hand-written row above.
    add_elsewhere(&mut ops);
    ops
}

/// Appends the generated rows ([`elsewhere`]) after the rows written by hand, which win:
/// a generated row is left out where a hand row has its method and path shape, and where
/// its path would take requests a hand row serves (a literal segment where the hand row has
/// a parameter: the router prefers the literal, and would answer the hand row's requests
/// 403 or 405). Path parameters are renamed to the name an earlier row gives the parameter
/// at the same place, as the router requires.
fn add_elsewhere(ops: &mut Vec<Operation>) {
    let mut names = ParamNames::default();
    for op in ops.iter() {
        names.canonical(&op.path);
    }
    let mut routes: std::collections::HashSet<(Verb, String)> =
        ops.iter().map(|o| (o.verb, o.path.clone())).collect();
    // Thousands of generated rows are each compared with every hand row of the same depth:
    // split the hand rows once, by segment count, or start-up spends 100 ms splitting.
    let mut hand: HashMap<usize, Vec<(Verb, Vec<&str>)>> = HashMap::new();
    for h in ops.iter() {
        let segments: Vec<&str> = h.path.split('/').collect();
        hand.entry(segments.len())
            .or_default()
            .push((h.verb, segments));
    }
    let mut added = Vec::new();
    for &(api, name, verb, path, scopes, source) in elsewhere::ROWS {
        let segments: Vec<&str> = path.split('/').collect();
        let taken = hand.get(&segments.len()).is_some_and(|rows| {
            rows.iter()
                .any(|(v, h)| shadows(&segments, h) || (*v == verb && same_shape(&segments, h)))
        });
        if taken {
            continue;
        }
        let path = names.canonical(path);
        if !routes.insert((verb, path.clone())) {
            continue;
        }
        let rate = if verb == Verb::Post && path.ends_with("/search") {
            RateClass::Search
        } else {
            RateClass::Standard
        };
        added.push(Operation {
            api,
            name,
            verb,
            path,
            source: Source::Elsewhere(source),
            scope: ScopeRule::AllOf(scopes),
            rate,
            handler: None,
        });
    }
    ops.extend(added);
}

/// The name the router knows for the parameter after each path prefix: the first row's.
#[derive(Default)]
struct ParamNames(HashMap<String, String>);

impl ParamNames {
    /// `path` with each parameter named as the first path seen with the same segments
    /// before it names its parameter there; remembers the names `path` brings.
    fn canonical(&mut self, path: &str) -> String {
        let mut out = String::new();
        for (i, segment) in path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            let name = if is_param(segment) {
                self.0
                    .entry(out.clone())
                    .or_insert_with(|| segment.to_owned())
                    .clone()
            } else {
                segment.to_owned()
            };
            out.push_str(&name);
        }
        out
    }
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// Whether some path routed to `hand` would be routed to `path` instead: at the first
/// segment where the two differ in kind, `path` has a literal and `hand` a parameter.
fn shadows(path: &[&str], hand: &[&str]) -> bool {
    if path.len() != hand.len() {
        return false;
    }
    for (x, y) in path.iter().zip(hand) {
        match (is_param(x), is_param(y)) {
            (true, true) => {}
            (false, false) if x == y => {}
            (false, false) | (true, false) => return false,
            (false, true) => return true,
        }
    }
    false
}

/// Whether two templates, as segments, route the same paths (parameters named differently).
fn same_shape(a: &[&str], b: &[&str]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (is_param(x) && is_param(y)) || x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_and_routes_are_unique_and_aliases_point_at_rows() {
        let ops = operations();
        let ids: HashSet<String> = ops.iter().map(Operation::id).collect();
        assert_eq!(ids.len(), ops.len());
        let routes: HashSet<(Verb, &str)> = ops.iter().map(|o| (o.verb, o.path.as_str())).collect();
        assert_eq!(routes.len(), ops.len());
        for op in ops {
            if let Source::Alias(of) = op.source {
                let target = ops.iter().find(|o| o.id() == of);
                assert!(
                    target.is_some_and(|t| t.verb == op.verb && t.scope == op.scope),
                    "{op:?} is an alias of {of}"
                );
            }
            assert!(op.type_params().len() >= op.scope.types_needed(), "{op:?}");
            if let ScopeRule::ObjectOf(name, _) | ScopeRule::SchemaOf(name, _) = op.scope {
                assert!(ObjectType::standard(name).is_some(), "{op:?} names {name}");
            }
        }
    }

    #[test]
    fn generated_rows_fit_beside_the_rows_written_by_hand() {
        // The router refuses (panics on) two routes it cannot tell apart.
        let _ = router();
        let (generated, hand): (Vec<&Operation>, Vec<&Operation>) = operations()
            .iter()
            .partition(|o| matches!(o.source, Source::Elsewhere(_)));
        assert!(generated.len() > 500, "{} generated rows", generated.len());
        assert!(generated.len() <= elsewhere::ROWS.len());
        for e in &generated {
            for h in &hand {
                let (ep, hp) = (segments(&e.path), segments(&h.path));
                assert!(!shadows(&ep, &hp), "{e:?} takes requests of {h:?}");
                assert!(e.verb != h.verb || !same_shape(&ep, &hp), "{e:?} is {h:?}");
            }
        }
    }

    fn segments(path: &str) -> Vec<&str> {
        path.split('/').collect()
    }

    #[test]
    fn shadowing_and_parameter_names() {
        let shadows = |a, b| shadows(&segments(a), &segments(b));
        let same_shape = |a, b| same_shape(&segments(a), &segments(b));
        assert!(shadows("/a/contacts/x", "/a/{t}/x"));
        assert!(!shadows("/a/{t}/x", "/a/contacts/x"));
        assert!(!shadows("/a/{t}/x", "/a/{u}/x"));
        assert!(!shadows("/a/b/x", "/a/c/{x}"));
        assert!(!shadows("/a/{t}", "/a/{t}/x"));
        assert!(same_shape("/a/{t}/x", "/a/{u}/x"));
        assert!(!same_shape("/a/{t}/x", "/a/b/x"));
        let mut names = ParamNames::default();
        assert_eq!(names.canonical("/a/{objectType}/x"), "/a/{objectType}/x");
        assert_eq!(
            names.canonical("/a/{type}/y/{id}"),
            "/a/{objectType}/y/{id}"
        );
        assert_eq!(names.canonical("/a/{t}/y/{key}"), "/a/{objectType}/y/{id}");
        assert_eq!(names.canonical("/b/{type}"), "/b/{type}");
        assert_eq!(names.canonical("/a/lit/{x}"), "/a/lit/{x}");
    }

    #[test]
    fn only_search_has_the_search_rate_class() {
        for op in operations() {
            let search = op.verb == Verb::Post && op.path.ends_with("/search");
            assert_eq!(op.rate == RateClass::Search, search, "{op:?}");
        }
    }
}
