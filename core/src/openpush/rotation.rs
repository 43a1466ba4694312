//! §11.2–11.3: key rotation. The device's statement and the two signatures over it (old key:
//! authority, new key: possession), and the walk along the server's chain of rotation
//! statements from the pinned key to its current one, each link verified with the key before.

use super::ProtocolError;
use super::encoding::{b64, labelled, unb64};
use super::envelope::{Envelope, MAX_PAYLOAD, ServerKey};
use super::messages::KeyRef;
use crate::crypto::sha256;
use serde::{Deserialize, Serialize};

/// Longest chain followed (§14).
pub const MAX_CHAIN: usize = 16;
/// Label of the device-key rotation signatures.
const DEVICE_LABEL: &str = "openpush/1 device-key-rotation";

/// A device key's id: `base64url(SHA-256(SEC1 public key)[0..16])`.
pub fn device_kid(public_sec1: &[u8]) -> String {
    b64(&sha256(public_sec1)[..16])
}

/// The device-key rotation statement (§11.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeviceRotation {
    /// The account.
    pub account_id: String,
    /// Id of the key being replaced.
    pub old_kid: String,
    /// The new key.
    pub new_key: KeyRef,
    /// Id of the new key.
    pub new_kid: String,
    /// When the device made the statement (server-corrected).
    pub issued_at: u64,
    /// Random, once.
    pub nonce: String,
}

/// What the old (`"old"`) or the new (`"new"`) key signs over the statement bytes.
pub fn device_rotation_input(role: &str, statement: &[u8]) -> Vec<u8> {
    labelled(DEVICE_LABEL, &[role.as_bytes()], statement)
}

/// The server-key rotation statement (§11.3), signed with the old key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerRotation {
    /// Id of the key replaced.
    pub old_kid: String,
    /// The new key.
    pub new_key: KeyRef,
    /// Its id.
    pub new_kid: String,
    /// When.
    pub rotated_at: u64,
}

/// The payload of `GET /account/server-key`.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerKeyInfo {
    /// The account.
    pub account_id: String,
    /// Id of the key the server signs with now.
    pub current_kid: String,
    /// That key.
    pub current_key: KeyRef,
    /// Rotation statements, oldest first.
    pub chain: Vec<Envelope>,
    /// Our nonce, echoed.
    pub request_nonce: String,
    /// Server time.
    pub server_time: u64,
}

/// Reads an envelope's payload *without* verifying it (bounded), for the one case where the
/// key to verify with is only known after walking the chain inside it.
pub fn unverified_payload(env: &Envelope) -> Result<Vec<u8>, ProtocolError> {
    let bytes = unb64(&env.payload, "payload")?;
    if bytes.len() > MAX_PAYLOAD {
        return Err(ProtocolError::invalid("payload", "larger than 16 KiB"));
    }
    Ok(bytes)
}

