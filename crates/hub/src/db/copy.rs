//! Copying the metadata from one database into another (`pigeon-hub migrate`), table by
//! table in primary-key order, a batch at a time. Every write is an upsert by primary
//! key, so a copy can be stopped and run again: it continues, and it brings over what
//! changed meanwhile (a receipt marked viewed, a user revoked) while the source hub
//! keeps serving. Sequence numbers are kept as they are, so cursors clients hold stay
//! valid on the new database.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Conn, Db, Engine};
use crate::HubError;

/// Rows read per batch.
const BATCH: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
}

/// One table as the copy sees it.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// The primary key's columns, a prefix of `columns`, in order.
    key: usize,
    /// Columns a later change may touch (updated on conflict); empty: rows never change.
    mutable: &'static [&'static str],
    /// Rows whose message (or record) came after the copy began wait for the next
    /// run: `(column, which sequence)`. Everything they reference existed before it.
    upto: Option<(&'static str, Seq)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seq {
    Messages,
    Records,
}

use Kind::{Int, Text};

/// The tables in an order that keeps references valid (parts after blobs, receipts
/// after messages). `blob_parts` is not here: its rows are written by the caller, each
/// only after its object was copied and verified.
const TABLES: &[Table] = &[
    Table {
        name: "users",
        columns: &[
            ("name", Text),
            ("display_name", Text),
            ("time_zone", Text),
            ("token_sha256", Text),
            ("created_ms", Int),
            ("revoked_ms", Int),
            ("working_hours", Text),
        ],
        key: 1,
        mutable: &["display_name", "time_zone", "revoked_ms", "working_hours"],
        upto: None,
    },
    Table {
        name: "blobs",
        columns: &[
            ("id", Text),
            ("owner", Text),
            ("kind", Text),
            ("content_type", Text),
            ("acknowledged", Int),
            ("sealed_size", Int),
            ("sealed_sha256", Text),
            ("created_ms", Int),
            ("hash_state", Text),
            ("touched_ms", Int),
        ],
        key: 1,
        mutable: &[
            "acknowledged",
            "sealed_size",
            "sealed_sha256",
            "hash_state",
            "touched_ms",
        ],
        upto: None,
    },
    Table {
        name: "messages",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("sender", Text),
            ("fingerprint", Text),
            ("thread", Text),
            ("body", Text),
            ("sent_ms", Int),
        ],
        key: 1,
        mutable: &[],
        upto: Some(("seq", Seq::Messages)),
    },
    Table {
        name: "receipts",
        columns: &[
            ("message_seq", Int),
            ("recipient", Text),
            ("respond_by_ms", Int),
            ("delivered_ms", Int),
            ("viewed_ms", Int),
            ("responded_ms", Int),
            ("reply_id", Text),
        ],
        key: 2,
        mutable: &[
            "respond_by_ms",
            "delivered_ms",
            "viewed_ms",
            "responded_ms",
            "reply_id",
        ],
        upto: Some(("message_seq", Seq::Messages)),
    },
    Table {
        name: "records",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("message_seq", Int),
            ("author", Text),
            ("fingerprint", Text),
            ("created_ms", Int),
            ("body", Text),
        ],
        key: 1,
        mutable: &[],
        // (A record's message is older than the record.)
        upto: Some(("seq", Seq::Records)),
    },
];

/// A value of a row being copied.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

fn read(row: &AnyRow, columns: &[(&str, Kind)]) -> Result<Vec<Value>, HubError> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                Int => Value::Int(row.try_get(i)?),
                Text => Value::Text(row.try_get(i)?),
            })
        })
        .collect()
}

fn bind<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    values: &'q [Value],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for v in values {
        q = match v {
            Value::Int(i) => q.bind(*i),
            Value::Text(t) => q.bind(t.as_deref()),
        };
    }
    q
}

/// How many rows of each table a copy wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    pub tables: Vec<(&'static str, u64)>,
}

/// Copies every table but `blob_parts` (and `message_blobs`, see
/// [`copy_message_blobs`]) from `from` into `to`; `progress` hears each table's count
/// as it goes.
pub async fn copy_tables(
    from: &Db,
    to: &Db,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<Copied, HubError> {
    let mut copied = Copied::default();
    let mut src = from.conn().await?;
    // Where the source stands now; what it commits while this runs waits for the next run.
    let messages = super::latest_seq(&mut src).await?;
    let records = super::latest_record_seq(&mut src).await?;
    for table in TABLES {
        let upto = table.upto.map(|(column, seq)| {
            (
                column,
                match seq {
                    Seq::Messages => messages,
                    Seq::Records => records,
                },
            )
        });
        let n = copy_table(&mut src, to, table, upto, progress).await?;
        copied.tables.push((table.name, n));
    }
    copy_message_blobs(&mut src, to, messages).await?;
    if to.engine() == Engine::Postgres {
        // New messages and records continue after the copied numbers.
        let mut dst = to.conn().await?;
        for table in ["messages", "records"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'seq'), COALESCE((SELECT MAX(seq) FROM {table}), 0) + 1, false)"
            )))
            .execute(&mut *dst)
            .await?;
        }
    }
    Ok(copied)
}

