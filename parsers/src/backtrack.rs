//! A small backtracking matcher for anchored rule patterns (`^CONNECT from \[...`).
//!
//! Most lines that become events are matched by an anchored pattern with captures. The
//! regex crate extracts those captures with its one-pass DFA at about 2,000 instructions
//! a line (callgrind: a fifth of the whole parse). Rule patterns are short sequences of
//! literals, character-class runs, captures and optional groups, which a direct walk
//! matches in a few instructions a byte.
//!
//! The matcher is exact, not an approximation: it runs the pattern's own syntax tree
//! (`regex-syntax`, configured as `rules::compile_pattern` configures the regex) with the
//! same leftmost-first preference order (greedy runs longest first, an optional group
//! taken before skipped, alternatives left to right), so it finds the same match and the
//! same capture positions. Patterns outside the subset (unanchored, repeated groups,
//! lazy runs, word boundaries...) are not compiled, and a line that would need more than
//! a small budget of backtracking steps is handed back: the regex decides those.
#![forbid(unsafe_code)]

use regex_syntax::hir::{Class, Hir, HirKind, Look};
use regex_syntax::ParserBuilder;

/// A set of bytes, as a table: one load per byte tested.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ByteSet(Box<[bool; 256]>);

impl ByteSet {
    fn empty() -> Self {
        ByteSet(Box::new([false; 256]))
    }

    fn full() -> Self {
        ByteSet(Box::new([true; 256]))
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b)]
    }

    fn insert_range(&mut self, lo: u8, hi: u8) {
        self.0[usize::from(lo)..=usize::from(hi)].fill(true);
    }

    /// The byte not in the set, when there is exactly one.
    fn only_outsider(&self) -> Option<u8> {
        let mut outside = (0..=255u8).filter(|b| !self.contains(*b));
        match (outside.next(), outside.next()) {
            (Some(b), None) => Some(b),
            _ => None,
        }
    }

    fn union(&mut self, other: &ByteSet) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= *b;
        }
    }
}

#[derive(Clone, Debug)]
enum Inst {
    /// These bytes, exactly.
    Literal(Box<[u8]>),
    /// A greedy run of `min..=max` bytes of the set. `give_back` is false when a shorter
    /// run cannot help: what follows must start with a byte outside the set, or at the end.
    Run {
        set: ByteSet,
        min: usize,
        max: usize,
        give_back: bool,
        /// The one byte outside the set (`[^\]]*`, `.*`): the run ends at its first
        /// occurrence, found with memchr.
        stop: Option<u8>,
    },
    /// Try `.0` first, then `.1`.
    Split(usize, usize),
    Jump(usize),
    /// Record the position in a capture slot.
    Save(usize),
    /// The end of the text (`$`).
    End,
    Match,
}

/// A compiled anchored pattern.
#[derive(Clone, Debug)]
pub struct Program {
    insts: Vec<Inst>,
    slots: usize,
    /// The bytes a non-empty match can start with: most rules fail on the first byte.
    first: ByteSet,
}

/// The answer of a match attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Match,
    NoMatch,
    /// The budget of backtracking steps ran out: ask the regex.
    GaveUp,
}

/// A saved alternative on the backtracking stack.
#[derive(Clone, Copy, Debug)]
pub enum Frame {
    /// Resume at `pc` and `pos`.
    Try { pc: usize, pos: usize },
    /// Undo a capture slot written since the alternative below was saved.
    Restore { slot: usize, old: Option<usize> },
    /// A greedy run at `pc - 1` may give back bytes: retry `pc` from `end - 1` down to `lo`.
    GiveBack { pc: usize, lo: usize, end: usize },
}

impl Program {
    /// Compiles `pattern` when it is anchored at the start and within the subset; None
    /// leaves it to the regex.
    pub fn compile(pattern: &str) -> Option<Program> {
        let hir = parse_hir(pattern)?;
        let HirKind::Concat(parts) = hir.kind() else {
            return None;
        };
        if !matches!(
            parts.first().map(Hir::kind),
            Some(HirKind::Look(Look::Start))
        ) {
            return None;
        }
        let mut program = Program {
            insts: vec![Inst::Save(0)],
            slots: 2 * hir.properties().explicit_captures_len() + 2,
            first: ByteSet::full(),
        };
        for part in &parts[1..] {
            program.emit(part)?;
        }
        program.insts.push(Inst::Save(1));
        program.insts.push(Inst::Match);
        for pc in 0..program.insts.len() {
            let next = program.next_literal_byte(pc + 1);
            if let Inst::Run { set, give_back, .. } = &mut program.insts[pc] {
                *give_back = match next {
                    Some(Some(b)) => set.contains(b),
                    Some(None) => false,
                    None => true,
                };
            }
        }
        program.first = program.first_bytes(0);
        Some(program)
    }

