//! Scanned letters and forms the intake desk attaches to a case as PDF: accepted only when the file parses as a
//! PDF document with at least one page (lopdf), and bounded in size. Images take the photo sanitiser instead
//! (`domain::photos`). A PDF is stored as it came and served only as a download, never shown inline.

use sha2::{Digest, Sha256};

/// The largest PDF accepted: a scanned letter of a few pages at 200 dpi is 1–5 MB.
pub const MAX_PDF_BYTES: usize = 10 * 1024 * 1024;
/// The most PDF files one case may carry.
pub const MAX_PDFS: usize = 3;
/// The content type a PDF is stored and served with.
pub const PDF_MIME: &str = "application/pdf";

/// Whether `bytes` claim to be a PDF (its header); such files are checked as PDF, the others as photos.
pub fn looks_like_pdf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
}

/// A checked PDF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdf {
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub pages: usize,
}

/// Why a file is not accepted as a PDF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PdfError {
    TooLarge { bytes: usize },
    Unreadable,
    NoPages,
}

impl PdfError {
    pub fn message_vi(&self) -> String {
        match self {
            Self::TooLarge { bytes } => format!(
                "tệp PDF {:.1} MB, quá giới hạn {} MB.",
                *bytes as f64 / 1_048_576.0,
                MAX_PDF_BYTES / 1_048_576
            ),
            Self::Unreadable => "tệp không đọc được như một tài liệu PDF (hỏng hoặc không phải PDF).".to_owned(),
            Self::NoPages => "tài liệu PDF không có trang nào.".to_owned(),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Self::TooLarge { bytes } => format!(
                "the PDF is {:.1} MB, over the {} MB limit.",
                *bytes as f64 / 1_048_576.0,
                MAX_PDF_BYTES / 1_048_576
            ),
            Self::Unreadable => "the file does not read as a PDF document (damaged, or not a PDF).".to_owned(),
            Self::NoPages => "the PDF document has no page.".to_owned(),
        }
    }
}

/// Checks a PDF: its size first (nothing is parsed beyond the bound), then that it parses and has pages. CPU
/// work: run it on the blocking threads.
pub fn check_pdf(bytes: Vec<u8>) -> Result<Pdf, PdfError> {
    if bytes.len() > MAX_PDF_BYTES {
        return Err(PdfError::TooLarge { bytes: bytes.len() });
    }
    if !looks_like_pdf(&bytes) {
        return Err(PdfError::Unreadable);
    }
    let document = lopdf::Document::load_mem(&bytes).map_err(|_| PdfError::Unreadable)?;
    let pages = document.get_pages().len();
    if pages == 0 {
        return Err(PdfError::NoPages);
    }
    let sha256 = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    Ok(Pdf { bytes, sha256, pages })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-page PDF made with lopdf.
    fn one_page() -> Vec<u8> {
        use lopdf::{Document, Object, Stream, dictionary};
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let content = doc.add_object(Stream::new(dictionary! {}, b"BT ET".to_vec()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn a_real_pdf_passes_and_a_fake_or_huge_one_does_not() {
        let pdf = check_pdf(one_page()).unwrap();
        assert_eq!(pdf.pages, 1);
        assert_eq!(
            check_pdf(b"%PDF-1.7\n<script>alert(1)</script>".to_vec()),
            Err(PdfError::Unreadable)
        );
        assert_eq!(check_pdf(b"GIF89a".to_vec()), Err(PdfError::Unreadable));
        let mut huge = one_page();
        huge.resize(MAX_PDF_BYTES + 1, b' ');
        assert!(matches!(check_pdf(huge), Err(PdfError::TooLarge { .. })));
    }
}
