//! HTTP integration tests: spoke served on an ephemeral port over a real database,
//! driven with a plain HTTP client. One binary, one module per API area.

mod harness;
mod support;

mod admin;
mod associations;
mod auth_scopes;
mod batch_limits;
mod catalogue;
mod clock;
mod connections;
mod connector_shapes;
mod custom_objects;
mod engagements;
mod errors;
mod fault_log;
mod faults;
mod fuzz;
mod inspector;
mod isolation;
mod journal;
mod legacy;
mod list;
mod metrics;
mod oauth;
mod objects_batch;
mod objects_single;
mod owners;
mod persistence;
mod pipelines;
mod properties;
mod ratelimit;
mod schemas;
mod search;
mod seed;
mod seed_docs;
mod smoke;
mod strings;
mod ui;
mod users;
mod values;
mod webhooks;
