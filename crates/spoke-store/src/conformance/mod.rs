//! The storage conformance suite: every backend must pass [`run_all`].
//!
//! Each check is its own `async fn` and works in its own portals, so checks never see each
//! other's rows. A backend's test calls [`run_all`] on a store; any failed expectation
//! panics, which fails that test.
//!
//! The suite never assumes it owns the database: it counts only rows of its own portals, and
//! [`run_all`] picks portal ids no earlier run has used, so it can run again and again on one
//! reused database (a shared Postgres, say). [`run_all_from`] takes a fixed base instead.
//!
//! The [`concurrency`] checks take several handles to one database: the suite passes one,
//! and a backend whose processes share a database can pass several (PostgreSQL's
//! `tests/concurrency.rs` passes two stores), so the same races run between them.

mod search;

pub use search::{Exception, DATES as ODD_DATES, EXCEPTIONS, NUMBERS as ODD_NUMBERS};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};

use spoke_core::property::PropertyType;
use spoke_core::time::{now_millis, Millis};
use spoke_core::{ObjectId, ObjectRecord, PortalId, PropertyDefinition, StoredRecord};

mod admin;
mod associations;
mod batches;
pub mod concurrency;
mod directory;
mod emulator;
mod journal;
mod oauth;
mod pipelines;
mod properties;
mod records;
mod schemas;
mod tokens;
pub mod totals;
mod transfer;
mod value_index;
pub use emulator::a_rules_count_is_spent_exactly_under_racing_firings;
mod webhooks;
pub use journal::listener_changes_reach_another_handle;
pub use transfer::check_transfer;
pub use webhooks::concurrent_claims_never_share_an_event;

use crate::{
    ItemFailure, ItemResult, NewObject, ObjectPatch, PropertyGroup, ReadKeys, ReadOptions, Store,
    Target, UpsertItem, WriteContext, WriteSource,
};

const CONTACTS: &str = "contacts";
const COMPANIES: &str = "companies";
/// A fixed clock for the checks; each write moves it on explicitly.
const T0: Millis = 1_700_000_000_000;
/// An id no backend hands out in a test database.
const UNKNOWN_ID: ObjectId = 9_000_000_000_000_000;

/// Runs every check on `store`, in portals no earlier run used.
pub async fn run_all(store: &dyn Store) {
    run_all_from(store, fresh_base()).await;
}

/// Runs every check on `store`. Check `n` (1-based) works in portal `base + n`, and those
/// that need a second tenant also in `base + 100 + n`; with `base` 1000 the checks use
/// 1001, 1002, ... on a fresh database.
pub async fn run_all_from(store: &dyn Store, base: i64) {
    let p = Portals { base };
    create_returns_ids_and_stored_properties(store, p.of(1)).await;
    history_is_written_newest_first_with_source(store, p.of(2)).await;
    update_changes_values_and_empty_string_clears(store, p.of(3)).await;
    update_of_unknown_archived_or_foreign_id_is_not_found(store, p.of(4), p.other(4)).await;
    unique_value_conflicts_on_create(store, p.of(5), p.other(5)).await;
    unique_value_conflicts_inside_one_batch(store, p.of(6)).await;
    atomic_batch_rolls_back_entirely_on_conflict(store, p.of(7)).await;
    non_atomic_batch_writes_the_other_items(store, p.of(8)).await;
    update_to_held_unique_value_conflicts_and_clearing_frees_it(store, p.of(9)).await;
    archive_frees_unique_values_and_upsert_then_creates(store, p.of(10)).await;
    upsert_creates_then_updates(store, p.of(11)).await;
    read_by_unique_values_in_key_order(store, p.of(12)).await;
    read_archived_returns_only_archived_records(store, p.of(13)).await;
    list_pages_in_ascending_id_order_with_archived_filter(store, p.of(14)).await;
    archive_ignores_unknown_foreign_and_archived_ids(store, p.of(15), p.other(15)).await;
    property_store_insert_update_and_recreate(store, p.of(16), p.other(16)).await;
    put_group_only_new(store, p.of(17)).await;
    token_store_portals_and_tokens(store, p.of(18), p.other(18)).await;
    batches::run_all(store, &p).await;
    search_compares_text_by_the_core_fold(store, p.of(51)).await;
    search::search_matches_the_core_reference(store, p.of(52)).await;
    property_batch_archive_and_bounded_insert_are_one_transaction(store, p.of(41), p.other(41))
        .await;

    associations::links_are_written_and_removed_in_both_directions(store, p.of(31)).await;
    associations::exclusive_types_replace_the_others(store, p.of(32)).await;
    associations::links_need_live_records_of_the_portal(store, p.of(33), p.other(33)).await;
    associations::pages_by_ascending_target_id_with_more(store, p.of(34)).await;
    associations::archived_records_are_hidden_but_keep_their_links(store, p.of(35)).await;
    associations::links_and_labels_are_per_portal(store, p.of(36), p.other(36)).await;
    associations::labels_create_list_update_and_delete(store, p.of(38)).await;

    properties::properties_and_groups_list_by_name_bytewise(store, p.of(75)).await;
    properties::definitions_round_trip_and_groups_are_per_portal(store, p.of(76), p.other(76))
        .await;
    properties::custom_unique_properties_are_enforced_like_email(store, p.of(77), p.other(77))
        .await;
    records::values_are_stored_byte_for_byte(store, p.of(78)).await;
    records::history_is_written_only_on_change(store, p.of(79)).await;
    records::archived_records_are_found_by_their_last_unique_value(store, p.of(80)).await;
    tokens::portals_ascend_and_token_hashes_match_exactly(store, p.of(81), p.other(81)).await;
    records::dropped_calls_leave_all_or_nothing(store, p.of(82)).await;
    directory::a_new_portal_has_its_owner_teams_and_roles(store, p.of(101)).await;
    directory::users_are_written_and_refused_per_portal(store, p.of(102), p.other(102)).await;

    // 115, 116 and 118 are the second tenants of checks 15, 16 and 18.
    pipelines::a_new_portal_gets_the_default_pipelines(store, p.of(111)).await;
    pipelines::writes_are_whole_and_per_portal(store, p.of(112), p.of(113)).await;
    schemas::create_find_list_and_patch(store, p.of(121), p.of(122)).await;
    schemas::names_and_the_limit(store, p.of(123)).await;
    schemas::archive_and_purge(store, p.of(124)).await;
    schemas::definitions_are_added_and_removed(store, p.of(126)).await;

    oauth::apps_are_found_by_id_client_id_and_key_and_deleted_with_their_grants(store, p.of(151))
        .await;
    oauth::codes_are_used_once_and_grants_are_found_by_exact_hash(store, p.of(152)).await;
    oauth::the_authorization_code_flow_runs_on_the_backend(store, p.of(153), p.of(154)).await;

    admin::restore_puts_back_every_row(store, p.of(171)).await;
    admin::reset_empties_and_seeds_again(store, p.of(172), p.other(172)).await;
    admin::create_and_delete_portals(store, p.of(173)).await;
    admin::snapshot_names_are_per_portal(store, p.of(174), p.other(174)).await;
    admin::the_admin_token_is_made_once(store).await;
    emulator::fault_rules_are_stored_spent_and_removed(store, p.of(251)).await;
    emulator::clocks_are_set_advanced_and_per_portal(store, p.of(253), p.other(253)).await;
    emulator::a_clock_is_portal_data(store, p.of(254)).await;

    // Webhooks: checks 201-230 (a second tenant is the next number).
    webhooks::settings_and_subscriptions(store, p.of(201)).await;
    webhooks::record_writes_record_their_events(store, p.of(202)).await;
    webhooks::association_writes_record_their_events(store, p.of(203)).await;
    webhooks::custom_types_are_object_events(store, p.of(204)).await;
    webhooks::who_gets_no_events(store, p.of(205), p.of(206)).await;
    webhooks::claims_leases_retries_and_outcomes(store, p.of(207)).await;
    webhooks::removals_take_their_rows(store, p.of(208), p.of(209)).await;
    journal::run_all(store, &p).await;
    value_index::writes_keep_the_index(store, p.of(351)).await;
    value_index::restore_and_reset_keep_the_index(store, p.of(352)).await;
    value_index::imported_records_are_indexed(store, p.of(353)).await;
    value_index::reindex_makes_the_rows_writes_make(store, p.of(386)).await;
    value_index::reindex_after_updates_and_per_portal(store, p.of(387), p.of(388)).await;
    value_index::reindex_after_imports(store, p.of(389)).await;
    value_index::indexing_makes_the_rows_writes_make(store, p.of(431)).await;
    value_index::only_searched_properties_are_indexed(store, p.of(432)).await;
    value_index::words_are_indexed_for_tokens_only(store, p.of(435)).await;

    let one = [store];
    concurrency::pages_never_repeat_or_skip_under_concurrent_writes(&one, p.of(37)).await;
    concurrency::concurrent_exclusive_links_leave_exactly_one(&one, p.of(39)).await;
    concurrency::concurrent_label_creation_allocates_distinct_type_ids(&one, p.of(40)).await;
    concurrency::concurrent_creates_and_upserts_never_duplicate_a_unique_value(&one, p.of(71))
        .await;
    concurrency::concurrent_creates_get_distinct_ids(&one, p.of(72)).await;
    concurrency::concurrent_patches_of_one_record_lose_no_update(&one, p.of(73)).await;
    concurrency::archive_racing_upserts_keeps_one_holder(&one, p.of(74)).await;
    concurrency::concurrent_directory_writes_keep_ids_distinct_and_emails_unique(&one, p.of(103))
        .await;
    // Its second portal is 128.
    concurrency::concurrent_schema_creates_get_distinct_numbers(&one, p.of(127)).await;
    emulator::a_rules_count_is_spent_exactly_under_racing_firings(&one, p.of(252)).await;
    webhooks::concurrent_claims_never_share_an_event(&one, p.of(210)).await;
    concurrency::indexing_racing_writes_misses_no_record(&one, p.of(433)).await;
    concurrency::indexing_in_steps_racing_updates_misses_no_record(&one, p.of(434)).await;
    totals::run_all(store, &p).await;
}

