//! `action admin`: the operator's commands (the `Tenants` service):
//! tenants, their tokens and runners' own sync tokens. They take the
//! operator token, from `--token`, `ACTIONS_OPERATOR_TOKEN` or the profile
//! `action admin login` writes; never a tenant's. A token's secret is in
//! the answer to its creation and nowhere else: it is printed once.

use super::login::save_profile;
use super::{Remote, block_on, refused, time_text};
use crate::Status;
use crate::outln;
use crate::output::print_json;
use actions_proto::controlplane::v1::{self as pb, tenants_client::TenantsClient};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tonic::transport::Channel;

#[derive(Args, Debug)]
pub(crate) struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Check the operator token and keep it in the profile, beside the tenant token.
    Login(LoginArgs),
    /// Tenants: create and list.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Tenants' tokens: create (the secret is printed once), list and revoke.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Runners' own sync tokens: create (the secret is printed once) and list;
    /// `action admin tokens revoke` revokes them.
    #[command(subcommand)]
    RunnerTokens(RunnerTokensCommand),
}

#[derive(Subcommand, Debug)]
enum TenantsCommand {
    /// Create a tenant.
    Create(TenantCreateArgs),
    /// List the tenants.
    List(ListArgs),
}

#[derive(Subcommand, Debug)]
enum TokensCommand {
    /// Create a token for a tenant; its secret is printed once.
    Create(TokenCreateArgs),
    /// List a tenant's tokens (never their secrets).
    List(TokenListArgs),
    /// Revoke a token, a tenant's (tok_…) or a runner's (rtk_…); the streams it opened end at once.
    Revoke(TokenRevokeArgs),
}

#[derive(Subcommand, Debug)]
enum RunnerTokensCommand {
    /// Create a runner's sync token; its secret is printed once.
    Create(RunnerTokenCreateArgs),
    /// List the runners' tokens (never their secrets).
    List(ListArgs),
}

/// Where the control plane is, and the operator token.
#[derive(Args, Debug, Clone)]
struct Operator {
    /// The control plane (default: the profile's, else http://127.0.0.1:50051).
    #[arg(long, env = "ACTIONS_SERVER")]
    server: Option<String>,
    /// The operator token (default: the profile's, kept by `action admin login`).
    #[arg(long, env = "ACTIONS_OPERATOR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Operator {
    fn remote(&self) -> Remote {
        Remote {
            server: self.server.clone(),
            token: self.token.clone(),
            json: self.json,
            operator: true,
        }
    }
}

