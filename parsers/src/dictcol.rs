//! Column chunks of the event schema's dictionary-encoded columns, encoded by hand.
//!
//! The `parquet` crate's Arrow writer spent most of its time on these: a seeded hash of
//! every value, a dictionary index pushed value by value through its RLE encoder, and
//! definition levels built and encoded one row at a time. Event values mostly repeat (a
//! few dozen kinds, rules and restrictions, one host, one source, a few SMTP codes), so
//! here each value is compared with the previous one, then looked up in an Fx hash map;
//! min/max statistics are updated only when a new dictionary entry is added (or per value
//! in `PLAIN` mode). Levels and pages are `pages.rs`.
#![forbid(unsafe_code)]

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, StringArray};
use bytes::Bytes;
use parquet::basic::Type as PhysicalType;
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::statistics::{Statistics, ValueStatistics};
use parquet::schema::types::ColumnDescPtr;
use rustc_hash::FxBuildHasher;

use crate::pages::{ChunkStatistics, Pages, Zstd};

/// `value` with its length in one integer, when it has at most 15 bytes.
#[inline(always)]
fn pack(value: &[u8]) -> Option<u128> {
    if value.len() > 15 {
        return None;
    }
    let mut bytes = [0u8; 16];
    bytes[..value.len()].copy_from_slice(value);
    bytes[15] = value.len() as u8;
    Some(u128::from_le_bytes(bytes))
}

/// One string column chunk (a row group's worth of one column) being encoded.
pub struct StringChunk {
    descr: ColumnDescPtr,
    statistics: bool,
    pages: Pages,
    /// Dictionary entries of up to 15 bytes (most event values: kinds, rules' constants,
    /// addresses, queue ids), keyed by their bytes and length packed in an integer: no
    /// allocation, one multiplication to hash, one comparison to match.
    short: HashMap<u128, u32, FxBuildHasher>,
    /// Longer entries.
    long: HashMap<Box<[u8]>, u32, FxBuildHasher>,
    /// The dictionary page's `PLAIN` content (4-byte length, bytes; per entry).
    dictionary: Vec<u8>,
    /// Where each entry's bytes are in `dictionary`.
    spans: Vec<(usize, usize)>,
    /// The last value looked up, packed when short, and its index: a repeated value
    /// skips the hash.
    last: Option<(Option<u128>, u32)>,
    value_bytes: usize,
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
}

impl StringChunk {
    /// A chunk of the column `descr`; `statistics`: min/max, null count and size
    /// statistics in the column chunk's metadata.
    pub fn new(descr: ColumnDescPtr, statistics: bool) -> Self {
        StringChunk {
            descr,
            statistics,
            pages: Pages::default(),
            short: HashMap::default(),
            long: HashMap::default(),
            dictionary: Vec::new(),
            spans: Vec::new(),
            last: None,
            value_bytes: 0,
            min: None,
            max: None,
        }
    }