/// A base no earlier run used: the clock in milliseconds, spread so that two runs in one
/// process within the same millisecond still differ.
fn fresh_base() -> i64 {
    static RUNS: AtomicI64 = AtomicI64::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed) % 16;
    (now_millis() * 16 + run) * 1000
}

struct Portals {
    base: i64,
}

impl Portals {
    fn of(&self, check: i64) -> PortalId {
        PortalId(self.base + check)
    }
    fn other(&self, check: i64) -> PortalId {
        PortalId(self.base + 100 + check)
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ctx(portal: PortalId, object_type: &str, now: Millis) -> WriteContext {
    WriteContext {
        portal,
        object_type: object_type.to_owned(),
        now,
        source: WriteSource {
            source_type: "INTEGRATION".to_owned(),
            source_id: Some("conformance".to_owned()),
        },
        unique_properties: vec!["email".to_owned()],
        atomic: false,
    }
}

fn atomic(mut c: WriteContext) -> WriteContext {
    c.atomic = true;
    c
}

const LIVE: ReadOptions<'static> = ReadOptions {
    archived: false,
    history: &[],
};
const ARCHIVED: ReadOptions<'static> = ReadOptions {
    archived: true,
    history: &[],
};

fn new(pairs: &[(&str, &str)]) -> NewObject {
    NewObject {
        properties: props(pairs),
        associations: Vec::new(),
    }
}

fn patch(id: ObjectId, pairs: &[(&str, &str)]) -> ObjectPatch {
    ObjectPatch {
        target: Target::Id(id),
        properties: props(pairs),
    }
}

fn ok<T: Clone>(r: &ItemResult<T>, what: &str) -> T {
    match r {
        Ok(v) => v.clone(),
        Err(e) => panic!("{what}: expected success, got {e:?}"),
    }
}

async fn create_one(store: &dyn Store, c: &WriteContext, pairs: &[(&str, &str)]) -> ObjectRecord {
    let out = store
        .create_objects(c, vec![new(pairs)])
        .await
        .expect("create_objects failed");
    assert_eq!(out.len(), 1, "create_objects: one outcome per item");
    ok(&out[0], "create_objects")
}

async fn read_one(
    store: &dyn Store,
    portal: PortalId,
    object_type: &str,
    id: ObjectId,
    options: ReadOptions<'_>,
) -> Option<ObjectRecord> {
    let mut out = store
        .read_objects(portal, object_type, ReadKeys::Ids(vec![id]), options)
        .await
        .expect("read_objects failed");
    assert_eq!(out.len(), 1, "read_objects: one entry per key");
    out.pop().flatten().map(decoded)
}

/// A read record with its stored values decoded; they must be a JSON object of strings.
fn decoded(record: StoredRecord) -> ObjectRecord {
    record
        .decode()
        .expect("stored values decode into a map of strings")
}

async fn read_unique(
    store: &dyn Store,
    portal: PortalId,
    object_type: &str,
    property: &str,
    value: &str,
    options: ReadOptions<'_>,
) -> Option<ObjectRecord> {
    let keys = ReadKeys::Unique {
        property: property.to_owned(),
        values: vec![value.to_owned()],
    };
    let mut out = store
        .read_objects(portal, object_type, keys, options)
        .await
        .expect("read_objects by unique value failed");
    assert_eq!(out.len(), 1, "read_objects: one entry per unique value");
    out.pop().flatten().map(decoded)
}

async fn list_all(
    store: &dyn Store,
    portal: PortalId,
    object_type: &str,
    options: ReadOptions<'_>,
) -> Vec<ObjectRecord> {
    store
        .list_objects(portal, object_type, None, 1000, options)
        .await
        .expect("list_objects failed")
        .into_iter()
        .map(decoded)
        .collect()
}

fn assert_conflict(
    r: &ItemResult<ObjectRecord>,
    property: &str,
    value: &str,
    existing_id: ObjectId,
    what: &str,
) {
    assert_eq!(
        r.as_ref().err(),
        Some(&ItemFailure::Conflict {
            property: property.to_owned(),
            value: value.to_owned(),
            existing_id,
        }),
        "{what}: expected a conflict on {property}={value} held by {existing_id}, got {r:?}"
    );
}

/// A plain custom string property, for backend-specific tests beside this suite.
pub fn prop_def(name: &str, label: &str) -> PropertyDefinition {
    PropertyDefinition {
        name: name.to_owned(),
        label: label.to_owned(),
        kind: PropertyType::String,
        field_type: "text".to_owned(),
        description: String::new(),
        group_name: "contactinformation".to_owned(),
        options: Vec::new(),
        display_order: 0,
        calculated: false,
        external_options: false,
        has_unique_value: false,
        hidden: false,
        hubspot_defined: false,
        form_field: true,
        read_only_value: false,
        read_only_definition: false,
        archivable: true,
        created_at: Some(T0),
        updated_at: Some(T0),
        archived: false,
        archived_at: None,
    }
}

// ---------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------

async fn create_returns_ids_and_stored_properties(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let out = store
        .create_objects(
            &c,
            vec![
                new(&[("email", "ada@example.com"), ("firstname", "Ada")]),
                new(&[("firstname", "Grace"), ("lastname", "Hopper")]),
                new(&[]),
            ],
        )
        .await
        .expect("create_objects failed");
    assert_eq!(out.len(), 3, "create_objects: one outcome per item");
    let records: Vec<ObjectRecord> = out.iter().map(|r| ok(r, "create_objects")).collect();

    let ids: Vec<ObjectId> = records.iter().map(|r| r.id).collect();
    assert!(ids.iter().all(|id| *id > 0), "ids are positive: {ids:?}");
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids of one batch are distinct and ascending in item order: {ids:?}"
    );

    let first = &records[0];
    assert_eq!(
        first.properties,
        props(&[("email", "ada@example.com"), ("firstname", "Ada")]),
        "create_objects returns the stored properties"
    );
    assert_eq!(first.created_at, T0, "created_at is the write's `now`");
    assert_eq!(first.updated_at, T0, "updated_at is the write's `now`");
    assert_eq!(first.archived_at, None, "a new record is live");
    assert!(
        first.history.is_empty(),
        "create_objects returns no history"
    );
    assert!(
        records[2].properties.is_empty(),
        "a record may have no properties"
    );

    for record in &records {
        let stored = read_one(store, portal, CONTACTS, record.id, LIVE)
            .await
            .expect("a created record can be read back");
        assert_eq!(
            &stored, record,
            "read_objects returns what create_objects returned"
        );
    }
    let listed = list_all(store, portal, CONTACTS, LIVE).await;
    assert_eq!(
        listed, records,
        "list_objects shows exactly the created records"
    );
    assert!(
        list_all(store, portal, COMPANIES, LIVE).await.is_empty(),
        "records of one type are not listed under another"
    );
}

