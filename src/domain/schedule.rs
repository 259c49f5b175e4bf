//! When a scheduled change applies: the `at <when>` forms people type (`20:00`,
//! `2026-12-01 20:00`, an RFC 3339 time, `+90m`), read without a clock, and resolved against
//! the time now and the display time zone into one instant, which must lie in the future and
//! within [`MAX_AHEAD`].

use std::time::Duration;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// How far ahead a change may be scheduled.
pub const MAX_AHEAD: Duration = Duration::from_secs(7 * 24 * 3600);

/// A time as typed, not yet resolved (that needs the clock and the time zone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum When {
    /// `HH:MM`: the next such time in the display time zone.
    Clock { hour: i8, minute: i8 },
    /// `YYYY-MM-DD HH:MM` in the display time zone.
    Local(DateTime),
    /// An RFC 3339 time, with its own offset.
    Instant(Timestamp),
    /// `+<duration>` from now.
    In(Duration),
}

/// Why a schedule cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScheduleRefusal {
    /// At or before now (`at` in Unix seconds).
    NotInFuture { at: i64 },
    /// More than [`MAX_AHEAD`] from now.
    TooFar { at: i64 },
}

/// Reads a `<when>` from the start of `words`: the time and how many words it took, or `None`
/// when they do not start with one (they are then reason text). `YYYY-MM-DD HH:MM` takes two
/// words, the other forms one.
pub fn parse_when(words: &[&str]) -> Option<(When, usize)> {
    if let [date_word, time, ..] = words {
        if let (Ok(date), Some(time)) = (date_word.parse::<Date>(), clock(time)) {
            // Exactly `YYYY-MM-DD`, not the other ISO 8601 shapes jiff reads.
            if date.to_string() == *date_word {
                return Some((When::Local(date.to_datetime(time)), 2));
            }
        }
    }
    let word = *words.first()?;
    if let Some(time) = clock(word) {
        return Some((
            When::Clock {
                hour: time.hour(),
                minute: time.minute(),
            },
            1,
        ));
    }
    if let Some(duration) = word.strip_prefix('+') {
        // Digits first: `+ 5m`, `+-5m` and `+m` are not durations.
        if duration.starts_with(|c: char| c.is_ascii_digit()) {
            if let Ok(duration) = humantime::parse_duration(duration) {
                return Some((When::In(duration), 1));
            }
        }
        return None;
    }
    // RFC 3339 has a date, a `T` and an offset; jiff also reads other ISO 8601 shapes.
    if word.len() >= 20
        && word
            .as_bytes()
            .get(10)
            .is_some_and(|b| b.eq_ignore_ascii_case(&b'T'))
    {
        if let Ok(at) = word.parse::<Timestamp>() {
            return Some((When::Instant(at), 1));
        }
    }
    None
}

/// `H:MM` or `HH:MM`, 00:00 to 23:59.
fn clock(word: &str) -> Option<Time> {
    let (hour, minute) = word.split_once(':')?;
    let digits = |s: &str, lens: &[usize]| {
        (lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i8>().ok())
            .flatten()
    };
    let hour = digits(hour, &[1, 2]).filter(|h| (0..24).contains(h))?;
    let minute = digits(minute, &[2]).filter(|m| (0..60).contains(m))?;
    Time::new(hour, minute, 0, 0).ok()
}

