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
    if let Some((buf, len)) = iso_digits(ms) {
        return String::from_utf8_lossy(&buf[..len]).into_owned();
    }
    let Some(dt) = to_datetime(ms) else {
        return ms.to_string();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        match dt.millisecond() {
            0 => String::new(),
            m => format!(".{m:03}"),
        }
    )
}

/// [`format_iso`] as a `Display`, for writing an instant straight into a response without a
/// `String` of its own: a batch read of 100 records shows 200 computed instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iso(pub Millis);

impl std::fmt::Display for Iso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match iso_digits(self.0) {
            Some((buf, len)) => {
                f.write_str(std::str::from_utf8(&buf[..len]).map_err(|_| std::fmt::Error)?)
            }
            None => f.write_str(&format_iso(self.0)),
        }
    }
}

/// The text of [`format_iso`] for years 0-9999 (every instant spoke stores), written digit
/// by digit into a fixed buffer: `format!` made these 5% of a batch read's CPU. `None`
/// outside that range, which [`format_iso`] writes the slow way.
fn iso_digits(ms: Millis) -> Option<([u8; 24], usize)> {
    // Whole seconds and the millisecond apart: no 128-bit nanoseconds on this path.
    let dt = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()?;
    let millis = ms.rem_euclid(1000) as u32;
    let (year, month, day) = dt.to_calendar_date();
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (hour, minute, second) = dt.to_hms();
    fn put(out: &mut [u8; 24], at: usize, mut n: u32, width: usize) {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    let mut out = *b"0000-00-00T00:00:00.000Z";
    put(&mut out, 0, year as u32, 4);
    put(&mut out, 5, u32::from(u8::from(month)), 2);
    put(&mut out, 8, u32::from(day), 2);
    put(&mut out, 11, u32::from(hour), 2);
    put(&mut out, 14, u32::from(minute), 2);
    put(&mut out, 17, u32::from(second), 2);
    if millis == 0 {
        out[19] = b'Z';
        return Some((out, 20));
    }
    put(&mut out, 20, millis, 3);
    Some((out, 24))
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
    fn iso_display_writes_what_format_iso_returns() {
        for ms in [
            0,
            1_572_480_000_000,
            1_572_480_000_123,
            1_572_526_245_007,
            253_402_300_799_999,
            -1,
            -999,
            -1_000,
            -62_198_755_200_000,
            i64::MAX,
        ] {
            assert_eq!(Iso(ms).to_string(), format_iso(ms), "{ms}");
        }
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
