//! Sign-ins and challenges (§8, §9): creating them (RP sign-ins and the activation
//! confirmation), lazy expiry, and answer processing with its single attempt at the number.
//!
//! A *sign-in* row holds the number; each of its *challenges* (one per active account, or the
//! one activation challenge) carries the exact payload bytes that were signed.

use axum::http::StatusCode;
use countersign_core::crypto::{constant_time_eq, es256_verify, random_bytes};
use countersign_core::openpush::Envelope;
use countersign_core::openpush::encoding::unb64_len;
use countersign_core::openpush::messages::{Answer, Challenge, Context};
use countersign_core::openpush::verify::{answer_input, challenge_hash};
use rusqlite::{Connection, OptionalExtension, params};

use crate::auth::{AccountState, Device};
use crate::error::{ApiError, ApiResult};
use crate::push::WakeUp;
use crate::state::AppState;

/// Transit grace after `expires_at` for answers (§9.3 step 3).
pub(crate) const GRACE: u64 = 5;

/// Kind of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An RP sign-in to active accounts.
    Signin,
    /// The confirmation of a pending account (§5.6).
    Activation,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Signin => "signin",
            Kind::Activation => "activation",
        }
    }
}

/// A uniformly random number of `len` digits, zero-padded (rejection sampling, no bias).
pub(crate) fn random_number(len: u8) -> ApiResult<String> {
    let modulus = 10u32.pow(u32::from(len.clamp(2, 6)));
    let limit = u32::MAX - (u32::MAX % modulus);
    loop {
        let r = random_bytes(4)?;
        let b = r.expose();
        let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        if v < limit {
            return Ok(format!("{:0width$}", v % modulus, width = usize::from(len)));
        }
    }
}

/// Applies time-based transitions: challenges and sign-ins past expiry (+ grace), waiting
/// codes past their TTL, pending accounts past `confirm_by`.
pub(crate) fn sweep(conn: &Connection, now: u64) -> ApiResult<()> {
    let n = now as i64;
    conn.execute(
        "UPDATE challenges SET state = 'expired', reason = 'timeout'
         WHERE state = 'pending' AND expires_at + ?2 <= ?1",
        params![n, GRACE as i64],
    )?;
    conn.execute(
        "UPDATE signins SET state = 'expired', reason = 'timeout'
         WHERE state = 'pending' AND expires_at + ?2 <= ?1",
        params![n, GRACE as i64],
    )?;
    conn.execute(
        "UPDATE enrollments SET state = 'expired', reason = 'timeout'
         WHERE state = 'waiting' AND expires_at <= ?1",
        params![n],
    )?;
    let mut stmt = conn.prepare(
        "SELECT id, enrollment_id FROM accounts WHERE state = 'pending' AND confirm_by <= ?1",
    )?;
    let late: Vec<(String, String)> = stmt
        .query_map(params![n], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (account, enrollment) in late {
        delete_account(conn, &account, "timeout", now)?;
        conn.execute(
            "UPDATE enrollments SET state = 'expired', reason = 'timeout' WHERE id = ?1",
            params![enrollment],
        )?;
    }
    Ok(())
}

/// Deletes an account's key, seed and push registration, closing its pending challenges with
/// `reason`; only an audit record stays.
pub(crate) fn delete_account(
    conn: &Connection,
    account: &str,
    reason: &str,
    now: u64,
) -> ApiResult<()> {
    close_account_challenges(conn, account, reason)?;
    let user: Option<String> = conn
        .query_row(
            "SELECT user FROM accounts WHERE id = ?1",
            params![account],
            |r| r.get(0),
        )
        .optional()?;
    conn.execute("DELETE FROM accounts WHERE id = ?1", params![account])?;
    conn.execute(
        "DELETE FROM request_nonces WHERE account_id = ?1",
        params![account],
    )?;
    crate::db::audit(
        conn,
        now,
        "account_deleted",
        user.as_deref(),
        Some(account),
        Some(reason),
    )?;
    Ok(())
}

/// Expires an account's pending challenges (and sign-ins left without a pending challenge).
pub(crate) fn close_account_challenges(
    conn: &Connection,
    account: &str,
    reason: &str,
) -> ApiResult<()> {
    conn.execute(
        "UPDATE challenges SET state = 'expired', reason = ?2 WHERE account_id = ?1 AND state = 'pending'",
        params![account, reason],
    )?;
    conn.execute(
        "UPDATE signins SET state = 'expired', reason = ?2
         WHERE state = 'pending'
           AND id IN (SELECT signin_id FROM challenges WHERE account_id = ?1)
           AND NOT EXISTS (SELECT 1 FROM challenges c WHERE c.signin_id = signins.id AND c.state = 'pending')",
        params![account, reason],
    )?;
    Ok(())
}

/// A device to challenge.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub account_id: String,
    pub provider: String,
    pub token: String,
}

