//! Structural scanners: the generic fields of a message, found by its structure rather than
//! by a regular expression.
//!
//! Reply texts contain `;`, `<...>`, URLs and quoted remote replies, and HELO names and
//! addresses are written by strangers, so the `from=<..> to=<..> proto=.. helo=<..>`
//! trailer is found from the right and accepted only when it parses completely.
#![forbid(unsafe_code)]

/// `name[addr]` with an optional `:port`; postscreen writes `[addr]:port` with no name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Client<'a> {
    pub name: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub port: Option<&'a str>,
}

/// The fields of `from=<..> to=<..> proto=.. helo=<..>` (space or `, ` separated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trailer<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub proto: Option<&'a str>,
    pub helo: Option<&'a str>,
}

/// A reject line of smtpd, postscreen or cleanup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reject<'a> {
    pub action: &'a str,
    pub stage: Option<&'a str>,
    pub client: Client<'a>,
    pub code: Option<&'a str>,
    pub dsn: Option<&'a str>,
    /// The reply as written: code, DSN and text (what reject rules match against).
    pub reply: &'a str,
    /// The reply text after the code and DSN.
    pub text: &'a str,
    pub trailer: Trailer<'a>,
}

const TRAILER_KEYS: [&str; 7] = [
    "from",
    "to",
    "proto",
    "helo",
    "sasl_method",
    "sasl_username",
    "sasl_sender",
];

