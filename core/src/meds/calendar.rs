//! Calendar and zone arithmetic for schedules: days, saturating shifts, the DST rule that turns
//! a wall time into an instant, midnights, and instants read back from the log's milliseconds.
//!
//! Nothing here knows a medication: the modules above it reason in doses, this one in dates and
//! instants. Every step saturates at the calendar's ends, so a schedule near the year 9999 is
//! short or empty, never an overflow.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// The date `n` days after `d` (before, when negative), saturating at the calendar's ends.
pub(crate) fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(SignedDuration::from_hours(24 * n))
        .unwrap_or(if n < 0 { Date::MIN } else { Date::MAX })
}

/// `t + d`, saturating at the ends of time: an instant near the calendar's end (from a clock
/// or a QA caller) gives an empty or short schedule, never an overflow.
pub(crate) fn shift(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(if d.is_negative() {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Whole days from `a` to `b`.
pub(crate) fn days_between(a: Date, b: Date) -> i64 {
    b.duration_since(a).as_hours() / 24
}

/// The instant at which wall time `local` happens in `zone`.
///
/// DST: a wall time that does not exist that day (the clocks went forward over it) fires at the
/// first valid instant after it, which is the transition itself (02:30 on a spring-forward night
/// in New York fires at 03:00 EDT; jiff's "compatible" rule would give 03:30). A wall time that
/// happens twice (the clocks went back) fires once, at its first occurrence.
pub(crate) fn resolve(zone: &TimeZone, local: DateTime) -> Option<Timestamp> {
    match zone.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok(),
        AmbiguousOffset::Gap { before, after } => {
            // Read with the later offset, the wall time names an instant just before the gap; the
            // next transition after it is where the gap ends.
            let just_before = after.to_timestamp(local).ok()?;
            zone.following(just_before)
                .next()
                .map(|t| t.timestamp())
                .or_else(|| before.to_timestamp(local).ok())
        }
    }
}

/// [`resolve`] with a memo of the current offset span: between two transitions of a zone
/// (months apart) a wall time is a fixed offset away from its instant, so most wall times are
/// resolved with one subtraction instead of a time zone lookup.
pub(crate) struct Resolver<'z> {
    zone: &'z TimeZone,
    /// Wall times whose instant (by `offset`) falls in `[lo, hi)` are unambiguous.
    lo: Timestamp,
    hi: Timestamp,
    offset: Offset,
}

impl<'z> Resolver<'z> {
    /// A resolver for `zone` with nothing memoised yet.
    pub(crate) fn new(zone: &'z TimeZone) -> Self {
        Resolver {
            zone,
            lo: Timestamp::MAX,
            hi: Timestamp::MIN,
            offset: Offset::UTC,
        }
    }

    /// The instant of `local`, by the rule of [`resolve`].
    pub(crate) fn resolve(&mut self, local: DateTime) -> Option<Timestamp> {
        if let Ok(at) = self.offset.to_timestamp(local)
            && self.lo <= at
            && at < self.hi
        {
            return Some(at);
        }
        let at = resolve(self.zone, local)?;
        // Two days of margin from each transition: no gap or fold (nor two offsets) reach that
        // far, so inside the span the offset alone decides.
        let margin = SignedDuration::from_hours(48);
        let probe = at.checked_add(SignedDuration::from_secs(1)).unwrap_or(at);
        let lo = self
            .zone
            .preceding(probe)
            .next()
            .map_or(Timestamp::MIN, |t| {
                t.timestamp().checked_add(margin).unwrap_or(Timestamp::MAX)
            });
        let hi = self.zone.following(at).next().map_or(Timestamp::MAX, |t| {
            t.timestamp().checked_sub(margin).unwrap_or(Timestamp::MIN)
        });
        if lo < hi {
            self.lo = lo;
            self.hi = hi;
            self.offset = self.zone.to_offset(lo);
        }
        Some(at)
    }
}

/// Midnight starting `day` in `zone` (the first instant of the day, whatever DST does).
pub fn start_of_day(zone: &TimeZone, day: Date) -> Timestamp {
    resolve(zone, day.to_datetime(Time::midnight())).unwrap_or(Timestamp::MIN)
}

/// The instant `ms` milliseconds after the epoch, held to the calendar's ends: the log stores
/// instants, so only arithmetic beyond the year 9999 reaches an end.
pub(crate) fn instant_at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}
