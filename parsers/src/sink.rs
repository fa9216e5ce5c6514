//! Parquet files of events written on a thread of their own, without Python.
//!
//! `mailreject parse --format parquet` used to encode row groups with pyarrow on a Python
//! thread; this writer takes the parser's record batches through a bounded channel and
//! encodes them with the `parquet` crate on a plain Rust thread, so encoding never waits
//! for the GIL and costs no Python objects. The file layout is the one
//! `mailreject.formats.ParquetFileWriter` writes (docs/store.md): zstd level 1, dictionary
//! encoding except for `ts` and `line_no` (delta encoding), min/max statistics on every
//! column but the free-text ones, and the caller's key-value metadata.
//!
//! The file, its row groups and the number and time columns are the crate's
//! (`SerializedFileWriter`, its Arrow column writers); the string columns, 20 of 28 and
//! most of the encoder's time with the crate's writer, are encoded by `dictcol.rs` and
//! spliced in as finished column chunks. `tests::same_values_statistics_and_encodings_as_arrow_writer`
//! holds the two to the same values, statistics and encodings.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use arrow_array::cast::AsArray;
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema, SchemaRef};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use crate::dictcol::{NumberChunk, StringChunk};
use crate::pages::Zstd;

/// Columns whose values only grow (line numbers) or nearly (times): delta encoding.
pub const DELTA_COLUMNS: [&str; 2] = ["ts", "line_no"];

/// Per-client values and free text: min/max statistics would prune nothing.
pub const NO_STATISTICS: [&str; 7] = [
    "client_name",
    "client_ip",
    "helo",
    "sender",
    "recipient",
    "queue_id",
    "detail",
];

/// Batches waiting for the encoder at most: memory stays bounded when encoding lags.
const QUEUE_BATCHES: usize = 4;

/// The writer properties of event files (see the module documentation).
pub fn writer_properties(
    schema: &Schema,
    row_group_rows: Option<usize>,
    metadata: &[(String, String)],
) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(1).expect("zstd level 1 is valid"),
        ))
        // Column chunk statistics only, untruncated, and no page index: what pyarrow writes.
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_statistics_truncate_length(None)
        .set_offset_index_disabled(true)
        .set_max_row_group_row_count(row_group_rows)
        .set_key_value_metadata(Some(
            metadata
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                .collect(),
        ));
    for field in schema.fields() {
        let name = field.name().as_str();
        let path = ColumnPath::from(name);
        if DELTA_COLUMNS.contains(&name) {
            builder = builder
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_encoding(path.clone(), Encoding::DELTA_BINARY_PACKED);
        }
        if NO_STATISTICS.contains(&name) {
            builder = builder.set_column_statistics_enabled(path, EnabledStatistics::None);
        }
    }
    builder.build()
}

/// Turns a Parquet error into an I/O error, keeping the operating system's error (a full
/// disk) when there is one.
fn io_error(error: ParquetError) -> io::Error {
    match error {
        ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => *io,
            Err(other) => io::Error::other(other.to_string()),
        },
        other => io::Error::other(other.to_string()),
    }
}

/// Level of the zstd compression of every page.
const ZSTD_LEVEL: i32 = 1;

/// The encoder of one column of the row group being written (boxed: they are large).
enum ColumnEncoder {
    /// String columns: dictionary-encoded here (`dictcol.rs`), several times cheaper.
    Strings(Box<StringChunk>),
    /// Dictionary-encoded number columns, likewise.
    Numbers(Box<NumberChunk>),
    /// `ts` and `line_no` (delta encoding): the `parquet` crate's Arrow column writer, a
    /// new one per row group (None between row groups).
    Arrow(Option<Box<ArrowColumnWriter>>),
}

/// The file layout `ArrowWriter` writes (same schema, Arrow schema metadata, row groups
/// and column chunk properties), with the string columns encoded by [`DictChunk`].
struct EventFile<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    statistics: Vec<bool>,
    dictionary: Vec<bool>,
    max_rows: Option<usize>,
    zstd: Zstd,
    /// The column encoders, made for the first row group and reused for the next ones.
    group: Vec<ColumnEncoder>,
    /// Whether a row group is being gathered.
    in_group: bool,
    group_rows: usize,
}

