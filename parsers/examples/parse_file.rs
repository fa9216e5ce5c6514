//! Parses a log file with the built-in rules and prints counters and lines/s: a profiling aid
//! for the Rust core alone (`cargo run --release --example parse_file -- FILE`).

use std::time::Instant;

use _parsers::engine::{BlockContext, Engine, Format};
use _parsers::rules::DEFAULT_RULES;
use jiff::tz::TimeZone;

fn main() {
    let path = std::env::args().nth(1).expect("usage: parse_file FILE");
    let data = std::fs::read(&path).expect("cannot read file");
    let files: Vec<(String, String)> = DEFAULT_RULES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let engine = Engine::new(&files, TimeZone::UTC).expect("rules");
    let started = Instant::now();
    let mut lines = 0;
    let mut events = 0;
    let mut first_line_no = 1;
    let mut rest: &[u8] = &data;
    while !rest.is_empty() {
        let cut = rest.len().min(8 << 20);
        let end = rest[..cut]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(rest.len(), |p| p + 1);
        let ctx = BlockContext {
            source: &path,
            first_line_no,
            format: Format::Syslog,
            year: 2026,
            prev_month: None,
        };
        let (_, stats) = engine.parse_block(&rest[..end], &ctx).expect("batch");
        lines += stats.lines;
        events += stats.events;
        first_line_no += stats.lines as i64;
        rest = &rest[end..];
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{lines} lines, {events} events, {seconds:.3} s, {:.0} lines/s",
        lines as f64 / seconds
    );
}
