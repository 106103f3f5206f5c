//! The `Tests` service ([`TestRunsApi`]): test runs on a runner, in the
//! production sandbox, recorded as test runs and never touching flows.
//!
//! A tenant has at most [`MAX_TEST_RUNS_PER_TENANT`] test runs in flight
//! here; more are refused at once (`RESOURCE_EXHAUSTED`) before they reach
//! a runner. The runner adds its own cap: test runs take slots of their own,
//! never a sign-in's, with a per-tenant share there too.

use super::convert;
use crate::rules::{check_binding, check_secret_name, check_slug, check_trigger};
use crate::schema::ConfigSchema;
use crate::store::StoredVersion;
use crate::{ControlPlane, Error};
use actions_proto::controlplane::v1::{self as pb, tests_server::Tests};
use actions_proto::record::REDACTED;
use actions_proto::runner::v1 as run;
use actions_proto::sizes::{
    MAX_SECRET_BYTES_PER_ACTION, MAX_SECRET_VALUE_BYTES, MAX_SECRETS_PER_ACTION,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tonic::{Code, Request, Response, Status};

/// Bindings a candidate slot may have: what a slot may hold.
pub const MAX_CANDIDATE_BINDINGS: usize = actions_proto::sizes::MAX_BINDINGS_PER_SLOT;

/// Test runs one tenant may have in flight through this control plane.
pub const MAX_TEST_RUNS_PER_TENANT: usize = 4;

/// The `Tests` service: test runs.
pub struct TestRunsApi {
    cp: Arc<ControlPlane>,
    in_flight: TestRunQuota,
}

/// Test runs in flight per tenant, at most `max` each.
struct TestRunQuota {
    max: usize,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

/// One test run in flight for a tenant, counted until dropped.
struct InFlight {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    tenant: String,
}

impl TestRunQuota {
    fn new(max: usize) -> Self {
        Self {
            max,
            counts: Arc::default(),
        }
    }

    /// Counts a test run of `tenant`, or refuses it past the tenant's share.
    fn start(&self, tenant: &str) -> Result<InFlight, Error> {
        let mut counts = lock(&self.counts);
        let count = counts.entry(tenant.to_owned()).or_default();
        if *count >= self.max {
            return Err(Error::Busy(format!(
                "the tenant has {} test runs in flight already; retry when one has finished",
                self.max
            )));
        }
        *count += 1;
        Ok(InFlight {
            counts: Arc::clone(&self.counts),
            tenant: tenant.to_owned(),
        })
    }
}

fn lock(
    counts: &Mutex<HashMap<String, usize>>,
) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
    // The counts stay consistent whatever panicked: nothing else runs under the lock.
    counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(count) = counts.get_mut(&self.tenant) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.tenant);
            }
        }
    }
}

impl TestRunsApi {
    /// Serves `cp`.
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        Self {
            cp,
            in_flight: TestRunQuota::new(MAX_TEST_RUNS_PER_TENANT),
        }
    }

    fn authorised<T>(&self, message: T) -> Result<Request<T>, Error> {
        let (_, token) = self.cp.test_runner()?;
        if token.is_empty() {
            return Ok(Request::new(message));
        }
        actions_proto::bearer::request(message, token)
            .map_err(|e| Error::Config(format!("test_runner.token: {e}")))
    }
}

/// `error`, its message saying which field of the request it is about.
fn about(field: &str, error: Error) -> Error {
    match error {
        Error::Invalid(m) => Error::Invalid(format!("{field}: {m}")),
        Error::Misfit(m) => Error::Misfit(format!("{field}: {m}")),
        Error::NotFound(m) => Error::NotFound(format!("{field}: {m}")),
        Error::FailedPrecondition(m) => Error::FailedPrecondition(format!("{field}: {m}")),
        other => other,
    }
}

