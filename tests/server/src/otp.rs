//! Server-side TOTP verification (§5.5): counters c−1, c, c+1 around server time, only above
//! the last accepted counter, compared in constant time; per-user throttling for the RP path
//! (`POST /admin/otp/verify`): after 5 consecutive failures one attempt per 30 s, after 100 a
//! lock until an administrator clears it.

use axum::http::StatusCode;
use countersign_core::crypto::{SecretBytes, constant_time_eq};
use countersign_core::openpush::seed::{OATH_DIGITS, OATH_PERIOD};
use countersign_core::otp::{Algorithm, hotp};
use rusqlite::{Connection, params};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Consecutive failures after which attempts are throttled.
const THROTTLE_AFTER: i64 = 5;
/// Seconds between attempts while throttled.
const THROTTLE_SECS: u64 = 30;
/// Consecutive failures after which OTP is locked for the user.
const LOCK_AFTER: i64 = 100;

/// The counter `code` matches at `now` (c−1, c or c+1, above `last`), if any.
pub(crate) fn match_code(
    seed: &SecretBytes,
    code: &str,
    now: u64,
    last: Option<u64>,
) -> Option<u64> {
    if code.len() != usize::from(OATH_DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let c = now / OATH_PERIOD;
    let mut found = None;
    for counter in [c.saturating_sub(1), c, c + 1] {
        if last.is_some_and(|l| counter <= l) {
            continue;
        }
        let Ok(expected) = hotp(seed, Algorithm::Sha1, OATH_DIGITS, counter) else {
            continue;
        };
        if constant_time_eq(expected.as_str().as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(counter);
        }
    }
    found
}

/// RP verification of a user's code against every active account (§5.5), with throttling.
pub(crate) fn verify_for_user(
    st: &AppState,
    conn: &Connection,
    user: &str,
    code: &str,
) -> ApiResult<bool> {
    let now = st.now();
    let row = conn.query_row(
        "SELECT otp_failures, otp_last_failure_at, otp_locked FROM users WHERE name = ?1",
        params![user],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    );
    let (failures, last_failure, locked) = match row {
        Ok(x) => x,
        Err(rusqlite::Error::QueryReturnedNoRows) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_user",
                "no such user",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if locked != 0 {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "otp_locked",
            "too many failed codes; an administrator must unblock the user",
        ));
    }
    if failures >= THROTTLE_AFTER
        && let Some(at) = last_failure
        && (at as u64) + THROTTLE_SECS > now
    {
        return Err(ApiError::rate_limited((at as u64) + THROTTLE_SECS - now));
    }
    let mut stmt = conn.prepare(
        "SELECT id, seed_sealed, last_otp_counter FROM accounts WHERE user = ?1 AND state = 'active'",
    )?;
    let accounts: Vec<(String, Vec<u8>, Option<i64>)> = stmt
        .query_map(params![user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut matched = None;
    for (id, sealed, last) in &accounts {
        let seed = st.unseal("seed", id, sealed)?;
        if let Some(counter) = match_code(&seed, code, now, last.map(|l| l as u64))
            && matched.is_none()
        {
            matched = Some((id.clone(), counter));
        }
    }
    if let Some((id, counter)) = matched {
        conn.execute(
            "UPDATE accounts SET last_otp_counter = ?1 WHERE id = ?2",
            params![counter as i64, id],
        )?;
        conn.execute(
            "UPDATE users SET otp_failures = 0, otp_last_failure_at = NULL WHERE name = ?1",
            params![user],
        )?;
        tracing::info!(account_id = %id, "otp accepted");
        Ok(true)
    } else {
        let failures = failures + 1;
        conn.execute(
            "UPDATE users SET otp_failures = ?1, otp_last_failure_at = ?2, otp_locked = ?3 WHERE name = ?4",
            params![failures, now as i64, i64::from(failures >= LOCK_AFTER), user],
        )?;
        if failures >= LOCK_AFTER {
            crate::db::audit(conn, now, "otp_locked", Some(user), None, None)?;
        }
        Ok(false)
    }
}
