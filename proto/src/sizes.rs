//! Caps on what is stored and sent, in one place: the control plane
//! enforces them where data enters, and every client decodes up to the
//! largest answer the control plane will send, so that nothing the server
//! accepted can come back too large for the client that asked.
//!
//! A tenant's flows are bounded by these: at most
//! `triggers × MAX_BINDINGS_PER_SLOT × (MAX_CONFIG_JSON_BYTES + a few
//! hundred bytes)`, about 5 MiB with today's four triggers, which is well
//! under [`MAX_RESPONSE_BYTES`]; a runner's snapshot is sent in parts of
//! whole tenants, each under [`SNAPSHOT_PART_BYTES`] unless one tenant alone
//! is larger.

/// A binding's config, as JSON text.
pub const MAX_CONFIG_JSON_BYTES: usize = 64 * 1024;

/// A version's config schema, as JSON text.
pub const MAX_CONFIG_SCHEMA_BYTES: usize = 64 * 1024;

/// `$ref`s in one config schema.
pub const MAX_SCHEMA_REFS: usize = 256;

/// Bindings attached to one trigger slot.
pub const MAX_BINDINGS_PER_SLOT: usize = 20;

/// The largest request the management API takes (a package upload is at
/// most 4 MiB, and so are sources).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// The largest answer the control plane sends (a module to a runner, a
/// version's source, a page of runs), and so the least every client of it
/// must be ready to decode.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// About how much of a flows snapshot goes in one message to a runner.
pub const SNAPSHOT_PART_BYTES: usize = 1024 * 1024;

/// About how much one page of a listing holds, whatever its page size: a
/// page of runs with large console output ends early rather than past
/// [`MAX_RESPONSE_BYTES`].
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// Secrets one Action may have (declared in its manifest, or set).
pub const MAX_SECRETS_PER_ACTION: usize = 20;

/// One secret's value, in bytes.
pub const MAX_SECRET_VALUE_BYTES: usize = 4 * 1024;

/// Every secret value of one Action together, in bytes: each binding of the
/// Action carries them to runners, so they count towards its tenant's flows.
pub const MAX_SECRET_BYTES_PER_ACTION: usize = 16 * 1024;

/// The shortest secret value taken, in bytes: runners redact a value only
/// from this length (a shorter one would blank out ordinary words and
/// numbers), so a shorter one could show in a run's output.
pub const MIN_SECRET_VALUE_BYTES: usize = 6;

/// A secret declaration's description, in bytes.
pub const MAX_SECRET_DESCRIPTION_BYTES: usize = 512;

/// Most bytes of replay data (the event, each binding's config, clock
/// readings and fetch answers) one run record keeps. A run that read more
/// keeps none, and its record says so (`RunRecord.replay_omitted`): a
/// record is written on every sign-in, so its size is bounded whatever
/// an Action fetches.
pub const MAX_REPLAY_BYTES: usize = 512 * 1024;
