-- Users (each also an owner, with an owner id of its own), teams and roles of a portal
-- (spoke_store::directory). Ids are global: the table's largest plus one.

CREATE TABLE directory_teams (
    id         INTEGER PRIMARY KEY,
    portal_id  INTEGER NOT NULL,
    name       TEXT NOT NULL
);
CREATE INDEX directory_teams_by_portal ON directory_teams (portal_id, id);

CREATE TABLE directory_roles (
    id                      INTEGER PRIMARY KEY,
    portal_id               INTEGER NOT NULL,
    name                    TEXT NOT NULL,
    requires_billing_write  INTEGER NOT NULL
);
CREATE INDEX directory_roles_by_portal ON directory_roles (portal_id, id);

CREATE TABLE directory_users (
    id                  INTEGER PRIMARY KEY,
    portal_id           INTEGER NOT NULL,
    owner_id            INTEGER NOT NULL UNIQUE,
    email               TEXT NOT NULL,
    first_name          TEXT,
    last_name           TEXT,
    role_id             INTEGER,
    primary_team_id     INTEGER,
    secondary_team_ids  TEXT NOT NULL,
    seat_names          TEXT NOT NULL,
    super_admin         INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    removed_at          INTEGER
);
CREATE INDEX directory_users_by_portal ON directory_users (portal_id, id);
-- A live user's email is unique in its portal; removed users free theirs.
CREATE UNIQUE INDEX directory_users_live_email ON directory_users (portal_id, email)
    WHERE removed_at IS NULL;

-- Every existing portal gets what a new one is seeded with (directory::Seed): two teams,
-- two roles, and its owner user.
INSERT INTO directory_teams (id, portal_id, name)
    SELECT 360000 + 2 * ROW_NUMBER() OVER (ORDER BY id) - 1, id, 'Sales Team' FROM portals
    UNION ALL
    SELECT 360000 + 2 * ROW_NUMBER() OVER (ORDER BY id), id, 'Support Team' FROM portals;
INSERT INTO directory_roles (id, portal_id, name, requires_billing_write)
    SELECT 100000 + 2 * ROW_NUMBER() OVER (ORDER BY id) - 1, id, 'Sales User', 0 FROM portals
    UNION ALL
    SELECT 100000 + 2 * ROW_NUMBER() OVER (ORDER BY id), id, 'Sales Admin', 1 FROM portals;
INSERT INTO directory_users (id, portal_id, owner_id, email, first_name, last_name,
        secondary_team_ids, seat_names, super_admin, created_at, updated_at)
    SELECT 1000000 + ROW_NUMBER() OVER (ORDER BY id), id,
           40000000 + ROW_NUMBER() OVER (ORDER BY id),
           'owner@portal' || id || '.spoke.test', 'Portal', 'Owner', '', '[]', 1,
           created_at, created_at
    FROM portals;