    /// What must come at `pc`, looking past captures: Some(Some(b)) a literal starting
    /// with `b`, Some(None) the end of the text, None anything else.
    fn next_literal_byte(&self, mut pc: usize) -> Option<Option<u8>> {
        loop {
            match self.insts.get(pc)? {
                Inst::Save(_) => pc += 1,
                Inst::Literal(lit) => return lit.first().map(|b| Some(*b)),
                Inst::End => return Some(None),
                _ => return None,
            }
        }
    }

    /// The bytes a match from `pc` can start with (all bytes when it may be empty).
    /// Jumps only go forward, so the recursion ends.
    fn first_bytes(&self, pc: usize) -> ByteSet {
        match self.insts.get(pc) {
            Some(Inst::Save(_)) => self.first_bytes(pc + 1),
            Some(Inst::Jump(to)) => self.first_bytes(*to),
            Some(Inst::Literal(lit)) => match lit.first() {
                Some(b) => {
                    let mut set = ByteSet::empty();
                    set.insert_range(*b, *b);
                    set
                }
                None => self.first_bytes(pc + 1),
            },
            Some(Inst::Run { set, min, .. }) => {
                let mut out = set.clone();
                if *min == 0 {
                    out.union(&self.first_bytes(pc + 1));
                }
                out
            }
            Some(Inst::Split(a, b)) => {
                let mut out = self.first_bytes(*a);
                out.union(&self.first_bytes(*b));
                out
            }
            Some(Inst::End | Inst::Match) | None => ByteSet::full(),
        }
    }

    /// Capture slots (two per group, group 0 the whole match), as `CaptureLocations` counts them.
    pub fn slot_count(&self) -> usize {
        self.slots
    }

    fn emit(&mut self, hir: &Hir) -> Option<()> {
        match hir.kind() {
            HirKind::Empty => {}
            HirKind::Literal(lit) => self.insts.push(Inst::Literal(lit.0.clone())),
            HirKind::Class(class) => self.insts.push(Inst::Run {
                set: byte_set(class)?,
                min: 1,
                max: 1,
                give_back: false,
                stop: None,
            }),
            HirKind::Look(Look::End) => self.insts.push(Inst::End),
            HirKind::Look(_) => return None,
            HirKind::Capture(cap) => {
                let slot = 2 * usize::try_from(cap.index).ok()?;
                self.insts.push(Inst::Save(slot));
                self.emit(&cap.sub)?;
                self.insts.push(Inst::Save(slot + 1));
            }
            HirKind::Concat(parts) => {
                for part in parts {
                    self.emit(part)?;
                }
            }
            HirKind::Alternation(branches) => {
                // Split(b0, next); b0; Jump(end); next: Split(b1, next2); ...; last branch.
                let mut jumps = Vec::new();
                for (i, branch) in branches.iter().enumerate() {
                    let split_at = self.insts.len();
                    let last = i + 1 == branches.len();
                    if !last {
                        self.insts.push(Inst::Split(split_at + 1, 0));
                    }
                    self.emit(branch)?;
                    if !last {
                        jumps.push(self.insts.len());
                        self.insts.push(Inst::Jump(0));
                        let next = self.insts.len();
                        self.insts[split_at] = Inst::Split(split_at + 1, next);
                    }
                }
                let end = self.insts.len();
                for at in jumps {
                    self.insts[at] = Inst::Jump(end);
                }
            }
            HirKind::Repetition(rep) => {
                let min = usize::try_from(rep.min).ok()?;
                let max = match rep.max {
                    Some(m) => usize::try_from(m).ok()?,
                    None => usize::MAX,
                };
                let single = match rep.sub.kind() {
                    HirKind::Class(class) => Some(byte_set(class)?),
                    HirKind::Literal(lit) if lit.0.len() == 1 => {
                        let mut set = ByteSet::empty();
                        set.insert_range(lit.0[0], lit.0[0]);
                        Some(set)
                    }
                    _ => None,
                };
                match single {
                    Some(set) if rep.greedy => self.insts.push(Inst::Run {
                        stop: set.only_outsider(),
                        set,
                        min,
                        max,
                        give_back: true,
                    }),
                    // An optional group: taken first when greedy, skipped first when lazy.
                    None if min == 0 && max == 1 => {
                        let split_at = self.insts.len();
                        self.insts.push(Inst::Split(0, 0));
                        self.emit(&rep.sub)?;
                        let after = self.insts.len();
                        self.insts[split_at] = if rep.greedy {
                            Inst::Split(split_at + 1, after)
                        } else {
                            Inst::Split(after, split_at + 1)
                        };
                    }
                    None if min == 1 && max == 1 => self.emit(&rep.sub)?,
                    _ => return None,
                }
            }
        }
        Some(())
    }

