-- Search filters and sorts on the record columns (incremental sync by
-- hs_lastmodifieddate, oldest-first by createdate) run on these indexes.
CREATE INDEX objects_by_updated ON objects (portal_id, object_type, updated_at);
CREATE INDEX objects_by_created ON objects (portal_id, object_type, created_at);

-- The functions below give search SQL exactly the meaning the SQLite backend's SQL has:
-- SQLite's CAST(text AS REAL) and CAST(text AS INTEGER), and the SQL functions the SQLite
-- backend registers from Rust (`spoke_instant`, `spoke_multi_has`, `spoke_token_match`).

-- SQLite's CAST(t AS REAL): the longest numeric prefix after leading whitespace, 0 if
-- there is none, +-Infinity past the largest double, 0 below the smallest.
CREATE FUNCTION spoke_real(t TEXT) RETURNS DOUBLE PRECISION
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    m TEXT[];
    frac TEXT;
    sig TEXT;
    e NUMERIC := 0;
    scale NUMERIC;
    n NUMERIC;
    r DOUBLE PRECISION;
BEGIN
    m := regexp_match(t, '^[ \t\n\v\f\r]*([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?');
    frac := coalesce(m[3], '');
    IF m[2] = '' AND frac = '' THEN
        RETURN 0;
    END IF;
    sig := ltrim(m[2] || frac, '0');
    IF sig = '' THEN
        RETURN 0;
    END IF;
    IF m[4] IS NOT NULL THEN
        e := m[4]::NUMERIC;
    END IF;
    -- The value is 0.<sig> x 10^scale.
    scale := length(sig) + e - length(frac);
    IF scale > 310 THEN
        r := 'Infinity';
    ELSIF scale < -330 THEN
        r := 0;
    ELSE
        n := ('0.' || sig || 'e' || scale)::NUMERIC;
        IF n >= 1.797693134862315807937289714053e308 THEN
            r := 'Infinity';
        ELSIF n <= 2.4703282292062327208828439643411e-324 THEN
            r := 0;
        ELSE
            r := n::DOUBLE PRECISION;
        END IF;
    END IF;
    IF m[1] = '-' THEN
        RETURN -r;
    END IF;
    RETURN r;
END
$$;

-- SQLite's CAST(t AS INTEGER): the longest integer prefix after leading whitespace, 0 if
-- there is none, clamped to the 64-bit range.
CREATE FUNCTION spoke_integer(t TEXT) RETURNS BIGINT
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    m TEXT[];
    n NUMERIC;
BEGIN
    m := regexp_match(t, '^[ \t\n\v\f\r]*([+-]?)([0-9]+)');
    IF m IS NULL THEN
        RETURN 0;
    END IF;
    n := (m[1] || m[2])::NUMERIC;
    IF n > 9223372036854775807 THEN
        RETURN 9223372036854775807;
    ELSIF n < -9223372036854775808 THEN
        RETURN -9223372036854775808;
    END IF;
    RETURN n::BIGINT;
END
$$;

-- Days from 1970-01-01 to a proleptic Gregorian date (any year).
CREATE FUNCTION spoke_days_from_civil(y BIGINT, m INT, d INT) RETURNS BIGINT
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    yy BIGINT := CASE WHEN m <= 2 THEN y - 1 ELSE y END;
    era BIGINT;
    yoe BIGINT;
    doy BIGINT;
BEGIN
    era := (CASE WHEN yy >= 0 THEN yy ELSE yy - 399 END) / 400;
    yoe := yy - era * 400;
    doy := (153 * (CASE WHEN m > 2 THEN m - 3 ELSE m + 9 END) + 2) / 5 + d - 1;
    RETURN era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
END
$$;

