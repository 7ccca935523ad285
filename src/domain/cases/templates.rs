//! Answer templates (mẫu trả lời) per category: the answer's usual text with placeholders filled from the case,
//! and its legal basis. Kept by administrators as a TOML file (`ykien templates import`); checked here — a known
//! category, some text, and only the placeholders of [`PLACEHOLDERS`] (an unknown one is refused by its name, so a
//! typo never reaches a citizen as `{ma_hoso}`).

use std::collections::HashSet;

use serde::Deserialize;

use super::Category;

/// Example templates shipped with ykien (`data/answer-templates.toml`), which the demo imports.
pub const BUNDLED_TEMPLATES: &str = include_str!("../../../data/answer-templates.toml");

/// The placeholders a template may use, and what each is filled with.
pub const PLACEHOLDERS: [(&str, &str); 5] = [
    ("ma_ho_so", "mã phản ánh (PA-XXXX-XXXX)"),
    ("ngay_tiep_nhan", "ngày tiếp nhận (dd/mm/yyyy)"),
    ("xa_phuong", "tên xã, phường"),
    ("linh_vuc", "loại phản ánh"),
    ("dia_chi", "địa điểm người dân nêu"),
];

/// One template as written in the file.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerTemplate {
    pub category: String,
    pub title: String,
    /// The answer's "what was done", with placeholders.
    pub body: String,
    /// The legal basis shown with the answer.
    pub legal_basis: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplatesFile {
    #[serde(default)]
    templates: Vec<AnswerTemplate>,
}

/// The placeholder names in `text`, in order, or the reason it cannot be read (a `{` never closed).
fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| {
            format!(
                "a '{{' is never closed: «{}»",
                after.chars().take(20).collect::<String>()
            )
        })?;
        names.push(after[..close].trim());
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// Parses and checks a templates file against the categories; every problem at once, each naming the template.
pub fn parse_templates(text: &str, categories: &[Category]) -> Result<Vec<AnswerTemplate>, Vec<String>> {
    let file: TemplatesFile = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
    let known: HashSet<&str> = PLACEHOLDERS.iter().map(|(n, _)| *n).collect();
    let mut problems = Vec::new();
    for (i, t) in file.templates.iter().enumerate() {
        let at = format!("templates[{i}] ({})", t.title.trim());
        if !categories.iter().any(|c| c.code == t.category) {
            problems.push(format!("{at}: category '{}' is not one of the categories", t.category));
        }
        if t.title.trim().is_empty() || t.body.trim().is_empty() || t.legal_basis.trim().is_empty() {
            problems.push(format!("{at}: needs a title, a body and a legal basis"));
        }
        for field in [&t.body, &t.legal_basis] {
            match placeholders(field) {
                Ok(names) => {
                    for name in names.into_iter().filter(|n| !known.contains(n)) {
                        problems.push(format!(
                            "{at}: unknown placeholder {{{name}}}; known: {}",
                            PLACEHOLDERS.map(|(n, _)| format!("{{{n}}}")).join(", ")
                        ));
                    }
                }
                Err(why) => problems.push(format!("{at}: {why}")),
            }
        }
    }
    if problems.is_empty() {
        Ok(file.templates)
    } else {
        Err(problems)
    }
}

/// `text` with each known placeholder replaced by its value in `values` (name, value); checked templates have no
/// other.
pub fn fill(text: &str, values: &[(&str, String)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::cases::{BUNDLED_CATEGORIES, parse_categories};

    fn file(body: &str) -> String {
        format!(
            "[[templates]]\ncategory = \"garbage\"\ntitle = \"Đã thu gom\"\nbody = \"{body}\"\nlegal_basis = \"Luật Bảo vệ môi trường 2020\"\n"
        )
    }

    #[test]
    fn a_template_with_known_placeholders_is_read_and_filled() {
        let categories = parse_categories(BUNDLED_CATEGORIES).unwrap();
        let t = parse_templates(
            &file("Phản ánh {ma_ho_so} ngày {ngay_tiep_nhan} tại {xa_phuong}: đã thu gom."),
            &categories,
        )
        .unwrap();
        let filled = fill(
            &t[0].body,
            &[
                ("ma_ho_so", "PA-AAAA-BBBB".into()),
                ("ngay_tiep_nhan", "01/12/2026".into()),
                ("xa_phuong", "Phường Phố Hiến".into()),
            ],
        );
        assert_eq!(
            filled,
            "Phản ánh PA-AAAA-BBBB ngày 01/12/2026 tại Phường Phố Hiến: đã thu gom."
        );
    }

    #[test]
    fn the_bundled_templates_are_valid() {
        let categories = parse_categories(BUNDLED_CATEGORIES).unwrap();
        assert!(parse_templates(BUNDLED_TEMPLATES, &categories).unwrap().len() >= 3);
    }

    #[test]
    fn unknown_placeholders_an_unclosed_brace_and_an_unknown_category_are_refused_by_name() {
        let categories = parse_categories(BUNDLED_CATEGORIES).unwrap();
        let problems = parse_templates(&file("Phản ánh {ma_hoso} {ten_can_bo}."), &categories).unwrap_err();
        assert!(problems.iter().any(|p| p.contains("{ma_hoso}")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("{ten_can_bo}")), "{problems:?}");
        let problems = parse_templates(&file("Phản ánh {ma_ho_so"), &categories).unwrap_err();
        assert!(problems[0].contains("never closed"), "{problems:?}");
        let other = file("x").replace("garbage", "no_such");
        assert!(parse_templates(&other, &categories).unwrap_err()[0].contains("no_such"));
    }
}