/// Walks `chain` from `pinned` to the key whose id is `current_kid`: each step takes the
/// statement signed by the key in hand, verifies it, and checks it names that key as old and
/// the new key's real id as new. Anything else (a gap, a loop, a forged link, more than
/// [`MAX_CHAIN`] steps) is a security error and the pin must stay as it is.
pub fn follow_chain(
    pinned: &ServerKey,
    chain: &[Envelope],
    current_kid: &str,
) -> Result<ServerKey, ProtocolError> {
    if chain.len() > MAX_CHAIN {
        return Err(ProtocolError::invalid("chain", "more than 16 statements"));
    }
    let broken = |why: &str| ProtocolError::invalid("chain", why.to_string());
    let mut key = pinned.clone();
    for _ in 0..=MAX_CHAIN {
        if key.kid() == current_kid {
            return Ok(key);
        }
        let link = chain
            .iter()
            .find(|e| e.kid == key.kid())
            .ok_or_else(|| broken("does not lead from the pinned key"))?;
        let bytes = link.verify("server-key-rotation", &key)?;
        let r: ServerRotation =
            serde_json::from_slice(&bytes).map_err(|_| broken("a statement is malformed"))?;
        if r.old_kid != key.kid() || r.new_key.alg != "Ed25519" {
            return Err(broken("a statement names another key"));
        }
        let next = ServerKey::from_b64(&r.new_key.public)?;
        if next.kid() != r.new_kid {
            return Err(broken("a statement's new_kid is not its key's id"));
        }
        key = next;
    }
    Err(broken("longer than 16 steps"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Ed25519Signer, SecretBytes, es256_verify};

    fn seed(hex: &str) -> Ed25519Signer {
        Ed25519Signer::from_seed(&SecretBytes::new(
            data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap(),
        ))
        .unwrap()
    }

    fn old_server() -> Ed25519Signer {
        seed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    }

    fn new_server() -> Ed25519Signer {
        Ed25519Signer::from_seed(&SecretBytes::new(sha256(b"example server key 2").to_vec()))
            .unwrap()
    }

    fn pubkey(s: &Ed25519Signer) -> ServerKey {
        ServerKey::from_bytes(&s.public_key()).unwrap()
    }

    const STATEMENT: &str = r#"{"account_id":"mvIRMpsvyC5e_pBgYscwCA","old_kid":"sYuGzhOJ5G3oeqSlExzoPA","new_key":{"alg":"ES256","pub":"BC3mdJVzxeUlalwdmhodxdTl-O4z7TfqsXg3TMA6-E3exqDcvNnQkwF4qeavUrwwDPGZuSCxk9u_9Bw3Qj4HMgQ"},"new_kid":"RH_wnXy-MXDR_d2Q9wdgOw","issued_at":1767312000,"nonce":"L30STirNdOLhAd8UdjlzQw"}"#;
    const OLD_DEVICE: &str =
        "BGD-1LolWp0xyWHrdMY1bWjASbiSO2H6bOZpYi5g8p-2eQP-EAi4vJmkGunpVii8ZPLxsgwtfp9Rd6PClNRGIpk";

    #[test]
    fn protocol_md_device_rotation_example_verifies() {
        let s: DeviceRotation = serde_json::from_str(STATEMENT).unwrap();
        let old = unb64(OLD_DEVICE, "k").unwrap();
        let new = unb64(&s.new_key.public, "k").unwrap();
        assert_eq!(device_kid(&old), s.old_kid);
        assert_eq!(device_kid(&new), s.new_kid);
        let old_sig = unb64("UDcJbAuoK6M1AteWV5nsXCWwjhpK6bybz1-DQC76-wQDDvCZpSd41jIC1cP3RtJXfwJgGB0W8a6i1Ik6GqGnUA", "s").unwrap();
        let new_sig = unb64("ZC_kbbpQlEeh59kzxEZSodhEdtF-gQuW_KZV2YployB32aDNCXKQP-03ZKYW3eXRZ9wnc4xYncAbVxe5CuYwLw", "s").unwrap();
        let bytes = STATEMENT.as_bytes();
        assert!(es256_verify(
            &old,
            &device_rotation_input("old", bytes),
            &old_sig
        ));
        assert!(es256_verify(
            &new,
            &device_rotation_input("new", bytes),
            &new_sig
        ));
        // Roles are not interchangeable.
        assert!(!es256_verify(
            &old,
            &device_rotation_input("new", bytes),
            &old_sig
        ));
    }

    #[test]
    fn protocol_md_server_rotation_example_verifies_and_the_chain_is_followed() {
        let statement = r#"{"old_kid":"If4x36FUomFia_hUBG_SJw","new_key":{"alg":"Ed25519","pub":"rqOk1n-Z6qpLFFSoqDF8LQaVieuWS_JKPwfgQ76kUOQ"},"new_kid":"QA-AN-1CHiYM7A3lmkRgdg","rotated_at":1769817600}"#;
        let env = Envelope::sign(&old_server(), "server-key-rotation", statement.as_bytes());
        assert_eq!(
            env.sig,
            "3IiQrlThVC9d1ZSrZ8NXl2-HgZo0k7k0_oOnJGtQBKct6geOCH_NHZiNfEH5DsSpnmMA_wm1YIWUM84oHIqlAQ"
        );
        assert_eq!(
            pubkey(&new_server()).to_b64(),
            "rqOk1n-Z6qpLFFSoqDF8LQaVieuWS_JKPwfgQ76kUOQ"
        );
        let got = follow_chain(&pubkey(&old_server()), &[env], "QA-AN-1CHiYM7A3lmkRgdg").unwrap();
        assert_eq!(got, pubkey(&new_server()));
    }

    fn rotation(from: &Ed25519Signer, to: &ServerKey) -> Envelope {
        let r = ServerRotation {
            old_kid: pubkey(from).kid(),
            new_key: KeyRef {
                alg: "Ed25519".into(),
                public: to.to_b64(),
            },
            new_kid: to.kid(),
            rotated_at: 1,
        };
        Envelope::sign(
            from,
            "server-key-rotation",
            &serde_json::to_vec(&r).unwrap(),
        )
    }

    #[test]
    fn chains_that_do_not_lead_from_the_pin_are_refused() {
        let (a, b, c) = (
            old_server(),
            new_server(),
            Ed25519Signer::generate().unwrap().0,
        );
        let (pa, pb, pc) = (pubkey(&a), pubkey(&b), pubkey(&c));
        // Two honest steps, in any order in the list.
        let chain = [rotation(&b, &pc), rotation(&a, &pb)];
        assert_eq!(follow_chain(&pa, &chain, &pc.kid()).unwrap(), pc);
        // Already current: nothing to follow.
        assert_eq!(follow_chain(&pc, &[], &pc.kid()).unwrap(), pc);
        // A gap (the a→b link missing).
        assert!(follow_chain(&pa, &chain[..1], &pc.kid()).is_err());
        // A link signed by someone else (an attacker's key claiming to rotate ours).
        let (evil, _) = Ed25519Signer::generate().unwrap();
        let mut forged = rotation(&evil, &pubkey(&evil));
        forged.kid = pa.kid();
        assert!(follow_chain(&pa, &[forged], &pubkey(&evil).kid()).is_err());
        // A statement whose new_kid lies about its key.
        let mut r: ServerRotation =
            serde_json::from_slice(&unverified_payload(&rotation(&a, &pb)).unwrap()).unwrap();
        r.new_kid = pc.kid();
        let lying = Envelope::sign(&a, "server-key-rotation", &serde_json::to_vec(&r).unwrap());
        assert!(follow_chain(&pa, &[lying], &pc.kid()).is_err());
        // A loop a→b→a never reaches c.
        let looped = [rotation(&a, &pb), rotation(&b, &pa)];
        assert!(follow_chain(&pa, &looped, &pc.kid()).is_err());
        // Too long.
        let many: Vec<Envelope> = (0..17).map(|_| rotation(&a, &pb)).collect();
        assert!(follow_chain(&pa, &many, &pb.kid()).is_err());
    }
}
