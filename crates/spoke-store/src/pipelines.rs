//! Pipelines and their stages (hubspot-behavior-platform.md §23): the domain values, the
//! defaults every new portal gets, the rules of every pipeline write ([`PipelineWrite::apply`]),
//! and the narrow trait a backend implements ([`PipelineStore`]).
//!
//! A backend holds SQL only: in one transaction it reads the type's pipelines, asks
//! [`PipelineWrite::apply`] what the write makes of them, looks up the records still in the
//! stages the write removes when the caller asked it to ([`Applied::removed_stages`]), then
//! replaces the pipeline's rows and appends the audit entries. Pipelines are never deleted:
//! DELETE archives, so ids are never reused and audits keep their subject.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use spoke_core::property::PropertyOption;
use spoke_core::time::Millis;
use spoke_core::{DefaultPipeline, ObjectId, ObjectType, Pipelined, PortalId, PropertyError};

use crate::StoreResult;

/// One stage of a pipeline. Metadata values are strings, as HubSpot serves them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    pub id: String,
    pub label: String,
    pub display_order: i32,
    pub metadata: BTreeMap<String, String>,
    pub write_permissions: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
}

/// A pipeline with every stage it ever had, in storage order (archived ones included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub id: String,
    pub label: String,
    pub display_order: i32,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
    pub stages: Vec<Stage>,
}

/// HubSpot's display order: by `displayOrder`, then alphabetically by label (pipelines
/// guide), then by id so that the order is total.
fn display_key(order: i32, label: &str, id: &str) -> (i32, String, String) {
    (order, label.to_owned(), id.to_owned())
}

impl Pipeline {
    pub fn archived(&self) -> bool {
        self.archived_at.is_some()
    }

    /// The live stages in display order (what v3 serves).
    pub fn live_stages(&self) -> Vec<&Stage> {
        let mut out: Vec<&Stage> = self
            .stages
            .iter()
            .filter(|s| s.archived_at.is_none())
            .collect();
        out.sort_by_key(|s| display_key(s.display_order, &s.label, &s.id));
        out
    }

    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// A live stage.
    pub fn live_stage(&self, id: &str) -> Option<&Stage> {
        self.stage(id).filter(|s| s.archived_at.is_none())
    }
}

/// The live pipelines of a type in display order.
pub fn live(pipelines: &[Pipeline]) -> Vec<&Pipeline> {
    let mut out: Vec<&Pipeline> = pipelines.iter().filter(|p| !p.archived()).collect();
    out.sort_by_key(|p| display_key(p.display_order, &p.label, &p.id));
    out
}

/// The options of a pipelined type's pipeline and of its stage property, as every
/// property listing shows them (v3 and the legacy v1/v2 shapes): the live pipelines, and
/// their live stages, in display order.
pub fn property_options(pipelines: &[Pipeline]) -> (Vec<PropertyOption>, Vec<PropertyOption>) {
    let option = |value: &str, label: &str, order: usize| PropertyOption {
        label: label.to_owned(),
        value: value.to_owned(),
        description: None,
        display_order: order as i32,
        hidden: false,
    };
    let live = live(pipelines);
    let pipeline_options = live
        .iter()
        .enumerate()
        .map(|(i, p)| option(&p.id, &p.label, i))
        .collect();
    let stage_options = live
        .iter()
        .flat_map(|p| p.live_stages())
        .enumerate()
        .map(|(i, s)| option(&s.id, &s.label, i))
        .collect();
    (pipeline_options, stage_options)
}

/// The pipeline a record lands in when its write names none: the first live one in display
/// order (a new portal's `default` deal pipeline, `0` for tickets).
pub fn default_pipeline(pipelines: &[Pipeline]) -> Option<&Pipeline> {
    live(pipelines).into_iter().next()
}

// ---------------------------------------------------------------------------------------
// Defaults of a new portal
// ---------------------------------------------------------------------------------------

/// Every stage of a default pipeline has this write permission (§23.3).
pub const DEFAULT_WRITE_PERMISSIONS: &str = "CRM_PERMISSIONS_ENFORCEMENT";

/// Every type's default pipeline (the catalogue's `Pipelined::default`), with its type id.
fn every_default() -> impl Iterator<Item = (&'static str, DefaultPipeline)> {
    ObjectType::all()
        .iter()
        .filter_map(|t| t.pipelines.map(|p| (t.id.as_str(), p.default)))
}