/// What creating a sign-in produced.
#[derive(Debug)]
pub(crate) struct Created {
    pub signin_id: String,
    /// Shown to the browser only.
    pub number: String,
    pub expires_at: u64,
    pub challenge_ids: Vec<String>,
    /// Wake-ups to deliver once the transaction is committed.
    pub wakes: Vec<WakeUp>,
}

/// Creates a sign-in with one signed challenge per target, in one transaction.
pub(crate) fn create(
    st: &AppState,
    conn: &Connection,
    user: &str,
    kind: Kind,
    enrollment_id: Option<&str>,
    targets: &[Target],
    context: Context,
) -> ApiResult<Created> {
    let now = st.now();
    let ttl = st.policy.challenge_ttl.clamp(30, 120);
    let expires_at = now + ttl;
    let number_length = st.policy.number_length.clamp(2, 6);
    let number = random_number(number_length)?;
    let signin_id = crate::wire::new_id()?;
    let keys = st.keys()?;
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO signins (id, user, kind, enrollment_id, number, state, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
        params![
            signin_id,
            user,
            kind.as_str(),
            enrollment_id,
            number,
            now as i64,
            expires_at as i64
        ],
    )?;
    let mut challenge_ids = Vec::new();
    let mut wakes = Vec::new();
    for t in targets {
        let challenge_id = crate::wire::new_id()?;
        let nonce = crate::wire::new_id()?;
        let payload = Challenge {
            account_id: t.account_id.clone(),
            challenge_id: challenge_id.clone(),
            kind: kind.as_str().into(),
            nonce: nonce.clone(),
            created_at: now,
            expires_at,
            number_matching: true,
            number_length,
            fraud_report: kind == Kind::Signin,
            context: context.clone(),
        };
        let bytes = serde_json::to_vec(&payload)?;
        let env = Envelope::sign(&keys.signer, "challenge", &bytes);
        tx.execute(
            "INSERT INTO challenges (id, signin_id, account_id, kind, nonce, payload, envelope, state, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9)",
            params![
                challenge_id,
                signin_id,
                t.account_id,
                kind.as_str(),
                nonce,
                bytes,
                serde_json::to_string(&env)?,
                now as i64,
                expires_at as i64
            ],
        )?;
        if t.provider != "none" {
            wakes.push(WakeUp {
                account_id: t.account_id.clone(),
                challenge_id: Some(challenge_id.clone()),
                provider: t.provider.clone(),
                token: t.token.clone(),
            });
        }
        challenge_ids.push(challenge_id);
    }
    crate::db::audit(
        &tx,
        now,
        &format!("{}_created", kind.as_str()),
        Some(user),
        None,
        Some(&signin_id),
    )?;
    tx.commit()?;
    tracing::info!(signin_id = %signin_id, kind = kind.as_str(), challenges = challenge_ids.len(), "sign-in created");
    Ok(Created {
        signin_id,
        number,
        expires_at,
        challenge_ids,
        wakes,
    })
}

/// Delivers wake-ups (after commit, outside the database lock). Failures are logged only: the
/// device still finds the challenge by pulling.
pub(crate) async fn deliver(st: &AppState, wakes: &[WakeUp]) {
    for w in wakes {
        if let Err(e) = st.push.deliver(w).await {
            tracing::warn!(account_id = %w.account_id, error = %e, "wake-up not delivered");
        }
    }
}

/// A stored challenge.
pub(crate) struct Stored {
    pub account_id: String,
    pub signin_id: String,
    pub kind: String,
    pub nonce: String,
    pub payload: Vec<u8>,
    pub envelope: String,
    pub state: String,
    pub expires_at: u64,
}

