//! The streaming read of a plain CSV in pieces: the file is mapped once, cut into
//! slices of about [`PIECE_BYTES`] at line ends, each slice parsed (no copy) by the same
//! lazy plan as the whole-file read, the typed pieces appended, and each slice's pages
//! dropped from the mapping as soon as it is parsed.
//!
//! Why: the engine's whole-file read maps the file, and every page it touches stays
//! resident until the read ends — 2.7 GiB at 10 M stays, on top of the typed frame. Here one
//! slice is resident at a time (the page cache keeps the file; the process does not).
//!
//! Only a file without a single quote character is read so: without quotes a record is a
//! line, so a cut at a line end is a cut between records, and every cell parses exactly as
//! in the whole-file read. A quote anywhere (looked for on a second thread while the pieces
//! are parsed), a header that does not parse, an engine error (ragged rows, …): the answer
//! is [`Pieces::Whole`] and the whole-file read runs instead, with its own error handling
//! and line placement.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use polars::io::RowIndex;
use polars::polars_utils::mmap::MemSlice;
use polars::prelude::*;

use super::pipeline::{ROW, typed_plan};
use crate::schema::{ColumnMapping, case_columns, map_headers};

/// Bytes per piece.
const PIECE_BYTES: usize = 64 << 20;

/// What the read in pieces gave.
pub(super) enum Pieces {
    /// Every piece went to the sink; the header mapping.
    Read(ColumnMapping),
    /// A header that does not map (a required column missing), or the sink's error:
    /// phrased for the user.
    Refused(crate::error::AuditError),
    /// Not read in pieces (whatever the sink got is to be dropped): read the whole file.
    Whole,
}

/// Takes the typed pieces in file order: each piece's frame sorted by row, the header's
/// mapping, and the rows the whole file holds as far as the bytes read so far tell.
pub(super) type Sink<'s> =
    dyn FnMut(DataFrame, &ColumnMapping, usize) -> crate::error::Result<()> + 's;

/// Reads the UTF-8 CSV at `source` (`path` is the user's name for it) in pieces, each into
/// `sink`.
pub(super) fn read(path: &Path, source: &Path, sep: u8, max_cost: f64, sink: &mut Sink) -> Pieces {
    read_sized(path, source, sep, max_cost, PIECE_BYTES, sink)
}

/// A sink that stacks the pieces into one frame.
#[derive(Default)]
pub(super) struct Stack(pub(super) Option<DataFrame>);

impl Stack {
    /// Appends a piece.
    pub(super) fn push(&mut self, piece: DataFrame) -> PolarsResult<()> {
        match &mut self.0 {
            None => self.0 = Some(piece),
            Some(f) => {
                f.vstack_mut_owned(piece)?;
            }
        }
        Ok(())
    }
}

/// [`read`] with pieces of `piece_bytes` (the tests cut small files into many pieces).
fn read_sized(
    path: &Path,
    source: &Path,
    sep: u8,
    max_cost: f64,
    piece_bytes: usize,
    sink: &mut Sink,
) -> Pieces {
    // The quote scan runs far ahead of the parse; when it finds one, the parse stops at
    // the next piece.
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let quoted = scope.spawn(|| {
            let plain = matches!(super::layout::has_quote(source), Ok(false));
            if !plain {
                stop.store(true, Ordering::Relaxed);
            }
            plain
        });
        let read = read_pieces(path, source, sep, max_cost, piece_bytes, &stop, sink);
        match quoted.join() {
            Ok(true) => read,
            _ => Pieces::Whole,
        }
    })
}

