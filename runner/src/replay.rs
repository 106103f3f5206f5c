//! Replay: what a run read from outside itself, kept so that it can be run
//! again exactly.
//!
//! An Action is deterministic but for three things the host hands it: the
//! clocks (`Date` and the monotonic clock, through WASI `clock_time_get`), its
//! randomness (`Math.random` and WASI `random_get`, one stream seeded per
//! run), and the answers of `api.fetch`. Every run records them
//! ([`RunInputs`]); a run given a record ([`RunRequest::replay`]) is
//! answered from it instead of the clocks, the seed and the network. The
//! first read a record cannot answer (another URL, one clock reading too
//! many) is the run's *divergence*: it is answered as best the record
//! allows (the last reading of that clock; a thrown error for a fetch) and
//! reported, so that a replay of a changed version shows where it parted.
//!
//! [`RunRequest::replay`]: crate::RunRequest::replay

use crate::fetch::{FetchRequest, FetchResponse};
use actions_proto::runner::v1 as wire;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Most bytes of inputs one run keeps while it runs: past this it keeps
/// none (the record's cap, [`actions_proto::sizes::MAX_REPLAY_BYTES`],
/// could not hold them), which bounds the memory a run's recording takes.
const MAX_RECORDING_BYTES: usize = actions_proto::sizes::MAX_REPLAY_BYTES;

/// Bytes a clock reading is counted as.
const CLOCK_READING_BYTES: usize = 16;

/// What one run read from outside itself, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInputs {
    /// The seed of the run's randomness.
    pub random_seed: u64,
    /// Every clock reading.
    #[serde(default)]
    pub clock: Vec<ClockReading>,
    /// Every `api.fetch` that reached the transport, with its answer.
    #[serde(default)]
    pub fetches: Vec<FetchExchange>,
}

/// One reading of a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockReading {
    /// The monotonic clock rather than the wall clock (`Date`).
    #[serde(default)]
    pub monotonic: bool,
    /// Nanoseconds: since the Unix epoch (wall), since the run began (monotonic).
    pub nanos: u64,
}

/// One `api.fetch` and what the Action got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchExchange {
    /// The method.
    pub method: String,
    /// The URL as the Action wrote it.
    pub url: String,
    /// The request body, empty when there was none.
    #[serde(default)]
    pub body: String,
    /// The answer, or the error thrown to the Action.
    #[serde(flatten)]
    pub answer: FetchAnswer,
}

/// How a fetch ended for the Action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchAnswer {
    /// It got this response.
    Response(FetchResponse),
    /// It was thrown this error.
    Error(String),
}

impl FetchExchange {
    fn asked(request: &FetchRequest) -> (String, String, String) {
        (
            request.method.clone(),
            request.url.clone(),
            request.body.clone().unwrap_or_default(),
        )
    }

    fn bytes(&self) -> usize {
        let answer = match &self.answer {
            FetchAnswer::Response(r) => {
                r.body.len()
                    + r.headers
                        .iter()
                        .map(|(k, v)| k.len() + v.len())
                        .sum::<usize>()
            }
            FetchAnswer::Error(message) => message.len(),
        };
        self.method.len() + self.url.len() + self.body.len() + answer + 16
    }
}

impl RunInputs {
    /// As the run record keeps them, every text passed through `redact`
    /// (the record's secret redaction; `str::to_owned` to keep it as is).
    pub fn to_wire(
        &self,
        redact: impl Fn(&str) -> String,
    ) -> (u64, Vec<wire::ClockReading>, Vec<wire::FetchExchange>) {
        let clock = self
            .clock
            .iter()
            .map(|c| wire::ClockReading {
                monotonic: c.monotonic,
                nanos: c.nanos,
            })
            .collect();
        let fetches = self
            .fetches
            .iter()
            .map(|f| {
                let (answer, error) = match &f.answer {
                    FetchAnswer::Response(r) => (
                        Some(wire::FetchAnswer {
                            status: u32::from(r.status),
                            headers: r
                                .headers
                                .iter()
                                .map(|(k, v)| (redact(k), redact(v)))
                                .collect(),
                            body: redact(&r.body),
                        }),
                        String::new(),
                    ),
                    FetchAnswer::Error(message) => (None, redact(message)),
                };
                wire::FetchExchange {
                    method: redact(&f.method),
                    url: redact(&f.url),
                    body: redact(&f.body),
                    answer,
                    error,
                }
            })
            .collect();
        (self.random_seed, clock, fetches)
    }

