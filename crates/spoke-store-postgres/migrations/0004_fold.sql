-- spoke_core::search::fold, the form in which search compares text case-insensitively:
-- Unicode whitespace trimmed (the WHITESPACE placeholder is replaced, when this migration runs, by the
-- characters Rust's char::is_whitespace accepts), lowercased with Unicode's full mapping as
-- Rust's str::to_lowercase (İ becomes i + U+0307), and the final sigma ς mapped to σ. The
-- result is in the "C" collation: folded values compare and sort bytewise, as in SQLite.
--
-- The lowercasing uses, in order of preference: ICU's root locale (the same mapping as
-- Rust's); else the database's own locale when it lowercases beyond ASCII (glibc's
-- simple mapping; İ is mapped first, as glibc's C.UTF-8 would give a bare i); else a
-- translation table of every character Rust lowercases to one other character
-- (the LOWER_FROM / LOWER_TO placeholders, filled in when this migration runs), which is exact but
-- slower, and only used for values that are not plain ASCII.
DO $do$
DECLARE
    body TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN
        body := $b$lower(replace(btrim(t, '{{WHITESPACE}}'), 'İ', 'i̇') COLLATE "und-x-icu")$b$;
    ELSIF lower('ÉØΣＡ' COLLATE "default") = 'éøσａ' THEN
        body := $b$lower(replace(btrim(t, '{{WHITESPACE}}'), 'İ', 'i̇') COLLATE "default")$b$;
    ELSE
        body := $b$CASE WHEN btrim(t, '{{WHITESPACE}}') ~ '^[\x01-\x7f]*$'
            THEN lower(btrim(t, '{{WHITESPACE}}') COLLATE "C")
            ELSE translate(replace(lower(btrim(t, '{{WHITESPACE}}') COLLATE "C"), 'İ', 'i̇'),
                '{{LOWER_FROM}}', '{{LOWER_TO}}')
        END$b$;
    END IF;
    EXECUTE format($f$
        CREATE FUNCTION spoke_fold(t TEXT) RETURNS TEXT
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $body$
            SELECT replace(%s, 'ς', 'σ') COLLATE "C"
        $body$
    $f$, body);
END
$do$;

-- spoke_core::search::token_matches, now on the folded value (as the SQLite backend's
-- Rust function), with the words split as migration 0003 splits them.
CREATE OR REPLACE FUNCTION spoke_token_match(t TEXT, token TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $body$
    SELECT CASE
        WHEN t IS NULL OR token = '' THEN FALSE
        WHEN strpos(token, '*') > 0 THEN EXISTS (
            -- A wildcard matches the whole value or any one word of it.
            SELECT 1 FROM unnest(array_prepend(spoke_fold(t),
                regexp_split_to_array(spoke_fold(t), '[^{{ALNUM}}]'))) AS w
            WHERE w <> '' AND w LIKE replace(replace(replace(replace(
                token, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%') ESCAPE '\')
        ELSE spoke_fold(t) = token
            OR token = ANY (regexp_split_to_array(spoke_fold(t), '[^{{ALNUM}}]'))
    END
$body$;
