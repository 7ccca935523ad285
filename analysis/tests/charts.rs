//! Every chart renders as a valid PNG and SVG of the size asked, and the SVG carries the Vietnamese labels.
//!
//! Set `YKIEN_CHART_DIR` to a folder to also write each chart there, to look at.

mod common;

use common::DIMENSIONS_VI;
use ykien_analysis::Quartile;
use ykien_analysis::charts::*;

fn group_labels() -> [String; 4] {
    Quartile::ALL.map(|q| q.label_vi().to_owned())
}

const COMMUNES: [&str; 12] = [
    "Phường Phố Hiến",
    "Xã Tân Hưng",
    "Phường Hồng Châu",
    "Phường Sơn Nam",
    "Xã Hoàng Hoa Thám",
    "Xã Tiên Lữ",
    "Xã Tiên Hoa",
    "Xã Quang Hưng",
    "Xã Đoàn Đào",
    "Xã Tiên Tiến",
    "Xã Tống Trân",
    "Xã Lương Bằng",
];

fn profile() -> ProfileChart {
    ProfileChart {
        title: "Phường Phố Hiến: điểm tám lĩnh vực, đợt khảo sát 2025".into(),
        unit_label: "Phường Phố Hiến".into(),
        province_label: "Trung bình tỉnh Hưng Yên".into(),
        interval_label: "Khoảng tin cậy 95%".into(),
        bars: DIMENSIONS_VI
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let score = 4.0 + i as f64 * 0.6;
                DimensionBar {
                    label: format!("{}. {name}", i + 1),
                    score: (i != 6).then_some(score),
                    ci: (i != 6).then_some((score - 0.7, score + 0.6)),
                    province_mean: Some(5.5 + (i % 3) as f64 * 0.4),
                    note: (i == 6).then(|| "Chưa đủ câu trả lời".to_owned()),
                }
            })
            .collect(),
        range: (1.0, 10.0),
        decimal_comma: true,
    }
}

fn radar_chart() -> RadarChart {
    RadarChart {
        title: "Phường Phố Hiến so với trung bình tỉnh".into(),
        axes: [
            "Tham gia",
            "Công khai, minh bạch",
            "Trách nhiệm giải trình",
            "Kiểm soát tham nhũng",
            "Thủ tục hành chính",
            "Dịch vụ công",
            "Quản trị môi trường",
            "Quản trị điện tử",
        ]
        .map(String::from)
        .to_vec(),
        series: vec![
            RadarSeries {
                label: "Phường Phố Hiến".into(),
                values: vec![
                    Some(5.2),
                    Some(6.1),
                    Some(4.8),
                    Some(7.0),
                    Some(7.9),
                    Some(7.2),
                    None,
                    Some(3.9),
                ],
            },
            RadarSeries {
                label: "Trung bình tỉnh".into(),
                values: vec![Some(5.0); 8],
            },
        ],
        range: (1.0, 10.0),
        decimal_comma: true,
    }
}

fn heatmap() -> HeatmapChart {
    HeatmapChart {
        title: "Nhóm điểm của các xã, phường theo lĩnh vực".into(),
        columns: (1..=8).map(|d| format!("LV{d}")).collect(),
        rows: COMMUNES
            .iter()
            .enumerate()
            .map(|(u, name)| HeatmapRow {
                label: (*name).into(),
                cells: (0..8)
                    .map(|d| HeatmapCell {
                        score: (u != 3 || d != 2).then_some(3.0 + ((u * 7 + d * 3) % 60) as f64 / 10.0),
                        quartile: (u != 3 || d != 2).then_some(Quartile::ALL[(u + d) % 4]),
                    })
                    .collect(),
            })
            .collect(),
        group_labels: group_labels(),
        missing_label: "Chưa đủ câu trả lời".into(),
        decimal_comma: true,
    }
}

fn trend_chart() -> TrendChart {
    TrendChart {
        title: "Phường Phố Hiến qua các đợt khảo sát".into(),
        waves: ["2023", "6 tháng đầu 2024", "2024", "2025"].map(String::from).to_vec(),
        series: DIMENSIONS_VI
            .iter()
            .enumerate()
            .map(|(d, name)| TrendSeries {
                label: format!("{}. {}", d + 1, name.split(' ').take(3).collect::<Vec<_>>().join(" ")),
                points: (0..4)
                    .map(|w| {
                        (d != 4 || w != 1).then(|| {
                            let score = 3.0 + d as f64 * 0.7 + w as f64 * 0.3;
                            TrendPoint {
                                score,
                                ci: Some((score - 0.5, score + 0.5)),
                            }
                        })
                    })
                    .collect(),
            })
            .collect(),
        axis_label: "Điểm (1–10)".into(),
        range: (1.0, 10.0),
        decimal_comma: true,
    }
}

