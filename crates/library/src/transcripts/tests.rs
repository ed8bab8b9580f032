//! The transcripts table's rules, without a model: queuing, a job taken and replaced,
//! crash recovery, and received records kept idempotently.

use chrono::{DateTime, Duration, Utc};
use pigeon_store::protocol::{
    BlobId, BlobKind, BlobRef, Receipt, Record, RecordBody, RecordId, Transcript, UserName,
};

use super::*;
use crate::db::tests::library;
use crate::test_messages::message;
use crate::test_support::{queue_to, recorded_draft};

fn transcript(text: &str) -> Transcript {
    serde_json::from_value(serde_json::json!({
        "language": "en", "model": "tiny.en", "duration_ms": 1000,
        "segments": [{"start_ms": 0, "end_ms": 900, "text": text, "words": []}]
    }))
    .unwrap()
}

fn record(id: &str, message: &MessageId, at: DateTime<Utc>) -> Record {
    Record {
        id: RecordId::parse(id).unwrap(),
        message: message.clone(),
        author: UserName::parse("alice").unwrap(),
        created_at: at,
        body: RecordBody::Transcript {
            blob: BlobRef {
                id: BlobId::parse(format!("blob{id}")).unwrap(),
                kind: BlobKind::Transcript,
                size: 10,
                sha256: "00".into(),
                content_type: pigeon_store::protocol::TRANSCRIPT_CONTENT_TYPE.into(),
            },
            language: "en".into(),
        },
    }
}

#[test]
fn owners_read_as_they_are_written() {
    let draft = TranscriptOwner::Draft("d1".into());
    let message = TranscriptOwner::Message(MessageId::parse("0123456789abcdef").unwrap());
    for owner in [draft, message] {
        assert_eq!(TranscriptOwner::from_key(&owner.key()).unwrap(), owner);
    }
    assert!(TranscriptOwner::from_key("clip:1").is_err());
}

#[test]
fn a_job_queued_again_while_it_ran_never_gets_the_old_result() {
    let (_dir, lib) = library();
    let draft = recorded_draft(&lib);
    let owner = TranscriptOwner::Draft(draft.clone());
    let now = Utc::now();
    lib.queue_transcription(&owner, now).unwrap();
    let job = lib.queued_transcriptions().unwrap().remove(0);
    assert!(lib.start_transcription(&job).unwrap());
    assert!(!lib.start_transcription(&job).unwrap(), "taken once");
    assert!(lib.set_transcription_progress(&job, 0.5).unwrap());
    assert_eq!(
        lib.transcript(&owner).unwrap().unwrap().state,
        TranscriptState::Running { progress: 0.5 }
    );
    // The clip was trimmed meanwhile (same instant: the clock may repeat).
    assert!(lib.requeue_transcription_of_draft(&draft, now).unwrap());
    assert!(!lib.set_transcription_progress(&job, 0.6).unwrap());
    assert!(!lib
        .finish_transcription(&job, &transcript("old"), now)
        .unwrap());
    assert!(!lib.fail_transcription(&job, "old", now).unwrap());
    let stored = lib.transcript(&owner).unwrap().unwrap();
    assert_eq!(stored.state, TranscriptState::Queued);
    assert_eq!(stored.transcript, None);

    let job = lib.queued_transcriptions().unwrap().remove(0);
    assert!(lib.start_transcription(&job).unwrap());
    assert!(lib
        .finish_transcription(&job, &transcript("new"), now)
        .unwrap());
    let stored = lib.transcript(&owner).unwrap().unwrap();
    assert_eq!(stored.state, TranscriptState::Done);
    assert_eq!(stored.transcript, Some(transcript("new")));
    assert_eq!(stored.language.as_deref(), Some("en"));
    // A draft without a transcript is not given one by a trim.
    let other = recorded_draft(&lib);
    assert!(!lib.requeue_transcription_of_draft(&other, now).unwrap());
}

#[test]
fn running_jobs_go_back_to_the_queue_and_failed_ones_on_request() {
    let (_dir, lib) = library();
    let owner = TranscriptOwner::Draft(recorded_draft(&lib));
    lib.queue_transcription(&owner, Utc::now()).unwrap();
    let job = lib.queued_transcriptions().unwrap().remove(0);
    lib.start_transcription(&job).unwrap();
    assert_eq!(lib.requeue_interrupted_transcriptions().unwrap(), 1);
    assert_eq!(lib.queued_transcriptions().unwrap(), vec![job.clone()]);
    lib.start_transcription(&job).unwrap();
    lib.fail_transcription(&job, "the model is missing", Utc::now())
        .unwrap();
    assert_eq!(
        lib.transcript(&owner).unwrap().unwrap().state,
        TranscriptState::Failed {
            reason: "the model is missing".into()
        }
    );
    assert_eq!(lib.requeue_failed_transcriptions(Utc::now()).unwrap(), 1);
    assert_eq!(
        lib.transcript(&owner).unwrap().unwrap().state,
        TranscriptState::Queued
    );
}

