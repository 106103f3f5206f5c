//! `Flows`: the flows of the catalog, their slots, and the bindings in them.

use super::convert;
use crate::auth::new_id;
use crate::rules::{check_binding, check_trigger};
use crate::schema::parse_config;
use crate::store::{BindingChanges, NewBinding};
use crate::{ControlPlane, Error};
use actions_proto::catalog::Flow;
use actions_proto::controlplane::v1::{self as pb, flows_server::Flows};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The `Flows` service.
pub struct FlowsApi {
    cp: Arc<ControlPlane>,
}

impl FlowsApi {
    /// Serves `cp`.
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        Self { cp }
    }
}

fn major(value: Option<u64>) -> Result<Option<i64>, Error> {
    value
        .map(|m| i64::try_from(m).map_err(|_| Error::Invalid(format!("major {m} is too large"))))
        .transpose()
}

#[tonic::async_trait]
impl Flows for FlowsApi {
    async fn list_flows(
        &self,
        request: Request<pb::ListFlowsRequest>,
    ) -> Result<Response<pb::ListFlowsResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let bindings = self.cp.store.bindings(&caller.tenant).await?;
        let flows = Flow::ALL
            .into_iter()
            .map(|flow| pb::Flow {
                name: flow.as_str().into(),
                slots: flow
                    .triggers()
                    .map(|trigger| pb::TriggerSlot {
                        trigger: trigger.as_str().into(),
                        description: trigger.description().into(),
                        methods: trigger
                            .allowed_methods()
                            .into_iter()
                            .map(String::from)
                            .collect(),
                        bindings: bindings
                            .iter()
                            .filter(|b| b.trigger_name == trigger.as_str())
                            .cloned()
                            .map(convert::binding)
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        Ok(Response::new(pb::ListFlowsResponse { flows }))
    }

    async fn attach_action(
        &self,
        request: Request<pb::AttachActionRequest>,
    ) -> Result<Response<pb::SlotBinding>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        let trigger = check_trigger("trigger", &r.trigger)?;
        self.cp.check_limits(r.limits.as_ref())?;
        let id = new_id("bnd")?;
        let config = parse_config(&r.config_json)?.to_string();
        let new = NewBinding {
            id: &id,
            trigger: trigger.as_str(),
            slug: &r.action_slug,
            major: major(r.major)?,
            position: r.position.map(i64::from),
            config: &config,
            fail_open: r.fail_open,
            limits: r.limits.as_ref(),
        };
        let stored = self
            .cp
            .store
            .attach(&caller.tenant, new, &caller.actor, |live| {
                check_binding(live, trigger.as_str(), &config).map(drop)
            })
            .await?;
        Ok(Response::new(convert::binding(stored)))
    }

    async fn move_binding(
        &self,
        request: Request<pb::MoveBindingRequest>,
    ) -> Result<Response<pb::SlotBinding>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        let stored = self
            .cp
            .store
            .move_binding(
                &caller.tenant,
                &r.binding_id,
                i64::from(r.position),
                &caller.actor,
            )
            .await?;
        Ok(Response::new(convert::binding(stored)))
    }

    async fn update_binding(
        &self,
        request: Request<pb::UpdateBindingRequest>,
    ) -> Result<Response<pb::SlotBinding>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        self.cp.check_limits(r.limits.as_ref())?;
        let changes = BindingChanges {
            major: major(r.major)?,
            fail_open: r.fail_open,
            limits: r.limits,
        };
        let stored = self
            .cp
            .store
            .update_binding(
                &caller.tenant,
                &r.binding_id,
                changes,
                &caller.actor,
                |current, live| {
                    let config = r.config_json.as_deref().unwrap_or(&current.config);
                    check_binding(live, &current.trigger_name, config)
                },
            )
            .await?;
        Ok(Response::new(convert::binding(stored)))
    }

    async fn detach_binding(
        &self,
        request: Request<pb::DetachBindingRequest>,
    ) -> Result<Response<pb::DetachBindingResponse>, Status> {
        let caller = self.cp.tenant(&request).await?;
        let r = request.into_inner();
        self.cp
            .store
            .detach(&caller.tenant, &r.binding_id, &caller.actor)
            .await?;
        Ok(Response::new(pb::DetachBindingResponse {}))
    }
}
