-- Associations: one row per direction and type. The key orders a record's links to one
-- type by target id, so a page is a range scan whatever the record's total.
CREATE TABLE associations (
    portal_id  BIGINT NOT NULL,
    from_type  TEXT COLLATE "C" NOT NULL,
    from_id    BIGINT NOT NULL,
    to_type    TEXT COLLATE "C" NOT NULL,
    to_id      BIGINT NOT NULL,
    category   TEXT COLLATE "C" NOT NULL,
    type_id    BIGINT NOT NULL,
    PRIMARY KEY (portal_id, from_type, from_id, to_type, to_id, category, type_id)
);

-- USER_DEFINED labels, one row per direction.
CREATE TABLE association_labels (
    portal_id        BIGINT NOT NULL,
    from_type        TEXT COLLATE "C" NOT NULL,
    to_type          TEXT COLLATE "C" NOT NULL,
    type_id          BIGINT NOT NULL,
    label            TEXT COLLATE "C" NOT NULL,
    name             TEXT COLLATE "C" NOT NULL,
    inverse_type_id  BIGINT NOT NULL,
    PRIMARY KEY (portal_id, from_type, to_type, type_id)
);
-- PostgreSQL only: type ids are allocated max+1 per portal, so each is used by one row of a
-- portal. With one writer (SQLite) that holds by construction; with several spoke processes
-- this index makes two concurrent allocations collide, and the loser retries.
CREATE UNIQUE INDEX association_labels_type_ids ON association_labels (portal_id, type_id);
