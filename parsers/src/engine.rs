//! The engine: frames a block of log bytes into lines, reads each envelope, routes the
//! message to the rules of its daemon and appends the resulting events to Arrow columns.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};

use regex::bytes::CaptureLocations;
use rustc_hash::FxHashMap;

use arrow_array::RecordBatch;
use jiff::tz::TimeZone;
use memchr::memchr_iter;

use crate::backtrack::{Frame, Outcome as Backtrack};
use crate::columns::{Column, Event, EventColumns, Value};
use crate::envelope::{parse_journal, parse_syslog, Clock, Envelope, Skip};
use crate::prefilter::Prefilter;
use crate::rules::{compile, Rule, RuleError, Shape, Target, KINDS};
use crate::scan::{
    cleanup_reject, key_values, parse_client, smtpd_reject, split_queue_id, split_status, Reject,
    MILTER_ACTIONS, REJECT_ACTIONS,
};

/// Longer lines are not Postfix's: syslog daemons cut at 8 KiB by default.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Syslog,
    Journal,
}

/// The rules of one (daemon, shape) pair.
struct Group {
    shape: Shape,
    /// Rules with a `match`, in priority order.
    matching: Vec<usize>,
    /// For reject shapes: which of `matching` can explain a reply, by their literals.
    prefilter: Prefilter,
    /// The first rule of the group without a `match`.
    fallback: Option<usize>,
}

/// What a block contained besides events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlockStats {
    pub lines: u64,
    pub events: u64,
    pub skipped: BTreeMap<&'static str, u64>,
    pub unparsed: BTreeMap<String, u64>,
    /// Reject lines that only a fallback rule explained (layer `other`).
    pub unmatched: u64,
    /// Lines kept after replacing invalid UTF-8 or stripping leading NUL bytes.
    pub repaired: u64,
    pub events_by_kind: BTreeMap<String, u64>,
    pub first_month: Option<i8>,
    pub last_month: Option<i8>,
    pub year: i32,
    pub min_ts: Option<i64>,
    pub max_ts: Option<i64>,
}

/// Where a block comes from and how to read its timestamps.
#[derive(Clone, Debug)]
pub struct BlockContext<'s> {
    pub source: &'s str,
    pub first_line_no: i64,
    pub format: Format,
    /// The year of the first year-less timestamp of the block.
    pub year: i32,
    /// The month of the previous block's last year-less line, for Dec -> Jan rollover.
    pub prev_month: Option<i8>,
}

pub struct Engine {
    rules: Vec<Rule>,
    dispatch: FxHashMap<String, Vec<Group>>,
    tz: TimeZone,
}

/// The state one block carries from line to line.
struct Work {
    clock: Clock,
    scratch: Scratch,
    kind_counts: [u64; KINDS.len()],
    /// Lines no rule turned into an event, by program (sorted into the stats at the end).
    unparsed: FxHashMap<String, u64>,
}

/// Per-block reusable buffers, so matching allocates nothing per line.
struct Scratch {
    /// The regex's capture locations per rule, for patterns the backtracker leaves to it.
    locations: Vec<Option<CaptureLocations>>,
    /// Capture positions per rule: group g starts at `2g` and ends at `2g + 1`.
    slots: Vec<Vec<Option<usize>>>,
    stack: Vec<Frame>,
    /// The literals a reject group's prefilter found in the reply.
    seen: Vec<bool>,
}

impl Scratch {
    fn new(rules: &[Rule]) -> Self {
        Scratch {
            locations: rules
                .iter()
                .map(|r| r.regex.as_ref().map(|re| re.capture_locations()))
                .collect(),
            slots: rules
                .iter()
                .map(|r| vec![None; r.regex.as_ref().map_or(0, |re| 2 * re.captures_len())])
                .collect(),
            stack: Vec::new(),
            seen: Vec::new(),
        }
    }
}