/// The default pipelines of a type, as a new portal has them.
pub fn defaults(ty: &ObjectType) -> Vec<Pipeline> {
    ty.pipelines
        .iter()
        .map(|p| p.default)
        .map(|d| Pipeline {
            id: d.id.into(),
            label: d.label.into(),
            display_order: 0,
            created_at: 0,
            updated_at: 0,
            archived_at: None,
            stages: d
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| Stage {
                    id: s.id.into(),
                    label: s.label.into(),
                    display_order: i as i32,
                    metadata: s
                        .metadata
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                    write_permissions: DEFAULT_WRITE_PERMISSIONS.into(),
                    created_at: 0,
                    updated_at: 0,
                    archived_at: None,
                })
                .collect(),
        })
        .collect()
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The SQL (standard, run alike by SQLite and PostgreSQL) that gives the portals `condition`
/// selects (`id = 7`, or `true` for every portal) the default pipelines, skipping
/// rows they already have. `ensure_portal` runs it for a new portal in the transaction that
/// creates it; the pipelines migration runs it for every existing portal.
pub fn seed_sql(condition: &str) -> String {
    // A WHERE clause always: without one SQLite would read `ON CONFLICT` as a join's `ON`.
    let filter = format!("WHERE {condition}");
    let mut out = String::new();
    for (type_id, d) in every_default() {
        out.push_str(&format!(
            "INSERT INTO pipelines (portal_id, object_type, id, label, display_order, created_at, updated_at, archived_at)
             SELECT id, {}, {}, {}, 0, 0, 0, NULL FROM portals {filter} ON CONFLICT DO NOTHING;\n",
            sql_text(type_id),
            sql_text(d.id),
            sql_text(d.label)
        ));
        for (i, s) in d.stages.iter().enumerate() {
            let metadata: BTreeMap<&str, &str> = s.metadata.iter().copied().collect();
            let metadata = serde_json::to_string(&metadata).unwrap_or_else(|_| "{}".into());
            out.push_str(&format!(
                "INSERT INTO pipeline_stages (portal_id, object_type, pipeline_id, id, position, label, display_order, metadata, write_permissions, created_at, updated_at, archived_at)
                 SELECT id, {}, {}, {}, {i}, {}, {i}, {}, {}, 0, 0, NULL FROM portals {filter} ON CONFLICT DO NOTHING;\n",
                sql_text(type_id),
                sql_text(d.id),
                sql_text(s.id),
                sql_text(s.label),
                sql_text(&metadata),
                sql_text(DEFAULT_WRITE_PERMISSIONS)
            ));
        }
    }
    out
}

/// [`seed_sql`] for one portal.
pub fn seed_portal_sql(portal: PortalId) -> String {
    seed_sql(&format!("id = {}", portal.0))
}

/// A migration's text with `{{SEED_DEFAULT_PIPELINES}}` replaced by [`seed_sql`] for every
/// portal, so the defaults are written down once, here.
pub fn fill_in_migration(sql: &str) -> String {
    if sql.contains("{{SEED_DEFAULT_PIPELINES}}") {
        sql.replace("{{SEED_DEFAULT_PIPELINES}}", &seed_sql("true"))
    } else {
        sql.to_owned()
    }
}

// ---------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------

/// A stage as a write gives it. Metadata values are already strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageInput {
    pub stage_id: Option<String>,
    pub label: String,
    pub display_order: i32,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineInput {
    pub pipeline_id: Option<String>,
    pub label: String,
    pub display_order: i32,
    pub stages: Vec<StageInput>,
}

/// What a write does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create(PipelineInput),
    /// PUT: the pipeline becomes the input; its stages not in the input are archived.
    Replace {
        pipeline_id: String,
        input: PipelineInput,
    },
    /// PATCH. `restore`: `archived: false`, which also reaches an archived pipeline.
    Update {
        pipeline_id: String,
        label: Option<String>,
        display_order: Option<i32>,
        restore: bool,
    },
    Archive {
        pipeline_id: String,
    },
    CreateStage {
        pipeline_id: String,
        input: StageInput,
    },
    ReplaceStage {
        pipeline_id: String,
        stage_id: String,
        input: StageInput,
    },
    /// PATCH of a stage: the given metadata keys are merged into the stage's.
    UpdateStage {
        pipeline_id: String,
        stage_id: String,
        label: Option<String>,
        display_order: Option<i32>,
        metadata: BTreeMap<String, String>,
        restore: bool,
    },
    ArchiveStage {
        pipeline_id: String,
        stage_id: String,
    },
}