async fn history_is_written_newest_first_with_source(store: &dyn Store, portal: PortalId) {
    let c1 = ctx(portal, CONTACTS, T0);
    let created = create_one(
        store,
        &c1,
        &[("firstname", "Ada"), ("email", "ada@example.com")],
    )
    .await;

    let mut c2 = ctx(portal, CONTACTS, T0 + 1000);
    c2.source = WriteSource {
        source_type: "CRM_UI".to_owned(),
        source_id: None,
    };
    let out = store
        .update_objects(&c2, vec![patch(created.id, &[("firstname", "Augusta")])])
        .await
        .expect("update_objects failed");
    ok(&out[0], "update firstname");

    let mut c3 = ctx(portal, CONTACTS, T0 + 2000);
    c3.source = WriteSource {
        source_type: "IMPORT".to_owned(),
        source_id: Some("import-7".to_owned()),
    };
    let out = store
        .update_objects(&c3, vec![patch(created.id, &[("firstname", "")])])
        .await
        .expect("update_objects failed");
    ok(&out[0], "clear firstname");

    let names = vec![
        "firstname".to_owned(),
        "email".to_owned(),
        "lastname".to_owned(),
    ];
    let options = ReadOptions {
        archived: false,
        history: &names,
    };
    let record = read_one(store, portal, CONTACTS, created.id, options)
        .await
        .expect("record exists");

    let firstname = record
        .history
        .get("firstname")
        .expect("history of a requested property is present");
    let values: Vec<&str> = firstname.iter().map(|h| h.value.as_str()).collect();
    assert_eq!(
        values,
        ["", "Augusta", "Ada"],
        "history is newest first, clears included"
    );
    let times: Vec<Millis> = firstname.iter().map(|h| h.timestamp).collect();
    assert_eq!(
        times,
        [T0 + 2000, T0 + 1000, T0],
        "history timestamps are the writes' `now`"
    );
    let sources: Vec<(&str, Option<&str>)> = firstname
        .iter()
        .map(|h| (h.source_type.as_str(), h.source_id.as_deref()))
        .collect();
    assert_eq!(
        sources,
        [
            ("IMPORT", Some("import-7")),
            ("CRM_UI", None),
            ("INTEGRATION", Some("conformance")),
        ],
        "history records each write's source"
    );

    let email = record
        .history
        .get("email")
        .expect("email history is present");
    assert_eq!(
        email.len(),
        1,
        "an untouched property keeps its one entry: {email:?}"
    );
    assert_eq!(email[0].value, "ada@example.com");
    assert_eq!(email[0].timestamp, T0);

    assert!(
        record.history.get("lastname").is_none_or(Vec::is_empty),
        "a property never written has no history"
    );
    assert!(
        !record.history.contains_key("hs_unrequested"),
        "only requested properties carry history"
    );

    let plain = read_one(store, portal, CONTACTS, created.id, LIVE)
        .await
        .expect("record exists");
    assert!(plain.history.is_empty(), "no history unless asked for");

    let listed = store
        .list_objects(portal, CONTACTS, None, 10, options)
        .await
        .expect("list_objects failed");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].history.get("firstname").map(Vec::len),
        Some(3),
        "list_objects loads requested history too"
    );
}

async fn update_changes_values_and_empty_string_clears(store: &dyn Store, portal: PortalId) {
    let created = create_one(
        store,
        &ctx(portal, CONTACTS, T0),
        &[
            ("firstname", "Ada"),
            ("lastname", "Byron"),
            ("email", "ada@example.com"),
        ],
    )
    .await;

    let c = ctx(portal, CONTACTS, T0 + 500);
    let out = store
        .update_objects(
            &c,
            vec![patch(
                created.id,
                &[
                    ("lastname", "Lovelace"),
                    ("firstname", ""),
                    ("company", "Analytical"),
                ],
            )],
        )
        .await
        .expect("update_objects failed");
    assert_eq!(out.len(), 1);
    let updated = ok(&out[0], "update_objects");
    let expected = props(&[
        ("lastname", "Lovelace"),
        ("email", "ada@example.com"),
        ("company", "Analytical"),
    ]);
    assert_eq!(updated.id, created.id);
    assert_eq!(
        updated.properties, expected,
        "update sets values, keeps untouched ones, and \"\" removes a value"
    );
    assert!(
        !updated.properties.contains_key("firstname"),
        "a cleared property is absent, not stored as \"\""
    );
    assert_eq!(updated.created_at, T0, "update keeps created_at");
    assert_eq!(
        updated.updated_at,
        T0 + 500,
        "update moves updated_at to `now`"
    );

    let stored = read_one(store, portal, CONTACTS, created.id, LIVE)
        .await
        .expect("record exists");
    assert_eq!(
        stored, updated,
        "read_objects returns what update_objects returned"
    );

    // A patch by unique value names the same record.
    let c = ctx(portal, CONTACTS, T0 + 600);
    let out = store
        .update_objects(
            &c,
            vec![ObjectPatch {
                target: Target::Unique {
                    property: "email".to_owned(),
                    value: "ada@example.com".to_owned(),
                },
                properties: props(&[("firstname", "Augusta")]),
            }],
        )
        .await
        .expect("update_objects failed");
    let by_email = ok(&out[0], "update by unique value");
    assert_eq!(by_email.id, created.id, "Target::Unique finds the holder");
    assert_eq!(
        by_email.properties.get("firstname").map(String::as_str),
        Some("Augusta")
    );

    // Clearing a property that was never set is harmless.
    let out = store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 700),
            vec![patch(created.id, &[("phone", "")])],
        )
        .await
        .expect("update_objects failed");
    let r = ok(&out[0], "clear an unset property");
    assert!(!r.properties.contains_key("phone"));

    // Several patches of one batch, each with its own outcome.
    let other = create_one(store, &ctx(portal, CONTACTS, T0), &[("firstname", "Grace")]).await;
    let out = store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 800),
            vec![
                patch(created.id, &[("jobtitle", "Countess")]),
                patch(UNKNOWN_ID, &[("jobtitle", "Nobody")]),
                patch(other.id, &[("jobtitle", "Admiral")]),
            ],
        )
        .await
        .expect("update_objects failed");
    assert_eq!(out.len(), 3, "update_objects: one outcome per item");
    assert_eq!(
        ok(&out[0], "patch 1")
            .properties
            .get("jobtitle")
            .map(String::as_str),
        Some("Countess")
    );
    assert_eq!(
        out[1].as_ref().err(),
        Some(&ItemFailure::NotFound),
        "unknown id in a batch"
    );
    assert_eq!(
        ok(&out[2], "patch 3")
            .properties
            .get("jobtitle")
            .map(String::as_str),
        Some("Admiral")
    );
}

async fn update_of_unknown_archived_or_foreign_id_is_not_found(
    store: &dyn Store,
    portal: PortalId,
    other_portal: PortalId,
) {
    let mine = create_one(store, &ctx(portal, CONTACTS, T0), &[("firstname", "Mine")]).await;
    let archived = create_one(store, &ctx(portal, CONTACTS, T0), &[("firstname", "Gone")]).await;
    store
        .archive_objects(portal, CONTACTS, vec![archived.id], T0 + 10)
        .await
        .expect("archive_objects failed");
    let foreign = create_one(
        store,
        &ctx(other_portal, CONTACTS, T0),
        &[("firstname", "Theirs")],
    )
    .await;
    let company = create_one(store, &ctx(portal, COMPANIES, T0), &[("name", "Acme")]).await;

    let c = ctx(portal, CONTACTS, T0 + 100);
    let cases = [
        (UNKNOWN_ID, "an unknown id"),
        (archived.id, "an archived record"),
        (foreign.id, "another portal's record"),
        (company.id, "a record of another object type"),
    ];
    for (id, what) in cases {
        let out = store
            .update_objects(&c, vec![patch(id, &[("firstname", "Hijacked")])])
            .await
            .expect("update_objects failed");
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].as_ref().err(),
            Some(&ItemFailure::NotFound),
            "updating {what} is NotFound"
        );
        assert!(
            read_one(store, portal, CONTACTS, id, LIVE).await.is_none(),
            "reading {what} as a live {CONTACTS} of this portal finds nothing"
        );
    }

    // A patch by unique value never reaches another tenant's record.
    let theirs = create_one(
        store,
        &ctx(other_portal, CONTACTS, T0),
        &[("email", "theirs@example.com")],
    )
    .await;
    let out = store
        .update_objects(
            &c,
            vec![ObjectPatch {
                target: Target::Unique {
                    property: "email".to_owned(),
                    value: "theirs@example.com".to_owned(),
                },
                properties: props(&[("firstname", "Hijacked")]),
            }],
        )
        .await
        .expect("update_objects failed");
    assert_eq!(
        out[0].as_ref().err(),
        Some(&ItemFailure::NotFound),
        "unique value of another portal"
    );
    assert!(
        read_unique(store, portal, CONTACTS, "email", "theirs@example.com", LIVE)
            .await
            .is_none(),
        "another portal's unique value is invisible"
    );

    // Nothing above touched the other records.
    let foreign_now = read_one(store, other_portal, CONTACTS, foreign.id, LIVE)
        .await
        .expect("the other portal's record is still there");
    assert_eq!(foreign_now, foreign, "another portal's record is unchanged");
    let theirs_now = read_one(store, other_portal, CONTACTS, theirs.id, LIVE)
        .await
        .expect("the other portal's record is still there");
    assert_eq!(theirs_now, theirs, "another portal's record is unchanged");
    let company_now = read_one(store, portal, COMPANIES, company.id, LIVE)
        .await
        .expect("the company is still there");
    assert_eq!(
        company_now, company,
        "a record of another type is unchanged"
    );
    let archived_now = read_one(store, portal, CONTACTS, archived.id, ARCHIVED)
        .await
        .expect("the archived record is still archived");
    assert_eq!(
        archived_now.properties, archived.properties,
        "an archived record is unchanged"
    );
    let mine_now = read_one(store, portal, CONTACTS, mine.id, LIVE)
        .await
        .expect("own record exists");
    assert_eq!(mine_now, mine, "no update reached an unrelated record");
}

