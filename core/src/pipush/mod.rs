//! The pure parts of privacyIDEA's push-token protocol (privacyIDEA 3.x, observed against 3.14:
//! `shared/research/privacyidea-push.md`, `tests/privacyidea/observed-privacyidea-3.14.json`):
//! the enrolment link, the RSA keys, every signed string and the checks on a polled challenge.
//!
//! Nothing here touches the network or the vault; [`crate::push::privacyidea`] does, through
//! these functions. Keeping them pure lets the tests replay a real server transcript byte for
//! byte.

pub mod challenge;
pub mod enroll;
pub mod keys;

pub use challenge::{Answer, VerifiedChallenge, WireChallenge};
pub use enroll::EnrollmentUri;
pub use keys::{DeviceKey, KEY_BITS, ServerKey};

#[cfg(test)]
mod tests;
