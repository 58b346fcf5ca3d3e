//! What the association graph's operations decide, apart from any SQL: which rows a link
//! writes, prunes and removes, which end of a link is missing, how link rows make a page,
//! and which labels a create, rename or delete touches. Each backend reads and writes the
//! rows these name, in its own transaction, and decides nothing itself.

use spoke_core::association::{hubspot_defined, AssociationType, FIRST_USER_TYPE_ID};
use spoke_core::{ObjectId, PortalId};

use crate::schemas::AssociationDefinition;
use crate::{
    AssociatedTarget, AssociationPage, AssociationRemoval, AssociationWrite, ItemFailure,
    LabelRecord, LinkType, Store, StoreResult,
};

/// Every association type from `from` to `to` in a portal, unlabeled ones first:
/// HubSpot's own (`hubspot_defined`), then the definitions the portal's custom object
/// schemas created (USER_DEFINED, unlabeled: the default of a pair with a custom type),
/// then the portal's labels.
pub async fn pair_types(
    store: &dyn Store,
    portal: PortalId,
    from: &str,
    to: &str,
) -> StoreResult<Vec<AssociationType>> {
    let mut out = hubspot_defined(from, to);
    let (defined, labels) = tokio::try_join!(
        store.list_definitions(portal, from, Some(to)),
        store.list_labels(portal, from, to)
    )?;
    let labelled = out
        .iter()
        .position(|t| t.label.is_some())
        .unwrap_or(out.len());
    let definitions: Vec<AssociationType> = defined.into_iter().map(definition_type).collect();
    out.splice(labelled..labelled, definitions);
    out.extend(labels.into_iter().map(label_type));
    Ok(out)
}

/// A schema's association definition as an association type.
pub fn definition_type(d: AssociationDefinition) -> AssociationType {
    AssociationType {
        from_type: d.from_type,
        to_type: d.to_type,
        category: d.category,
        type_id: d.type_id,
        label: None,
        inverse_type_id: d.inverse_type_id,
        exclusive: false,
    }
}

/// A USER_DEFINED label as an association type.
pub fn label_type(l: LabelRecord) -> AssociationType {
    AssociationType {
        from_type: l.from_type,
        to_type: l.to_type,
        category: spoke_core::association::USER_DEFINED.into(),
        type_id: l.type_id,
        label: Some(l.label),
        inverse_type_id: l.inverse_type_id,
        exclusive: false,
    }
}

/// The type `PUT …/associations/default/…` writes between a pair: its first unlabeled one
/// ([`pair_types`] lists them first).
pub fn default_of(types: &[AssociationType]) -> Option<&AssociationType> {
    types.iter().find(|t| t.label.is_none())
}

/// One end of a link: a record's object type and id.
pub type End<'a> = (&'a str, ObjectId);

/// One directed row of the `associations` table (every column is the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkRow<'a> {
    pub from: End<'a>,
    pub to: End<'a>,
    pub category: &'a str,
    pub type_id: i64,
}

/// Before a link of an exclusive type is written: `from`'s other links of `type_id` to
/// records of `to_type` (every target but `keep`) go, with their inverse rows
/// (`inverse_type_id`, from each of those targets back to `from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prune<'a> {
    pub from: End<'a>,
    pub to_type: &'a str,
    pub keep: ObjectId,
    pub category: &'a str,
    pub type_id: i64,
    pub inverse_type_id: i64,
}

impl LinkType {
    /// The two rows a link of this type writes: `from` → `to` and its inverse.
    pub fn rows<'a>(&'a self, from: End<'a>, to: End<'a>) -> [LinkRow<'a>; 2] {
        [
            LinkRow {
                from,
                to,
                category: &self.category,
                type_id: self.type_id,
            },
            LinkRow {
                from: to,
                to: from,
                category: &self.category,
                type_id: self.inverse_type_id,
            },
        ]
    }

    /// What must go before a link of this type is written, so that an exclusive type keeps
    /// at most one target per source record, on either side.
    pub fn prunes<'a>(&'a self, from: End<'a>, to: End<'a>) -> Vec<Prune<'a>> {
        let mut out = Vec::new();
        let mut prune = |from: End<'a>, to: End<'a>, type_id: i64, inverse_type_id: i64| {
            out.push(Prune {
                from,
                to_type: to.0,
                keep: to.1,
                category: &self.category,
                type_id,
                inverse_type_id,
            });
        };
        if self.exclusive {
            prune(from, to, self.type_id, self.inverse_type_id);
        }
        if self.inverse_exclusive {
            prune(to, from, self.inverse_type_id, self.type_id);
        }
        out
    }

    /// Whether writing this type can remove other links.
    pub fn prunes_any(&self) -> bool {
        self.exclusive || self.inverse_exclusive
    }
}

