//! Writing long-format answer rows to Parquet a batch at a time, for `ykien export answers --format parquet`: the
//! server reads its database a page at a time and hands each page here, so memory stays flat however many answers
//! a wave has. The file has the five [`ANSWER_COLUMNS`] as text, as [`scan_answers`](crate::scan_answers) reads.

use std::fs::File;
use std::path::Path;

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;

use crate::AnalysisError;
use crate::input::{ANSWER_COLUMNS, AnswerRow};

/// A Parquet file of answer rows being written; call [`AnswerParquetWriter::finish`] at the end, or the file is
/// not readable.
pub struct AnswerParquetWriter {
    writer: BatchedWriter<File>,
    rows: u64,
}

impl AnswerParquetWriter {
    /// Creates (or replaces) the file at `path`.
    pub fn create(path: &Path) -> Result<Self, AnalysisError> {
        let file = File::create(path).map_err(|source| AnalysisError::Write {
            path: path.display().to_string(),
            source,
        })?;
        let schema = Schema::from_iter(ANSWER_COLUMNS.map(|c| Field::new(c.into(), DataType::String)));
        let writer = ParquetWriter::new(file).batched(&schema)?;
        Ok(Self { writer, rows: 0 })
    }

    /// Appends a batch of rows (one row group per call unless it is empty).
    pub fn write(&mut self, rows: &[AnswerRow]) -> Result<(), AnalysisError> {
        if rows.is_empty() {
            return Ok(());
        }
        let df = crate::input::answers_dataframe(rows)?;
        self.writer.write_batch(&df)?;
        self.rows += rows.len() as u64;
        Ok(())
    }

    /// Writes the file's footer; returns the number of rows written.
    pub fn finish(self) -> Result<u64, AnalysisError> {
        self.writer.finish()?;
        Ok(self.rows)
    }
}