/// The instant `when` names, in Unix seconds, seen at `now` in `tz`: in the future and at most
/// [`MAX_AHEAD`] away.
pub fn resolve(when: &When, now: u64, tz: &TimeZone) -> Result<u64, ScheduleRefusal> {
    let now_ts = Timestamp::from_second(now as i64).unwrap_or(Timestamp::MAX);
    let far = || ScheduleRefusal::TooFar { at: i64::MAX };
    let at: i64 = match when {
        When::In(duration) => {
            // Rounded up: `+1500ms` is not due before 1.5 s have passed.
            let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
            now.checked_add(secs)
                .and_then(|at| i64::try_from(at).ok())
                .ok_or_else(far)?
        }
        When::Instant(at) => at.as_second(),
        When::Local(datetime) => tz
            .to_ambiguous_zoned(*datetime)
            .compatible()
            .map_err(|_| far())?
            .timestamp()
            .as_second(),
        When::Clock { hour, minute } => {
            let today = now_ts.to_zoned(tz.clone()).date();
            let time = Time::new(*hour, *minute, 0, 0).map_err(|_| far())?;
            let on = |date: Date| {
                tz.to_ambiguous_zoned(date.to_datetime(time))
                    .compatible()
                    .map(|z| z.timestamp().as_second())
            };
            match on(today) {
                Ok(at) if at > now as i64 => at,
                _ => today.tomorrow().and_then(on).map_err(|_| far())?,
            }
        }
    };
    if at <= now as i64 {
        return Err(ScheduleRefusal::NotInFuture { at });
    }
    if (at - now as i64) as u64 > MAX_AHEAD.as_secs() {
        return Err(ScheduleRefusal::TooFar { at });
    }
    Ok(at as u64)
}

