//! §5.5: the offline OATH seed, derived on both sides and never sent.

use super::encoding::labelled;
use crate::crypto::{SecretBytes, hkdf_sha256};

/// The fixed openpush/1 TOTP parameters.
pub const OATH_DIGITS: u8 = 6;
/// Step in seconds.
pub const OATH_PERIOD: u64 = 30;

/// `HKDF-SHA256(salt = request_hash, ikm = Z, info = label ‖ account_id ‖ "SHA1" ‖ kx pubs, 20)`.
pub fn derive(
    z: &SecretBytes,
    request_hash: &[u8; 32],
    account_id: &str,
    device_kx_pub: &[u8; 32],
    server_kx_pub: &[u8; 32],
) -> crate::Result<SecretBytes> {
    let mut pubs = [0u8; 64];
    pubs[..32].copy_from_slice(device_kx_pub);
    pubs[32..].copy_from_slice(server_kx_pub);
    let info = labelled(
        "openpush/1 oath-seed",
        &[account_id.as_bytes(), b"SHA1"],
        &pubs,
    );
    hkdf_sha256(request_hash, z.expose(), &info, 20)
}