impl Engine {
    /// Compiles the catalogue. `files` are in priority order: put users' files first.
    pub fn new(files: &[(String, String)], tz: TimeZone) -> Result<Engine, RuleError> {
        let rules = compile(files)?;
        let mut order: Vec<(String, Shape)> = Vec::new();
        let mut members: HashMap<(String, Shape), Vec<usize>> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            for daemon in &rule.daemons {
                let key = (daemon.clone(), rule.shape);
                if !members.contains_key(&key) {
                    order.push(key.clone());
                }
                members.entry(key).or_default().push(i);
            }
        }
        let mut dispatch: FxHashMap<String, Vec<Group>> = FxHashMap::default();
        for key in order {
            let idx = members.remove(&key).unwrap_or_default();
            let matching: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|i| rules[*i].regex.is_some())
                .collect();
            let fallback = idx.iter().copied().find(|i| rules[*i].regex.is_none());
            let prefilter = Prefilter::new(if key.1.is_reject() {
                matching
                    .iter()
                    .filter_map(|i| rules[*i].regex.as_ref().map(|r| r.as_str()))
                    .collect()
            } else {
                Vec::new()
            });
            dispatch.entry(key.0).or_default().push(Group {
                shape: key.1,
                matching,
                prefilter,
                fallback,
            });
        }
        Ok(Engine {
            rules,
            dispatch,
            tz,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Parses a block of whole lines (each ending in `\n`; a last line without one is
    /// taken as is) into a record batch and the block's counters.
    pub fn parse_block(
        &self,
        data: &[u8],
        ctx: &BlockContext<'_>,
    ) -> Result<(RecordBatch, BlockStats), arrow_schema::ArrowError> {
        let estimated_lines = data.len() / 120 + 16;
        let mut columns = EventColumns::with_capacity(estimated_lines);
        let mut stats = BlockStats {
            year: ctx.year,
            ..BlockStats::default()
        };
        let mut work = Work {
            clock: Clock::new(ctx.year, ctx.prev_month, self.tz.clone()),
            scratch: Scratch::new(&self.rules),
            kind_counts: [0; KINDS.len()],
            unparsed: FxHashMap::default(),
        };
        // Blocks without NUL bytes that are valid UTF-8 are the norm: checked once here,
        // their lines skip the per-line checks (newlines are character boundaries).
        let clean = match memchr::memchr(0, data) {
            None => std::str::from_utf8(data).ok(),
            Some(_) => None,
        };
        let mut start = 0usize;
        let unterminated = data.last().is_some_and(|b| *b != b'\n');
        let ends = memchr_iter(b'\n', data).chain(unterminated.then_some(data.len()));
        for (line_no, end) in (ctx.first_line_no..).zip(ends) {
            let raw = &data[start..end];
            let checked = clean.and_then(|text| text.get(start..end));
            start = end + 1;
            stats.lines += 1;
            self.parse_line(
                raw,
                checked,
                line_no,
                ctx,
                &mut work,
                &mut columns,
                &mut stats,
            );
        }
        for (kind, n) in KINDS.iter().zip(work.kind_counts) {
            if n > 0 {
                stats.events_by_kind.insert(kind.to_string(), n);
            }
        }
        stats.unparsed.extend(work.unparsed);
        stats.first_month = work.clock.first_month;
        stats.last_month = work.clock.last_month;
        stats.year = work.clock.year;
        Ok((columns.finish()?, stats))
    }

    /// Parses one line; `checked` is the same line when it is known to be valid UTF-8
    /// without NUL bytes.
    #[allow(clippy::too_many_arguments)]
    fn parse_line(
        &self,
        raw: &[u8],
        checked: Option<&str>,
        line_no: i64,
        ctx: &BlockContext<'_>,
        work: &mut Work,
        columns: &mut EventColumns,
        stats: &mut BlockStats,
    ) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.len() > MAX_LINE_BYTES {
            *stats.skipped.entry(Skip::TooLong.name()).or_default() += 1;
            return;
        }
        let (line, text, repaired) = match checked.and_then(|c| c.get(..raw.len())) {
            Some(text) => (raw, std::borrow::Cow::Borrowed(text), false),
            None => {
                // A crash can leave a run of NUL bytes in front of the next good line.
                let trimmed_nul = raw.iter().take_while(|b| **b == 0).count();
                let line = &raw[trimmed_nul..];
                if memchr::memchr(0, line).is_some() {
                    *stats.skipped.entry(Skip::Binary.name()).or_default() += 1;
                    return;
                }
                // Valid UTF-8 is the norm: check it with the fast validator, repair only
                // when not.
                let text = match std::str::from_utf8(line) {
                    Ok(s) => std::borrow::Cow::Borrowed(s),
                    Err(_) => String::from_utf8_lossy(line),
                };
                let repaired = trimmed_nul > 0 || matches!(text, std::borrow::Cow::Owned(_));
                (line, text, repaired)
            }
        };
        let parsed = match ctx.format {
            Format::Syslog => parse_syslog(&text).map(|(stamp, mut env)| {
                env.ts = work.clock.resolve(stamp);
                env
            }),
            Format::Journal => parse_journal(line),
        };
        let envelope = match parsed {
            Ok(env) => env,
            Err(skip) => {
                *stats.skipped.entry(skip.name()).or_default() += 1;
                return;
            }
        };
        if repaired {
            stats.repaired += 1;
        }
        let mut event = Event::default();
        // `postfix-out/smtpd`: instance `postfix-out`, daemon `smtpd`.
        let (instance, daemon) = match envelope.program.rsplit_once('/') {
            Some((instance, daemon)) => (Some(instance), daemon),
            None => (None, envelope.program.as_ref()),
        };
        match self.apply_rules(&envelope, daemon, &mut event, &mut work.scratch) {
            Some(outcome) => {
                if let Some(ts) = envelope.ts {
                    event.set_int(Column::Ts, ts);
                    stats.min_ts = Some(stats.min_ts.map_or(ts, |m| m.min(ts)));
                    stats.max_ts = Some(stats.max_ts.map_or(ts, |m| m.max(ts)));
                }
                event.set_str(Column::Host, &envelope.host);
                event.set_str(Column::Program, &envelope.program);
                event.set_opt_str(Column::Instance, instance);
                if let Some(pid) = envelope.pid {
                    event.set_int(Column::Pid, i64::from(pid));
                }
                event.set_str(Column::Source, ctx.source);
                event.set_int(Column::LineNo, line_no);
                if outcome.unmatched {
                    stats.unmatched += 1;
                }
                stats.events += 1;
                if let Value::Str(kind) = event.get(Column::Kind) {
                    match KINDS.iter().position(|k| *k == kind) {
                        Some(i) => work.kind_counts[i] += 1,
                        None => *stats.events_by_kind.entry(kind.to_string()).or_default() += 1,
                    }
                }
                columns.push(&event);
            }
            None => match work.unparsed.get_mut(envelope.program.as_ref()) {
                Some(n) => *n += 1,
                None => {
                    work.unparsed.insert(envelope.program.to_string(), 1);
                }
            },
        }
    }

    /// Fills `event` from the first rule that explains the message; None when no rule does.
    fn apply_rules<'a>(
        &'a self,
        env: &'a Envelope<'a>,
        daemon: &str,
        event: &mut Event<'a>,
        scratch: &mut Scratch,
    ) -> Option<Outcome> {
        let groups = self.dispatch.get(daemon)?;
        let (queue_id, _, body) = split_queue_id(&env.message);
        for group in groups {
            let outcome = match group.shape {
                Shape::Reject => smtpd_reject(body, &REJECT_ACTIONS).map(|r| {
                    fill_reject(event, &r);
                    self.pick(group, r.reply, event, scratch)
                }),
                Shape::MilterReject => smtpd_reject(body, &MILTER_ACTIONS).map(|r| {
                    fill_reject(event, &r);
                    self.pick(group, r.reply, event, scratch)
                }),
                Shape::CleanupReject => cleanup_reject(body).map(|(r, matched)| {
                    fill_reject(event, &r);
                    self.pick(group, matched, event, scratch)
                }),
                Shape::KeyValue => self.first_in_order(group, body, scratch).map(|i| {
                    let rule = &self.rules[i];
                    for (key, value) in key_values(body) {
                        if let Some((_, target)) = rule.fields.iter().find(|(k, _)| k == key) {
                            fill_target(event, *target, value);
                        }
                    }
                    self.finish_rule(i, body, event, group.shape, scratch, true)
                }),
                Shape::Regex => self
                    .first_in_order(group, body, scratch)
                    .map(|i| self.finish_rule(i, body, event, group.shape, scratch, true)),
            };
            if let Some(mut outcome) = outcome {
                if let Some(id) = queue_id {
                    if event.is_null(Column::QueueId) {
                        event.set_str(Column::QueueId, id);
                    }
                }
                if event.is_null(Column::Rule) {
                    // A reject shape with no fallback rule still keeps the line.
                    event.set_str(Column::Rule, "unmatched");
                    outcome.unmatched = true;
                }
                return Some(outcome);
            }
        }
        None
    }

    /// The first rule of the group (in priority order) whose pattern matches a reject
    /// text, leaving its captures in the scratch space; the prefilter skips the rules whose
    /// literal the text lacks.
    fn first_match(&self, group: &Group, text: &str, scratch: &mut Scratch) -> Option<usize> {
        let mut seen = std::mem::take(&mut scratch.seen);
        group.prefilter.scan(text.as_bytes(), &mut seen);
        let found = group
            .matching
            .iter()
            .enumerate()
            .find(|&(k, &i)| group.prefilter.may_match(k, &seen) && self.capture(i, text, scratch))
            .map(|(_, &i)| i);
        scratch.seen = seen;
        found
    }

    /// The first rule in priority order whose anchored literal prefix and pattern match,
    /// leaving the capture positions in the scratch space. Most messages fail on the
    /// prefix, so few patterns run.
    fn first_in_order(&self, group: &Group, text: &str, scratch: &mut Scratch) -> Option<usize> {
        group.matching.iter().copied().find(|&i| {
            text.starts_with(self.rules[i].prefix.as_str()) && self.capture(i, text, scratch)
        })
    }

    /// Whether rule `i`'s pattern matches `text`, leaving the capture positions in
    /// `scratch.slots[i]`: with the backtracker when the pattern allows, else the regex.
    fn capture(&self, i: usize, text: &str, scratch: &mut Scratch) -> bool {
        let rule = &self.rules[i];
        let Some(re) = &rule.regex else {
            return false;
        };
        if let Some(program) = &rule.fast {
            match program.captures(text.as_bytes(), &mut scratch.slots[i], &mut scratch.stack) {
                Backtrack::Match => return true,
                Backtrack::NoMatch => return false,
                Backtrack::GaveUp => {}
            }
        }
        // Without named groups a yes/no answer is enough, and far cheaper.
        if rule.captures.is_empty() {
            return re.is_match(text.as_bytes());
        }
        let Some(locs) = scratch.locations[i].as_mut() else {
            return false;
        };
        if re.captures_read(locs, text.as_bytes()).is_none() {
            return false;
        }
        for (g, pair) in scratch.slots[i].chunks_exact_mut(2).enumerate() {
            let (start, end) = locs.get(g).unzip();
            pair[0] = start;
            pair[1] = end;
        }
        true
    }

    /// For reject shapes: the first matching rule, else the fallback.
    fn pick<'a>(
        &'a self,
        group: &Group,
        text: &'a str,
        event: &mut Event<'a>,
        scratch: &mut Scratch,
    ) -> Outcome {
        match self.first_match(group, text, scratch).or(group.fallback) {
            // The fallback has no pattern, so nothing is left to capture either way.
            Some(i) => self.finish_rule(i, text, event, group.shape, scratch, true),
            None => {
                event.set_str(Column::Layer, "other");
                Outcome { unmatched: true }
            }
        }
    }

    /// Applies a rule's constants, then its named captures on `text` (already found when
    /// `captured`, else searched for now).
    fn finish_rule<'a>(
        &'a self,
        i: usize,
        text: &'a str,
        event: &mut Event<'a>,
        shape: Shape,
        scratch: &mut Scratch,
        captured: bool,
    ) -> Outcome {
        let rule = &self.rules[i];
        for (column, value) in &rule.constants {
            event.set_str(*column, value);
        }
        if shape.is_reject() && event.is_null(Column::Layer) {
            event.set_str(Column::Layer, "other");
        }
        if !rule.captures.is_empty() && (captured || self.capture(i, text, scratch)) {
            let slots = &scratch.slots[i];
            for (group, column) in &rule.captures {
                let span = slots.get(2 * group).zip(slots.get(2 * group + 1));
                if let Some((Some(start), Some(end))) = span {
                    // `get` rather than indexing: a user's pattern could cut a character.
                    if let Some(value) = text.get(*start..*end) {
                        event.set_text(*column, value);
                    }
                }
            }
        }
        event.set_str(Column::Rule, &rule.id);
        Outcome {
            unmatched: rule.unmatched,
        }
    }
}

