//! Parquet's RLE / bit-packing hybrid encoding, written from what the caller already has.
//!
//! The `parquet` crate's `RleEncoder` takes one value per call (definition levels and
//! dictionary indices alike): ~15% of the encoder's instructions on event batches. Here
//! definition levels come straight from an Arrow validity bitmap, whose bytes are already
//! bit-packed groups of 8 levels at bit width 1 (least significant bit first, as in
//! Parquet), and runs of all-valid or all-null bytes become RLE runs; dictionary indices are
//! packed 8 at a time, with an RLE run wherever at least 8 equal indices start a group.
#![forbid(unsafe_code)]

/// Appends `value` as an unsigned LEB128 varint (the hybrid encoding's run headers).
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends an RLE run: `count` times `value`, stored in `ceil(width / 8)` bytes.
fn put_rle_run(out: &mut Vec<u8>, count: usize, value: u32, width: u8) {
    put_varint(out, (count as u64) << 1);
    let bytes = usize::from(width).div_ceil(8);
    out.extend_from_slice(&value.to_le_bytes()[..bytes]);
}

/// Whether validity byte `byte` is 8 equal levels (all valid or all null).
fn uniform(byte: u8) -> bool {
    byte == 0 || byte == 0xFF
}

/// Appends the definition levels of `rows` rows (bit width 1, max level 1), taken from a
/// validity bitmap whose bit `i` (least significant first) is set when row `i` has a value.
///
/// Two or more equal uniform bytes in a row become one RLE run (a whole page of an
/// all-valid or all-null column is a single run); everything else is copied as bit-packed
/// groups. Bits of the last byte past `rows` are cleared: padding of the last group.
pub fn encode_levels(validity: &[u8], rows: usize, out: &mut Vec<u8>) {
    let full = rows / 8;
    let tail = rows % 8;
    let total = rows.div_ceil(8);
    let tail_mask = ((1u16 << tail) - 1) as u8;
    let byte = |k: usize| {
        if k == full {
            validity[k] & tail_mask
        } else {
            validity[k]
        }
    };
    let run_starts =
        |k: usize| k + 1 < full && uniform(validity[k]) && validity[k + 1] == validity[k];
    let mut i = 0;
    while i < total {
        if run_starts(i) {
            let b = validity[i];
            let mut j = i + 2;
            while j < full && validity[j] == b {
                j += 1;
            }
            let mut count = (j - i) * 8;
            if j == full && tail > 0 && byte(full) == b & tail_mask {
                count += tail;
                j = total;
            }
            put_rle_run(out, count, u32::from(b & 1), 1);
            i = j;
        } else {
            let start = i;
            i += 1;
            while i < total && !run_starts(i) {
                i += 1;
            }
            put_varint(out, (((i - start) as u64) << 1) | 1);
            out.extend((start..i).map(byte));
        }
    }
}

/// The bit width that holds every index below `entries` (at least 1, so that no reader
/// meets the zero-width corner case).
pub fn index_width(entries: usize) -> u8 {
    let max = entries.saturating_sub(1) as u64;
    (64 - max.leading_zeros()).max(1) as u8
}

/// Appends `values` (each below `1 << width`, `width` ≤ 32) in the hybrid encoding, without
/// the bit-width byte of dictionary data pages (the caller writes it).
pub fn encode_indices(values: &[u32], width: u8, out: &mut Vec<u8>) {
    let n = values.len();
    let run_len = |i: usize| {
        let v = values[i];
        values[i..].iter().take_while(|x| **x == v).count()
    };
    let mut i = 0;
    while i < n {
        let run = run_len(i);
        if run >= 8 {
            put_rle_run(out, run, values[i], width);
            i += run;
            continue;
        }
        // Bit-packed groups of 8 until a group starts with a run worth an RLE run.
        let start = i;
        loop {
            i += 8;
            if i >= n {
                i = n;
                break;
            }
            if run_len(i) >= 8 {
                break;
            }
        }
        let groups = (i - start).div_ceil(8);
        put_varint(out, ((groups as u64) << 1) | 1);
        bit_pack(&values[start..i], width, groups * usize::from(width), out);
    }
}