fn read_pieces(
    path: &Path,
    source: &Path,
    sep: u8,
    max_cost: f64,
    piece_bytes: usize,
    stop: &AtomicBool,
    sink: &mut Sink,
) -> Pieces {
    let Ok(file) = std::fs::File::open(source) else {
        return Pieces::Whole;
    };
    let Ok(whole) = MemSlice::from_file(&file) else {
        return Pieces::Whole;
    };
    let bytes: &[u8] = &whole;
    let Some(header_end) = memchr::memchr(b'\n', bytes).map(|e| e + 1) else {
        return Pieces::Whole;
    };
    // The header's names, as the whole-file read takes them (a byte-order mark dropped).
    let header =
        scan(whole.slice(0..header_end), sep, true, None, 0).and_then(|mut lf| lf.collect_schema());
    let Ok(header) = header else {
        return Pieces::Whole;
    };
    let names: Vec<String> = header
        .iter_names()
        .filter(|n| n.as_str() != ROW)
        .map(|n| n.to_string())
        .collect();
    let mapping = match map_headers(&names, &case_columns()) {
        Ok(m) => m,
        Err(p) => return Pieces::Refused(p.into_error(path)),
    };
    let text: SchemaRef = Arc::new(
        names
            .iter()
            .map(|n| Field::new(n.as_str().into(), DataType::String))
            .collect(),
    );
    let mut rows: IdxSize = 0;
    let mut start = header_end;
    while start < bytes.len() {
        if stop.load(Ordering::Relaxed) {
            return Pieces::Whole;
        }
        let end = match bytes.get(start + piece_bytes..) {
            Some(rest) => {
                memchr::memchr(b'\n', rest).map_or(bytes.len(), |k| start + piece_bytes + k + 1)
            }
            None => bytes.len(),
        };
        let piece = scan(
            whole.slice(start..end),
            sep,
            false,
            Some(text.clone()),
            rows,
        )
        .and_then(|lf| {
            typed_plan(lf, &mapping, super::Format::Csv, max_cost)
                .collect_with_engine(Engine::Streaming)
        });
        // SAFETY: `bytes` is `whole`, which `MemSlice::from_file` made a read-only mapping
        // of the file (never a copy).
        unsafe { crate::memory::release_mapped(&bytes[start..end]) };
        let Ok(piece) = piece.and_then(super::pipeline::sorted_by_row) else {
            return Pieces::Whole;
        };
        rows += piece.height() as IdxSize;
        // Rows per byte so far, over the whole file (a little more: allocated once).
        let expected = (rows as f64 * (bytes.len() - header_end) as f64 / (end - header_end) as f64
            * 1.02) as usize;
        if let Err(e) = sink(piece, &mapping, expected) {
            return Pieces::Refused(e);
        }
        start = end;
    }
    if rows == 0 {
        // A header and no rows: the whole-file read says so.
        return Pieces::Whole;
    }
    Pieces::Read(mapping)
}

/// The lazy scan of one slice of the file: the header (names taken from it), or rows
/// (names from `schema`, every column text), numbered from `offset`.
fn scan(
    slice: MemSlice,
    sep: u8,
    has_header: bool,
    schema: Option<SchemaRef>,
    offset: IdxSize,
) -> PolarsResult<LazyFrame> {
    let sources = ScanSources::Buffers([slice].into());
    LazyCsvReader::new_with_sources(sources)
        .with_has_header(has_header)
        .with_schema(schema)
        .with_separator(sep)
        .with_infer_schema_length(Some(0))
        .with_missing_is_null(true)
        .with_row_index(Some(RowIndex {
            name: ROW.into(),
            offset,
        }))
        .finish()
}

#[cfg(test)]
mod tests {
    //! The read in pieces gives the whole-file read's frame, row for row and cell for cell,
    //! wherever the cuts fall; a file with a quote is left to the whole-file read.

    use super::*;

    const HEADER: &str = "case_id,hospital_id,patient_id,admit_date,discharge_date,group_code,total_cost,los_days,secondary_diagnoses,main_diagnosis,main_procedure\n";

    /// Rows of varied widths: empty optional cells, bad dates and costs (reasons), codes.
    fn csv(rows: usize) -> String {
        let mut s = String::from(HEADER);
        for i in 0..rows {
            let cost = match i % 7 {
                3 => "abc".to_string(),
                5 => String::new(),
                _ => format!("{}.{}", 1000 + i * 37, i % 100),
            };
            let date = if i % 11 == 4 {
                "2024-13-01"
            } else {
                "2024-03-01"
            };
            let dx = ["", "J18.900", "I10.x00;E11.900;J18.900"][i % 3];
            let los = if i % 5 == 0 {
                String::new()
            } else {
                (i % 9).to_string()
            };
            // Main diagnoses and procedures first seen all along the file, and a code listed
            // as both: the code book's order must not depend on where pieces are cut.
            let main = format!("A{:02}.000", i % 53);
            let px = if i % 11 == 7 {
                "J18.900".to_string()
            } else {
                format!("{:02}.1000", i % 37)
            };
            s.push_str(&format!(
                "C{i},H{},P{},{date},2024-03-0{},ES3{},{cost},{los},{dx},{main},{px}\n",
                i % 4,
                i % 13,
                2 + i % 7,
                [1, 3, 5][i % 3]
            ));
        }
        s
    }

    fn whole(path: &Path) -> DataFrame {
        match super::super::pipeline::read_typed(
            path,
            path,
            super::super::Format::Csv,
            false,
            1e7,
            b',',
        ) {
            Ok((df, _)) => df,
            Err(_) => panic!("the whole-file read fails"),
        }
    }

