//! HTTP integration tests: spoke served on an ephemeral port over a real database,
//! driven with a plain HTTP client. One binary, one module per API area.

mod harness;
mod support;

mod admin;
mod associations;
mod auth_scopes;
mod batch_limits;
mod catalogue;
mod connections;
mod connector_shapes;
mod custom_objects;
mod engagements;
mod errors;
mod fuzz;
mod isolation;
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
mod seed_docs;
mod smoke;
mod strings;
mod users;
mod values;
mod webhooks;
