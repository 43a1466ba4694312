//! Push-activated accounts in the vault: storing an openpush/1 account's keys and pin, updating
//! its state, its offline codes, and the per-account record of challenges seen (the replay
//! cache of docs/protocol.md §10.1 step 14, which must survive restarts).

use super::payload::{OpenpushSecret, PipushSecret, Sealed};
use super::{
    AccountId, AccountKind, AccountSummary, CodeState, Result, Vault, VaultError, clean, now_or,
};
use crate::crypto::{DataKey, SecretBytes};
use crate::openpush::seed::{OATH_DIGITS, OATH_PERIOD};
use crate::otp::{Generator, OtpKind};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

/// A challenge this account has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenChallenge {
    /// Server challenge id.
    pub challenge_id: String,
    /// Hash of the payload as first seen.
    pub challenge_hash: String,
    /// The challenge nonce.
    pub nonce: String,
    /// Expiry.
    pub expires_at: u64,
    /// The decision sent, if answered.
    pub answered: Option<String>,
}

impl Vault {
    /// Stores a newly activated openpush/1 account (state `pending` until confirmed).
    pub fn add_openpush(
        &self,
        issuer: &str,
        label: &str,
        secret: &OpenpushSecret,
        now: u64,
    ) -> Result<AccountId> {
        let sealed = Sealed::Openpush(secret.clone());
        self.add_push(AccountKind::PushOpenpush, issuer, label, &sealed, now)
    }

    /// Stores a newly registered privacyIDEA push token.
    pub fn add_pipush(
        &self,
        issuer: &str,
        label: &str,
        secret: &PipushSecret,
        now: u64,
    ) -> Result<AccountId> {
        let sealed = Sealed::Pipush(secret.clone());
        self.add_push(AccountKind::PushPrivacyidea, issuer, label, &sealed, now)
    }