async fn unique_value_conflicts_on_create(
    store: &dyn Store,
    portal: PortalId,
    other_portal: PortalId,
) {
    let c = ctx(portal, CONTACTS, T0);
    let holder = create_one(store, &c, &[("email", "taken@example.com")]).await;

    let out = store
        .create_objects(
            &c,
            vec![new(&[("email", "taken@example.com"), ("firstname", "Dup")])],
        )
        .await
        .expect("create_objects failed");
    assert_eq!(out.len(), 1);
    assert_conflict(
        &out[0],
        "email",
        "taken@example.com",
        holder.id,
        "create with a held value",
    );
    assert_eq!(
        list_all(store, portal, CONTACTS, LIVE).await.len(),
        1,
        "a conflicting create writes nothing"
    );

    // A property that is not unique may repeat.
    let a = create_one(store, &c, &[("firstname", "Same")]).await;
    let b = create_one(store, &c, &[("firstname", "Same")]).await;
    assert_ne!(a.id, b.id);

    // Uniqueness is per portal and per object type.
    create_one(
        store,
        &ctx(other_portal, CONTACTS, T0),
        &[("email", "taken@example.com")],
    )
    .await;
    create_one(
        store,
        &ctx(portal, COMPANIES, T0),
        &[("email", "taken@example.com")],
    )
    .await;

    let found = read_unique(store, portal, CONTACTS, "email", "taken@example.com", LIVE)
        .await
        .expect("the holder is found by its value");
    assert_eq!(found.id, holder.id, "the original holder keeps the value");
}

async fn unique_value_conflicts_inside_one_batch(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let out = store
        .create_objects(
            &c,
            vec![
                new(&[("email", "twin@example.com"), ("firstname", "First")]),
                new(&[("email", "twin@example.com"), ("firstname", "Second")]),
                new(&[("email", "single@example.com")]),
            ],
        )
        .await
        .expect("create_objects failed");
    assert_eq!(out.len(), 3, "non-atomic: one outcome per item");
    let first = ok(&out[0], "first of two equal values");
    assert_conflict(
        &out[1],
        "email",
        "twin@example.com",
        first.id,
        "second of two equal values",
    );
    let single = ok(&out[2], "item after the conflict");

    let listed = list_all(store, portal, CONTACTS, LIVE).await;
    let ids: Vec<ObjectId> = listed.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [first.id, single.id],
        "the conflicting item was not written"
    );
    assert_eq!(
        listed[0].properties.get("firstname").map(String::as_str),
        Some("First"),
        "the first writer keeps the value"
    );
}

async fn atomic_batch_rolls_back_entirely_on_conflict(store: &dyn Store, portal: PortalId) {
    let plain = ctx(portal, CONTACTS, T0);
    let holder = create_one(
        store,
        &plain,
        &[("email", "held@example.com"), ("firstname", "Holder")],
    )
    .await;

    // Create: the items before the conflict must not survive either.
    let c = atomic(ctx(portal, CONTACTS, T0 + 100));
    let out = store
        .create_objects(
            &c,
            vec![
                new(&[("email", "fresh@example.com")]),
                new(&[("email", "held@example.com")]),
                new(&[("email", "later@example.com")]),
            ],
        )
        .await
        .expect("create_objects failed");
    assert!(out.len() <= 3, "no more outcomes than items");
    let conflict = out
        .get(1)
        .expect("the outcome of the conflicting item is reported");
    assert_conflict(
        conflict,
        "email",
        "held@example.com",
        holder.id,
        "atomic create",
    );

    let listed = list_all(store, portal, CONTACTS, LIVE).await;
    let ids: Vec<ObjectId> = listed.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [holder.id],
        "an atomic batch with a conflict writes nothing"
    );
    assert!(list_all(store, portal, CONTACTS, ARCHIVED).await.is_empty());
    for value in ["fresh@example.com", "later@example.com"] {
        assert!(
            read_unique(store, portal, CONTACTS, "email", value, LIVE)
                .await
                .is_none(),
            "a rolled back item holds no unique value ({value})"
        );
    }
    // The rolled back values are free.
    create_one(store, &plain, &[("email", "fresh@example.com")]).await;

    // Update: a change before the conflict is undone too.
    let other = create_one(
        store,
        &plain,
        &[("email", "other@example.com"), ("firstname", "Other")],
    )
    .await;
    let c = atomic(ctx(portal, CONTACTS, T0 + 200));
    let out = store
        .update_objects(
            &c,
            vec![
                patch(holder.id, &[("firstname", "Changed")]),
                patch(other.id, &[("email", "held@example.com")]),
            ],
        )
        .await
        .expect("update_objects failed");
    let conflict = out
        .get(1)
        .expect("the outcome of the conflicting item is reported");
    assert_conflict(
        conflict,
        "email",
        "held@example.com",
        holder.id,
        "atomic update",
    );
    let holder_now = read_one(store, portal, CONTACTS, holder.id, LIVE)
        .await
        .expect("holder exists");
    assert_eq!(
        holder_now, holder,
        "an atomic update batch with a conflict changes nothing"
    );
    let other_now = read_one(store, portal, CONTACTS, other.id, LIVE)
        .await
        .expect("other exists");
    assert_eq!(other_now, other, "the conflicting record is unchanged");
    let names = vec!["firstname".to_owned()];
    let with_history = read_one(
        store,
        portal,
        CONTACTS,
        holder.id,
        ReadOptions {
            archived: false,
            history: &names,
        },
    )
    .await
    .expect("holder exists");
    assert_eq!(
        with_history.history.get("firstname").map(Vec::len),
        Some(1),
        "a rolled back update leaves no history"
    );

    // Upsert: a creation before the conflict is undone.
    let c = atomic(ctx(portal, CONTACTS, T0 + 300));
    let out = store
        .upsert_objects(
            &c,
            "email",
            vec![
                UpsertItem {
                    value: "upserted@example.com".to_owned(),
                    properties: props(&[("firstname", "New")]),
                },
                UpsertItem {
                    value: "other@example.com".to_owned(),
                    properties: props(&[("email", "held@example.com")]),
                },
            ],
        )
        .await
        .expect("upsert_objects failed");
    let conflict = out
        .get(1)
        .expect("the outcome of the conflicting item is reported")
        .as_ref()
        .err();
    assert_eq!(
        conflict,
        Some(&ItemFailure::Conflict {
            property: "email".to_owned(),
            value: "held@example.com".to_owned(),
            existing_id: holder.id,
        }),
        "atomic upsert reports the conflict"
    );
    assert!(
        read_unique(
            store,
            portal,
            CONTACTS,
            "email",
            "upserted@example.com",
            LIVE
        )
        .await
        .is_none(),
        "an atomic upsert batch with a conflict creates nothing"
    );
}

async fn non_atomic_batch_writes_the_other_items(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let holder = create_one(store, &c, &[("email", "held@example.com")]).await;
    let out = store
        .create_objects(
            &ctx(portal, CONTACTS, T0 + 100),
            vec![
                new(&[("email", "fresh@example.com")]),
                new(&[("email", "held@example.com")]),
                new(&[("email", "later@example.com")]),
            ],
        )
        .await
        .expect("create_objects failed");
    assert_eq!(out.len(), 3, "non-atomic: one outcome per item");
    let fresh = ok(&out[0], "item before the conflict");
    assert_conflict(
        &out[1],
        "email",
        "held@example.com",
        holder.id,
        "non-atomic create",
    );
    let later = ok(&out[2], "item after the conflict");

    let listed = list_all(store, portal, CONTACTS, LIVE).await;
    let ids: Vec<ObjectId> = listed.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [holder.id, fresh.id, later.id],
        "the other items were written"
    );

    // Update: the non-conflicting patch applies.
    let out = store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 200),
            vec![
                patch(fresh.id, &[("firstname", "Applied")]),
                patch(later.id, &[("email", "held@example.com")]),
            ],
        )
        .await
        .expect("update_objects failed");
    assert_eq!(out.len(), 2);
    ok(&out[0], "patch beside a conflict");
    assert_conflict(
        &out[1],
        "email",
        "held@example.com",
        holder.id,
        "non-atomic update",
    );
    let fresh_now = read_one(store, portal, CONTACTS, fresh.id, LIVE)
        .await
        .expect("record exists");
    assert_eq!(
        fresh_now.properties.get("firstname").map(String::as_str),
        Some("Applied")
    );
    let later_now = read_one(store, portal, CONTACTS, later.id, LIVE)
        .await
        .expect("record exists");
    assert_eq!(later_now, later, "the conflicting patch changed nothing");
}

async fn update_to_held_unique_value_conflicts_and_clearing_frees_it(
    store: &dyn Store,
    portal: PortalId,
) {
    let c = ctx(portal, CONTACTS, T0);
    let a = create_one(store, &c, &[("email", "a@example.com")]).await;
    let b = create_one(store, &c, &[("email", "b@example.com")]).await;

    let out = store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 1),
            vec![patch(b.id, &[("email", "a@example.com")])],
        )
        .await
        .expect("update_objects failed");
    assert_conflict(
        &out[0],
        "email",
        "a@example.com",
        a.id,
        "update to a held value",
    );
    let b_now = read_one(store, portal, CONTACTS, b.id, LIVE)
        .await
        .expect("b exists");
    assert_eq!(b_now, b, "a conflicting update changes nothing");

    // Setting a record's own value again is no conflict.
    let out = store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 2),
            vec![patch(a.id, &[("email", "a@example.com")])],
        )
        .await
        .expect("update_objects failed");
    ok(&out[0], "re-setting a record's own unique value");

    // Clearing frees the value for another record.
    let out = store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 3),
            vec![patch(a.id, &[("email", "")])],
        )
        .await
        .expect("update_objects failed");
    let a_now = ok(&out[0], "clear a unique value");
    assert!(!a_now.properties.contains_key("email"));
    assert!(
        read_unique(store, portal, CONTACTS, "email", "a@example.com", LIVE)
            .await
            .is_none(),
        "a cleared unique value names no record"
    );
    let out = store
        .update_objects(
            &ctx(portal, CONTACTS, T0 + 4),
            vec![patch(b.id, &[("email", "a@example.com")])],
        )
        .await
        .expect("update_objects failed");
    ok(&out[0], "take over a freed unique value");
    assert_eq!(
        read_unique(store, portal, CONTACTS, "email", "a@example.com", LIVE)
            .await
            .map(|r| r.id),
        Some(b.id),
        "the new holder is found by the value"
    );

    // Changing a value frees the old one.
    assert!(
        read_unique(store, portal, CONTACTS, "email", "b@example.com", LIVE)
            .await
            .is_none(),
        "a replaced unique value names no record"
    );
    create_one(store, &c, &[("email", "b@example.com")]).await;
}

