//! What a run produced: its typed outcome, the effects it asked for, its logs.

use crate::replay::RunInputs;
use serde::Serialize;
use serde_json::{Map, Value};
use std::time::Duration;

/// How a run ended. Tests and callers match on this; never on messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// `execute` finished without denying.
    Allowed,
    /// `execute` called `api.access.deny(reason)`.
    Denied {
        /// The reason given.
        reason: String,
    },
    /// The run used all of its fuel.
    OutOfFuel,
    /// The run passed its wall-clock deadline.
    DeadlineExceeded,
    /// The run asked for more linear memory than its limit.
    MemoryLimitExceeded,
    /// The run wrote more console output than its limit.
    LogLimitExceeded,
    /// The Action threw, rejected, or could not finish.
    GuestError {
        /// The error's name (`TypeError`, ...), or what kind of failure it was.
        name: String,
        /// The JavaScript message.
        message: String,
        /// The JavaScript stack, when there is one.
        stack: String,
    },
    /// The runner failed, not the Action.
    HostError {
        /// What failed.
        message: String,
    },
}

impl Outcome {
    /// Whether the Action ran to a decision (allowed or denied).
    pub fn is_decision(&self) -> bool {
        matches!(self, Outcome::Allowed | Outcome::Denied { .. })
    }

    /// What went wrong, for a guest or host error: `TypeError: bad thing`.
    pub fn error_text(&self) -> Option<String> {
        match self {
            Outcome::GuestError { name, message, .. } => Some(format!("{name}: {message}")),
            Outcome::HostError { message } => Some(message.clone()),
            _ => None,
        }
    }

    /// A short, stable name: `allowed`, `denied`, `out_of_fuel`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied { .. } => "denied",
            Outcome::OutOfFuel => "out_of_fuel",
            Outcome::DeadlineExceeded => "deadline_exceeded",
            Outcome::MemoryLimitExceeded => "memory_limit_exceeded",
            Outcome::LogLimitExceeded => "log_limit_exceeded",
            Outcome::GuestError { .. } => "guest_error",
            Outcome::HostError { .. } => "host_error",
        }
    }
}

/// The effects an Action asked for. Only a run that ends in a decision
/// reports them; a failed run's partial effects are dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Effects {
    /// Custom claims for the access token.
    pub access_token_claims: Map<String, Value>,
    /// Custom claims for the ID token.
    pub id_token_claims: Map<String, Value>,
    /// Scopes added to the access token, in call order, without repeats.
    pub scopes_added: Vec<String>,
    /// Scopes removed from the access token, in call order, without repeats.
    pub scopes_removed: Vec<String>,
    /// `app_metadata` keys to set on the user.
    pub app_metadata: Map<String, Value>,
    /// `user_metadata` keys to set on the user.
    pub user_metadata: Map<String, Value>,
}

/// The level of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// `console.log`
    Log,
    /// `console.info`
    Info,
    /// `console.warn`
    Warn,
    /// `console.error`
    Error,
    /// `console.debug`
    Debug,
}

impl LogLevel {
    /// `log`, `info`, `warn`, `error` or `debug`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Log => "log",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Debug => "debug",
        }
    }

    pub(crate) fn from_abi(level: i32) -> Option<Self> {
        Some(match level {
            0 => LogLevel::Log,
            1 => LogLevel::Info,
            2 => LogLevel::Warn,
            3 => LogLevel::Error,
            4 => LogLevel::Debug,
            _ => return None,
        })
    }
}

/// Who wrote a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogOrigin {
    /// The Action's `console`.
    Action,
    /// The runtime, about the Action (a refused `api` call, a limit).
    Runtime,
}

impl LogOrigin {
    /// `action` or `runtime`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogOrigin::Action => "action",
            LogOrigin::Runtime => "runtime",
        }
    }
}

/// One line of a run's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Its level.
    pub level: LogLevel,
    /// Who wrote it.
    pub origin: LogOrigin,
    /// The text.
    pub message: String,
    /// Unix time in milliseconds.
    pub timestamp_ms: u64,
}

/// Everything about one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// How it ended.
    pub outcome: Outcome,
    /// Claims, scopes and metadata it asked for (empty unless it decided).
    pub effects: Effects,
    /// Its console output and the runtime's notes, capped by the log limit.
    pub logs: Vec<LogLine>,
    /// Fuel consumed.
    pub fuel_consumed: u64,
    /// Wall-clock time, instantiation included.
    #[serde(serialize_with = "as_micros")]
    pub duration: Duration,
    /// What it read from outside itself (clocks, seed, fetch answers), for
    /// its record; `None` when that was more than a record keeps.
    #[serde(skip)]
    pub inputs: Option<RunInputs>,
    /// In a replay, the first read the record could not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_divergence: Option<String>,
}

fn as_micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