fn is_queue_id(id: &str) -> bool {
    let b = id.as_bytes();
    if b == b"NOQUEUE" {
        return true;
    }
    // Short ids are upper-case hex; long ids (enable_long_queue_ids) use a vowel-free
    // alphabet, which is what keeps words like `warning:` from passing as ids.
    let short = (5..=16).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c));
    let long = (10..=20).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric())
        && !b
            .iter()
            .any(|c| matches!(c.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u'));
    short || long
}

/// Splits a leading `QUEUEID: ` or `NOQUEUE: ` off a message. The id is None for NOQUEUE.
pub fn split_queue_id(message: &str) -> (Option<&str>, bool, &str) {
    let head = &message.as_bytes()[..message.len().min(22)];
    if let Some(colon) = memchr::memchr(b':', head) {
        let id = &message[..colon];
        if message.as_bytes().get(colon + 1) == Some(&b' ') && is_queue_id(id) {
            let rest = &message[colon + 2..];
            return if id == "NOQUEUE" {
                (None, true, rest)
            } else {
                (Some(id), true, rest)
            };
        }
    }
    (None, false, message)
}

/// Parses `name[addr]`, `[addr]` or `name[addr]:port` at the start of `s`; returns the
/// client and the bytes consumed.
pub fn parse_client(s: &str) -> Option<(Client<'_>, usize)> {
    let open = memchr::memchr(b'[', s.as_bytes())?;
    let name = &s[..open];
    if name.bytes().any(|c| matches!(c, b' ' | b']' | b';' | b',')) {
        return None;
    }
    let close = open + memchr::memchr(b']', &s.as_bytes()[open..])?;
    let ip = &s[open + 1..close];
    let mut used = close + 1;
    let mut port = None;
    if s.as_bytes().get(used) == Some(&b':') {
        let digits = s.as_bytes()[used + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 {
            port = Some(&s[used + 1..used + 1 + digits]);
            used += 1 + digits;
        }
    }
    Some((
        Client {
            name: (!name.is_empty()).then_some(name),
            ip: Some(ip),
            port,
        },
        used,
    ))
}

/// Where a trailer may end: at the end of the message (smtpd, postscreen) or before
/// `: <dsn> <text>` (cleanup).
#[derive(Clone, Copy, PartialEq, Eq)]
enum TrailerEnd {
    EndOfLine,
    BeforeColon,
}

fn starts_with_key(s: &str, from_index: usize) -> bool {
    TRAILER_KEYS[from_index..]
        .iter()
        .any(|k| s.len() > k.len() && s.starts_with(k) && s.as_bytes()[k.len()] == b'=')
}

fn value_ends_at(rest: &str, sep: &str, next_key: usize, end: TrailerEnd) -> bool {
    if rest.is_empty() {
        return end == TrailerEnd::EndOfLine;
    }
    if end == TrailerEnd::BeforeColon && rest.starts_with(": ") {
        return true;
    }
    match rest.strip_prefix(sep) {
        Some(after) => next_key < TRAILER_KEYS.len() && starts_with_key(after, next_key),
        None => false,
    }
}

/// Parses a complete trailer; returns it, the number of keys and what follows it (empty,
/// or `: ...`).
fn parse_trailer<'a>(
    s: &'a str,
    sep: &str,
    end: TrailerEnd,
) -> Option<(Trailer<'a>, usize, &'a str)> {
    let mut trailer = Trailer::default();
    let mut rest = s;
    let mut key_index = 0;
    let mut keys = 0;
    loop {
        let (k, key) = TRAILER_KEYS
            .iter()
            .enumerate()
            .skip(key_index)
            .find(|(_, key)| {
                rest.len() > key.len()
                    && rest.starts_with(**key)
                    && rest.as_bytes()[key.len()] == b'='
            })?;
        let value_start = &rest[key.len() + 1..];
        let (value, after) = if let Some(inner) = value_start.strip_prefix('<') {
            // The closing bracket is the first `>` after which the trailer goes on or ends.
            let mut found = None;
            for i in memchr::memchr_iter(b'>', inner.as_bytes()) {
                if value_ends_at(&inner[i + 1..], sep, k + 1, end) {
                    found = Some(i);
                    break;
                }
            }
            let i = found?;
            (&inner[..i], &inner[i + 1..])
        } else {
            let mut stop = value_start.len();
            for i in memchr::memchr3_iter(b',', b' ', b':', value_start.as_bytes()) {
                if value_ends_at(&value_start[i..], sep, k + 1, end) {
                    stop = i;
                    break;
                }
            }
            if stop == value_start.len() && !value_ends_at("", sep, k + 1, end) {
                return None;
            }
            (&value_start[..stop], &value_start[stop..])
        };
        match *key {
            "from" => trailer.from = Some(value),
            "to" => trailer.to = Some(value),
            "proto" => trailer.proto = Some(value),
            "helo" => trailer.helo = Some(value),
            _ => {}
        }
        keys += 1;
        key_index = k + 1;
        match after.strip_prefix(sep) {
            Some(next) if starts_with_key(next, key_index) => rest = next,
            _ => return Some((trailer, keys, after)),
        }
    }
}

/// True when `before` ends inside an open `<...` of a trailer value, i.e. the `; ` we
/// are looking at was written by a stranger inside a HELO name or an address.
///
/// That is: the last `helo=<`, `from=<` or `to=<` has no `>` after it, so such an opening
/// occurs after the last `>` (the openings hold no `>`). Looking only there, and only at
/// its `<`s, keeps this cheap: it runs for every `; ` of every reject line.
fn inside_open_value(before: &str) -> bool {
    let b = before.as_bytes();
    let tail = &b[memchr::memrchr(b'>', b).map_or(0, |g| g + 1)..];
    memchr::memchr_iter(b'<', tail).any(|lt| {
        let head = &tail[..lt];
        head.ends_with(b"helo=") || head.ends_with(b"from=") || head.ends_with(b"to=")
    })
}

/// Splits `reply; trailer` from the right. Returns (reply, trailer, tail after trailer).
fn split_trailer(s: &str, end: TrailerEnd) -> (&str, Trailer<'_>, &str) {
    let semicolons = memchr::memrchr_iter(b';', s.as_bytes());
    for pos in semicolons.filter(|p| s.as_bytes().get(p + 1) == Some(&b' ')) {
        let before = &s[..pos];
        if inside_open_value(before) {
            continue;
        }
        let after = &s[pos + 2..];
        // smtpd separates with a space, postscreen with a comma; a bracketed value can
        // swallow the rest under the wrong separator, so the reading with more keys wins.
        let best = [" ", ", "]
            .iter()
            .filter_map(|sep| parse_trailer(after, sep, end))
            .filter(|(_, _, tail)| match end {
                TrailerEnd::EndOfLine => tail.is_empty(),
                TrailerEnd::BeforeColon => tail.starts_with(": "),
            })
            .max_by_key(|(_, keys, _)| *keys);
        if let Some((trailer, _, tail)) = best {
            return (before, trailer, tail);
        }
    }
    (s, Trailer::default(), "")
}

fn is_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3 && (b'2'..=b'5').contains(&b[0]) && b[1].is_ascii_digit() && b[2].is_ascii_digit()
}