struct Outcome {
    unmatched: bool,
}

fn stage_name(stage: &str) -> &str {
    match stage {
        "EHLO" | "HELO" | "helo" | "ehlo" => "HELO",
        "connect" | "CONNECT" => "CONNECT",
        other => other,
    }
}

fn fill_reject<'a>(event: &mut Event<'a>, r: &Reject<'a>) {
    event.set_str(
        Column::Kind,
        if r.action == "reject_warning" {
            "reject_warning"
        } else {
            "reject"
        },
    );
    if let Some(stage) = r.stage {
        event.set_str(Column::Stage, stage_name(stage));
    }
    if let Some(code) = r.code {
        event.set_text(Column::SmtpCode, code);
    }
    event.set_opt_str(Column::Dsn, r.dsn);
    event.set_opt_str(Column::ClientName, r.client.name);
    event.set_opt_str(Column::ClientIp, r.client.ip);
    if let Some(port) = r.client.port {
        event.set_text(Column::ClientPort, port);
    }
    event.set_opt_str(Column::Sender, r.trailer.from);
    event.set_opt_str(Column::Recipient, r.trailer.to);
    event.set_opt_str(Column::Proto, r.trailer.proto);
    event.set_opt_str(Column::Helo, r.trailer.helo);
    event.set_str(Column::Detail, r.text);
}