/// `2026-12-01 20:00:00 +08:00`: an instant as people in `tz` read it, with the offset so the
/// text means one instant wherever it is read (`2026-12-01 12:00:00 UTC` in UTC). Every time
/// the bot writes as text goes through here; `None` past what a calendar can show.
pub fn local_text(unix: u64, tz: &TimeZone) -> Option<String> {
    let ts = Timestamp::from_second(i64::try_from(unix).ok()?).ok()?;
    let zoned = ts.to_zoned(tz.clone());
    Some(if tz.iana_name() == Some("UTC") {
        format!("{} UTC", zoned.strftime("%Y-%m-%d %H:%M:%S"))
    } else {
        zoned.strftime("%Y-%m-%d %H:%M:%S %:z").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shanghai() -> TimeZone {
        TimeZone::get("Asia/Shanghai").unwrap()
    }

    /// 2027-01-15 08:00:00 UTC, 16:00 in Shanghai.
    const NOW: u64 = 1_800_000_000;

    fn one(text: &str) -> Option<When> {
        let words: Vec<&str> = text.split_whitespace().collect();
        parse_when(&words).map(|(when, _)| when)
    }

    #[test]
    fn every_form_parses() {
        assert_eq!(
            one("20:00"),
            Some(When::Clock {
                hour: 20,
                minute: 0
            })
        );
        assert_eq!(one("9:05"), Some(When::Clock { hour: 9, minute: 5 }));
        assert_eq!(one("+90m"), Some(When::In(Duration::from_secs(5400))));
        assert_eq!(one("+10s"), Some(When::In(Duration::from_secs(10))));
        assert!(matches!(one("2027-01-16 20:00"), Some(When::Local(_))));
        assert!(matches!(
            one("2027-01-16T20:00:00+08:00"),
            Some(When::Instant(_))
        ));
        for not_a_time in [
            "",
            "tomorrow",
            "24:00",
            "12:60",
            "123:00",
            "12:5",
            "+",
            "+m",
            "+-5m",
            "+soon",
            "20000",
            "2027-01-16",
            "campaign",
        ] {
            assert_eq!(one(not_a_time), None, "{not_a_time:?}");
        }
    }

    #[test]
    fn resolution_in_the_display_time_zone() {
        let tz = shanghai();
        // 16:00 in Shanghai now: 20:00 is today, 09:00 tomorrow.
        let at = resolve(&one("20:00").unwrap(), NOW, &tz).unwrap();
        assert_eq!(at, NOW + 4 * 3600);
        let at = resolve(&one("09:00").unwrap(), NOW, &tz).unwrap();
        assert_eq!(at, NOW + 17 * 3600);
        assert_eq!(resolve(&one("+5s").unwrap(), NOW, &tz), Ok(NOW + 5));
        assert_eq!(
            resolve(&one("2027-01-15T16:00:00+08:00").unwrap(), NOW, &tz),
            Err(ScheduleRefusal::NotInFuture { at: NOW as i64 })
        );
        assert!(matches!(
            resolve(&one("+8d").unwrap(), NOW, &tz),
            Err(ScheduleRefusal::TooFar { .. })
        ));
        assert!(matches!(
            resolve(&one("2027-01-15 15:00").unwrap(), NOW, &tz),
            Err(ScheduleRefusal::NotInFuture { .. })
        ));
        assert_eq!(
            resolve(&one("2027-01-15 17:30").unwrap(), NOW, &tz),
            Ok(NOW + 5400)
        );
        assert_eq!(
            local_text(NOW, &tz).as_deref(),
            Some("2027-01-15 16:00:00 +08:00")
        );
        assert_eq!(
            local_text(NOW, &TimeZone::UTC).as_deref(),
            Some("2027-01-15 08:00:00 UTC")
        );
        assert_eq!(local_text(u64::MAX, &tz), None);
    }

    proptest! {
        #[test]
        fn any_clock_time_is_the_next_one_within_a_day(hour in 0i8..24, minute in 0i8..60, now in 1_700_000_000u64..1_900_000_000) {
            let tz = shanghai();
            let text = format!("{hour:02}:{minute:02}");
            let when = one(&text).unwrap();
            prop_assert_eq!(&when, &When::Clock { hour, minute });
            let at = resolve(&when, now, &tz).unwrap();
            prop_assert!(at > now && at <= now + 24 * 3600, "{} at {} from {}", text, at, now);
            let local = Timestamp::from_second(at as i64).unwrap().to_zoned(tz);
            prop_assert_eq!((local.hour(), local.minute(), local.second()), (hour, minute, 0));
        }

        #[test]
        fn any_offset_resolves_to_now_plus_it(secs in 1u64..=MAX_AHEAD.as_secs(), now in 1_700_000_000u64..1_900_000_000) {
            let when = one(&format!("+{secs}s")).unwrap();
            prop_assert_eq!(resolve(&when, now, &shanghai()), Ok(now + secs));
            let compact = humantime::format_duration(Duration::from_secs(secs)).to_string().replace(" ", "");
            let when = one(&format!("+{compact}")).unwrap();
            prop_assert_eq!(resolve(&when, now, &shanghai()), Ok(now + secs));
        }

        #[test]
        fn past_and_far_times_are_refused(back in 0u64..1_000_000, ahead in MAX_AHEAD.as_secs() + 1..MAX_AHEAD.as_secs() * 10) {
            let tz = shanghai();
            let stamp = |unix: u64| Timestamp::from_second(unix as i64).unwrap().to_string();
            let past = one(&stamp(NOW - back)).unwrap();
            let refused = matches!(resolve(&past, NOW, &tz), Err(ScheduleRefusal::NotInFuture { .. }));
            prop_assert!(refused, "the past is refused");
            let far = one(&stamp(NOW + ahead)).unwrap();
            let refused = matches!(resolve(&far, NOW, &tz), Err(ScheduleRefusal::TooFar { .. }));
            prop_assert!(refused, "too far ahead is refused");
        }

        #[test]
        fn local_date_times_read_back(days in 0i64..7, hour in 0i8..24, minute in 0i8..60) {
            let tz = shanghai();
            let today = Timestamp::from_second(NOW as i64).unwrap().to_zoned(tz.clone()).date();
            let date = today.checked_add(jiff::Span::new().days(days)).unwrap();
            let text = format!("{date} {hour:02}:{minute:02}");
            let (when, used) = parse_when(&text.split(' ').collect::<Vec<_>>()).unwrap();
            prop_assert_eq!(used, 2);
            let expected = tz.to_ambiguous_zoned(date.at(hour, minute, 0, 0)).compatible().unwrap().timestamp().as_second();
            match resolve(&when, NOW, &tz) {
                Ok(at) => prop_assert_eq!(at as i64, expected),
                Err(ScheduleRefusal::NotInFuture { at }) => prop_assert!(at == expected && expected <= NOW as i64),
                Err(ScheduleRefusal::TooFar { at }) => prop_assert!(at == expected && expected - NOW as i64 > MAX_AHEAD.as_secs() as i64),
            }
        }

        #[test]
        fn nothing_typed_panics_and_reason_words_stay_reason(text in "\\PC{0,40}") {
            let words: Vec<&str> = text.split_whitespace().collect();
            if let Some((when, used)) = parse_when(&words) {
                prop_assert!((1..=2).contains(&used));
                let _ = resolve(&when, NOW, &shanghai());
            }
        }
    }
}
