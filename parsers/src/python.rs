//! The Python module `mailreject._parsers`: bytes in, Arrow record batches out.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use jiff::tz::TimeZone;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyDict;
use pyo3_arrow::{PyRecordBatch, PySchema};

use crate::columns::schema;
use crate::engine::{BlockContext, BlockStats, Engine, Format};
use crate::rules::DEFAULT_RULES;
use crate::sink::ParquetSink;

/// (id, file, daemons, shape, match, unmatched) of one compiled rule.
type RuleSummary = (String, String, Vec<String>, String, Option<String>, bool);

/// A compiled rule catalogue and time zone. Thread-safe: `parse` releases the GIL, so
/// several threads may parse blocks at once.
#[pyclass(frozen, module = "mailreject._parsers")]
struct Parser {
    engine: Arc<Engine>,
}

fn time_zone(name: Option<&str>) -> PyResult<TimeZone> {
    match name {
        None | Some("") => Ok(TimeZone::try_system().unwrap_or(TimeZone::UTC)),
        Some("UTC") | Some("utc") => Ok(TimeZone::UTC),
        Some(n) => {
            TimeZone::get(n).map_err(|_| PyValueError::new_err(format!("unknown time zone {n:?}")))
        }
    }
}

fn stats_dict<'py>(py: Python<'py>, stats: &BlockStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("lines", stats.lines)?;
    d.set_item("events", stats.events)?;
    d.set_item("skipped", stats.skipped.clone())?;
    d.set_item("unparsed", stats.unparsed.clone())?;
    d.set_item("unmatched", stats.unmatched)?;
    d.set_item("repaired", stats.repaired)?;
    d.set_item("events_by_kind", stats.events_by_kind.clone())?;
    d.set_item("first_month", stats.first_month)?;
    d.set_item("last_month", stats.last_month)?;
    d.set_item("year", stats.year)?;
    d.set_item("min_ts", stats.min_ts)?;
    d.set_item("max_ts", stats.max_ts)?;
    Ok(d)
}

#[pymethods]
impl Parser {
    /// Compiles the built-in rules after `extra_rules` ((name, TOML text) pairs, which take
    /// priority). `tz` names the zone of year-less timestamps (None: the system's).
    #[new]
    #[pyo3(signature = (extra_rules = Vec::new(), tz = None, builtin = true))]
    fn new(extra_rules: Vec<(String, String)>, tz: Option<&str>, builtin: bool) -> PyResult<Self> {
        let mut files = extra_rules;
        if builtin {
            files.extend(
                DEFAULT_RULES
                    .iter()
                    .map(|(n, t)| (n.to_string(), t.to_string())),
            );
        }
        let engine = Engine::new(&files, time_zone(tz)?)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(Parser {
            engine: Arc::new(engine),
        })
    }

    /// Parses a block of whole lines. Returns (pyarrow.RecordBatch, counters dict).
    #[pyo3(signature = (data, *, source, first_line_no = 1, format = "syslog", year, prev_month = None))]
    #[allow(clippy::too_many_arguments)]
    fn parse<'py>(
        &self,
        py: Python<'py>,
        data: PyBackedBytes,
        source: String,
        first_line_no: i64,
        format: &str,
        year: i32,
        prev_month: Option<i8>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
        let format = match format {
            "syslog" => Format::Syslog,
            "journal-json" | "journal" => Format::Journal,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown input format {other:?}"
                )))
            }
        };
        let engine = Arc::clone(&self.engine);
        let result = py.detach(move || {
            let ctx = BlockContext {
                source: &source,
                first_line_no,
                format,
                year,
                prev_month,
            };
            engine.parse_block(&data, &ctx)
        });
        let (batch, stats) = result.map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        let batch = PyRecordBatch::new(batch).into_pyarrow(py)?;
        Ok((batch, stats_dict(py, &stats)?))
    }

    /// The compiled rules: (id, file, daemons, shape, match, unmatched) tuples, in
    /// priority order.
    fn rules(&self) -> Vec<RuleSummary> {
        self.engine
            .rules()
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    r.file.clone(),
                    r.daemons.clone(),
                    r.shape.name().to_string(),
                    r.regex.as_ref().map(|re| re.as_str().to_string()),
                    r.unmatched,
                )
            })
            .collect()
    }
}

/// An `OSError` with the errno and text of the operating system's error, so that callers
/// tell a full disk from a missing directory as they do for Python's own I/O.
fn os_error(error: std::io::Error) -> PyErr {
    match error.raw_os_error() {
        Some(code) => {
            let text = std::io::Error::from_raw_os_error(code).to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_string();
            PyOSError::new_err((code, text))
        }
        None => PyOSError::new_err(error.to_string()),
    }
}

/// A Parquet file of events encoded on a Rust thread (see `sink.rs`): `write` queues a
/// record batch and returns, `close` writes the footer. Errors of the encoder are raised
/// as `OSError` by the next `write` or by `close`.
#[pyclass(frozen, module = "mailreject._parsers")]
struct ParquetWriter {
    sink: Mutex<ParquetSink>,
}

#[pymethods]
impl ParquetWriter {
    /// Creates `path` for the event schema; `row_group_rows` rows per row group (0: one
    /// per batch); `metadata` goes into the file's key-value metadata.
    #[new]
    #[pyo3(signature = (path, *, row_group_rows = 0, metadata = Vec::new()))]
    fn new(
        path: PathBuf,
        row_group_rows: usize,
        metadata: Vec<(String, String)>,
    ) -> PyResult<Self> {
        let sink =
            ParquetSink::create(&path, &schema(), row_group_rows, &metadata).map_err(os_error)?;
        Ok(ParquetWriter {
            sink: Mutex::new(sink),
        })
    }

    /// Queues a record batch of the event schema (anything with `__arrow_c_array__`).
    fn write(&self, py: Python<'_>, batch: PyRecordBatch) -> PyResult<()> {
        let batch = batch.into_inner();
        py.detach(|| match self.sink.lock() {
            Ok(mut sink) => sink.write(batch),
            Err(_) => Err(std::io::Error::other("the Parquet writer failed before")),
        })
        .map_err(os_error)
    }

    /// Writes what is queued and the footer; the file is complete when this returns.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| match self.sink.lock() {
            Ok(mut sink) => sink.close(),
            Err(_) => Err(std::io::Error::other("the Parquet writer failed before")),
        })
        .map_err(os_error)
    }
}

/// The built-in rule files as (name, TOML text) pairs.
#[pyfunction]
fn default_rules() -> Vec<(String, String)> {
    DEFAULT_RULES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

/// The number of newline bytes in `data`: the lines of a block, counted by memchr's
/// vectorised counter (`bytes.count` and a plain filter loop take ~5 instructions a byte).
#[pyfunction]
fn count_lines(data: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', data).count()
}

/// The event schema as a pyarrow.Schema.
#[pyfunction]
fn event_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    PySchema::new(schema()).into_pyarrow(py)
}

#[pymodule]
fn _parsers(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Parser>()?;
    m.add_class::<ParquetWriter>()?;
    m.add_function(wrap_pyfunction!(default_rules, m)?)?;
    m.add_function(wrap_pyfunction!(event_schema, m)?)?;
    m.add_function(wrap_pyfunction!(count_lines, m)?)?;
    m.add("MAX_LINE_BYTES", crate::engine::MAX_LINE_BYTES)?;
    Ok(())
}