async fn copy_table(
    src: &mut Conn,
    to: &Db,
    table: &Table,
    upto: Option<(&str, i64)>,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<u64, HubError> {
    let names: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
    let key = &names[..table.key];
    let key_list = key.join(", ");
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let on_conflict = if table.mutable.is_empty() {
        "DO NOTHING".to_string()
    } else {
        let sets: Vec<String> = table
            .mutable
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        format!("DO UPDATE SET {}", sets.join(", "))
    };
    let insert = format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({key_list}) {on_conflict}",
        table.name,
        names.join(", "),
        placeholders.join(", ")
    );
    // Keyset paging: after the last key seen, in key order. The bound is a number of
    // ours, written into the text.
    let bound = match upto {
        Some((column, max)) => format!("{column} <= {max}"),
        None => "1 = 1".to_string(),
    };
    let after: Vec<String> = (1..=key.len()).map(|i| format!("${i}")).collect();
    let page_after = format!(
        "SELECT {} FROM {} WHERE ({key_list}) > ({}) AND {bound} ORDER BY {key_list} LIMIT ${}",
        names.join(", "),
        table.name,
        after.join(", "),
        key.len() + 1
    );
    let first_page = format!(
        "SELECT {} FROM {} WHERE {bound} ORDER BY {key_list} LIMIT $1",
        names.join(", "),
        table.name
    );
    let mut last: Option<Vec<Value>> = None;
    let mut n = 0u64;
    loop {
        let rows = match &last {
            None => {
                sqlx::query(sqlx::AssertSqlSafe(first_page.clone()))
                    .bind(BATCH)
                    .fetch_all(&mut *src)
                    .await?
            }
            Some(k) => {
                bind(sqlx::query(sqlx::AssertSqlSafe(page_after.clone())), k)
                    .bind(BATCH)
                    .fetch_all(&mut *src)
                    .await?
            }
        };
        if rows.is_empty() {
            return Ok(n);
        }
        let mut tx = to.begin().await?;
        for row in &rows {
            let values = read(row, table.columns)?;
            bind(sqlx::query(sqlx::AssertSqlSafe(insert.clone())), &values)
                .execute(&mut *tx)
                .await?;
            last = Some(values[..table.key].to_vec());
            n += 1;
        }
        tx.commit().await?;
        progress(table.name, n);
    }
}

/// Copies the references of messages and records to blobs; a row already there is not
/// written twice (the table has no key: rows are compared whole).
async fn copy_message_blobs(src: &mut Conn, to: &Db, upto: i64) -> Result<(), HubError> {
    let mut last = -1i64;
    loop {
        let rows = sqlx::query(
            "SELECT message_seq, blob_id, attachment_name FROM message_blobs
             WHERE message_seq > $1 AND message_seq <= $3 ORDER BY message_seq LIMIT $2",
        )
        .bind(last)
        .bind(BATCH)
        .bind(upto)
        .fetch_all(&mut *src)
        .await?;
        let Some(end) = rows.last().map(|r| r.try_get::<i64, _>(0)).transpose()? else {
            return Ok(());
        };
        // The whole last message, even past the batch, so none is split across pages.
        let rest = sqlx::query(
            "SELECT message_seq, blob_id, attachment_name FROM message_blobs
             WHERE message_seq = $1",
        )
        .bind(end)
        .fetch_all(&mut *src)
        .await?;
        let mut tx = to.begin().await?;
        for row in rows
            .iter()
            .filter(|r| r.try_get::<i64, _>(0).ok() != Some(end))
            .chain(&rest)
        {
            let seq: i64 = row.try_get(0)?;
            let blob: String = row.try_get(1)?;
            let name: Option<String> = row.try_get(2)?;
            sqlx::query(
                "INSERT INTO message_blobs (message_seq, blob_id, attachment_name)
                 SELECT $1, $2, $3 WHERE NOT EXISTS (
                     SELECT 1 FROM message_blobs WHERE message_seq = $1 AND blob_id = $2
                       AND (attachment_name = $3 OR (attachment_name IS NULL AND $3 IS NULL)))",
            )
            .bind(seq)
            .bind(blob.as_str())
            .bind(name.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        last = end;
    }
}

/// Every part of every blob, in blob order: what the caller copies object by object.
pub async fn all_parts(c: &mut Conn) -> Result<Vec<(String, super::Part)>, HubError> {
    sqlx::query("SELECT blob_id, start, length, object_key FROM blob_parts ORDER BY blob_id, start")
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, super::blobs::part_from_row(r, 1)?)))
        .collect()
}

/// Records a copied part (its object is in place and verified); one already recorded
/// is left as it is.
pub async fn put_part(c: &mut Conn, blob: &str, part: &super::Part) -> Result<(), HubError> {
    sqlx::query(
        "INSERT INTO blob_parts (blob_id, start, length, object_key) VALUES ($1, $2, $3, $4)
         ON CONFLICT (blob_id, start) DO NOTHING",
    )
    .bind(blob)
    .bind(part.start as i64)
    .bind(part.length as i64)
    .bind(part.object_key.as_str())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Whether the part is recorded in this database already.
pub async fn has_part(c: &mut Conn, blob: &str, start: u64) -> Result<bool, HubError> {
    let row = sqlx::query("SELECT COUNT(*) FROM blob_parts WHERE blob_id = $1 AND start = $2")
        .bind(blob)
        .bind(start as i64)
        .fetch_one(&mut *c)
        .await?;
    Ok(super::int(&row, 0)? > 0)
}

/// The sealed blobs: id, size and sha256.
pub async fn sealed_blobs(c: &mut Conn) -> Result<Vec<(String, u64, String)>, HubError> {
    sqlx::query("SELECT id, sealed_size, sealed_sha256 FROM blobs WHERE sealed_size IS NOT NULL ORDER BY id")
        .fetch_all(&mut *c)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, super::int(r, 1)? as u64, r.try_get(2)?)))
        .collect()
}
