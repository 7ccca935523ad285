//! The button payloads of the chat dialogue: short strings (at most 64 bytes, Telegram's limit for callback data)
//! in one grammar, written and read only by the dialogue.

use uuid::Uuid;
use ykien_bots::message::Button;

/// A button payload of the chat dialogue. Written and read only here (and by the rating buttons of notifications,
/// built by [`rating_buttons`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Payload {
    /// `m:<item>`: a menu entry.
    Menu(MenuItem),
    /// `c:<code>`: this commune.
    Commune(String),
    /// `cs:<code>`: yes, this commune, though a survey of another one is half-way.
    SwitchCommune(String),
    /// `s:<screen>:<code>`: this answer to the question of this screen.
    Answer { screen: usize, code: String },
    /// `s:back`: the previous question.
    Back,
    /// `s:pause`: pause the survey.
    Pause,
    /// `k:<category>`: this feedback category.
    Category(String),
    /// `f:<step>`: a step of the feedback form.
    Form(FormAction),
    /// `v:<code>`: show this case.
    Case(String),
    /// `r:<code>:<1-5>`: rate this case's answer.
    Rate { code: String, stars: i64 },
    /// `z:<round>`: take part in this quiz round (the id without hyphens).
    QuizStart(Uuid),
    /// `za:<round>:<question index>:<choice from 1>`: this answer to this question of this round.
    QuizAnswer { round: Uuid, index: usize, choice: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MenuItem {
    Home,
    /// "Nhận tin": take the commune's news again.
    NewsOn,
    /// "Dừng nhận tin": no more commune news (case news still come).
    NewsOff,
    Survey,
    Feedback,
    Follow,
    Language,
    Commune,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FormAction {
    /// Done with photos.
    Next,
    /// No location.
    NoLocation,
    Send,
    Cancel,
    /// Yes, send the report read from what they typed.
    Keep,
    /// Choose another category.
    ChangeCategory,
    /// Show the categories beyond the most common.
    MoreCategories,
    /// Allow (or no longer allow) the answered report to be shown publicly.
    TogglePublic,
}

impl Payload {
    pub(super) fn parse(text: &str) -> Option<Self> {
        let (kind, rest) = text.split_once(':')?;
        Some(match kind {
            "m" => Self::Menu(match rest {
                "home" => MenuItem::Home,
                "newson" => MenuItem::NewsOn,
                "newsoff" => MenuItem::NewsOff,
                "survey" => MenuItem::Survey,
                "feedback" => MenuItem::Feedback,
                "follow" => MenuItem::Follow,
                "lang" => MenuItem::Language,
                "commune" => MenuItem::Commune,
                _ => return None,
            }),
            "c" => Self::Commune(rest.to_owned()),
            "cs" => Self::SwitchCommune(rest.to_owned()),
            "s" if rest == "back" => Self::Back,
            "s" if rest == "pause" => Self::Pause,
            "s" => {
                let (screen, code) = rest.split_once(':')?;
                Self::Answer {
                    screen: screen.parse().ok()?,
                    code: code.to_owned(),
                }
            }
            "k" => Self::Category(rest.to_owned()),
            "f" => Self::Form(match rest {
                "next" => FormAction::Next,
                "noloc" => FormAction::NoLocation,
                "send" => FormAction::Send,
                "cancel" => FormAction::Cancel,
                "keep" => FormAction::Keep,
                "cat" => FormAction::ChangeCategory,
                "more" => FormAction::MoreCategories,
                "public" => FormAction::TogglePublic,
                _ => return None,
            }),
            "v" => Self::Case(rest.to_owned()),
            "r" => {
                let (code, stars) = rest.rsplit_once(':')?;
                Self::Rate {
                    code: code.to_owned(),
                    stars: stars.parse().ok()?,
                }
            }
            "z" => Self::QuizStart(rest.parse().ok()?),
            "za" => {
                let mut parts = rest.splitn(3, ':');
                Self::QuizAnswer {
                    round: parts.next()?.parse().ok()?,
                    index: parts.next()?.parse().ok()?,
                    choice: parts.next()?.parse().ok()?,
                }
            }
            _ => return None,
        })
    }

    pub(super) fn encode(&self) -> String {
        match self {
            Self::Menu(item) => format!(
                "m:{}",
                match item {
                    MenuItem::Home => "home",
                    MenuItem::NewsOn => "newson",
                    MenuItem::NewsOff => "newsoff",
                    MenuItem::Survey => "survey",
                    MenuItem::Feedback => "feedback",
                    MenuItem::Follow => "follow",
                    MenuItem::Language => "lang",
                    MenuItem::Commune => "commune",
                }
            ),
            Self::Commune(code) => format!("c:{code}"),
            Self::SwitchCommune(code) => format!("cs:{code}"),
            Self::Answer { screen, code } => format!("s:{screen}:{code}"),
            Self::Back => "s:back".to_owned(),
            Self::Pause => "s:pause".to_owned(),
            Self::Category(code) => format!("k:{code}"),
            Self::Form(action) => format!(
                "f:{}",
                match action {
                    FormAction::Next => "next",
                    FormAction::NoLocation => "noloc",
                    FormAction::Send => "send",
                    FormAction::Cancel => "cancel",
                    FormAction::Keep => "keep",
                    FormAction::ChangeCategory => "cat",
                    FormAction::MoreCategories => "more",
                    FormAction::TogglePublic => "public",
                }
            ),
            Self::Case(code) => format!("v:{code}"),
            Self::Rate { code, stars } => format!("r:{code}:{stars}"),
            Self::QuizStart(round) => format!("z:{}", round.simple()),
            Self::QuizAnswer { round, index, choice } => format!("za:{}:{index}:{choice}", round.simple()),
        }
    }
}
pub(super) fn button(label: impl Into<String>, payload: Payload) -> Button {
    Button {
        label: label.into(),
        payload: payload.encode(),
    }
}

/// The five rating buttons sent with an answered case's notification.
pub fn rating_buttons(code: &str) -> Vec<Button> {
    (1..=5)
        .rev()
        .map(|stars| {
            button(
                format!("{} {stars}/5", "★".repeat(stars as usize)),
                Payload::Rate {
                    code: code.to_owned(),
                    stars,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Mode;

    #[test]
    fn payloads_round_trip() {
        for p in [
            Payload::Menu(MenuItem::Survey),
            Payload::Commune("11953".into()),
            Payload::SwitchCommune("11953".into()),
            Payload::Answer {
                screen: 12,
                code: "not_told".into(),
            },
            Payload::Back,
            Payload::Pause,
            Payload::Form(FormAction::Keep),
            Payload::Form(FormAction::MoreCategories),
            Payload::Form(FormAction::TogglePublic),
            Payload::Category("road".into()),
            Payload::Form(FormAction::NoLocation),
            Payload::Case("HY-7K3M9P".into()),
            Payload::Rate {
                code: "HY-7K3M9P".into(),
                stars: 4,
            },
            Payload::QuizStart(Uuid::from_u128(u128::MAX)),
            Payload::QuizAnswer {
                round: Uuid::from_u128(u128::MAX),
                index: 29,
                choice: 5,
            },
        ] {
            assert_eq!(Payload::parse(&p.encode()), Some(p.clone()), "{p:?}");
        }
        assert_eq!(Payload::parse("s:x:1"), None);
        assert_eq!(Payload::parse("nonsense"), None);
        assert_eq!(Payload::parse("m:unknown"), None);
        assert_eq!(Payload::parse("za:not-a-round:0:1"), None);
        let longest = Payload::QuizAnswer {
            round: Uuid::from_u128(u128::MAX),
            index: 999,
            choice: 5,
        };
        assert!(longest.encode().len() <= 64, "{}", longest.encode());
    }

    #[test]
    fn every_answer_button_of_the_questionnaire_fits_telegram_callback_data() {
        let q =
            crate::domain::questionnaire::Questionnaire::parse(include_str!("../../../questionnaires/papi-2025.toml"))
                .unwrap();
        let screens = crate::conversation::screens(&q, Mode::Chat);
        for (s, screen) in screens.iter().enumerate() {
            for &i in &screen.questions {
                for o in q.questions[i].options() {
                    let payload = Payload::Answer {
                        screen: s,
                        code: o.code,
                    }
                    .encode();
                    assert!(payload.len() <= 64, "{payload}");
                }
            }
        }
    }
}