    #[test]
    fn pieces_give_the_whole_reads_frame_wherever_the_cuts_fall() {
        let dir = tempfile::tempdir().expect("temp dir");
        // (rows, CRLF line ends, a line end after the last row)
        for (rows, crlf, last_newline) in [
            (0, false, true),
            (1, false, true),
            (57, false, true),
            (57, true, true),
            (300, false, true),
            (300, false, false),
        ] {
            let mut text = csv(rows);
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            if !last_newline {
                text.pop();
            }
            let path = dir
                .path()
                .join(format!("cases{rows}{crlf}{last_newline}.csv"));
            std::fs::write(&path, &text).expect("write");
            let expected = whole(&path);
            // From pieces shorter than a line (cut at the next line end) to one piece.
            for piece in [40, 64, 97, 150, 256, 1000, 1 << 20] {
                let (got, pieces) = stacked(&path, piece);
                match got {
                    Pieces::Read(_) => {
                        let df = pieces.0.expect("rows read");
                        assert!(df.equals_missing(&expected), "rows {rows}, piece {piece}");
                        assert_eq!(df.height(), rows);
                    }
                    Pieces::Whole => assert_eq!(rows, 0, "piece {piece}: a header alone"),
                    Pieces::Refused(e) => panic!("{e}"),
                }
            }
        }
    }

    /// The read in pieces of `piece` bytes, each piece checked and built as it comes.
    fn built(
        path: &Path,
        piece: usize,
        catalog: &crate::catalog::Catalog,
    ) -> Option<super::super::Ingested> {
        use super::super::assemble::Streaming;
        let places = super::super::layout::RowPlaces::simple(2);
        let mut built: Option<Streaming> = None;
        let mut sink = |df: DataFrame, m: &ColumnMapping, expected: usize| {
            Streaming::feed(&mut built, (path, catalog, &places), df, m, expected)
        };
        let got = read_sized(path, path, b',', 1e7, piece, &mut sink);
        assert!(matches!(got, Pieces::Read(_)), "piece {piece}");
        built
            .expect("rows read")
            .finish(super::super::Format::Csv, None)
            .expect("builds")
    }

    #[test]
    fn pieces_built_as_they_come_give_the_whole_tables_cases() {
        let config = crate::config::RegionConfig::default_drg();
        let catalog = super::super::groups::test_catalog(
            &[
                ("ES31", "2.0", "ES3", "1"),
                ("ES33", "1.4", "ES3", "3"),
                ("ES35", "1.0", "ES3", "5"),
            ],
            &config,
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cases.csv");
        std::fs::write(&path, csv(700)).expect("write");
        let (df, mapping) = match super::super::pipeline::read_typed(
            &path,
            &path,
            super::super::Format::Csv,
            false,
            1e7,
            b',',
        ) {
            Ok(r) => r,
            Err(_) => panic!("the whole-file read fails"),
        };
        let places = super::super::layout::RowPlaces::simple(2);
        let want = super::super::assemble::assemble(
            df,
            &path,
            super::super::Format::Csv,
            None,
            &mapping,
            &catalog,
            &places,
        )
        .expect("assembles");
        assert!(!want.rejects.is_empty(), "the fixture has row rejects");
        for piece in [64, 150, 1000, 1 << 20] {
            let got = built(&path, piece, &catalog).expect("no duplicate case id");
            assert_eq!(
                format!("{:?}", got.cases),
                format!("{:?}", want.cases),
                "piece {piece}"
            );
            assert_eq!(format!("{:?}", got.rejects), format!("{:?}", want.rejects));
            assert_eq!(format!("{:?}", got.stats), format!("{:?}", want.stats));
        }
        // A case id seen twice (in different pieces): left to the whole-table checks.
        let mut text = csv(700);
        text.push_str("C1,H1,P1,2024-03-01,2024-03-02,ES31,1000,2,,,\n");
        std::fs::write(&path, text).expect("write");
        assert!(built(&path, 150, &catalog).is_none());
    }

    /// The read in pieces of `piece` bytes, stacked.
    fn stacked(path: &Path, piece: usize) -> (Pieces, Stack) {
        let mut stack = Stack::default();
        let mut sink = |df: DataFrame, _: &ColumnMapping, _: usize| {
            stack
                .push(df)
                .map_err(|e| crate::error::AuditError::engine(path, e))
        };
        let got = read_sized(path, path, b',', 1e7, piece, &mut sink);
        (got, stack)
    }

    #[test]
    fn a_quote_or_a_missing_column_is_not_read_in_pieces() {
        let dir = tempfile::tempdir().expect("temp dir");
        let quoted = dir.path().join("quoted.csv");
        let mut text = csv(40);
        text.push_str("C99,H1,P1,2024-03-01,2024-03-02,ES31,\"1,000\",2,,,\n");
        std::fs::write(&quoted, &text).expect("write");
        assert!(matches!(stacked(&quoted, 100).0, Pieces::Whole));
        let short = dir.path().join("short.csv");
        std::fs::write(&short, "case_id,hospital_id\nC1,H1\n").expect("write");
        assert!(matches!(stacked(&short, 100).0, Pieces::Refused(_)));
    }
}