/// `C.SSS.DDD`: class 2, 4 or 5, then two dot-separated runs of 1-3 digits.
fn is_dsn(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !matches!(b[0], b'2' | b'4' | b'5') || b[1] != b'.' {
        return false;
    }
    let rest = &b[2..];
    let Some(dot) = rest.iter().position(|c| *c == b'.') else {
        return false;
    };
    let (subject, detail) = (&rest[..dot], &rest[dot + 1..]);
    (1..=3).contains(&subject.len())
        && (1..=3).contains(&detail.len())
        && subject.iter().chain(detail).all(u8::is_ascii_digit)
}

/// `550 5.7.1 text`, `5.7.1 text` (cleanup) or `text` alone.
fn split_reply(reply: &str) -> (Option<&str>, Option<&str>, &str) {
    let mut rest = reply;
    let mut code = None;
    let mut dsn = None;
    if let Some((first, after)) = rest.split_once(' ') {
        if is_code(first) {
            code = Some(first);
            rest = after;
        }
    } else if is_code(rest) {
        return (Some(rest), None, "");
    }
    if let Some((first, after)) = rest.split_once(' ') {
        if is_dsn(first) {
            dsn = Some(first);
            rest = after;
        }
    } else if is_dsn(rest) {
        return (code, Some(rest), "");
    }
    (code, dsn, rest)
}

fn action_word<'a>(s: &'a str, actions: &[&'static str]) -> Option<(&'static str, &'a str)> {
    for action in actions {
        if let Some(rest) = s.strip_prefix(action).and_then(|r| r.strip_prefix(": ")) {
            return Some((action, rest));
        }
    }
    None
}

const FROM: &str = " from ";

/// The first of the `spaces` (positions of spaces in `s`, in the order to try) that starts
/// ` from `: a memchr walk, cheaper than a substring searcher set up for every line.
fn find_from(s: &str, mut spaces: impl Iterator<Item = usize>) -> Option<usize> {
    spaces.find(|&i| s.as_bytes()[i..].starts_with(FROM.as_bytes()))
}

/// The actions of reject lines written by restrictions.
pub const REJECT_ACTIONS: [&str; 2] = ["reject_warning", "reject"];
/// The action of reject lines that relay a milter's reply.
pub const MILTER_ACTIONS: [&str; 1] = ["milter-reject"];

/// smtpd and postscreen: `[QID|NOQUEUE: ]ACTION: STAGE from CLIENT: REPLY[; TRAILER]`
/// (also cleanup's END-OF-MESSAGE milter rejects). `body` is the message after any queue id.
pub fn smtpd_reject<'a>(body: &'a str, actions: &[&'static str]) -> Option<Reject<'a>> {
    let (action, rest) = action_word(body, actions)?;
    let at = find_from(rest, memchr::memchr_iter(b' ', rest.as_bytes()))?;
    let (stage, rest) = (&rest[..at], &rest[at + FROM.len()..]);
    if stage.is_empty() || !stage.bytes().all(|c| c.is_ascii_alphabetic() || c == b'-') {
        return None;
    }
    let (client, used) = parse_client(rest)?;
    let rest = rest[used..].strip_prefix(": ")?;
    let (reply, trailer, _) = split_trailer(rest, TrailerEnd::EndOfLine);
    let (code, dsn, text) = split_reply(reply);
    Some(Reject {
        action,
        stage: Some(stage),
        client,
        code,
        dsn,
        reply,
        text,
        trailer,
    })
}

/// cleanup header/body checks:
/// `QID: reject: header <line> from CLIENT; from=<..> to=<..> proto=.. helo=<..>: DSN TEXT`
/// (`from local;` for local submissions). The header line is a stranger's text, so the
/// client is the last ` from ` before the trailer. Returns the reject and what follows the
/// action (`header <line> from ...: 5.7.1 text`), which is what cleanup rules match against.
pub fn cleanup_reject(body: &str) -> Option<(Reject<'_>, &str)> {
    let (action, matched) = action_word(body, &REJECT_ACTIONS)?;
    let (class, rest) = matched.split_once(' ')?;
    if !matches!(class, "header" | "body" | "mime-header" | "nested-header") {
        return None;
    }
    let (before, trailer, tail) = split_trailer(rest, TrailerEnd::BeforeColon);
    if tail.is_empty() {
        return None;
    }
    let from_at = find_from(before, memchr::memrchr_iter(b' ', before.as_bytes()))?;
    let who = &before[from_at + FROM.len()..];
    let client = match parse_client(who) {
        Some((c, used)) if used == who.len() => c,
        _ => Client::default(),
    };
    let reply = &tail[2..];
    let (code, dsn, text) = split_reply(reply);
    Some((
        Reject {
            action,
            stage: None,
            client,
            code,
            dsn,
            reply,
            text,
            trailer,
        },
        matched,
    ))
}

/// `key=value, key=value` pairs (qmgr, delivery agents, smtpd `client=`, postgrey).
/// A value is `<...>` or runs to the next `, key=` outside parentheses.
pub fn key_values(s: &str) -> impl Iterator<Item = (&str, &str)> {
    // An iterator rather than a Vec: no allocation for every delivery or queue line.
    let mut rest = s;
    std::iter::from_fn(move || {
        let eq = memchr::memchr(b'=', rest.as_bytes())?;
        let key = &rest[..eq];
        if key.is_empty() || !key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            return None;
        }
        let value_start = &rest[eq + 1..];
        let b = value_start.as_bytes();
        let mut depth = 0i32;
        let mut stop = value_start.len();
        // Only commas and parentheses matter: jump between them.
        for i in memchr::memchr3_iter(b',', b'(', b')', b) {
            match b[i] {
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth <= 0
                    && b.get(i + 1) == Some(&b' ')
                    && next_is_key(&value_start[i + 2..]) =>
                {
                    stop = i;
                    break;
                }
                _ => {}
            }
        }
        let raw = &value_start[..stop];
        let value = raw
            .strip_prefix('<')
            .and_then(|v| v.strip_suffix('>'))
            .unwrap_or(raw);
        rest = value_start.get(stop + 2..).unwrap_or("");
        Some((key, value))
    })
}

