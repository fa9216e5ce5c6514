//! The rule catalogue: declarative rules read from TOML, validated and compiled once.
//!
//! A rule names the daemons it applies to (the last part of the syslog tag, so
//! `postfix-out/smtpd` and `postfix/submission/smtpd` are both `smtpd`), a `shape` (the
//! structural scanner that finds the generic fields), an optional `match` regex, constant
//! columns, and examples with their expected fields (checked by the test suite).
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;

use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::backtrack::Program;
use crate::columns::Column;

/// The built-in catalogue, embedded so the wheel needs no data files.
pub const DEFAULT_RULES: [(&str, &str); 8] = [
    ("macros.toml", include_str!("../rules/macros.toml")),
    ("smtpd.toml", include_str!("../rules/smtpd.toml")),
    ("postscreen.toml", include_str!("../rules/postscreen.toml")),
    ("cleanup.toml", include_str!("../rules/cleanup.toml")),
    ("queue.toml", include_str!("../rules/queue.toml")),
    ("postgrey.toml", include_str!("../rules/postgrey.toml")),
    ("sqlgrey.toml", include_str!("../rules/sqlgrey.toml")),
    (
        "policyd-spf.toml",
        include_str!("../rules/policyd-spf.toml"),
    ),
];

/// How the generic fields of a message are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// smtpd/postscreen `reject:` and `reject_warning:` lines; `match` is applied to the
    /// reply as written (`554 5.7.1 <x>: Relay access denied`).
    Reject,
    /// `milter-reject:` lines (smtpd, and cleanup at END-OF-MESSAGE); `match` is applied to
    /// the reply as written.
    MilterReject,
    /// cleanup header/body check rejects; `match` is applied to what follows the action
    /// (`header Subject: hi from x[192.0.2.1]; from=<..> ...: 5.7.1 message content rejected`).
    CleanupReject,
    /// `key=value, key=value` lists; `match` is applied to the message (after a queue id)
    /// and `fields` maps keys to columns.
    KeyValue,
    /// `match` is applied to the message (after a queue id); named groups fill columns.
    Regex,
}

impl Shape {
    /// The name as written in rule files.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Reject => "reject",
            Shape::MilterReject => "milter_reject",
            Shape::CleanupReject => "cleanup_reject",
            Shape::KeyValue => "key_value",
            Shape::Regex => "regex",
        }
    }

    /// Shapes whose lines are decisions that must never be dropped: a line they recognise
    /// that no rule explains becomes an event of the group's fallback rule.
    pub fn is_reject(self) -> bool {
        matches!(
            self,
            Shape::Reject | Shape::MilterReject | Shape::CleanupReject
        )
    }
}

/// Where a `key_value` field goes: a column, or one of the converters that fill two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Column(Column),
    /// `name[addr]:port` into client_name, client_ip, client_port.
    Client,
    /// `sent (text)` into action and detail.
    Status,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    macros: BTreeMap<String, String>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    daemons: Vec<String>,
    shape: Shape,
    #[serde(rename = "match")]
    pattern: Option<String>,
    kind: Option<String>,
    layer: Option<String>,
    restriction: Option<String>,
    action: Option<String>,
    stage: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    /// The rule only knows the layer from the reply class (a local access-map or policy
    /// text): its events are listed by `mailreject unmatched` so a specific rule can be written.
    #[serde(default)]
    unmatched: bool,
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default, rename = "example")]
    #[allow(dead_code)]
    examples: Vec<toml::Value>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub file: String,
    pub daemons: Vec<String>,
    pub shape: Shape,
    pub regex: Option<Regex>,
    /// The literal every match starts with, when the pattern is anchored (`^connect from `):
    /// a cheap test that skips the regex for most lines.
    pub prefix: String,
    /// The same pattern for the backtracking matcher, when it is anchored and simple enough
    /// (most are): far cheaper than the regex's capture search.
    pub fast: Option<Program>,
    /// Capture group index -> column, for named groups.
    pub captures: Vec<(usize, Column)>,
    pub constants: Vec<(Column, String)>,
    pub fields: Vec<(String, Target)>,
    pub unmatched: bool,
}

