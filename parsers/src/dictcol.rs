//! Column chunks of the event schema's string columns, dictionary-encoded by hand.
//!
//! The `parquet` crate's Arrow writer spends most of its time on string columns: a hash of
//! every value with a seeded hasher, a dictionary index pushed value by value through its
//! RLE encoder, and definition levels built and encoded one row at a time. The event
//! columns are short strings that mostly repeat (a few dozen kinds, rules and restrictions,
//! one host, one source), so here each value is compared with the previous one, then looked
//! up in an Fx hash map; definition levels are encoded from the Arrow validity bitmap
//! (`hybrid.rs`), and min/max statistics are updated only when a new dictionary entry is
//! added. The pages are the Arrow writer's: data page v1, 20,000 rows at most, RLE levels,
//! `RLE_DICTIONARY` values, a `PLAIN` dictionary page first, falling back to `PLAIN` data
//! pages once the dictionary passes 1 MiB; zstd on every page.
#![forbid(unsafe_code)]

use std::collections::HashMap;

use arrow_array::{Array, StringArray};
use arrow_buffer::BooleanBufferBuilder;
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, PageType, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::{ColumnChunkMetaData, LevelHistogram, PageEncodingStats};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;
use rustc_hash::FxBuildHasher;

use crate::hybrid::{encode_indices, encode_levels, index_width};

/// Rows per data page at most: the `parquet` crate's default, so pages stay as they were.
pub const PAGE_ROWS: usize = 20_000;
/// Dictionary size after which later pages are `PLAIN` (the crate's default limit).
const DICTIONARY_LIMIT: usize = 1 << 20;
/// Bytes of `PLAIN` values per data page at most (the crate's default page size).
const PLAIN_PAGE_BYTES: usize = 1 << 20;
/// Rows encoded at a time in `PLAIN` mode, between two checks of the page size.
const PLAIN_STEP: usize = 1024;

/// The zstd compressor of a file's pages, level 1 as in the rest of the file.
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

    pub fn compression(&self) -> Compression {
        Compression::ZSTD(self.level)
    }
}

/// The min and max of a column chunk's values (byte order, as Parquet sorts UTF-8).
#[derive(Default)]
struct MinMax {
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
}

impl MinMax {
    fn update(&mut self, value: &[u8]) {
        if self.min.as_deref().is_none_or(|m| value < m) {
            self.min = Some(value.to_vec());
        }
        if self.max.as_deref().is_none_or(|m| value > m) {
            self.max = Some(value.to_vec());
        }
    }
}

/// One string column chunk (a row group's worth of one column) being encoded.
pub struct DictChunk {
    descr: ColumnDescPtr,
    statistics: bool,
    /// Dictionary entries: value to index.
    index: HashMap<Box<[u8]>, u32, FxBuildHasher>,
    /// The dictionary page's `PLAIN` content (4-byte length, bytes; per entry).
    dictionary: Vec<u8>,
    /// Where each entry's bytes are in `dictionary`.
    spans: Vec<(usize, usize)>,
    /// The index of the last value looked up: a repeated value skips the hash.
    last: Option<u32>,
    /// Set once the dictionary has passed [`DICTIONARY_LIMIT`]: pages are `PLAIN` from then.
    plain_mode: bool,
    // The page being gathered.
    levels: BooleanBufferBuilder,
    indices: Vec<u32>,
    plain: Vec<u8>,
    page_rows: usize,
    // The chunk so far.
    pages: TrackedWrite<Vec<u8>>,
    rows: usize,
    nulls: usize,
    value_bytes: usize,
    min_max: MinMax,
    compressed: usize,
    uncompressed: usize,
    dictionary_pages: usize,
    plain_pages: usize,
    raw: Vec<u8>,
}

impl DictChunk {
    /// A chunk of the column `descr`; `statistics`: min/max, null count and size
    /// statistics in the column chunk's metadata.
    pub fn new(descr: ColumnDescPtr, statistics: bool) -> Self {
        DictChunk {
            descr,
            statistics,
            index: HashMap::default(),
            dictionary: Vec::new(),
            spans: Vec::new(),
            last: None,
            plain_mode: false,
            levels: BooleanBufferBuilder::new(PAGE_ROWS),
            indices: Vec::with_capacity(PAGE_ROWS),
            plain: Vec::new(),
            page_rows: 0,
            pages: TrackedWrite::new(Vec::new()),
            rows: 0,
            nulls: 0,
            value_bytes: 0,
            min_max: MinMax::default(),
            compressed: 0,
            uncompressed: 0,
            dictionary_pages: 0,
            plain_pages: 0,
            raw: Vec::new(),
        }
    }

