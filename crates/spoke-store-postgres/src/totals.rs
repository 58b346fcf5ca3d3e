//! Search totals on PostgreSQL: raising a type's write generation late in a write
//! transaction (its counter row stays locked until the commit; a record batch sends the bump
//! pipelined with its writes, before its events and journal locks, `batch::write_batch`),
//! and a search's count served from
//! [`spoke_store::totals::CountCache`] under the generation its snapshot sees.

use deadpool_postgres::Transaction;
use spoke_core::PortalId;
use spoke_store::sql_search::{Compiled, Sql};
use spoke_store::totals::{self, CountCache, CountKey, Counted};

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
///
/// A page bounded by its matches' ids (`sql_search::id_bounded`) takes them from the
/// latest count kept for the search, before the generation says whether that count holds
/// in this snapshot; when it does not (a write came in between), the page is read again
/// within the new count's range. Without a kept count, the count is read first and the page
/// within its range.
pub(crate) async fn total_and_page(
    tx: &Transaction<'_>,
    counts: &CountCache,
    portal: PortalId,
    object_type: &str,
    cacheable: bool,
    compiled: &Compiled,
) -> Result<(u64, Vec<tokio_postgres::Row>), Error> {
    let count_params = crate::search::params(&compiled.count);
    // Sent unprepared, as the page is (`read_page`).
    let count = async {
        let row = tx
            .query_typed_one(&compiled.count.text, &count_params)
            .await?;
        let ids = if compiled.id_bounds.is_some() {
            Some((row.try_get(1)?, row.try_get(2)?))
        } else {
            None
        };
        Ok::<Counted, Error>(Counted::of_columns(row.try_get(0)?, ids))
    };
    if !cacheable {
        let (counted, rows) = tokio::try_join!(count, read_page(tx, &compiled.page))?;
        return Ok((counted.total, rows));
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
    let key = CountKey::new(portal, object_type, &compiled.count);
    let kept = counts.latest(&key);
    if kept.is_none() && compiled.id_bounds.is_some() {
        // No range kept yet: the count comes first, one round trip more, because the page
        // read beside it would be unbounded, and its walk from the id floor to the first
        // match can cross most of the type (Airbyte's first page of a sync whose changes
        // are the newest records).
        let (generation, counted) = tokio::try_join!(generation, count)?;
        counts.put(key, generation, counted);
        let rows = read_page(tx, &compiled.page_within(counted.ids)).await?;
        return Ok((counted.total, rows));
    }
    let page = match kept {
        Some((_, c)) => compiled.page_within(c.ids),
        None => std::borrow::Cow::Borrowed(&compiled.page),
    };
    let (generation, rows) = tokio::try_join!(generation, read_page(tx, &page))?;
    if let Some((_, c)) = kept.filter(|(g, _)| *g == generation) {
        return Ok((c.total, rows));
    }
    let counted = count.await?;
    counts.put(key, generation, counted);
    if compiled.id_bounds.is_none() {
        return Ok((counted.total, rows));
    }
    // The page was bounded by the kept range, which was of other writes: read it again
    // within this count's.
    let rows = read_page(tx, &compiled.page_within(counted.ids)).await?;
    Ok((counted.total, rows))
}

/// A compiled page's rows. The SQL varies with the query's shape, so it is not prepared
/// and cached: `query_typed` sends it with typed parameters in one round trip.
async fn read_page(tx: &Transaction<'_>, page: &Sql) -> Result<Vec<tokio_postgres::Row>, Error> {
    let params = crate::search::params(page);
    Ok(tx.query_typed(&page.text, &params).await?)
}