#[test]
fn a_sent_message_is_transcribed_as_its_draft_and_unknown_owners_are_refused() {
    let (_dir, lib) = library();
    let draft = recorded_draft(&lib);
    let id = queue_to(&lib, draft.clone(), "bob");
    lib.queue_transcription(&TranscriptOwner::Message(id.clone()), Utc::now())
        .unwrap();
    let stored = lib.transcript_of_message(&id).unwrap().unwrap();
    assert_eq!(stored.owner, TranscriptOwner::Draft(draft.clone()));
    assert_eq!(lib.draft_message_id(&draft).unwrap(), Some(id));
    let stranger = MessageId::parse("5774a9e500000000").unwrap();
    assert!(lib
        .queue_transcription(&TranscriptOwner::Message(stranger), Utc::now())
        .is_err());
    assert!(lib
        .queue_transcription(&TranscriptOwner::Draft("nope".into()), Utc::now())
        .is_err());
}

#[test]
fn received_records_are_kept_once_the_latest_wins_and_strangers_are_ignored() {
    let (_dir, lib) = library();
    let now = Utc::now();
    let m = message("0123456789abcdef", "alice", &["bob"], now);
    lib.store_received(&m, &Receipt::new(m.recipients[0].clone()), now)
        .unwrap();
    let first = record("r000000000000001", &m.id, now);
    let later = record("r000000000000002", &m.id, now + Duration::seconds(5));
    let stranger = record(
        "r000000000000003",
        &MessageId::parse("fedcba9876543210").unwrap(),
        now,
    );
    assert_eq!(
        lib.store_transcript_records(&[first.clone(), stranger], now)
            .unwrap(),
        1
    );
    // Not a job of this machine: the sender's transcript is on its way.
    assert!(lib.queued_transcriptions().unwrap().is_empty());
    let on_its_way = lib.transcript_of_message(&m.id).unwrap().unwrap();
    assert_eq!(on_its_way.origin, Origin::Received);
    assert!(!on_its_way.waits_for_download);
    assert_eq!(
        lib.transcript_records_to_download().unwrap(),
        vec![first.clone()]
    );

    lib.store_received_transcript(&first, &transcript("hello"), now)
        .unwrap();
    assert!(lib.transcript_records_to_download().unwrap().is_empty());
    // Listed again (a folder store): nothing to do.
    assert_eq!(
        lib.store_transcript_records(std::slice::from_ref(&first), now)
            .unwrap(),
        0
    );
    assert!(lib.transcript_records_to_download().unwrap().is_empty());
    // A later record replaces it; an older one afterwards does not.
    assert_eq!(
        lib.store_transcript_records(std::slice::from_ref(&later), now)
            .unwrap(),
        1
    );
    assert_eq!(lib.store_transcript_records(&[first], now).unwrap(), 0);
    assert_eq!(
        lib.transcript_records_to_download().unwrap(),
        vec![later.clone()]
    );
    lib.reject_received_transcript(&later, "not well formed")
        .unwrap();
    assert!(lib.transcript_records_to_download().unwrap().is_empty());
    let kept = lib.transcript_of_message(&m.id).unwrap().unwrap();
    assert_eq!(kept.state, TranscriptState::Done, "the earlier one stays");
    assert_eq!(kept.transcript, Some(transcript("hello")));

    // A message whose only record is unusable says why it has no transcript.
    let n = message("1123456789abcdef", "alice", &["bob"], now);
    lib.store_received(&n, &Receipt::new(n.recipients[0].clone()), now)
        .unwrap();
    let bad = record("r000000000000004", &n.id, now);
    lib.store_transcript_records(std::slice::from_ref(&bad), now)
        .unwrap();
    lib.reject_received_transcript(&bad, "not well formed")
        .unwrap();
    assert_eq!(
        lib.transcript_of_message(&n.id).unwrap().unwrap().state,
        TranscriptState::Failed {
            reason: "not well formed".into()
        }
    );
}
