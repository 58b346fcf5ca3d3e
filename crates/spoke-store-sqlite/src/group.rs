//! Group commit: writes queued at the same time share one transaction, and so one WAL sync.
//!
//! With `synchronous=FULL` every commit waits for the disk, and the writer is alone, so
//! concurrent single-record writes used to run one sync after another while the CPUs idled
//! (profiled under 8 writers of single-record creates: half of both cores idle). Here a
//! write is a job in a queue;
//! whoever holds the writer runs every queued job in one `BEGIN IMMEDIATE` transaction,
//! each inside its own savepoint, and commits once. A job that fails is rolled back to its
//! savepoint and the others go on, so each write still commits or rolls back whole and
//! sees the writes queued before it, exactly as if they had run one after another. No job
//! is answered before the commit that holds it is on disk; if that commit fails, every job
//! in it is answered with the failure.
//!
//! Pages several writes of a group dirty (the last leaf of `objects`, of each index, the
//! totals row, the outbox's) are written to the log once per group instead of once per
//! write.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Savepoint};
use spoke_store::{StoreError, StoreResult};
use tokio::sync::oneshot;

/// Jobs one transaction takes at most.
const MAX_GROUP: usize = 64;
/// A group stops taking its queued jobs once it has run this long: every write of a group
/// is answered when the group commits, so its first write waits for all the others. Single
/// records take tens of microseconds each, so this bounds nothing for them; a batch of 100
/// takes milliseconds, and an earlier attempt that grouped up to 32 of them made the
/// longest wait for an answer 3-10x longer (BENCHMARKS.md, "group (not landed)").
const MAX_GROUP_TIME: Duration = Duration::from_millis(10);

/// Answers a job with its result, or with its group's failed commit.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// A queued write.
trait Job: Send {
    /// Runs the write on the writer inside the group's transaction; returns how to answer
    /// once the group's commit is known.
    fn run(self: Box<Self>, conn: &mut Connection) -> Answer;
    /// Answers without running: its group could not begin.
    fn fail(self: Box<Self>, e: &StoreError);
}

struct Pending<T, F> {
    f: F,
    send: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&mut Savepoint<'_>) -> rusqlite::Result<T> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut Connection) -> Answer {
        let Pending { f, send } = *self;
        let out = (|| {
            let mut sp = conn.savepoint()?;
            let v = f(&mut sp)?;
            sp.commit()?;
            Ok(v)
        })();
        Box::new(move |failed: Option<&StoreError>| {
            let answer = match failed {
                None => out.map_err(crate::map_err),
                Some(e) => Err(copy(e)),
            };
            // The caller may have gone (its client disconnected); the write stands.
            let _ = send.send(answer);
        })
    }

    fn fail(self: Box<Self>, e: &StoreError) {
        let _ = self.send.send(Err(copy(e)));
    }
}

#[derive(Default)]
pub(crate) struct Queue {
    jobs: Mutex<Vec<Box<dyn Job>>>,
}

impl Queue {
    /// Queues `f` to run in its own savepoint; the receiver gets its result once the group
    /// that ran it has committed. `f` may roll its savepoint back and still return `Ok`
    /// (a batch that stopped at a failed item keeps nothing).
    pub(crate) fn push<T, F>(&self, f: F) -> StoreResult<oneshot::Receiver<StoreResult<T>>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Savepoint<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        let (send, receive) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending { f, send });
        self.jobs
            .lock()
            .map_err(|_| StoreError::Internal("write queue poisoned".into()))?
            .push(job);
        Ok(receive)
    }

    fn take(&self) -> Vec<Box<dyn Job>> {
        let Ok(mut jobs) = self.jobs.lock() else {
            return Vec::new();
        };
        let n = jobs.len().min(MAX_GROUP);
        jobs.drain(..n).collect()
    }

    /// Runs the oldest queued jobs (up to [`MAX_GROUP`], for up to [`MAX_GROUP_TIME`]) in
    /// one transaction; the ones it did not reach go back to the front of the queue. The
    /// caller holds the writer. One group per call, not until the queue is empty: under a
    /// steady stream of writes that would keep the writer from the writes that do not queue
    /// here. Every job queues a call of its own, and each call with work runs at least one
    /// job, so none is left behind.
    pub(crate) fn run_next(&self, conn: &mut Connection) {
        let jobs = self.take();
        if jobs.is_empty() {
            return;
        }
        let rest = run_group(conn, jobs);
        if !rest.is_empty() {
            if let Ok(mut jobs) = self.jobs.lock() {
                jobs.splice(0..0, rest);
            }
        }
    }

    /// Answers the oldest queued jobs with `e`, without running them.
    pub(crate) fn fail_next(&self, e: &StoreError) {
        for job in self.take() {
            job.fail(e);
        }
    }

    /// Whether a drain has work: a write's trigger finds the queue empty when an earlier
    /// drain already ran its job.
    pub(crate) fn has_work(&self) -> bool {
        self.jobs.lock().is_ok_and(|j| !j.is_empty())
    }
}

