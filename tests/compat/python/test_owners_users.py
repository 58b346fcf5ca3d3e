"""Owners, users, teams and roles through HubSpot's official Python client
(hubspot-behavior-platform.md §20-§21): each answer deserializes into the model the client maps
for its status, and errors raise ApiException with HubSpot's status.
"""

from __future__ import annotations

import uuid

import pytest

import hubspot.crm.owners as OW
import hubspot.settings.users as U

SCOPES = [
    "crm.objects.owners.read",
    "settings.users.read",
    "settings.users.write",
    "settings.users.teams.read",
]


@pytest.fixture(scope="module")
def directory_client(spoke):
    return spoke.client(spoke.create_token(SCOPES))


def test_owners_start_with_the_account_owner(directory_client, spoke):
    page = directory_client.crm.owners.owners_api.get_page()
    assert isinstance(page, OW.CollectionResponsePublicOwnerForwardPaging)
    owners = [o for o in page.results if o.email == f"owner@portal{spoke.portal}.spoke.test"]
    assert len(owners) == 1
    owner = owners[0]
    assert isinstance(owner, OW.PublicOwner)
    assert owner.type == "PERSON" and owner.archived is False
    assert isinstance(owner.id, str) and isinstance(owner.user_id, int)
    assert owner.teams is None


def test_users_make_owners_with_teams_and_removal_archives_them(directory_client):
    users = directory_client.settings.users
    teams = users.teams_api.get_all()
    assert isinstance(teams, U.CollectionResponsePublicTeamNoPaging)
    team = teams.results[0]
    roles = users.roles_api.get_all()
    assert isinstance(roles, U.CollectionResponsePublicPermissionSetNoPaging)
    role = roles.results[0]
    assert isinstance(role.requires_billing_write, bool)

    email = f"py-{uuid.uuid4().hex[:8]}@example.com"
    made = users.users_api.create(
        U.UserProvisionRequest(email=email, send_welcome_email=False, role_id=role.id, primary_team_id=team.id)
    )
    assert isinstance(made, U.PublicUser)
    assert made.email == email and made.role_ids == [role.id] and made.primary_team_id == team.id
    assert made.super_admin is False

    read = users.users_api.get_by_id(email, id_property="EMAIL")
    assert read.id == made.id
    updated = users.users_api.replace(made.id, U.PublicUserUpdate(secondary_team_ids=[teams.results[1].id]))
    assert updated.secondary_team_ids == [teams.results[1].id]

    owners = directory_client.crm.owners.owners_api
    page = owners.get_page(email=email)
    assert len(page.results) == 1
    owner = page.results[0]
    assert owner.user_id == int(made.id)
    assert [(t.id, t.primary) for t in owner.teams] == [(team.id, True), (teams.results[1].id, False)]
    same = owners.get_by_id(int(made.id), id_property="userId")
    assert same.id == owner.id

    with pytest.raises(U.ApiException) as conflict:
        users.users_api.create(U.UserProvisionRequest(email=email.upper(), send_welcome_email=False))
    assert conflict.value.status == 409

    assert users.users_api.archive(made.id) is None
    with pytest.raises(U.ApiException) as gone:
        users.users_api.get_by_id(made.id)
    assert gone.value.status == 404
    archived = owners.get_page(archived=True, email=email)
    assert [o.id for o in archived.results] == [owner.id]
    assert archived.results[0].archived is True
    with pytest.raises(OW.ApiException) as missing:
        owners.get_by_id(int(owner.id))
    assert missing.value.status == 404


def test_users_and_owners_page(directory_client):
    users = directory_client.settings.users.users_api
    for _ in range(3):
        users.create(U.UserProvisionRequest(email=f"page-{uuid.uuid4().hex[:8]}@example.com", send_welcome_email=False))
    first = users.get_page(limit=2)
    assert isinstance(first, U.CollectionResponsePublicUserForwardPaging)
    assert len(first.results) == 2 and first.paging.next.after
    second = users.get_page(limit=2, after=first.paging.next.after)
    assert {u.id for u in first.results}.isdisjoint({u.id for u in second.results})

    owners = directory_client.crm.owners.owners_api
    page = owners.get_page(limit=2)
    assert len(page.results) == 2 and page.paging.next.link
    rest = owners.get_page(limit=500, after=page.paging.next.after)
    ids = [int(o.id) for o in page.results + rest.results]
    assert ids == sorted(ids) and len(ids) == len(set(ids))


def test_owners_without_their_scope_are_403(spoke):
    client = spoke.client(spoke.create_token(["crm.objects.contacts.read"]))
    with pytest.raises(OW.ApiException) as denied:
        client.crm.owners.owners_api.get_page()
    assert denied.value.status == 403