fn ranking_chart() -> RankingChart {
    RankingChart {
        title: "Xếp hạng điểm tổng các xã, phường tỉnh Hưng Yên".into(),
        axis_label: "Điểm tổng (8–80)".into(),
        group_labels: group_labels(),
        rows: COMMUNES
            .iter()
            .enumerate()
            .map(|(u, name)| {
                let score = 38.0 + ((u * 37) % 17) as f64;
                RankingRow {
                    label: (*name).into(),
                    score,
                    ci: Some((score - 2.5, score + 2.0)),
                    quartile: Some(Quartile::ALL[u % 4]),
                    highlight: u == 0,
                }
            })
            .collect(),
        range: None,
        decimal_comma: true,
    }
}

fn map_chart() -> MapChart {
    MapChart {
        title: "Điểm tổng theo vị trí xã, phường".into(),
        scale_label: "Điểm tổng".into(),
        range: (30.0, 60.0),
        points: COMMUNES
            .iter()
            .enumerate()
            .map(|(u, name)| MapPoint {
                label: (u < 3).then(|| (*name).to_owned()),
                lat: 20.55 + ((u * 13) % 11) as f64 * 0.03,
                lon: 106.0 + ((u * 7) % 12) as f64 * 0.03,
                score: (u != 5).then_some(30.0 + ((u * 11) % 30) as f64),
            })
            .collect(),
        decimal_comma: true,
    }
}

fn kpi_chart() -> KpiChart {
    KpiChart {
        title: "Xử lý phản ánh, kiến nghị theo xã, phường".into(),
        rate_label: "Tỷ lệ giải quyết đúng hạn".into(),
        cases_word: "phản ánh".into(),
        hours_word: "giờ".into(),
        rating_word: "điểm hài lòng".into(),
        rows: COMMUNES
            .iter()
            .enumerate()
            .map(|(u, name)| KpiRow {
                label: (*name).into(),
                cases: 3 + u * 2,
                on_time_rate: (u != 4).then_some(((u * 23) % 100) as f64 / 100.0),
                median_hours: (u != 4).then_some(10.0 + u as f64 * 3.0),
                mean_rating: (u % 3 != 0).then_some(3.0 + (u % 5) as f64 * 0.4),
            })
            .collect(),
        decimal_comma: true,
    }
}

/// (name, rendering function, words the SVG must contain).
type Render = Box<dyn Fn((u32, u32), Format) -> Result<Vec<u8>, ChartError>>;

fn all_charts() -> Vec<(&'static str, Render, Vec<&'static str>)> {
    vec![
        (
            "profile",
            Box::new(|s, f| dimension_profile(&profile(), s, f)),
            vec![
                "Tham gia của người dân ở cấp cơ sở",
                "Trung bình tỉnh Hưng Yên",
                "Khoảng tin cậy 95%",
            ],
        ),
        (
            "radar",
            Box::new(|s, f| radar(&radar_chart(), s, f)),
            vec!["nhũng", "Trung bình tỉnh", "Phường Phố Hiến"],
        ),
        (
            "heatmap",
            Box::new(|s, f| quartile_heatmap(&heatmap(), s, f)),
            vec!["Trung bình thấp", "Xã Đoàn Đào", "Chưa đủ câu trả lời"],
        ),
        (
            "trend",
            Box::new(|s, f| trend(&trend_chart(), s, f)),
            vec!["Điểm (1–10)", "6 tháng đầu 2024", "Quản trị điện", "Công khai, minh"],
        ),
        (
            "ranking",
            Box::new(|s, f| ranking(&ranking_chart(), s, f)),
            vec!["Xếp hạng điểm tổng", "Xã Tống Trân", "Thấp"],
        ),
        (
            "map",
            Box::new(|s, f| score_map(&map_chart(), s, f)),
            vec!["Điểm tổng theo vị trí", "Phường Hồng Châu"],
        ),
        (
            "kpi",
            Box::new(|s, f| feedback_kpis(&kpi_chart(), s, f)),
            vec![
                "Tỷ lệ giải quyết đúng hạn",
                "phản ánh",
                "điểm hài lòng",
                "Xã Lương Bằng",
            ],
        ),
    ]
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a valid PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("valid PNG data");
    (info.width, info.height)
}