/// Loads a challenge visible to `account` (`not_found` otherwise).
pub(crate) fn load_for(conn: &Connection, challenge_id: &str, account: &str) -> ApiResult<Stored> {
    let row = conn
        .query_row(
            "SELECT account_id, signin_id, kind, nonce, payload, envelope, state, expires_at
             FROM challenges WHERE id = ?1",
            params![challenge_id],
            |r| {
                Ok(Stored {
                    account_id: r.get(0)?,
                    signin_id: r.get(1)?,
                    kind: r.get(2)?,
                    nonce: r.get(3)?,
                    payload: r.get(4)?,
                    envelope: r.get(5)?,
                    state: r.get(6)?,
                    expires_at: r.get::<_, i64>(7)? as u64,
                })
            },
        )
        .optional()?;
    match row {
        Some(s) if s.account_id == account => Ok(s),
        _ => Err(ApiError::not_found("unknown challenge")),
    }
}

/// `challenge_closed` (409) with the state.
pub(crate) fn closed(state: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "challenge_closed",
        "challenge already answered or closed",
    )
    .with_state(state)
}

/// `challenge_expired` (410).
pub(crate) fn expired() -> ApiError {
    ApiError::new(StatusCode::GONE, "challenge_expired", "challenge expired")
}

/// The outcome of an answer, for the receipt.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub state: &'static str,
    pub reason: Option<&'static str>,
}

fn digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

