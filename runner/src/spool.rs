//! The record spool: every `Execute` leaves a run record, spooled to disk
//! before the call returns and pushed to the control plane at least once
//! (idempotent by run id, see `control_plane::push`), so that neither a
//! control-plane outage nor a runner restart loses a record.
//!
//! The spool is a folder of segments: length-delimited protobuf records
//! appended to `<sequence>-<millis>.open`, one `write` per record into the
//! page cache, on the caller's thread (a few microseconds; a hand-off to a
//! writer thread cost two context switches per call, which under load was
//! more than the write). A segment is sealed (renamed to `.seg`) when it
//! holds [`SEGMENT_BYTES`] or is [`SEAL_AFTER`] old, and only sealed
//! segments are pushed. The spool is bounded in records and in bytes
//! ([`SpoolBounds`]): past either, the oldest sealed segments are dropped,
//! with a warning and the `actions.records.dropped` counter (so the bound
//! holds to within the open segment, [`SEGMENT_BYTES`]). A segment is
//! deleted when the control plane has acknowledged every record in it.
//!
//! A record the control plane refuses (see `control_plane::push`) is set
//! aside in `rejected/`, with an error in the log and the
//! `actions.records.rejected` counter, and the records behind it go on;
//! `rejected/` keeps at most an eighth of the byte bound, oldest dropped.
//! The folders are made `0700` and the files `0600`: records hold what
//! users did.
//!
//! A killed runner leaves whole records, and at most a torn last record in
//! its `.open` segment: the next start seals it and pushes every whole
//! record. Records are in the page cache when the call returns, not
//! `fsync`ed: they survive the process, not the machine. One file per
//! record (`.rec`), the format before segments, is still read and pushed,
//! and so are records of the shape before the response was embedded.

use crate::error::RunnerError;
use crate::telemetry::SpoolMetrics;
use actions_proto::controlplane::v1::RunRecord;
use actions_proto::record::decode_record;
use prost::Message as _;
use std::collections::VecDeque;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A segment is sealed once it is this large...
pub const SEGMENT_BYTES: u64 = 1024 * 1024;
/// ...or this old, so that records reach the control plane soon after.
pub const SEAL_AFTER: Duration = Duration::from_millis(100);

/// Where refused records are set aside, inside the spool folder.
pub const REJECTED_DIR: &str = "rejected";

/// How much the spool keeps before it drops its oldest segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolBounds {
    /// Records in sealed segments.
    pub max_records: usize,
    /// Bytes of sealed segments.
    pub max_bytes: u64,
}

const OPEN: &str = "open";
const SEALED: &str = "seg";
/// One record per file: the format before segments.
const LEGACY: &str = "rec";

/// The on-disk spool.
pub struct RecordSpool {
    /// `None` once closed.
    writer: Mutex<Option<SegmentWriter>>,
    sealed: Arc<Mutex<Sealed>>,
    /// Woken when a segment is sealed: the pusher waits on it.
    pub(crate) wake: Arc<tokio::sync::Notify>,
    dir: PathBuf,
    bounds: SpoolBounds,
    counts: Arc<SpoolCounts>,
}

/// What the spool had to give up, since it was opened.
#[derive(Default)]
struct SpoolCounts {
    dropped: AtomicU64,
    rejected: AtomicU64,
    metrics: SpoolMetrics,
}

/// Segments ready to push, oldest first, with their record and byte counts.
#[derive(Default)]
struct Sealed {
    segments: VecDeque<SealedSegment>,
    records: usize,
    bytes: u64,
}

struct SealedSegment {
    path: PathBuf,
    records: usize,
    bytes: u64,
}

impl Sealed {
    fn push(&mut self, path: PathBuf, records: usize, bytes: u64) {
        self.records += records;
        self.bytes += bytes;
        self.segments.push_back(SealedSegment {
            path,
            records,
            bytes,
        });
    }

    fn remove(&mut self, path: &Path) -> Option<SealedSegment> {
        let at = self.segments.iter().position(|s| s.path == path)?;
        let segment = self.segments.remove(at)?;
        self.records -= segment.records;
        self.bytes -= segment.bytes;
        Some(segment)
    }

