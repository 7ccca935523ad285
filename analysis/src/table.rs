//! Tables for people: the dashboard's downloads and the reports' annexes as CSV (UTF-8 with a byte-order mark, so
//! Excel shows Vietnamese correctly) or XLSX workbooks, and the long answer export as a streaming XLSX file.
//!
//! One [`Table`] is written either way, so a CSV download and the XLSX sheet beside it always hold the same
//! columns and values.

use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::input::{ANSWER_COLUMNS, AnswerRow};

/// The byte-order mark that tells Excel a CSV file is UTF-8.
pub const BOM: &str = "\u{feff}";
/// Rows per worksheet, Excel's limit, header included.
pub const XLSX_MAX_ROWS: u32 = 1_048_576;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        if v.is_finite() { Self::Number(v) } else { Self::Empty }
    }
}

impl From<usize> for Cell {
    fn from(v: usize) -> Self {
        // Counts of people and cases: exact in an f64 far beyond any real number.
        Self::Number(v as f64)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Empty, Into::into)
    }
}

/// A named table: a sheet of a workbook, or a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The sheet's name (at most 31 characters in Excel; longer names are cut).
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(name: &str, header: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; cells beyond the header are dropped, missing ones are empty.
    pub fn push(&mut self, cells: Vec<Cell>) {
        let mut cells = cells;
        cells.resize(self.header.len(), Cell::Empty);
        self.rows.push(cells);
    }

    /// The table as CSV with a byte-order mark; numbers as Rust prints them (a dot for decimals).
    pub fn write_csv(&self, out: impl Write) -> std::io::Result<()> {
        let mut out = out;
        out.write_all(BOM.as_bytes())?;
        let mut csv = csv::Writer::from_writer(out);
        csv.write_record(&self.header).map_err(std::io::Error::other)?;
        for row in &self.rows {
            csv.write_record(row.iter().map(|c| match c {
                Cell::Text(s) => s.clone(),
                Cell::Number(v) => v.to_string(),
                Cell::Empty => String::new(),
            }))
            .map_err(std::io::Error::other)?;
        }
        csv.flush()
    }

    /// The table as CSV bytes.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing to memory cannot fail.
        let _ = self.write_csv(&mut bytes);
        bytes
    }
}