/// §9.3: answer processing, steps 2–10 (request auth and body parsing are done).
pub(crate) fn answer(
    st: &AppState,
    conn: &Connection,
    dev: &Device,
    path_id: &str,
    ans: &Answer,
) -> ApiResult<Outcome> {
    let now = st.now();
    if ans.challenge_id != path_id {
        return Err(ApiError::bad_request("challenge_id differs from the path"));
    }
    let c = load_for(conn, path_id, &dev.account_id)?;
    let activation = c.kind == "activation";
    if dev.state == AccountState::Pending && !activation {
        return Err(ApiError::not_found("unknown challenge"));
    }
    match c.state.as_str() {
        "pending" => {}
        "expired" => return Err(expired()),
        other => return Err(closed(other)),
    }
    if now >= c.expires_at + GRACE {
        return Err(expired());
    }
    let payload: Challenge = serde_json::from_slice(&c.payload)?;
    match ans.decision.as_str() {
        "approve" | "deny" => {}
        "fraud" if payload.fraud_report => {}
        "fraud" => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "decision_not_allowed",
                "fraud reports are not offered on this challenge",
            ));
        }
        _ => return Err(ApiError::unsupported("unknown decision")),
    }
    let approve = ans.decision == "approve";
    match (&ans.number, approve) {
        (Some(n), true) if digits(n, usize::from(payload.number_length)) => {}
        (None, false) => {}
        _ => {
            return Err(ApiError::bad_request(
                "number must be present exactly for approve, with number_length digits",
            ));
        }
    }
    match (&ans.otp, approve && activation) {
        (Some(o), true) if digits(o, 6) => {}
        (None, false) => {}
        _ => {
            return Err(ApiError::bad_request(
                "otp must be present exactly when approving an activation, 6 digits",
            ));
        }
    }
    if ans.answered_at.abs_diff(now) > crate::auth::WINDOW {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "stale_request",
            "answered_at outside the ±120 s window",
        ));
    }
    let sig = unb64_len(&ans.sig, 64, "sig").map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            "answer signature malformed",
        )
    })?;
    let input = answer_input(
        &dev.account_id,
        path_id,
        &c.nonce,
        &challenge_hash(&c.payload),
        &ans.decision,
        ans.number.as_deref().unwrap_or(""),
        ans.otp.as_deref().unwrap_or(""),
        ans.answered_at,
    );
    if !es256_verify(&dev.device_key, &input, &sig) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            "answer signature does not verify",
        ));
    }

    // Step 7: one atomic compare-and-set from pending.
    let tx = conn.unchecked_transaction()?;
    let (number, user): (String, String) = tx.query_row(
        "SELECT number, user FROM signins WHERE id = ?1",
        params![c.signin_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut matched_counter = None;
    let outcome = match ans.decision.as_str() {
        "approve" => {
            let typed = ans.number.as_deref().unwrap_or("");
            if !constant_time_eq(typed.as_bytes(), number.as_bytes()) {
                Outcome {
                    state: "denied",
                    reason: Some("wrong_number"),
                }
            } else if activation {
                let (sealed, last): (Vec<u8>, Option<i64>) = tx.query_row(
                    "SELECT seed_sealed, last_otp_counter FROM accounts WHERE id = ?1",
                    params![dev.account_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let seed = st.unseal("seed", &dev.account_id, &sealed)?;
                matched_counter = crate::otp::match_code(
                    &seed,
                    ans.otp.as_deref().unwrap_or(""),
                    now,
                    last.map(|l| l as u64),
                );
                if matched_counter.is_some() {
                    Outcome {
                        state: "approved",
                        reason: None,
                    }
                } else {
                    Outcome {
                        state: "denied",
                        reason: Some("otp_mismatch"),
                    }
                }
            } else {
                Outcome {
                    state: "approved",
                    reason: None,
                }
            }
        }
        "deny" => Outcome {
            state: "denied",
            reason: None,
        },
        _ => Outcome {
            state: "fraud",
            reason: None,
        },
    };
    let changed = tx.execute(
        "UPDATE challenges SET state = ?1, reason = ?2, answered_at = ?3 WHERE id = ?4 AND state = 'pending'",
        params![outcome.state, outcome.reason, now as i64, path_id],
    )?;
    if changed != 1 {
        return Err(closed("closed"));
    }
    tx.execute(
        "UPDATE signins SET state = ?1, reason = ?2, answered_by = ?3, answered_at = ?4
         WHERE id = ?5 AND state = 'pending'",
        params![
            outcome.state,
            outcome.reason,
            dev.account_id,
            now as i64,
            c.signin_id
        ],
    )?;
    // Step 8: siblings.
    tx.execute(
        "UPDATE challenges SET state = 'closed', reason = 'answered_elsewhere'
         WHERE signin_id = ?1 AND id != ?2 AND state = 'pending'",
        params![c.signin_id, path_id],
    )?;
    // Step 9: fraud blocks the user.
    if outcome.state == "fraud" {
        tx.execute(
            "UPDATE users SET fraud_blocked = 1, fraud_reported_at = ?1 WHERE name = ?2",
            params![now as i64, user],
        )?;
        crate::db::audit(
            &tx,
            now,
            "fraud_reported",
            Some(&user),
            Some(&dev.account_id),
            Some(path_id),
        )?;
        tracing::warn!(account_id = %dev.account_id, challenge_id = %path_id, "fraud reported: user blocked");
    }
    // Step 10: activation confirmation.
    if activation {
        let enrollment: Option<String> = tx
            .query_row(
                "SELECT enrollment_id FROM accounts WHERE id = ?1",
                params![dev.account_id],
                |r| r.get(0),
            )
            .optional()?;
        if outcome.state == "approved" {
            tx.execute(
                "UPDATE accounts SET state = 'active', activated_at = ?1, last_otp_counter = ?2 WHERE id = ?3",
                params![now as i64, matched_counter.map(|c| c as i64), dev.account_id],
            )?;
            tx.execute(
                "UPDATE enrollments SET state = 'active', activated_at = ?1 WHERE id = ?2",
                params![now as i64, enrollment],
            )?;
            crate::db::audit(
                &tx,
                now,
                "account_activated",
                Some(&user),
                Some(&dev.account_id),
                None,
            )?;
            tracing::info!(account_id = %dev.account_id, "new authenticator added");
        } else {
            tx.execute(
                "UPDATE enrollments SET state = 'failed', reason = ?1 WHERE id = ?2",
                params![outcome.reason.unwrap_or("denied"), enrollment],
            )?;
            delete_account(
                &tx,
                &dev.account_id,
                outcome.reason.unwrap_or("denied"),
                now,
            )?;
        }
    }
    crate::db::audit(
        &tx,
        now,
        "challenge_answered",
        Some(&user),
        Some(&dev.account_id),
        Some(outcome.state),
    )?;
    tx.commit()?;
    tracing::info!(account_id = %dev.account_id, challenge_id = %path_id, state = outcome.state, "challenge answered");
    Ok(outcome)
}
