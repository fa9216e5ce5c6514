//! Input adapters: the syslog envelope (time, host, program, pid) around each message.
//!
//! Recognised framings: classic BSD syslog (`Jan  8 00:32:22`, space- or zero-padded day,
//! no year), RFC 3339 / ISO 8601 timestamps (fractions, `Z`, `+01:00`, `+0100`), RFC 5424
//! (`<PRI>1 ...`), a bare `<PRI>` before either, and `journalctl -o json` export lines.
//! Rules never see any of this: they get the program and the message.
#![forbid(unsafe_code)]

use std::borrow::Cow;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::Deserialize;

/// Why a line was not turned into an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Not a syslog line (no timestamp, host and tag where they belong).
    NotSyslog,
    /// Longer than the longest line Postfix or syslog writes.
    TooLong,
    /// Contains NUL bytes or other binary content inside the line.
    Binary,
    /// A journal export line that is not a JSON object with a message.
    BadJournal,
    /// Blank line, or a journalctl marker such as `-- Boot 1a2b --`.
    Blank,
}

impl Skip {
    pub fn name(self) -> &'static str {
        match self {
            Skip::NotSyslog => "not_syslog",
            Skip::TooLong => "too_long",
            Skip::Binary => "binary",
            Skip::BadJournal => "bad_journal",
            Skip::Blank => "blank",
        }
    }
}

/// The envelope of one log line. `ts` is microseconds since the Unix epoch (UTC).
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<'a> {
    pub ts: Option<i64>,
    pub host: Cow<'a, str>,
    pub program: Cow<'a, str>,
    pub pid: Option<i32>,
    pub message: Cow<'a, str>,
}

/// The timestamp as written, before a year and a zone are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// Classic syslog: month, day, hour, minute, second, microsecond; no year, local time.
    Local {
        month: i8,
        day: i8,
        hour: i8,
        minute: i8,
        second: i8,
        micros: i32,
    },
    /// A complete timestamp, already in microseconds UTC.
    Absolute(i64),
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn two_digits(b: &[u8], at: usize) -> Option<i8> {
    let hi = *b.get(at)?;
    let lo = *b.get(at + 1)?;
    if hi.is_ascii_digit() && lo.is_ascii_digit() {
        Some(((hi - b'0') * 10 + (lo - b'0')) as i8)
    } else {
        None
    }
}

fn digits_value(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 18 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
}

/// `.123456` fractions: returns (microseconds, bytes consumed including the dot).
fn fraction(b: &[u8], at: usize) -> (i32, usize) {
    if b.get(at) != Some(&b'.') {
        return (0, 0);
    }
    let digits = b[at + 1..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 {
        return (0, 0);
    }
    let mut micros: i32 = 0;
    for i in 0..6 {
        let d = if i < digits {
            i32::from(b[at + 1 + i] - b'0')
        } else {
            0
        };
        micros = micros * 10 + d;
    }
    (micros, 1 + digits)
}

/// Parses `HH:MM:SS` at `at`.
fn clock(b: &[u8], at: usize) -> Option<(i8, i8, i8)> {
    let h = two_digits(b, at)?;
    let m = two_digits(b, at + 3)?;
    let s = two_digits(b, at + 6)?;
    if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') {
        return None;
    }
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((h, m, s))
}

