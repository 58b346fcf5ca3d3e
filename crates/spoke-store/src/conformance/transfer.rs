//! Transfer (`spoke copy`): [`check_transfer`] copies every table between two stores and
//! holds the copy to the source, row for row and read for read.

use spoke_core::association::{HUBSPOT_DEFINED, USER_DEFINED};
use spoke_core::{ObjectId, ObjectRecord, PortalId};

use super::{
    create_one, ctx, fresh_base, new, ok, patch, prop_def, read_unique, COMPANIES, CONTACTS, LIVE,
    T0,
};
use crate::{
    AssociationWrite, LinkType, PropertyGroup, ReadKeys, ReadOptions, Rows, Store, Table,
    WriteSource,
};

/// Checks [`crate::TransferStore`] between two backends (or two databases of one): writes
/// every kind of row into `source` (in fresh portals; whatever else `source` holds is
/// copied too), copies every table into `dest` in small chunks, and checks that `dest` then
/// exports exactly what `source` does, answers reads as `source` does, that copying again
/// changes nothing, and that new records get ids past the copied ones.
///
/// `dest` must be an empty database: the copy overwrites rows with the same keys.
pub async fn check_transfer(source: &dyn Store, dest: &dyn Store) {
    for t in Table::ALL {
        assert_eq!(
            dest.count_rows(t).await.expect("count_rows failed"),
            0,
            "check_transfer needs an empty destination; {t} has rows"
        );
    }

    let base = fresh_base();
    let portal = PortalId(base + 1);
    let other = PortalId(base + 2);
    for p in [portal, other] {
        source.ensure_portal(p, T0).await.expect("ensure_portal");
    }
    let live_hash = format!("transfer-{}-live", portal.0);
    let revoked_hash = format!("transfer-{}-revoked", portal.0);
    let scopes = vec!["crm.objects.contacts.read".to_owned()];
    let live = source
        .create_token(portal, &live_hash, "pat-na1-live", &scopes, T0)
        .await
        .expect("create_token");
    let revoked = source
        .create_token(other, &revoked_hash, "pat-na1-gone", &[], T0 + 1)
        .await
        .expect("create_token");
    assert!(source
        .revoke_token(revoked.id, T0 + 2)
        .await
        .expect("revoke_token"));

    source
        .put_group(
            portal,
            CONTACTS,
            PropertyGroup {
                name: "transfer_group".into(),
                label: "Transfer".into(),
                display_order: 3,
                archived: false,
            },
            true,
        )
        .await
        .expect("put_group");
    let mut unique = prop_def("transfer_key", "Key");
    unique.has_unique_value = true;
    let mut gone = prop_def("transfer_gone", "Gone");
    source
        .insert_properties(portal, CONTACTS, vec![unique, gone.clone()])
        .await
        .expect("insert_properties");
    gone.archived = true;
    gone.archived_at = Some(T0 + 5);
    assert!(source
        .update_property(portal, CONTACTS, gone)
        .await
        .expect("update_property"));

    // Records with history, unique values (email and a custom one), an archived record,
    // and records in a second portal and type.
    let mut c = ctx(portal, CONTACTS, T0 + 10);
    c.unique_properties = vec!["email".into(), "transfer_key".into()];
    let contacts = source
        .create_objects(
            &c,
            (0..7)
                .map(|i| {
                    new(&[
                        ("email", &format!("t{i}@example.com")),
                        ("firstname", &format!("First {i}")),
                        ("transfer_key", &format!("K-{i}")),
                    ])
                })
                .collect(),
        )
        .await
        .expect("create_objects");
    let contacts: Vec<ObjectRecord> = contacts.iter().map(|r| ok(r, "create")).collect();
    c.now = T0 + 20;
    c.source = WriteSource {
        source_type: "IMPORT".into(),
        source_id: None,
    };
    let updated = source
        .update_objects(
            &c,
            vec![
                patch(
                    contacts[0].id,
                    &[("firstname", "Renamed"), ("lastname", "L")],
                ),
                patch(contacts[1].id, &[("firstname", "")]),
            ],
        )
        .await
        .expect("update_objects");
    ok(&updated[0], "update");
    source
        .archive_objects(portal, CONTACTS, vec![contacts[6].id], T0 + 30)
        .await
        .expect("archive_objects");
    let company = create_one(
        source,
        &ctx(portal, COMPANIES, T0 + 40),
        &[("name", "Acme"), ("domain", "acme.io")],
    )
    .await;
    create_one(
        source,
        &ctx(other, CONTACTS, T0 + 50),
        &[("email", "o@example.com")],
    )
    .await;

    // Associations: HubSpot-defined ones and a user-defined label.
    let labels = source
        .create_label(
            portal,
            CONTACTS,
            COMPANIES,
            "transfer_label",
            "Friend",
            Some("Of"),
            50,
        )
        .await
        .expect("create_label")
        .expect("label created");
    let label = labels
        .iter()
        .find(|l| l.from_type == CONTACTS)
        .expect("the contact-to-company direction")
        .clone();
    let links: Vec<AssociationWrite> = contacts[..5]
        .iter()
        .map(|r| AssociationWrite {
            from_type: CONTACTS.into(),
            from_id: r.id,
            to_type: COMPANIES.into(),
            to_id: company.id,
            types: vec![
                LinkType {
                    category: HUBSPOT_DEFINED.into(),
                    type_id: 279,
                    inverse_type_id: 280,
                    exclusive: false,
                    inverse_exclusive: false,
                },
                LinkType {
                    category: USER_DEFINED.into(),
                    type_id: label.type_id,
                    inverse_type_id: label.inverse_type_id,
                    exclusive: false,
                    inverse_exclusive: false,
                },
            ],
        })
        .collect();
    for r in source
        .put_associations(portal, links)
        .await
        .expect("put_associations")
    {
        assert_eq!(r, Ok(()), "put_associations");
    }

    // Paging by key visits every row once, in the same order as one big chunk.
    for t in Table::ALL {
        let whole = export_table(source, t, 1_000_000).await;
        assert_eq!(
            export_table(source, t, 2).await,
            whole,
            "{t}: chunks of 2 rows export what one chunk does"
        );
        assert_eq!(
            source.count_rows(t).await.expect("count_rows") as usize,
            whole.len(),
            "{t}: count_rows counts every exported row"
        );
    }

    // Copy in chunks of 3, then again: the second copy changes nothing.
    let first = copy_tables(source, dest, 3).await;
    assert!(first > 0, "the first copy writes rows");
    assert_eq!(
        copy_tables(source, dest, 3).await,
        0,
        "copying the same rows again changes nothing"
    );
    for t in Table::ALL {
        assert_eq!(
            export_table(dest, t, 1_000_000).await,
            export_table(source, t, 1_000_000).await,
            "{t}: the destination holds exactly the source's rows"
        );
    }

    // Through the ordinary traits, the copy answers as the source does.
    let history = ["firstname".to_owned(), "email".to_owned()];
    let options = ReadOptions {
        archived: false,
        history: &history,
    };
    let ids: Vec<ObjectId> = contacts.iter().map(|r| r.id).collect();
    for archived in [false, true] {
        let options = ReadOptions {
            archived,
            ..options
        };
        assert_eq!(
            dest.read_objects(portal, CONTACTS, ReadKeys::Ids(ids.clone()), options)
                .await
                .expect("read_objects"),
            source
                .read_objects(portal, CONTACTS, ReadKeys::Ids(ids.clone()), options)
                .await
                .expect("read_objects"),
            "records, history and archived state are copied"
        );
    }
    assert_eq!(
        read_unique(dest, portal, CONTACTS, "transfer_key", "K-3", LIVE)
            .await
            .map(|r| r.id),
        Some(contacts[3].id),
        "unique values are copied"
    );
    assert_eq!(
        dest.find_token(&live_hash).await.expect("find_token"),
        Some(live.clone()),
        "a token works by the hash of its secret"
    );
    assert_eq!(
        dest.find_token(&revoked_hash).await.expect("find_token"),
        None,
        "a revoked token stays revoked"
    );
    assert_eq!(
        dest.list_properties(portal, CONTACTS)
            .await
            .expect("list_properties"),
        source
            .list_properties(portal, CONTACTS)
            .await
            .expect("list_properties")
    );
    assert_eq!(
        dest.list_groups(portal, CONTACTS)
            .await
            .expect("list_groups"),
        source
            .list_groups(portal, CONTACTS)
            .await
            .expect("list_groups")
    );
    assert_eq!(
        dest.list_labels(portal, CONTACTS, COMPANIES)
            .await
            .expect("list_labels"),
        labels
            .iter()
            .filter(|l| l.from_type == CONTACTS)
            .cloned()
            .collect::<Vec<_>>()
    );
    let requests = vec![(company.id, None)];
    assert_eq!(
        dest.page_associations(portal, COMPANIES, CONTACTS, requests.clone(), 2)
            .await
            .expect("page_associations"),
        source
            .page_associations(portal, COMPANIES, CONTACTS, requests, 2)
            .await
            .expect("page_associations"),
        "associations are copied"
    );

    // New rows get ids past every copied one.
    let max_object = ids.iter().chain([&company.id]).copied().max().unwrap_or(0);
    let fresh = create_one(
        dest,
        &ctx(portal, CONTACTS, T0 + 60),
        &[("email", "new@example.com")],
    )
    .await;
    assert!(
        fresh.id > max_object,
        "a new record gets an id ({}) past the copied ones ({max_object})",
        fresh.id
    );
    let token = dest
        .create_token(
            portal,
            &format!("transfer-{}-new", portal.0),
            "pat-na1-new",
            &[],
            T0,
        )
        .await
        .expect("create_token");
    assert!(
        token.id > revoked.id,
        "a new token gets an id ({}) past the copied ones ({})",
        token.id,
        revoked.id
    );
}

