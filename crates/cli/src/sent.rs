//! `pigeon send`, `reply`, and `status`: queueing a draft (or, for an answer, text
//! alone) as a message, delivering it with a progress bar (then its transcript, made
//! and shared after it), and who has answered what was sent from here.

use anyhow::{bail, Context as _, Result};
use chrono::{DateTime, Utc};
use pigeon_library::fair_deadlines::{fair_deadlines, parse_working_hours_each, Due};
use pigeon_library::sent::{RecipientState, SentLine};
use pigeon_library::thread::reply_subject;
use pigeon_library::{people, Attachment, Delivery, Draft, NewOutgoing, OutboxState, ResponseBy};
use pigeon_store::protocol::{ErrorCode, MessageId, Receipt, UserName};
use serde_json::json;

use crate::flags::{AnswerAbout, ComposeArgs, RecordArgs};
use crate::output::{self, short};
use crate::App;

impl App {
    /// `pigeon send DRAFT --to bob,carol --subject ...`
    pub async fn send_draft(
        &self,
        draft: &str,
        to: &[String],
        subject: String,
        compose: &ComposeArgs,
        acknowledge_only: bool,
    ) -> Result<()> {
        let draft = self.library.draft(draft)?;
        let recipients = people::recipients(to)?;
        let about = Answers {
            acknowledge_only,
            ..Answers::default()
        };
        self.send(Some(&draft), recipients, subject, compose, about)
            .await
    }

    /// `pigeon reply MESSAGE`: to everyone in the message but me, in its thread: text
    /// only when `--text` comes without `--record` or `--draft`, else with a clip
    /// recorded now or the draft given.
    pub async fn reply(
        &self,
        message: &str,
        record: &RecordArgs,
        compose: &ComposeArgs,
        draft: Option<&str>,
        record_clip: bool,
        about: &AnswerAbout,
    ) -> Result<()> {
        let original = self.find_message(message)?;
        // Checked before recording: a wrong moment should not cost a take.
        let (at_ms, chapter) = crate::conversation::typed_answer_about(&original, about)?;
        let me = self.me()?;
        let recipients = people::reply_all(&original, &me);
        if recipients.is_empty() {
            bail!(
                "{} has nobody to answer but you: send a new message with `pigeon send`",
                short(original.id.as_str())
            );
        }
        let text_only = compose.text.is_some() && draft.is_none() && !record_clip;
        let draft = match (text_only, draft) {
            (true, _) => None,
            (false, Some(d)) => Some(self.library.draft(d)?),
            (false, None) => Some(self.record(record).await?),
        };
        let about = Answers {
            in_reply_to: Some(original.id.clone()),
            at_ms,
            chapter,
            acknowledge_only: false,
        };
        self.send(
            draft.as_ref(),
            recipients,
            reply_subject(&original.subject),
            compose,
            about,
        )
        .await
    }

    /// Queues and delivers a message: with `draft`'s clip, or text alone without one.
    async fn send(
        &self,
        draft: Option<&Draft>,
        recipients: Vec<UserName>,
        subject: String,
        compose: &ComposeArgs,
        about: Answers,
    ) -> Result<()> {
        let zone = self.zone();
        let now = self.now();
        let due = self.due(&compose.respond_by, &recipients, now).await?;
        let respond_by = due.respond_by;
        let attachments = compose
            .attach
            .iter()
            .map(|path| Ok(Attachment::from_path(path)?.into_queued()))
            .collect::<Result<Vec<_>>>()
            .context("check the files given to --attach")?;
        let entry = self.library.queue(
            &NewOutgoing {
                draft_id: draft.map(|d| d.id.clone()),
                recipients,
                subject,
                text: compose.text.clone(),
                respond_by: respond_by.instant(),
                respond_by_tz: zone.name().to_owned(),
                in_reply_to: about.in_reply_to,
                attachments,
                at_ms: about.at_ms,
                chapter: about.chapter,
                acknowledge_only: about.acknowledge_only,
                deadlines: due.deadlines.clone(),
                working_hours_each: due.working_hours_each,
            },
            now,
        )?;
        let delivery = match self.outbox().await {
            Ok(outbox) => {
                let bar = self.out.progress_bar("uploading");
                let outbox = match &bar {
                    Some(bar) => outbox.with_progress(output::progress(bar)),
                    None => outbox,
                };
                let delivery = outbox.deliver(&entry.message_id).await?;
                output::finish(bar);
                delivery
            }
            Err(e) => Delivery::Queued {
                error: format!("{e:#}"),
            },
        };
        self.report_delivery(&entry.message_id, &delivery, &due)?;
        // Delivered (and said so) first: the transcript follows the message.
        let delivered = matches!(delivery, Delivery::Sent(_));
        if let Some(draft) = draft {
            self.transcribe_sent(&draft.id, entry.message_id.as_str(), delivered)
                .await;
        }
        Ok(())
    }