    /// Appends the rows of `array`, writing each page as it fills up.
    pub fn write(&mut self, array: &StringArray, zstd: &mut Zstd) -> Result<()> {
        let mut done = 0;
        while done < array.len() {
            let take = (array.len() - done).min(self.pages.room());
            let part = array.slice(done, take);
            self.pages.push_levels(part.nulls(), take);
            let offsets = part.value_offsets();
            let data = part.value_data();
            let value = |i: usize| &data[offsets[i] as usize..offsets[i + 1] as usize];
            match part.nulls() {
                None => (0..take).for_each(|i| self.push_value(value(i))),
                Some(nulls) => nulls
                    .valid_indices()
                    .for_each(|i| self.push_value(value(i))),
            }
            done += take;
            self.pages
                .end_rows(self.spans.len(), self.dictionary.len(), zstd)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn push_value(&mut self, value: &[u8]) {
        self.value_bytes += value.len();
        if self.pages.plain_mode {
            let plain = &mut self.pages.plain;
            plain.extend_from_slice(&(value.len() as u32).to_le_bytes());
            plain.extend_from_slice(value);
            self.update_min_max(value);
            return;
        }
        let packed = pack(value);
        let repeated = match (self.last, packed) {
            (Some((Some(last), index)), Some(key)) if last == key => Some(index),
            (Some((None, index)), None) => {
                let (start, len) = self.spans[index as usize];
                (self.dictionary[start..start + len] == *value).then_some(index)
            }
            _ => None,
        };
        let index = match repeated {
            Some(index) => index,
            None => {
                let found = match packed {
                    Some(key) => self.short.get(&key),
                    None => self.long.get(value),
                };
                let index = match found {
                    Some(index) => *index,
                    None => self.add_entry(value, packed),
                };
                self.last = Some((packed, index));
                index
            }
        };
        self.pages.indices.push(index);
    }

    fn add_entry(&mut self, value: &[u8], packed: Option<u128>) -> u32 {
        let index = self.spans.len() as u32;
        match packed {
            Some(key) => self.short.insert(key, index),
            None => self.long.insert(value.into(), index),
        };
        self.dictionary
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.spans.push((self.dictionary.len(), value.len()));
        self.dictionary.extend_from_slice(value);
        self.update_min_max(value);
        index
    }

    /// Min and max in byte order, as Parquet sorts UTF-8.
    fn update_min_max(&mut self, value: &[u8]) {
        if !self.statistics {
            return;
        }
        if self.min.as_deref().is_none_or(|m| value < m) {
            self.min = Some(value.to_vec());
        }
        if self.max.as_deref().is_none_or(|m| value > m) {
            self.max = Some(value.to_vec());
        }
    }

    /// The chunk's bytes and metadata (see [`Pages::close`]); the chunk is then empty,
    /// ready for the column's next row group.
    pub fn close(&mut self, zstd: &mut Zstd) -> Result<(Bytes, ColumnCloseResult)> {
        let statistics = self.statistics.then(|| ChunkStatistics {
            statistics: Statistics::ByteArray(ValueStatistics::new(
                self.min.take().map(ByteArray::from),
                self.max.take().map(ByteArray::from),
                None,
                Some(self.pages.nulls() as u64),
                false,
            )),
            unencoded_bytes: Some(self.value_bytes as i64),
        });
        let closed = self.pages.close(
            self.descr.clone(),
            &self.dictionary,
            self.spans.len(),
            statistics,
            zstd,
        );
        self.short.clear();
        self.long.clear();
        self.dictionary.clear();
        self.spans.clear();
        self.last = None;
        self.value_bytes = 0;
        self.min = None;
        self.max = None;
        closed
    }

    /// Takes back the bytes `close` gave once they are written.
    pub fn recycle(&mut self, bytes: Bytes) {
        self.pages.recycle(bytes);
    }
}

/// One number column chunk: `INT32` (Arrow Int16 and Int32), `INT64` or `DOUBLE`.
///
/// Values are keyed by their bits (integers sign-extended to 64), as the crate's
/// dictionary keys them by their bytes: -0.0 and 0.0 are two entries, as there.
pub struct NumberChunk {
    descr: ColumnDescPtr,
    statistics: bool,
    physical: PhysicalType,
    pages: Pages,
    index: HashMap<u64, u32, FxBuildHasher>,
    dictionary: Vec<u8>,
    entries: usize,
    last: Option<(u64, u32)>,
    /// The values of the slice being appended, as keys.
    keys: Vec<u64>,
    min: Option<u64>,
    max: Option<u64>,
}

impl NumberChunk {
    /// A chunk of the column `descr`, whose physical type must be INT32, INT64 or DOUBLE.
    pub fn new(descr: ColumnDescPtr, statistics: bool) -> Result<Self> {
        let physical = descr.physical_type();
        if !matches!(
            physical,
            PhysicalType::INT32 | PhysicalType::INT64 | PhysicalType::DOUBLE
        ) {
            return Err(ParquetError::General(format!(
                "no number chunk for {physical} column {}",
                descr.name()
            )));
        }
        Ok(NumberChunk {
            descr,
            statistics,
            physical,
            pages: Pages::default(),
            index: HashMap::default(),
            dictionary: Vec::new(),
            entries: 0,
            last: None,
            keys: Vec::new(),
            min: None,
            max: None,
        })
    }

    /// Appends the rows of `array` (Int16, Int32, Int64 or Float64), writing each page as
    /// it fills up.
    pub fn write(&mut self, array: &ArrayRef, zstd: &mut Zstd) -> Result<()> {
        let mut done = 0;
        while done < array.len() {
            let take = (array.len() - done).min(self.pages.room());
            let part = array.slice(done, take);
            self.fill_keys(&part)?;
            self.pages.push_levels(part.nulls(), take);
            let keys = std::mem::take(&mut self.keys);
            match part.nulls() {
                None => keys.iter().for_each(|k| self.push_value(*k)),
                Some(nulls) => nulls.valid_indices().for_each(|i| self.push_value(keys[i])),
            }
            self.keys = keys;
            done += take;
            self.pages
                .end_rows(self.entries, self.dictionary.len(), zstd)?;
        }
        Ok(())
    }

    /// The keys of every row of `array` (null rows included: their slot holds garbage).
    fn fill_keys(&mut self, array: &ArrayRef) -> Result<()> {
        self.keys.clear();
        let keys = &mut self.keys;
        let expected = match (array.data_type(), self.physical) {
            (arrow_schema::DataType::Int16, PhysicalType::INT32) => {
                let values = array.as_primitive::<Int16Type>().values();
                keys.extend(values.iter().map(|v| i64::from(*v) as u64));
                true
            }
            (arrow_schema::DataType::Int32, PhysicalType::INT32) => {
                let values = array.as_primitive::<Int32Type>().values();
                keys.extend(values.iter().map(|v| i64::from(*v) as u64));
                true
            }
            (arrow_schema::DataType::Int64, PhysicalType::INT64) => {
                let values = array.as_primitive::<Int64Type>().values();
                keys.extend(values.iter().map(|v| *v as u64));
                true
            }
            (arrow_schema::DataType::Float64, PhysicalType::DOUBLE) => {
                let values = array.as_primitive::<Float64Type>().values();
                keys.extend(values.iter().map(|v| v.to_bits()));
                true
            }
            _ => false,
        };
        if expected {
            Ok(())
        } else {
            Err(ParquetError::General(format!(
                "{} array for the {} column {}",
                array.data_type(),
                self.physical,
                self.descr.name()
            )))
        }
    }

    /// The `PLAIN` encoding of a key.
    fn put_plain(physical: PhysicalType, key: u64, out: &mut Vec<u8>) {
        if physical == PhysicalType::INT32 {
            out.extend_from_slice(&(key as i64 as i32).to_le_bytes());
        } else {
            out.extend_from_slice(&key.to_le_bytes());
        }
    }

    fn push_value(&mut self, key: u64) {
        if self.pages.plain_mode {
            Self::put_plain(self.physical, key, &mut self.pages.plain);
            self.update_min_max(key);
            return;
        }
        let index = match self.last {
            Some((last, index)) if last == key => index,
            _ => {
                let index = self.intern(key);
                self.last = Some((key, index));
                index
            }
        };
        self.pages.indices.push(index);
    }

    fn intern(&mut self, key: u64) -> u32 {
        if let Some(index) = self.index.get(&key) {
            return *index;
        }
        let index = self.entries as u32;
        self.index.insert(key, index);
        self.entries += 1;
        Self::put_plain(self.physical, key, &mut self.dictionary);
        self.update_min_max(key);
        index
    }

    /// Signed order for integers; doubles in numeric order, NaN left out (as the crate).
    fn update_min_max(&mut self, key: u64) {
        if !self.statistics {
            return;
        }
        let greater = |a: u64, b: u64| match self.physical {
            PhysicalType::DOUBLE => f64::from_bits(a) > f64::from_bits(b),
            _ => (a as i64) > (b as i64),
        };
        if self.physical == PhysicalType::DOUBLE && f64::from_bits(key).is_nan() {
            return;
        }
        if self.min.is_none_or(|m| greater(m, key)) {
            self.min = Some(key);
        }
        if self.max.is_none_or(|m| greater(key, m)) {
            self.max = Some(key);
        }
    }

    /// The statistics the crate writes for this column: min/max (old and new fields, the
    /// sort order being signed), null count; a zero min is -0.0 and a zero max +0.0.
    fn chunk_statistics(&self) -> Statistics {
        let nulls = Some(self.pages.nulls() as u64);
        match self.physical {
            PhysicalType::INT32 => Statistics::Int32(
                ValueStatistics::new(
                    self.min.map(|k| k as i64 as i32),
                    self.max.map(|k| k as i64 as i32),
                    None,
                    nulls,
                    false,
                )
                .with_backwards_compatible_min_max(true),
            ),
            PhysicalType::INT64 => Statistics::Int64(
                ValueStatistics::new(
                    self.min.map(|k| k as i64),
                    self.max.map(|k| k as i64),
                    None,
                    nulls,
                    false,
                )
                .with_backwards_compatible_min_max(true),
            ),
            _ => {
                let zero_as = |k: u64, zero: f64| {
                    let v = f64::from_bits(k);
                    if v == 0.0 {
                        zero
                    } else {
                        v
                    }
                };
                Statistics::Double(
                    ValueStatistics::new(
                        self.min.map(|k| zero_as(k, -0.0)),
                        self.max.map(|k| zero_as(k, 0.0)),
                        None,
                        nulls,
                        false,
                    )
                    .with_backwards_compatible_min_max(true),
                )
            }
        }
    }

    /// The chunk's bytes and metadata (see [`Pages::close`]); the chunk is then empty,
    /// ready for the column's next row group.
    pub fn close(&mut self, zstd: &mut Zstd) -> Result<(Bytes, ColumnCloseResult)> {
        let statistics = self.statistics.then(|| ChunkStatistics {
            statistics: self.chunk_statistics(),
            unencoded_bytes: None,
        });
        let closed = self.pages.close(
            self.descr.clone(),
            &self.dictionary,
            self.entries,
            statistics,
            zstd,
        );
        self.index.clear();
        self.dictionary.clear();
        self.entries = 0;
        self.last = None;
        self.min = None;
        self.max = None;
        closed
    }

    /// Takes back the bytes `close` gave once they are written.
    pub fn recycle(&mut self, bytes: Bytes) {
        self.pages.recycle(bytes);
    }
}