fn fill_target<'a>(event: &mut Event<'a>, target: Target, value: &'a str) {
    match target {
        Target::Column(column) => event.set_text(column, value),
        Target::Client => {
            if let Some((client, _)) = parse_client(value) {
                event.set_opt_str(Column::ClientName, client.name);
                event.set_opt_str(Column::ClientIp, client.ip);
                if let Some(port) = client.port {
                    event.set_text(Column::ClientPort, port);
                }
            }
        }
        Target::Status => {
            let (word, text) = split_status(value);
            event.set_str(Column::Action, word);
            event.set_opt_str(Column::Detail, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::DEFAULT_RULES;
    use arrow_array::cast::AsArray;

    fn engine() -> Engine {
        let files: Vec<(String, String)> = DEFAULT_RULES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        Engine::new(&files, TimeZone::UTC).unwrap()
    }

    fn ctx() -> BlockContext<'static> {
        BlockContext {
            source: "test",
            first_line_no: 1,
            format: Format::Syslog,
            year: 2026,
            prev_month: None,
        }
    }

    #[test]
    fn every_line_is_accounted_for() {
        let data = b"Jan  8 00:32:22 mx postfix/smtpd[1]: connect from a.example[192.0.2.1]\n\
garbage\n\
Jan  8 00:32:23 mx dovecot: imap-login: x\n\
\x00\x00Jan  8 00:32:24 mx postfix/smtpd[1]: disconnect from a.example[192.0.2.1] ehlo=1 commands=1\n\
Jan  8 00:32:25 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from a.example[192.0.2.1]: 550 5.7.1 <x@example.org>: Recipient address rejected: we do not like you; from=<> to=<x@example.org> proto=ESMTP helo=<a>\n\
Jan  8 00:32:26 mx postfix/smtpd[1]: bad \xff byte";
        let (batch, stats) = engine().parse_block(data, &ctx()).unwrap();
        assert_eq!(stats.lines, 6);
        let skipped: u64 = stats.skipped.values().sum();
        let unparsed: u64 = stats.unparsed.values().sum();
        assert_eq!(stats.events + skipped + unparsed, stats.lines);
        assert_eq!(batch.num_rows() as u64, stats.events);
        assert_eq!(stats.repaired, 2);
        assert_eq!(stats.unmatched, 1);
        let kinds = batch.column(5).as_string::<i32>();
        assert_eq!(kinds.value(0), "connect");
        assert_eq!(kinds.value(2), "reject");
        let sender = batch.column(16).as_string::<i32>();
        assert_eq!(sender.value(2), "");
    }

    /// Every example line of the catalogue, mutated many times (bytes flipped, cut, and
    /// the separators the scanners look for inserted anywhere): no panic, every line
    /// accounted for.
    #[test]
    fn mutated_example_lines_never_panic() {
        let e = engine();
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for (_, text) in DEFAULT_RULES {
            let file: toml::Value = toml::from_str(text).unwrap();
            for rule in file
                .get("rule")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
            {
                for example in rule
                    .get("example")
                    .and_then(|x| x.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(line) = example.get("line").and_then(|l| l.as_str()) {
                        lines.push(line.as_bytes().to_vec());
                    }
                }
            }
        }
        assert!(lines.len() > 50);
        let specials = b";<>[]:=, \n\0\xff";
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut data = Vec::new();
        let mut expected_lines = 0u64;
        for round in 0..40 {
            for line in &lines {
                let mut m = line.clone();
                for _ in 0..(1 + round % 4) {
                    let at = (next() as usize) % (m.len() + 1);
                    match next() % 4 {
                        0 => m.insert(at, specials[(next() as usize) % specials.len()]),
                        1 if at < m.len() => m[at] = (next() & 0xff) as u8,
                        2 => m.truncate(at),
                        _ => m
                            .splice(
                                at..at,
                                b"; from=<x> to=<y> proto=SMTP helo=<".iter().copied(),
                            )
                            .for_each(drop),
                    }
                }
                m.retain(|b| *b != b'\n');
                data.extend_from_slice(&m);
                data.push(b'\n');
                expected_lines += 1;
            }
        }
        let (batch, stats) = e.parse_block(&data, &ctx()).unwrap();
        assert_eq!(stats.lines, expected_lines);
        let skipped: u64 = stats.skipped.values().sum();
        let unparsed: u64 = stats.unparsed.values().sum();
        assert_eq!(stats.events + skipped + unparsed, stats.lines);
        assert_eq!(batch.num_rows() as u64, stats.events);
    }

    #[test]
    fn random_bytes_never_panic() {
        let e = engine();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut data = Vec::new();
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let b = (seed & 0xff) as u8;
            data.push(if b.is_multiple_of(7) { b'\n' } else { b });
        }
        let (_, stats) = e.parse_block(&data, &ctx()).unwrap();
        assert!(stats.lines > 0);
        let j = BlockContext {
            format: Format::Journal,
            ..ctx()
        };
        let (_, stats) = e.parse_block(&data, &j).unwrap();
        assert!(stats.lines > 0);
    }
}
