//! Issue 18 in `ykien demo`: subscribers of Phường Phố Hiến on both chats (one opted out, one off the news), a
//! campaign approved and scheduled for tomorrow morning, and a PAPI quiz round open for a month for every commune —
//! offered in the chats' menu («🏆 Dự thi tìm hiểu PAPI») and on the web — with the draft campaign announcing it
//! waiting for the leader's approval. Once: a second run finds them and adds nothing.

use chrono::{DateTime, Duration, Utc};

use super::{campaigns, quiz};
use crate::services::Error;
use crate::services::accounts::login;
use crate::services::demo::DEMO_PASSWORD;
use crate::storage::{ChatUserRow, Store};

/// The demo's quiz round's title.
pub const DEMO_ROUND: &str = "Tìm hiểu PAPI và Luật Thực hiện dân chủ ở cơ sở (minh hoạ)";

pub async fn prepare(store: &Store, now: DateTime<Utc>) -> Result<(), Error> {
    if !store.campaigns(1).await?.is_empty() {
        return Ok(());
    }
    for i in 0..12 {
        let channel = if i % 3 == 0 { "zalo" } else { "telegram" };
        let row = ChatUserRow {
            channel: channel.into(),
            user_id: format!("demo-{channel}-{i}"),
            lang: if i == 5 { "en".into() } else { "vi".into() },
            commune_code: Some("11953".into()),
            dialog: String::new(),
            revision: 0,
            reachable: i != 7,
            opted_out: i == 4,
            last_interaction_at: Some(now - Duration::hours(i64::from(i) * 10)),
            created_at: now,
        };
        store.save_chat_user(&row, true).await?;
        if i == 2 {
            store.set_news_subscription(channel, &row.user_id, false, now).await?;
        }
    }
    let Ok((_, officer)) = login(store, "canbo.phohien", DEMO_PASSWORD, "127.0.0.1", now).await? else {
        return Ok(());
    };
    let Ok((_, leader)) = login(store, "lanhdao.hungyen", DEMO_PASSWORD, "127.0.0.1", now).await? else {
        return Ok(());
    };
    let tomorrow = campaigns::vn_time(now + Duration::days(1)).replace(' ', "T");
    let approved = campaigns::CampaignForm {
        title: "Lịch tiếp công dân tháng này".into(),
        text_vi: "Phường Phố Hiến tiếp công dân vào sáng thứ Năm hằng tuần tại trụ sở phường. Mời bà con đến góp \
                  ý hoặc gửi phản ánh ngay trong kênh này."
            .into(),
        text_en:
            "Phố Hiến ward receives citizens every Thursday morning at the ward office. Come and give your views, \
                  or send feedback right here."
                .into(),
        link: "https://ykien.example.vn/news/11953".into(),
        image: None,
        communes: vec!["11953".into()],
        channels: vec!["telegram".into(), "zalo".into()],
        scheduled_vn: tomorrow.clone(),
    };
    let id = campaigns::draft(store, &officer, &approved, now).await?;
    campaigns::approve(store, &leader, id, now).await?;
    let bank = quiz::bundled_bank();
    let ids: Vec<String> = bank
        .iter()
        .filter(|q| q.topic != "feedback")
        .step_by(3)
        .take(8)
        .map(|q| q.id.clone())
        .collect();
    let round = quiz::create_round(
        store,
        DEMO_ROUND,
        &ids,
        now - Duration::hours(1),
        now + Duration::days(30),
        3,
        now,
    )
    .await?;
    let draft = campaigns::CampaignForm {
        title: "Mời tham gia cuộc thi tìm hiểu PAPI".into(),
        text_vi: "Cuộc thi tìm hiểu PAPI và Luật Thực hiện dân chủ ở cơ sở đã mở: bấm «🏆 Dự thi tìm hiểu PAPI» \
                  trong menu của kênh này để trả lời từng câu ngay tại đây, hoặc trả lời trên trang web."
            .into(),
        text_en: "The quiz on PAPI and the Law on grassroots democracy is open: press “🏆 PAPI quiz” in this \
                  channel's menu to answer one question at a time right here, or answer on the web."
            .into(),
        link: format!("https://ykien.example.vn/quiz/{round}"),
        scheduled_vn: tomorrow,
        ..approved
    };
    campaigns::draft(store, &officer, &draft, now).await?;
    Ok(())
}
