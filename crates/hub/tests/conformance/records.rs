//! Records about committed messages: a transcript the sender adds after the commit
//! travels to the recipients' next sync; only the sender may add one, only the
//! participants see them; idempotent by record id; malformed transcripts never seal.

use pigeon_store::protocol::{
    latest_transcript, BlobRef, InboxCursor, InboxPage, MessageId, NewRecord, NewRecordBody,
    Record, RecordBody, RecordId, Segment, Transcript, Word, TRANSCRIPT_CONTENT_TYPE,
};
use pigeon_store::StoreError;

use super::*;

pub(crate) fn transcript(words: &str) -> Transcript {
    Transcript {
        language: "en".into(),
        model: "tiny.en".into(),
        duration_ms: 1_000,
        segments: vec![Segment {
            start_ms: 0,
            end_ms: 900,
            text: format!(" {words}"),
            words: vec![Word {
                start_ms: 0,
                end_ms: 400,
                text: format!(" {words}"),
            }],
        }],
    }
}

pub(crate) async fn upload_transcript_bytes(
    store: &Arc<dyn Store>,
    dir: &std::path::Path,
    bytes: &[u8],
) -> Result<BlobRef, StoreError> {
    let path = write_file(
        dir,
        &format!("transcript-{}.json", uuid::Uuid::new_v4()),
        bytes,
    );
    pigeon_store::upload_file(
        store.clone(),
        &path,
        BlobKind::Transcript,
        TRANSCRIPT_CONTENT_TYPE,
        None,
    )
    .await
}

fn new_record_id() -> RecordId {
    RecordId::parse(uuid::Uuid::new_v4().to_string()).unwrap()
}

fn transcript_record(message: &MessageId, blob: &BlobRef, language: &str) -> NewRecord {
    NewRecord {
        id: new_record_id(),
        message: message.clone(),
        body: NewRecordBody::Transcript {
            blob: blob.id.clone(),
            language: language.into(),
        },
    }
}

/// One page of `store`'s inbox in arrival order, after `after`.
pub(crate) async fn page_after(
    store: &Arc<dyn Store>,
    after: Option<&InboxCursor>,
    limit: u32,
) -> InboxPage {
    store
        .inbox(&InboxQuery {
            order: InboxOrder::Arrival,
            after: after.cloned(),
            limit,
        })
        .await
        .unwrap()
}

pub(crate) async fn a_transcript_follows_its_message_to_the_recipients(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = message(&clip, &["bob"], "with words");
    t.alice.commit_message(&m).await.unwrap();
    // Bob syncs the message before any transcript exists.
    let first = page_after(&t.bob, None, 50).await;
    assert_eq!(first.entries.len(), 1);
    assert!(first.records.is_empty());
    let cursor = first.next.clone().unwrap();

    // Alice's transcript follows, as its own blob and a record naming the message.
    let bytes = serde_json::to_vec(&transcript("hello bob")).unwrap();
    let blob = upload_transcript_bytes(&t.alice, t.dir.path(), &bytes)
        .await
        .unwrap();
    assert_eq!(blob.kind, BlobKind::Transcript);
    let new = transcript_record(&m.id, &blob, "en");
    let record = t.alice.commit_record(&new).await.unwrap();
    assert_eq!(record.author, user("alice"));
    assert_eq!(record.message, m.id);
    assert_eq!(record.body.blob().unwrap(), &blob);

    // Bob's next sync carries it, and only once.
    let page = page_after(&t.bob, Some(&cursor), 50).await;
    assert!(page.entries.is_empty());
    assert_eq!(page.records, vec![record.clone()]);
    assert!(!page.more);
    let after_record = page.next.clone().unwrap();
    let again = page_after(&t.bob, Some(&after_record), 50).await;
    assert!(again.records.is_empty() && again.entries.is_empty());
    assert_eq!(again.next.as_ref(), Some(&after_record));

    // The recipient downloads the exact bytes; a stranger cannot.
    let RecordBody::Transcript { blob: named, .. } = &page.records[0].body else {
        panic!("{:?}", page.records[0])
    };
    let got = t
        .bob
        .download(&named.id, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got, bytes);
    assert_eq!(sha256_hex(&got), named.sha256);
    assert_eq!(
        code(t.carol.download(&named.id, None).await.unwrap_err()),
        ErrorCode::NotFound
    );

    // Both participants list it; a stranger gets "not found", as for the message.
    assert_eq!(t.bob.records(&m.id).await.unwrap(), vec![record.clone()]);
    assert_eq!(t.alice.records(&m.id).await.unwrap(), vec![record.clone()]);
    assert_eq!(
        code(t.carol.records(&m.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(t.carol.records(&new_id()).await.unwrap_err()),
        ErrorCode::NotFound
    );

    // A retry (the answer was lost) returns the stored record, never a second one.
    assert_eq!(t.alice.commit_record(&new).await.unwrap(), record);
    assert_eq!(t.bob.records(&m.id).await.unwrap().len(), 1);
    assert!(page_after(&t.bob, Some(&after_record), 50)
        .await
        .records
        .is_empty());
    // The same id with another body is a conflict that says what to do.
    let mut other = new.clone();
    other.body = NewRecordBody::Transcript {
        blob: blob.id.clone(),
        language: "de".into(),
    };
    let err = t.alice.commit_record(&other).await.unwrap_err();
    assert_eq!(code(err.clone_refusal()), ErrorCode::Conflict);
    assert!(err.to_string().contains("pick a new random id"), "{err}");

    // A later transcript replaces the earlier one for readers; a waiting recipient
    // wakes for it.
    let better = serde_json::to_vec(&transcript("hello again bob")).unwrap();
    let blob2 = upload_transcript_bytes(&t.alice, t.dir.path(), &better)
        .await
        .unwrap();
    while Utc::now() <= record.created_at {
        tokio::task::yield_now().await;
    }
    let alice = t.alice.clone();
    let second = transcript_record(&m.id, &blob2, "en");
    let second2 = second.clone();
    let adder = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        alice.commit_record(&second2).await.unwrap()
    });
    let started = Instant::now();
    let woke = t
        .bob
        .wait_inbox(Some(&after_record), Duration::from_secs(20))
        .await
        .unwrap();
    let record2 = adder.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(woke.entries.is_empty());
    assert_eq!(woke.records, vec![record2.clone()]);
    let all = t.bob.records(&m.id).await.unwrap();
    assert_eq!(all, vec![record.clone(), record2.clone()]);
    assert_eq!(latest_transcript(&all), Some(&record2));
}