    /// A binding's inputs as a run record keeps them.
    pub fn from_wire(inputs: &wire::BindingInputs) -> Self {
        RunInputs {
            random_seed: inputs.random_seed,
            clock: inputs
                .clock
                .iter()
                .map(|c| ClockReading {
                    monotonic: c.monotonic,
                    nanos: c.nanos,
                })
                .collect(),
            fetches: inputs
                .fetches
                .iter()
                .map(|f| FetchExchange {
                    method: f.method.clone(),
                    url: f.url.clone(),
                    body: f.body.clone(),
                    answer: match &f.answer {
                        Some(a) => FetchAnswer::Response(FetchResponse {
                            status: u16::try_from(a.status).unwrap_or(u16::MAX),
                            headers: a.headers.clone().into_iter().collect(),
                            body: a.body.clone(),
                        }),
                        None => FetchAnswer::Error(f.error.clone()),
                    },
                })
                .collect(),
        }
    }
}

/// What a run reads, recorded as it reads it, and answered from a record
/// when it is a replay.
pub(crate) struct Tape {
    recorded: RunInputs,
    /// Bytes recorded; past the cap the recording is dropped.
    recorded_bytes: usize,
    over_cap: bool,
    playback: Option<Playback>,
}

struct Playback {
    record: Arc<RunInputs>,
    wall: Vec<u64>,
    monotonic: Vec<u64>,
    next_wall: usize,
    next_monotonic: usize,
    next_fetch: usize,
    divergence: Option<String>,
}

impl Playback {
    fn diverge(&mut self, what: String) {
        self.divergence.get_or_insert(what);
    }
}

/// What a fetch in a replay gets instead of going out.
pub(crate) enum Played {
    /// The recorded answer.
    Answer(FetchAnswer),
    /// The record holds no answer to this request: this error is thrown.
    Diverged(String),
}

impl Tape {
    /// A tape that records, seeded with `seed`; or, given `replay`, one that
    /// plays `replay` back (and records what it plays).
    pub(crate) fn new(seed: u64, replay: Option<Arc<RunInputs>>) -> Self {
        let seed = replay.as_ref().map_or(seed, |r| r.random_seed);
        let playback = replay.map(|record| {
            let readings = |monotonic: bool| {
                record
                    .clock
                    .iter()
                    .filter(|c| c.monotonic == monotonic)
                    .map(|c| c.nanos)
                    .collect()
            };
            Playback {
                wall: readings(false),
                monotonic: readings(true),
                record,
                next_wall: 0,
                next_monotonic: 0,
                next_fetch: 0,
                divergence: None,
            }
        });
        Tape {
            recorded: RunInputs {
                random_seed: seed,
                ..RunInputs::default()
            },
            recorded_bytes: 8,
            over_cap: false,
            playback,
        }
    }

    /// The seed of the run's randomness.
    pub(crate) fn random_seed(&self) -> u64 {
        self.recorded.random_seed
    }

    /// A clock reading: `live` when recording, the record's in a replay.
    pub(crate) fn clock(&mut self, monotonic: bool, live: impl FnOnce() -> u64) -> u64 {
        let nanos = match &mut self.playback {
            None => live(),
            Some(p) => {
                let (readings, next) = if monotonic {
                    (&p.monotonic, &mut p.next_monotonic)
                } else {
                    (&p.wall, &mut p.next_wall)
                };
                match readings.get(*next).copied() {
                    Some(nanos) => {
                        *next += 1;
                        nanos
                    }
                    None => {
                        let which = if monotonic { "monotonic" } else { "wall" };
                        let what = format!(
                            "clock: the run read the {which} clock a {}th time; the record \
                             holds {} readings of it",
                            *next + 1,
                            readings.len()
                        );
                        let last = readings.last().copied();
                        p.diverge(what);
                        last.unwrap_or_else(live)
                    }
                }
            }
        };
        self.keep(CLOCK_READING_BYTES, |r| {
            r.clock.push(ClockReading { monotonic, nanos });
        });
        nanos
    }

    /// In a replay, the recorded answer to `request`, or why there is none.
    pub(crate) fn play_fetch(&mut self, request: &FetchRequest) -> Option<Played> {
        let p = self.playback.as_mut()?;
        let (method, url, body) = FetchExchange::asked(request);
        let n = p.next_fetch + 1;
        let played = match p.record.fetches.get(p.next_fetch) {
            Some(f) if f.method == method && f.url == url && f.body == body => {
                p.next_fetch += 1;
                Played::Answer(f.answer.clone())
            }
            Some(f) => {
                p.diverge(format!(
                    "fetch #{n}: the run asked for {method} {url}; the record has {} {}{}",
                    f.method,
                    f.url,
                    if f.url == url && f.method == method {
                        " with another body"
                    } else {
                        ""
                    }
                ));
                Played::Diverged(format!(
                    "api.fetch in a replay: the record holds no answer to {method} {url}"
                ))
            }
            None => {
                p.diverge(format!(
                    "fetch #{n}: the run asked for {method} {url}; the record has {} fetches",
                    p.record.fetches.len()
                ));
                Played::Diverged(format!(
                    "api.fetch in a replay: the record holds no answer to {method} {url}"
                ))
            }
        };
        Some(played)
    }