/// Why a workbook could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the workbook: {0}")]
pub struct XlsxWriteError(#[from] XlsxError);

fn sheet_name(name: &str) -> String {
    // Excel refuses these in sheet names, and names over 31 characters.
    name.chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .take(31)
        .collect()
}

fn write_header(sheet: &mut Worksheet, header: &[String], bold: &Format) -> Result<(), XlsxError> {
    for (col, h) in (0u16..).zip(header) {
        sheet.write_string_with_format(0, col, h, bold)?;
        sheet.set_column_width(col, (h.chars().count() + 4).clamp(10, 40) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// The tables as one workbook, a sheet each, header rows bold and frozen; a table longer than a sheet continues on
/// further sheets.
pub fn workbook(tables: &[Table]) -> Result<Vec<u8>, XlsxWriteError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for table in tables {
        let chunks: Vec<&[Vec<Cell>]> = if table.rows.is_empty() {
            vec![&[]]
        } else {
            table.rows.chunks((XLSX_MAX_ROWS - 1) as usize).collect()
        };
        for (part, rows) in chunks.iter().enumerate() {
            let sheet = book.add_worksheet();
            let name = if part == 0 {
                table.name.clone()
            } else {
                format!("{} ({})", table.name, part + 1)
            };
            sheet.set_name(sheet_name(&name))?;
            write_header(sheet, &table.header, &bold)?;
            for (r, row) in (1u32..).zip(rows.iter()) {
                for (c, cell) in (0u16..).zip(row) {
                    match cell {
                        Cell::Text(s) => {
                            sheet.write_string(r, c, s)?;
                        }
                        Cell::Number(v) => {
                            sheet.write_number(r, c, *v)?;
                        }
                        Cell::Empty => {}
                    }
                }
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

/// Long-format answers written to an XLSX file as they come, in constant memory: `answers`, then `answers (2)`,
/// … whenever a sheet is full, so there is no row cap.
pub struct AnswerXlsxWriter {
    book: Workbook,
    sheets: usize,
    /// The next row on the current sheet.
    row: u32,
    rows: u64,
    path: std::path::PathBuf,
}

impl AnswerXlsxWriter {
    pub fn create(path: &Path) -> Result<Self, XlsxWriteError> {
        let mut writer = Self {
            book: Workbook::new(),
            sheets: 0,
            row: 0,
            rows: 0,
            path: path.to_owned(),
        };
        writer.next_sheet()?;
        Ok(writer)
    }

    fn next_sheet(&mut self) -> Result<(), XlsxWriteError> {
        self.sheets += 1;
        let name = if self.sheets == 1 {
            "answers".to_owned()
        } else {
            format!("answers ({})", self.sheets)
        };
        let bold = Format::new().set_bold();
        let header: Vec<String> = ANSWER_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        let sheet = self.book.add_worksheet_with_constant_memory();
        sheet.set_name(name)?;
        write_header(sheet, &header, &bold)?;
        self.row = 1;
        Ok(())
    }

    /// Appends rows.
    pub fn write(&mut self, rows: &[AnswerRow]) -> Result<(), XlsxWriteError> {
        for r in rows {
            if self.row == XLSX_MAX_ROWS {
                self.next_sheet()?;
            }
            let row = self.row;
            let sheet = self.book.worksheet_from_index(self.sheets - 1)?;
            sheet.write_string(row, 0, &r.response_id)?;
            sheet.write_string(row, 1, &r.wave)?;
            sheet.write_string(row, 2, &r.unit_code)?;
            sheet.write_string(row, 3, &r.question)?;
            if let Some(a) = &r.answer {
                sheet.write_string(row, 4, a)?;
            }
            self.row += 1;
            self.rows += 1;
        }
        Ok(())
    }

    /// Finishes the file; returns the number of answer rows.
    pub fn finish(mut self) -> Result<u64, XlsxWriteError> {
        self.book.save(&self.path)?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new("Điểm", &["Xã, phường", "Điểm", "Số người"]);
        t.push(vec!["Phường Phố Hiến".into(), 6.25.into(), 41usize.into()]);
        t.push(vec!["Xã Tân Hưng".into(), Cell::from(None::<f64>), 12usize.into()]);
        t
    }

    #[test]
    fn csv_starts_with_a_bom_and_keeps_vietnamese_and_empty_cells() {
        let text = String::from_utf8(sample().to_csv()).unwrap();
        assert!(text.starts_with(BOM));
        let lines: Vec<&str> = text.trim_start_matches(BOM).lines().collect();
        assert_eq!(
            lines,
            [
                "\"Xã, phường\",Điểm,Số người",
                "Phường Phố Hiến,6.25,41",
                "Xã Tân Hưng,,12"
            ]
        );
    }

    #[test]
    fn a_workbook_is_a_zip_with_the_sheet_named_and_the_text_inside() {
        let bytes = workbook(&[sample()]).unwrap();
        assert_eq!(&bytes[..4], b"PK\x03\x04", "an XLSX file is a zip archive");
        let text = String::from_utf8_lossy(&bytes);
        // The parts' names are stored uncompressed in the archive.
        assert!(text.contains("xl/worksheets/sheet1.xml"));
    }

    #[test]
    fn sheet_names_lose_the_characters_excel_refuses_and_stop_at_31() {
        assert_eq!(
            sheet_name("Điểm: 6 tháng/2026 [bản nháp] và phụ lục"),
            "Điểm- 6 tháng-2026 -bản nháp- v"
        );
    }

    #[test]
    fn answers_stream_to_a_file_and_count_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("answers.xlsx");
        let mut w = AnswerXlsxWriter::create(&path).unwrap();
        let rows: Vec<AnswerRow> = (0..3)
            .map(|i| AnswerRow {
                response_id: format!("r{i}"),
                wave: "w".into(),
                unit_code: "11953".into(),
                question: "q1".into(),
                answer: (i != 1).then(|| "yes".to_owned()),
            })
            .collect();
        w.write(&rows).unwrap();
        assert_eq!(w.finish().unwrap(), 3);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