    /// Drops the oldest segments while over `bounds`, keeping the newest.
    fn drop_oldest_over(&mut self, bounds: SpoolBounds, counts: &SpoolCounts) {
        while (self.records > bounds.max_records || self.bytes > bounds.max_bytes)
            && self.segments.len() > 1
        {
            let Some(oldest) = self.segments.pop_front() else {
                break;
            };
            self.records -= oldest.records;
            self.bytes -= oldest.bytes;
            counts
                .dropped
                .fetch_add(oldest.records as u64, Ordering::Relaxed);
            counts.metrics.dropped(oldest.records as u64);
            tracing::warn!(file = %oldest.path.display(), records = oldest.records, bytes = oldest.bytes, "record spool full: dropping the oldest segment");
            let _ = std::fs::remove_file(&oldest.path);
        }
    }
}

impl RecordSpool {
    /// Opens (and creates) the spool folder. Segments left by an earlier
    /// process, sealed or not, are kept and will be pushed.
    pub fn open(dir: &Path, bounds: SpoolBounds) -> Result<Arc<Self>, RunnerError> {
        let failed = |e: std::io::Error| {
            RunnerError::Config(format!("opening the record spool {}: {e}", dir.display()))
        };
        make_private_dir(dir).map_err(failed)?;
        let bounds = SpoolBounds {
            max_records: bounds.max_records.max(1),
            max_bytes: bounds.max_bytes.max(1),
        };
        let counts = Arc::new(SpoolCounts::default());
        let mut sealed = Sealed::default();
        let mut last_sequence = 0;
        for path in files_with(dir, &[OPEN, SEALED, LEGACY]).map_err(failed)? {
            if let Some(sequence) = segment_sequence(&path) {
                last_sequence = last_sequence.max(sequence);
            }
            let path = if path.extension().is_some_and(|e| e == OPEN) {
                let to = path.with_extension(SEALED);
                std::fs::rename(&path, &to).map_err(failed)?;
                to
            } else {
                path
            };
            let records = read_segment(&path).map(|r| r.len()).unwrap_or(0);
            let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
            sealed.push(path, records, bytes);
        }
        sealed.drop_oldest_over(bounds, &counts);
        let sealed = Arc::new(Mutex::new(sealed));
        let wake = Arc::new(tokio::sync::Notify::new());
        let writer = SegmentWriter {
            dir: dir.to_owned(),
            bounds,
            open: None,
            sequence: last_sequence,
            sealed: Arc::clone(&sealed),
            wake: Arc::clone(&wake),
            counts: Arc::clone(&counts),
        };
        Ok(Arc::new(Self {
            writer: Mutex::new(Some(writer)),
            sealed,
            wake,
            dir: dir.to_owned(),
            bounds,
            counts,
        }))
    }

