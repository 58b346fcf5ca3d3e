//! Emulator controls that change how spoke answers rather than what a portal holds: fault
//! rules (errors, latency and dropped connections injected on purpose) and each portal's
//! clock.
//!
//! Both live in the database, so several spoke processes on one PostgreSQL database share
//! them. A rule's `count` is spent in the database ([`EmulatorStore::fire_fault_rule`] is
//! one conditional `UPDATE`), so "fail the next 3 requests" holds exactly across processes.
//!
//! A portal's clock is portal data: its row is in [`Table::PortalClocks`], so a snapshot
//! keeps it, a restore brings it back, a reset empties it (the portal's time is real again)
//! and `spoke copy` carries it. Fault rules are not: they are the installation's test
//! set-up, like its tokens, and outlive resets and restores.
//!
//! [`Table::PortalClocks`]: crate::Table::PortalClocks

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use spoke_core::time::Millis;
use spoke_core::PortalId;

use crate::StoreResult;

/// What a fault rule does to a request it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum FaultAction {
    /// Answer with this status and HubSpot's body for it (or `body`, verbatim).
    Error {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<serde_json::Value>,
    },
    /// Wait, then serve the request as usual.
    Latency {
        #[serde(rename = "latencyMs")]
        latency_ms: u64,
    },
    /// Serve the request, then drop the connection part-way through the answer's body.
    Disconnect,
}

impl FaultAction {
    /// The action's name, as the admin API spells it and the metrics label it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Error { .. } => "error",
            Self::Latency { .. } => "latency",
            Self::Disconnect => "disconnect",
        }
    }
}

/// Which requests a rule matches and what it does: everything of a rule but its bookkeeping.
/// Stored as one JSON document, so a new matcher needs no migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultSpec {
    /// Only requests whose token belongs to this portal; `None`: every request.
    #[serde(default)]
    pub portal_id: Option<i64>,
    /// Only this HTTP method (upper case); `None`: every method.
    #[serde(default)]
    pub method: Option<String>,
    /// A glob over the request path ([`glob_matches`]); `None`: every path.
    #[serde(default)]
    pub path: Option<String>,
    /// The chance that a matching request is hit, 0 to 1.
    pub probability: f64,
    #[serde(flatten)]
    pub action: FaultAction,
}

impl FaultSpec {
    /// Whether a request matches the rule's method and path. The portal is judged apart
    /// ([`FaultSpec::portal_matches`]): it is known only once the token has been read.
    pub fn request_matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|g| glob_matches(g, path))
    }

    /// Whether the rule applies to a request of `portal` (`None`: not known yet, or no
    /// token). A rule without a portal applies to every request; one with a portal only
    /// to requests known to be that portal's.
    pub fn portal_matches(&self, portal: Option<PortalId>) -> bool {
        match self.portal_id {
            None => true,
            Some(p) => portal == Some(PortalId(p)),
        }
    }
}

/// A stored fault rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub id: i64,
    pub spec: FaultSpec,
    /// How many times it may fire in all; `None`: without limit.
    pub count: Option<i64>,
    /// How many firings are left of `count`.
    pub remaining: Option<i64>,
    /// How many times it has fired.
    pub hits: i64,
    pub created_at: Millis,
}

impl FaultRule {
    /// Whether its count is spent (it then never fires again).
    pub fn exhausted(&self) -> bool {
        self.remaining.is_some_and(|r| r <= 0)
    }
}

/// `*` matches any run of characters (`/` included); every other character itself.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    // Bytes, not chars: `*` is ASCII and UTF-8 never hides an ASCII byte inside a character,
    // so this matches as the characters would, without allocating on every request.
    let (pattern, text) = (glob.as_bytes(), text.as_bytes());
    // The classic linear backtracking match: remember the last `*` and where it started.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

/// The time a portal sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The machine's clock.
    #[default]
    Real,
    /// Stopped at this instant until changed.
    Frozen(Millis),
    /// The machine's clock plus this many milliseconds (negative: behind).
    Offset(i64),
}

impl Clock {
    /// The portal's instant when the machine's clock reads `real`.
    pub fn now(self, real: Millis) -> Millis {
        match self {
            Self::Real => real,
            Self::Frozen(at) => at,
            Self::Offset(ms) => real.saturating_add(ms),
        }
    }

    /// The clock moved on by `ms`: a frozen one to a later frozen instant; a running one
    /// ahead by that much more.
    pub fn advanced(self, ms: i64) -> Clock {
        match self {
            Self::Real => Self::Offset(ms),
            Self::Frozen(at) => Self::Frozen(at.saturating_add(ms)),
            Self::Offset(o) => Self::Offset(o.saturating_add(ms)),
        }
    }