/// A rule file that cannot be used, with the file and rule it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

pub const KINDS: [&str; 10] = [
    "reject",
    "reject_warning",
    "postscreen",
    "dnsbl",
    "greylist",
    "spf",
    "connect",
    "disconnect",
    "queue",
    "delivery",
];

pub const LAYERS: [&str; 11] = [
    "postscreen",
    "client",
    "rbl",
    "helo",
    "sender",
    "recipient",
    "spf",
    "greylist",
    "data",
    "content",
    "other",
];

fn expand_macros(pattern: &str, macros: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| "unclosed {{ in match".to_string())?;
        let name = after[..close].trim();
        let body = macros
            .get(name)
            .ok_or_else(|| format!("unknown macro {{{{{name}}}}}"))?;
        out.push_str(body);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn compile_rule(
    file: &str,
    def: RuleDef,
    macros: &BTreeMap<String, String>,
) -> Result<Rule, RuleError> {
    let err = |msg: String| RuleError(format!("{file}: rule {:?}: {msg}", def.id));
    if def.id.is_empty() {
        return Err(RuleError(format!("{file}: a rule has an empty id")));
    }
    if def.daemons.is_empty() {
        return Err(err("`daemons` is empty".into()));
    }
    let regex =
        match &def.pattern {
            Some(p) => {
                let expanded = expand_macros(p, macros).map_err(&err)?;
                Some(compile_pattern(&expanded).map_err(|e| {
                    err(format!("bad `match` regex: {}", first_line(&e.to_string())))
                })?)
            }
            None => None,
        };
    if regex.is_none() && matches!(def.shape, Shape::KeyValue | Shape::Regex) {
        return Err(err(format!("shape {:?} needs a `match`", def.shape)));
    }
    let mut captures = Vec::new();
    if let Some(re) = &regex {
        for (i, name) in re.capture_names().enumerate() {
            if let Some(name) = name {
                let column = Column::from_name(name)
                    .filter(|c| c.is_rule_settable())
                    .ok_or_else(|| {
                        err(format!("capture group {name:?} is not a settable column"))
                    })?;
                captures.push((i, column));
            }
        }
    }
    let mut constants = Vec::new();
    let pairs = [
        (Column::Kind, &def.kind),
        (Column::Layer, &def.layer),
        (Column::Restriction, &def.restriction),
        (Column::Action, &def.action),
        (Column::Stage, &def.stage),
    ];
    for (column, value) in pairs {
        if let Some(v) = value {
            constants.push((column, v.clone()));
        }
    }
    if let Some(kind) = &def.kind {
        if !KINDS.contains(&kind.as_str()) {
            return Err(err(format!(
                "unknown kind {kind:?} (one of {})",
                KINDS.join(", ")
            )));
        }
    } else if !def.shape.is_reject() {
        return Err(err("`kind` is required for this shape".into()));
    }
    if let Some(layer) = &def.layer {
        if !LAYERS.contains(&layer.as_str()) {
            return Err(err(format!(
                "unknown layer {layer:?} (one of {})",
                LAYERS.join(", ")
            )));
        }
    }
    let mut fields = Vec::new();
    if !def.fields.is_empty() && def.shape != Shape::KeyValue {
        return Err(err("`fields` is only for shape \"key_value\"".into()));
    }
    for (key, target) in &def.fields {
        let target = match target.as_str() {
            "client" => Target::Client,
            "status" => Target::Status,
            name => Target::Column(
                Column::from_name(name)
                    .filter(|c| c.is_rule_settable())
                    .ok_or_else(|| err(format!("field {key:?} maps to unknown column {name:?}")))?,
            ),
        };
        fields.push((key.clone(), target));
    }
    let unmatched = def.unmatched || def.pattern.is_none();
    let prefix = regex
        .as_ref()
        .map(|re| literal_prefix(re.as_str()))
        .unwrap_or_default();
    let fast = regex.as_ref().and_then(|re| Program::compile(re.as_str()));
    Ok(Rule {
        id: def.id,
        prefix,
        fast,
        file: file.to_string(),
        daemons: def.daemons,
        shape: def.shape,
        regex,
        captures,
        constants,
        fields,
        unmatched,
    })
}

