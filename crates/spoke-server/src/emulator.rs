//! This process's memory of the emulator controls kept in the database: the fault rules
//! and the portals' clocks (`spoke_store::emulator`).
//!
//! Every request to HubSpot's API would otherwise read both from the database; instead the
//! process keeps them and reads them again at most once a second ([`REFRESH`]), when a
//! request arrives and the copy is older than that. One request refreshes while the others
//! go on with the copy they have. This process's own admin writes (a rule added, a clock
//! set) reload the copy at once, so a test that sets a rule or a clock and then calls sees
//! it; another spoke process on the same PostgreSQL database sees it within about a second
//! (docs/compatibility.md, "Emulator controls"). A rule's count is not this memory's: it is
//! spent in the database, so it is exact across processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use spoke_core::time::{now_millis, Millis};
use spoke_core::PortalId;
use spoke_store::emulator::{Clock, FaultRule};
use spoke_store::{Store, StoreResult};

/// How old the copy may get before a request reads the database again.
pub const REFRESH: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Copy {
    /// Rules that can still fire, oldest first.
    rules: Arc<Vec<FaultRule>>,
    /// Portals whose clock is not real time.
    clocks: Arc<HashMap<PortalId, Clock>>,
    read_at: Option<Instant>,
}

pub struct Emulator {
    copy: RwLock<Copy>,
    refreshing: AtomicBool,
    /// The state of the generator behind rules' probabilities (xorshift64*).
    rng: AtomicU64,
}

impl Default for Emulator {
    fn default() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64);
        Self {
            copy: RwLock::default(),
            refreshing: AtomicBool::new(false),
            rng: AtomicU64::new(seed | 1),
        }
    }
}

impl Emulator {
    /// Reads the rules and clocks again if the copy is older than [`REFRESH`]. The first
    /// call waits for the read; later ones leave it to whichever request got there first.
    pub async fn refresh_if_stale(&self, store: &dyn Store) {
        let read_at = self.copy.read().ok().and_then(|c| c.read_at);
        match read_at {
            Some(at) if at.elapsed() < REFRESH => {}
            Some(_) => {
                if self
                    .refreshing
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    // Cleared on drop: a request dropped mid-read (its client left) must
                    // not leave the flag set, or this process would never refresh again.
                    let _done = Clear(&self.refreshing);
                    if let Err(e) = self.reload(store).await {
                        tracing::warn!(error = %e, "reading fault rules and clocks");
                    }
                }
            }
            None => {
                if let Err(e) = self.reload(store).await {
                    tracing::warn!(error = %e, "reading fault rules and clocks");
                }
            }
        }
    }

    /// Reads the rules and clocks now (after this process changed them).
    pub async fn reload(&self, store: &dyn Store) -> StoreResult<()> {
        let started = Instant::now();
        let rules = store.list_fault_rules().await;
        let clocks = store.list_clocks().await;
        let mut copy = self.copy.write().unwrap_or_else(|p| p.into_inner());
        // A read that started before the copy's own must not put older rules back (a
        // background refresh finishing after an admin write's reload).
        if copy.read_at.is_some_and(|at| at > started) {
            return Ok(());
        }
        // A failed read is tried again a second later rather than on every request.
        copy.read_at = Some(started);
        let rules = rules?;
        let clocks = clocks?;
        copy.rules = Arc::new(rules.into_iter().filter(|r| !r.exhausted()).collect());
        copy.clocks = Arc::new(clocks.into_iter().collect());
        Ok(())
    }

    /// The rules that may still fire, oldest first.
    pub fn rules(&self) -> Arc<Vec<FaultRule>> {
        self.copy
            .read()
            .map(|c| c.rules.clone())
            .unwrap_or_default()
    }

    /// The portal's clock as this process last read it.
    pub fn clock(&self, portal: PortalId) -> Clock {
        self.copy
            .read()
            .ok()
            .and_then(|c| c.clocks.get(&portal).copied())
            .unwrap_or_default()
    }

    /// The instant the portal sees now (see `crate::clock`).
    pub fn now(&self, portal: PortalId) -> Millis {
        self.clock(portal).now(now_millis())
    }

    /// Whether a rule of this probability hits this time: 1 always, 0 never.
    pub fn roll(&self, probability: f64) -> bool {
        if probability >= 1.0 {
            return true;
        }
        if probability.is_nan() || probability <= 0.0 {
            return false;
        }
        let next = self
            .rng
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mut x| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                Some(x)
            })
            .unwrap_or(1);
        // The high 53 bits of the scrambled state as a number in [0, 1).
        let r = (next.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
        r < probability
    }
}

/// Clears a flag when dropped.
struct Clear<'a>(&'a AtomicBool);

impl Drop for Clear<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_one_and_zero_are_exact_and_a_half_is_about_half() {
        let e = Emulator::default();
        assert!((0..1000).all(|_| e.roll(1.0)));
        assert!((0..1000).all(|_| !e.roll(0.0)));
        let hits = (0..10_000).filter(|_| e.roll(0.5)).count();
        assert!((4_500..5_500).contains(&hits), "{hits}");
    }
}
