//! Parses a log file with the built-in rules and prints counters and lines/s: a profiling aid
//! for the Rust core alone (`cargo run --release --example parse_file -- FILE`). With a
//! second argument it also writes the events to that Parquet file the way `mailreject parse
//! --format parquet` does (the sink's thread, 128k-row row groups): the Rust floor of that
//! command (`cargo run --release --example parse_file -- FILE OUT`).

use std::time::Instant;

use _parsers::columns::schema;
use _parsers::engine::{BlockContext, Engine, Format};
use _parsers::rules::DEFAULT_RULES;
use _parsers::sink::ParquetSink;
use jiff::tz::TimeZone;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: parse_file FILE [OUT.parquet]");
        std::process::exit(2);
    };
    let data = std::fs::read(&path).expect("cannot read file");
    let files: Vec<(String, String)> = DEFAULT_RULES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let engine = Engine::new(&files, TimeZone::UTC).expect("rules");
    let meta = vec![("mailreject.schema_version".to_string(), "1".to_string())];
    let started = Instant::now();
    let mut sink = args.next().map(|out| {
        ParquetSink::create(out.as_ref(), &schema(), 128 * 1024, &meta).expect("output")
    });
    let block = if sink.is_some() { 2 << 20 } else { 8 << 20 };
    let mut lines = 0;
    let mut events = 0;
    let mut first_line_no = 1;
    let mut rest: &[u8] = &data;
    while !rest.is_empty() {
        let cut = rest.len().min(block);
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
        let (batch, stats) = engine.parse_block(&rest[..end], &ctx).expect("batch");
        if let Some(sink) = sink.as_mut() {
            sink.write(batch).expect("write");
        }
        lines += stats.lines;
        events += stats.events;
        first_line_no += stats.lines as i64;
        rest = &rest[end..];
    }
    if let Some(sink) = sink.as_mut() {
        sink.close().expect("close");
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{lines} lines, {events} events, {seconds:.3} s, {:.0} lines/s",
        lines as f64 / seconds
    );
}