    /// Appends a record; when it returns, the record survives this process.
    /// One small `write` into the page cache.
    pub fn append(&self, record: &RunRecord) -> std::io::Result<()> {
        let bytes = record.encode_length_delimited_to_vec();
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| std::io::Error::other("the record spool is broken"))?;
        let Some(writer) = writer.as_mut() else {
            return Err(std::io::Error::other("the record spool is closed"));
        };
        writer.append(&bytes)?;
        if writer
            .open
            .as_ref()
            .is_some_and(|o| o.bytes >= SEGMENT_BYTES)
        {
            writer.seal();
        }
        Ok(())
    }

    /// Seals the open segment if it is [`SEAL_AFTER`] old, so that its
    /// records get pushed; the pusher calls it.
    pub fn seal_due(&self) {
        if let Ok(mut writer) = self.writer.lock()
            && let Some(writer) = writer.as_mut()
            && writer
                .open
                .as_ref()
                .is_some_and(|o| o.opened.elapsed() >= SEAL_AFTER)
        {
            writer.seal();
        }
    }

    /// Seals the open segment; later appends fail. What is not pushed yet
    /// stays for the next start.
    pub fn close(&self) {
        if let Ok(mut writer) = self.writer.lock()
            && let Some(mut open) = writer.take()
        {
            open.seal();
        }
    }

    /// Records in sealed segments, waiting to be pushed.
    pub fn sealed_records(&self) -> usize {
        self.sealed.lock().map_or(0, |s| s.records)
    }

    /// Bytes of sealed segments, waiting to be pushed.
    pub fn sealed_bytes(&self) -> u64 {
        self.sealed.lock().map_or(0, |s| s.bytes)
    }

    /// Records dropped for room since the spool was opened.
    pub fn dropped_records(&self) -> u64 {
        self.counts.dropped.load(Ordering::Relaxed)
    }

    /// Records the control plane refused, set aside since the spool was opened.
    pub fn rejected_records(&self) -> u64 {
        self.counts.rejected.load(Ordering::Relaxed)
    }

    /// The oldest sealed segment, the next to push.
    pub(crate) fn oldest_sealed(&self) -> Option<PathBuf> {
        self.sealed
            .lock()
            .ok()
            .and_then(|s| s.segments.front().map(|s| s.path.clone()))
    }

    /// Stops tracking a segment (pushed, or gone).
    pub(crate) fn forget(&self, segment: &Path) {
        if let Ok(mut sealed) = self.sealed.lock() {
            sealed.remove(segment);
        }
    }

    /// Sets aside a record the control plane refused, in `rejected/`
    /// (bounded to an eighth of the spool's bytes, oldest dropped), and says
    /// so in the log and the metrics. The record stays readable with
    /// [`read_segment`] for whoever looks into why.
    pub(crate) fn set_aside(&self, record: &RunRecord, why: &str) {
        self.counts.rejected.fetch_add(1, Ordering::Relaxed);
        self.counts.metrics.rejected(1);
        tracing::error!(run_id = record.run_id(), tenant = %record.tenant, trigger = %record.trigger, reason = why, "the control plane refused a run record; set aside in the spool's rejected/ folder");
        let dir = self.dir.join(REJECTED_DIR);
        let written = make_private_dir(&dir).and_then(|()| {
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let name = format!(
                "{millis:013}-{:08}.{SEALED}",
                self.counts.rejected.load(Ordering::Relaxed)
            );
            let mut file = private_file(&dir.join(name))?;
            file.write_all(&record.encode_length_delimited_to_vec())
        });
        if let Err(error) = written {
            tracing::error!(%error, run_id = record.run_id(), "could not keep a refused run record; it is dropped");
            return;
        }
        let mut kept = files_with(&dir, &[SEALED]).unwrap_or_default();
        let mut bytes: u64 = kept
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        kept.reverse();
        while bytes > self.bounds.max_bytes / 8 && kept.len() > 1 {
            let Some(oldest) = kept.pop() else { break };
            bytes -= std::fs::metadata(&oldest).map_or(0, |m| m.len());
            tracing::warn!(file = %oldest.display(), "rejected run records over their bound: dropping the oldest");
            let _ = std::fs::remove_file(oldest);
        }
    }

    /// Replaces a sealed segment's records by `records` (what is left to
    /// push of it), so that what was set aside is not pushed again.
    pub(crate) fn rewrite(&self, segment: &Path, records: &[RunRecord]) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        for record in records {
            bytes.extend(record.encode_length_delimited_to_vec());
        }
        let temporary = segment.with_extension("rewrite");
        {
            let mut file = private_file(&temporary)?;
            file.write_all(&bytes)?;
        }
        std::fs::rename(&temporary, segment)?;
        if let Ok(mut sealed) = self.sealed.lock()
            && let Some(at) = sealed.segments.iter().position(|s| s.path == segment)
        {
            let old = &mut sealed.segments[at];
            let (old_records, old_bytes) = (old.records, old.bytes);
            old.records = records.len();
            old.bytes = bytes.len() as u64;
            sealed.records = sealed.records - old_records + records.len();
            sealed.bytes = sealed.bytes - old_bytes + bytes.len() as u64;
        }
        Ok(())
    }
}

/// A folder only this user may read: records hold what users did.
fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // `mode` applies to folders it makes; one made before is made private too.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// A new file only this user may read.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
}

/// Every whole record in a spool folder, sealed or not, in order: what a
/// runner that stopped there would push.
pub fn spooled_records(dir: &Path) -> std::io::Result<Vec<RunRecord>> {
    let mut records = Vec::new();
    for path in files_with(dir, &[OPEN, SEALED, LEGACY])? {
        records.extend(read_segment(&path)?);
    }
    Ok(records)
}

/// The sequence number a segment's name starts with.
fn segment_sequence(path: &Path) -> Option<u64> {
    if path.extension().is_some_and(|e| e == LEGACY) {
        return None;
    }
    path.file_stem()?.to_str()?.split('-').next()?.parse().ok()
}

