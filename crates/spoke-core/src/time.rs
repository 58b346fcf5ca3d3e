//! HubSpot's timestamp formats.
//!
//! Record timestamps look like Java's `Instant.toString()` at millisecond precision:
//! `2025-11-03T23:36:13.632Z`, with the fraction dropped when it is zero
//! (`2025-02-18T09:12:17Z`), hubspot-behavior.md §0.

use ::time::format_description::well_known::Rfc3339;
use ::time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as Millis
}

fn to_datetime(ms: Millis) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// Formats epoch milliseconds the way HubSpot prints `createdAt`, `updatedAt` and datetime values.
pub fn format_iso(ms: Millis) -> String {
    let Some(dt) = to_datetime(ms) else {
        return ms.to_string();
    };
    // Written digit by digit: every record on the wire carries at least two of these, and
    // `format!` made them 5% of a batch read's CPU.
    fn push(out: &mut String, n: u32, width: u32) {
        for i in (0..width).rev() {
            let digit = (n / 10u32.pow(i)) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
    }
    let mut out = String::with_capacity(24);
    let year = dt.year();
    if !(0..=9999).contains(&year) {
        return format!(
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}Z",
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second(),
            match dt.millisecond() {
                0 => String::new(),
                m => format!(".{m:03}"),
            }
        );
    }
    push(&mut out, year as u32, 4);
    out.push('-');
    push(&mut out, u32::from(u8::from(dt.month())), 2);
    out.push('-');
    push(&mut out, u32::from(dt.day()), 2);
    out.push('T');
    push(&mut out, u32::from(dt.hour()), 2);
    out.push(':');
    push(&mut out, u32::from(dt.minute()), 2);
    out.push(':');
    push(&mut out, u32::from(dt.second()), 2);
    let millis = dt.millisecond();
    if millis != 0 {
        out.push('.');
        push(&mut out, u32::from(millis), 3);
    }
    out.push('Z');
    out
}

/// Parses an ISO-8601 instant (`2024-01-02T03:04:05.678Z`, offsets allowed) to epoch ms.
pub fn parse_iso(s: &str) -> Option<Millis> {
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some((dt.unix_timestamp_nanos() / 1_000_000) as Millis);
    }
    // HubSpot also takes a bare date where a datetime is expected: midnight UTC.
    parse_ymd(s)
}

/// Parses `YYYY-MM-DD` to the epoch ms of that day's UTC midnight.
pub fn parse_ymd(s: &str) -> Option<Millis> {
    let fmt = ::time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(s, &fmt).ok()?;
    let dt = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(UtcOffset::UTC);
    Some((dt.unix_timestamp_nanos() / 1_000_000) as Millis)
}

/// The time of day of an epoch-ms instant, in HubSpot's `INVALID_DATE` wording:
/// hours, minutes and seconds not zero-padded, milliseconds three digits (`20:36:1.954`).
pub fn time_of_day_hubspot(ms: Millis) -> String {
    match to_datetime(ms) {
        Some(dt) => format!(
            "{}:{}:{}.{:03}",
            dt.hour(),
            dt.minute(),
            dt.second(),
            dt.millisecond()
        ),
        None => String::new(),
    }
}

pub const DAY_MS: Millis = 86_400_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_drops_zero_fraction_like_java_instant() {
        assert_eq!(format_iso(1_572_480_000_000), "2019-10-31T00:00:00Z");
        assert_eq!(format_iso(1_572_480_000_123), "2019-10-31T00:00:00.123Z");
        assert_eq!(format_iso(1_572_526_245_007), "2019-10-31T12:50:45.007Z");
        assert_eq!(format_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso(-62_198_755_200_000), "-001-01-01T00:00:00Z");
    }

    #[test]
    fn parses_iso_and_dates() {
        assert_eq!(
            parse_iso("2019-10-31T00:00:00.123Z"),
            Some(1_572_480_000_123)
        );
        assert_eq!(
            parse_iso("2019-10-31T02:00:00+02:00"),
            Some(1_572_480_000_000)
        );
        assert_eq!(parse_ymd("2019-10-31"), Some(1_572_480_000_000));
        assert_eq!(parse_ymd("2019-13-31"), None);
    }

    #[test]
    fn invalid_date_time_of_day_is_unpadded() {
        assert_eq!(time_of_day_hubspot(1_606_768_561_954), "20:36:1.954");
    }
}
