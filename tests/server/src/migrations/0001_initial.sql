-- Migration 1: the reference server's whole data model.
-- Secrets are never stored in clear: activation codes and OATH seeds are sealed (AES-256-GCM
-- under <data>/seal-key), page tokens and app passwords are stored only as hashes.

CREATE TABLE users (
    name               TEXT PRIMARY KEY,
    created_at         INTEGER NOT NULL,
    fraud_blocked      INTEGER NOT NULL DEFAULT 0,
    fraud_reported_at  INTEGER,
    otp_failures       INTEGER NOT NULL DEFAULT 0,
    otp_last_failure_at INTEGER,
    otp_locked         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE enrollments (
    id               TEXT PRIMARY KEY,
    user             TEXT NOT NULL REFERENCES users(name),
    code_id          TEXT NOT NULL UNIQUE,
    code_sealed      BLOB NOT NULL,           -- the 20 canonical symbols, sealed
    page_token_hash  TEXT NOT NULL UNIQUE,    -- SHA-256 of the page capability token
    base_url         TEXT NOT NULL,
    server_kid       TEXT NOT NULL,           -- key the code commits to
    state            TEXT NOT NULL,           -- waiting | pending | active | expired | failed
    reason           TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    account_id       TEXT,
    request_hash     TEXT,                    -- consumed activation request (idempotent retry)
    response_body    BLOB,                    -- the stored 201 body for that request
    confirm_by       INTEGER,
    activated_at     INTEGER
);

CREATE TABLE accounts (
    id               TEXT PRIMARY KEY,
    user             TEXT NOT NULL REFERENCES users(name),
    enrollment_id    TEXT NOT NULL,
    state            TEXT NOT NULL,           -- pending | active | revoked
    revoked_reason   TEXT,
    device_key       BLOB NOT NULL,           -- 65-byte SEC1 P-256 point
    device_kid       TEXT NOT NULL,
    push_provider    TEXT NOT NULL,
    push_token       TEXT NOT NULL,
    device_name      TEXT NOT NULL,
    platform         TEXT NOT NULL,
    app_version      TEXT NOT NULL,
    seed_sealed      BLOB NOT NULL,
    last_otp_counter INTEGER,
    created_at       INTEGER NOT NULL,
    confirm_by       INTEGER NOT NULL,
    activated_at     INTEGER
);
CREATE INDEX accounts_user ON accounts(user);

-- A sign-in (or the activation confirmation) holds the number; its challenges share it.
CREATE TABLE signins (
    id               TEXT PRIMARY KEY,
    user             TEXT NOT NULL,
    kind             TEXT NOT NULL,           -- signin | activation
    enrollment_id    TEXT,
    number           TEXT NOT NULL,           -- shown to the browser only; never logged
    state            TEXT NOT NULL,           -- pending | approved | denied | fraud | expired
    reason           TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    answered_by      TEXT,
    answered_at      INTEGER
);
CREATE INDEX signins_user ON signins(user, created_at);

CREATE TABLE challenges (
    id               TEXT PRIMARY KEY,
    signin_id        TEXT NOT NULL REFERENCES signins(id),
    account_id       TEXT NOT NULL,
    kind             TEXT NOT NULL,
    nonce            TEXT NOT NULL,
    payload          BLOB NOT NULL,           -- the exact signed bytes
    envelope         TEXT NOT NULL,           -- the current signed envelope (JSON)
    state            TEXT NOT NULL,           -- pending | approved | denied | fraud | expired | closed
    reason           TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    answered_at      INTEGER
);
CREATE INDEX challenges_account ON challenges(account_id, state);

CREATE TABLE request_nonces (
    account_id       TEXT NOT NULL,
    nonce            TEXT NOT NULL,
    seen_at          INTEGER NOT NULL,
    PRIMARY KEY (account_id, nonce)
);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       TEXT NOT NULL,
    challenge_id     TEXT,
    provider         TEXT NOT NULL,
    token            TEXT NOT NULL,
    data             TEXT NOT NULL,           -- the §8.3 map as JSON
    created_at       INTEGER NOT NULL
);

CREATE TABLE app_passwords (
    id               TEXT PRIMARY KEY,
    user             TEXT NOT NULL,
    enrollment_id    TEXT NOT NULL,
    hash             TEXT NOT NULL,           -- argon2id$m$t$p$salt$hash
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER
);

CREATE TABLE server_key_chain (
    seq              INTEGER PRIMARY KEY,
    old_kid          TEXT NOT NULL,
    new_kid          TEXT NOT NULL,
    envelope         TEXT NOT NULL,           -- server-key-rotation envelope signed by the old key
    rotated_at       INTEGER NOT NULL
);

CREATE TABLE device_key_rotations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       TEXT NOT NULL,
    statement        BLOB NOT NULL,
    old_sig          TEXT NOT NULL,
    new_sig          TEXT NOT NULL,
    rotated_at       INTEGER NOT NULL
);

CREATE TABLE audit (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    at               INTEGER NOT NULL,
    event            TEXT NOT NULL,
    user             TEXT,
    account_id       TEXT,
    detail           TEXT
);