impl AssociationWrite {
    /// The item's two ends.
    pub fn ends(&self) -> [End<'_>; 2] {
        [(&self.from_type, self.from_id), (&self.to_type, self.to_id)]
    }

    /// Why the item cannot be written: the first of its ends (`from`, then `to`) that is
    /// not a live record of the portal, as `is_live` answers.
    pub fn missing_end<E>(
        &self,
        mut is_live: impl FnMut(End<'_>) -> Result<bool, E>,
    ) -> Result<Option<ItemFailure>, E> {
        for end in self.ends() {
            if !is_live(end)? {
                return Ok(Some(ItemFailure::AssociationTarget {
                    object_type: end.0.to_owned(),
                    id: end.1,
                }));
            }
        }
        Ok(None)
    }
}

/// Rows a removal deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlink<'a> {
    /// Every row from one record to the other, whatever its type.
    Pair { from: End<'a>, to: End<'a> },
    /// One row.
    Row(LinkRow<'a>),
}

impl AssociationRemoval {
    /// Every row this removal deletes, both directions.
    pub fn unlinks(&self) -> Vec<Unlink<'_>> {
        let from = (self.from_type.as_str(), self.from_id);
        let to = (self.to_type.as_str(), self.to_id);
        match &self.types {
            None => vec![
                Unlink::Pair { from, to },
                Unlink::Pair { from: to, to: from },
            ],
            Some(types) => types
                .iter()
                .flat_map(|(category, type_id, inverse_type_id)| {
                    [
                        Unlink::Row(LinkRow {
                            from,
                            to,
                            category,
                            type_id: *type_id,
                        }),
                        Unlink::Row(LinkRow {
                            from: to,
                            to: from,
                            category,
                            type_id: *inverse_type_id,
                        }),
                    ]
                })
                .collect(),
        }
    }
}

impl AssociationPage {
    /// Adds one link row to a page of at most `limit` targets. Rows must come in
    /// (target id, category, type id) order, only of live targets. Returns false once the
    /// row belongs to a target beyond the page: `more` is then set, and the caller stops.
    /// The category is borrowed from the row (`crate::category`).
    pub fn push(&mut self, to_id: ObjectId, category: &str, type_id: i64, limit: usize) -> bool {
        if let Some(last) = self.targets.last_mut().filter(|l| l.to_id == to_id) {
            last.types.push((crate::category(category), type_id));
        } else if self.targets.len() >= limit {
            self.more = true;
            return false;
        } else {
            self.targets.push(AssociatedTarget {
                to_id,
                types: vec![(crate::category(category), type_id)],
            });
        }
        true
    }
}

/// [`crate::AssociationStore::page_associations`]'s arguments: for each `(from id,
/// after)`, the next page of at most `limit` live targets of `to_type` above `after`.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub portal: PortalId,
    pub from_type: String,
    pub to_type: String,
    pub requests: Vec<(ObjectId, Option<ObjectId>)>,
    pub limit: usize,
}

impl PageRequest {
    /// Each request's `from` id and the target id its page starts above (0: from the
    /// first; record ids are positive).
    pub fn starts(&self) -> impl Iterator<Item = (ObjectId, ObjectId)> + '_ {
        self.requests
            .iter()
            .map(|(from, after)| (*from, after.unwrap_or(0)))
    }

    /// One empty page per request, to fill with [`AssociationPage::push`].
    pub fn empty_pages(&self) -> Vec<AssociationPage> {
        vec![AssociationPage::default(); self.requests.len()]
    }
}