fn files_with(dir: &Path, extensions: &[&str]) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The whole records of a segment; a torn last record (the process died
/// while writing it) is left out with a warning.
pub(crate) fn read_segment(path: &Path) -> std::io::Result<Vec<RunRecord>> {
    let bytes = std::fs::read(path)?;
    if path.extension().is_some_and(|e| e == LEGACY) {
        return decode_record(&bytes)
            .map(|r| vec![r])
            .map_err(std::io::Error::other);
    }
    let mut records = Vec::new();
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        match next_record(&mut rest) {
            Ok(record) => records.push(record),
            Err(error) => {
                tracing::warn!(file = %path.display(), %error, whole = records.len(), "a torn record at the end of a spool segment is left out");
                break;
            }
        }
    }
    Ok(records)
}

/// The next length-delimited record, of either shape.
fn next_record(rest: &mut &[u8]) -> Result<RunRecord, prost::DecodeError> {
    let mut body = *rest;
    let length = prost::decode_length_delimiter(&mut body)?;
    if length > body.len() {
        // Torn: let prost say so in its own words.
        return RunRecord::decode_length_delimited(rest);
    }
    let (record, after) = body.split_at(length);
    *rest = after;
    decode_record(record)
}

/// The open segment and how to seal it.
struct SegmentWriter {
    dir: PathBuf,
    bounds: SpoolBounds,
    open: Option<OpenSegment>,
    sequence: u64,
    sealed: Arc<Mutex<Sealed>>,
    wake: Arc<tokio::sync::Notify>,
    counts: Arc<SpoolCounts>,
}

struct OpenSegment {
    path: PathBuf,
    file: std::fs::File,
    bytes: u64,
    records: usize,
    opened: Instant,
}

