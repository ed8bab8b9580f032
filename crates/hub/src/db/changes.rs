//! Telling every hub that something was committed, so long-polls wake wherever they
//! wait. On PostgreSQL a commit sends `NOTIFY` (delivered when the transaction
//! commits, never before) and every hub `LISTEN`s; a SQLite hub is the only one on its
//! file, so its own watch channels are enough.

use sqlx::postgres::PgListener;

use super::{Conn, Db, Engine};
use crate::HubError;

/// What was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Message,
    Record,
}

impl Change {
    fn channel(self) -> &'static str {
        match self {
            Change::Message => "pigeon_messages",
            Change::Record => "pigeon_records",
        }
    }

    fn of_channel(channel: &str) -> Option<Self> {
        [Change::Message, Change::Record]
            .into_iter()
            .find(|c| c.channel() == channel)
    }
}

impl Db {
    /// Tells the other hubs, when the transaction on `c` commits, that `seq` of `change`
    /// exists.
    pub async fn announce(&self, c: &mut Conn, change: Change, seq: i64) -> Result<(), HubError> {
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(change.channel())
                .bind(seq.to_string())
                .execute(&mut *c)
                .await?;
        }
        Ok(())
    }

    /// Listens for the other hubs' commits; `None` on SQLite, where there are none.
    pub async fn listen(&self) -> Result<Option<Changes>, HubError> {
        if self.engine != Engine::Postgres {
            return Ok(None);
        }
        let mut listener = PgListener::connect(&self.url).await?;
        listener
            .listen_all([Change::Message.channel(), Change::Record.channel()])
            .await?;
        Ok(Some(Changes { listener }))
    }
}

/// What one hub hears of the others' commits.
pub struct Changes {
    listener: PgListener,
}

/// One thing heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// `seq` of this kind was committed.
    Committed(Change, i64),
    /// The connection was lost and made again: what was committed meanwhile went
    /// unheard, so the caller reads the latest sequence numbers again.
    Reconnected,
}

impl Changes {
    /// The next thing heard; reconnects by itself when the connection is lost.
    pub async fn next(&mut self) -> Result<Heard, HubError> {
        loop {
            match self.listener.try_recv().await? {
                None => return Ok(Heard::Reconnected),
                Some(n) => {
                    let (Some(change), Ok(seq)) =
                        (Change::of_channel(n.channel()), n.payload().parse::<i64>())
                    else {
                        tracing::warn!(
                            channel = n.channel(),
                            payload = n.payload(),
                            "an unexpected notification"
                        );
                        continue;
                    };
                    return Ok(Heard::Committed(change, seq));
                }
            }
        }
    }
}