/// One pipeline write: the backend runs it in one transaction.
#[derive(Debug, Clone)]
pub struct PipelineWrite {
    pub portal: PortalId,
    /// The type id (`0-3`), as records store it.
    pub object_type: String,
    pub rules: Pipelined,
    pub change: Change,
    /// `validateReferencesBeforeDelete`: refuse to remove a stage live records are in.
    pub validate_references: bool,
    pub now: Millis,
}

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Unable to find pipeline with ID {0}")]
    PipelineNotFound(String),
    #[error("Unable to find stage with ID {0}")]
    StageNotFound(String),
    #[error("A pipeline with ID {0} already exists")]
    PipelineIdTaken(String),
    #[error("A pipeline stage with ID {0} already exists")]
    StageIdTaken(String),
    #[error("A pipeline with label {0} already exists")]
    PipelineLabelTaken(String),
    #[error("Pipeline stage labels must be unique: {0} is used more than once")]
    StageLabelTaken(String),
    #[error("A pipeline may have at most {0} stages")]
    TooManyStages(usize),
    #[error("A pipeline must have at least one stage")]
    NoStages,
    #[error("An account must have at least one pipeline for each object type that has pipelines")]
    LastPipeline,
    #[error("{0}")]
    InvalidMetadata(String),
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Records are still in stages the write removes (HubSpot's STAGE_ID_IN_USE).
    #[error("Stage IDs: [{}] are being referenced by object IDs: [{}]", stages.join(", "), objects.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", "))]
    StagesInUse {
        stages: Vec<String>,
        objects: Vec<ObjectId>,
    },
}

/// One audit entry: what happened to a pipeline (`stage_id` None) or one of its stages,
/// with a snapshot of the subject after it (the JSON of [`Pipeline`] or [`Stage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub pipeline_id: String,
    pub stage_id: Option<String>,
    pub action: &'static str,
    pub timestamp: Millis,
    pub snapshot: String,
}

/// An audit entry as stored and read back, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub action: String,
    pub timestamp: Millis,
    pub snapshot: String,
}

/// What a write makes of the type's pipelines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The written pipeline, whole: the backend replaces its rows with these.
    pub pipeline: Pipeline,
    /// The stage the write was about, for stage operations.
    pub stage_id: Option<String>,
    /// Stages that were live and are not any more (or whose pipeline is archived).
    pub removed_stages: Vec<String>,
    pub audit: Vec<AuditEntry>,
}

/// Ids spoke gives pipelines and stages created without one are numeric strings above
/// this (HubSpot's look like `11348541`), and above every numeric id the type has.
pub const ID_FLOOR: u64 = 10_000_000;

/// The most pipelines of one type a portal may have (live ones); HubSpot's limit depends on
/// the plan (§23.6), spoke's is its largest.
pub const MAX_PIPELINES: usize = 100;

fn snapshot<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

/// Hands out numeric ids past every numeric id of the type, never one the type already
/// has: a client may choose any id, `"18446744073709551615"` included, and the count then
/// wraps instead of overflowing, stepping over ids in use (the default ticket pipeline's
/// `"0"` among them) so that a generated id never replaces a pipeline or stage.
struct Ids {
    last: u64,
    taken: HashSet<String>,
}

impl Ids {
    fn new(current: &[Pipeline]) -> Self {
        let taken: HashSet<String> = current
            .iter()
            .flat_map(|p| std::iter::once(&p.id).chain(p.stages.iter().map(|s| &s.id)))
            .cloned()
            .collect();
        let numeric = taken.iter().filter_map(|id| id.parse::<u64>().ok()).max();
        Ids {
            last: numeric.unwrap_or(0).max(ID_FLOOR),
            taken,
        }
    }
    fn next(&mut self) -> String {
        loop {
            self.last = self.last.wrapping_add(1);
            let id = self.last.to_string();
            if self.taken.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// A probability as HubSpot writes it: at least one decimal (`"1.0"`, `"0.25"`).
fn probability_text(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.1}")
    } else {
        p.to_string()
    }
}

impl PipelineWrite {
    /// Checks a stage's metadata against the type's rules and fills in what HubSpot adds:
    /// deals' `isClosed` (false when not given), tickets' `ticketState` (OPEN) and the
    /// `isClosed` it implies.
    fn check_metadata(
        &self,
        mut metadata: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Refusal> {
        let rules = &self.rules;
        if rules.probability {
            let Some(raw) = metadata.get("probability") else {
                return Err(Refusal::InvalidMetadata(
                    "The probability field is required for deal stages: metadata must include probability, a number between 0.0 and 1.0".into(),
                ));
            };
            let p = raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    Refusal::InvalidMetadata(format!(
                        "Invalid probability {raw}: it must be a number between 0.0 and 1.0"
                    ))
                })?;
            metadata.insert("probability".into(), probability_text(p));
            metadata
                .entry("isClosed".into())
                .or_insert_with(|| "false".into());
        }
        if rules.ticket_state {
            let state = metadata
                .get("ticketState")
                .map(|s| s.trim().to_ascii_uppercase())
                .unwrap_or_else(|| "OPEN".into());
            if state != "OPEN" && state != "CLOSED" {
                return Err(Refusal::InvalidMetadata(format!(
                    "Invalid ticketState {state}: it must be OPEN or CLOSED"
                )));
            }
            metadata.insert(
                "isClosed".into(),
                if state == "CLOSED" { "true" } else { "false" }.into(),
            );
            metadata.insert("ticketState".into(), state);
        }
        if let Some(closed) = metadata.get("isClosed") {
            if closed != "true" && closed != "false" {
                return Err(Refusal::InvalidMetadata(format!(
                    "Invalid isClosed {closed}: it must be true or false"
                )));
            }
        }
        Ok(metadata)
    }

