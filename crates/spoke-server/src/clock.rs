//! The time a portal sees (issue 16 scope 7). Each portal has a clock: real time, frozen
//! at an instant, or real time plus an offset (`spoke_store::emulator::Clock`), set through
//! the admin API (`admin::clock`) and read through [`AppState::now`](crate::AppState::now),
//! the one function that gives a portal's "now".
//!
//! A portal's time is what its data records and what its credentials are judged by:
//! records' `createdAt`/`updatedAt`, `hs_lastmodifieddate` and history timestamps (the
//! `WriteContext` of object writes), archive times, property, group, pipeline and schema
//! write times, the owners' and users' times the directory stamps, batch answers'
//! `startedAt`/`completedAt`, the expiry of OAuth access tokens (judged in `auth`) and of
//! the codes and tokens the OAuth endpoints issue, and the account's UTC offset.
//!
//! Real time, on purpose, where the time is the installation's rather than a portal's:
//! rate-limit windows and request timings (`Instant`s), TLS certificates, the admin API's
//! own stamps (a portal's creation, a snapshot's `createdAt`, a fault rule's), private-app
//! token creation (`spoke token`), OAuth apps, and the PostgreSQL migration log.
