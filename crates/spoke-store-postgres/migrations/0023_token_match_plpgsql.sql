-- spoke_core::search::token_matches, as migration 0005 computes it, in PL/pgSQL: a SQL
-- function with a subquery is never inlined, so each call ran a small query of its own
-- (0.035 ms a record, against 0.005 for an EQ's predicate), and CONTAINS_TOKEN checks
-- every candidate the word index finds. PL/pgSQL evaluates the simple expressions of a
-- token without `*` on its fast path, and folds the value once (BENCHMARKS.md, "Token
-- predicate").
CREATE OR REPLACE FUNCTION spoke_token_match(t TEXT, token TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $body$
DECLARE
    f TEXT;
BEGIN
    IF t IS NULL OR token = '' THEN
        RETURN FALSE;
    END IF;
    f := spoke_fold(t);
    IF strpos(token, '*') > 0 THEN
        RETURN f LIKE spoke_glob(token) ESCAPE '\'
            OR EXISTS (
                SELECT 1 FROM regexp_split_to_table(f, '[^{{ALNUM}}]') AS w
                WHERE w <> '' AND w LIKE spoke_glob(token) ESCAPE '\');
    END IF;
    RETURN f = token OR token = ANY (regexp_split_to_array(f, '[^{{ALNUM}}]'));
END
$body$;