/// Compiles a rule pattern. Patterns match the bytes of a line with ASCII character classes
/// (`\d` is `[0-9]`, `\s` is ASCII white space): log formats are ASCII, and byte-level
/// automata are several times smaller and faster than Unicode ones. Captured text is cut at
/// ASCII delimiters, so it always falls on character boundaries.
pub fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).unicode(false).build()
}

/// The literal text an anchored pattern must start with (`^PASS NEW \[` gives `PASS NEW `).
/// Conservative: stops at the first metacharacter or escape, and drops a last character a
/// quantifier applies to.
fn literal_prefix(pattern: &str) -> String {
    let Some(rest) = pattern.strip_prefix('^') else {
        return String::new();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if "\\.+*?()[]{}|^$".contains(c) {
            if matches!(c, '?' | '*' | '{') {
                out.pop();
            }
            break;
        }
        if matches!(chars.peek(), Some('?' | '*' | '{')) {
            break;
        }
        out.push(c);
    }
    out
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses and compiles rule files, in priority order (earlier files win).
///
/// Macros from every file are visible to every file.
pub fn compile(files: &[(String, String)]) -> Result<Vec<Rule>, RuleError> {
    let mut parsed = Vec::new();
    let mut macros = BTreeMap::new();
    for (name, text) in files {
        let file: RuleFile = toml::from_str(text)
            .map_err(|e| RuleError(format!("{name}: {}", first_line(&e.to_string()))))?;
        for (k, v) in &file.macros {
            macros.insert(k.clone(), v.clone());
        }
        parsed.push((name.clone(), file.rules));
    }
    let mut rules = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (name, defs) in parsed {
        for def in defs {
            if !seen.insert(def.id.clone()) {
                return Err(RuleError(format!("{name}: duplicate rule id {:?}", def.id)));
            }
            rules.push(compile_rule(&name, def, &macros)?);
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_files() -> Vec<(String, String)> {
        DEFAULT_RULES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn default_catalogue_compiles() {
        let rules = compile(&default_files()).unwrap();
        assert!(rules.len() > 40);
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal_prefix("^PASS NEW \\["), "PASS NEW ");
        assert_eq!(literal_prefix("^connect from (?P<x>a)"), "connect from ");
        assert_eq!(literal_prefix("^(?P<a>x)"), "");
        assert_eq!(literal_prefix("^abc?d"), "ab");
        assert_eq!(literal_prefix("^ab\\d"), "ab");
        assert_eq!(literal_prefix("no anchor"), "");
    }

    #[test]
    fn errors_name_the_rule() {
        let bad = vec![(
            "local.toml".to_string(),
            "[[rule]]\nid = \"x\"\ndaemons = [\"smtpd\"]\nshape = \"reject\"\nmatch = \"(\"\n"
                .to_string(),
        )];
        let e = compile(&bad).unwrap_err().to_string();
        assert!(
            e.starts_with("local.toml: rule \"x\": bad `match` regex"),
            "{e}"
        );
        let bad = vec![(
            "l.toml".to_string(),
            "[[rule]]\nid = \"x\"\ndaemons = [\"smtpd\"]\nshape = \"reject\"\nmatch = \"(?P<nope>a)\"\n"
                .to_string(),
        )];
        assert!(compile(&bad).unwrap_err().0.contains("nope"));
        let bad = vec![("l.toml".to_string(), "[[rule]]\nid = 3\n".to_string())];
        assert!(compile(&bad).unwrap_err().0.starts_with("l.toml: "));
    }
}
