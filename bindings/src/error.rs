//! The one error type the shells see, chosen by what a shell does next, not by where in the
//! core the failure arose. Each variant carries a human-readable message (already free of
//! secrets: the core's messages never contain them) and, where useful, the field at fault.

use countersign_core::Error as CoreError;

/// Why a call failed, grouped by what the caller should do about it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum CountersignError {
    /// The input is malformed (a URI, a code, a parameter); show `message` and let the user fix it.
    #[error("{message}")]
    InvalidInput {
        /// What is wrong, in words a user can act on.
        message: String,
        /// The field or parameter at fault, when there is one.
        field: Option<String>,
    },
    /// The input is well-formed but describes something Countersign does not do.
    #[error("{message}")]
    Unsupported {
        /// What is not supported and what to do instead.
        message: String,
    },
    /// A failure inside Countersign that no user action will fix; report it.
    #[error("internal error: {message}")]
    Internal {
        /// Diagnostic text (never contains secrets).
        message: String,
    },
}

impl From<CoreError> for CountersignError {
    fn from(e: CoreError) -> Self {
        use countersign_core::otp::OtpError;
        use countersign_core::uri::UriError;
        let message = e.to_string();
        match e {
            CoreError::Uri(UriError::UnsupportedType { .. }) => Self::Unsupported { message },
            CoreError::Uri(u) => Self::InvalidInput {
                field: uri_field(&u).map(str::to_string),
                message,
            },
            CoreError::Otp(OtpError::CounterExhausted) => Self::Unsupported { message },
            CoreError::Otp(_) => Self::InvalidInput {
                message,
                field: None,
            },
            _ => Self::Internal { message },
        }
    }
}

impl From<countersign_core::uri::UriError> for CountersignError {
    fn from(e: countersign_core::uri::UriError) -> Self {
        CoreError::from(e).into()
    }
}

impl From<countersign_core::otp::OtpError> for CountersignError {
    fn from(e: countersign_core::otp::OtpError) -> Self {
        CoreError::from(e).into()
    }
}

fn uri_field(e: &countersign_core::uri::UriError) -> Option<&'static str> {
    use countersign_core::uri::UriError as U;
    Some(match e {
        U::MissingSecret
        | U::EmptySecret
        | U::InvalidSecretCharacter { .. }
        | U::InvalidSecretLength { .. }
        | U::SecretTooLong { .. } => "secret",
        U::UnknownAlgorithm(_) | U::UnsupportedAlgorithm(_) => "algorithm",
        U::InvalidDigits(_) => "digits",
        U::InvalidPeriod(_) => "period",
        U::InvalidCounter(_) => "counter",
        U::MissingType | U::UnknownType(_) => "type",
        _ => return None,
    })
}