    fn new_stage(&self, input: &StageInput, id: String) -> Result<Stage, Refusal> {
        if input.label.trim().is_empty() {
            return Err(Refusal::Empty("A stage label"));
        }
        Ok(Stage {
            id,
            label: input.label.clone(),
            display_order: input.display_order,
            metadata: self.check_metadata(input.metadata.clone())?,
            write_permissions: DEFAULT_WRITE_PERMISSIONS.into(),
            created_at: self.now,
            updated_at: self.now,
            archived_at: None,
        })
    }

    /// Decides the write against the type's pipelines as they stand (`current`: every
    /// pipeline of the type, archived ones included).
    pub fn apply(&self, current: &[Pipeline]) -> Result<Applied, Refusal> {
        let now = self.now;
        let mut ids = Ids::new(current);
        let stage_ids_in_type: HashSet<&str> = current
            .iter()
            .flat_map(|p| p.stages.iter().map(|s| s.id.as_str()))
            .collect();
        let find = |id: &str| current.iter().find(|p| p.id == id);
        let find_live = |id: &str| {
            find(id)
                .filter(|p| !p.archived())
                .cloned()
                .ok_or_else(|| Refusal::PipelineNotFound(id.to_owned()))
        };
        let label_taken = |label: &str, except: Option<&str>| {
            current
                .iter()
                .any(|p| !p.archived() && p.label == label && Some(p.id.as_str()) != except)
        };
        let mut audit = Vec::new();
        let mut removed = Vec::new();
        let mut stage_id = None;
        let pipeline = match &self.change {
            Change::Create(input) => {
                if input.label.trim().is_empty() {
                    return Err(Refusal::Empty("A pipeline label"));
                }
                if label_taken(&input.label, None) {
                    return Err(Refusal::PipelineLabelTaken(input.label.clone()));
                }
                if live(current).len() >= MAX_PIPELINES {
                    return Err(Refusal::InvalidMetadata(format!(
                        "A portal may have at most {MAX_PIPELINES} pipelines of one object type"
                    )));
                }
                let id = match &input.pipeline_id {
                    Some(id) if find(id).is_some() => {
                        return Err(Refusal::PipelineIdTaken(id.clone()))
                    }
                    Some(id) if id.trim().is_empty() => {
                        return Err(Refusal::Empty("A pipeline id"))
                    }
                    Some(id) => id.clone(),
                    None => ids.next(),
                };
                let stages = self.stages_of(input, None, &stage_ids_in_type, &mut ids)?;
                let p = Pipeline {
                    id,
                    label: input.label.clone(),
                    display_order: input.display_order,
                    created_at: now,
                    updated_at: now,
                    archived_at: None,
                    stages,
                };
                for s in &p.stages {
                    audit.push(self.stage_audit(&p, s, "CREATE"));
                }
                audit.push(self.pipeline_audit(&p, "CREATE"));
                p
            }
            Change::Replace { pipeline_id, input } => {
                let old = find_live(pipeline_id)?;
                if input.label.trim().is_empty() {
                    return Err(Refusal::Empty("A pipeline label"));
                }
                if label_taken(&input.label, Some(pipeline_id)) {
                    return Err(Refusal::PipelineLabelTaken(input.label.clone()));
                }
                let mut stages = self.stages_of(input, Some(&old), &stage_ids_in_type, &mut ids)?;
                let kept: HashSet<String> = stages.iter().map(|s| s.id.clone()).collect();
                for s in &old.stages {
                    if kept.contains(&s.id) {
                        continue;
                    }
                    let mut s = s.clone();
                    if s.archived_at.is_none() {
                        s.archived_at = Some(now);
                        s.updated_at = now;
                        removed.push(s.id.clone());
                    }
                    stages.push(s);
                }
                let p = Pipeline {
                    id: old.id.clone(),
                    label: input.label.clone(),
                    display_order: input.display_order,
                    created_at: old.created_at,
                    updated_at: now,
                    archived_at: None,
                    stages,
                };
                for s in &p.stages {
                    let before = old.stage(&s.id);
                    let action = match before {
                        None => "CREATE",
                        Some(b) if b == s => continue,
                        Some(_) if s.archived_at.is_some() => "DELETE",
                        Some(_) => "UPDATE",
                    };
                    audit.push(self.stage_audit(&p, s, action));
                }
                audit.push(self.pipeline_audit(&p, "UPDATE"));
                p
            }
            Change::Update {
                pipeline_id,
                label,
                display_order,
                restore,
            } => {
                let mut p = match find(pipeline_id) {
                    Some(p) if *restore || !p.archived() => p.clone(),
                    _ => return Err(Refusal::PipelineNotFound(pipeline_id.clone())),
                };
                if let Some(label) = label {
                    if label.trim().is_empty() {
                        return Err(Refusal::Empty("A pipeline label"));
                    }
                    if label_taken(label, Some(pipeline_id)) {
                        return Err(Refusal::PipelineLabelTaken(label.clone()));
                    }
                    p.label = label.clone();
                }
                if let Some(order) = display_order {
                    p.display_order = *order;
                }
                if *restore && p.archived() {
                    if label_taken(&p.label, Some(pipeline_id)) {
                        return Err(Refusal::PipelineLabelTaken(p.label.clone()));
                    }
                    p.archived_at = None;
                }
                p.updated_at = now;
                audit.push(self.pipeline_audit(&p, "UPDATE"));
                p
            }
            Change::Archive { pipeline_id } => {
                let mut p = find_live(pipeline_id)?;
                // "Each account has at least one pipeline" (pipelines guide).
                if live(current).len() <= 1 {
                    return Err(Refusal::LastPipeline);
                }
                removed.extend(p.live_stages().iter().map(|s| s.id.clone()));
                p.archived_at = Some(now);
                p.updated_at = now;
                audit.push(self.pipeline_audit(&p, "DELETE"));
                p
            }
            Change::CreateStage { pipeline_id, input } => {
                let mut p = find_live(pipeline_id)?;
                if p.live_stages().len() >= self.rules.max_stages {
                    return Err(Refusal::TooManyStages(self.rules.max_stages));
                }
                if p.live_stages().iter().any(|s| s.label == input.label) {
                    return Err(Refusal::StageLabelTaken(input.label.clone()));
                }
                let id = match &input.stage_id {
                    Some(id) if stage_ids_in_type.contains(id.as_str()) => {
                        return Err(Refusal::StageIdTaken(id.clone()))
                    }
                    Some(id) if id.trim().is_empty() => return Err(Refusal::Empty("A stage id")),
                    Some(id) => id.clone(),
                    None => ids.next(),
                };
                let s = self.new_stage(input, id)?;
                stage_id = Some(s.id.clone());
                audit.push(self.stage_audit(&p, &s, "CREATE"));
                p.stages.push(s);
                p.updated_at = now;
                audit.push(self.pipeline_audit(&p, "UPDATE"));
                p
            }
            Change::ReplaceStage {
                pipeline_id,
                stage_id: sid,
                input,
            } => {
                let mut p = find_live(pipeline_id)?;
                let Some(old) = p.live_stage(sid).cloned() else {
                    return Err(Refusal::StageNotFound(sid.clone()));
                };
                if p.live_stages()
                    .iter()
                    .any(|s| s.label == input.label && s.id != *sid)
                {
                    return Err(Refusal::StageLabelTaken(input.label.clone()));
                }
                let mut s = self.new_stage(input, old.id.clone())?;
                s.created_at = old.created_at;
                s.write_permissions = old.write_permissions.clone();
                self.put_stage(&mut p, s, &mut audit);
                stage_id = Some(sid.clone());
                p
            }
            Change::UpdateStage {
                pipeline_id,
                stage_id: sid,
                label,
                display_order,
                metadata,
                restore,
            } => {
                let mut p = find_live(pipeline_id)?;
                let mut s = match p.stage(sid) {
                    Some(s) if *restore || s.archived_at.is_none() => s.clone(),
                    _ => return Err(Refusal::StageNotFound(sid.clone())),
                };
                if let Some(label) = label {
                    if label.trim().is_empty() {
                        return Err(Refusal::Empty("A stage label"));
                    }
                    s.label = label.clone();
                }
                if p.live_stages()
                    .iter()
                    .any(|o| o.label == s.label && o.id != *sid)
                {
                    return Err(Refusal::StageLabelTaken(s.label.clone()));
                }
                if let Some(order) = display_order {
                    s.display_order = *order;
                }
                let mut merged = s.metadata.clone();
                merged.extend(metadata.clone());
                s.metadata = self.check_metadata(merged)?;
                if *restore && s.archived_at.is_some() {
                    if p.live_stages().len() >= self.rules.max_stages {
                        return Err(Refusal::TooManyStages(self.rules.max_stages));
                    }
                    s.archived_at = None;
                }
                s.updated_at = now;
                self.put_stage(&mut p, s, &mut audit);
                stage_id = Some(sid.clone());
                p
            }
            Change::ArchiveStage {
                pipeline_id,
                stage_id: sid,
            } => {
                let mut p = find_live(pipeline_id)?;
                let Some(mut s) = p.live_stage(sid).cloned() else {
                    return Err(Refusal::StageNotFound(sid.clone()));
                };
                // "Each pipeline always has at least one stage" (pipelines guide).
                if p.live_stages().len() <= 1 {
                    return Err(Refusal::NoStages);
                }
                s.archived_at = Some(now);
                s.updated_at = now;
                removed.push(sid.clone());
                let snapshot = self.stage_audit(&p, &s, "DELETE");
                if let Some(slot) = p.stages.iter_mut().find(|o| o.id == *sid) {
                    *slot = s;
                }
                p.updated_at = now;
                audit.push(snapshot);
                audit.push(self.pipeline_audit(&p, "UPDATE"));
                stage_id = Some(sid.clone());
                p
            }
        };
        Ok(Applied {
            pipeline,
            stage_id,
            removed_stages: removed,
            audit,
        })
    }

