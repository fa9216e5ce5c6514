//! The event schema and the Arrow builders that collect events into a record batch.
//!
//! The column list is the contract documented in the README ("The event schema"): reports,
//! notebooks and users' own queries depend on it, so columns are only ever added, never renamed.
#![forbid(unsafe_code)]

use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};

/// The storage type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Timestamp,
    Str,
    I16,
    I32,
    I64,
    F64,
}

/// Every column of the event schema, in schema order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    Ts,
    Host,
    Program,
    Instance,
    Pid,
    Kind,
    Layer,
    Restriction,
    Action,
    Stage,
    SmtpCode,
    Dsn,
    ClientName,
    ClientIp,
    ClientPort,
    Helo,
    Sender,
    Recipient,
    Proto,
    RblZone,
    QueueId,
    Size,
    Nrcpt,
    Delay,
    Detail,
    Rule,
    Source,
    LineNo,
}

pub const COLUMN_COUNT: usize = 28;

pub const ALL_COLUMNS: [Column; COLUMN_COUNT] = [
    Column::Ts,
    Column::Host,
    Column::Program,
    Column::Instance,
    Column::Pid,
    Column::Kind,
    Column::Layer,
    Column::Restriction,
    Column::Action,
    Column::Stage,
    Column::SmtpCode,
    Column::Dsn,
    Column::ClientName,
    Column::ClientIp,
    Column::ClientPort,
    Column::Helo,
    Column::Sender,
    Column::Recipient,
    Column::Proto,
    Column::RblZone,
    Column::QueueId,
    Column::Size,
    Column::Nrcpt,
    Column::Delay,
    Column::Detail,
    Column::Rule,
    Column::Source,
    Column::LineNo,
];

impl Column {
    pub fn name(self) -> &'static str {
        match self {
            Column::Ts => "ts",
            Column::Host => "host",
            Column::Program => "program",
            Column::Instance => "instance",
            Column::Pid => "pid",
            Column::Kind => "kind",
            Column::Layer => "layer",
            Column::Restriction => "restriction",
            Column::Action => "action",
            Column::Stage => "stage",
            Column::SmtpCode => "smtp_code",
            Column::Dsn => "dsn",
            Column::ClientName => "client_name",
            Column::ClientIp => "client_ip",
            Column::ClientPort => "client_port",
            Column::Helo => "helo",
            Column::Sender => "sender",
            Column::Recipient => "recipient",
            Column::Proto => "proto",
            Column::RblZone => "rbl_zone",
            Column::QueueId => "queue_id",
            Column::Size => "size",
            Column::Nrcpt => "nrcpt",
            Column::Delay => "delay",
            Column::Detail => "detail",
            Column::Rule => "rule",
            Column::Source => "source",
            Column::LineNo => "line_no",
        }
    }

    pub fn column_type(self) -> ColumnType {
        match self {
            Column::Ts => ColumnType::Timestamp,
            Column::Pid | Column::ClientPort | Column::Nrcpt => ColumnType::I32,
            Column::SmtpCode => ColumnType::I16,
            Column::Size | Column::LineNo => ColumnType::I64,
            Column::Delay => ColumnType::F64,
            _ => ColumnType::Str,
        }
    }

    pub fn from_name(name: &str) -> Option<Column> {
        ALL_COLUMNS.iter().copied().find(|c| c.name() == name)
    }

    /// Columns a rule may fill from a capture group, a constant or a key=value field.
    /// The envelope and provenance columns belong to the input adapter.
    pub fn is_rule_settable(self) -> bool {
        !matches!(
            self,
            Column::Ts
                | Column::Host
                | Column::Program
                | Column::Instance
                | Column::Pid
                | Column::Rule
                | Column::Source
                | Column::LineNo
        )
    }
}

