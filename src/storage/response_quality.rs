//! How complete responses were made (`response_quality`), the flagged ones administrators review, and the
//! responses completed per client address (`address_responses`): migration 0016.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Store, StoreError, execute, fetch};

/// Flagged responses of one wave and commune, beside all its complete responses.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct FlaggedCount {
    pub wave_code: String,
    pub unit_code: String,
    pub unit_name: String,
    pub flagged: i64,
    pub complete: i64,
}

/// One flagged response, as administrators review it (never with an identity: there is none).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct FlaggedResponse {
    pub response_id: Uuid,
    pub wave_code: String,
    pub unit_code: String,
    pub unit_name: String,
    pub channel: String,
    pub screens: i64,
    pub seconds: i64,
    pub flag: String,
    pub flagged_at: Option<DateTime<Utc>>,
}

/// The share of one channel among a commune's complete responses of a wave.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelCount {
    pub channel: String,
    pub responses: i64,
}

impl Store {
    /// Flagged responses per wave and commune, with the commune's complete responses, the most flagged first.
    pub async fn flagged_counts(&self) -> Result<Vec<FlaggedCount>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "counting flagged responses",
            "SELECT w.code AS wave_code, u.code AS unit_code, u.name AS unit_name, \
             COUNT(q.flag) AS flagged, COUNT(*) AS complete \
             FROM response_quality q JOIN waves w ON w.id = q.wave_id JOIN admin_units u ON u.id = q.unit_id \
             GROUP BY w.code, u.code, u.name HAVING COUNT(q.flag) > 0 \
             ORDER BY COUNT(q.flag) DESC, w.code, u.code",
        )
    }

    /// The newest flagged responses (at most `limit`).
    pub async fn flagged_responses(&self, limit: i64) -> Result<Vec<FlaggedResponse>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading flagged responses",
            "SELECT q.response_id, w.code AS wave_code, u.code AS unit_code, u.name AS unit_name, q.channel, \
             q.screens, q.seconds, q.flag, q.flagged_at \
             FROM response_quality q JOIN waves w ON w.id = q.wave_id JOIN admin_units u ON u.id = q.unit_id \
             WHERE q.flag IS NOT NULL ORDER BY q.flagged_at DESC, q.response_id LIMIT $1",
            limit,
        )
    }

    /// Counts a flagged response again (an administrator restored it); `false` when it was not flagged.
    pub async fn restore_response(
        &self,
        response_id: Uuid,
        official_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        let changed = execute!(
            writer.pool,
            "restoring a flagged response",
            "UPDATE response_quality SET flag = NULL, reviewed_at = $2, reviewed_by = $3 \
             WHERE response_id = $1 AND flag IS NOT NULL",
            response_id,
            now,
            official_id,
        )?;
        Ok(changed == 1)
    }

    /// Records how complete responses were made (`(response, unit, wave, channel, screens, seconds)`), flagging
    /// those no person could have made (`domain::quality`); for responses stored outside a conversation (the demo's).
    pub async fn record_response_quality(
        &self,
        rows: &[(Uuid, Uuid, Uuid, String, i64, i64)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        for (response_id, unit_id, wave_id, channel, screens, seconds) in rows {
            let flag = crate::domain::quality::flag(*screens, *seconds);
            execute!(
                writer.pool,
                "recording how a response was made",
                "INSERT INTO response_quality (response_id, unit_id, wave_id, channel, screens, seconds, flag, \
                 flagged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (response_id) DO NOTHING",
                response_id,
                unit_id,
                wave_id,
                channel,
                screens,
                seconds,
                flag,
                flag.map(|_| now),
            )?;
        }
        Ok(())
    }

    /// Complete web responses of a wave and commune counted for one address hash.
    pub async fn address_responses(&self, wave_id: Uuid, unit_id: Uuid, address_hash: &str) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = fetch!(
            &self.pool,
            fetch_optional,
            "counting the responses of an address",
            "SELECT responses FROM address_responses WHERE wave_id = $1 AND unit_id = $2 AND address_hash = $3",
            wave_id,
            unit_id,
            address_hash,
        )?;
        Ok(row.map_or(0, |(n,)| n))
    }

    /// Complete responses of a wave in one commune per channel (flagged ones too: the share is of what came in).
    /// The commune page asks on every view, so the commune's unit ids are looked up first and the responses
    /// index (wave, unit, complete, channel) answers alone, without reading the rows (migration 0024): joined on
    /// the code instead, SQLite walked the whole wave (0.6 ms against 42 ms at 100,000 responses).
    pub async fn channel_counts(&self, wave_id: Uuid, unit_code: &str) -> Result<Vec<ChannelCount>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "counting responses per channel",
            "SELECT r.channel, COUNT(*) AS responses FROM responses r \
             WHERE r.wave_id = $1 AND r.unit_id IN (SELECT id FROM admin_units WHERE code = $2) \
             AND r.complete = $3 GROUP BY r.channel ORDER BY r.channel",
            wave_id,
            unit_code,
            true,
        )
    }
}
