//! HTTP integration tests: spoke served on an ephemeral port over a real database,
//! driven with a plain HTTP client. One binary, one module per API area.

mod harness;

mod smoke;
