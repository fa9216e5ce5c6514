//! Parquet files of events written on a thread of their own, without Python.
//!
//! `mailreject parse --format parquet` used to encode row groups with pyarrow on a Python
//! thread; this writer takes the parser's record batches through a bounded channel and
//! encodes them with the `parquet` crate on a plain Rust thread, so encoding never waits
//! for the GIL and costs no Python objects. The file layout is the one
//! `mailreject.formats.ParquetFileWriter` writes (docs/store.md): zstd level 1, dictionary
//! encoding except for `ts` and `line_no` (delta encoding), min/max statistics on every
//! column but the free-text ones, and the caller's key-value metadata.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

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
        let mut writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            Arc::clone(&schema),
            Some(props),
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
    use crate::engine::{BlockContext, Engine, Format};
    use crate::rules::DEFAULT_RULES;
    use jiff::tz::TimeZone;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
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

    fn write(rows: usize, batches: &[RecordBatch]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mailreject-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("rows-{rows}.parquet"));
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
            let path = write(rows, &parts);
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
            let read: Vec<RecordBatch> =
                ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
                    .unwrap()
                    .build()
                    .unwrap()
                    .map(|b| b.unwrap())
                    .collect();
            let read = arrow_select_concat(&read);
            assert_eq!(read.columns(), all.columns());
            std::fs::remove_file(path).unwrap();
        }
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

    #[test]
    fn unwritable_path_is_an_io_error() {
        let err = ParquetSink::create(Path::new("/nonexistent/dir/x.parquet"), &schema(), 0, &[])
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