CREATE FUNCTION spoke_valid_date(y BIGINT, m INT, d INT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT m BETWEEN 1 AND 12 AND d >= 1 AND d <= CASE
        WHEN m = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
        WHEN m IN (4, 6, 9, 11) THEN 30
        ELSE 31
    END
$$;

-- spoke_core::time::parse_iso: an RFC 3339 instant as the `time` crate parses it (any one
-- ASCII separator, fraction truncated to nanoseconds, `Z` or +-HH:MM, a leap second only
-- as the last second of a month in UTC), else a bare [+-]YYYY-MM-DD at UTC midnight; epoch
-- milliseconds truncated toward zero, NULL if neither parses.
CREATE FUNCTION spoke_instant(t TEXT) RETURNS BIGINT
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    m TEXT[];
    y BIGINT;
    mo INT;
    d INT;
    h INT;
    mi INT;
    s INT;
    nanos BIGINT := 0;
    off BIGINT := 0;
    leap BOOLEAN;
    secs BIGINT;
    utc_day BIGINT;
BEGIN
    m := regexp_match(t, '^([0-9]{4})-([0-9]{2})-([0-9]{2})[\x01-\x7f]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))$');
    IF m IS NOT NULL THEN
        y := m[1]::BIGINT;
        mo := m[2]::INT;
        d := m[3]::INT;
        h := m[4]::INT;
        mi := m[5]::INT;
        s := m[6]::INT;
        IF m[7] IS NOT NULL THEN
            nanos := rpad(left(m[7], 9), 9, '0')::BIGINT;
        END IF;
        IF m[8] IS NULL THEN
            IF m[10]::INT > 23 OR m[11]::INT > 59 THEN
                RETURN NULL;
            END IF;
            off := m[10]::INT * 3600 + m[11]::INT * 60;
            IF m[9] = '-' THEN
                off := -off;
            END IF;
        END IF;
        leap := s = 60;
        IF leap THEN
            s := 59;
            nanos := 999999999;
        END IF;
        IF NOT spoke_valid_date(y, mo, d) OR h > 23 OR mi > 59 OR s > 59 THEN
            RETURN NULL;
        END IF;
        secs := spoke_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
        IF leap THEN
            utc_day := secs / 86400;
            IF secs % 86400 < 0 THEN
                utc_day := utc_day - 1;
            END IF;
            IF secs - utc_day * 86400 <> 86399
               OR extract(day FROM date '1970-01-01' + (utc_day + 1)::INT) <> 1 THEN
                RETURN NULL;
            END IF;
        END IF;
        -- div() is exact integer division, truncating toward zero like Rust's `/`.
        RETURN div(secs::NUMERIC * 1000000000 + nanos, 1000000)::BIGINT;
    END IF;
    m := regexp_match(t, '^([+-]?)([0-9]{4})-([0-9]{2})-([0-9]{2})$');
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    y := m[2]::BIGINT;
    IF m[1] = '-' THEN
        y := -y;
    END IF;
    mo := m[3]::INT;
    d := m[4]::INT;
    IF NOT spoke_valid_date(y, mo, d) THEN
        RETURN NULL;
    END IF;
    RETURN spoke_days_from_civil(y, mo, d) * 86400000;
END
$$;

-- Whether a `;`-joined multi-select value has `opt` among its parts (Rust's split(';')).
CREATE FUNCTION spoke_multi_has(t TEXT, opt TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT t IS NOT NULL AND strpos(opt, ';') = 0
        AND strpos(';' || t || ';', ';' || opt || ';') > 0
$$;

-- spoke_core::search::token_matches: the value lowercased (Unicode, as Rust's
-- to_lowercase: ICU's root locale where the server has ICU), then a `*` glob over the whole
-- value, or the value equal to the token, or one of its words equal to it, words being
-- split at each character that is not alphanumeric. {{ALNUM}} is replaced, when this
-- migration runs, by the ranges of characters Rust's char::is_alphanumeric accepts, so
-- the words are the ones the SQLite backend's Rust function sees.
DO $do$
DECLARE
    coll TEXT := CASE
        WHEN EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') THEN '"und-x-icu"'
        ELSE '"default"'
    END;
BEGIN
    EXECUTE format($f$
        CREATE FUNCTION spoke_token_match(t TEXT, token TEXT) RETURNS BOOLEAN
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $body$
            SELECT CASE
                WHEN t IS NULL OR token = '' THEN FALSE
                WHEN strpos(token, '*') > 0 THEN EXISTS (
                    -- A wildcard matches the whole value or any one word of it.
                    SELECT 1 FROM unnest(array_prepend(lower(t COLLATE %1$s),
                        regexp_split_to_array(lower(t COLLATE %1$s), '[^{{ALNUM}}]'))) AS w
                    WHERE w <> '' AND w LIKE replace(replace(replace(replace(
                        token, '\', '\\'), '%%', '\%%'), '_', '\_'), '*', '%%') ESCAPE '\')
                ELSE lower(t COLLATE %1$s) = token
                    OR token = ANY (regexp_split_to_array(lower(t COLLATE %1$s), '[^{{ALNUM}}]'))
            END
        $body$
    $f$, coll);
END
$do$;