async fn archive_frees_unique_values_and_upsert_then_creates(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let old = create_one(
        store,
        &c,
        &[("email", "reborn@example.com"), ("firstname", "Old")],
    )
    .await;
    store
        .archive_objects(portal, CONTACTS, vec![old.id], T0 + 100)
        .await
        .expect("archive_objects failed");

    assert!(
        read_unique(store, portal, CONTACTS, "email", "reborn@example.com", LIVE)
            .await
            .is_none(),
        "an archived record's unique value names no live record"
    );
    let out = store
        .upsert_objects(
            &ctx(portal, CONTACTS, T0 + 200),
            "email",
            vec![UpsertItem {
                value: "reborn@example.com".to_owned(),
                properties: props(&[("firstname", "New")]),
            }],
        )
        .await
        .expect("upsert_objects failed");
    assert_eq!(out.len(), 1);
    let up = ok(&out[0], "upsert on an archived record's value");
    assert!(
        up.created,
        "upsert on a value freed by archiving creates a record"
    );
    assert_ne!(up.record.id, old.id, "the new record has a new id");
    assert_eq!(
        up.record.properties,
        props(&[("email", "reborn@example.com"), ("firstname", "New")])
    );

    let archived = read_one(store, portal, CONTACTS, old.id, ARCHIVED)
        .await
        .expect("the archived record stays readable as archived");
    assert_eq!(
        archived.properties.get("firstname").map(String::as_str),
        Some("Old")
    );
    assert_eq!(archived.archived_at, Some(T0 + 100));

    // A plain create may also take a value freed by archiving.
    let second = create_one(store, &c, &[("email", "second@example.com")]).await;
    store
        .archive_objects(portal, CONTACTS, vec![second.id], T0 + 300)
        .await
        .expect("archive_objects failed");
    create_one(store, &c, &[("email", "second@example.com")]).await;
}

async fn upsert_creates_then_updates(store: &dyn Store, portal: PortalId) {
    let out = store
        .upsert_objects(
            &ctx(portal, CONTACTS, T0),
            "email",
            vec![
                UpsertItem {
                    value: "up@example.com".to_owned(),
                    properties: props(&[("firstname", "Up"), ("lastname", "")]),
                },
                UpsertItem {
                    value: "other@example.com".to_owned(),
                    properties: props(&[("firstname", "Other")]),
                },
            ],
        )
        .await
        .expect("upsert_objects failed");
    assert_eq!(out.len(), 2, "upsert: one outcome per item");
    let first = ok(&out[0], "upsert create failed");
    assert!(first.created, "an unknown value creates a record");
    assert_eq!(
        first.record.properties,
        props(&[("email", "up@example.com"), ("firstname", "Up")]),
        "a created record holds its id property value and no empty values"
    );
    assert_eq!(first.record.created_at, T0);
    let second = ok(&out[1], "upsert create failed");
    assert!(second.created);
    assert_ne!(first.record.id, second.record.id);

    let out = store
        .upsert_objects(
            &ctx(portal, CONTACTS, T0 + 100),
            "email",
            vec![UpsertItem {
                value: "up@example.com".to_owned(),
                properties: props(&[("firstname", ""), ("lastname", "Dated")]),
            }],
        )
        .await
        .expect("upsert_objects failed");
    let again = ok(&out[0], "upsert update failed");
    assert!(!again.created, "a known value updates its record");
    assert_eq!(
        again.record.id, first.record.id,
        "the update hits the same record"
    );
    assert_eq!(
        again.record.properties,
        props(&[("email", "up@example.com"), ("lastname", "Dated")]),
        "an upsert update sets values and \"\" clears"
    );
    assert_eq!(again.record.created_at, T0);
    assert_eq!(again.record.updated_at, T0 + 100);

    let stored = read_one(store, portal, CONTACTS, first.record.id, LIVE)
        .await
        .expect("record exists");
    assert_eq!(
        stored, again.record,
        "read_objects returns what upsert_objects returned"
    );
    assert_eq!(
        list_all(store, portal, CONTACTS, LIVE).await.len(),
        2,
        "no extra records"
    );

    // An upsert update may not take another record's unique value.
    let out = store
        .upsert_objects(
            &ctx(portal, CONTACTS, T0 + 200),
            "email",
            vec![UpsertItem {
                value: "up@example.com".to_owned(),
                properties: props(&[("email", "other@example.com")]),
            }],
        )
        .await
        .expect("upsert_objects failed");
    assert_eq!(
        out[0].as_ref().err(),
        Some(&ItemFailure::Conflict {
            property: "email".to_owned(),
            value: "other@example.com".to_owned(),
            existing_id: second.record.id,
        }),
        "an upsert update to a held value conflicts"
    );
}

async fn read_by_unique_values_in_key_order(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let a = create_one(store, &c, &[("email", "a@example.com")]).await;
    let b = create_one(store, &c, &[("email", "b@example.com")]).await;
    let keys = ReadKeys::Unique {
        property: "email".to_owned(),
        values: vec![
            "b@example.com".to_owned(),
            "missing@example.com".to_owned(),
            "a@example.com".to_owned(),
        ],
    };
    let out = store
        .read_objects(portal, CONTACTS, keys, LIVE)
        .await
        .expect("read_objects failed");
    let ids: Vec<Option<ObjectId>> = out.iter().map(|r| r.as_ref().map(|r| r.id)).collect();
    assert_eq!(
        ids,
        [Some(b.id), None, Some(a.id)],
        "one entry per value, in key order"
    );
    assert_eq!(
        out[0].clone().map(decoded),
        Some(b.clone()),
        "the full record is returned"
    );

    let out = store
        .read_objects(
            portal,
            CONTACTS,
            ReadKeys::Ids(vec![a.id, UNKNOWN_ID, b.id, a.id]),
            LIVE,
        )
        .await
        .expect("read_objects failed");
    let ids: Vec<Option<ObjectId>> = out.iter().map(|r| r.as_ref().map(|r| r.id)).collect();
    assert_eq!(
        ids,
        [Some(a.id), None, Some(b.id), Some(a.id)],
        "one entry per id, in key order, repeats included"
    );

    let out = store
        .read_objects(portal, CONTACTS, ReadKeys::Ids(Vec::new()), LIVE)
        .await
        .expect("read_objects failed");
    assert!(out.is_empty(), "no keys, no entries");
}

async fn read_archived_returns_only_archived_records(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let live = create_one(store, &c, &[("email", "live@example.com")]).await;
    let gone = create_one(
        store,
        &c,
        &[("email", "gone@example.com"), ("firstname", "Gone")],
    )
    .await;
    store
        .archive_objects(portal, CONTACTS, vec![gone.id], T0 + 50)
        .await
        .expect("archive_objects failed");

    let ids = ReadKeys::Ids(vec![live.id, gone.id]);
    let out = store
        .read_objects(portal, CONTACTS, ids.clone(), ARCHIVED)
        .await
        .expect("read_objects failed");
    assert!(
        out[0].is_none(),
        "archived=true does not return live records"
    );
    let archived = out[1]
        .as_ref()
        .expect("archived=true returns archived records");
    assert_eq!(archived.id, gone.id);
    assert_eq!(
        archived.archived_at,
        Some(T0 + 50),
        "archived_at is the archive's `now`"
    );
    assert_eq!(
        decoded(archived.clone()).properties,
        gone.properties,
        "an archived record keeps its values"
    );

    let out = store
        .read_objects(portal, CONTACTS, ids, LIVE)
        .await
        .expect("read_objects failed");
    assert_eq!(
        out[0].clone().map(decoded),
        Some(live),
        "archived=false returns live records"
    );
    assert!(
        out[1].is_none(),
        "archived=false does not return archived records"
    );

    let by_value = read_unique(
        store,
        portal,
        CONTACTS,
        "email",
        "gone@example.com",
        ARCHIVED,
    )
    .await
    .expect("an archived record is found by its former unique value with archived=true");
    assert_eq!(by_value.id, gone.id);
    assert!(by_value.archived_at.is_some());
    assert!(
        read_unique(
            store,
            portal,
            CONTACTS,
            "email",
            "live@example.com",
            ARCHIVED
        )
        .await
        .is_none(),
        "archived=true by unique value does not return live records"
    );

    let names = vec!["firstname".to_owned()];
    let with_history = read_one(
        store,
        portal,
        CONTACTS,
        gone.id,
        ReadOptions {
            archived: true,
            history: &names,
        },
    )
    .await
    .expect("archived record exists");
    assert_eq!(
        with_history.history.get("firstname").map(Vec::len),
        Some(1),
        "archived records keep their history"
    );
}