    /// Matches the pattern at the start of `text`, leaving the capture positions in
    /// `slots` (at least `slot_count` long). `stack` is scratch space, reused between calls.
    pub fn captures(
        &self,
        text: &[u8],
        slots: &mut [Option<usize>],
        stack: &mut Vec<Frame>,
    ) -> Outcome {
        if text.first().is_some_and(|b| !self.first.contains(*b)) {
            return Outcome::NoMatch;
        }
        slots.iter_mut().for_each(|s| *s = None);
        stack.clear();
        stack.push(Frame::Try { pc: 0, pos: 0 });
        // Rule patterns match in one pass plus a little giving back; a line that needs far
        // more is rare enough to leave to the regex, whose time is linear. Jumps only go
        // forward, so charging each resumed alternative and the bytes of each run bounds
        // the work.
        let mut budget = 4 * text.len() + 64;
        while let Some(frame) = stack.pop() {
            let (mut pc, mut pos) = match frame {
                Frame::Try { pc, pos } => (pc, pos),
                Frame::Restore { slot, old } => {
                    slots[slot] = old;
                    continue;
                }
                Frame::GiveBack { pc, lo, end } => {
                    // Only a position where the next literal starts can succeed.
                    let mut p = end - 1;
                    if let Some(Some(b)) = self.next_literal_byte(pc) {
                        while p > lo && text[p] != b {
                            p -= 1;
                        }
                    }
                    if p > lo {
                        stack.push(Frame::GiveBack { pc, lo, end: p });
                    }
                    (pc, p)
                }
            };
            if budget == 0 {
                return Outcome::GaveUp;
            }
            budget -= 1;
            loop {
                match &self.insts[pc] {
                    Inst::Literal(lit) => {
                        if !text[pos..].starts_with(lit) {
                            break;
                        }
                        pos += lit.len();
                        pc += 1;
                    }
                    Inst::Run {
                        set,
                        min,
                        max,
                        give_back,
                        stop,
                    } => {
                        let rest = &text[pos..];
                        let rest = &rest[..rest.len().min(*max)];
                        let n = match stop {
                            // memchr pays off on longer texts only.
                            Some(b) if rest.len() >= 32 => memchr::memchr(*b, rest),
                            _ => rest.iter().position(|b| !set.contains(*b)),
                        }
                        .unwrap_or(rest.len());
                        if n < *min {
                            break;
                        }
                        // Runs cost their length: a budget of steps alone would let
                        // repeated giving back go quadratic.
                        budget = budget.saturating_sub(n / 8);
                        if budget == 0 {
                            return Outcome::GaveUp;
                        }
                        if *give_back && n > *min {
                            stack.push(Frame::GiveBack {
                                pc: pc + 1,
                                lo: pos + min,
                                end: pos + n,
                            });
                        }
                        pos += n;
                        pc += 1;
                    }
                    Inst::Split(first, second) => {
                        stack.push(Frame::Try { pc: *second, pos });
                        pc = *first;
                    }
                    Inst::Jump(to) => pc = *to,
                    Inst::Save(slot) => {
                        // With no alternative left to try, nothing will read the old value.
                        if !stack.is_empty() {
                            stack.push(Frame::Restore {
                                slot: *slot,
                                old: slots[*slot],
                            });
                        }
                        slots[*slot] = Some(pos);
                        pc += 1;
                    }
                    Inst::End => {
                        if pos != text.len() {
                            break;
                        }
                        pc += 1;
                    }
                    Inst::Match => return Outcome::Match,
                }
            }
        }
        Outcome::NoMatch
    }
}

/// The syntax tree of a rule pattern, read as `rules::compile_pattern` reads it (bytes,
/// ASCII classes).
pub fn parse_hir(pattern: &str) -> Option<Hir> {
    ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()
}

