//! The pages of one dictionary-encoded column chunk, and the finished chunk's metadata.
//!
//! The layout is the one the `parquet` crate's column writer gives a nullable flat column
//! with the event files' properties: data pages v1 of 20,000 rows at most (RLE definition
//! levels, then `RLE_DICTIONARY` indices, or `PLAIN` values once the dictionary has passed
//! 1 MiB), each compressed with zstd; the `PLAIN` dictionary page first in the chunk. What
//! differs from column to column (the dictionary, the statistics) is `dictcol.rs`.
#![forbid(unsafe_code)]

use arrow_buffer::{BooleanBufferBuilder, NullBuffer};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, PageType, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ColumnChunkMetaData, LevelHistogram, PageEncodingStats};
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use crate::hybrid::{encode_indices, encode_levels, index_width};

/// Rows per data page at most: the `parquet` crate's default, so pages stay as they were.
pub const PAGE_ROWS: usize = 20_000;
/// Dictionary size after which later pages are `PLAIN` (the crate's default limit).
const DICTIONARY_LIMIT: usize = 1 << 20;
/// Bytes of `PLAIN` values per data page at most (the crate's default page size).
const PLAIN_PAGE_BYTES: usize = 1 << 20;
/// Rows taken at a time in `PLAIN` mode, between two checks of the page size.
const PLAIN_STEP: usize = 1024;

/// The zstd compressor of a file's pages.
pub struct Zstd {
    compressor: zstd::bulk::Compressor<'static>,
    level: ZstdLevel,
    out: Vec<u8>,
}

impl Zstd {
    pub fn new(level: i32) -> Result<Self> {
        Ok(Zstd {
            compressor: zstd::bulk::Compressor::new(level)?,
            level: ZstdLevel::try_new(level)?,
            out: Vec::new(),
        })
    }

    /// `raw` compressed, as the buffer of a page.
    fn compress(&mut self, raw: &[u8]) -> Result<Bytes> {
        self.out.clear();
        self.out.reserve(zstd::zstd_safe::compress_bound(raw.len()));
        self.compressor.compress_to_buffer(raw, &mut self.out)?;
        Ok(Bytes::copy_from_slice(&self.out))
    }

    fn compression(&self) -> Compression {
        Compression::ZSTD(self.level)
    }
}

/// Statistics of a column chunk with statistics enabled.
pub struct ChunkStatistics {
    pub statistics: Statistics,
    /// Bytes of the values of a byte-array column (the size statistics); None otherwise.
    pub unencoded_bytes: Option<i64>,
}

/// The page being gathered and the pages written so far, of one column chunk.
pub struct Pages {
    levels: BooleanBufferBuilder,
    /// Dictionary indices of the page's values (dictionary mode).
    pub indices: Vec<u32>,
    /// The page's values, `PLAIN`-encoded (once `plain_mode` is set).
    pub plain: Vec<u8>,
    /// Set once the dictionary has passed [`DICTIONARY_LIMIT`]: pages are `PLAIN` from then.
    pub plain_mode: bool,
    page_rows: usize,
    out: TrackedWrite<Vec<u8>>,
    rows: usize,
    nulls: usize,
    compressed: usize,
    uncompressed: usize,
    dictionary_pages: usize,
    plain_pages: usize,
    raw: Vec<u8>,
    /// The buffer of the last chunk handed out, back from the row group writer: chunks
    /// reuse their buffers from one row group to the next rather than have the
    /// allocator give pages back to the system and fault them in again (the CLI runs
    /// mimalloc with no purge delay).
    spare: Vec<u8>,
}

impl Default for Pages {
    fn default() -> Self {
        Pages {
            levels: BooleanBufferBuilder::new(PAGE_ROWS),
            indices: Vec::with_capacity(PAGE_ROWS),
            plain: Vec::new(),
            plain_mode: false,
            page_rows: 0,
            out: TrackedWrite::new(Vec::new()),
            rows: 0,
            nulls: 0,
            compressed: 0,
            uncompressed: 0,
            dictionary_pages: 0,
            plain_pages: 0,
            raw: Vec::new(),
            spare: Vec::new(),
        }
    }
}

impl Pages {
    /// How many rows to take next: what the page still holds (a short step in `PLAIN`
    /// mode, whose pages are limited by size).
    pub fn room(&self) -> usize {
        let step = if self.plain_mode {
            PLAIN_STEP
        } else {
            PAGE_ROWS
        };
        step.min(PAGE_ROWS - self.page_rows)
    }

    /// Records the definition levels of `rows` rows (`nulls`: their validity, None when
    /// all have a value). The caller then pushes their values and calls [`Pages::end_rows`].
    pub fn push_levels(&mut self, nulls: Option<&NullBuffer>, rows: usize) {
        match nulls {
            None => self.levels.append_n(rows, true),
            Some(nulls) => {
                self.levels
                    .append_packed_range(nulls.offset()..nulls.offset() + rows, nulls.validity());
                self.nulls += nulls.null_count();
            }
        }
        self.page_rows += rows;
        self.rows += rows;
    }

    /// Writes the page when it is full; `entries` and `dictionary_bytes` describe the
    /// dictionary so far.
    pub fn end_rows(
        &mut self,
        entries: usize,
        dictionary_bytes: usize,
        zstd: &mut Zstd,
    ) -> Result<()> {
        let full = self.page_rows == PAGE_ROWS
            || (self.plain_mode && self.plain.len() >= PLAIN_PAGE_BYTES);
        if full {
            self.flush(entries, dictionary_bytes, zstd)?;
        }
        Ok(())
    }

