//! Leadership among the `run` instances sharing a store: one lease row, taken by the first
//! instance to ask and renewed while it lives. Only the leader connects to the chat gateways
//! and runs the sweeps; the others wait and take over once the leader's lease expires (it
//! died, even by kill -9) or is released (it stopped). With a sled store there is one process
//! and it leads at once.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::SharedStore;

/// The lease that makes its holder the leader (request ids are 8 letters: no clash).
pub const LEADER_LEASE: &str = "leader:chat";

/// How long leadership lasts unless renewed.
pub const LEADER_TTL: Duration = Duration::from_secs(8);

/// How often the leader renews, and a follower asks.
pub const LEADER_POLL: Duration = Duration::from_secs(1);

/// The longest a follower waits after the leader's death before it leads: the lease runs
/// out, then one poll. Within the 15 s that issue 14 allows.
pub const TAKEOVER_WITHIN: Duration = Duration::from_secs(9);

/// What `/readyz` says about this instance, read from the lease as stored.
pub fn role(store: &SharedStore) -> String {
    match store.lease(LEADER_LEASE) {
        Ok(Some(lease)) if lease.holder == store.holder() => crate::ops::health::OK.to_string(),
        Ok(Some(lease)) => format!("follower: {} leads", lease.holder),
        Ok(None) => "follower: no instance leads yet".to_string(),
        Err(e) => format!("cannot read the leader lease: {e}"),
    }
}

/// Waits until this instance leads, or `stop` is cancelled (then `None`).
pub async fn lead(store: &SharedStore, stop: &CancellationToken) -> Option<Leadership> {
    let mut said_waiting = false;
    loop {
        match store.try_lease(LEADER_LEASE, store.holder(), LEADER_TTL) {
            Ok(true) => {
                tracing::info!(
                    holder = store.holder(),
                    "this instance leads: connecting to chat"
                );
                return Some(Leadership::start(store.clone()));
            }
            Ok(false) if !said_waiting => {
                said_waiting = true;
                let leader = store.lease(LEADER_LEASE).ok().flatten();
                tracing::info!(
                    leader = leader.map(|l| l.holder).unwrap_or_default(),
                    "another instance leads; this one waits to take over (no chat connection meanwhile)"
                );
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot ask for leadership; asking again"),
        }
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(LEADER_POLL) => {}
        }
    }
}

/// Held while this instance leads: renews the lease, and says when it was lost.
pub struct Leadership {
    store: SharedStore,
    lost: CancellationToken,
    renewal: tokio::task::JoinHandle<()>,
}

impl Leadership {
    fn start(store: SharedStore) -> Self {
        let lost = CancellationToken::new();
        let renewal = tokio::spawn(renew(store.clone(), lost.clone()));
        Self {
            store,
            lost,
            renewal,
        }
    }

    /// Cancelled when leadership is lost: another instance holds the lease, or it could not be
    /// renewed for so long that another may have taken it. The leader must stop acting.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }
}

async fn renew(store: SharedStore, lost: CancellationToken) {
    let mut renewed = Instant::now();
    // Stop leading well before the lease could run out at the database.
    let give_up = LEADER_TTL - 2 * LEADER_POLL;
    loop {
        tokio::time::sleep(LEADER_POLL).await;
        // On a thread of its own and bounded: a database that hangs must not keep this
        // instance leading past its lease while another takes over.
        let renewing = store.clone();
        let renewal = tokio::time::timeout(
            LEADER_POLL,
            tokio::task::spawn_blocking(move || {
                renewing.renew_lease(LEADER_LEASE, renewing.holder(), LEADER_TTL)
            }),
        )
        .await;
        let failure = match renewal {
            Ok(Ok(Ok(true))) => {
                renewed = Instant::now();
                continue;
            }
            Ok(Ok(Ok(false))) => {
                tracing::error!("leadership was lost to another instance");
                lost.cancel();
                return;
            }
            Ok(Ok(Err(e))) => e.to_string(),
            Ok(Err(e)) => format!("the renewal stopped: {e}"),
            Err(_) => format!("no answer within {LEADER_POLL:?}"),
        };
        if renewed.elapsed() >= give_up {
            tracing::error!(error = %failure, "cannot renew leadership; stepping down");
            lost.cancel();
            return;
        }
        tracing::warn!(error = %failure, "cannot renew leadership; trying again");
    }
}

impl Drop for Leadership {
    /// Steps down at once, so a follower takes over within a poll, not a lease.
    fn drop(&mut self) {
        self.renewal.abort();
        if let Err(e) = self.store.release_lease(LEADER_LEASE, self.store.holder()) {
            tracing::warn!(error = %e, "could not release leadership; it expires on its own");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn one_instance_leads_and_another_takes_over_when_it_steps_down() {
        let memory = MemoryStore::new();
        let (one, other) = (SharedStore::from(memory.clone()), SharedStore::from(memory));
        let stop = CancellationToken::new();
        let leading = lead(&one, &stop).await.expect("the first to ask leads");
        assert_eq!(role(&one), crate::ops::health::OK);
        assert!(role(&other).contains(&format!("follower: {} leads", one.holder())));
        let waiting = tokio::spawn({
            let (other, stop) = (other.clone(), stop.clone());
            async move { lead(&other, &stop).await.map(|_| ()) }
        });
        // A clean stop releases the lease: the follower leads within a poll or two, not a
        // lease length (tests/postgres_leader.rs shows it waiting while the leader lives).
        drop(leading);
        let took_over = tokio::time::timeout(LEADER_POLL * 3, waiting).await;
        assert!(matches!(took_over, Ok(Ok(Some(())))), "{took_over:?}");
        stop.cancel();
    }

    #[tokio::test]
    async fn a_leader_whose_lease_another_holds_steps_down() {
        let memory = MemoryStore::new();
        let (one, other) = (SharedStore::from(memory.clone()), SharedStore::from(memory));
        let leading = lead(&one, &CancellationToken::new()).await.unwrap();
        // As after a pause longer than the lease: it ran out and another instance took it.
        one.release_lease(LEADER_LEASE, one.holder()).unwrap();
        assert!(other
            .try_lease(LEADER_LEASE, other.holder(), LEADER_TTL)
            .unwrap());
        let lost = leading.lost();
        let stepped_down = tokio::time::timeout(LEADER_POLL * 3, lost.cancelled()).await;
        assert!(stepped_down.is_ok(), "still acting as leader");
        drop(leading);
        assert_eq!(
            other.lease(LEADER_LEASE).unwrap().unwrap().holder,
            other.holder(),
            "stepping down leaves the new leader's lease alone"
        );
    }
}
