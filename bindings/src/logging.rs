//! The `Logger` foreign trait: the core's `tracing` events forwarded to the shell's logger
//! (Logcat, OSLog, ETW, Python `logging`).
//!
//! Only events from Countersign's own crates are forwarded: they are written never to contain
//! a secret (the vault's secret-scan test checks that at TRACE), while third-party crates
//! (HTTP, TLS) are not under that rule. A logger that throws, or logs from inside its own
//! callback, cannot take the library down: each call is isolated and re-entry is dropped.

use crate::CountersignError;
use std::cell::Cell;
use std::sync::{Arc, OnceLock, RwLock};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something unexpected, handled.
    Warn,
    /// Milestones (account added, request answered).
    Info,
    /// Details for diagnosing.
    Debug,
    /// Everything.
    Trace,
}

impl From<&tracing::Level> for LogLevel {
    fn from(l: &tracing::Level) -> Self {
        match *l {
            tracing::Level::ERROR => Self::Error,
            tracing::Level::WARN => Self::Warn,
            tracing::Level::INFO => Self::Info,
            tracing::Level::DEBUG => Self::Debug,
            tracing::Level::TRACE => Self::Trace,
        }
    }
}

/// Receives the library's log lines (called from any thread).
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    /// One event: `target` is the Rust module, `message` the text with its fields.
    fn log(&self, level: LogLevel, target: String, message: String);
}

type Sink = (Arc<dyn Logger>, LogLevel);

static SINK: RwLock<Option<Sink>> = RwLock::new(None);
static INSTALLED: OnceLock<bool> = OnceLock::new();

thread_local! {
    static IN_LOGGER: Cell<bool> = const { Cell::new(false) };
}

/// Sends log lines at `max_level` and above to `logger` (`None` stops logging). Fails with
/// `Unsupported` if the host process already installed its own `tracing` subscriber.
#[uniffi::export]
pub fn set_logger(
    logger: Option<Arc<dyn Logger>>,
    max_level: LogLevel,
) -> Result<(), CountersignError> {
    let installed = *INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(Forward);
        tracing::subscriber::set_global_default(subscriber).is_ok()
    });
    if !installed && logger.is_some() {
        return Err(CountersignError::Unsupported {
            detail: "this process already installed a tracing subscriber".into(),
        });
    }
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = logger.map(|l| (l, max_level));
    Ok(())
}

struct Forward;

impl<S: tracing::Subscriber> Layer<S> for Forward {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with("countersign") {
            return;
        }
        let level = LogLevel::from(meta.level());
        let Some((logger, max)) = SINK.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            return;
        };
        if level > max || IN_LOGGER.with(Cell::get) {
            return;
        }
        let mut text = Text(String::new());
        event.record(&mut text);
        IN_LOGGER.with(|f| f.set(true));
        let target = meta.target().to_string();
        // A foreign logger that fails must not unwind through the library's code.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            logger.log(level, target, text.0)
        }));
        IN_LOGGER.with(|f| f.set(false));
    }
}

/// `message key=value …`, the way a log line reads.
struct Text(String);

impl tracing::field::Visit for Text {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}