    /// Encodes, compresses and stores the page gathered so far.
    fn flush(&mut self, entries: usize, dictionary_bytes: usize, zstd: &mut Zstd) -> Result<()> {
        if self.page_rows == 0 {
            return Ok(());
        }
        let raw = &mut self.raw;
        raw.clear();
        raw.extend_from_slice(&[0; 4]);
        encode_levels(self.levels.as_slice(), self.page_rows, raw);
        let levels_len = (raw.len() - 4) as u32;
        raw[..4].copy_from_slice(&levels_len.to_le_bytes());
        let encoding = if self.plain_mode {
            raw.extend_from_slice(&self.plain);
            self.plain_pages += 1;
            Encoding::PLAIN
        } else {
            let width = index_width(entries);
            raw.push(width);
            encode_indices(&self.indices, width, raw);
            self.dictionary_pages += 1;
            Encoding::RLE_DICTIONARY
        };
        let page = Page::DataPage {
            buf: zstd.compress(raw)?,
            num_values: self.page_rows as u32,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        };
        let spec = SerializedPageWriter::new(&mut self.out)
            .write_page(CompressedPage::new(page, raw.len()))?;
        self.compressed += spec.compressed_size;
        self.uncompressed += spec.uncompressed_size;
        self.levels = BooleanBufferBuilder::new(PAGE_ROWS);
        self.indices.clear();
        self.plain.clear();
        self.page_rows = 0;
        if dictionary_bytes > DICTIONARY_LIMIT {
            self.plain_mode = true;
        }
        Ok(())
    }

    /// The chunk's bytes (the dictionary page first, `dictionary` holding its `PLAIN`
    /// content of `entries` values) and the metadata that describes them, for
    /// `SerializedRowGroupWriter::append_column`.
    ///
    /// The pages are then empty, ready for the column's next chunk; give the bytes back
    /// with [`Pages::recycle`] once they are written.
    pub fn close(
        &mut self,
        descr: ColumnDescPtr,
        dictionary: &[u8],
        entries: usize,
        statistics: Option<ChunkStatistics>,
        zstd: &mut Zstd,
    ) -> Result<(Bytes, ColumnCloseResult)> {
        self.flush(entries, dictionary.len(), zstd)?;
        let mut head = TrackedWrite::new(std::mem::take(&mut self.spare));
        let page = Page::DictionaryPage {
            buf: zstd.compress(dictionary)?,
            num_values: entries as u32,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        let spec = SerializedPageWriter::new(&mut head)
            .write_page(CompressedPage::new(page, dictionary.len()))?;
        let dictionary_len = spec.compressed_size as i64;
        let compressed = self.compressed + spec.compressed_size;
        let uncompressed = self.uncompressed + spec.uncompressed_size;
        let mut bytes = head.into_inner()?;
        let mut pages =
            std::mem::replace(&mut self.out, TrackedWrite::new(Vec::new())).into_inner()?;
        bytes.extend_from_slice(&pages);
        pages.clear();
        self.out = TrackedWrite::new(pages);

        let mut encodings = vec![Encoding::PLAIN, Encoding::RLE];
        let mut page_stats = vec![PageEncodingStats {
            page_type: PageType::DICTIONARY_PAGE,
            encoding: Encoding::PLAIN,
            count: 1,
        }];
        if self.dictionary_pages > 0 {
            encodings.push(Encoding::RLE_DICTIONARY);
            page_stats.push(PageEncodingStats {
                page_type: PageType::DATA_PAGE,
                encoding: Encoding::RLE_DICTIONARY,
                count: self.dictionary_pages as i32,
            });
        }
        if self.plain_pages > 0 {
            page_stats.push(PageEncodingStats {
                page_type: PageType::DATA_PAGE,
                encoding: Encoding::PLAIN,
                count: self.plain_pages as i32,
            });
        }
        let mut builder = ColumnChunkMetaData::builder(descr)
            .set_compression(zstd.compression())
            .set_encodings(encodings)
            .set_page_encoding_stats(page_stats)
            .set_total_compressed_size(compressed as i64)
            .set_total_uncompressed_size(uncompressed as i64)
            .set_num_values(self.rows as i64)
            .set_dictionary_page_offset(Some(0))
            .set_data_page_offset(dictionary_len);
        if let Some(stats) = statistics {
            builder = builder
                .set_statistics(stats.statistics)
                .set_unencoded_byte_array_data_bytes(stats.unencoded_bytes)
                .set_definition_level_histogram(Some(LevelHistogram::from(vec![
                    self.nulls as i64,
                    (self.rows - self.nulls) as i64,
                ])));
        }
        let metadata = builder.build()?;
        if metadata.compressed_size() != bytes.len() as i64 {
            return Err(ParquetError::General(format!(
                "column chunk of {} bytes described as {}",
                bytes.len(),
                metadata.compressed_size()
            )));
        }
        let close = ColumnCloseResult {
            bytes_written: compressed as u64,
            rows_written: self.rows as u64,
            metadata,
            bloom_filter: None,
            column_index: None,
            offset_index: None,
        };
        self.plain_mode = false;
        self.rows = 0;
        self.nulls = 0;
        self.compressed = 0;
        self.uncompressed = 0;
        self.dictionary_pages = 0;
        self.plain_pages = 0;
        Ok((Bytes::from(bytes), close))
    }

    /// Takes back the bytes of the last chunk (see [`Pages::close`]) for the next one.
    pub fn recycle(&mut self, bytes: Bytes) {
        if let Ok(buffer) = bytes.try_into_mut() {
            let mut buffer = Vec::from(buffer);
            buffer.clear();
            self.spare = buffer;
        }
    }

    /// Null rows so far.
    pub fn nulls(&self) -> usize {
        self.nulls
    }
}
