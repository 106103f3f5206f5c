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
//! segments are pushed. The spool is bounded: past `max_records` the
//! oldest sealed segments are dropped, with a warning. A segment is deleted
//! when the control plane has acknowledged every record in it.
//!
//! A killed runner leaves whole records, and at most a torn last record in
//! its `.open` segment: the next start seals it and pushes every whole
//! record. Records are in the page cache when the call returns, not
//! `fsync`ed: they survive the process, not the machine. One file per
//! record (`.rec`), the format before segments, is still read and pushed,
//! and so are records of the shape before the response was embedded.

use crate::error::RunnerError;
use actions_proto::controlplane::v1::RunRecord;
use actions_proto::record::decode_record;
use prost::Message as _;
use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A segment is sealed once it is this large...
pub const SEGMENT_BYTES: u64 = 1024 * 1024;
/// ...or this old, so that records reach the control plane soon after.
pub const SEAL_AFTER: Duration = Duration::from_millis(100);

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
}

/// Segments ready to push, oldest first, with their record counts.
#[derive(Default)]
struct Sealed {
    segments: VecDeque<(PathBuf, usize)>,
    records: usize,
}

impl Sealed {
    fn push(&mut self, path: PathBuf, records: usize) {
        self.records += records;
        self.segments.push_back((path, records));
    }

    fn remove(&mut self, path: &Path) {
        if let Some(at) = self.segments.iter().position(|(p, _)| p == path)
            && let Some((_, records)) = self.segments.remove(at)
        {
            self.records -= records;
        }
    }
}

impl RecordSpool {
    /// Opens (and creates) the spool folder. Segments left by an earlier
    /// process, sealed or not, are kept and will be pushed.
    pub fn open(dir: &Path, max_records: usize) -> Result<Arc<Self>, RunnerError> {
        let failed = |e: std::io::Error| {
            RunnerError::Config(format!("opening the record spool {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
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
            sealed.push(path, records);
        }
        let sealed = Arc::new(Mutex::new(sealed));
        let wake = Arc::new(tokio::sync::Notify::new());
        let writer = SegmentWriter {
            dir: dir.to_owned(),
            max_records: max_records.max(1),
            open: None,
            sequence: last_sequence,
            sealed: Arc::clone(&sealed),
            wake: Arc::clone(&wake),
        };
        Ok(Arc::new(Self {
            writer: Mutex::new(Some(writer)),
            sealed,
            wake,
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

    /// The oldest sealed segment, the next to push.
    pub(crate) fn oldest_sealed(&self) -> Option<PathBuf> {
        self.sealed
            .lock()
            .ok()
            .and_then(|s| s.segments.front().map(|(p, _)| p.clone()))
    }

    /// Stops tracking a segment (pushed, or gone).
    pub(crate) fn forget(&self, segment: &Path) {
        if let Ok(mut sealed) = self.sealed.lock() {
            sealed.remove(segment);
        }
    }
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
    max_records: usize,
    open: Option<OpenSegment>,
    sequence: u64,
    sealed: Arc<Mutex<Sealed>>,
    wake: Arc<tokio::sync::Notify>,
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
        sealed.push(sealed_path, open.records);
        while sealed.records > self.max_records && sealed.segments.len() > 1 {
            if let Some((oldest, records)) = sealed.segments.pop_front() {
                sealed.records -= records;
                tracing::warn!(file = %oldest.display(), records, "record spool full: dropping the oldest segment");
                let _ = std::fs::remove_file(oldest);
            }
        }
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

    fn ids(records: &[RunRecord]) -> Vec<&str> {
        records.iter().map(RunRecord::run_id).collect()
    }

    #[tokio::test]
    async fn appended_records_are_sealed_into_one_segment_on_close() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = RecordSpool::open(dir.path(), 100).expect("opens");
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
        let spool = RecordSpool::open(dir.path(), 100).expect("opens");
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
            let spool = RecordSpool::open(dir.path(), 5).expect("opens");
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
    async fn records_of_the_one_file_per_record_format_are_still_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("0000000000001-legacy.rec"),
            record("legacy").encode_to_vec(),
        )
        .expect("write");
        let spool = RecordSpool::open(dir.path(), 100).expect("opens");
        spool.append(&record("new")).expect("appends");
        spool.close();
        assert_eq!(spool.sealed_records(), 2);
        let mut found = spooled_records(dir.path()).expect("reads");
        found.sort_by(|a, b| a.run_id().cmp(b.run_id()));
        assert_eq!(ids(&found), ["legacy", "new"]);
    }
}