    pub fn mode(self) -> &'static str {
        match self {
            Self::Real => "real",
            Self::Frozen(_) => "frozen",
            Self::Offset(_) => "offset",
        }
    }

    /// The offset from the machine's clock (0 unless offset).
    pub fn offset_ms(self) -> i64 {
        match self {
            Self::Offset(ms) => ms,
            _ => 0,
        }
    }

    /// The `portal_clocks` row of a clock: mode, frozen instant, offset. `None` for the real
    /// clock, which has no row.
    pub fn row(self) -> Option<(&'static str, Option<Millis>, i64)> {
        match self {
            Self::Real => None,
            Self::Frozen(at) => Some(("frozen", Some(at), 0)),
            Self::Offset(ms) => Some(("offset", None, ms)),
        }
    }

    /// A clock from its row; a row this version does not understand reads as real time.
    pub fn from_row(mode: &str, frozen_at: Option<Millis>, offset_ms: i64) -> Clock {
        match (mode, frozen_at) {
            ("frozen", Some(at)) => Self::Frozen(at),
            ("offset", _) => Self::Offset(offset_ms),
            _ => Self::Real,
        }
    }
}

/// What the fault and clock controls need from a backend; each method is one statement or
/// one transaction.
#[async_trait]
pub trait EmulatorStore: Send + Sync {
    /// Every rule, oldest first.
    async fn list_fault_rules(&self) -> StoreResult<Vec<FaultRule>>;

    async fn insert_fault_rule(
        &self,
        spec: &FaultSpec,
        count: Option<i64>,
        now: Millis,
    ) -> StoreResult<FaultRule>;

    /// False if there was no such rule.
    async fn delete_fault_rule(&self, id: i64) -> StoreResult<bool>;

    /// Removes every rule; returns how many there were.
    async fn clear_fault_rules(&self) -> StoreResult<u64>;

    /// Spends one firing of the rule (its hits up by one, its remaining count down by one),
    /// atomically: false when the rule is gone or its count is spent, so of several
    /// processes racing for a rule's last firing exactly one gets it.
    async fn fire_fault_rule(&self, id: i64) -> StoreResult<bool>;

    /// Every portal's clock that is not real time.
    async fn list_clocks(&self) -> StoreResult<Vec<(PortalId, Clock)>>;

    /// The portal's clock; `None` if there is no such portal.
    async fn read_clock(&self, portal: PortalId) -> StoreResult<Option<Clock>>;

    /// Sets the portal's clock and returns it; `None` if there is no such portal.
    async fn set_clock(&self, portal: PortalId, clock: Clock) -> StoreResult<Option<Clock>>;

    /// Moves the portal's clock on by `ms` ([`Clock::advanced`]) in one transaction, so two
    /// advances both count; `None` if there is no such portal.
    async fn advance_clock(&self, portal: PortalId, ms: i64) -> StoreResult<Option<Clock>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_of_anything() {
        assert!(glob_matches(
            "/crm/v3/objects/contacts*",
            "/crm/v3/objects/contacts/batch/read"
        ));
        assert!(glob_matches(
            "/crm/v3/objects/contacts*",
            "/crm/v3/objects/contacts"
        ));
        assert!(!glob_matches(
            "/crm/v3/objects/contacts*",
            "/crm/v3/objects/companies"
        ));
        assert!(glob_matches(
            "*/batch/*",
            "/crm/v3/objects/deals/batch/read"
        ));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("/a*b*c", "/aXXbYYbc"));
        assert!(!glob_matches("/a*b*c", "/aXXbYYbd"));
        assert!(glob_matches("/exact", "/exact"));
        assert!(!glob_matches("/exact", "/exact/more"));
    }

    #[test]
    fn clocks_advance_by_mode_and_round_trip_through_rows() {
        assert_eq!(Clock::Real.advanced(5), Clock::Offset(5));
        assert_eq!(Clock::Frozen(10).advanced(5), Clock::Frozen(15));
        assert_eq!(Clock::Offset(-3).advanced(5), Clock::Offset(2));
        assert_eq!(Clock::Frozen(10).now(999), 10);
        assert_eq!(Clock::Offset(-3).now(1000), 997);
        for c in [Clock::Frozen(7), Clock::Offset(-9), Clock::Offset(0)] {
            let (mode, at, off) = c.row().expect("a row");
            assert_eq!(Clock::from_row(mode, at, off), c);
        }
        assert_eq!(Clock::Real.row(), None);
    }

    #[test]
    fn specs_round_trip_through_their_stored_json() {
        let spec = FaultSpec {
            portal_id: Some(3),
            method: Some("GET".into()),
            path: Some("/crm/*".into()),
            probability: 0.5,
            action: FaultAction::Error {
                status: 429,
                body: None,
            },
        };
        let text = serde_json::to_string(&spec).expect("json");
        assert_eq!(
            serde_json::from_str::<FaultSpec>(&text).expect("back"),
            spec
        );
        assert!(spec.request_matches("get", "/crm/v3"));
        assert!(!spec.request_matches("POST", "/crm/v3"));
        assert!(!spec.portal_matches(None));
        assert!(spec.portal_matches(Some(PortalId(3))));
    }
}