/// Packs `values` at `width` bits each, least significant bit first, into exactly `bytes`
/// bytes (the last group is padded with zeros).
fn bit_pack(values: &[u32], width: u8, bytes: usize, out: &mut Vec<u8>) {
    let end = out.len() + bytes;
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    for &v in values {
        acc |= u64::from(v) << bits;
        bits += u32::from(width);
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    while out.len() < end {
        out.push(acc as u8);
        acc >>= 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes the hybrid encoding (a reference implementation of the format).
    fn decode(mut data: &[u8], width: u8, count: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let varint = |data: &mut &[u8]| {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let b = data[0];
                *data = &data[1..];
                v |= u64::from(b & 0x7F) << shift;
                shift += 7;
                if b < 0x80 {
                    return v;
                }
            }
        };
        while out.len() < count {
            let header = varint(&mut data);
            if header & 1 == 0 {
                let bytes = usize::from(width).div_ceil(8);
                let mut v = [0u8; 4];
                v[..bytes].copy_from_slice(&data[..bytes]);
                data = &data[bytes..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(v),
                    (header >> 1) as usize,
                ));
            } else {
                let values = (header >> 1) as usize * 8;
                let bytes = (header >> 1) as usize * usize::from(width);
                let packed = &data[..bytes];
                data = &data[bytes..];
                for k in 0..values {
                    let mut v = 0u32;
                    for b in 0..usize::from(width) {
                        let bit = k * usize::from(width) + b;
                        v |= u32::from((packed[bit / 8] >> (bit % 8)) & 1) << b;
                    }
                    out.push(v);
                }
            }
        }
        assert!(data.is_empty(), "trailing bytes");
        out.truncate(count);
        out
    }

    fn bits(levels: &[bool]) -> Vec<u8> {
        let mut v = vec![0u8; levels.len().div_ceil(8)];
        for (i, l) in levels.iter().enumerate() {
            if *l {
                v[i / 8] |= 1 << (i % 8);
            }
        }
        v
    }

    /// A deterministic pseudo-random sequence (no dependency for a test).
    fn noise(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn levels_round_trip() {
        let mut seed = 42;
        for rows in [0, 1, 7, 8, 9, 15, 16, 17, 64, 100, 1000, 20_000] {
            for density in [0u64, 1, 50, 99, 100] {
                let levels: Vec<bool> = (0..rows)
                    .map(|i| match density {
                        0 => false,
                        100 => true,
                        // Long runs and noise, both.
                        _ if (i / 300) % 2 == 0 => noise(&mut seed) % 100 < density,
                        _ => i % 2000 < 1000,
                    })
                    .collect();
                let mut out = Vec::new();
                encode_levels(&bits(&levels), rows, &mut out);
                let decoded = decode(&out, 1, rows);
                let expected: Vec<u32> = levels.iter().map(|l| u32::from(*l)).collect();
                assert_eq!(decoded, expected, "rows {rows} density {density}");
            }
        }
    }

    #[test]
    fn all_valid_page_is_one_run() {
        let mut out = Vec::new();
        encode_levels(&[0xFF; 2500], 20_000, &mut out);
        assert_eq!(out.len(), 4);
        let mut out = Vec::new();
        encode_levels(&[0xFF, 0xFF, 0x07], 19, &mut out);
        assert_eq!(decode(&out, 1, 19), vec![1; 19]);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn indices_round_trip() {
        let mut seed = 7;
        for n in [0, 1, 5, 8, 9, 16, 33, 1000, 5000] {
            for entries in [1usize, 2, 3, 200, 70_000, 1 << 31] {
                let width = index_width(entries);
                let values: Vec<u32> = (0..n)
                    .map(|i| {
                        let v = if (i / 50) % 3 == 0 {
                            (i / 20) as u64
                        } else {
                            noise(&mut seed)
                        };
                        (v % entries as u64) as u32
                    })
                    .collect();
                let mut out = Vec::new();
                encode_indices(&values, width, &mut out);
                assert_eq!(decode(&out, width, n), values, "n {n} entries {entries}");
            }
        }
    }

    #[test]
    fn widths() {
        assert_eq!(index_width(0), 1);
        assert_eq!(index_width(1), 1);
        assert_eq!(index_width(2), 1);
        assert_eq!(index_width(3), 2);
        assert_eq!(index_width(256), 8);
        assert_eq!(index_width(257), 9);
    }
}