async fn list_pages_in_ascending_id_order_with_archived_filter(
    store: &dyn Store,
    portal: PortalId,
) {
    let c = ctx(portal, CONTACTS, T0);
    let mut ids = Vec::new();
    for i in 0..5 {
        let n = i.to_string();
        ids.push(create_one(store, &c, &[("firstname", n.as_str())]).await.id);
    }
    // A record of another type in the same portal never shows up.
    create_one(store, &ctx(portal, COMPANIES, T0), &[("name", "Acme")]).await;

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_objects(portal, CONTACTS, after, 2, LIVE)
            .await
            .expect("list_objects failed");
        assert!(page.len() <= 2, "a page holds at most `limit` records");
        pages += 1;
        assert!(pages <= 4, "paging terminates");
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        seen.extend(page.iter().map(|r| r.id));
    }
    assert_eq!(
        seen, ids,
        "paging visits every record once, by ascending id"
    );
    assert_eq!(
        pages, 4,
        "5 records in pages of 2: 2 + 2 + 1, then an empty page"
    );

    let tail = store
        .list_objects(portal, CONTACTS, Some(ids[2]), 10, LIVE)
        .await
        .expect("list_objects failed");
    let tail_ids: Vec<ObjectId> = tail.iter().map(|r| r.id).collect();
    assert_eq!(tail_ids, ids[3..], "`after` is exclusive");

    store
        .archive_objects(portal, CONTACTS, vec![ids[1], ids[3]], T0 + 10)
        .await
        .expect("archive_objects failed");
    let live: Vec<ObjectId> = list_all(store, portal, CONTACTS, LIVE)
        .await
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        live,
        [ids[0], ids[2], ids[4]],
        "archived=false lists live records only"
    );
    let archived = list_all(store, portal, CONTACTS, ARCHIVED).await;
    let archived_ids: Vec<ObjectId> = archived.iter().map(|r| r.id).collect();
    assert_eq!(
        archived_ids,
        [ids[1], ids[3]],
        "archived=true lists archived records only"
    );
    assert!(
        archived.iter().all(|r| r.archived_at == Some(T0 + 10)),
        "listed archived records carry archived_at"
    );
    let page = store
        .list_objects(portal, CONTACTS, Some(ids[0]), 1, LIVE)
        .await
        .expect("list_objects failed");
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[2]],
        "paging skips archived records"
    );
}

async fn archive_ignores_unknown_foreign_and_archived_ids(
    store: &dyn Store,
    portal: PortalId,
    other_portal: PortalId,
) {
    let mine = create_one(store, &ctx(portal, CONTACTS, T0), &[("firstname", "Mine")]).await;
    let keep = create_one(store, &ctx(portal, CONTACTS, T0), &[("firstname", "Keep")]).await;
    let foreign = create_one(
        store,
        &ctx(other_portal, CONTACTS, T0),
        &[("email", "f@example.com")],
    )
    .await;
    let company = create_one(store, &ctx(portal, COMPANIES, T0), &[("name", "Acme")]).await;

    store
        .archive_objects(
            portal,
            CONTACTS,
            vec![UNKNOWN_ID, mine.id, foreign.id, company.id],
            T0 + 10,
        )
        .await
        .expect("archive_objects with unknown ids succeeds");
    let archived = read_one(store, portal, CONTACTS, mine.id, ARCHIVED)
        .await
        .expect("the known id was archived");
    assert_eq!(archived.archived_at, Some(T0 + 10));
    assert!(
        read_one(store, portal, CONTACTS, keep.id, LIVE)
            .await
            .is_some(),
        "an id not in the list stays live"
    );
    assert!(
        read_one(store, other_portal, CONTACTS, foreign.id, LIVE)
            .await
            .is_some(),
        "another portal's record is not archived"
    );
    assert_eq!(
        read_unique(
            store,
            other_portal,
            CONTACTS,
            "email",
            "f@example.com",
            LIVE
        )
        .await
        .map(|r| r.id),
        Some(foreign.id),
        "another portal's record keeps its unique value"
    );
    assert!(
        read_one(store, portal, COMPANIES, company.id, LIVE)
            .await
            .is_some(),
        "a record of another type is not archived"
    );

    // Archiving again is ignored: archived_at stays.
    store
        .archive_objects(portal, CONTACTS, vec![mine.id], T0 + 20)
        .await
        .expect("archive_objects of an archived id succeeds");
    let again = read_one(store, portal, CONTACTS, mine.id, ARCHIVED)
        .await
        .expect("still archived");
    assert_eq!(
        again.archived_at,
        Some(T0 + 10),
        "re-archiving keeps the first archived_at"
    );

    store
        .archive_objects(portal, CONTACTS, Vec::new(), T0 + 30)
        .await
        .expect("archive_objects of no ids succeeds");
}

// ---------------------------------------------------------------------------------------
// Properties and groups
// ---------------------------------------------------------------------------------------

async fn property_store_insert_update_and_recreate(
    store: &dyn Store,
    portal: PortalId,
    other_portal: PortalId,
) {
    let fresh = store
        .insert_properties(
            portal,
            CONTACTS,
            vec![prop_def("alpha", "Alpha"), prop_def("beta", "Beta")],
        )
        .await
        .expect("insert_properties failed");
    assert_eq!(fresh, [true, true], "new names are fresh");
    let listed = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed");
    let names: Vec<&str> = listed.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), 2, "exactly the inserted properties: {names:?}");
    assert!(names.contains(&"alpha") && names.contains(&"beta"));
    let alpha = listed
        .iter()
        .find(|d| d.name == "alpha")
        .expect("alpha listed");
    assert_eq!(
        alpha,
        &prop_def("alpha", "Alpha"),
        "a definition round-trips unchanged"
    );

    // One taken name: per-item freshness, nothing written.
    let fresh = store
        .insert_properties(
            portal,
            CONTACTS,
            vec![prop_def("gamma", "Gamma"), prop_def("alpha", "Again")],
        )
        .await
        .expect("insert_properties failed");
    assert_eq!(fresh, [true, false], "per-item freshness");
    let listed = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed");
    assert!(
        !listed.iter().any(|d| d.name == "gamma"),
        "nothing is written when a name is taken"
    );
    assert_eq!(
        listed
            .iter()
            .find(|d| d.name == "alpha")
            .map(|d| d.label.as_str()),
        Some("Alpha"),
        "the taken property is unchanged"
    );

    // Names are per portal and per object type.
    let fresh = store
        .insert_properties(other_portal, CONTACTS, vec![prop_def("alpha", "Elsewhere")])
        .await
        .expect("insert_properties failed");
    assert_eq!(fresh, [true], "another portal has its own names");
    let fresh = store
        .insert_properties(portal, COMPANIES, vec![prop_def("alpha", "Company alpha")])
        .await
        .expect("insert_properties failed");
    assert_eq!(fresh, [true], "another object type has its own names");
    let companies = store
        .list_properties(portal, COMPANIES)
        .await
        .expect("list_properties failed");
    assert_eq!(companies.len(), 1, "a type lists only its own properties");

    // update_property replaces the definition.
    let mut changed = prop_def("alpha", "Alpha v2");
    changed.description = "changed".to_owned();
    changed.updated_at = Some(T0 + 5);
    assert!(
        store
            .update_property(portal, CONTACTS, changed.clone())
            .await
            .expect("update_property failed"),
        "updating an existing property returns true"
    );
    let listed = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed");
    assert_eq!(
        listed.iter().find(|d| d.name == "alpha"),
        Some(&changed),
        "the definition was replaced"
    );
    assert!(
        !store
            .update_property(portal, CONTACTS, prop_def("nonexistent", "X"))
            .await
            .expect("update_property failed"),
        "updating an unknown property returns false"
    );
    assert!(
        !store
            .list_properties(portal, CONTACTS)
            .await
            .expect("list_properties failed")
            .iter()
            .any(|d| d.name == "nonexistent"),
        "update_property never creates"
    );
    let elsewhere = store
        .list_properties(other_portal, CONTACTS)
        .await
        .expect("list_properties failed");
    assert_eq!(
        elsewhere
            .iter()
            .find(|d| d.name == "alpha")
            .map(|d| d.label.as_str()),
        Some("Elsewhere"),
        "another portal's property is untouched"
    );

    // Archive (through update_property), then re-create under the same name.
    let mut archived = changed.clone();
    archived.archived = true;
    archived.archived_at = Some(T0 + 10);
    assert!(store
        .update_property(portal, CONTACTS, archived.clone())
        .await
        .expect("update_property failed"));
    let listed = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed");
    assert_eq!(
        listed.iter().find(|d| d.name == "alpha"),
        Some(&archived),
        "archived properties are listed, marked archived"
    );
    let fresh = store
        .insert_properties(portal, CONTACTS, vec![prop_def("alpha", "Alpha reborn")])
        .await
        .expect("insert_properties failed");
    assert_eq!(
        fresh,
        [true],
        "an archived property's name can be taken again"
    );
    let listed = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed");
    let alphas: Vec<&PropertyDefinition> = listed.iter().filter(|d| d.name == "alpha").collect();
    assert_eq!(
        alphas.len(),
        1,
        "re-creating replaces the archived property"
    );
    assert_eq!(alphas[0], &prop_def("alpha", "Alpha reborn"));
    assert!(!alphas[0].archived, "the re-created property is live");

    // Once live again, the name is taken again.
    let fresh = store
        .insert_properties(portal, CONTACTS, vec![prop_def("alpha", "Once more")])
        .await
        .expect("insert_properties failed");
    assert_eq!(fresh, [false]);
}