impl TestRunsApi {
    /// The secrets a test run of `slug` sees: the Action's stored values,
    /// with the request's test values over them (each checked as a set
    /// secret would be).
    async fn test_secrets(
        &self,
        tenant: &str,
        slug: Option<&str>,
        given: HashMap<String, String>,
    ) -> Result<HashMap<String, String>, Error> {
        if given.len() > MAX_SECRETS_PER_ACTION {
            return Err(Error::Invalid(format!(
                "secrets: {} test values; an Action may have at most {MAX_SECRETS_PER_ACTION}",
                given.len()
            )));
        }
        for (name, value) in &given {
            check_secret_name("secrets", name)?;
            if value.len() > MAX_SECRET_VALUE_BYTES {
                return Err(Error::Invalid(format!(
                    "secrets: the test value of {name} is {} bytes, over the limit of \
                     {MAX_SECRET_VALUE_BYTES}",
                    value.len()
                )));
            }
        }
        let mut secrets: HashMap<String, String> = match slug {
            Some(slug) => self
                .cp
                .action_secret_values(tenant, slug)
                .await?
                .into_iter()
                .collect(),
            None => HashMap::new(),
        };
        secrets.extend(given);
        let bytes: usize = secrets.values().map(String::len).sum();
        if secrets.len() > MAX_SECRETS_PER_ACTION || bytes > MAX_SECRET_BYTES_PER_ACTION {
            return Err(Error::Invalid(format!(
                "secrets: with the stored ones, {} secrets of {bytes} bytes; an Action may have \
                 at most {MAX_SECRETS_PER_ACTION}, of {MAX_SECRET_BYTES_PER_ACTION} bytes together",
                secrets.len()
            )));
        }
        Ok(secrets)
    }

    /// The bindings a slot would have after a change not yet saved, each
    /// checked as an attach would check it, resolved to the live version it
    /// would run. Nothing is stored.
    async fn candidate_bindings(
        &self,
        tenant: &str,
        trigger: &str,
        candidate: &[pb::CandidateBinding],
    ) -> Result<Vec<run::Binding>, Error> {
        if candidate.len() > MAX_CANDIDATE_BINDINGS {
            return Err(Error::Invalid(format!(
                "candidate: {} bindings; a slot test takes at most {MAX_CANDIDATE_BINDINGS}",
                candidate.len()
            )));
        }
        let store = &self.cp.store;
        let saved: Vec<String> = store
            .bindings(tenant)
            .await?
            .into_iter()
            .filter(|b| b.trigger_name == trigger)
            .map(|b| b.id)
            .collect();
        let mut bindings: Vec<run::Binding> = Vec::with_capacity(candidate.len());
        for (index, c) in candidate.iter().enumerate() {
            let field = format!("candidate[{index}]");
            let id = if c.binding_id.is_empty() {
                format!("candidate-{index}")
            } else if !saved.contains(&c.binding_id) {
                return Err(Error::Invalid(format!(
                    "{field}.binding_id {:?} is not a binding of {trigger}",
                    c.binding_id
                )));
            } else if bindings.iter().any(|b| b.id == c.binding_id) {
                return Err(Error::Invalid(format!(
                    "{field}.binding_id {:?} appears twice",
                    c.binding_id
                )));
            } else {
                c.binding_id.clone()
            };
            check_slug(&format!("{field}.action_slug"), &c.action_slug)?;
            self.cp
                .check_limits(c.limits.as_ref())
                .map_err(|e| about(&format!("{field}.limits"), e))?;
            let major = c
                .major
                .map(i64::try_from)
                .transpose()
                .map_err(|_| Error::Invalid(format!("{field}.major is too large")))?;
            if store.action(tenant, &c.action_slug).await?.is_none() {
                return Err(about(
                    &field,
                    Error::NotFound(format!("action {:?}", c.action_slug)),
                ));
            }
            let live = store
                .live_version(tenant, &c.action_slug, major)
                .await?
                .ok_or_else(|| {
                    let which = major.map_or_else(String::new, |m| format!(" of major {m}"));
                    Error::FailedPrecondition(format!(
                        "{field}: action {:?} has no published version{which}; publish one first",
                        c.action_slug
                    ))
                })?;
            let config =
                check_binding(&live, trigger, &c.config_json).map_err(|e| about(&field, e))?;
            let secrets = self
                .cp
                .action_secret_values(tenant, &c.action_slug)
                .await?
                .into_iter()
                .collect();
            bindings.push(run::Binding {
                secrets,
                id,
                action_slug: c.action_slug.clone(),
                action_version: live.version,
                module_sha256: live.module_sha256,
                config_json: config,
                fail_open: c.fail_open,
                limits: c.limits.filter(|l| !l.is_default()),
            });
        }
        Ok(bindings)
    }
}

