use super::*;

#[test]
fn the_bundled_categories_are_valid_and_map_to_papi() {
    let cats = parse_categories(BUNDLED_CATEGORIES).unwrap();
    assert!(cats.len() >= 15);
    let bribe = cats.iter().find(|c| c.code == "bribe_land").unwrap();
    assert_eq!((bribe.dimension(), bribe.subdimension.as_str()), ("d4", "d4.2"));
    let road = cats.iter().find(|c| c.code == "road").unwrap();
    assert_eq!(road.subdimension, "d6.3");
    let smoke = cats.iter().find(|c| c.code == "air_pollution").unwrap();
    assert_eq!(smoke.subdimension, "d7.2");
}

#[test]
fn broken_categories_are_refused_with_their_place() {
    let dup = format!(
        "{BUNDLED_CATEGORIES}\n[[categories]]\ncode = \"road\"\nvi = \"x\"\nen = \"x\"\nsubdimension = \"d6.3\"\noffice = \"commune_office\"\ntier = \"normal\"\n"
    );
    assert!(
        parse_categories(&dup)
            .unwrap_err()
            .contains("(road): the code is used twice")
    );
    let bad = BUNDLED_CATEGORIES.replacen("office = \"commune_economic\"", "office = \"ministry\"", 1);
    assert!(parse_categories(&bad).unwrap_err().contains("office 'ministry'"));
    let bad = BUNDLED_CATEGORIES.replacen("subdimension = \"d6.3\"", "subdimension = \"d9.9\"", 1);
    assert!(parse_categories(&bad).unwrap_err().contains("'d9.9'"));
}

fn answer(text: &str) -> Action {
    Action::Answer(AnswerContent {
        what_was_done: text.into(),
        by_unit: "Phòng Kinh tế".into(),
        legal_basis: None,
    })
}

#[test]
fn the_happy_path_goes_from_received_to_closed() {
    let mut s = CaseState::Received;
    let good = "Ngày 12/11 tổ công tác đã vá 3 ổ gà trên đường liên thôn Phú Thị, đã kiểm tra lại và thông xe.";
    for a in [
        Action::Accept { tier: Tier::Normal },
        Action::Assign {
            office: "commune_economic".into(),
        },
        answer(good),
        Action::Close,
    ] {
        s = apply(s, None, &a).unwrap().to;
    }
    assert_eq!(s, CaseState::Closed);
}

#[test]
fn a_case_cannot_close_without_an_answer_nor_be_answered_vaguely() {
    assert_eq!(
        apply(CaseState::Assigned, None, &Action::Close),
        Err(ActionError::NotNow {
            action: "close",
            state: CaseState::Assigned
        })
    );
    let Err(ActionError::Invalid(problems)) = apply(CaseState::Assigned, None, &answer("Đã tiếp thu.")) else {
        panic!("a vague answer must be refused");
    };
    assert!(problems[0].vi.contains("Nêu rõ việc đã làm"));
}

#[test]
fn waiting_for_the_citizen_returns_to_where_it_was() {
    let t = apply(
        CaseState::Assigned,
        None,
        &Action::RequestInfo {
            question: "Xin vị trí chính xác".into(),
        },
    )
    .unwrap();
    assert_eq!(
        (t.to, t.resume_to),
        (CaseState::WaitingForCitizen, Some(CaseState::Assigned))
    );
    let back = apply(
        t.to,
        t.resume_to,
        &Action::CitizenReplied {
            text: "Trước số nhà 15".into(),
        },
    )
    .unwrap();
    assert_eq!((back.to, back.resume_to), (CaseState::Assigned, None));
    // Extending while waiting keeps waiting, and remembers where to return.
    let ext = apply(
        t.to,
        t.resume_to,
        &Action::Extend {
            days: 2,
            reason: "Chờ khảo sát hiện trường".into(),
        },
    )
    .unwrap();
    assert_eq!(
        (ext.to, ext.resume_to),
        (CaseState::WaitingForCitizen, Some(CaseState::Assigned))
    );
}

#[test]
fn rejection_needs_a_reason_and_where_to_go() {
    let r = apply(
        CaseState::Received,
        None,
        &Action::Reject {
            reason: "court".into(),
            redirect_to: " ".into(),
        },
    );
    assert!(matches!(r, Err(ActionError::Invalid(_))));
    let r = apply(
        CaseState::Received,
        None,
        &Action::Reject {
            reason: "court".into(),
            redirect_to: "Tòa án nhân dân khu vực".into(),
        },
    );
    assert_eq!(r.unwrap().to, CaseState::Rejected);
    assert!(matches!(
        apply(
            CaseState::Accepted,
            None,
            &Action::Reject {
                reason: "court".into(),
                redirect_to: "x".into()
            }
        ),
        Err(ActionError::NotNow { .. })
    ));
}