    fn add_push(
        &self,
        kind: AccountKind,
        issuer: &str,
        label: &str,
        sealed: &Sealed,
        now: u64,
    ) -> Result<AccountId> {
        let key = self.data_key()?;
        let issuer = clean(issuer, "issuer")?;
        let name = clean(label, "account name")?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO accounts (kind, issuer, name, position, created_at, sealed)
             VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(position) + 1, 0) FROM accounts), ?4, x'')",
            params![kind.as_sql(), issuer, name, now_or(now)],
        )?;
        let id = tx.last_insert_rowid();
        let blob = self.seal(&key, id, sealed)?;
        tx.execute(
            "UPDATE accounts SET sealed = ?1 WHERE id = ?2",
            params![blob, id],
        )?;
        tx.commit()?;
        tracing::debug!(account = id, kind = kind.as_sql(), "added push account");
        Ok(id)
    }

    /// The decrypted privacyIDEA data of account `id`.
    pub fn pipush_account(&self, id: AccountId) -> Result<(AccountSummary, PipushSecret)> {
        let key = self.data_key()?;
        let (summary, blob) = Self::summaries(&*self.conn()?, Some(id))?
            .pop()
            .ok_or(VaultError::NoSuchAccount(id))?;
        match self.open_blob(&key, id, &blob)? {
            Sealed::Pipush(s) if summary.kind == AccountKind::PushPrivacyidea => Ok((summary, s)),
            _ => Err(VaultError::WrongKind {
                id,
                expected: "a privacyIDEA push token",
            }),
        }
    }

    /// Every privacyIDEA push token (for polling).
    pub fn pipush_accounts(&self) -> Result<Vec<(AccountSummary, PipushSecret)>> {
        let ids: Vec<AccountId> = self
            .list()?
            .into_iter()
            .filter(|s| s.kind == AccountKind::PushPrivacyidea)
            .map(|s| s.id)
            .collect();
        ids.into_iter().map(|id| self.pipush_account(id)).collect()
    }

    /// The decrypted openpush/1 data of account `id`.
    pub fn openpush_account(&self, id: AccountId) -> Result<(AccountSummary, OpenpushSecret)> {
        let key = self.data_key()?;
        let (summary, blob) = Self::summaries(&*self.conn()?, Some(id))?
            .pop()
            .ok_or(VaultError::NoSuchAccount(id))?;
        match self.open_blob(&key, id, &blob)? {
            Sealed::Openpush(s) if summary.kind == AccountKind::PushOpenpush => Ok((summary, s)),
            _ => Err(VaultError::WrongKind {
                id,
                expected: "an openpush account",
            }),
        }
    }

    /// Every openpush/1 account (for polling).
    pub fn openpush_accounts(&self) -> Result<Vec<(AccountSummary, OpenpushSecret)>> {
        let ids: Vec<AccountId> = self
            .list()?
            .into_iter()
            .filter(|s| s.kind == AccountKind::PushOpenpush)
            .map(|s| s.id)
            .collect();
        ids.into_iter()
            .map(|id| self.openpush_account(id))
            .collect()
    }

    /// Changes an openpush account's sealed data in one transaction.
    pub fn update_openpush(
        &self,
        id: AccountId,
        change: impl FnOnce(&mut OpenpushSecret),
    ) -> Result<()> {
        self.update_sealed(id, |sealed| match sealed {
            Sealed::Openpush(s) => {
                change(s);
                Ok(())
            }
            _ => Err(VaultError::WrongKind {
                id,
                expected: "an openpush account",
            }),
        })
    }

    /// Changes a privacyIDEA token's sealed data in one transaction.
    pub fn update_pipush(
        &self,
        id: AccountId,
        change: impl FnOnce(&mut PipushSecret),
    ) -> Result<()> {
        self.update_sealed(id, |sealed| match sealed {
            Sealed::Pipush(s) => {
                change(s);
                Ok(())
            }
            _ => Err(VaultError::WrongKind {
                id,
                expected: "a privacyIDEA push token",
            }),
        })
    }

    /// Opens account `id`'s sealed payload, lets `change` edit it, and seals it again, all in
    /// one write transaction.
    fn update_sealed(
        &self,
        id: AccountId,
        change: impl FnOnce(&mut Sealed) -> Result<()>,
    ) -> Result<()> {
        let key = self.data_key()?;
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let blob: Vec<u8> = tx
            .query_row("SELECT sealed FROM accounts WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or(VaultError::NoSuchAccount(id))?;
        let mut sealed = self.open_blob(&key, id, &blob)?;
        change(&mut sealed)?;
        let blob = self.seal(&key, id, &sealed)?;
        tx.execute(
            "UPDATE accounts SET sealed = ?1 WHERE id = ?2",
            params![blob, id],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn openpush_state(
        &self,
        key: &DataKey,
        s: &AccountSummary,
        blob: &[u8],
        at: u64,
    ) -> CodeState {
        let Ok(Sealed::Openpush(secret)) = self.open_blob(key, s.id, blob) else {
            return CodeState::Unreadable;
        };
        if secret.state != "active" {
            return CodeState::NoCode;
        }
        let Ok(seed) = crate::openpush::encoding::unb64(&secret.seed, "seed") else {
            return CodeState::Unreadable;
        };
        let seed = SecretBytes::new(seed);
        // Codes follow the server's clock (§7).
        let corrected = at.saturating_add_signed(secret.clock_offset);
        match Generator::decimal(crate::otp::Algorithm::Sha1, OATH_DIGITS, &seed)
            .and_then(|g| g.at_time(OATH_PERIOD, corrected))
        {
            Ok(code) => CodeState::Timed {
                kind: OtpKind::Totp {
                    period: OATH_PERIOD,
                },
                code,
            },
            Err(_) => CodeState::Unreadable,
        }
    }

    /// The record of challenge `challenge_id` for account `id`, if seen.
    pub fn seen_challenge(
        &self,
        id: AccountId,
        challenge_id: &str,
    ) -> Result<Option<SeenChallenge>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT challenge_id, challenge_hash, nonce, expires_at, answered
                 FROM push_seen WHERE account_id = ?1 AND challenge_id = ?2",
                params![id, challenge_id],
                |r| {
                    Ok(SeenChallenge {
                        challenge_id: r.get(0)?,
                        challenge_hash: r.get(1)?,
                        nonce: r.get(2)?,
                        expires_at: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                        answered: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// Records a challenge as seen. Fails with [`VaultError::InvalidInput`] if the id was seen
    /// with another hash, or the nonce with another id (a replayed or altered challenge).
    pub fn record_challenge(&self, id: AccountId, c: &SeenChallenge, now: u64) -> Result<()> {
        let conn = self.conn()?;
        // Forget entries well past expiry (kept 600 s after, §10.1 step 14).
        conn.execute(
            "DELETE FROM push_seen WHERE account_id = ?1 AND expires_at + 600 < ?2",
            params![id, now_or(now)],
        )?;
        let existing: Option<(String, String)> = conn
            .query_row(
                "SELECT challenge_id, challenge_hash FROM push_seen
                 WHERE account_id = ?1 AND (challenge_id = ?2 OR nonce = ?3)",
                params![id, c.challenge_id, c.nonce],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match existing {
            Some((cid, hash)) if cid == c.challenge_id && hash == c.challenge_hash => Ok(()),
            Some(_) => Err(VaultError::InvalidInput(
                "a challenge id or nonce was seen before with different content (replay)".into(),
            )),
            None => {
                conn.execute(
                    "INSERT INTO push_seen (account_id, challenge_id, challenge_hash, nonce, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, c.challenge_id, c.challenge_hash, c.nonce, now_or(c.expires_at)],
                )?;
                Ok(())
            }
        }
    }

    /// The account that saw challenge `challenge_id` (ids are random, so at most one).
    pub fn account_for_challenge(&self, challenge_id: &str) -> Result<Option<AccountId>> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT account_id FROM push_seen WHERE challenge_id = ?1",
                [challenge_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Marks a challenge answered with `decision`; fails if it already was.
    pub fn mark_answered(&self, id: AccountId, challenge_id: &str, decision: &str) -> Result<()> {
        let n = self.conn()?.execute(
            "UPDATE push_seen SET answered = ?3
             WHERE account_id = ?1 AND challenge_id = ?2 AND answered IS NULL",
            params![id, challenge_id, decision],
        )?;
        if n == 0 {
            return Err(VaultError::InvalidInput(
                "this challenge was already answered".into(),
            ));
        }
        Ok(())
    }
}