/// A pair of object types whose labels to list, in one portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelPair {
    pub portal: PortalId,
    pub from_type: String,
    pub to_type: String,
}

/// A USER_DEFINED label to create under (`from_type`, `to_type`), with its inverse under
/// the reversed pair; see [`crate::AssociationStore::create_label`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLabel {
    pub portal: PortalId,
    pub from_type: String,
    pub to_type: String,
    pub name: String,
    pub label: String,
    pub inverse_label: Option<String>,
    /// How many labels the pair may hold.
    pub max: usize,
}

impl NewLabel {
    /// The label records to insert, given the pair's labels now (`existing`) and the
    /// largest type id any label of the portal uses; `None` if the pair is full, already
    /// has a label of this name, or no type id is left. Type ids are allocated from
    /// [`FIRST_USER_TYPE_ID`] up, per portal. A same-type pair without an inverse label
    /// gets one record whose type id is its own inverse.
    pub fn records(
        &self,
        existing: &[LabelRecord],
        largest_type_id: Option<i64>,
    ) -> Option<Vec<LabelRecord>> {
        if existing.len() >= self.max || existing.iter().any(|l| l.name == self.name) {
            return None;
        }
        // Ids past i64::MAX (only reachable through copied rows) leave no room: refused.
        let mut id = largest_type_id.map_or(Some(FIRST_USER_TYPE_ID), |m| m.checked_add(1))?;
        let single = self.from_type == self.to_type && self.inverse_label.is_none();
        // A few HUBSPOT_DEFINED ids are above FIRST_USER_TYPE_ID (leads and goals to
        // deals): a label's ids step over the pair's, so an id still names one definition.
        let defined: Vec<i64> = hubspot_defined(&self.from_type, &self.to_type)
            .iter()
            .flat_map(|t| [t.type_id, t.inverse_type_id])
            .collect();
        let mut inverse_id = if single { id } else { id.checked_add(1)? };
        while defined.contains(&id) || defined.contains(&inverse_id) {
            id = inverse_id.checked_add(1)?;
            inverse_id = if single { id } else { id.checked_add(1)? };
        }
        let mut made = vec![LabelRecord {
            from_type: self.from_type.clone(),
            to_type: self.to_type.clone(),
            type_id: id,
            label: self.label.clone(),
            name: self.name.clone(),
            inverse_type_id: inverse_id,
        }];
        if !single {
            made.push(LabelRecord {
                from_type: self.to_type.clone(),
                to_type: self.from_type.clone(),
                type_id: inverse_id,
                label: self.inverse_label.as_ref().unwrap_or(&self.label).clone(),
                name: format!("{}_inverse", self.name),
                inverse_type_id: id,
            });
        }
        Some(made)
    }
}

/// One direction of a label: its portal, the pair it is listed under, and its type id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelKey {
    pub portal: PortalId,
    pub from_type: String,
    pub to_type: String,
    pub type_id: i64,
}

impl LabelKey {
    /// This label and its inverse (`inverse_type_id`, under the reversed pair); twice
    /// the same key for a label that is its own inverse.
    pub fn with_inverse(&self, inverse_type_id: i64) -> [LabelKey; 2] {
        [
            self.clone(),
            LabelKey {
                portal: self.portal,
                from_type: self.to_type.clone(),
                to_type: self.from_type.clone(),
                type_id: inverse_type_id,
            },
        ]
    }
}

/// New display labels for a label and, optionally, its inverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRename {
    pub label: String,
    pub inverse_label: Option<String>,
}

impl LabelRename {
    /// The records to relabel, given the label's inverse type id: the label itself, and
    /// its inverse when an inverse label is given and the label is not its own inverse.
    pub fn targets(&self, key: &LabelKey, inverse_type_id: i64) -> Vec<(LabelKey, &str)> {
        let [own, inverse] = key.with_inverse(inverse_type_id);
        let mut out = vec![(own, self.label.as_str())];
        if let Some(label) = self.inverse_label.as_deref() {
            if inverse_type_id != key.type_id {
                out.push((inverse, label));
            }
        }
        out
    }
}