fn svg_size(svg: &str) -> (u32, u32) {
    let attribute = |name: &str| -> u32 {
        let start = svg.find(&format!("{name}=\"")).expect("attribute") + name.len() + 2;
        let end = start + svg[start..].find('"').expect("closing quote");
        svg[start..end].parse().expect("a number")
    };
    (attribute("width"), attribute("height"))
}

#[test]
fn every_chart_is_a_valid_png_and_svg_of_the_size_asked_with_vietnamese_labels() {
    let out = std::env::var_os("YKIEN_CHART_DIR").map(std::path::PathBuf::from);
    for (name, render, words) in all_charts() {
        for size in [(1000, 700), (800, 1000)] {
            let png_bytes = render(size, Format::Png).unwrap_or_else(|e| panic!("{name} PNG: {e}"));
            assert_eq!(png_size(&png_bytes), size, "{name}");
            let svg = String::from_utf8(render(size, Format::Svg).expect("SVG")).expect("UTF-8");
            assert!(svg.trim_start().starts_with("<svg"), "{name}");
            assert!(svg.trim_end().ends_with("</svg>"), "{name}");
            assert_eq!(svg_size(&svg), size, "{name}");
            // Labels may wrap, so each word of each phrase is looked for.
            for phrase in &words {
                for word in phrase.split_whitespace() {
                    let found = ['>', ' ', '\n']
                        .iter()
                        .any(|before| svg.contains(&format!("{before}{word}")));
                    assert!(found, "{name} SVG lacks {word:?} of {phrase:?}");
                }
            }
            if let Some(dir) = &out {
                std::fs::create_dir_all(dir).expect("chart dir");
                let stem = format!("{name}-{}x{}", size.0, size.1);
                std::fs::write(dir.join(format!("{stem}.png")), &png_bytes).expect("write");
                std::fs::write(dir.join(format!("{stem}.svg")), &svg).expect("write");
            }
        }
    }
}

#[test]
fn labels_are_at_least_18_pixels() {
    let svg = String::from_utf8(dimension_profile(&profile(), (1000, 700), Format::Svg).expect("SVG")).expect("UTF-8");
    let mut sizes = Vec::new();
    for part in svg.split("font-size=\"").skip(1) {
        let end = part.find('"').expect("quote");
        sizes.push(part[..end].parse::<f64>().expect("a size"));
    }
    assert!(!sizes.is_empty());
    assert!(sizes.iter().all(|&s| s >= MIN_TEXT_PX), "{sizes:?}");
}

#[test]
fn the_embedded_font_draws_vietnamese_letters_in_png() {
    // Text in decomposed form (NFD) is normalised, so it renders exactly like the precomposed text.
    let mut chart = profile();
    let nfc = dimension_profile(&chart, (800, 600), Format::Png).expect("PNG");
    chart.title = "Phường Phố Hiến: điểm tám lĩnh vực, đợt khảo sát 2025"
        .chars()
        .flat_map(|c| match c {
            'ư' => vec!['u', '\u{31B}'],
            'ố' => vec!['o', '\u{302}', '\u{301}'],
            c => vec![c],
        })
        .collect();
    let nfd = dimension_profile(&chart, (800, 600), Format::Png).expect("PNG");
    assert_eq!(nfc, nfd);
    // And text is drawn at all: a chart with a different title differs.
    chart.title = "Phuong Pho Hien".into();
    assert_ne!(nfc, dimension_profile(&chart, (800, 600), Format::Png).expect("PNG"));
}

#[test]
fn too_small_a_chart_is_refused() {
    assert!(matches!(
        radar(&radar_chart(), (100, 100), Format::Png),
        Err(ChartError::TooSmall { .. })
    ));
}

#[test]
fn long_labels_on_the_narrowest_chart_are_cut_and_the_chart_still_renders() {
    // A regression test: cutting a label that never fits used to loop forever re-adding its ellipsis.
    let mut chart = kpi_chart();
    chart.cases_word = "phản ánh, kiến nghị của người dân gửi qua Zalo, Telegram và trang web".into();
    chart.rows[0].label = "Phường Phố Hiến thuộc tỉnh Hưng Yên sau sắp xếp đơn vị hành chính năm 2025".into();
    for format in [Format::Png, Format::Svg] {
        let bytes = feedback_kpis(&chart, MIN_SIZE, format).expect("drawn");
        assert!(!bytes.is_empty());
    }
    let svg = String::from_utf8(feedback_kpis(&chart, MIN_SIZE, Format::Svg).expect("SVG")).expect("UTF-8");
    assert!(svg.contains('…'), "a cut label ends in an ellipsis");
    assert_eq!(svg_size(&svg), MIN_SIZE);
}
