//! Pipelines ([`crate::PipelineStore`]): defaults seeded with the portal, writes that are
//! all-or-nothing, references checked inside the write, and portals kept apart.

use spoke_core::{ObjectType, PortalId};

use super::{create_one, ctx, T0};
use crate::pipelines::{self, Change, PipelineInput, PipelineWrite, Refusal, StageInput};
use crate::Store;

const DEALS: &str = "0-3";

fn write(portal: PortalId, change: Change, validate_references: bool) -> PipelineWrite {
    let deals = ObjectType::resolve("deals").and_then(|t| t.pipelines);
    PipelineWrite {
        portal,
        object_type: DEALS.into(),
        rules: deals.expect("deals have pipelines"),
        change,
        validate_references,
        now: T0,
    }
}

fn stage(label: &str) -> StageInput {
    StageInput {
        stage_id: None,
        label: label.into(),
        display_order: 0,
        metadata: [("probability".to_owned(), "0.5".to_owned())].into(),
    }
}

/// A new portal has the defaults; a second `ensure_portal` does not seed again.
pub(super) async fn a_new_portal_gets_the_default_pipelines(store: &dyn Store, portal: PortalId) {
    store
        .ensure_portal(portal, T0)
        .await
        .expect("ensure_portal");
    store
        .ensure_portal(portal, T0 + 1)
        .await
        .expect("ensure_portal");
    let deals = ObjectType::resolve("deals").expect("deals");
    let got = store
        .read_pipelines(portal, DEALS)
        .await
        .expect("read_pipelines");
    assert_eq!(
        got,
        pipelines::defaults(&deals),
        "the default deal pipeline, once"
    );
    let tickets = ObjectType::resolve("tickets").expect("tickets");
    let got = store
        .read_pipelines(portal, "0-5")
        .await
        .expect("read_pipelines");
    assert_eq!(got, pipelines::defaults(&tickets));
}

/// A write replaces the pipeline's rows whole; a refused one writes nothing; audits come
/// newest first; another portal sees none of it.
pub(super) async fn writes_are_whole_and_per_portal(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    for p in [portal, other] {
        store.ensure_portal(p, T0).await.expect("ensure_portal");
    }
    let input = PipelineInput {
        pipeline_id: Some("mine".into()),
        label: "Mine".into(),
        display_order: 1,
        stages: vec![stage("A"), stage("B")],
    };
    let made = store
        .write_pipeline(write(portal, Change::Create(input.clone()), false))
        .await
        .expect("write_pipeline")
        .expect("created");
    let read = store.read_pipelines(portal, DEALS).await.expect("read");
    assert_eq!(read.iter().find(|p| p.id == "mine"), Some(&made.pipeline));
    let mut same_id = input;
    same_id.label = "Mine again".into();
    let again = store
        .write_pipeline(write(portal, Change::Create(same_id), false))
        .await
        .expect("write_pipeline");
    assert_eq!(again, Err(Refusal::PipelineIdTaken("mine".into())));
    assert_eq!(
        store
            .read_pipelines(other, DEALS)
            .await
            .expect("read")
            .len(),
        1,
        "another portal has only its default"
    );

    // A deal in `closedwon`: removing that stage with validation is refused, nothing moves.
    let deal = create_one(
        store,
        &ctx(portal, DEALS, T0),
        &[("dealstage", "closedwon")],
    )
    .await;
    let archive = Change::ArchiveStage {
        pipeline_id: "default".into(),
        stage_id: "closedwon".into(),
    };
    let refused = store
        .write_pipeline(write(portal, archive.clone(), true))
        .await
        .expect("write_pipeline");
    assert_eq!(
        refused,
        Err(Refusal::StagesInUse {
            stages: vec!["closedwon".into()],
            objects: vec![deal.id],
        })
    );
    let before = store.read_pipelines(portal, DEALS).await.expect("read");
    assert!(before.iter().any(|p| p.live_stage("closedwon").is_some()));
    store
        .write_pipeline(write(other, archive, true))
        .await
        .expect("write_pipeline")
        .expect("another portal's deal does not hold this portal's stage");
    let audit = store
        .read_audit(pipelines::AuditKey {
            portal,
            object_type: DEALS.into(),
            pipeline_id: "mine".into(),
            stage_id: None,
        })
        .await
        .expect("read_audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "CREATE");
}