/// Classic `Mmm dd HH:MM:SS` (day space-padded, zero-padded or unpadded). Returns the stamp
/// and the number of bytes consumed.
fn classic_stamp(b: &[u8]) -> Option<(Stamp, usize)> {
    if b.len() < 15 {
        return None;
    }
    let month = MONTHS.iter().position(|m| &b[..3] == *m)? as i8 + 1;
    if b[3] != b' ' {
        return None;
    }
    let (day, clock_at) = match (b[4], b[5]) {
        (b' ', d) if d.is_ascii_digit() => ((d - b'0') as i8, 7),
        (d1, d2) if d1.is_ascii_digit() && d2.is_ascii_digit() => {
            (((d1 - b'0') * 10 + (d2 - b'0')) as i8, 7)
        }
        (d, b' ') if d.is_ascii_digit() => ((d - b'0') as i8, 6),
        _ => return None,
    };
    if b.get(clock_at - 1) != Some(&b' ') || !(1..=31).contains(&day) {
        return None;
    }
    let (hour, minute, second) = clock(b, clock_at)?;
    let (micros, frac_len) = fraction(b, clock_at + 8);
    Some((
        Stamp::Local {
            month,
            day,
            hour,
            minute,
            second,
            micros,
        },
        clock_at + 8 + frac_len,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// RFC 3339 / ISO 8601: `YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM|±HHMM)`. A timestamp without an
/// offset is not accepted here: syslog writers that use this form always write one.
fn iso_stamp(b: &[u8]) -> Option<(Stamp, usize)> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let year = digits_value(&b[0..4])?;
    let month = i64::from(two_digits(b, 5)?);
    let day = i64::from(two_digits(b, 8)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (h, mi, s) = clock(b, 11)?;
    let (micros, frac_len) = fraction(b, 19);
    let mut at = 19 + frac_len;
    let offset_seconds: i64 = match b.get(at) {
        Some(b'Z') | Some(b'z') => {
            at += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = i64::from(two_digits(b, at + 1)?);
            let (om, len) = if b.get(at + 3) == Some(&b':') {
                (i64::from(two_digits(b, at + 4)?), 6)
            } else {
                (i64::from(two_digits(b, at + 3)?), 5)
            };
            if oh > 23 || om > 59 {
                return None;
            }
            at += len;
            let magnitude = oh * 3600 + om * 60;
            if sign == b'-' {
                -magnitude
            } else {
                magnitude
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400
        + i64::from(h) * 3600
        + i64::from(mi) * 60
        + i64::from(s)
        - offset_seconds;
    Some((Stamp::Absolute(seconds * 1_000_000 + i64::from(micros)), at))
}

/// `program[pid]: message` or `program: message`.
fn tag_and_message(rest: &str) -> Option<(&str, Option<i32>, &str)> {
    let b = rest.as_bytes();
    // The tag ends at a space, `[`, `:` or tab; memchr looks for three of them at once.
    let stop = memchr::memchr3(b' ', b'[', b':', b).unwrap_or(b.len());
    let name_len = memchr::memchr(b'\t', &b[..stop]).unwrap_or(stop);
    if name_len == 0 {
        return None;
    }
    let program = &rest[..name_len];
    let mut at = name_len;
    let mut pid = None;
    if b.get(at) == Some(&b'[') {
        let close = at + 1 + b[at + 1..].iter().position(|c| *c == b']')?;
        pid = digits_value(&b[at + 1..close]).and_then(|v| i32::try_from(v).ok());
        at = close + 1;
    }
    if b.get(at) != Some(&b':') {
        return None;
    }
    at += 1;
    if b.get(at) == Some(&b' ') {
        at += 1;
    }
    Some((program, pid, &rest[at..]))
}

/// Splits `host rest` and returns (host, rest).
fn host_field(s: &str) -> Option<(&str, &str)> {
    let s = s.strip_prefix(' ')?;
    let end = memchr::memchr(b' ', s.as_bytes())?;
    if end == 0 {
        return None;
    }
    Some((&s[..end], &s[end + 1..]))
}

/// An RFC 5424 line after `<PRI>1 `: `TS HOST APP PROCID MSGID SD MSG`.
fn rfc5424(s: &str) -> Option<(Stamp, &str, &str, Option<i32>, &str)> {
    let mut parts = s.splitn(6, ' ');
    let ts = parts.next()?;
    let host = parts.next()?;
    let app = parts.next()?;
    let procid = parts.next()?;
    let _msgid = parts.next()?;
    let rest = parts.next().unwrap_or("");
    let (stamp, used) = iso_stamp(ts.as_bytes())?;
    if used != ts.len() || app == "-" {
        return None;
    }
    // Structured data is `-` or one or more `[id k="v"...]` elements; values may hold `]`
    // only escaped as `\]`.
    let message = if let Some(m) = rest.strip_prefix('-') {
        m.strip_prefix(' ').unwrap_or(m)
    } else if rest.starts_with('[') {
        let b = rest.as_bytes();
        let mut i = 0;
        while b.get(i) == Some(&b'[') {
            let mut j = i + 1;
            while j < b.len() && b[j] != b']' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
        }
        let m = rest.get(i.min(rest.len())..).unwrap_or("");
        m.strip_prefix(' ').unwrap_or(m)
    } else {
        return None;
    };
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    let pid = digits_value(procid.as_bytes()).and_then(|v| i32::try_from(v).ok());
    Some((stamp, host, app, pid, message))
}

/// Parses the syslog envelope of one line (without its newline).
pub fn parse_syslog(line: &str) -> Result<(Stamp, Envelope<'_>), Skip> {
    let mut s = line;
    // `chars().all` rather than `trim().is_empty()`: it stops at the first character.
    if s.chars().all(char::is_whitespace) || s.starts_with("-- ") {
        return Err(Skip::Blank);
    }
    if let Some(after) = s.strip_prefix('<') {
        let close = after.find('>').ok_or(Skip::NotSyslog)?;
        if close == 0 || close > 3 || !after[..close].bytes().all(|c| c.is_ascii_digit()) {
            return Err(Skip::NotSyslog);
        }
        s = &after[close + 1..];
        if let Some(v1) = s.strip_prefix("1 ") {
            let (stamp, host, program, pid, message) = rfc5424(v1).ok_or(Skip::NotSyslog)?;
            return Ok((
                stamp,
                Envelope {
                    ts: None,
                    host: Cow::Borrowed(host),
                    program: Cow::Borrowed(program),
                    pid,
                    message: Cow::Borrowed(message),
                },
            ));
        }
    }
    let b = s.as_bytes();
    let (stamp, used) = if b.first().is_some_and(u8::is_ascii_digit) {
        iso_stamp(b)
    } else {
        classic_stamp(b)
    }
    .ok_or(Skip::NotSyslog)?;
    let (host, rest) = host_field(&s[used..]).ok_or(Skip::NotSyslog)?;
    let (program, pid, message) = tag_and_message(rest).ok_or(Skip::NotSyslog)?;
    Ok((
        stamp,
        Envelope {
            ts: None,
            host: Cow::Borrowed(host),
            program: Cow::Borrowed(program),
            pid,
            message: Cow::Borrowed(message),
        },
    ))
}

/// `MESSAGE` in a journal export is a string, or an array of bytes when it is not UTF-8.
#[derive(Deserialize)]
#[serde(untagged)]
enum JournalText {
    Text(String),
    Bytes(Vec<u8>),
    Other(#[allow(dead_code)] serde_json::Value),
}

impl JournalText {
    fn into_string(self) -> Option<String> {
        match self {
            JournalText::Text(s) => Some(s),
            JournalText::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            JournalText::Other(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct JournalEntry {
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<String>,
    #[serde(rename = "_HOSTNAME")]
    hostname: Option<JournalText>,
    #[serde(rename = "SYSLOG_IDENTIFIER")]
    identifier: Option<JournalText>,
    #[serde(rename = "_COMM")]
    comm: Option<JournalText>,
    #[serde(rename = "SYSLOG_PID")]
    syslog_pid: Option<JournalText>,
    #[serde(rename = "_PID")]
    pid: Option<JournalText>,
    #[serde(rename = "MESSAGE")]
    message: Option<JournalText>,
}

/// Parses one `journalctl -o json` line.
pub fn parse_journal(line: &[u8]) -> Result<Envelope<'static>, Skip> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Err(Skip::Blank);
    }
    let entry: JournalEntry = serde_json::from_slice(line).map_err(|_| Skip::BadJournal)?;
    let message = entry
        .message
        .and_then(JournalText::into_string)
        .ok_or(Skip::BadJournal)?;
    let program = entry
        .identifier
        .or(entry.comm)
        .and_then(JournalText::into_string)
        .ok_or(Skip::BadJournal)?;
    let pid = entry
        .syslog_pid
        .or(entry.pid)
        .and_then(JournalText::into_string)
        .and_then(|p| p.trim().parse::<i32>().ok());
    let ts = entry
        .realtime
        .as_deref()
        .and_then(|t| digits_value(t.as_bytes()));
    Ok(Envelope {
        ts,
        host: Cow::Owned(
            entry
                .hostname
                .and_then(JournalText::into_string)
                .unwrap_or_default(),
        ),
        program: Cow::Owned(program),
        pid,
        message: Cow::Owned(message),
    })
}

/// Turns year-less local stamps into UTC microseconds, tracking the year across lines.
///
/// Classic syslog writes no year: the caller gives the year of the first line and the clock
/// moves it forward when December is followed by January. A December line seen right after
/// a January line (a late writer around New Year) belongs to the year before.
pub struct Clock {
    pub year: i32,
    pub last_month: Option<i8>,
    pub first_month: Option<i8>,
    tz: TimeZone,
    /// The zone's UTC offset (seconds) for the local hour last seen: converting through
    /// the tz database once an hour instead of once a line. Offsets change on the hour
    /// (or the half hour, which this treats as the hour) in every zone in use.
    hour_key: Option<(i32, i8, i8, i8)>,
    hour_offset: Option<i64>,
    /// The last local stamp and its time: busy logs write dozens of lines a second, and
    /// resolving the same stamp again right after changes no state.
    last: Option<(Stamp, Option<i64>)>,
}

impl Clock {
    pub fn new(year: i32, last_month: Option<i8>, tz: TimeZone) -> Self {
        Clock {
            year,
            last_month,
            first_month: None,
            tz,
            hour_key: None,
            hour_offset: None,
            last: None,
        }
    }

    pub fn resolve(&mut self, stamp: Stamp) -> Option<i64> {
        match self.last {
            Some((last, ts)) if last == stamp => ts,
            _ => {
                let ts = self.resolve_new(stamp);
                if matches!(stamp, Stamp::Local { .. }) {
                    self.last = Some((stamp, ts));
                }
                ts
            }
        }
    }

    fn resolve_new(&mut self, stamp: Stamp) -> Option<i64> {
        match stamp {
            Stamp::Absolute(us) => Some(us),
            Stamp::Local {
                month,
                day,
                hour,
                minute,
                second,
                micros,
            } => {
                if self.first_month.is_none() {
                    self.first_month = Some(month);
                }
                let year = match self.last_month {
                    Some(12) if month == 1 => {
                        self.year += 1;
                        self.last_month = Some(month);
                        self.year
                    }
                    Some(1) if month == 12 => self.year - 1,
                    _ => {
                        self.last_month = Some(month);
                        self.year
                    }
                };
                if day > days_in_month(i64::from(year), i64::from(month)) as i8 {
                    return None;
                }
                let key = (year, month, day, hour);
                if self.hour_key != Some(key) {
                    self.hour_key = Some(key);
                    self.hour_offset = self.offset_at(year, month, day, hour);
                }
                let offset = self.hour_offset?;
                let local = days_from_civil(i64::from(year), i64::from(month), i64::from(day))
                    * 86_400
                    + i64::from(hour) * 3600
                    + i64::from(minute) * 60
                    + i64::from(second);
                Some((local - offset) * 1_000_000 + i64::from(micros))
            }
        }
    }
}

impl Clock {
    /// The UTC offset in force at the start of a local hour (for a time that falls in a
    /// DST gap or overlap, the offset before the transition, as `compatible` resolves it).
    fn offset_at(&self, year: i32, month: i8, day: i8, hour: i8) -> Option<i64> {
        let dt = DateTime::new(i16::try_from(year).ok()?, month, day, hour, 0, 0, 0).ok()?;
        let ts = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        let local = days_from_civil(i64::from(year), i64::from(month), i64::from(day)) * 86_400
            + i64::from(hour) * 3600;
        Some(local - ts.as_second())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc_clock(year: i32) -> Clock {
        Clock::new(year, None, TimeZone::UTC)
    }

    #[test]
    fn classic_space_padded() {
        let (stamp, env) =
            parse_syslog("Jan  8 00:32:22 server postfix/smtpd[17504]: NOQUEUE: x").unwrap();
        assert_eq!(env.host, "server");
        assert_eq!(env.program, "postfix/smtpd");
        assert_eq!(env.pid, Some(17504));
        assert_eq!(env.message, "NOQUEUE: x");
        let ts = utc_clock(2026).resolve(stamp).unwrap();
        assert_eq!(ts, 1_767_832_342_000_000);
    }

    #[test]
    fn classic_zero_padded_and_no_pid() {
        let (_, env) = parse_syslog("Mar 07 08:25:00 host sqlgrey: grey: new: x").unwrap();
        assert_eq!(env.program, "sqlgrey");
        assert_eq!(env.pid, None);
        assert_eq!(env.message, "grey: new: x");
    }

    #[test]
    fn iso_offsets() {
        let cases = [
            "2026-03-05T10:11:12.123456+01:00 h p[1]: m",
            "2026-03-05T09:11:12.123456Z h p[1]: m",
            "2026-03-05T10:11:12.123456+0100 h p[1]: m",
        ];
        let mut clock = utc_clock(1999);
        let values: Vec<i64> = cases
            .iter()
            .map(|l| clock.resolve(parse_syslog(l).unwrap().0).unwrap())
            .collect();
        assert!(values.iter().all(|v| *v == values[0]));
        assert_eq!(values[0] % 1_000_000, 123_456);
    }

    #[test]
    fn rfc5424_and_pri() {
        let (_, env) = parse_syslog(
            "<22>1 2026-11-05T10:11:12.5+01:00 mx2 postfix/smtpd 4242 - - connect from a[192.0.2.1]",
        )
        .unwrap();
        assert_eq!(env.program, "postfix/smtpd");
        assert_eq!(env.pid, Some(4242));
        assert_eq!(env.message, "connect from a[192.0.2.1]");
        let (_, env) = parse_syslog("<22>Nov  5 10:11:12 mx2 postfix/smtpd[1]: m").unwrap();
        assert_eq!(env.message, "m");
    }

    #[test]
    fn rejects_garbage() {
        for l in [
            "",
            "hello world",
            "Jan 32 00:00:00 h p: m",
            "2026-13-01T00:00:00Z h p: m",
        ] {
            assert!(parse_syslog(l).is_err(), "{l}");
        }
        assert_eq!(parse_syslog("-- Boot abc --"), Err(Skip::Blank));
    }

    #[test]
    fn year_rolls_over() {
        let mut clock = utc_clock(2025);
        let dec = parse_syslog("Dec 31 23:59:59 h p: m").unwrap().0;
        let jan = parse_syslog("Jan  1 00:00:01 h p: m").unwrap().0;
        let a = clock.resolve(dec).unwrap();
        let b = clock.resolve(jan).unwrap();
        assert_eq!(b - a, 2_000_000);
        // A late December line after the rollover still belongs to the old year.
        assert_eq!(clock.resolve(dec).unwrap(), a);
        assert_eq!(clock.year, 2026);
    }

    #[test]
    fn repeated_stamps_resolve_alike() {
        // Each stamp twice in a row, across a rollover and a late December line.
        let stamps: Vec<Stamp> = ["Dec 31 23:59:59", "Jan  1 00:00:01", "Dec 31 23:59:58"]
            .iter()
            .map(|t| parse_syslog(&format!("{t} h p: m")).unwrap().0)
            .collect();
        let mut once = utc_clock(2025);
        let mut twice = utc_clock(2025);
        for stamp in stamps {
            let expected = once.resolve(stamp);
            assert_eq!(twice.resolve(stamp), expected);
            assert_eq!(twice.resolve(stamp), expected);
        }
        assert_eq!(once.year, twice.year);
        assert_eq!(once.last_month, twice.last_month);
    }

    #[test]
    fn local_zone_applies() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let mut clock = Clock::new(2026, None, tz);
        let stamp = parse_syslog("Jul  1 12:00:00 h p: m").unwrap().0;
        let utc = utc_clock(2026).resolve(stamp).unwrap();
        assert_eq!(utc - clock.resolve(stamp).unwrap(), 7_200_000_000);
    }

    #[test]
    fn dst_transitions() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let mut clock = Clock::new(2026, None, tz);
        // 2026-03-29 01:59:59 CET is 00:59:59 UTC; 03:00:00 CEST is 01:00:00 UTC.
        let before = parse_syslog("Mar 29 01:59:59 h p: m").unwrap().0;
        let after = parse_syslog("Mar 29 03:00:00 h p: m").unwrap().0;
        assert_eq!(
            clock.resolve(after).unwrap() - clock.resolve(before).unwrap(),
            1_000_000
        );
        // 2026-10-25 03:00:00 CET is 02:00:00 UTC.
        let autumn = parse_syslog("Oct 25 03:00:00 h p: m").unwrap().0;
        assert_eq!(clock.resolve(autumn).unwrap(), 1_792_893_600_000_000);
    }

    #[test]
    fn impossible_dates_have_no_time() {
        let mut clock = utc_clock(2026);
        assert_eq!(
            clock.resolve(parse_syslog("Feb 30 10:00:00 h p: m").unwrap().0),
            None
        );
    }

    #[test]
    fn journal_entries() {
        let env = parse_journal(br#"{"__REALTIME_TIMESTAMP":"1767832342000000","_HOSTNAME":"mx","SYSLOG_IDENTIFIER":"postfix/smtpd","_PID":"12","MESSAGE":"connect from a[192.0.2.1]"}"#).unwrap();
        assert_eq!(env.ts, Some(1_767_832_342_000_000));
        assert_eq!(env.pid, Some(12));
        let env =
            parse_journal(br#"{"SYSLOG_IDENTIFIER":"postfix/smtpd","MESSAGE":[104,105,255]}"#)
                .unwrap();
        assert_eq!(env.message, "hi\u{fffd}");
        assert_eq!(parse_journal(b"{not json").err(), Some(Skip::BadJournal));
    }
}