/// Copies every table from `source` to `dest` in chunks; returns the rows written.
async fn copy_tables(source: &dyn Store, dest: &dyn Store, chunk: usize) -> u64 {
    let mut written = 0;
    for t in Table::ALL {
        let mut after = None;
        loop {
            let rows = source
                .export_rows(t, after.as_ref(), chunk)
                .await
                .expect("export_rows failed");
            assert_eq!(rows.table(), t, "export_rows returns rows of its table");
            assert!(
                rows.len() <= chunk,
                "export_rows returns at most `limit` rows"
            );
            let n = rows.len();
            after = rows.last_key();
            written += dest.import_rows(rows).await.expect("import_rows failed");
            if n < chunk {
                break;
            }
        }
    }
    dest.finish_import().await.expect("finish_import failed");
    written
}

/// Every row of a table, exported in chunks of `chunk`.
async fn export_table(store: &dyn Store, table: Table, chunk: usize) -> Rows {
    let mut all = Rows::empty(table);
    let mut after = None;
    loop {
        let rows = store
            .export_rows(table, after.as_ref(), chunk)
            .await
            .expect("export_rows failed");
        let n = rows.len();
        after = rows.last_key();
        if let Err(other) = all.append(rows) {
            panic!("export_rows({table}) returned rows of {}", other.table());
        }
        if n < chunk {
            return all;
        }
    }
}