#[derive(Args, Debug)]
struct LoginArgs {
    /// The control plane.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    server: String,
    /// The operator token.
    #[arg(long)]
    token: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct TenantCreateArgs {
    /// Its id: lower-case letters, digits and '-'; immutable.
    id: String,
    /// Its display name (default: the id).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    operator: Operator,
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    operator: Operator,
}

#[derive(Args, Debug)]
struct TokenCreateArgs {
    /// The tenant.
    tenant: String,
    /// What the token is for, e.g. "ci" or "alice's laptop".
    #[arg(long)]
    name: String,
    #[command(flatten)]
    operator: Operator,
}

#[derive(Args, Debug)]
struct TokenListArgs {
    /// The tenant.
    tenant: String,
    #[command(flatten)]
    operator: Operator,
}

#[derive(Args, Debug)]
struct TokenRevokeArgs {
    /// The token's id (tok_… or rtk_…; see `tokens list`, `runner-tokens list`).
    id: String,
    #[command(flatten)]
    operator: Operator,
}

#[derive(Args, Debug)]
struct RunnerTokenCreateArgs {
    /// Which runner or fleet it is for, e.g. "eu-west runners".
    #[arg(long)]
    name: String,
    #[command(flatten)]
    operator: Operator,
}

pub(crate) fn run(args: &AdminArgs) -> anyhow::Result<Status> {
    match &args.command {
        AdminCommand::Login(args) => login(args),
        AdminCommand::Tenants(TenantsCommand::Create(args)) => create_tenant(args),
        AdminCommand::Tenants(TenantsCommand::List(args)) => list_tenants(args),
        AdminCommand::Tokens(TokensCommand::Create(args)) => create_token(args),
        AdminCommand::Tokens(TokensCommand::List(args)) => list_tokens(args),
        AdminCommand::Tokens(TokensCommand::Revoke(args)) => revoke_token(args),
        AdminCommand::RunnerTokens(RunnerTokensCommand::Create(args)) => create_runner_token(args),
        AdminCommand::RunnerTokens(RunnerTokensCommand::List(args)) => list_runner_tokens(args),
    }
}

async fn client(remote: &Remote) -> anyhow::Result<TenantsClient<Channel>> {
    Ok(TenantsClient::new(remote.channel().await?)
        .max_decoding_message_size(actions_proto::sizes::MAX_RESPONSE_BYTES))
}

fn tenant_json(t: &pb::Tenant) -> Value {
    json!({ "id": t.id, "name": t.name, "created_at_ms": t.created_at_ms })
}

fn token_json(t: &pb::TokenInfo) -> Value {
    json!({
        "id": t.id, "tenant": t.tenant, "name": t.name, "created_at_ms": t.created_at_ms,
        "revoked_at_ms": t.revoked_at_ms, "revoked": t.revoked_at_ms != 0,
    })
}

fn login(args: &LoginArgs) -> anyhow::Result<Status> {
    let remote = Remote {
        server: Some(args.server.clone()),
        token: Some(args.token.clone()),
        json: args.json,
        operator: true,
    };
    block_on(async {
        client(&remote)
            .await?
            .list_tenants(remote.request(pb::ListTenantsRequest {
                page_size: 1,
                page_token: String::new(),
            })?)
            .await
            .map_err(refused)
    })?;
    let path = save_profile(&args.server, |profile| {
        profile.operator_token.clone_from(&args.token);
    })?;
    if args.json {
        print_json(&json!({ "server": args.server, "profile": path }));
    } else {
        outln!(
            "logged in to {} as the operator; the token is kept in {} (mode 0600)",
            args.server,
            path.display()
        );
    }
    Ok(Status::Ok)
}

fn create_tenant(args: &TenantCreateArgs) -> anyhow::Result<Status> {
    let remote = args.operator.remote();
    let tenant = block_on(async {
        client(&remote)
            .await?
            .create_tenant(remote.request(pb::CreateTenantRequest {
                id: args.id.clone(),
                name: args.name.clone().unwrap_or_else(|| args.id.clone()),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if remote.json {
        print_json(&tenant_json(&tenant));
    } else {
        outln!(
            "created tenant {} ({}); give it a token with: action admin tokens create {} --name <what for>",
            tenant.id,
            tenant.name,
            tenant.id
        );
    }
    Ok(Status::Ok)
}

fn list_tenants(args: &ListArgs) -> anyhow::Result<Status> {
    let remote = args.operator.remote();
    let tenants = block_on(async {
        let mut client = client(&remote).await?;
        let mut found = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_tenants(remote.request(pb::ListTenantsRequest {
                    page_size: 0,
                    page_token,
                })?)
                .await
                .map_err(refused)?
                .into_inner();
            found.extend(page.tenants);
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        anyhow::Ok(found)
    })?;
    if remote.json {
        print_json(&Value::Array(tenants.iter().map(tenant_json).collect()));
        return Ok(Status::Ok);
    }
    if tenants.is_empty() {
        outln!("no tenants yet; `action admin tenants create <id>` creates one");
        return Ok(Status::Ok);
    }
    let width = tenants.iter().map(|t| t.id.len()).max().unwrap_or(0).max(2);
    outln!("{:width$}  {:20}  NAME", "ID", "CREATED");
    for t in &tenants {
        outln!(
            "{:width$}  {:20}  {}",
            t.id,
            time_text(t.created_at_ms),
            t.name
        );
    }
    Ok(Status::Ok)
}

/// A new token: in JSON, the token and its secret; as text, the secret
/// alone on standard output (so that `$(...)` captures just it) and what it
/// is on standard error.
fn print_created(created: &pb::CreateTokenResponse, json: bool) {
    let token = created.token.clone().unwrap_or_default();
    if json {
        print_json(&json!({ "token": token_json(&token), "secret": created.secret }));
        return;
    }
    let whose = if token.tenant.is_empty() {
        "runners".to_owned()
    } else {
        format!("tenant {}", token.tenant)
    };
    eprintln!(
        "created token {} ({}) for {whose}; its secret is printed below, once: keep it now",
        token.id, token.name
    );
    outln!("{}", created.secret);
}

fn create_token(args: &TokenCreateArgs) -> anyhow::Result<Status> {
    let remote = args.operator.remote();
    let created = block_on(async {
        client(&remote)
            .await?
            .create_token(remote.request(pb::CreateTokenRequest {
                tenant: args.tenant.clone(),
                name: args.name.clone(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    print_created(&created, remote.json);
    Ok(Status::Ok)
}

fn print_tokens(tokens: &[pb::TokenInfo], json: bool) {
    if json {
        print_json(&Value::Array(tokens.iter().map(token_json).collect()));
        return;
    }
    if tokens.is_empty() {
        outln!("no tokens");
        return;
    }
    let width = tokens.iter().map(|t| t.id.len()).max().unwrap_or(0).max(2);
    outln!("{:width$}  {:20}  {:20}  NAME", "ID", "CREATED", "REVOKED");
    for t in tokens {
        outln!(
            "{:width$}  {:20}  {:20}  {}",
            t.id,
            time_text(t.created_at_ms),
            if t.revoked_at_ms == 0 {
                "-".to_owned()
            } else {
                time_text(t.revoked_at_ms)
            },
            t.name
        );
    }
}

fn list_tokens(args: &TokenListArgs) -> anyhow::Result<Status> {
    let remote = args.operator.remote();
    let tokens = block_on(async {
        client(&remote)
            .await?
            .list_tokens(remote.request(pb::ListTokensRequest {
                tenant: args.tenant.clone(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    print_tokens(&tokens.tokens, remote.json);
    Ok(Status::Ok)
}

fn revoke_token(args: &TokenRevokeArgs) -> anyhow::Result<Status> {
    let remote = args.operator.remote();
    let token = block_on(async {
        client(&remote)
            .await?
            .revoke_token(remote.request(pb::RevokeTokenRequest {
                id: args.id.clone(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    if remote.json {
        print_json(&token_json(&token));
    } else {
        outln!(
            "revoked {} ({}) at {}",
            token.id,
            token.name,
            time_text(token.revoked_at_ms)
        );
    }
    Ok(Status::Ok)
}

fn create_runner_token(args: &RunnerTokenCreateArgs) -> anyhow::Result<Status> {
    let remote = args.operator.remote();
    let created = block_on(async {
        client(&remote)
            .await?
            .create_runner_token(remote.request(pb::CreateRunnerTokenRequest {
                name: args.name.clone(),
            })?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    print_created(&created, remote.json);
    Ok(Status::Ok)
}

fn list_runner_tokens(args: &ListArgs) -> anyhow::Result<Status> {
    let remote = args.operator.remote();
    let tokens = block_on(async {
        client(&remote)
            .await?
            .list_runner_tokens(remote.request(pb::ListRunnerTokensRequest {})?)
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    })?;
    print_tokens(&tokens.tokens, remote.json);
    Ok(Status::Ok)
}
