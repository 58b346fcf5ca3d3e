-- Associations: one row per direction and type. The key orders a record's links to one
-- type by target id, so a page is a range scan whatever the record's total.
CREATE TABLE associations (
    portal_id  INTEGER NOT NULL,
    from_type  TEXT NOT NULL,
    from_id    INTEGER NOT NULL,
    to_type    TEXT NOT NULL,
    to_id      INTEGER NOT NULL,
    category   TEXT NOT NULL,
    type_id    INTEGER NOT NULL,
    PRIMARY KEY (portal_id, from_type, from_id, to_type, to_id, category, type_id)
) WITHOUT ROWID;

-- USER_DEFINED labels, one row per direction.
CREATE TABLE association_labels (
    portal_id        INTEGER NOT NULL,
    from_type        TEXT NOT NULL,
    to_type          TEXT NOT NULL,
    type_id          INTEGER NOT NULL,
    label            TEXT NOT NULL,
    name             TEXT NOT NULL,
    inverse_type_id  INTEGER NOT NULL,
    PRIMARY KEY (portal_id, from_type, to_type, type_id)
) WITHOUT ROWID;