    /// Appends the rows of `array`, writing each page as it fills up.
    pub fn write(&mut self, array: &StringArray, zstd: &mut Zstd) -> Result<()> {
        let mut done = 0;
        while done < array.len() {
            let step = if self.plain_mode {
                PLAIN_STEP
            } else {
                PAGE_ROWS
            };
            let take = (array.len() - done)
                .min(step)
                .min(PAGE_ROWS - self.page_rows);
            self.append(&array.slice(done, take));
            done += take;
            let full = self.page_rows == PAGE_ROWS
                || (self.plain_mode && self.plain.len() >= PLAIN_PAGE_BYTES);
            if full {
                self.flush_page(zstd)?;
            }
        }
        Ok(())
    }

    fn append(&mut self, array: &StringArray) {
        let rows = array.len();
        let offsets = array.value_offsets();
        let data = array.value_data();
        let value = |i: usize| &data[offsets[i] as usize..offsets[i + 1] as usize];
        match array.nulls() {
            None => {
                self.levels.append_n(rows, true);
                for i in 0..rows {
                    self.push_value(value(i));
                }
            }
            Some(nulls) => {
                self.levels
                    .append_packed_range(nulls.offset()..nulls.offset() + rows, nulls.validity());
                self.nulls += nulls.null_count();
                for i in nulls.valid_indices() {
                    self.push_value(value(i));
                }
            }
        }
        self.page_rows += rows;
        self.rows += rows;
    }

    fn push_value(&mut self, value: &[u8]) {
        self.value_bytes += value.len();
        if self.plain_mode {
            self.plain
                .extend_from_slice(&(value.len() as u32).to_le_bytes());
            self.plain.extend_from_slice(value);
            if self.statistics {
                self.min_max.update(value);
            }
            return;
        }
        let repeated = self.last.filter(|last| {
            let (start, len) = self.spans[*last as usize];
            self.dictionary[start..start + len] == *value
        });
        let index = match repeated {
            Some(index) => index,
            None => {
                let index = self.intern(value);
                self.last = Some(index);
                index
            }
        };
        self.indices.push(index);
    }

    fn intern(&mut self, value: &[u8]) -> u32 {
        if let Some(index) = self.index.get(value) {
            return *index;
        }
        let index = self.index.len() as u32;
        self.index.insert(value.into(), index);
        self.dictionary
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.spans.push((self.dictionary.len(), value.len()));
        self.dictionary.extend_from_slice(value);
        if self.statistics {
            self.min_max.update(value);
        }
        index
    }

    /// Encodes, compresses and stores the page gathered so far.
    fn flush_page(&mut self, zstd: &mut Zstd) -> Result<()> {
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
            let width = index_width(self.index.len());
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
        let spec = SerializedPageWriter::new(&mut self.pages)
            .write_page(CompressedPage::new(page, raw.len()))?;
        self.compressed += spec.compressed_size;
        self.uncompressed += spec.uncompressed_size;
        self.levels = BooleanBufferBuilder::new(PAGE_ROWS);
        self.indices.clear();
        self.plain.clear();
        self.page_rows = 0;
        if self.dictionary.len() > DICTIONARY_LIMIT {
            self.plain_mode = true;
        }
        Ok(())
    }

    /// The chunk's bytes (dictionary page first) and the metadata that describes them,
    /// for `SerializedRowGroupWriter::append_column`.
    pub fn close(mut self, zstd: &mut Zstd) -> Result<(Bytes, ColumnCloseResult)> {
        self.flush_page(zstd)?;
        let mut head = TrackedWrite::new(Vec::new());
        let page = Page::DictionaryPage {
            buf: zstd.compress(&self.dictionary)?,
            num_values: self.index.len() as u32,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        let spec = SerializedPageWriter::new(&mut head)
            .write_page(CompressedPage::new(page, self.dictionary.len()))?;
        let dictionary_len = spec.compressed_size as i64;
        let compressed = self.compressed + spec.compressed_size;
        let uncompressed = self.uncompressed + spec.uncompressed_size;
        let mut bytes = head.into_inner()?;
        bytes.extend_from_slice(&self.pages.into_inner()?);

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
        let mut builder = ColumnChunkMetaData::builder(self.descr.clone())
            .set_compression(zstd.compression())
            .set_encodings(encodings)
            .set_page_encoding_stats(page_stats)
            .set_total_compressed_size(compressed as i64)
            .set_total_uncompressed_size(uncompressed as i64)
            .set_num_values(self.rows as i64)
            .set_dictionary_page_offset(Some(0))
            .set_data_page_offset(dictionary_len);
        if self.statistics {
            let stats = ValueStatistics::<ByteArray>::new(
                self.min_max.min.map(ByteArray::from),
                self.min_max.max.map(ByteArray::from),
                None,
                Some(self.nulls as u64),
                false,
            );
            builder = builder
                .set_statistics(Statistics::ByteArray(stats))
                .set_unencoded_byte_array_data_bytes(Some(self.value_bytes as i64))
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
        Ok((Bytes::from(bytes), close))
    }
}