#[test]
fn every_action_is_refused_outside_its_states() {
    let actions = [
        Action::Accept { tier: Tier::Urgent },
        Action::Forward {
            to_unit: "11977".into(),
            note: "Thuộc địa bàn xã Tân Hưng".into(),
        },
        Action::MarkDuplicate {
            original: "PA-2345-6789".into(),
        },
        Action::Assign {
            office: "commune_police".into(),
        },
        Action::Close,
        Action::Reopen {
            reason: "Ổ gà vẫn còn".into(),
        },
    ];
    for a in &actions {
        for s in CaseState::ALL {
            let allowed = a.allowed_in().contains(&s);
            assert_eq!(
                apply(s, Some(CaseState::Assigned), a).is_ok(),
                allowed,
                "{} in {s}",
                a.name()
            );
        }
    }
}

#[test]
fn tracking_codes_are_short_unambiguous_and_typed_back_loosely() {
    let code = tracking_code([0, 1, 2, 3, 200, 31, 62, 93]);
    assert_eq!(code.len(), 12);
    assert!(!code[3..].contains(['0', 'O', '1', 'I', 'L']), "{code}");
    assert_eq!(
        normalize_tracking_code(&code.to_lowercase().replace('-', " ")),
        Some(code.clone())
    );
    assert_eq!(normalize_tracking_code("PA-123"), None);
}

#[test]
fn the_deadline_that_runs_now_is_acceptance_then_the_answer_and_none_while_waiting() {
    use chrono::{Duration, Utc};
    let now = Utc::now();
    let mut case = Case {
        id: uuid::Uuid::nil(),
        code: "PA-2345-6789".into(),
        unit_id: uuid::Uuid::nil(),
        category: "road".into(),
        subdimension: "d6.3".into(),
        office: "commune_economic".into(),
        tier: Tier::Normal,
        state: CaseState::Received,
        resume_to: None,
        text: "Ổ gà trên đường liên thôn".into(),
        lat: None,
        lon: None,
        address: None,
        channel: crate::domain::Channel::Web,
        received_at: now,
        accept_due_at: now + Duration::hours(8),
        answer_due_at: Some(now + Duration::days(3)),
        extension_minutes: 0,
        answered_at: None,
        closed_at: None,
        duplicate_of: None,
        revision: 0,
        escalated_at: None,
        reporter_chat: None,
        publicity: Default::default(),
    };
    assert_eq!(case.due_now(), Some(now + Duration::hours(8)));
    assert!(case.is_overdue(now + Duration::hours(9)));
    case.state = CaseState::Assigned;
    assert_eq!(case.due_now(), Some(now + Duration::days(3)));
    case.state = CaseState::WaitingForCitizen;
    assert_eq!(case.due_now(), None);
    assert!(!case.is_overdue(now + Duration::days(30)));
    case.state = CaseState::Answered;
    assert_eq!((case.due_now(), case.deadline()), (None, Some(now + Duration::days(3))));
    assert_eq!(case.reporter_chat(), None);
}

#[test]
fn a_category_is_guessed_from_the_citizens_own_words_with_or_without_diacritics() {
    let cats = parse_categories(BUNDLED_CATEGORIES).unwrap();
    let guess = |text: &str| guess_category(&cats, text).map(|c| c.code.as_str());
    assert_eq!(guess("Nhà tôi ở tổ 5 bị mất nước 3 ngày nay rồi"), Some("clean_water"));
    assert_eq!(guess("nha toi o to 5 bi mat nuoc 3 ngay nay roi"), Some("clean_water"));
    assert_eq!(guess("MẤT ĐIỆN cả xóm từ sáng!"), Some("electricity"));
    // "đèn đường" (two words) outweighs the road's single words.
    assert_eq!(guess("Đèn đường ngõ 7 hỏng, tối om"), Some("street_light"));
    assert_eq!(guess("Đường Nguyễn Văn Linh có ổ gà lớn"), Some("road"));
    assert_eq!(guess("xin hỏi thủ tục làm sổ đỏ"), Some("land_certificate"));
    assert_eq!(guess("Tôi muốn hỏi một câu"), None);
    // Whole words only: "công an" is not "cống".
    assert_eq!(guess("công an phường"), None);
}