/// A source compiled for a test run or a replay, its module stored.
struct CompiledSource {
    sha256: String,
    plugin_id: String,
    wasm_bytes: i64,
}

/// What a replay runs in place of one Action's recorded version.
struct Replacement {
    slug: String,
    version: String,
    module_sha256: String,
}

/// What a replay's bindings run under in place of a recorded version.
const UNSAVED_SOURCE: &str = "(unsaved source)";

impl TestRunsApi {
    /// Compiles `source` (fairly shared with other tenants' compiles) and
    /// stores its module, which is content-addressed, for the runner.
    async fn compile_source(
        &self,
        tenant: &str,
        source: Option<pb::Source>,
    ) -> Result<CompiledSource, Error> {
        let package = super::actions::source_package(source)?;
        let compiled = self.cp.compile(tenant, package).await?;
        let wasm_bytes = compiled.wasm.len() as i64;
        self.cp
            .store
            .put_module(&compiled.sha256, &compiled.plugin_id, compiled.wasm)
            .await?;
        Ok(CompiledSource {
            sha256: compiled.sha256,
            plugin_id: compiled.plugin_id,
            wasm_bytes,
        })
    }

    /// The version or source a replay runs in place of the recorded
    /// version of one of the run's Actions, checked against the recorded
    /// bindings of that Action; `None` to replay what ran.
    async fn replacement(
        &self,
        tenant: &str,
        trigger: &str,
        r: &mut pb::ReplayRunRequest,
        recorded: &run::ExecuteResponse,
        inputs: &[run::BindingInputs],
    ) -> Result<Option<Replacement>, Error> {
        let source = r.source.take().filter(|s| !s.files.is_empty());
        if r.version.is_empty() && source.is_none() {
            if !r.action_slug.is_empty() {
                return Err(Error::Invalid(
                    "action_slug: give a version or a source to replay it with".into(),
                ));
            }
            return Ok(None);
        }
        if !r.version.is_empty() && source.is_some() {
            return Err(Error::Invalid(
                "give a version or a source to replay with, not both".into(),
            ));
        }
        let slugs = recorded.action_slugs();
        let slug = if r.action_slug.is_empty() {
            match slugs.as_slice() {
                [one] => (*one).to_owned(),
                [] => return Err(Error::Invalid("the run ran no Action".into())),
                many => {
                    return Err(Error::Invalid(format!(
                        "action_slug: the run ran several Actions ({}); name the one to replace",
                        many.join(", ")
                    )));
                }
            }
        } else if slugs.contains(&r.action_slug.as_str()) {
            r.action_slug.clone()
        } else {
            return Err(Error::Invalid(format!(
                "action_slug: the run did not run {:?}; it ran {}",
                r.action_slug,
                slugs.join(", ")
            )));
        };
        if let Some(source) = source {
            let compiled = self.compile_source(tenant, Some(source)).await?;
            return Ok(Some(Replacement {
                slug,
                version: UNSAVED_SOURCE.into(),
                module_sha256: compiled.sha256,
            }));
        }
        let version = self
            .cp
            .store
            .version(tenant, &slug, &r.version)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!("version {:?} of action {:?}", r.version, slug))
            })?;
        // The recorded configs must fit the version, as they would on attach.
        for (i, (result, inputs)) in recorded.bindings.iter().zip(inputs).enumerate() {
            if result.action_slug == slug {
                check_binding(&version, trigger, &inputs.config_json)
                    .map_err(|e| about(&format!("the run's bindings[{i}]"), e))?;
            }
        }
        Ok(Some(Replacement {
            slug,
            version: version.version,
            module_sha256: version.module_sha256,
        }))
    }
}