/// Runs `jobs` in one transaction, as many as [`MAX_GROUP_TIME`] allows (at least one);
/// returns the ones it did not run.
fn run_group(conn: &mut Connection, jobs: Vec<Box<dyn Job>>) -> Vec<Box<dyn Job>> {
    // A transaction a panicking job left open would make every later BEGIN fail.
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let e = crate::map_err(e);
        for job in jobs {
            job.fail(&e);
        }
        return Vec::new();
    }
    let started = Instant::now();
    let mut answers = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let mut lost = None;
    for job in jobs.by_ref() {
        // A job that panics answers nothing (its caller sees the channel closed); its
        // savepoint was rolled back as the panic unwound.
        if let Ok(answer) = catch_unwind(AssertUnwindSafe(|| job.run(conn))) {
            answers.push(answer);
        }
        // Some errors (a full disk, an I/O error) make SQLite roll the whole transaction
        // back: what the jobs before this one wrote is gone with it.
        if conn.is_autocommit() {
            lost = Some(StoreError::Internal(
                "the write's transaction was rolled back by the database".into(),
            ));
            break;
        }
        if started.elapsed() >= MAX_GROUP_TIME {
            break;
        }
    }
    let failed = match lost {
        Some(e) => Some(e),
        None => conn.execute_batch("COMMIT").err().map(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            crate::map_err(e)
        }),
    };
    for answer in answers {
        answer(failed.as_ref());
    }
    // The jobs after a lost transaction, or past the group's time, never ran.
    jobs.collect()
}

fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Internal(m) => StoreError::Internal(m.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &tempfile::TempDir) -> Connection {
        let conn = Connection::open(dir.path().join("group.db")).expect("open");
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v TEXT UNIQUE)")
            .expect("schema");
        conn
    }

    fn insert(v: &'static str) -> impl FnOnce(&mut Savepoint<'_>) -> rusqlite::Result<()> {
        move |sp| sp.execute("INSERT INTO t (v) VALUES (?1)", [v]).map(|_| ())
    }

    fn kept(conn: &Connection) -> Vec<String> {
        conn.prepare("SELECT v FROM t ORDER BY v")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("read")
    }

    /// A group: a write that fails, one that panics and one that rolls its savepoint
    /// back leave nothing; the others are kept, see the ones before them, and are answered
    /// only once the group has committed.
    #[test]
    fn each_write_of_a_group_stands_or_falls_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        let queue = Queue::default();
        let mut first = queue.push(insert("a")).expect("push");
        let mut taken = queue.push(insert("a")).expect("push");
        let mut panics = queue
            .push(|sp: &mut Savepoint<'_>| -> rusqlite::Result<()> {
                sp.execute("INSERT INTO t (v) VALUES ('p')", [])?;
                panic!("a write that panics")
            })
            .expect("push");
        let mut stopped = queue
            .push(|sp: &mut Savepoint<'_>| {
                sp.execute("INSERT INTO t (v) VALUES ('s')", [])?;
                sp.rollback()?;
                Ok("stopped")
            })
            .expect("push");
        let mut sees = queue
            .push(|sp: &mut Savepoint<'_>| {
                sp.query_row("SELECT COUNT(*) FROM t", [], |r| r.get::<_, i64>(0))
            })
            .expect("push");
        let mut last = queue.push(insert("b")).expect("push");
        assert!(
            first.try_recv().is_err(),
            "nothing is answered before the group runs"
        );
        // Usually one group; two if the panic's unwinding outlasts a group's time.
        while queue.has_work() {
            queue.run_next(&mut conn);
        }
        assert!(conn.is_autocommit(), "the group's transaction is over");
        assert!(first.try_recv().expect("answered").is_ok());
        assert!(
            taken.try_recv().expect("answered").is_err(),
            "a unique conflict"
        );
        assert!(
            panics.try_recv().is_err(),
            "a write that panicked answers nothing"
        );
        assert_eq!(stopped.try_recv().expect("answered").ok(), Some("stopped"));
        assert_eq!(
            sees.try_recv().expect("answered").ok(),
            Some(1),
            "a write sees the ones kept before it"
        );
        assert!(last.try_recv().expect("answered").is_ok());
        assert_eq!(kept(&conn), ["a", "b"]);
        let other = Connection::open(dir.path().join("group.db")).expect("open");
        assert_eq!(
            kept(&other),
            ["a", "b"],
            "committed: another connection sees it"
        );
    }

    /// A group stops taking jobs after its time: the rest wait, in order, for the next.
    #[test]
    fn a_long_group_leaves_the_rest_for_the_next() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        let queue = Queue::default();
        let mut slow = queue
            .push(|sp: &mut Savepoint<'_>| {
                std::thread::sleep(MAX_GROUP_TIME + Duration::from_millis(5));
                insert("a")(sp)
            })
            .expect("push");
        let mut next = queue.push(insert("b")).expect("push");
        let mut after = queue.push(insert("c")).expect("push");
        queue.run_next(&mut conn);
        assert!(slow.try_recv().expect("answered").is_ok());
        assert!(next.try_recv().is_err(), "not run by the first group");
        assert_eq!(kept(&conn), ["a"]);
        queue.run_next(&mut conn);
        assert!(next.try_recv().expect("answered").is_ok());
        assert!(after.try_recv().expect("answered").is_ok());
        assert_eq!(kept(&conn), ["a", "b", "c"]);
    }

    /// A group that cannot begin (here: another connection holds the write lock) answers
    /// every write with the failure and runs none of them.
    #[test]
    fn a_group_that_cannot_begin_fails_its_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = open(&dir);
        let other = Connection::open(dir.path().join("group.db")).expect("open");
        other.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let queue = Queue::default();
        let mut a = queue.push(insert("a")).expect("push");
        queue.run_next(&mut conn);
        assert!(a.try_recv().expect("answered").is_err());
        other.execute_batch("ROLLBACK").expect("unlock");
        assert!(kept(&conn).is_empty());
    }
}
