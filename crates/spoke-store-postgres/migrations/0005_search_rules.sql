-- Search's SQL functions under the names of the core's rules (spoke_core::search), which
-- the search compiler shared with SQLite uses. spoke_real and spoke_integer (migration
-- 0003) already compute those rules; they stay for a spoke of an earlier version running
-- on this database.

-- spoke_core::search::number: the longest [+-]digits[.digits][e[+-]digits] prefix after
-- leading ASCII whitespace, rounded to the nearest double; 0 without one.
CREATE FUNCTION spoke_number(t TEXT) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT spoke_real(t)
$$;

-- spoke_core::search::date: the longest [+-]digits prefix after leading ASCII whitespace,
-- clamped to 64 bits; 0 without one.
CREATE FUNCTION spoke_date(t TEXT) RETURNS BIGINT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT spoke_integer(t)
$$;

-- A CONTAINS_TOKEN wildcard token as a LIKE pattern: `*` matches any run, every other
-- character only itself.
CREATE FUNCTION spoke_glob(token TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT replace(replace(replace(replace(token, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%')
$$;

-- spoke_core::search::token_matches. Unlike migration 0004's version, a wildcard also
-- matches an empty value as a whole (`*` matches ""), as the core's rule does; 0004 dropped
-- empty strings before globbing, which is right only for the words.
CREATE OR REPLACE FUNCTION spoke_token_match(t TEXT, token TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $body$
    SELECT CASE
        WHEN t IS NULL OR token = '' THEN FALSE
        WHEN strpos(token, '*') > 0 THEN spoke_fold(t) LIKE spoke_glob(token) ESCAPE '\'
            OR EXISTS (
                SELECT 1 FROM regexp_split_to_table(spoke_fold(t), '[^{{ALNUM}}]') AS w
                WHERE w <> '' AND w LIKE spoke_glob(token) ESCAPE '\')
        ELSE spoke_fold(t) = token
            OR token = ANY (regexp_split_to_array(spoke_fold(t), '[^{{ALNUM}}]'))
    END
$body$;