/// What the runner said, in the control plane's terms.
fn from_runner(status: Status) -> Error {
    match status.code() {
        Code::InvalidArgument => Error::Invalid(status.message().to_owned()),
        Code::NotFound => Error::NotFound(status.message().to_owned()),
        Code::FailedPrecondition => Error::FailedPrecondition(status.message().to_owned()),
        // The runner ran nothing: its test slots (or the tenant's share of
        // them) are taken.
        Code::ResourceExhausted => Error::Busy(status.message().to_owned()),
        _ => Error::Unavailable {
            what: "the test runner",
            detail: format!("{:?}: {}", status.code(), status.message()),
        },
    }
}

fn parse_event(text: &str) -> Result<(), Error> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(Error::Invalid("event_json must be a JSON object".into())),
        Err(e) => Err(Error::Invalid(format!("event_json is not JSON: {e}"))),
    }
}

#[tonic::async_trait]
impl Tests for TestRunsApi {
    async fn test_version(
        &self,
        request: Request<pb::TestVersionRequest>,
    ) -> Result<Response<run::ExecuteResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let _in_flight = self.in_flight.start(&caller.tenant)?;
        let r = request.into_inner();
        let trigger = check_trigger("trigger", &r.trigger)?;
        parse_event(&r.event_json)?;
        let store = &self.cp.store;
        let version = if r.version.is_empty() {
            store
                .versions(&caller.tenant, &r.slug, 0, 1)
                .await?
                .into_iter()
                .next()
        } else {
            store.version(&caller.tenant, &r.slug, &r.version).await?
        }
        .ok_or_else(|| {
            Error::NotFound(format!("version {:?} of action {:?}", r.version, r.slug))
        })?;
        let config = check_binding(&version, trigger.as_str(), &r.config_json)?;
        let secrets = self
            .test_secrets(&caller.tenant, Some(version.slug.as_str()), r.secrets)
            .await?;
        let (mut runner, _) = self.cp.test_runner()?;
        let answer = runner
            .execute_action(self.authorised(run::ExecuteActionRequest {
                tenant: caller.tenant,
                trigger: trigger.as_str().into(),
                event_json: r.event_json,
                config_json: config,
                module_sha256: version.module_sha256,
                action_slug: version.slug,
                action_version: version.version,
                secrets,
            })?)
            .await
            .map_err(from_runner)?;
        Ok(answer)
    }

    async fn test_source(
        &self,
        request: Request<pb::TestSourceRequest>,
    ) -> Result<Response<run::ExecuteResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        let trigger = check_trigger("trigger", &r.trigger)?;
        parse_event(&r.event_json)?;
        let (config_schema, _) = ConfigSchema::parse(&r.config_schema_json)?;
        if !r.slug.is_empty() {
            check_slug("slug", &r.slug)?;
        }
        let secrets = self
            .test_secrets(
                &caller.tenant,
                Some(r.slug.as_str()).filter(|s| !s.is_empty()),
                r.secrets,
            )
            .await?;
        let compiled = self.compile_source(&caller.tenant, r.source).await?;
        // What a saved version made for this trigger would be, so that the
        // config is checked by the same rule as every other test run.
        let unsaved = StoredVersion {
            slug: "(unsaved source)".into(),
            version: "0.0.0".into(),
            major: 0,
            triggers: serde_json::json!([trigger.as_str()]).to_string(),
            config_schema,
            module_sha256: compiled.sha256.clone(),
            created_at_ms: 0,
            created_by: caller.actor.clone(),
            published_at_ms: 0,
            live: 0,
            plugin_id: compiled.plugin_id.clone(),
            wasm_bytes: compiled.wasm_bytes,
            secrets: "[]".into(),
        };
        let config = check_binding(&unsaved, trigger.as_str(), &r.config_json)?;
        let (mut runner, _) = self.cp.test_runner()?;
        let answer = runner
            .execute_action(self.authorised(run::ExecuteActionRequest {
                tenant: caller.tenant,
                trigger: trigger.as_str().into(),
                event_json: r.event_json,
                config_json: config,
                module_sha256: compiled.sha256,
                secrets,
                ..run::ExecuteActionRequest::default()
            })?)
            .await
            .map_err(from_runner)?;
        Ok(answer)
    }

    async fn test_slot(
        &self,
        request: Request<pb::TestSlotRequest>,
    ) -> Result<Response<run::ExecuteResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let _in_flight = self.in_flight.start(&caller.tenant)?;
        let r = request.into_inner();
        let trigger = check_trigger("trigger", &r.trigger)?;
        parse_event(&r.event_json)?;
        let bindings = if r.use_candidate {
            self.candidate_bindings(&caller.tenant, trigger.as_str(), &r.candidate)
                .await?
        } else {
            let secrets = self.cp.tenant_secret_values(&caller.tenant).await?;
            self.cp
                .store
                .bindings(&caller.tenant)
                .await?
                .iter()
                .filter(|b| b.trigger_name == trigger.as_str() && !b.module_sha256.is_empty())
                .map(|b| convert::runner_binding(b, &secrets))
                .collect()
        };
        let (mut runner, _) = self.cp.test_runner()?;
        let answer = runner
            .execute_bindings(self.authorised(run::ExecuteBindingsRequest {
                tenant: caller.tenant,
                trigger: trigger.as_str().into(),
                event_json: r.event_json,
                bindings,
                replay: Vec::new(),
            })?)
            .await
            .map_err(from_runner)?;
        Ok(answer)
    }

    async fn replay_run(
        &self,
        request: Request<pb::ReplayRunRequest>,
    ) -> Result<Response<pb::ReplayRunResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let _in_flight = self.in_flight.start(&caller.tenant)?;
        let mut r = request.into_inner();
        let record = self
            .cp
            .store
            .run(&caller.tenant, &r.run_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("run {:?}", r.run_id)))?;
        let Some(replay) = record.replay else {
            return Err(Error::NoReplayData {
                run_id: r.run_id,
                why: record.replay_omitted,
            }
            .into());
        };
        let recorded = record.response.unwrap_or_default();
        if replay.bindings.len() != recorded.bindings.len() {
            return Err(Error::Internal(format!(
                "run {}: its record has inputs of {} bindings and results of {}",
                r.run_id,
                replay.bindings.len(),
                recorded.bindings.len()
            ))
            .into());
        }
        let trigger = check_trigger("the run's trigger", &record.trigger)?;
        let replacement = self
            .replacement(
                &caller.tenant,
                trigger.as_str(),
                &mut r,
                &recorded,
                &replay.bindings,
            )
            .await?;
        let bindings = recorded
            .bindings
            .iter()
            .zip(&replay.bindings)
            .map(|(result, inputs)| {
                let (action_version, module_sha256) = match &replacement {
                    Some(with) if with.slug == result.action_slug => {
                        (with.version.clone(), with.module_sha256.clone())
                    }
                    _ => (result.action_version.clone(), result.module_sha256.clone()),
                };
                run::Binding {
                    id: result.binding_id.clone(),
                    action_slug: result.action_slug.clone(),
                    action_version,
                    module_sha256,
                    config_json: inputs.config_json.clone(),
                    fail_open: inputs.fail_open,
                    limits: inputs.limits,
                    secrets: inputs
                        .secret_names
                        .iter()
                        .map(|name| (name.clone(), REDACTED.to_owned()))
                        .collect(),
                }
            })
            .collect();
        let (mut runner, _) = self.cp.test_runner()?;
        let replayed = runner
            .execute_bindings(self.authorised(run::ExecuteBindingsRequest {
                tenant: caller.tenant,
                trigger: trigger.as_str().into(),
                event_json: replay.event_json,
                bindings,
                replay: replay.bindings,
            })?)
            .await
            .map_err(from_runner)?
            .into_inner();
        let differences = crate::replay::differences(&recorded, &replayed);
        Ok(Response::new(pb::ReplayRunResponse {
            identical: differences.is_empty(),
            recorded: Some(recorded),
            replayed: Some(replayed),
            differences,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_past_its_test_runs_is_refused_until_one_ends() {
        let quota = TestRunQuota::new(2);
        let first = quota.start("acme").expect("first");
        let _second = quota.start("acme").expect("second");
        let refused = quota.start("acme").map(|_| ());
        assert!(matches!(refused, Err(Error::Busy(_))), "{refused:?}");
        assert_eq!(
            Status::from(refused.expect_err("busy")).code(),
            Code::ResourceExhausted
        );
        let _other = quota.start("globex").expect("another tenant's own share");
        drop(first);
        let _third = quota.start("acme").expect("room again");
    }
}
