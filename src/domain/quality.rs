//! Response quality: how a complete response was made, and when no person could have made it that way.
//!
//! Every response given through a conversation (the web survey, Telegram, Zalo) records its channel, the time from
//! its first screen to its completion and the screens it went through. Reading a screen, thinking and tapping an
//! answer takes a person several seconds; a script posting the forms back takes milliseconds. A response averaging
//! under [`MIN_SECONDS_PER_SCREEN`] is flagged: left out of scores and shown to administrators, who may restore it
//! (`shared/DESIGN.md`, "Response quality").

/// The least time a person takes per screen on average: the probe of issue 22 scripted 58 screens in a few
/// seconds; the quickest person answering one tap per screen takes more than this.
pub const MIN_SECONDS_PER_SCREEN: f64 = 2.0;

/// Why a response is flagged: the machine code stored, and what administrators read.
pub const TOO_FAST: &str = "too_fast";

/// The flag of a response made over `screens` screens in `seconds`, if no person could have made it.
pub fn flag(screens: i64, seconds: i64) -> Option<&'static str> {
    let screens = screens.max(1) as f64;
    (((seconds.max(0)) as f64) / screens < MIN_SECONDS_PER_SCREEN).then_some(TOO_FAST)
}

/// Screens per minute, as administrators read it.
pub fn screens_per_minute(screens: i64, seconds: i64) -> f64 {
    screens.max(0) as f64 * 60.0 / (seconds.max(1) as f64)
}

/// The label of a flag, in Vietnamese.
pub fn flag_label(flag: &str) -> &'static str {
    match flag {
        TOO_FAST => "Trả lời quá nhanh (dưới 2 giây mỗi màn hình)",
        _ => "Đánh dấu khác",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_two_seconds_a_screen_is_flagged() {
        assert_eq!(flag(58, 10), Some(TOO_FAST), "the probe's scripted responses");
        assert_eq!(flag(58, 115), Some(TOO_FAST));
        assert_eq!(flag(58, 116), None, "two seconds a screen: a quick person");
        assert_eq!(flag(58, 600), None);
        assert_eq!(flag(0, 0), Some(TOO_FAST));
        assert!((screens_per_minute(58, 600) - 5.8).abs() < 1e-9);
    }
}