fn next_is_key(s: &str) -> bool {
    let key_len = s
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    key_len > 0 && s.as_bytes().get(key_len) == Some(&b'=')
}

/// `sent (250 2.0.0 Ok)` -> (`sent`, Some(`250 2.0.0 Ok`)).
pub fn split_status(value: &str) -> (&str, Option<&str>) {
    match value.split_once(" (") {
        Some((word, text)) => (word, Some(text.strip_suffix(')').unwrap_or(text))),
        None => (value, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_ids() {
        assert_eq!(
            split_queue_id("NOQUEUE: reject: x"),
            (None, true, "reject: x")
        );
        assert_eq!(
            split_queue_id("4F2A81C0B7: x"),
            (Some("4F2A81C0B7"), true, "x")
        );
        assert_eq!(
            split_queue_id("4Tk9Wb6Qm2zNbJ7: x"),
            (Some("4Tk9Wb6Qm2zNbJ7"), true, "x")
        );
        assert!(!split_queue_id("warning: x").1);
        assert!(!split_queue_id("statistics: x").1);
    }

    #[test]
    fn smtpd_helo_reject() {
        let r = smtpd_reject("reject: RCPT from 201-93-87-2.example.net[192.0.2.2]: 504 5.5.2 <lan-32204df3031>: Helo command rejected: need fully-qualified hostname; from=<a@example.com> to=<b@example.org> proto=ESMTP helo=<lan-32204df3031>", &REJECT_ACTIONS).unwrap();
        assert_eq!(r.stage, Some("RCPT"));
        assert_eq!(r.client.ip, Some("192.0.2.2"));
        assert_eq!(r.code, Some("504"));
        assert_eq!(r.dsn, Some("5.5.2"));
        assert_eq!(
            r.text,
            "<lan-32204df3031>: Helo command rejected: need fully-qualified hostname"
        );
        assert_eq!(r.trailer.helo, Some("lan-32204df3031"));
        assert_eq!(r.trailer.from, Some("a@example.com"));
    }

    #[test]
    fn trailer_from_the_right_with_semicolons_in_reply() {
        let r = smtpd_reject("reject: RCPT from x[192.0.2.3]: 550 5.7.23 <b@example.org>: Recipient address rejected: Message rejected due to: SPF fail - not authorized. Please see http://www.openspf.net/Why?s=mfrom;id=a@example.com;ip=192.0.2.3;r=<UNKNOWN>; from=<a@example.com> to=<b@example.org> proto=ESMTP helo=<x.example>", &REJECT_ACTIONS).unwrap();
        assert!(r.text.ends_with("r=<UNKNOWN>"));
        assert_eq!(r.trailer.to, Some("b@example.org"));
    }

    #[test]
    fn hostile_helo_cannot_forge_the_sender() {
        let r = smtpd_reject("reject: RCPT from x[192.0.2.3]: 554 5.7.1 <b@example.org>: Relay access denied; from=<real@example.com> to=<b@example.org> proto=SMTP helo=<x; from=<evil@example.net> to=<y> proto=SMTP helo=<z>", &REJECT_ACTIONS).unwrap();
        assert_eq!(r.trailer.from, Some("real@example.com"));
        assert_eq!(
            r.trailer.helo,
            Some("x; from=<evil@example.net> to=<y> proto=SMTP helo=<z")
        );
    }

    #[test]
    fn helo_with_spaces_and_brackets() {
        let r = smtpd_reject("reject: EHLO from x[192.0.2.3]: 501 5.5.2 <a b>c>: Helo command rejected: Invalid name; proto=SMTP helo=<a b>c>", &REJECT_ACTIONS).unwrap();
        assert_eq!(r.trailer.helo, Some("a b>c"));
        assert_eq!(r.trailer.proto, Some("SMTP"));
    }

    #[test]
    fn postscreen_comma_trailer() {
        let r = smtpd_reject("reject: RCPT from [192.0.2.7]:52312: 450 4.3.2 Service currently unavailable; from=<a@example.com>, to=<b@example.org>, proto=ESMTP, helo=<h.example>", &REJECT_ACTIONS).unwrap();
        assert_eq!(r.client.name, None);
        assert_eq!(r.client.port, Some("52312"));
        assert_eq!(r.trailer.helo, Some("h.example"));
        assert_eq!(r.text, "Service currently unavailable");
        let r = smtpd_reject(
            "reject: CONNECT from [192.0.2.7]:52312: too many connections",
            &REJECT_ACTIONS,
        )
        .unwrap();
        assert_eq!(r.text, "too many connections");
        assert_eq!(r.code, None);
    }

    #[test]
    fn cleanup_header() {
        let (r, content) = cleanup_reject("reject: header Subject: cheap from x; from=<y> from mail.example[192.0.2.9]; from=<s@example.com> to=<r@example.org> proto=ESMTP helo=<mail.example>: 5.7.1 message content rejected").unwrap();
        assert!(content.starts_with("header Subject: cheap from x; from=<y> from mail.example"));
        assert_eq!(r.client.ip, Some("192.0.2.9"));
        assert_eq!(r.dsn, Some("5.7.1"));
        assert_eq!(r.code, None);
        assert_eq!(r.text, "message content rejected");
        assert_eq!(r.trailer.to, Some("r@example.org"));
        let (r, _) = cleanup_reject(
            "reject: body spam from local; from=<s@example.com> to=<r@example.org>: 5.7.1 no",
        )
        .unwrap();
        assert_eq!(r.client, Client::default());
    }

    #[test]
    fn dsns() {
        for yes in ["5.7.1", "4.2.0", "2.0.0", "5.123.456"] {
            assert!(is_dsn(yes), "{yes}");
        }
        for no in [
            "5.7.1.1", "3.1.1", "5.1234.1", "5..1", "5.1.", "5.1", "55.1.1", "5.a.1", "", "5",
        ] {
            assert!(!is_dsn(no), "{no}");
        }
    }

    #[test]
    fn key_value_lists() {
        let kv: Vec<_> = key_values("to=<r@example.org>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox, id=5)").collect();
        assert_eq!(kv[0], ("to", "r@example.org"));
        assert_eq!(
            kv.last().unwrap(),
            &("status", "sent (delivered to mailbox, id=5)")
        );
        assert_eq!(
            split_status(kv.last().unwrap().1),
            ("sent", Some("delivered to mailbox, id=5"))
        );
        let kv: Vec<_> = key_values("from=<>, size=1234, nrcpt=2 (queue active)").collect();
        assert_eq!(
            kv,
            vec![
                ("from", ""),
                ("size", "1234"),
                ("nrcpt", "2 (queue active)")
            ]
        );
    }

    #[test]
    fn never_panics_on_fragments() {
        let line =
            "reject: RCPT from x[1.2.3.4]: 550 5.1.1 <a>: t; from=<a> to=<b> proto=ESMTP helo=<c>";
        for i in 0..=line.len() {
            if line.is_char_boundary(i) {
                let _ = smtpd_reject(&line[..i], &REJECT_ACTIONS);
                let _ = cleanup_reject(&line[..i]);
                let _ = key_values(&line[..i]).count();
            }
        }
    }
}