    /// Records a fetch and how it ended for the Action.
    pub(crate) fn record_fetch(&mut self, request: &FetchRequest, answer: FetchAnswer) {
        let (method, url, body) = FetchExchange::asked(request);
        let exchange = FetchExchange {
            method,
            url,
            body,
            answer,
        };
        self.keep(exchange.bytes(), |r| r.fetches.push(exchange));
    }

    fn keep(&mut self, bytes: usize, push: impl FnOnce(&mut RunInputs)) {
        if self.over_cap {
            return;
        }
        self.recorded_bytes += bytes;
        if self.recorded_bytes > MAX_RECORDING_BYTES {
            self.over_cap = true;
            self.recorded.clock = Vec::new();
            self.recorded.fetches = Vec::new();
            return;
        }
        push(&mut self.recorded);
    }

    /// What the run read (`None` when it read more than a record keeps),
    /// and in a replay the first read the record could not answer.
    pub(crate) fn finish(self) -> (Option<RunInputs>, Option<String>) {
        let divergence = self.playback.and_then(|p| {
            let unread = p.record.fetches.len().saturating_sub(p.next_fetch);
            p.divergence.or_else(|| {
                (unread > 0).then(|| {
                    format!(
                        "fetch: the run made {} fetches; the record has {}",
                        p.next_fetch,
                        p.record.fetches.len()
                    )
                })
            })
        });
        let recorded = (!self.over_cap).then_some(self.recorded);
        (recorded, divergence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn request(url: &str) -> FetchRequest {
        FetchRequest {
            url: url.into(),
            method: "GET".into(),
            headers: BTreeMap::new(),
            body: None,
            timeout_ms: None,
        }
    }

    fn answered(body: &str) -> FetchAnswer {
        FetchAnswer::Response(FetchResponse {
            status: 200,
            headers: BTreeMap::new(),
            body: body.into(),
        })
    }

    #[test]
    fn what_is_recorded_is_played_back_in_order() {
        let mut live = Tape::new(7, None);
        assert_eq!(live.clock(false, || 100), 100);
        assert_eq!(live.clock(true, || 5), 5);
        assert_eq!(live.clock(false, || 200), 200);
        live.record_fetch(&request("https://a/"), answered("one"));
        let (Some(recorded), None) = live.finish() else {
            panic!("a short run keeps its inputs");
        };
        let mut replay = Tape::new(99, Some(Arc::new(recorded.clone())));
        assert_eq!(replay.random_seed(), 7);
        assert_eq!(replay.clock(true, || 0), 5);
        assert_eq!(replay.clock(false, || 0), 100);
        assert_eq!(replay.clock(false, || 0), 200);
        assert!(matches!(
            replay.play_fetch(&request("https://a/")),
            Some(Played::Answer(a)) if a == answered("one")
        ));
        replay.record_fetch(&request("https://a/"), answered("one"));
        let (again, divergence) = replay.finish();
        assert_eq!(divergence, None);
        assert_eq!(again.map(|r| r.fetches), Some(recorded.fetches));
    }

    #[test]
    fn the_first_read_the_record_cannot_answer_is_the_divergence() {
        let mut live = Tape::new(7, None);
        live.clock(false, || 100);
        live.record_fetch(&request("https://a/"), answered("one"));
        let (Some(recorded), _) = live.finish() else {
            panic!("kept");
        };
        let mut replay = Tape::new(0, Some(Arc::new(recorded)));
        assert!(matches!(
            replay.play_fetch(&request("https://b/")),
            Some(Played::Diverged(_))
        ));
        assert_eq!(replay.clock(false, || 0), 100);
        assert_eq!(replay.clock(false, || 0), 100, "time stands still");
        let (_, divergence) = replay.finish();
        let divergence = divergence.unwrap_or_default();
        assert!(divergence.starts_with("fetch #1"), "{divergence}");
    }

    #[test]
    fn a_recording_over_the_cap_is_dropped_whole() {
        let mut live = Tape::new(1, None);
        for i in 0..(MAX_RECORDING_BYTES / CLOCK_READING_BYTES + 1) {
            live.clock(false, || i as u64);
        }
        assert_eq!(live.finish(), (None, None));
    }

    #[test]
    fn inputs_survive_the_wire() {
        let inputs = RunInputs {
            random_seed: 3,
            clock: vec![ClockReading {
                monotonic: true,
                nanos: 9,
            }],
            fetches: vec![
                FetchExchange {
                    method: "POST".into(),
                    url: "https://a/".into(),
                    body: "{}".into(),
                    answer: answered("x"),
                },
                FetchExchange {
                    method: "GET".into(),
                    url: "https://b/".into(),
                    body: String::new(),
                    answer: FetchAnswer::Error("refused".into()),
                },
            ],
        };
        let (random_seed, clock, fetches) = inputs.to_wire(str::to_owned);
        let wire = wire::BindingInputs {
            random_seed,
            clock,
            fetches,
            ..wire::BindingInputs::default()
        };
        assert_eq!(RunInputs::from_wire(&wire), inputs);
    }
}