    /// What `--respond-by` means for these recipients: `8wh` gives each their own
    /// deadline by the working hours in their profile (read from the store; when it is
    /// away, default hours are assumed and said), anything else one instant.
    async fn due(&self, text: &str, recipients: &[UserName], now: DateTime<Utc>) -> Result<Due> {
        let Some(n) = parse_working_hours_each(text) else {
            return Ok(Due::one(ResponseBy::parse(text, now, self.zone())?));
        };
        let profiles = match self.connect().await {
            Ok(connected) => connected.store.profiles().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "profiles not read: default working hours assumed");
                Vec::new()
            }),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "store away: default working hours assumed");
                Vec::new()
            }
        };
        let due = fair_deadlines(n, recipients, &profiles, self.zone(), now)
            .context("check --respond-by")?;
        for assumed in &due.assumed {
            self.out.note(assumed);
        }
        Ok(due)
    }

    fn report_delivery(&self, id: &MessageId, delivery: &Delivery, due: &Due) -> Result<()> {
        let respond_by = due.respond_by;
        match delivery {
            Delivery::Sent(_) => {
                let each: Vec<_> = due
                    .deadlines
                    .iter()
                    .map(|d| json!({"recipient": d.recipient, "respond_by": d.respond_by}))
                    .collect();
                let mut text = format!(
                    "sent {id}, respond by {}",
                    respond_by.display_in(self.zone())
                );
                if let Some(n) = due.working_hours_each {
                    text = format!("sent {id}, {n} working hours each:");
                    for d in &due.deadlines {
                        text.push_str(&format!(
                            "\n  {}: respond by {}",
                            d.recipient,
                            ResponseBy::from_instant(d.respond_by).display_in(self.zone())
                        ));
                    }
                }
                self.out.say(
                    json!({"message": id, "state": "sent", "respond_by": respond_by.instant(), "deadlines": each}),
                    text,
                );
                Ok(())
            }
            Delivery::Queued { error } => {
                self.out.say(
                    json!({"message": id, "state": "queued", "error": error}),
                    format!("queued {id}: not delivered yet ({error}); `pigeon sync` tries again"),
                );
                Ok(())
            }
            Delivery::Failed { reason } => {
                bail!("message {id} was not sent: {reason}. Fix it and send the draft again")
            }
        }
    }

    /// `pigeon status MESSAGE`: receipts asked afresh from the store.
    pub async fn status(&self, id: &str) -> Result<()> {
        let entry = match self.library.sent_from_here(id) {
            Ok(entry) => entry,
            Err(not_here) if not_here.is_not_sent_here() => {
                // A whole id may name a message this user sent from another library:
                // the store knows its receipts.
                let Ok(full) = MessageId::parse(id) else {
                    return Err(not_here.into());
                };
                let connected = self.connect().await?;
                return match connected.store.message_status(&full).await {
                    Ok(status) => {
                        self.print_receipts(&full, "(sent from elsewhere)", &status.receipts, &[])
                    }
                    Err(e) if e.code() == Some(ErrorCode::NotFound) => Err(not_here.into()),
                    Err(e) => Err(anyhow::Error::new(e).context(not_here)),
                };
            }
            Err(e) => return Err(e.into()),
        };
        if entry.state != OutboxState::Sent {
            let why = entry.problem().unwrap_or("not tried yet");
            self.out.say(
                json!({"message": entry.message_id, "state": entry.state.as_str(), "error": why}),
                format!("{} is {}: {why}", entry.message_id, entry.state.as_str()),
            );
            return Ok(());
        }
        let inbox = self.inbox_over_store().await?;
        let receipts = inbox.status(&entry.message_id).await?;
        // Each recipient's own deadline (theirs for "working hours each", moved by a
        // granted extension), as the library knows it.
        let deadlines: Vec<(UserName, ResponseBy)> = self
            .library
            .sent_line(&entry.message_id, self.now())?
            .map(|line| {
                line.recipients
                    .into_iter()
                    .map(|r| (r.name, r.deadline))
                    .collect()
            })
            .unwrap_or_default();
        self.print_receipts(&entry.message_id, &entry.subject, &receipts, &deadlines)
    }

    /// Each recipient's receipt; their deadline (when known) tells who is overdue.
    fn print_receipts(
        &self,
        id: &MessageId,
        subject: &str,
        receipts: &[Receipt],
        deadlines: &[(UserName, ResponseBy)],
    ) -> Result<()> {
        let deadline_of =
            |name: &UserName| deadlines.iter().find(|(n, _)| n == name).map(|(_, by)| *by);
        if self.out.json {
            let list: Vec<_> = receipts
                .iter()
                .map(|r| {
                    json!({
                        "recipient": r.recipient,
                        "deadline": deadline_of(&r.recipient).map(|by| by.instant()),
                        "state": r.state(),
                        "viewed_at": r.viewed_at,
                        "responded_at": r.responded_at,
                        "response": r.response,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({"message": id, "state": "sent", "recipients": list})
            );
            return Ok(());
        }
        println!("{id}  {subject}");
        let now = self.now();
        for r in receipts {
            let deadline = deadline_of(&r.recipient);
            let state = match deadline {
                Some(by) => RecipientState::of(Some(r), by, now),
                None => RecipientState::reached(Some(r)),
            };
            let due = deadline
                .map(|by| format!("  (respond by {})", by.display_in(self.zone())))
                .unwrap_or_default();
            println!(
                "  {:<16} {}{due}",
                r.recipient.as_str(),
                recipient_text(state, r)
            );
        }
        Ok(())
    }

    /// `pigeon status`: every message sent from this library, newest first, with each
    /// recipient's state as last synced (`pigeon status MSG` asks the store afresh).
    pub fn sent_list(&self) -> Result<()> {
        let list = self.library.sent_list(self.now())?;
        if self.out.json {
            let list: Vec<_> = list.iter().map(sent_line_json).collect();
            println!("{}", serde_json::Value::Array(list));
            return Ok(());
        }
        if list.is_empty() {
            println!("nothing was sent from here yet (`pigeon send` sends a draft)");
        }
        for line in &list {
            println!(
                "{}  {:<40} {}  {}/{} answered",
                short(line.message_id.as_str()),
                line.subject,
                line.state.as_str(),
                line.answered(),
                line.recipients.len()
            );
        }
        Ok(())
    }
}

/// What a message is about beyond its recipients: the message it answers (with a
/// moment and a chapter of it, both on the wire's terms) and whether a ✅ answers it.
#[derive(Default)]
struct Answers {
    in_reply_to: Option<MessageId>,
    at_ms: Option<u64>,
    chapter: Option<u32>,
    acknowledge_only: bool,
}

/// A recipient's state in words; "pending" says whether the message reached them.
fn recipient_text(state: RecipientState, receipt: &Receipt) -> &'static str {
    match state {
        RecipientState::Responded => "responded",
        RecipientState::Overdue => "overdue",
        RecipientState::Viewed => "viewed, pending",
        RecipientState::Pending if receipt.delivered_at.is_some() => "delivered, pending",
        RecipientState::Pending => "pending",
    }
}

/// A sent-list line as `pigeon --json status` prints it: the receipts as synced.
fn sent_line_json(line: &SentLine) -> serde_json::Value {
    let recipients: Vec<_> = line
        .recipients
        .iter()
        .filter_map(|r| r.receipt.as_ref())
        .map(|r| json!({"recipient": r.recipient, "state": r.state()}))
        .collect();
    json!({
        "message": line.message_id,
        "subject": line.subject,
        "state": line.state.as_str(),
        "recipients": recipients,
    })
}
