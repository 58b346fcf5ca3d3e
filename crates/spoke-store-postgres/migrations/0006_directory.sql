-- Users (each also an owner, with an owner id of its own), teams and roles of a portal
-- (spoke_store::directory). Mirrors the SQLite backend's 0007_directory.sql. Ids are
-- global: the table's largest plus one, taken in the writing transaction (a concurrent
-- writer that took the same id first makes it retry).

CREATE TABLE directory_teams (
    id         BIGINT PRIMARY KEY,
    portal_id  BIGINT NOT NULL,
    name       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX directory_teams_by_portal ON directory_teams (portal_id, id);

CREATE TABLE directory_roles (
    id                      BIGINT PRIMARY KEY,
    portal_id               BIGINT NOT NULL,
    name                    TEXT COLLATE "C" NOT NULL,
    requires_billing_write  BOOLEAN NOT NULL
);
CREATE INDEX directory_roles_by_portal ON directory_roles (portal_id, id);

CREATE TABLE directory_users (
    id                  BIGINT PRIMARY KEY,
    portal_id           BIGINT NOT NULL,
    owner_id            BIGINT NOT NULL UNIQUE,
    email               TEXT COLLATE "C" NOT NULL,
    first_name          TEXT COLLATE "C",
    last_name           TEXT COLLATE "C",
    role_id             BIGINT,
    primary_team_id     BIGINT,
    secondary_team_ids  TEXT COLLATE "C" NOT NULL,
    seat_names          TEXT NOT NULL,
    super_admin         BOOLEAN NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    removed_at          BIGINT
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
    SELECT 100000 + 2 * ROW_NUMBER() OVER (ORDER BY id) - 1, id, 'Sales User', FALSE FROM portals
    UNION ALL
    SELECT 100000 + 2 * ROW_NUMBER() OVER (ORDER BY id), id, 'Sales Admin', TRUE FROM portals;
INSERT INTO directory_users (id, portal_id, owner_id, email, first_name, last_name,
        secondary_team_ids, seat_names, super_admin, created_at, updated_at)
    SELECT 1000000 + ROW_NUMBER() OVER (ORDER BY id), id,
           40000000 + ROW_NUMBER() OVER (ORDER BY id),
           'owner@portal' || id || '.spoke.test', 'Portal', 'Owner', '', '[]', TRUE,
           created_at, created_at
    FROM portals;