pub fn schema() -> SchemaRef {
    let fields: Vec<Field> = ALL_COLUMNS
        .iter()
        .map(|c| {
            let data_type = match c.column_type() {
                ColumnType::Timestamp => {
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                }
                ColumnType::Str => DataType::Utf8,
                ColumnType::I16 => DataType::Int16,
                ColumnType::I32 => DataType::Int32,
                ColumnType::I64 => DataType::Int64,
                ColumnType::F64 => DataType::Float64,
            };
            Field::new(c.name(), data_type, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// A value of one cell of an event, borrowed from the line or from the rule catalogue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Str(&'a str),
    Int(i64),
    Float(f64),
}

/// One event under construction: a cell per column, and which cells were set (an event
/// fills about a third of the columns; collecting it skips the others).
#[derive(Clone, Debug)]
pub struct Event<'a> {
    cells: [Value<'a>; COLUMN_COUNT],
    filled: u32,
}

impl<'a> Default for Event<'a> {
    fn default() -> Self {
        Event {
            cells: [Value::Null; COLUMN_COUNT],
            filled: 0,
        }
    }
}

impl<'a> Event<'a> {
    pub fn set(&mut self, column: Column, value: Value<'a>) {
        self.cells[column as usize] = value;
        self.filled |= 1 << column as u32;
    }

    pub fn set_str(&mut self, column: Column, value: &'a str) {
        self.set(column, Value::Str(value));
    }

    pub fn set_opt_str(&mut self, column: Column, value: Option<&'a str>) {
        if let Some(v) = value {
            self.set_str(column, v);
        }
    }

    pub fn set_int(&mut self, column: Column, value: i64) {
        self.set(column, Value::Int(value));
    }

    pub fn get(&self, column: Column) -> Value<'a> {
        self.cells[column as usize]
    }

    pub fn is_null(&self, column: Column) -> bool {
        matches!(self.cells[column as usize], Value::Null)
    }

    /// Sets a column from text, converting to the column's type; text that does not
    /// convert (e.g. a port that is not a number) leaves the cell null rather than failing.
    pub fn set_text(&mut self, column: Column, text: &'a str) {
        let value = match column.column_type() {
            ColumnType::Str => Value::Str(text),
            ColumnType::I16 | ColumnType::I32 | ColumnType::I64 => {
                match leading_int(text).filter(|v| fits(column.column_type(), *v)) {
                    Some(v) => Value::Int(v),
                    None => Value::Null,
                }
            }
            ColumnType::F64 => match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Value::Float(v),
                _ => Value::Null,
            },
            ColumnType::Timestamp => Value::Null,
        };
        self.set(column, value);
    }
}

fn fits(column_type: ColumnType, v: i64) -> bool {
    match column_type {
        ColumnType::I16 => i16::try_from(v).is_ok(),
        ColumnType::I32 => i32::try_from(v).is_ok(),
        _ => true,
    }
}

/// The integer at the start of `text` (`"2 (queue active)"` gives 2); None when there is none
/// or it overflows.
pub fn leading_int(text: &str) -> Option<i64> {
    let t = text.trim_start();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 || end > 18 {
        return None;
    }
    // At most 18 digits: no overflow (and no `str::parse`, slow for these short numbers).
    let v = digits.as_bytes()[..end]
        .iter()
        .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
    Some(if neg { -v } else { v })
}

enum Builder {
    Timestamp(TimestampMicrosecondBuilder),
    Str(StringBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
}

/// Accumulates events column by column.
pub struct EventColumns {
    builders: Vec<Builder>,
    /// Rows each builder holds; behind `rows` until the column gets its next value.
    lens: [usize; COLUMN_COUNT],
    rows: usize,
}

impl EventColumns {
    pub fn with_capacity(rows: usize) -> Self {
        let builders = ALL_COLUMNS
            .iter()
            .map(|c| match c.column_type() {
                ColumnType::Timestamp => Builder::Timestamp(
                    TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("UTC"),
                ),
                ColumnType::Str => Builder::Str(StringBuilder::with_capacity(rows, rows * 8)),
                ColumnType::I16 => Builder::I16(Int16Builder::with_capacity(rows)),
                ColumnType::I32 => Builder::I32(Int32Builder::with_capacity(rows)),
                ColumnType::I64 => Builder::I64(Int64Builder::with_capacity(rows)),
                ColumnType::F64 => Builder::F64(Float64Builder::with_capacity(rows)),
            })
            .collect();
        EventColumns {
            builders,
            lens: [0; COLUMN_COUNT],
            rows: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends an event. Only the cells the event set are visited: a column catches up on
    /// the nulls of the rows it missed when it next gets a value, or at `finish`.
    pub fn push(&mut self, event: &Event<'_>) {
        let row = self.rows;
        let mut filled = event.filled;
        while filled != 0 {
            let i = filled.trailing_zeros() as usize;
            filled &= filled - 1;
            if let Value::Null = event.cells[i] {
                continue;
            }
            let builder = &mut self.builders[i];
            if self.lens[i] < row {
                builder.append_nulls(row - self.lens[i]);
            }
            builder.append(event.cells[i]);
            self.lens[i] = row + 1;
        }
        self.rows += 1;
    }

    pub fn finish(mut self) -> Result<RecordBatch, ArrowError> {
        let rows = self.rows;
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .zip(self.lens)
            .map(|(b, len)| -> ArrayRef {
                if len < rows {
                    b.append_nulls(rows - len);
                }
                match b {
                    Builder::Timestamp(b) => Arc::new(b.finish()),
                    Builder::Str(b) => Arc::new(b.finish()),
                    Builder::I16(b) => Arc::new(b.finish()),
                    Builder::I32(b) => Arc::new(b.finish()),
                    Builder::I64(b) => Arc::new(b.finish()),
                    Builder::F64(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        RecordBatch::try_new(schema(), arrays)
    }
}

impl Builder {
    fn append_nulls(&mut self, n: usize) {
        match self {
            Builder::Timestamp(b) => b.append_nulls(n),
            Builder::Str(b) => b.append_nulls(n),
            Builder::I16(b) => b.append_nulls(n),
            Builder::I32(b) => b.append_nulls(n),
            Builder::I64(b) => b.append_nulls(n),
            Builder::F64(b) => b.append_nulls(n),
        }
    }

    /// Appends a value of the column's type; a value of another type is a null.
    fn append(&mut self, value: Value<'_>) {
        match (self, value) {
            (Builder::Str(b), Value::Str(s)) => b.append_value(s),
            (Builder::Str(b), _) => b.append_null(),
            (Builder::Timestamp(b), Value::Int(v)) => b.append_value(v),
            (Builder::Timestamp(b), _) => b.append_null(),
            (Builder::I16(b), Value::Int(v)) => b.append_option(i16::try_from(v).ok()),
            (Builder::I16(b), _) => b.append_null(),
            (Builder::I32(b), Value::Int(v)) => b.append_option(i32::try_from(v).ok()),
            (Builder::I32(b), _) => b.append_null(),
            (Builder::I64(b), Value::Int(v)) => b.append_value(v),
            (Builder::I64(b), _) => b.append_null(),
            (Builder::F64(b), Value::Float(v)) => b.append_value(v),
            (Builder::F64(b), Value::Int(v)) => b.append_value(v as f64),
            (Builder::F64(b), _) => b.append_null(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in ALL_COLUMNS {
            assert_eq!(Column::from_name(c.name()), Some(c));
        }
        assert_eq!(ALL_COLUMNS.len(), COLUMN_COUNT);
        for (i, c) in ALL_COLUMNS.iter().enumerate() {
            assert_eq!(*c as usize, i, "enum order must be schema order");
        }
    }

    #[test]
    fn leading_int_is_forgiving() {
        assert_eq!(leading_int("2 (queue active)"), Some(2));
        assert_eq!(leading_int("x"), None);
        assert_eq!(leading_int("99999999999999999999999"), None);
    }

    #[test]
    fn set_text_rejects_out_of_range() {
        let mut e = Event::default();
        e.set_text(Column::SmtpCode, "99999");
        assert!(e.is_null(Column::SmtpCode));
        e.set_text(Column::ClientPort, "25");
        assert_eq!(e.get(Column::ClientPort), Value::Int(25));
    }

    #[test]
    fn columns_catch_up_on_missed_rows() {
        use arrow_array::cast::AsArray;
        use arrow_array::Array;
        let mut cols = EventColumns::with_capacity(1);
        let mut e = Event::default();
        e.set_str(Column::Detail, "a");
        cols.push(&e);
        cols.push(&Event::default());
        let mut e = Event::default();
        e.set_str(Column::Detail, "b");
        e.set_text(Column::SmtpCode, "not a number");
        e.set_int(Column::Size, 7);
        cols.push(&e);
        let batch = cols.finish().unwrap();
        assert_eq!(batch.num_rows(), 3);
        let detail = batch.column(Column::Detail as usize).as_string::<i32>();
        assert_eq!(
            detail.iter().collect::<Vec<_>>(),
            [Some("a"), None, Some("b")]
        );
        assert_eq!(batch.column(Column::SmtpCode as usize).null_count(), 3);
        assert_eq!(batch.column(Column::Size as usize).null_count(), 2);
        assert_eq!(batch.column(Column::Host as usize).null_count(), 3);
    }

    #[test]
    fn batch_has_schema() {
        let mut cols = EventColumns::with_capacity(2);
        let mut e = Event::default();
        e.set_str(Column::Kind, "reject");
        e.set_int(Column::Ts, 1);
        cols.push(&e);
        let batch = cols.finish().unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.num_columns(), COLUMN_COUNT);
    }
}