/// The refusal inside a store error, as a store error again (for `code`).
trait CloneRefusal {
    fn clone_refusal(&self) -> StoreError;
}

impl CloneRefusal for StoreError {
    fn clone_refusal(&self) -> StoreError {
        match self.api() {
            Some(api) => StoreError::Rejected(api.clone()),
            None => StoreError::Corrupt(self.to_string()),
        }
    }
}

pub(crate) async fn only_the_sender_adds_a_transcript_of_their_own(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = message(&clip, &["bob"], "who may add");
    t.alice.commit_message(&m).await.unwrap();
    let bytes = serde_json::to_vec(&transcript("mine")).unwrap();

    // A recipient sees the message but may not add its transcript: a clear refusal.
    let bobs = upload_transcript_bytes(&t.bob, t.dir.path(), &bytes)
        .await
        .unwrap();
    let err = t
        .bob
        .commit_record(&transcript_record(&m.id, &bobs, "en"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only alice"), "{err}");
    assert_eq!(code(err), ErrorCode::Forbidden);
    // A stranger learns nothing: "not found".
    let carols = upload_transcript_bytes(&t.carol, t.dir.path(), &bytes)
        .await
        .unwrap();
    let err = t
        .carol
        .commit_record(&transcript_record(&m.id, &carols, "en"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotFound);
    // The sender cannot name someone else's blob, nor one of another kind or unsealed.
    let err = t
        .alice
        .commit_record(&transcript_record(&m.id, &bobs, "en"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotFound);
    let err = t
        .alice
        .commit_record(&transcript_record(&m.id, &clip, "en"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::Invalid);
    let unsealed = BlobUpload::start(
        t.alice.clone(),
        BlobKind::Transcript,
        TRANSCRIPT_CONTENT_TYPE,
    )
    .await
    .unwrap();
    let pending = BlobRef {
        id: unsealed.id().clone(),
        ..clip.clone()
    };
    let err = t
        .alice
        .commit_record(&transcript_record(&m.id, &pending, "en"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotSealed);
    // A message that does not exist, and a language that is not a code.
    let alices = upload_transcript_bytes(&t.alice, t.dir.path(), &bytes)
        .await
        .unwrap();
    let err = t
        .alice
        .commit_record(&transcript_record(&new_id(), &alices, "en"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotFound);
    let err = t
        .alice
        .commit_record(&transcript_record(&m.id, &alices, "English"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::Invalid);
    // Nothing of that was stored.
    assert!(t.bob.records(&m.id).await.unwrap().is_empty());
    assert!(page_after(&t.bob, None, 50).await.records.is_empty());
}

pub(crate) async fn a_malformed_transcript_never_seals(t: Team) {
    // Only the transcript type at creation.
    let err = BlobUpload::start(t.alice.clone(), BlobKind::Transcript, "application/json")
        .await
        .unwrap_err();
    assert_eq!(code(err.clone_refusal()), ErrorCode::Invalid);
    assert!(err.to_string().contains(TRANSCRIPT_CONTENT_TYPE), "{err}");
    // Not JSON, JSON of something else, segments that overlap, a control character.
    let mut overlapping = transcript("one");
    overlapping.segments.push(Segment {
        start_ms: 500,
        end_ms: 800,
        text: " two".into(),
        words: vec![],
    });
    let mut escape = transcript("one");
    escape.segments[0].text = "red \u{1b}[31m".into();
    for (bytes, says) in [
        (
            b"WEBVTT\n\n00:00.000 --> 00:01.000\nhello".to_vec(),
            "not the JSON of a transcript",
        ),
        (
            br#"{"subject":"not a transcript"}"#.to_vec(),
            "not the JSON of a transcript",
        ),
        (
            serde_json::to_vec(&overlapping).unwrap(),
            "segment 2 starts at 500 ms",
        ),
        (serde_json::to_vec(&escape).unwrap(), "control character"),
    ] {
        let err = upload_transcript_bytes(&t.alice, t.dir.path(), &bytes)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(says), "{says}: {err}");
        assert_eq!(code(err), ErrorCode::Invalid);
    }
    // Too large a transcript is refused by its limit before it is read.
    let limits = t.alice.limits().await.unwrap();
    let huge = vec![b' '; limits.max_transcript_bytes as usize + 1];
    let err = upload_transcript_bytes(&t.alice, t.dir.path(), &huge)
        .await
        .unwrap_err();
    assert_eq!(
        err.api()
            .and_then(|a| a.limit.as_ref())
            .map(|l| l.limit.as_str()),
        Some("max_transcript_bytes"),
        "{err}"
    );
}

pub(crate) async fn records_never_come_before_their_message(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let first = message(&clip, &["bob"], "first");
    t.alice.commit_message(&first).await.unwrap();
    tokio::time::sleep(Duration::from_millis(3)).await;
    let second = message(&clip, &["bob"], "second");
    t.alice.commit_message(&second).await.unwrap();
    let bytes = serde_json::to_vec(&transcript("second words")).unwrap();
    let blob = upload_transcript_bytes(&t.alice, t.dir.path(), &bytes)
        .await
        .unwrap();
    let record = t
        .alice
        .commit_record(&transcript_record(&second.id, &blob, "en"))
        .await
        .unwrap();
    // A page that reaches only the first message holds the second's record back.
    let page1 = page_after(&t.bob, None, 1).await;
    assert_eq!(page1.entries[0].message.id, first.id);
    assert!(page1.records.is_empty());
    assert!(page1.more);
    let page2 = page_after(&t.bob, page1.next.as_ref(), 1).await;
    assert_eq!(page2.entries[0].message.id, second.id);
    assert_eq!(page2.records, vec![record.clone()]);
    // The sender's own sync carries the records of what she sent, without waiting for
    // a message of her inbox (she has received none).
    let alices = page_after(&t.alice, None, 50).await;
    assert!(alices.entries.is_empty());
    assert_eq!(alices.records, vec![record]);
}

pub(crate) async fn an_old_cursor_without_a_record_position_still_works(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = message(&clip, &["bob"], "before the upgrade");
    t.alice.commit_message(&m).await.unwrap();
    let page = page_after(&t.bob, None, 50).await;
    let cursor = page.next.unwrap();
    let blob = upload_transcript_bytes(
        &t.alice,
        t.dir.path(),
        &serde_json::to_vec(&transcript("kept")).unwrap(),
    )
    .await
    .unwrap();
    let record: Record = t
        .alice
        .commit_record(&transcript_record(&m.id, &blob, "en"))
        .await
        .unwrap();
    // A cursor as stores made it before records (the message position only).
    let old = InboxCursor(match cursor.0.split_once(".r") {
        Some((messages, _)) => messages.to_string(),
        None => cursor.0.clone(),
    });
    let page = page_after(&t.bob, Some(&old), 50).await;
    assert!(page.entries.is_empty(), "the old cursor replayed messages");
    assert_eq!(page.records, vec![record]);
    let next = page.next.unwrap();
    let page = t
        .bob
        .wait_inbox(Some(&next), Duration::from_millis(300))
        .await
        .unwrap();
    assert!(page.records.is_empty() && page.entries.is_empty());
    // A record position the store never made is refused like any bad cursor.
    let forged = InboxCursor(format!("{}.rX", old.0));
    let err = t
        .bob
        .inbox(&InboxQuery {
            order: InboxOrder::Arrival,
            after: Some(forged),
            limit: 10,
        })
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::Invalid);
}
