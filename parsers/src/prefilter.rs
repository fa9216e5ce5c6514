//! An order-preserving literal prefilter for the rules of a reject group.
//!
//! A reject line is explained by the first rule of its group, in priority order, whose
//! pattern matches the reply. A regex set answering "which of these ~50 patterns match"
//! costs ~5,500 instructions a reply (callgrind), because every pattern must be run to the
//! end of the text. Nearly every pattern holds a literal that any match contains
//! (`Helo command rejected: need fully-qualified hostname`): one Aho-Corasick pass over the
//! reply finds which of those literals occur, and only the rules whose literal occurs (or
//! that have none) are tried, in priority order. A skipped rule cannot match, so the rule
//! chosen is the same.
#![forbid(unsafe_code)]

use aho_corasick::{AhoCorasick, MatchKind};
use regex_syntax::hir::{Hir, HirKind};

use crate::backtrack::parse_hir;

/// Literals shorter than this select too little to be worth a lookup.
const MIN_LITERAL: usize = 4;

pub struct Prefilter {
    searcher: Option<AhoCorasick>,
    /// Per pattern: the index of the literal every match of it contains, if one is known.
    literal_of: Vec<Option<usize>>,
    literals: usize,
}

impl Prefilter {
    /// `patterns` in priority order.
    pub fn new(patterns: Vec<&str>) -> Prefilter {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut literal_of = Vec::new();
        for pattern in patterns {
            let literal = parse_hir(pattern)
                .and_then(|hir| required_literal(&hir))
                .filter(|l| l.len() >= MIN_LITERAL);
            literal_of.push(
                literal.map(|l| match literals.iter().position(|x| *x == l) {
                    Some(i) => i,
                    None => {
                        literals.push(l);
                        literals.len() - 1
                    }
                }),
            );
        }
        // Building cannot fail for a few dozen short literals; without a searcher every
        // rule stays a candidate, which is only slower.
        let searcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&literals)
            .ok();
        let literals = if searcher.is_some() {
            literals.len()
        } else {
            literal_of.iter_mut().for_each(|l| *l = None);
            0
        };
        Prefilter {
            searcher,
            literal_of,
            literals,
        }
    }

    /// Marks in `seen` (resized here) the literals that occur in `text`.
    pub fn scan(&self, text: &[u8], seen: &mut Vec<bool>) {
        seen.clear();
        seen.resize(self.literals, false);
        if let Some(searcher) = &self.searcher {
            for m in searcher.find_overlapping_iter(text) {
                seen[m.pattern().as_usize()] = true;
            }
        }
    }

    /// Whether pattern `k` can match a text whose literals `scan` marked in `seen`.
    pub fn may_match(&self, k: usize, seen: &[bool]) -> bool {
        match self.literal_of.get(k) {
            Some(Some(literal)) => seen.get(*literal).copied().unwrap_or(true),
            _ => true,
        }
    }
}

/// The longest literal every match of `hir` contains, if one is evident: a literal part of
/// the top-level sequence, looking inside groups and repetitions that happen at least once.
fn required_literal(hir: &Hir) -> Option<Vec<u8>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(lit.0.to_vec()),
        HirKind::Capture(cap) => required_literal(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required_literal(&rep.sub),
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(required_literal)
            .max_by_key(Vec::len),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_every_match_contains() {
        let lit = |p: &str| parse_hir(p).and_then(|h| required_literal(&h));
        assert_eq!(
            lit(r"^\d{3} \S+ <.*>: Relay access denied$").as_deref(),
            Some(&b">: Relay access denied"[..])
        );
        assert_eq!(
            lit(r"Helo command rejected: (?:Host not found|Malformed)$").as_deref(),
            Some(&b"Helo command rejected: "[..])
        );
        assert_eq!(lit(r"^(?:a|b)"), None);
        assert_eq!(lit(r"^(?:abcdef)?x").as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn keeps_rules_whose_literal_occurs() {
        let p = Prefilter::new(vec![
            "need fully-qualified hostname$",
            "^5",
            "Relay access denied",
        ]);
        let mut seen = Vec::new();
        p.scan(b"554 5.7.1 <a@b>: Relay access denied", &mut seen);
        assert!(!p.may_match(0, &seen));
        assert!(p.may_match(1, &seen), "no literal: always a candidate");
        assert!(p.may_match(2, &seen));
    }
}
