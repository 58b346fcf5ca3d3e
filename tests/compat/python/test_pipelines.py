"""Pipelines v3 driven by HubSpot's official Python client (hubspot-api-client), only its
host changed: `client.crm.pipelines.pipelines_api` and `pipeline_stages_api` (and the audit
API), each answer deserialized into the client's models.

Expected values follow shared/reference/hubspot-behavior-platform.md §23 and
docs/compatibility.md ("Pipelines").
"""

from __future__ import annotations

import datetime as dt

import pytest

import hubspot.crm.objects as O
import hubspot.crm.pipelines as PL

SCOPES = [
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "tickets",
]
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def pipes(spoke):
    return spoke.client(spoke.create_token(SCOPES))


def test_default_deal_and_ticket_pipelines(pipes):
    deals = pipes.crm.pipelines.pipelines_api.get_all(object_type="deals")
    assert isinstance(deals, PL.CollectionResponsePipelineNoPaging)
    default = next(p for p in deals.results if p.id == "default")
    assert default.label == "Sales Pipeline"
    assert default.created_at == EPOCH
    assert [s.id for s in default.stages][:2] == ["appointmentscheduled", "qualifiedtobuy"]
    won = next(s for s in default.stages if s.id == "closedwon")
    assert won.metadata == {"isClosed": "true", "probability": "1.0"}
    assert won.write_permissions == "CRM_PERMISSIONS_ENFORCEMENT"
    tickets = pipes.crm.pipelines.pipelines_api.get_by_id(object_type="tickets", pipeline_id="0")
    assert [s.id for s in tickets.stages] == ["1", "2", "3", "4"]


def test_pipeline_and_stage_lifecycle(pipes):
    api = pipes.crm.pipelines.pipelines_api
    stages = pipes.crm.pipelines.pipeline_stages_api
    made = api.create(
        object_type="deals",
        pipeline_input=PL.PipelineInput(
            label="Python partners",
            display_order=3,
            stages=[
                PL.PipelineStageInput(label="Intro", display_order=0, metadata={"probability": "0.2"}),
                PL.PipelineStageInput(label="Won", display_order=1, metadata={"probability": "1.0", "isClosed": "true"}),
            ],
        ),
    )
    assert isinstance(made, PL.Pipeline)
    assert made.label == "Python partners" and len(made.stages) == 2 and not made.archived

    stage = stages.create(
        object_type="deals",
        pipeline_id=made.id,
        pipeline_stage_input=PL.PipelineStageInput(label="Review", display_order=2, metadata={"probability": "0.5"}),
    )
    assert isinstance(stage, PL.PipelineStage) and stage.metadata["probability"] == "0.5"
    listed = stages.get_all(object_type="deals", pipeline_id=made.id)
    assert [s.label for s in listed.results] == ["Intro", "Won", "Review"]
    patched = stages.update(
        object_type="deals",
        pipeline_id=made.id,
        stage_id=stage.id,
        pipeline_stage_patch_input=PL.PipelineStagePatchInput(label="Legal", metadata={"probability": "0.6"}),
    )
    assert patched.label == "Legal" and patched.metadata["probability"] == "0.6"
    replaced = stages.replace(
        object_type="deals",
        pipeline_id=made.id,
        stage_id=stage.id,
        pipeline_stage_input=PL.PipelineStageInput(label="Legal review", display_order=4, metadata={"probability": "0.7"}),
    )
    assert replaced.display_order == 4
    assert stages.get_by_id(object_type="deals", pipeline_id=made.id, stage_id=stage.id).label == "Legal review"
    stages.archive(object_type="deals", pipeline_id=made.id, stage_id=stage.id)
    with pytest.raises(PL.ApiException) as e:
        stages.get_by_id(object_type="deals", pipeline_id=made.id, stage_id=stage.id)
    assert e.value.status == 404

    renamed = api.update(object_type="deals", pipeline_id=made.id, pipeline_patch_input=PL.PipelinePatchInput(label="Py"))
    assert renamed.label == "Py"
    audit = pipes.crm.pipelines.pipeline_audits_api.get_audit(object_type="deals", pipeline_id=made.id)
    assert audit.results[0].action == "UPDATE"
    assert audit.results[0].raw_object["label"] == "Py"
    assert audit.results[-1].action == "CREATE"
    api.archive(object_type="deals", pipeline_id=made.id)
    with pytest.raises(PL.ApiException) as e:
        api.get_by_id(object_type="deals", pipeline_id=made.id)
    assert e.value.status == 404


def test_invalid_stage_input_is_a_400(pipes):
    with pytest.raises(PL.ApiException) as e:
        pipes.crm.pipelines.pipelines_api.create(
            object_type="deals",
            pipeline_input=PL.PipelineInput(
                label="No probability",
                display_order=0,
                stages=[PL.PipelineStageInput(label="A", display_order=0, metadata={})],
            ),
        )
    assert e.value.status == 400


def test_records_use_the_portals_pipelines(pipes):
    ticket = pipes.crm.objects.basic_api.create(
        object_type="tickets",
        simple_public_object_input_for_create=O.SimplePublicObjectInputForCreate(
            properties={"subject": "Printer", "hs_pipeline": "0", "hs_pipeline_stage": "1"}
        ),
    )
    assert ticket.properties["hs_pipeline_stage"] == "1"
    deal = pipes.crm.objects.basic_api.create(
        object_type="deals",
        simple_public_object_input_for_create=O.SimplePublicObjectInputForCreate(
            properties={"dealname": "Py deal", "dealstage": "contractsent"}
        ),
    )
    assert deal.properties["pipeline"] == "default"
    with pytest.raises(O.ApiException) as e:
        pipes.crm.objects.basic_api.create(
            object_type="deals",
            simple_public_object_input_for_create=O.SimplePublicObjectInputForCreate(
                properties={"dealname": "Bad", "dealstage": "1"}
            ),
        )
    assert e.value.status == 400