    /// Replaces a stage of `p` with `s` and records both audits.
    fn put_stage(&self, p: &mut Pipeline, s: Stage, audit: &mut Vec<AuditEntry>) {
        audit.push(self.stage_audit(p, &s, "UPDATE"));
        if let Some(slot) = p.stages.iter_mut().find(|o| o.id == s.id) {
            *slot = s;
        }
        p.updated_at = self.now;
        audit.push(self.pipeline_audit(p, "UPDATE"));
    }

    /// The stages of a created or replaced pipeline: ids kept where the input names a stage
    /// of `old`, chosen ids checked against the type's, fresh ids for the others.
    fn stages_of(
        &self,
        input: &PipelineInput,
        old: Option<&Pipeline>,
        in_type: &HashSet<&str>,
        ids: &mut Ids,
    ) -> Result<Vec<Stage>, Refusal> {
        if input.stages.is_empty() {
            return Err(Refusal::NoStages);
        }
        if input.stages.len() > self.rules.max_stages {
            return Err(Refusal::TooManyStages(self.rules.max_stages));
        }
        let mut labels = HashSet::new();
        let mut chosen = HashSet::new();
        let mut out = Vec::with_capacity(input.stages.len());
        for si in &input.stages {
            if !labels.insert(si.label.as_str()) {
                return Err(Refusal::StageLabelTaken(si.label.clone()));
            }
            let existing = si
                .stage_id
                .as_deref()
                .and_then(|id| old.and_then(|o| o.stage(id)));
            let id = match (&si.stage_id, existing) {
                (Some(id), _) if !chosen.insert(id.clone()) => {
                    return Err(Refusal::StageIdTaken(id.clone()))
                }
                (Some(id), Some(_)) => id.clone(),
                (Some(id), None) if in_type.contains(id.as_str()) => {
                    return Err(Refusal::StageIdTaken(id.clone()))
                }
                (Some(id), None) if id.trim().is_empty() => {
                    return Err(Refusal::Empty("A stage id"))
                }
                (Some(id), None) => id.clone(),
                (None, _) => ids.next(),
            };
            let mut s = self.new_stage(si, id)?;
            if let Some(before) = existing {
                s.created_at = before.created_at;
                s.write_permissions = before.write_permissions.clone();
                let same = before.label == s.label
                    && before.display_order == s.display_order
                    && before.metadata == s.metadata
                    && before.archived_at.is_none();
                if same {
                    s.updated_at = before.updated_at;
                }
            }
            out.push(s);
        }
        Ok(out)
    }

