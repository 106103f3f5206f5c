//! Run records: `action logs` (runs with their console output, one, or
//! as they arrive), `action runs` (a listing with every filter `ListRuns`
//! has) and `action stats` (counts and run times over a recent window).

use super::{Remote, block_on, refused, time_text};
use crate::Status;
use crate::outln;
use crate::output::{print_json, print_json_line, stderr_is_terminal};
use actions_proto::controlplane::v1::{self as pb, audit_client::AuditClient, tail_event::Event};
use actions_proto::runner::v1::{Decision, Outcome};
use anyhow::bail;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args, Debug)]
pub(crate) struct LogsArgs {
    /// Only runs in which this Action ran.
    #[arg(long)]
    action: Option<String>,
    /// One run.
    #[arg(long)]
    run: Option<String>,
    /// How many runs (newest first).
    #[arg(long, default_value = "20")]
    limit: u32,
    /// Keep printing runs as they arrive.
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    remote: Remote,
}

fn run_json(run: &pb::RunRecord) -> Value {
    let answer = run.response.clone().unwrap_or_default();
    json!({
        "run_id": answer.run_id, "tenant": run.tenant, "trigger": run.trigger,
        "decision": answer.decision().name(), "deny_reason": answer.deny_reason,
        "started_at_ms": run.started_at_ms, "duration_us": answer.duration_us, "test": run.test,
        "bindings": answer.bindings.iter().map(|b| json!({
            "binding_id": b.binding_id, "action": b.action_slug, "version": b.action_version,
            "outcome": b.outcome().name(), "error": b.error, "fuel": b.fuel, "duration_us": b.duration_us,
            "logs": b.logs.iter().map(|l| json!({ "level": l.level, "message": l.message })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn print_run(run: &pb::RunRecord, as_json: bool) {
    if as_json {
        print_json_line(&run_json(run));
        return;
    }
    let answer = run.response.clone().unwrap_or_default();
    let reason = if answer.deny_reason.is_empty() {
        String::new()
    } else {
        format!(": {}", answer.deny_reason)
    };
    crate::outln!(
        "run {}  {}  {}{}{}",
        answer.run_id,
        run.trigger,
        crate::output::paint_decision(answer.decision().name()),
        reason,
        if run.test { "  (test)" } else { "" }
    );
    for b in &answer.bindings {
        crate::outln!(
            "  {}@{}  {}  {} fuel  {} µs",
            b.action_slug,
            b.action_version,
            b.outcome().name(),
            b.fuel,
            b.duration_us
        );
        if !b.error.is_empty() {
            crate::outln!("    error: {}", b.error);
        }
        for line in &b.logs {
            crate::outln!("    [{}] {}", line.level, line.message);
        }
    }
}

pub(crate) fn logs(args: &LogsArgs) -> anyhow::Result<Status> {
    block_on(async {
        let mut audit = AuditClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
        if let Some(run_id) = &args.run {
            let run = audit
                .get_run(args.remote.request(pb::GetRunRequest {
                    run_id: run_id.clone(),
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            print_run(&run, args.remote.json);
            return Ok(());
        }
        let mut runs = audit
            .list_runs(args.remote.request(pb::ListRunsRequest {
                action_slug: args.action.clone().unwrap_or_default(),
                page_size: args.limit,
                ..Default::default()
            })?)
            .await
            .map_err(refused)?
            .into_inner()
            .runs;
        runs.reverse();
        for run in &runs {
            print_run(run, args.remote.json);
        }
        if args.follow {
            if stderr_is_terminal() {
                eprintln!("following new runs (Ctrl-C stops)...");
            }
            let mut tail = audit
                .tail(args.remote.request(pb::TailRequest {
                    audit: false,
                    runs: true,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            while let Some(event) = tail.message().await.map_err(refused)? {
                if let Some(Event::Run(run)) = event.event {
                    let wanted = args
                        .action
                        .as_ref()
                        .is_none_or(|slug| run.bindings().iter().any(|b| &b.action_slug == slug));
                    if wanted {
                        print_run(&run, args.remote.json);
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct RunsArgs {
    /// Only runs of this flow (login or registration).
    #[arg(long)]
    flow: Option<String>,
    /// Only runs of this trigger slot, e.g. login.post-login.
    #[arg(long)]
    trigger: Option<String>,
    /// Only runs in which this Action ran.
    #[arg(long = "action", value_name = "SLUG")]
    action_slug: Option<String>,
    /// Only runs that reached this decision.
    #[arg(long, value_parser = ["allow", "deny"])]
    decision: Option<String>,
    /// Only runs in which some binding had this outcome.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Outcome::ALL.map(Outcome::name)))]
    outcome: Option<String>,
    /// Only runs from then on: a time ago (30s, 15m, 2h, 7d), a UTC time
    /// (2026-12-01T08:00:00Z) or milliseconds since the Unix epoch.
    #[arg(long, value_parser = parse_time)]
    since: Option<u64>,
    /// Only runs until then, written as for --since.
    #[arg(long, value_parser = parse_time)]
    until: Option<u64>,
    /// Include test runs (left out by default).
    #[arg(long)]
    tests: bool,
    /// How many runs, newest first (0: every one that matches).
    #[arg(long, default_value = "20")]
    limit: usize,
    #[command(flatten)]
    remote: Remote,
}

/// A point in time for `--since` and `--until`, in milliseconds since the
/// Unix epoch.
fn parse_time(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let expected = "expected a time ago (30s, 15m, 2h, 7d), a UTC time (2026-12-01T08:00:00Z) or milliseconds since the Unix epoch";
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    if let Some(unit) = text.chars().last().filter(|c| "smhd".contains(*c)) {
        let amount: u64 = text[..text.len() - 1]
            .parse()
            .map_err(|_| format!("{text:?}: {expected}"))?;
        let scale = match unit {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            _ => 86_400_000,
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        return Ok(now.saturating_sub(amount.saturating_mul(scale)));
    }
    utc_ms(text).ok_or_else(|| format!("{text:?}: {expected}"))
}

/// `YYYY-MM-DDTHH:MM:SSZ` in milliseconds since the Unix epoch.
fn utc_ms(text: &str) -> Option<u64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let number = |s: &str| s.parse::<i64>().ok();
    let mut date = date.splitn(3, '-').map(number);
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let mut time = time.splitn(3, ':').map(number);
    let (hour, minute, second) = (time.next()??, time.next()??, time.next()??);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(secs).ok()?.checked_mul(1000)
}

/// `action runs`: run records, newest first, filtered as `ListRuns` filters.
pub(crate) fn runs(args: &RunsArgs) -> anyhow::Result<Status> {
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since > until
    {
        bail!("--since is after --until: no run can match");
    }
    let decision = args
        .decision
        .as_deref()
        .and_then(Decision::from_name)
        .unwrap_or(Decision::Unspecified);
    let outcome = args
        .outcome
        .as_deref()
        .and_then(Outcome::from_name)
        .unwrap_or(Outcome::Unspecified);
    let runs = block_on(async {
        let mut audit = AuditClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES);
        let mut found = Vec::new();
        let mut page_token = String::new();
        loop {
            let wanted = if args.limit == 0 {
                0
            } else {
                u32::try_from(args.limit - found.len()).unwrap_or(u32::MAX)
            };
            let page = audit
                .list_runs(args.remote.request(pb::ListRunsRequest {
                    flow: args.flow.clone().unwrap_or_default(),
                    trigger: args.trigger.clone().unwrap_or_default(),
                    action_slug: args.action_slug.clone().unwrap_or_default(),
                    decision: decision as i32,
                    outcome: outcome as i32,
                    since_ms: args.since.unwrap_or(0),
                    until_ms: args.until.unwrap_or(0),
                    include_tests: args.tests,
                    page_size: wanted,
                    page_token,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            found.extend(page.runs);
            if page.next_page_token.is_empty() || (args.limit > 0 && found.len() >= args.limit) {
                break;
            }
            page_token = page.next_page_token;
        }
        if args.limit > 0 {
            found.truncate(args.limit);
        }
        anyhow::Ok(found)
    })?;
    if args.remote.json {
        print_json(&Value::Array(runs.iter().map(run_json).collect()));
        return Ok(Status::Ok);
    }
    if runs.is_empty() {
        outln!("no runs match");
        return Ok(Status::Ok);
    }
    for run in &runs {
        let answer = run.response.clone().unwrap_or_default();
        let bindings: Vec<String> = answer
            .bindings
            .iter()
            .map(|b| {
                format!(
                    "{}@{} {}",
                    b.action_slug,
                    b.action_version,
                    b.outcome().name()
                )
            })
            .collect();
        outln!(
            "{}  {}  {}  {}  {}{}",
            time_text(run.started_at_ms),
            answer.run_id,
            run.trigger,
            crate::output::paint_decision(answer.decision().name()),
            if bindings.is_empty() {
                "(nothing bound)".to_owned()
            } else {
                bindings.join(", ")
            },
            if run.test { "  (test)" } else { "" }
        );
    }
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct StatsArgs {
    /// The window's start, written as for `action runs --since` (default: an
    /// hour ago; at most 24 hours back).
    #[arg(long, value_parser = parse_time)]
    since: Option<u64>,
    /// Each bucket's width: 30s, 5m, 1h (default: a minute).
    #[arg(long, value_parser = parse_width)]
    bucket: Option<u64>,
    #[command(flatten)]
    remote: Remote,
}

/// A width of time (`30s`, `5m`, `1h`) in milliseconds.
fn parse_width(text: &str) -> Result<u64, String> {
    let expected = || format!("{text:?}: expected a width such as 30s, 5m or 1h");
    let unit = text.chars().last().ok_or_else(expected)?;
    let scale = match unit {
        's' => 1_000,
        'm' => 60_000,
        'h' => 3_600_000,
        _ => return Err(expected()),
    };
    let amount: u64 = text[..text.len() - 1].parse().map_err(|_| expected())?;
    Ok(amount.saturating_mul(scale))
}

/// `action stats`: the tenant's production runs over a recent window, per
/// bucket of time and per Action (test runs are left out).
pub(crate) fn stats(args: &StatsArgs) -> anyhow::Result<Status> {
    let stats = block_on(async {
        AuditClient::new(args.remote.channel().await?)
            .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES)
            .get_run_stats(args.remote.request(pb::GetRunStatsRequest {
                since_ms: args.since.unwrap_or(0),
                bucket_ms: args.bucket.unwrap_or(0),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if args.remote.json {
        print_json(&json!({
            "since_ms": stats.since_ms, "until_ms": stats.until_ms, "bucket_ms": stats.bucket_ms,
            "truncated": stats.truncated, "counted_since_ms": stats.counted_since_ms,
            "buckets": stats.buckets.iter().map(|b| json!({
                "start_ms": b.start_ms, "runs": b.runs, "denies": b.denies, "errors": b.errors,
            })).collect::<Vec<_>>(),
            "actions": stats.actions.iter().map(|a| json!({
                "action": a.action_slug, "runs": a.runs, "denies": a.denies, "errors": a.errors,
                "p50_us": a.p50_us, "p99_us": a.p99_us,
            })).collect::<Vec<_>>(),
        }));
        return Ok(Status::Ok);
    }
    let sum = |field: fn(&pb::RunStatsBucket) -> u64| stats.buckets.iter().map(field).sum::<u64>();
    outln!(
        "{} to {}: {} runs, {} denied, {} with errors",
        time_text(stats.since_ms),
        time_text(stats.until_ms),
        sum(|b| b.runs),
        sum(|b| b.denies),
        sum(|b| b.errors)
    );
    if stats.truncated {
        outln!(
            "(too many runs to count them all: counted from {})",
            time_text(stats.counted_since_ms)
        );
    }
    if stats.actions.is_empty() {
        return Ok(Status::Ok);
    }
    let width = stats
        .actions
        .iter()
        .map(|a| a.action_slug.len())
        .max()
        .unwrap_or(0)
        .max(6);
    outln!(
        "{:width$}  {:>8}  {:>8}  {:>8}  {:>10}  {:>10}",
        "ACTION",
        "RUNS",
        "DENIES",
        "ERRORS",
        "P50 µs",
        "P99 µs"
    );
    for a in &stats.actions {
        outln!(
            "{:width$}  {:>8}  {:>8}  {:>8}  {:>10}  {:>10}",
            a.action_slug,
            a.runs,
            a.denies,
            a.errors,
            a.p50_us,
            a.p99_us
        );
    }
    Ok(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::{parse_time, utc_ms};

    #[test]
    fn times_are_read_in_every_form() {
        assert_eq!(utc_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(utc_ms("2026-12-02T01:02:03Z"), Some(1_796_173_323_000));
        assert_eq!(super::time_text(1_796_173_323_000), "2026-12-02T01:02:03Z");
        assert_eq!(parse_time("1234"), Ok(1234));
        assert!(parse_time("15m").is_ok_and(|ms| ms > 0));
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("2026-13-01T00:00:00Z").is_err());
        assert_eq!(super::parse_width("5m"), Ok(300_000));
        assert!(super::parse_width("5").is_err() && super::parse_width("").is_err());
    }
}
