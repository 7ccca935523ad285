use super::*;

#[test]
fn short_text_is_one_part() {
    assert_eq!(split_text("xin chào\nbạn", 4096), vec!["xin chào\nbạn"]);
    assert!(split_text("  \n \n", 4096).is_empty());
}

#[test]
fn text_splits_on_lines_then_spaces_then_anywhere() {
    assert_eq!(split_text("aaaa\nbbbb\ncc", 9), vec!["aaaa\nbbbb", "cc"]);
    assert_eq!(split_text("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
    assert_eq!(split_text("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    // A character outside the BMP counts two units and is never cut.
    assert_eq!(split_text("😀😀😀", 4), vec!["😀😀", "😀"]);
    for part in split_text(&"Phường Phố Hiến ".repeat(1000), 4096) {
        assert!(utf16_len(&part) <= 4096);
    }
}

#[test]
fn split_keeps_every_word() {
    let text = (0..3000).map(|i| format!("từ{i}")).collect::<Vec<_>>().join(" ");
    let parts = split_text(&text, 100);
    assert_eq!(parts.join(" "), text);
}

#[test]
fn per_chat_burst_then_one_a_second() {
    let limiter = RateLimiter::new(Limits::default());
    let now = Instant::now();
    for _ in 0..PER_CHAT_BURST {
        assert_eq!(limiter.reserve_chat("1", now), now);
    }
    assert_eq!(limiter.reserve_chat("1", now), now + Duration::from_secs(1));
    assert_eq!(limiter.reserve_chat("1", now), now + Duration::from_secs(2));
    // Another chat is not held back by the first.
    assert_eq!(limiter.reserve_chat("2", now), now);
    assert_eq!(limiter.reserve_overall(now), now);
    // After a quiet while, the burst is back.
    let later = now + Duration::from_secs(10);
    for _ in 0..PER_CHAT_BURST {
        assert_eq!(limiter.reserve_chat("1", later), later);
    }
}

#[test]
fn overall_limit_spreads_many_chats() {
    let limiter = RateLimiter::new(Limits {
        per_chat_per_second: 1.0,
        overall_per_second: 10.0,
    });
    let now = Instant::now();
    let slots: Vec<Instant> = (0..30).map(|_| limiter.reserve_overall(now)).collect();
    assert!(slots[..10].iter().all(|at| *at == now));
    assert_eq!(slots[10], now + Duration::from_millis(100));
    assert_eq!(slots[29], now + Duration::from_millis(2000));
}

#[test]
fn idle_chats_are_forgotten() {
    let limiter = RateLimiter::new(Limits::default());
    let start = Instant::now();
    for i in 0..100_000u64 {
        // One new chat every 50 ms: each chat is idle again one second later.
        limiter.reserve_chat(&i.to_string(), start + Duration::from_millis(50 * i));
    }
    assert!(limiter.remembered_chats() <= 2 * MIN_PRUNE_THRESHOLD + 1);
}

#[test]
fn no_limit_for_non_positive_rates() {
    let limiter = RateLimiter::new(Limits {
        per_chat_per_second: 0.0,
        overall_per_second: f64::NAN,
    });
    let now = Instant::now();
    for _ in 0..100 {
        assert_eq!(limiter.reserve_chat("1", now), now);
        assert_eq!(limiter.reserve_overall(now), now);
    }
}

#[test]
fn error_descriptions_are_classified() {
    let fail = |d: &str| match classify_description(d) {
        Outcome::Fail(e) => e,
        Outcome::WaitAndRetry(w) => panic!("{d}: wait {w:?}"),
    };
    assert!(matches!(
        classify_description("Too Many Requests: retry after 7"),
        Outcome::WaitAndRetry(w) if w == Duration::from_secs(7)
    ));
    assert!(matches!(
        fail("Forbidden: bot can't initiate conversation with a user"),
        DeliveryError::Unreachable(_)
    ));
    assert!(matches!(
        fail("Bad Request: chat not found"),
        DeliveryError::Unreachable(_)
    ));
    assert!(matches!(fail("Bad Request: something new"), DeliveryError::Refused(_)));
    assert!(matches!(fail("Internal Server Error"), DeliveryError::Retry(_)));
}
