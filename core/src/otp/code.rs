//! A rendered one-time code: short, fixed-capacity, wiped on drop and never printed by `Debug`.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Longest code we render (10 decimal digits).
const CAPACITY: usize = 10;

/// A one-time code such as `"287082"` or Steam's `"2GX4K"`.
///
/// Codes are short-lived secrets: `Debug` shows only the length, there is no `Display`, and
/// the bytes are zeroized on drop. Read the code with [`OtpCode::as_str`].
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct OtpCode {
    bytes: [u8; CAPACITY],
    len: u8,
}

impl OtpCode {
    /// Renders `value` as exactly `digits` decimal digits, with leading zeros (1 ≤ digits ≤ 10).
    pub(crate) fn decimal(value: u32, digits: u8) -> Self {
        let digits = usize::from(digits).clamp(1, CAPACITY);
        let mut rest = u64::from(value) % 10u64.pow(digits as u32);
        let mut bytes = [b'0'; CAPACITY];
        for slot in bytes[..digits].iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        Self {
            bytes,
            len: digits as u8,
        }
    }

    /// Wraps already-rendered ASCII symbols (at most 10).
    pub(crate) fn from_symbols(symbols: &[u8]) -> Self {
        let len = symbols.len().min(CAPACITY);
        let mut bytes = [0u8; CAPACITY];
        bytes[..len].copy_from_slice(&symbols[..len]);
        Self {
            bytes,
            len: len as u8,
        }
    }

    /// The code as text (ASCII digits, or Steam's letters and digits).
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written into `bytes`, so this cannot fail; an empty string is
        // the defensive answer rather than a panic.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// Number of characters.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True for an empty code (never produced by the generators).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OtpCode(<{} chars redacted>)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_and_truncates() {
        assert_eq!(OtpCode::decimal(42, 6).as_str(), "000042");
        assert_eq!(OtpCode::decimal(1_234_567_890, 6).as_str(), "567890");
        assert_eq!(OtpCode::decimal(0x7fff_ffff, 10).as_str(), "2147483647");
        assert_eq!(OtpCode::decimal(7, 10).as_str(), "0000000007");
    }

    #[test]
    fn debug_is_redacted() {
        let c = OtpCode::decimal(123_456, 6);
        assert!(!format!("{c:?}").contains("123456"));
    }
}