async fn put_group_only_new(store: &dyn Store, portal: PortalId) {
    let group = |label: &str, order: i32, archived: bool| PropertyGroup {
        name: "extras".to_owned(),
        label: label.to_owned(),
        display_order: order,
        archived,
    };
    assert!(
        store
            .put_group(portal, CONTACTS, group("Extras", 1, false), true)
            .await
            .expect("put_group failed"),
        "only_new inserts a new group"
    );
    assert!(
        !store
            .put_group(portal, CONTACTS, group("Clobbered", 2, false), true)
            .await
            .expect("put_group failed"),
        "only_new refuses an existing live group"
    );
    let groups = store
        .list_groups(portal, CONTACTS)
        .await
        .expect("list_groups failed");
    assert_eq!(
        groups,
        [group("Extras", 1, false)],
        "a refused put changes nothing"
    );

    assert!(
        store
            .put_group(portal, CONTACTS, group("Renamed", 3, false), false)
            .await
            .expect("put_group failed"),
        "without only_new an existing group is replaced"
    );
    let groups = store
        .list_groups(portal, CONTACTS)
        .await
        .expect("list_groups failed");
    assert_eq!(groups, [group("Renamed", 3, false)]);

    // An archived group does not block only_new.
    assert!(store
        .put_group(portal, CONTACTS, group("Renamed", 3, true), false)
        .await
        .expect("put_group failed"));
    assert_eq!(
        store
            .list_groups(portal, CONTACTS)
            .await
            .expect("list_groups failed"),
        [group("Renamed", 3, true)],
        "archived groups are listed, marked archived"
    );
    assert!(
        store
            .put_group(portal, CONTACTS, group("Back", 4, false), true)
            .await
            .expect("put_group failed"),
        "only_new may replace an archived group"
    );
    assert_eq!(
        store
            .list_groups(portal, CONTACTS)
            .await
            .expect("list_groups failed"),
        [group("Back", 4, false)]
    );

    assert!(
        store
            .list_groups(portal, COMPANIES)
            .await
            .expect("list_groups failed")
            .is_empty(),
        "groups are per object type"
    );
    assert!(
        store
            .put_group(portal, COMPANIES, group("Company extras", 1, false), true)
            .await
            .expect("put_group failed"),
        "the same group name is new under another type"
    );
}

/// Issue 18, defects 3 and 4: a properties batch/archive of thousands of names is one store
/// call (one transaction, fast), and the custom-property bound is checked inside the insert.
async fn property_batch_archive_and_bounded_insert_are_one_transaction(
    store: &dyn Store,
    portal: PortalId,
    other_portal: PortalId,
) {
    let names: Vec<String> = (0..3000).map(|i| format!("bulk_{i:04}")).collect();
    let defs = names.iter().map(|n| prop_def(n, n)).collect();
    let fresh = store
        .insert_properties(portal, CONTACTS, defs)
        .await
        .expect("insert_properties failed");
    assert!(fresh.iter().all(|f| *f));
    store
        .insert_properties(other_portal, CONTACTS, vec![prop_def("bulk_0000", "Other")])
        .await
        .expect("insert_properties failed");

    // Every name, an unknown one and a duplicate, in one call.
    let mut asked = names.clone();
    asked.push("never_created".to_owned());
    asked.push("bulk_0000".to_owned());
    let started = std::time::Instant::now();
    let archived = store
        .archive_properties(portal, CONTACTS, asked, T0 + 50, 5000)
        .await
        .expect("archive_properties failed");
    let took = started.elapsed();
    assert_eq!(
        archived, 3000,
        "each live name archived once; unknown ignored"
    );
    assert!(
        took < std::time::Duration::from_secs(10),
        "archiving 3,000 properties took {took:?}"
    );
    let listed = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed");
    assert_eq!(listed.len(), 3000);
    for d in &listed {
        assert!(d.archived, "{} not archived", d.name);
        assert_eq!(d.archived_at, Some(T0 + 50), "{}", d.name);
        assert_eq!(d.updated_at, Some(T0 + 50), "{}", d.name);
        assert_eq!(d.created_at, Some(T0), "{}", d.name);
    }
    let theirs = store
        .list_properties(other_portal, CONTACTS)
        .await
        .expect("list_properties failed");
    assert!(!theirs[0].archived, "another portal's property untouched");
    assert_eq!(
        store
            .archive_properties(portal, CONTACTS, names[..10].to_vec(), T0 + 60, 5000)
            .await
            .expect("archive_properties failed"),
        0,
        "already archived names are ignored"
    );
    let again = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed");
    assert_eq!(again[0].archived_at, Some(T0 + 50), "archived_at kept");

    // The bound counts live properties only: the 3,000 archived ones do not count.
    let batch = |from: usize, n: usize| -> Vec<PropertyDefinition> {
        (from..from + n)
            .map(|i| prop_def(&format!("live_{i:03}"), "Live"))
            .collect()
    };
    let first = store
        .insert_properties_bounded(portal, CONTACTS, batch(0, 3), 5)
        .await
        .expect("insert_properties_bounded failed");
    assert_eq!(first, Some(vec![true; 3]));
    let over = store
        .insert_properties_bounded(portal, CONTACTS, batch(3, 3), 5)
        .await
        .expect("insert_properties_bounded failed");
    assert_eq!(over, None, "3 live + 3 new > 5: refused");
    let live = |defs: &[PropertyDefinition]| defs.iter().filter(|d| !d.archived).count();
    let listed = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed");
    assert_eq!(live(&listed), 3, "a refused batch writes nothing");
    let taken = store
        .insert_properties_bounded(portal, CONTACTS, vec![prop_def("live_000", "Again")], 5)
        .await
        .expect("insert_properties_bounded failed");
    assert_eq!(
        taken,
        Some(vec![false]),
        "a taken name is reported as taken"
    );
    // Re-creating an archived name makes it live again, and counts.
    let reborn = store
        .insert_properties_bounded(
            portal,
            CONTACTS,
            vec![prop_def("bulk_0001", "Back"), prop_def("live_003", "Live")],
            5,
        )
        .await
        .expect("insert_properties_bounded failed");
    assert_eq!(
        reborn,
        Some(vec![true, true]),
        "exactly at the bound is allowed"
    );
    let full = store
        .insert_properties_bounded(portal, CONTACTS, batch(10, 1), 5)
        .await
        .expect("insert_properties_bounded failed");
    assert_eq!(full, None);
    assert_eq!(
        store
            .archive_properties(portal, CONTACTS, vec!["live_000".to_owned()], T0 + 70, 5000)
            .await
            .expect("archive_properties failed"),
        1
    );
    let freed = store
        .insert_properties_bounded(portal, CONTACTS, batch(10, 1), 5)
        .await
        .expect("insert_properties_bounded failed");
    assert_eq!(
        freed,
        Some(vec![true]),
        "archiving frees room under the bound"
    );

    // Archived definitions beyond `keep_archived` go, oldest first (ties: lowest name).
    store
        .archive_properties(portal, CONTACTS, vec!["live_001".to_owned()], T0 + 80, 2000)
        .await
        .expect("archive_properties failed");
    let listed = store
        .list_properties(portal, CONTACTS)
        .await
        .expect("list_properties failed");
    let archived: Vec<&str> = listed
        .iter()
        .filter(|d| d.archived)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(archived.len(), 2000);
    for kept in ["live_000", "live_001", "bulk_2999", "bulk_1002"] {
        assert!(archived.contains(&kept), "{kept} kept");
    }
    for gone in ["bulk_0000", "bulk_1001"] {
        assert!(!archived.contains(&gone), "{gone} deleted");
    }
    assert_eq!(live(&listed), 4, "live properties untouched");
}

// ---------------------------------------------------------------------------------------
// Portals and tokens
// ---------------------------------------------------------------------------------------

