//! mailreject's parsing core: Postfix log bytes in, typed anti-spam events out as Arrow.
//!
//! The crate is deliberately small and single-purpose. `envelope` frames syslog and
//! journal lines, `scan` finds the generic fields by structure, `rules` compiles the
//! declarative catalogue in `parsers/rules/`, `backtrack` matches its anchored patterns
//! cheaply, `prefilter` narrows the reject rules to try, `engine` ties them together, `columns` collects the events and `sink` writes them to Parquet. The PyO3 bindings live behind the `python` feature.

pub mod backtrack;
pub mod columns;
pub mod dictcol;
pub mod engine;
pub mod envelope;
pub mod hybrid;
pub mod pages;
pub mod prefilter;
pub mod rules;
pub mod scan;
pub mod sink;

#[cfg(feature = "python")]
mod python;

// Arrow buffers of every block are allocated here and released by Python later. The
// system allocator returns such large blocks to the kernel, which must zero fresh pages
// for the next block (tens of thousands of page faults per million lines); mimalloc
// keeps and reuses them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