impl<W: Write + Send> EventFile<W> {
    fn try_new(
        out: W,
        schema: SchemaRef,
        mut props: WriterProperties,
    ) -> Result<Self, ParquetError> {
        let parquet_schema = ArrowSchemaConverter::new()
            .with_coerce_types(props.coerce_types())
            .convert(&schema)?;
        add_encoded_arrow_schema_to_metadata(&schema, &mut props);
        let statistics = parquet_schema
            .columns()
            .iter()
            .map(|c| props.statistics_enabled(c.path()) != EnabledStatistics::None)
            .collect();
        let dictionary = parquet_schema
            .columns()
            .iter()
            .map(|c| props.dictionary_enabled(c.path()))
            .collect();
        let max_rows = props.max_row_group_row_count();
        let writer =
            SerializedFileWriter::new(out, parquet_schema.root_schema_ptr(), Arc::new(props))?;
        let factory = ArrowRowGroupWriterFactory::new(&writer, Arc::clone(&schema));
        Ok(EventFile {
            writer,
            factory,
            schema,
            statistics,
            dictionary,
            max_rows,
            zstd: Zstd::new(ZSTD_LEVEL)?,
            group: Vec::new(),
            in_group: false,
            group_rows: 0,
        })
    }

    /// Starts a row group: a dictionary chunk per string column, the crate's column
    /// writers for the others.
    fn start_group(&mut self) -> Result<(), ParquetError> {
        let index = self.writer.flushed_row_groups().len();
        let arrow = self.factory.create_column_writers(index)?;
        if self.group.is_empty() {
            let descriptors = self.writer.schema_descr().columns();
            for (i, field) in self.schema.fields().iter().enumerate() {
                let descr = Arc::clone(&descriptors[i]);
                let statistics = self.statistics[i];
                self.group.push(match field.data_type() {
                    _ if !self.dictionary[i] => ColumnEncoder::Arrow(None),
                    DataType::Utf8 => {
                        ColumnEncoder::Strings(Box::new(StringChunk::new(descr, statistics)))
                    }
                    DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Float64 => {
                        ColumnEncoder::Numbers(Box::new(NumberChunk::new(descr, statistics)?))
                    }
                    _ => ColumnEncoder::Arrow(None),
                });
            }
        }
        // The crate's writers do not outlive their row group; the chunks are reused.
        for (encoder, writer) in self.group.iter_mut().zip(arrow) {
            if let ColumnEncoder::Arrow(slot) = encoder {
                *slot = Some(Box::new(writer));
            }
        }
        self.in_group = true;
        Ok(())
    }