    fn pipeline_audit(&self, p: &Pipeline, action: &'static str) -> AuditEntry {
        AuditEntry {
            pipeline_id: p.id.clone(),
            stage_id: None,
            action,
            timestamp: self.now,
            snapshot: snapshot(p),
        }
    }

    fn stage_audit(&self, p: &Pipeline, s: &Stage, action: &'static str) -> AuditEntry {
        AuditEntry {
            pipeline_id: p.id.clone(),
            stage_id: Some(s.id.clone()),
            action,
            timestamp: self.now,
            snapshot: snapshot(s),
        }
    }
}

/// Parses an audit snapshot back (the server turns it into HubSpot's wire shape).
pub fn pipeline_snapshot(json: &str) -> Option<Pipeline> {
    serde_json::from_str(json).ok()
}

pub fn stage_snapshot(json: &str) -> Option<Stage> {
    serde_json::from_str(json).ok()
}

// ---------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------

fn invalid_option(name: &str, value: &str, allowed: Vec<&str>) -> PropertyError {
    PropertyError::new(
        name,
        "INVALID_OPTION",
        format!(
            "{value} was not one of the allowed options: [{}]",
            allowed.join(", ")
        ),
    )
}

/// Checks a record write's pipeline and stage against the type's pipelines, and fills in
/// the pipeline a stage was given without. The stage must be a live stage of the record's
/// pipeline: the one the write gives, else the record's (`stored`: its pipeline and
/// stage, empty when unset; `None` for a record being created), else the default
/// pipeline, which is then written too (HubSpot fills `pipeline` so). A write that moves
/// a record to another pipeline without a stage keeps its stage only if that is a stage
/// of the new pipeline. Clearing (the empty string) is not checked.
pub fn check_record(
    rules: &Pipelined,
    pipelines: &[Pipeline],
    values: &mut BTreeMap<String, String>,
    stored: Option<(&str, &str)>,
) -> Result<(), Vec<PropertyError>> {
    let (pp, sp) = (rules.pipeline_property, rules.stage_property);
    let given_pipeline = values.get(pp).filter(|v| !v.is_empty()).cloned();
    let given_stage = values.get(sp).filter(|v| !v.is_empty()).cloned();
    if given_pipeline.is_none() && given_stage.is_none() {
        return Ok(());
    }
    let live = live(pipelines);
    let mut errors = Vec::new();
    let pipeline = match &given_pipeline {
        Some(id) => match live.iter().find(|p| p.id == *id) {
            Some(p) => Some(*p),
            None => {
                let ids = live.iter().map(|p| p.id.as_str()).collect();
                errors.push(invalid_option(pp, id, ids));
                None
            }
        },
        None => {
            let stored_pipeline = stored.map(|s| s.0).filter(|p| !p.is_empty());
            match stored_pipeline {
                Some(id) => live.iter().find(|p| p.id == id).copied(),
                None => live.first().copied(),
            }
        }
    };
    let stage = given_stage.or_else(|| {
        stored
            .map(|s| s.1)
            .filter(|s| !s.is_empty() && given_pipeline.is_some())
            .map(str::to_owned)
    });
    if let (Some(p), Some(stage)) = (pipeline, &stage) {
        if p.live_stage(stage).is_none() {
            let ids = p.live_stages().iter().map(|s| s.id.as_str()).collect();
            errors.push(invalid_option(sp, stage, ids));
        } else if given_pipeline.is_none() && stored.is_none_or(|s| s.0.is_empty()) {
            values.insert(pp.to_owned(), p.id.clone());
        }
    } else if pipeline.is_none() && errors.is_empty() {
        if let Some(stage) = &stage {
            errors.push(invalid_option(sp, stage, Vec::new()));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------------------------------
// Rows, shared by the SQL backends
// ---------------------------------------------------------------------------------------

/// `pipelines` columns after the portal and type, as [`pipeline_row`] reads them.
pub const PIPELINE_COLUMNS: &str = "id, label, display_order, created_at, updated_at, archived_at";

/// `pipeline_stages` columns after the portal and type, as [`stage_row`] reads them, in
/// storage order when sorted by `pipeline_id, position`.
pub const STAGE_COLUMNS: &str = "pipeline_id, id, label, display_order, metadata, write_permissions, created_at, updated_at, archived_at";

pub fn pipeline_row<C: crate::columns::Columns>(r: &C) -> Result<Pipeline, C::Error> {
    Ok(Pipeline {
        id: r.text(0)?,
        label: r.text(1)?,
        display_order: r.int32(2)?,
        created_at: r.int(3)?,
        updated_at: r.int(4)?,
        archived_at: r.int_or_null(5)?,
        stages: Vec::new(),
    })
}

/// A stage row: its pipeline's id, the stage, and its metadata as stored (JSON), which
/// [`assemble`] decodes.
pub fn stage_row<C: crate::columns::Columns>(r: &C) -> Result<(String, Stage, String), C::Error> {
    Ok((
        r.text(0)?,
        Stage {
            id: r.text(1)?,
            label: r.text(2)?,
            display_order: r.int32(3)?,
            metadata: BTreeMap::new(),
            write_permissions: r.text(5)?,
            created_at: r.int(6)?,
            updated_at: r.int(7)?,
            archived_at: r.int_or_null(8)?,
        },
        r.text(4)?,
    ))
}

/// Puts stage rows (in storage order) into their pipelines.
pub fn assemble(
    mut pipelines: Vec<Pipeline>,
    stages: Vec<(String, Stage, String)>,
) -> StoreResult<Vec<Pipeline>> {
    for (pipeline_id, mut stage, metadata) in stages {
        stage.metadata = serde_json::from_str(&metadata)
            .map_err(|e| crate::StoreError::Internal(format!("stage metadata: {e}")))?;
        if let Some(p) = pipelines.iter_mut().find(|p| p.id == pipeline_id) {
            p.stages.push(stage);
        }
    }
    Ok(pipelines)
}

/// A stage's metadata as stored.
pub fn metadata_json(stage: &Stage) -> String {
    snapshot(&stage.metadata)
}

/// The `[a, b]` list HubSpot's STAGE_ID_IN_USE context holds as one string.
pub fn bracketed<T: ToString>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// How many records a STAGE_ID_IN_USE answer names at most.
pub const MAX_REFERENCING: usize = 100;

/// Which audit trail to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditKey {
    pub portal: PortalId,
    pub object_type: String,
    pub pipeline_id: String,
    /// `None`: the pipeline's own entries.
    pub stage_id: Option<String>,
}

/// Pipelines and stages, per portal and object type.
#[async_trait]
pub trait PipelineStore: Send + Sync {
    /// Every pipeline of the type, archived ones included, each with every stage in
    /// storage order.
    async fn read_pipelines(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<Pipeline>>;

    /// Runs a write in one transaction: reads the type's pipelines, decides with
    /// [`PipelineWrite::apply`], refuses with [`Refusal::StagesInUse`] when
    /// `validate_references` and live records of the type are in a removed stage (at most
    /// [`MAX_REFERENCING`] named), else replaces the pipeline's rows and appends the audit.
    async fn write_pipeline(&self, write: PipelineWrite) -> StoreResult<Result<Applied, Refusal>>;

    /// A pipeline's or stage's audit entries, newest first.
    async fn read_audit(&self, key: AuditKey) -> StoreResult<Vec<AuditRecord>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client that chose the largest id makes the count wrap, not overflow; the ids the
    /// type has (the ticket pipeline's `0` among them) are stepped over.
    #[test]
    fn generated_ids_wrap_past_a_chosen_maximum_without_reusing_one() {
        let tickets = ObjectType::resolve("tickets").expect("tickets");
        let mut current = defaults(&tickets);
        let mut chosen = current[0].clone();
        chosen.id = u64::MAX.to_string();
        chosen.stages.clear();
        current.push(chosen);
        let mut ids = Ids::new(&current);
        let fresh: Vec<String> = (0..3).map(|_| ids.next()).collect();
        // `0` is the default pipeline; `1`–`4` are its stages.
        assert_eq!(fresh, ["5", "6", "7"]);
    }

    fn deals() -> spoke_core::TypeRef {
        ObjectType::resolve("deals").expect("deals")
    }

    fn write(change: Change) -> PipelineWrite {
        PipelineWrite {
            portal: PortalId(1),
            object_type: "0-3".into(),
            rules: deals().pipelines.expect("pipelined"),
            change,
            validate_references: false,
            now: 5,
        }
    }

    fn stage_in(label: &str, p: &str) -> StageInput {
        StageInput {
            stage_id: None,
            label: label.into(),
            display_order: 0,
            metadata: [("probability".to_owned(), p.to_owned())].into(),
        }
    }

    #[test]
    fn a_created_pipeline_gets_fresh_ids_and_checked_stages() {
        let current = defaults(&deals());
        let input = PipelineInput {
            pipeline_id: None,
            label: "Partners".into(),
            display_order: 1,
            stages: vec![stage_in("A", "0.5"), stage_in("B", "1")],
        };
        let applied = write(Change::Create(input.clone()))
            .apply(&current)
            .expect("created");
        let p = &applied.pipeline;
        assert_eq!(p.id, (ID_FLOOR + 1).to_string());
        assert_eq!(p.stages[0].id, (ID_FLOOR + 2).to_string());
        assert_eq!(p.stages[1].metadata["probability"], "1.0");
        assert_eq!(p.stages[1].metadata["isClosed"], "false");
        let mut dup = input.clone();
        dup.stages.push(stage_in("A", "0.1"));
        assert_eq!(
            write(Change::Create(dup)).apply(&current),
            Err(Refusal::StageLabelTaken("A".into()))
        );
        let mut bad = input;
        bad.label = "Other".into();
        bad.stages[0].metadata.clear();
        assert!(matches!(
            write(Change::Create(bad)).apply(&current),
            Err(Refusal::InvalidMetadata(_))
        ));
    }

    #[test]
    fn replace_archives_the_stages_it_leaves_out() {
        let current = defaults(&deals());
        let mut keep = stage_in("Won", "1.0");
        keep.stage_id = Some("closedwon".into());
        let applied = write(Change::Replace {
            pipeline_id: "default".into(),
            input: PipelineInput {
                pipeline_id: None,
                label: "Sales".into(),
                display_order: 0,
                stages: vec![keep],
            },
        })
        .apply(&current)
        .expect("replaced");
        assert_eq!(applied.pipeline.live_stages().len(), 1);
        assert_eq!(applied.removed_stages.len(), 6);
        assert_eq!(applied.pipeline.stages.len(), 7);
    }

    #[test]
    fn seed_sql_names_every_default() {
        let sql = seed_sql("true");
        assert_eq!(
            sql.matches("INSERT INTO pipelines ").count(),
            every_default().count()
        );
        assert_eq!(sql.matches("INSERT INTO pipeline_stages ").count(), 11);
        assert!(sql.contains("'Decision Maker Bought-In'"));
    }
}
