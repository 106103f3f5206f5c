//! The `action` binary, driven as a developer would drive it: one test
//! binary, one file per topic, with what they share in `common`.

mod common;

mod compile;
mod local_test;
mod package;
mod secrets;

mod admin;
mod control_plane;
mod manage_actions;
mod manage_flows;
mod replay;
mod unix;
