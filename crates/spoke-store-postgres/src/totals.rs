//! Search totals on PostgreSQL: raising a type's write generation late in a write
//! transaction (its counter row stays locked until the commit; a record batch sends the bump
//! pipelined with its writes, before its events and journal locks, `batch::write_batch`),
//! and a search's count served from
//! [`spoke_store::totals::CountCache`] under the generation its snapshot sees.

use deadpool_postgres::Transaction;
use spoke_core::PortalId;
use spoke_store::sql_search::Compiled;
use spoke_store::totals::{self, CountCache, CountKey};

use crate::search::Postgres;
use crate::{db, Error};

/// Raises (`portal`, `object_type`)'s generation: the transaction's last statement.
pub(crate) async fn bump(
    tx: &Transaction<'_>,
    portal: PortalId,
    object_type: &str,
) -> Result<(), Error> {
    db::execute(
        tx,
        &totals::bump_sql(&Postgres),
        &[&portal.0, &object_type, &totals::shard()],
    )
    .await?;
    Ok(())
}

/// The installation's generation (portal 0): raised by an import, which may write any
/// portal's records.
pub(crate) async fn bump_all(tx: &Transaction<'_>) -> Result<(), Error> {
    bump(tx, PortalId(0), totals::ALL_TYPES).await
}

/// The search's total and page records' rows, read in `tx`'s snapshot: the generation is
/// read together with the page (pipelined, one round trip), and the count runs only when
/// the cache has none for that generation.
pub(crate) async fn total_and_page(
    tx: &Transaction<'_>,
    counts: &CountCache,
    portal: PortalId,
    object_type: &str,
    cacheable: bool,
    compiled: &Compiled,
) -> Result<(u64, Vec<tokio_postgres::Row>), Error> {
    let count_params = crate::search::params(&compiled.count);
    let page_params = crate::search::params(&compiled.page);
    // The SQL varies with the query's shape, so it is not prepared and cached:
    // `query_typed` sends it with typed parameters in one round trip.
    let count = async {
        let n: i64 = tx
            .query_typed_one(&compiled.count.text, &count_params)
            .await?
            .try_get(0)?;
        Ok::<u64, Error>(n.max(0) as u64)
    };
    let page = async { Ok::<_, Error>(tx.query_typed(&compiled.page.text, &page_params).await?) };
    if !cacheable {
        let (n, rows) = tokio::try_join!(count, page)?;
        return Ok((n, rows));
    }
    let generation = async {
        let g: i64 = db::query_one(
            tx,
            &totals::generation_sql(&Postgres),
            &[&portal.0, &object_type],
        )
        .await?
        .try_get(0)?;
        Ok::<i64, Error>(g)
    };
    let (generation, rows) = tokio::try_join!(generation, page)?;
    let key = CountKey::new(portal, object_type, &compiled.count);
    if let Some(n) = counts.get(&key, generation) {
        return Ok((n, rows));
    }
    let n = count.await?;
    counts.put(key, generation, n);
    Ok((n, rows))
}