fn byte_set(class: &Class) -> Option<ByteSet> {
    let mut set = ByteSet::empty();
    match class {
        Class::Bytes(bytes) => {
            for r in bytes.iter() {
                set.insert_range(r.start(), r.end());
            }
        }
        Class::Unicode(chars) => {
            for r in chars.iter() {
                let lo = u8::try_from(u32::from(r.start())).ok()?;
                let hi = u8::try_from(u32::from(r.end())).ok()?;
                if hi > 0x7f {
                    return None;
                }
                set.insert_range(lo, hi);
            }
        }
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::compile_pattern;

    /// The matcher and the regex agree on whether `text` matches and where every group is.
    fn agree(pattern: &str, text: &str) {
        let program = Program::compile(pattern).expect("compiles");
        agree_compiled(&program, &compile_pattern(pattern).unwrap(), text);
    }

    fn agree_compiled(program: &Program, re: &regex::bytes::Regex, text: &str) {
        let pattern = re.as_str();
        let mut locs = re.capture_locations();
        let mut slots = vec![None; program.slot_count()];
        let mut stack = Vec::new();
        let expected = re.captures_read(&mut locs, text.as_bytes()).is_some();
        match program.captures(text.as_bytes(), &mut slots, &mut stack) {
            Outcome::GaveUp => return,
            outcome => assert_eq!(outcome == Outcome::Match, expected, "{pattern} on {text:?}"),
        }
        if expected {
            for g in 0..locs.len() {
                let got = slots[2 * g].zip(slots[2 * g + 1]);
                assert_eq!(got, locs.get(g), "group {g} of {pattern} on {text:?}");
            }
        }
    }

    /// Every anchored pattern of the catalogue against every example line, cut after each
    /// space or colon (so each message body and many near misses are tried).
    #[test]
    fn agrees_with_the_regex_on_the_catalogue() {
        let files: Vec<(String, String)> = crate::rules::DEFAULT_RULES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let rules = crate::rules::compile(&files).unwrap();
        let mut texts = Vec::new();
        for (_, text) in crate::rules::DEFAULT_RULES {
            for line in text.lines() {
                if let Some(example) = line.strip_prefix("line = ") {
                    let example = example.trim_matches('"');
                    for (i, c) in example.char_indices() {
                        if c == ' ' || c == ':' {
                            texts.push(example[i + 1..].to_string());
                        }
                    }
                }
            }
        }
        assert!(texts.len() > 1000);
        let mut compiled = 0;
        for rule in &rules {
            let Some(re) = &rule.regex else { continue };
            if let Some(program) = &rule.fast {
                compiled += 1;
                assert_eq!(program.slot_count(), 2 * re.captures_len(), "{}", rule.id);
                for text in &texts {
                    agree_compiled(program, re, text);
                }
            }
        }
        assert!(compiled > 30);
    }

    #[test]
    fn subset() {
        assert!(Program::compile("^a(?P<x>b+)c$").is_some());
        assert!(Program::compile("a").is_none(), "unanchored");
        assert!(Program::compile("^(?:ab)+").is_none(), "repeated group");
        assert!(Program::compile("^a.*?b").is_none(), "lazy run");
        assert!(Program::compile("^a\\b").is_none(), "word boundary");
    }

    #[test]
    fn agrees_with_the_regex() {
        let patterns = [
            r"^CONNECT from \[(?P<client_ip>[^\]]*)\]:(?P<client_port>\d+)(?: to \[[^\]]*\]:\d+)?$",
            r"^(?P<action>PASS NEW|PASS OLD) \[(?P<client_ip>[^\]]*)\]:(?P<client_port>\d+)$",
            r"^disconnect from (?P<client_name>[^\s\[\]]*)\[(?P<client_ip>[^\]]*)\](?::(?P<client_port>\d+))?(?: (?P<detail>.*))?$",
            r"^\d{3} \S+ <.*>: Recipient address rejected: (?P<detail>.*)",
            r"^a(?:b|bc)??c(?P<x>\d*)5$",
            r"^x(?P<a>.*)y(?P<b>.*)z",
            r"^(?i:greylist) (?P<x>a|ab|abc)(?P<y>c?)$",
        ];
        let texts = [
            "CONNECT from [192.0.2.1]:25",
            "CONNECT from [192.0.2.1]:25 to [192.0.2.2]:25",
            "CONNECT from [192.0.2.1]:25 to [192.0.2.2]:",
            "CONNECT from [2001:db8::1]:2525",
            "PASS NEW [192.0.2.1]:25",
            "PASS OLD [192.0.2.1]:25x",
            "disconnect from a.example[192.0.2.1] ehlo=1 quit=1",
            "disconnect from unknown[192.0.2.1]:4567",
            "disconnect from x[1]:2 [3]",
            "550 5.1.1 <a@b>: <c>: Recipient address rejected: no",
            "abcc55",
            "abc5",
            "ac125",
            "xayazbz",
            "x y z",
            "GreyList abc",
            "greylist ab",
        ];
        for p in patterns {
            for t in texts {
                agree(p, t);
            }
        }
    }
}