async fn token_store_portals_and_tokens(
    store: &dyn Store,
    portal: PortalId,
    other_portal: PortalId,
) {
    store
        .ensure_portal(portal, T0)
        .await
        .expect("ensure_portal failed");
    store
        .ensure_portal(portal, T0 + 1)
        .await
        .expect("ensure_portal of an existing portal succeeds");
    store
        .ensure_portal(other_portal, T0)
        .await
        .expect("ensure_portal failed");
    let portals = store.list_portals().await.expect("list_portals failed");
    assert_eq!(
        portals.iter().filter(|p| **p == portal).count(),
        1,
        "ensure_portal is idempotent: the portal is listed once"
    );
    assert!(
        portals.contains(&other_portal),
        "every ensured portal is listed"
    );

    // Hashes are unique per run so the check can repeat on a reused database.
    let hash1 = format!("conformance-hash-{}-1", portal.0);
    let hash2 = format!("conformance-hash-{}-2", portal.0);
    let hash3 = format!("conformance-hash-{}-3", portal.0);
    let scopes = vec![
        "crm.objects.contacts.read".to_owned(),
        "crm.objects.contacts.write".to_owned(),
    ];

    let t1 = store
        .create_token(portal, &hash1, "pat-na1-aaaa", &scopes, T0 + 10)
        .await
        .expect("create_token failed");
    assert_eq!(t1.portal, portal);
    assert_eq!(t1.prefix, "pat-na1-aaaa");
    assert_eq!(t1.scopes, scopes, "scopes round-trip in order");
    assert_eq!(t1.created_at, T0 + 10);
    assert_eq!(t1.revoked_at, None);

    let t2 = store
        .create_token(portal, &hash2, "pat-na1-bbbb", &[], T0 + 20)
        .await
        .expect("create_token failed");
    assert_ne!(t1.id, t2.id, "tokens get distinct ids");
    assert!(t2.scopes.is_empty(), "a token may carry no scopes");
    let t3 = store
        .create_token(other_portal, &hash3, "pat-na1-cccc", &scopes[..1], T0 + 30)
        .await
        .expect("create_token failed");
    assert_eq!(t3.portal, other_portal);

    assert_eq!(
        store.find_token(&hash1).await.expect("find_token failed"),
        Some(t1.clone()),
        "find_token returns the token by hash"
    );
    assert_eq!(
        store.find_token(&hash3).await.expect("find_token failed"),
        Some(t3.clone()),
        "find_token returns the right portal's token"
    );
    assert_eq!(
        store
            .find_token(&format!("conformance-hash-{}-unknown", portal.0))
            .await
            .expect("find_token failed"),
        None,
        "an unknown hash finds nothing"
    );

    let listed = store.list_tokens().await.expect("list_tokens failed");
    let mine: Vec<&crate::TokenRecord> = listed
        .iter()
        .filter(|t| t.portal == portal || t.portal == other_portal)
        .collect();
    assert_eq!(
        mine,
        [&t1, &t2, &t3],
        "list_tokens lists every token, by id"
    );

    assert!(
        store
            .revoke_token(t1.id, T0 + 40)
            .await
            .expect("revoke_token failed"),
        "revoking a live token returns true"
    );
    assert_eq!(
        store.find_token(&hash1).await.expect("find_token failed"),
        None,
        "a revoked token is not found"
    );
    assert!(
        !store
            .revoke_token(t1.id, T0 + 50)
            .await
            .expect("revoke_token failed"),
        "revoking a revoked token returns false"
    );
    let max_id = listed.iter().map(|t| t.id).max().unwrap_or(0);
    assert!(
        !store
            .revoke_token(max_id.saturating_add(1_000_000), T0 + 50)
            .await
            .expect("revoke_token failed"),
        "revoking an unknown id returns false"
    );
    assert_eq!(
        store.find_token(&hash2).await.expect("find_token failed"),
        Some(t2.clone()),
        "revoking one token leaves the others"
    );

    let listed = store.list_tokens().await.expect("list_tokens failed");
    let revoked = listed
        .iter()
        .find(|t| t.id == t1.id)
        .expect("a revoked token is still listed");
    assert_eq!(
        revoked.revoked_at,
        Some(T0 + 40),
        "the first revocation time is kept"
    );
    assert_eq!(
        listed.iter().find(|t| t.id == t2.id).map(|t| t.revoked_at),
        Some(None),
        "other tokens stay live"
    );
}

// ---------------------------------------------------------------------------------------
// Search: text compares by the core's fold
// ---------------------------------------------------------------------------------------

/// Every text comparison of search (EQ, NEQ, IN, NOT_IN, ranges, CONTAINS_TOKEN, `query`,
/// sorting) answers exactly what `spoke_core::search::fold` predicts, for values with
/// non-ASCII capitals, surrounding whitespace and line breaks; and the contact-email index
/// finds what the fold finds.
async fn search_compares_text_by_the_core_fold(store: &dyn Store, portal: PortalId) {
    use spoke_core::search::{
        fold, token_matches, Condition, Field, Filter, Kind, Operand, SearchQuery,
    };

    let c = ctx(portal, CONTACTS, T0);
    let values = [
        "Élodie",
        "éLODIE",
        "ELODIE",
        "Øyvind",
        "ΣΟΦΙΑ",
        "σοφια",
        "Οδυσσευς",
        "ΟΔΥΣΣΕΥΣ",
        "İlkay",
        "i\u{307}lkay",
        "ilkay",
        "Ａnna",
        "ａnna",
        "  Ada ",
        "\r\nada\n",
        "\u{3000}ADA\t",
        "A da",
        "straße",
        "STRASSE",
        "\u{1c5}emal",
        "\u{212a}elvin",
        "kelvin",
        "Zoë Ünal-Ŕ",
    ];
    let mut stored = Vec::new();
    for v in values {
        stored.push((create_one(store, &c, &[("firstname", v)]).await.id, v));
    }
    let field = Field::Property {
        name: "firstname".to_owned(),
        kind: Kind::Text,
        unique_index: false,
    };
    let query = |condition: Option<Condition>, text: Option<String>| SearchQuery {
        groups: condition
            .map(|condition| {
                vec![vec![Filter {
                    field: field.clone(),
                    condition,
                }]]
            })
            .unwrap_or_default(),
        text,
        text_properties: vec!["firstname".to_owned()],
        sort: None,
        offset: 0,
        limit: 200,
    };
    let ids = |page: crate::SearchPage| {
        let mut ids: Vec<ObjectId> = page.records.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids
    };
    let expected = |pred: &dyn Fn(&str) -> bool| -> Vec<ObjectId> {
        let mut ids: Vec<ObjectId> = stored
            .iter()
            .filter(|(_, v)| pred(v))
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    };
    for probe in values {
        let f = fold(probe);
        let text = || Operand::Text(f.clone());
        let checks: Vec<(&str, SearchQuery, Vec<ObjectId>)> = vec![
            (
                "EQ",
                query(Some(Condition::Eq(text())), None),
                expected(&|v| fold(v) == f),
            ),
            (
                "NEQ",
                query(Some(Condition::Neq(text())), None),
                expected(&|v| fold(v) != f),
            ),
            (
                "IN",
                query(
                    Some(Condition::In(vec![Operand::Text("nobody".into()), text()])),
                    None,
                ),
                expected(&|v| fold(v) == f),
            ),
            (
                "NOT_IN",
                query(Some(Condition::NotIn(vec![text()])), None),
                expected(&|v| fold(v) != f),
            ),
            (
                "LT",
                query(Some(Condition::Lt(text())), None),
                expected(&|v| fold(v) < f),
            ),
            (
                "GTE",
                query(Some(Condition::Gte(text())), None),
                expected(&|v| fold(v) >= f),
            ),
            (
                "CONTAINS_TOKEN",
                query(Some(Condition::ContainsToken(f.clone())), None),
                expected(&|v| token_matches(v, &f)),
            ),
            (
                "query",
                query(None, Some(f.clone())),
                expected(&|v| fold(v).contains(f.as_str())),
            ),
        ];
        for (op, q, want) in checks {
            let page = store
                .search_objects(portal, CONTACTS, &q)
                .await
                .expect("search_objects failed");
            assert_eq!(
                ids(page),
                want,
                "{op} {probe:?} (folded {f:?}) matches what the core's fold predicts"
            );
        }
    }

    // Sorting orders folded values bytewise, ties by id.
    let mut q = query(None, None);
    q.sort = Some(spoke_core::search::Sort {
        field: field.clone(),
        descending: false,
    });
    let page = store
        .search_objects(portal, CONTACTS, &q)
        .await
        .expect("search_objects failed");
    let got: Vec<ObjectId> = page.records.iter().map(|r| r.id).collect();
    let mut want = stored.clone();
    want.sort_by(|a, b| fold(a.1).cmp(&fold(b.1)).then(a.0.cmp(&b.0)));
    let want: Vec<ObjectId> = want.iter().map(|(id, _)| *id).collect();
    assert_eq!(got, want, "ascending sort by the folded value");

    // The contact-email index holds emails lowercased (ς kept); an operand folded to σ still
    // finds them, and a plain one is served as before.
    let greek = create_one(store, &c, &[("email", "οδυσσευς@x.test")]).await;
    let plain = create_one(store, &c, &[("email", "ada@x.test")]).await;
    let email = Field::Property {
        name: "email".to_owned(),
        kind: Kind::Text,
        unique_index: true,
    };
    for (probe, id) in [
        ("ΟΔΥΣΣΕΥΣ@X.test", greek.id),
        ("οδυσσευσ@x.test", greek.id),
        (" Ada@X.TEST\n", plain.id),
    ] {
        for condition in [
            Condition::Eq(Operand::Text(fold(probe))),
            Condition::In(vec![Operand::Text(fold(probe))]),
        ] {
            let mut q = query(None, None);
            q.groups = vec![vec![Filter {
                field: email.clone(),
                condition,
            }]];
            let page = store
                .search_objects(portal, CONTACTS, &q)
                .await
                .expect("search_objects failed");
            assert_eq!(ids(page), vec![id], "email {probe:?} through the index");
        }
    }
}
