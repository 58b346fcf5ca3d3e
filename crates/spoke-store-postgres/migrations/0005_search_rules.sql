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