impl SegmentWriter {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.open.is_none() {
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            // The sequence number leads the name: names sort in the order the
            // segments were made whatever the clock does, and never repeat
            // one still on disk (sealing would replace an unpushed segment).
            let path = loop {
                self.sequence += 1;
                let path = self
                    .dir
                    .join(format!("{:012}-{millis:013}.{OPEN}", self.sequence));
                if !path.exists() && !path.with_extension(SEALED).exists() {
                    break path;
                }
            };
            let file = std::fs::OpenOptions::new()
                .create_new(true)
                .append(true)
                .mode(0o600)
                .open(&path)?;
            self.open = Some(OpenSegment {
                path,
                file,
                bytes: 0,
                records: 0,
                opened: Instant::now(),
            });
        }
        let Some(open) = self.open.as_mut() else {
            return Err(std::io::Error::other("no open segment"));
        };
        open.file.write_all(bytes)?;
        open.bytes += bytes.len() as u64;
        open.records += 1;
        Ok(())
    }

    fn seal(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        drop(open.file);
        let sealed_path = open.path.with_extension(SEALED);
        if let Err(error) = std::fs::rename(&open.path, &sealed_path) {
            // Left `.open`, it is sealed by the next start.
            tracing::error!(file = %open.path.display(), %error, "could not seal a spool segment");
            return;
        }
        let Ok(mut sealed) = self.sealed.lock() else {
            return;
        };
        sealed.push(sealed_path, open.records, open.bytes);
        sealed.drop_oldest_over(self.bounds, &self.counts);
        drop(sealed);
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(run_id: &str) -> RunRecord {
        RunRecord {
            tenant: "acme".into(),
            response: Some(actions_proto::runner::v1::ExecuteResponse {
                run_id: run_id.into(),
                ..Default::default()
            }),
            ..RunRecord::default()
        }
    }

    fn bounded(max_records: usize) -> SpoolBounds {
        SpoolBounds {
            max_records,
            max_bytes: u64::MAX,
        }
    }

    fn ids(records: &[RunRecord]) -> Vec<&str> {
        records.iter().map(RunRecord::run_id).collect()
    }

    #[tokio::test]
    async fn appended_records_are_sealed_into_one_segment_on_close() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = RecordSpool::open(dir.path(), bounded(100)).expect("opens");
        for id in ["a", "b", "c"] {
            spool.append(&record(id)).expect("appends");
        }
        assert_eq!(
            ids(&spooled_records(dir.path()).expect("reads")),
            ["a", "b", "c"]
        );
        spool.close();
        assert_eq!(spool.sealed_records(), 3);
        assert_eq!(files_with(dir.path(), &[SEALED]).expect("lists").len(), 1);
        assert!(spool.append(&record("d")).is_err(), "closed");
    }

    #[tokio::test]
    async fn a_torn_last_record_is_left_out_and_the_rest_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = record("whole-1").encode_length_delimited_to_vec();
        bytes.extend(record("whole-2").encode_length_delimited_to_vec());
        let torn = record("torn").encode_length_delimited_to_vec();
        bytes.extend(&torn[..torn.len() - 3]);
        std::fs::write(dir.path().join("000000000007-0000000000001.open"), bytes).expect("write");
        let spool = RecordSpool::open(dir.path(), bounded(100)).expect("opens");
        assert_eq!(spool.sealed_records(), 2);
        assert!(files_with(dir.path(), &[OPEN]).expect("lists").is_empty());
        assert_eq!(
            ids(&spooled_records(dir.path()).expect("reads")),
            ["whole-1", "whole-2"]
        );
        spool.append(&record("after")).expect("appends");
        spool.close();
        assert_eq!(
            ids(&spooled_records(dir.path()).expect("reads")),
            ["whole-1", "whole-2", "after"],
            "a new segment sorts after what the earlier process left"
        );
    }

    #[tokio::test]
    async fn past_the_bound_the_oldest_segments_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        for round in 0..4 {
            let spool = RecordSpool::open(dir.path(), bounded(5)).expect("opens");
            for n in 0..2 {
                spool
                    .append(&record(&format!("{round}-{n}")))
                    .expect("appends");
            }
            spool.close();
        }
        assert_eq!(
            ids(&spooled_records(dir.path()).expect("reads")),
            ["2-0", "2-1", "3-0", "3-1"]
        );
    }

    #[tokio::test]
    async fn past_the_byte_bound_the_oldest_segments_go_and_are_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = |id: &str| {
            let mut r = record(id);
            if let Some(response) = r.response.as_mut() {
                response.deny_reason = "x".repeat(1000);
            }
            r
        };
        let one = big("r0").encode_length_delimited_to_vec().len() as u64;
        let bounds = SpoolBounds {
            max_records: 1000,
            max_bytes: 3 * one,
        };
        let spool = RecordSpool::open(dir.path(), bounds).expect("opens");
        for n in 0..6 {
            spool.append(&big(&format!("r{n}"))).expect("appends");
            // One record per segment: the bound is kept segment by segment.
            if let Ok(mut writer) = spool.writer.lock()
                && let Some(writer) = writer.as_mut()
            {
                writer.seal();
            }
        }
        assert_eq!(
            ids(&spooled_records(dir.path()).expect("reads")),
            ["r3", "r4", "r5"],
            "the newest that fit the bound are kept"
        );
        assert_eq!(spool.sealed_bytes(), 3 * one);
        assert_eq!(spool.dropped_records(), 3);
        // Reopened over a smaller bound, the spool sheds what is over it.
        spool.close();
        let smaller = RecordSpool::open(
            dir.path(),
            SpoolBounds {
                max_records: 1000,
                max_bytes: one,
            },
        )
        .expect("opens");
        assert_eq!(ids(&spooled_records(dir.path()).expect("reads")), ["r5"]);
        assert_eq!(smaller.dropped_records(), 2);
    }

    #[tokio::test]
    async fn the_spool_is_private_to_the_runners_user() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let spool_dir = dir.path().join("spool");
        let spool = RecordSpool::open(&spool_dir, bounded(100)).expect("opens");
        spool.append(&record("a")).expect("appends");
        spool.set_aside(&record("refused"), "test");
        spool.close();
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&spool_dir), 0o700);
        assert_eq!(mode(&spool_dir.join(REJECTED_DIR)), 0o700);
        for file in files_with(&spool_dir, &[SEALED])
            .expect("lists")
            .into_iter()
            .chain(files_with(&spool_dir.join(REJECTED_DIR), &[SEALED]).expect("lists"))
        {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        assert_eq!(spool.rejected_records(), 1);
    }

    #[tokio::test]
    async fn records_of_the_one_file_per_record_format_are_still_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("0000000000001-legacy.rec"),
            record("legacy").encode_to_vec(),
        )
        .expect("write");
        let spool = RecordSpool::open(dir.path(), bounded(100)).expect("opens");
        spool.append(&record("new")).expect("appends");
        spool.close();
        assert_eq!(spool.sealed_records(), 2);
        let mut found = spooled_records(dir.path()).expect("reads");
        found.sort_by(|a, b| a.run_id().cmp(b.run_id()));
        assert_eq!(ids(&found), ["legacy", "new"]);
    }
}
