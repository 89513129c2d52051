//! The integration tests of codectx: one test binary (as ripgrep's `tests/tests.rs`)
//! with a module per area. Every test works on the fixture repository in
//! `tests/data/fixture`, indexed in place into a temporary index folder (nothing is
//! written into `tests/data`), or on a temporary copy of it when files change.
//!
//! Run: `cargo test --test tests`; one area: `cargo test --test tests grpc::`.
//! Ranking golden files: `CODECTX_UPDATE_GOLDEN=1 cargo test --test tests ranking`.

mod util;

mod ask_model;
mod cli;
mod crash;
mod embeddings;
mod eval;
mod faults;
mod fixture_index;
mod freshness;
mod fuzz;
mod grpc;
mod hardening;
mod incremental;
mod malformed;
mod mcp;
mod metrics;
mod ranking;
mod registry;
mod secrets;
mod tenancy;
mod train;
