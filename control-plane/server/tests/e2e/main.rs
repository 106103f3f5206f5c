//! End-to-end: the control plane and a runner over real sockets, the same
//! suite on SQLite and on PostgreSQL.

mod authentication;
mod binding_limits;
mod harness;
mod query_counts;
mod scenarios;

// The scenarios the macro below runs, from every file that has some.
use authentication::{
    a_revoked_runner_token_ends_its_flows_stream_at_once,
    page_tokens_are_opaque_and_bound_to_their_tenant, revoking_a_token_ends_its_open_tail_at_once,
};
use binding_limits::binding_limits_are_kept_checked_and_applied;
use scenarios::*;

/// Runs `scenario` on SQLite and on PostgreSQL, as two tests.
macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let harness = crate::harness::Harness::start(crate::harness::Db::Sqlite)
                        .await
                        .expect("SQLite always runs");
                    crate::$scenario(&harness).await;
                    harness.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let Some(harness) =
                        crate::harness::Harness::start(crate::harness::Db::Postgres).await
                    else {
                        return;
                    };
                    crate::$scenario(&harness).await;
                    harness.stop().await;
                }
            )*
        }
    };
}

on_both_databases!(
    the_product_guides_patterns_end_to_end,
    a_schema_breaking_publish_is_refused,
    every_rpc_refuses_another_tenants_data,
    versions_are_compiled_immutable_and_only_go_forward,
    bindings_move_change_and_detach,
    test_runs_use_the_sandbox_and_change_no_flow,
    packages_upload_and_hostile_archives_are_refused,
    bad_input_leaves_the_store_exactly_as_it_was,
    binding_limits_are_kept_checked_and_applied,
    the_console_and_grpc_web_share_the_control_planes_port,
    unsaved_sources_run_in_the_sandbox_and_compile_errors_are_located,
    revoking_a_token_ends_its_open_tail_at_once,
    page_tokens_are_opaque_and_bound_to_their_tenant,
    one_tenants_attacks_never_reach_another_tenants_sign_ins,
    a_revoked_runner_token_ends_its_flows_stream_at_once,
    a_candidate_slot_runs_an_unsaved_change_and_stores_nothing,
    the_audit_of_an_action_shows_its_config_and_schema_changes,
    run_stats_count_a_tenants_runs_per_minute_and_action,
    secrets_are_write_only_sealed_redacted_and_needed_to_publish,
    tenants_with_the_same_action_and_secret_names_see_their_own_values,
    recorded_runs_replay_exactly_and_a_changed_version_shows_where_it_parts,
    a_run_that_read_more_than_a_record_keeps_says_it_cannot_be_replayed,
    auth0_handlers_run_unchanged_at_their_own_triggers,
);

/// Faults that only a server database can have.
mod postgres_faults {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_database_going_away_is_clear_and_loses_nothing() {
        let Some(harness) = crate::harness::Harness::start(crate::harness::Db::Postgres).await
        else {
            return;
        };
        crate::scenarios::the_database_going_away_is_clear_and_loses_nothing(&harness).await;
        harness.stop().await;
    }
}