    /// Appends a batch, splitting it at row group boundaries as `ArrowWriter` does.
    fn write(&mut self, batch: &RecordBatch) -> Result<(), ParquetError> {
        let mut batch = batch.clone();
        while batch.num_rows() > 0 {
            if !self.in_group {
                self.start_group()?;
            }
            let room = self.max_rows.map_or(usize::MAX, |m| m - self.group_rows);
            let take = batch.num_rows().min(room);
            let part = batch.slice(0, take);
            batch = batch.slice(take, batch.num_rows() - take);
            for ((encoder, column), field) in self
                .group
                .iter_mut()
                .zip(part.columns())
                .zip(self.schema.fields())
            {
                match encoder {
                    ColumnEncoder::Strings(chunk) => {
                        chunk.write(column.as_string::<i32>(), &mut self.zstd)?
                    }
                    ColumnEncoder::Numbers(chunk) => chunk.write(column, &mut self.zstd)?,
                    ColumnEncoder::Arrow(writer) => {
                        let writer = writer.as_mut().ok_or_else(|| {
                            ParquetError::General("no column writer outside a row group".into())
                        })?;
                        for leaf in compute_leaves(field, column)? {
                            writer.write(&leaf)?;
                        }
                    }
                }
            }
            self.group_rows += take;
            if self.max_rows.is_some_and(|m| self.group_rows >= m) {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Writes the row group being gathered, if any.
    fn flush(&mut self) -> Result<(), ParquetError> {
        if !self.in_group {
            return Ok(());
        }
        self.in_group = false;
        let mut row_group = self.writer.next_row_group()?;
        for encoder in self.group.iter_mut() {
            match encoder {
                ColumnEncoder::Strings(chunk) => {
                    let (bytes, close) = chunk.close(&mut self.zstd)?;
                    row_group.append_column(&bytes, close)?;
                    chunk.recycle(bytes);
                }
                ColumnEncoder::Numbers(chunk) => {
                    let (bytes, close) = chunk.close(&mut self.zstd)?;
                    row_group.append_column(&bytes, close)?;
                    chunk.recycle(bytes);
                }
                ColumnEncoder::Arrow(writer) => {
                    if let Some(writer) = writer.take() {
                        writer.close()?.append_to_row_group(&mut row_group)?;
                    }
                }
            }
        }
        row_group.close()?;
        self.group_rows = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the output.
    fn into_inner(mut self) -> Result<W, ParquetError> {
        self.flush()?;
        self.writer.into_inner()
    }
}

/// One Parquet file being written by a background thread.
pub struct ParquetSink {
    schema: SchemaRef,
    sender: Option<SyncSender<RecordBatch>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl ParquetSink {
    /// Creates `path` (errors opening it are returned here) and starts the encoder.
    ///
    /// `row_group_rows`: rows per row group (the last one excepted); 0 writes each batch
    /// as a row group of its own. `metadata` goes into the file's key-value metadata and
    /// into the Arrow schema stored with it.
    pub fn create(
        path: &Path,
        schema: &Schema,
        row_group_rows: usize,
        metadata: &[(String, String)],
    ) -> io::Result<Self> {
        let file = File::create(path)?;
        let schema = Arc::new(Schema::new_with_metadata(
            schema.fields().clone(),
            metadata.iter().cloned().collect(),
        ));
        let per_batch = row_group_rows == 0;
        let props = writer_properties(&schema, (!per_batch).then_some(row_group_rows), metadata);
        let mut writer = EventFile::try_new(
            BufWriter::with_capacity(1 << 20, file),
            Arc::clone(&schema),
            props,
        )
        .map_err(io_error)?;
        let (sender, receiver) = sync_channel::<RecordBatch>(QUEUE_BATCHES);
        let thread = std::thread::Builder::new()
            .name("parquet-writer".into())
            .spawn(move || {
                for batch in receiver {
                    writer.write(&batch).map_err(io_error)?;
                    if per_batch {
                        writer.flush().map_err(io_error)?;
                    }
                }
                let out = writer.into_inner().map_err(io_error)?;
                out.into_inner().map_err(|e| e.into_error())?;
                Ok(())
            })?;
        Ok(ParquetSink {
            schema,
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Queues a batch; blocks while the encoder is [`QUEUE_BATCHES`] batches behind. An
    /// error of the encoder (a full disk) is returned by the next `write` or by `close`.
    pub fn write(&mut self, batch: RecordBatch) -> io::Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let sent = match &self.sender {
            Some(sender) => sender.send(batch).is_ok(),
            None => return Err(io::Error::other("the Parquet file is closed")),
        };
        if sent {
            Ok(())
        } else {
            // The encoder stopped: its error says why.
            self.close()
        }
    }

    /// Writes what is queued and the footer, and waits for the encoder.
    pub fn close(&mut self) -> io::Result<()> {
        self.sender = None;
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the Parquet writer thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for ParquetSink {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::schema;
    use crate::columns::Column;
    use crate::engine::{BlockContext, Engine, Format};
    use crate::rules::DEFAULT_RULES;
    use jiff::tz::TimeZone;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ArrowWriter;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn batch(lines: usize) -> RecordBatch {
        let files: Vec<(String, String)> = DEFAULT_RULES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let engine = Engine::new(&files, TimeZone::UTC).unwrap();
        let text: String = (0..lines)
            .map(|i| {
                format!(
                    "Nov  3 13:01:{:02} mx1 postfix/postscreen[901]: CONNECT from [198.51.100.{}]:{}\n",
                    i % 60,
                    i % 250,
                    5000 + i
                )
            })
            .collect();
        let ctx = BlockContext {
            source: "t.log",
            first_line_no: 1,
            format: Format::Syslog,
            year: 2026,
            prev_month: None,
        };
        engine.parse_block(text.as_bytes(), &ctx).unwrap().0
    }

    fn write(name: &str, rows: usize, batches: &[RecordBatch]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mailreject-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}-{rows}.parquet"));
        let meta = vec![("mailreject.schema_version".to_string(), "1".to_string())];
        let mut sink = ParquetSink::create(&path, &schema(), rows, &meta).unwrap();
        for b in batches {
            sink.write(b.clone()).unwrap();
        }
        sink.close().unwrap();
        path
    }

    #[test]
    fn round_trip_and_row_groups() {
        let all = batch(1000);
        let parts: Vec<RecordBatch> = (0..10).map(|i| all.slice(i * 100, 100)).collect();
        for (rows, groups) in [(0, 10), (300, 4)] {
            let path = write("round-trip", rows, &parts);
            let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
            assert_eq!(reader.metadata().num_row_groups(), groups);
            let kv = reader
                .metadata()
                .file_metadata()
                .key_value_metadata()
                .unwrap();
            assert!(kv
                .iter()
                .any(|k| k.key == "mailreject.schema_version" && k.value.as_deref() == Some("1")));
            let read = arrow_select_concat(&read_batches(&path));
            assert_eq!(read.columns(), all.columns());
            std::fs::remove_file(path).unwrap();
        }
    }

    fn read_batches(path: &Path) -> Vec<RecordBatch> {
        ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect()
    }

    fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
        let schema = batches[0].schema();
        let columns = (0..schema.fields().len())
            .map(|i| {
                let arrays: Vec<&dyn arrow_array::Array> =
                    batches.iter().map(|b| b.column(i).as_ref()).collect();
                arrow_select::concat::concat(&arrays).unwrap()
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    /// Rows that exercise the string encoder's corners: constant and few-valued columns,
    /// nulls in runs and scattered, an all-null column, and more than 1 MiB of distinct
    /// details (the fallback to `PLAIN` pages).
    fn awkward_batch(rows: usize) -> RecordBatch {
        use crate::columns::{Event, EventColumns, Value};
        let kinds = ["reject", "connect", "greylist", "spf", "ñandú ✓"];
        let texts: Vec<String> = (0..rows)
            .map(|i| format!("detail {i:08} {}", "x".repeat(i % 40)))
            .collect();
        let mut cols = EventColumns::with_capacity(rows);
        for (i, text) in texts.iter().enumerate() {
            let mut e = Event::default();
            e.set_int(Column::Ts, 1_700_000_000_000_000 + (i as i64) * 1000);
            e.set_str(Column::Host, "mx1");
            e.set_str(Column::Kind, kinds[(i * 7 / 3) % kinds.len()]);
            if (i / 500) % 3 != 0 {
                e.set_str(Column::Sender, kinds[i % 3]);
            }
            if i % 7 == 0 {
                e.set_str(Column::Helo, "");
            }
            e.set_str(Column::Detail, text);
            e.set_int(Column::SmtpCode, 450 + (i % 3) as i64);
            if i % 5 != 0 {
                e.set_int(Column::Pid, (i % 300) as i64 - 20);
                e.set_int(Column::ClientPort, (i * 7919 % 65_536) as i64);
                e.set_int(Column::Size, (i as i64 - 30_000) * 1_000_003);
            }
            if (i / 1000) % 4 == 1 {
                e.set_int(Column::Nrcpt, 1);
            }
            let delays = [0.0, -0.0, 0.25, f64::NAN, -1.5, 3e9];
            if i % 3 == 0 {
                e.set(Column::Delay, Value::Float(delays[(i / 3) % delays.len()]));
            }
            e.set_int(Column::LineNo, i as i64 + 1);
            cols.push(&e);
        }
        cols.finish().unwrap()
    }

    /// The same batches through `ArrowWriter` with the same properties: the layout the
    /// string encoder replaces.
    fn write_with_arrow_writer(rows: usize, batches: &[RecordBatch]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mailreject-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("arrow-{rows}.parquet"));
        let meta = vec![("mailreject.schema_version".to_string(), "1".to_string())];
        let schema = Arc::new(Schema::new_with_metadata(
            schema().fields().clone(),
            meta.iter().cloned().collect(),
        ));
        let props = writer_properties(&schema, (rows > 0).then_some(rows), &meta);
        let mut writer =
            ArrowWriter::try_new(File::create(&path).unwrap(), schema, Some(props)).unwrap();
        for b in batches {
            writer.write(b).unwrap();
            if rows == 0 {
                writer.flush().unwrap();
            }
        }
        writer.close().unwrap();
        path
    }

    #[test]
    fn same_values_statistics_and_encodings_as_arrow_writer() {
        let all = awkward_batch(70_000);
        let parts: Vec<RecordBatch> = (0..7).map(|i| all.slice(i * 10_000, 10_000)).collect();
        for rows in [0, 45_000] {
            let ours = write("awkward", rows, &parts);
            let theirs = write_with_arrow_writer(rows, &parts);
            let (a, b) = (read_batches(&ours), read_batches(&theirs));
            assert_eq!(arrow_select_concat(&a), arrow_select_concat(&b));
            assert_eq!(a[0].schema(), b[0].schema());
            let meta = |path: &Path| {
                SerializedFileReader::new(File::open(path).unwrap())
                    .unwrap()
                    .metadata()
                    .clone()
            };
            let (ma, mb) = (meta(&ours), meta(&theirs));
            assert_eq!(
                ma.file_metadata().key_value_metadata(),
                mb.file_metadata().key_value_metadata()
            );
            assert_eq!(ma.num_row_groups(), mb.num_row_groups());
            for (ga, gb) in ma.row_groups().iter().zip(mb.row_groups()) {
                assert_eq!(ga.num_rows(), gb.num_rows());
                for (ca, cb) in ga.columns().iter().zip(gb.columns()) {
                    let name = ca.column_path().string();
                    assert_eq!(ca.statistics(), cb.statistics(), "{name}");
                    assert_eq!(ca.num_values(), cb.num_values(), "{name}");
                    assert_eq!(ca.compression(), cb.compression(), "{name}");
                    assert_eq!(ca.encodings_mask(), cb.encodings_mask(), "{name}");
                    assert_eq!(
                        ca.dictionary_page_offset().is_some(),
                        cb.dictionary_page_offset().is_some(),
                        "{name}"
                    );
                    assert_eq!(
                        ca.unencoded_byte_array_data_bytes(),
                        cb.unencoded_byte_array_data_bytes(),
                        "{name}"
                    );
                    assert_eq!(
                        ca.definition_level_histogram(),
                        cb.definition_level_histogram(),
                        "{name}"
                    );
                }
            }
            // The 45,000-row groups pass the dictionary limit on `detail`: PLAIN pages.
            let plain_pages = |m: &parquet::file::metadata::ParquetMetaData| {
                let detail = m.row_group(0).column(Column::Detail as usize);
                detail
                    .page_encoding_stats_mask()
                    .map(|mask| mask.is_set(Encoding::PLAIN))
            };
            assert_eq!(plain_pages(&ma), Some(rows > 0));
            assert_eq!(plain_pages(&ma), plain_pages(&mb));
            std::fs::remove_file(ours).unwrap();
            std::fs::remove_file(theirs).unwrap();
        }
    }

    #[test]
    fn unwritable_path_is_an_io_error() {
        let err = ParquetSink::create(Path::new("/nonexistent/dir/x.parquet"), &schema(), 0, &[])
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
