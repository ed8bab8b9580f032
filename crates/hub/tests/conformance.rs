//! The conformance suite: every behaviour of the `Store` trait, run against BOTH the
//! hub (a real `pigeon-hub` process on a loopback port, through `HubClient`) and the
//! folder store.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::*;
use pigeon_store::protocol::{
    BlobKind, ErrorCode, InboxOrder, InboxQuery, RecipientState, Response,
};
use pigeon_store::{BlobUpload, ByteRange, Store, UploadProgress};

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod hub {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::hub_team().await).await;
                }
            )*
        }
        mod folder {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::folder_team().await).await;
                }
            )*
        }
    };
}

both_backends!(
    post_receive_and_download,
    commit_is_idempotent,
    invisible_until_committed_and_to_others,
    growing_file_upload_resumes_from_acknowledged,
    seal_verifies_size_sha256_and_video,
    bad_messages_are_rejected_and_nothing_is_stored,
    inbox_orders_cursors_and_wait,
    receipts_and_threads,
    concurrent_commits_and_appends_make_one_of_each,
    posters_are_small_sealed_images_only_participants_see,
    every_field_is_validated_and_nothing_is_stored,
    a_clip_of_many_tiny_boxes_seals_with_few_reads,
);

fn code(e: pigeon_store::StoreError) -> ErrorCode {
    e.code()
        .unwrap_or_else(|| panic!("expected a refusal, got {e}"))
}

async fn inbox_all(
    store: &Arc<dyn Store>,
    order: InboxOrder,
) -> Vec<pigeon_store::protocol::InboxEntry> {
    store
        .inbox(&InboxQuery {
            order,
            after: None,
            limit: 200,
        })
        .await
        .unwrap()
        .entries
}

async fn post_receive_and_download(t: Team) {
    assert_eq!(t.alice.me().await.unwrap().name.as_str(), "alice");
    let names: Vec<String> = t
        .bob
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name.to_string())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol"]);

    let clip = upload_clip(&t.alice).await;
    let clip_bytes = std::fs::read(test_clip()).unwrap();
    assert_eq!(clip.sha256, sha256_hex(&clip_bytes));
    let doc: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let att = upload_attachment(&t.alice, t.dir.path(), &doc).await;
    let mut m = message(&clip, &["bob", "carol"], "Q3 plan");
    attach(&mut m, &att, "Agenda é.pdf");
    let committed = t.alice.commit_message(&m).await.unwrap();
    assert_eq!(committed.sender.as_str(), "alice");
    assert_eq!(committed.thread, m.id);

    for store in [&t.bob, &t.carol] {
        let entries = inbox_all(store, InboxOrder::Arrival).await;
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.message.id, m.id);
        assert_eq!(e.message.subject, "Q3 plan");
        assert_eq!(e.message.respond_by_tz, "Europe/Berlin");
        assert!(e.receipt.delivered_at.is_some(), "fetching marks delivered");

        let d = store.download(&e.message.clip.id, None).await.unwrap();
        assert_eq!(d.content_type, "video/mp4");
        assert_eq!(d.file_name, None);
        assert_eq!(d.sha256, clip.sha256);
        assert_eq!(sha256_hex(&d.bytes().await.unwrap()), clip.sha256);

        let d = store.download(&att.id, None).await.unwrap();
        assert_eq!(d.file_name.as_deref(), Some("Agenda é.pdf"));
        assert_eq!(d.content_type, "application/pdf");
        assert_eq!(d.bytes().await.unwrap(), doc);

        let r = store
            .download(
                &att.id,
                Some(ByteRange {
                    start: 1000,
                    end: Some(1010),
                }),
            )
            .await
            .unwrap();
        assert_eq!((r.start, r.end, r.size), (1000, 1010, doc.len() as u64));
        assert_eq!(r.bytes().await.unwrap(), &doc[1000..1010]);
        let tail = store
            .download(
                &att.id,
                Some(ByteRange {
                    start: 199_990,
                    end: None,
                }),
            )
            .await
            .unwrap();
        assert_eq!(tail.bytes().await.unwrap(), &doc[199_990..]);
        let err = store
            .download(
                &att.id,
                Some(ByteRange {
                    start: 500_000,
                    end: None,
                }),
            )
            .await
            .unwrap_err();
        assert_eq!(code(err), ErrorCode::RangeNotSatisfiable);
    }
    let status = t.alice.message_status(&m.id).await.unwrap();
    assert!(status
        .receipts
        .iter()
        .all(|r| r.state() == RecipientState::Delivered));
}

async fn commit_is_idempotent(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = message(&clip, &["bob"], "once");
    let first = t.alice.commit_message(&m).await.unwrap();
    let again = t.alice.commit_message(&m).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(inbox_all(&t.bob, InboxOrder::Arrival).await.len(), 1);

    let mut changed = m.clone();
    changed.subject = "different".into();
    assert_eq!(
        code(t.alice.commit_message(&changed).await.unwrap_err()),
        ErrorCode::Conflict
    );
    // Another user reusing the id gets a conflict too, and learns nothing else.
    let bob_clip = upload_clip(&t.bob).await;
    let mut stolen = message(&bob_clip, &["carol"], "mine");
    stolen.id = m.id.clone();
    assert_eq!(
        code(t.bob.commit_message(&stolen).await.unwrap_err()),
        ErrorCode::Conflict
    );
    assert_eq!(inbox_all(&t.bob, InboxOrder::Arrival).await.len(), 1);
    assert!(inbox_all(&t.carol, InboxOrder::Arrival).await.is_empty());
}

async fn invisible_until_committed_and_to_others(t: Team) {
    let clip = upload_clip(&t.alice).await;
    // Uploaded and sealed but not committed: recipients see nothing, cannot fetch it.
    assert!(inbox_all(&t.bob, InboxOrder::Arrival).await.is_empty());
    assert_eq!(
        code(t.bob.download(&clip.id, None).await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(t.bob.blob_status(&clip.id).await.unwrap_err()),
        ErrorCode::NotFound
    );

    let m = message(&clip, &["bob"], "for bob only");
    t.alice.commit_message(&m).await.unwrap();
    assert!(t.bob.download(&clip.id, None).await.is_ok());
    // Carol is neither sender nor recipient: 404 for the message, its blob, its status.
    assert_eq!(
        code(t.carol.message(&m.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(t.carol.download(&clip.id, None).await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(t.carol.message_status(&m.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(t.carol.mark_viewed(&m.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert!(inbox_all(&t.carol, InboxOrder::Arrival).await.is_empty());
    // A guessed id looks exactly like a missing one.
    let missing = t.carol.message(&new_id()).await.unwrap_err();
    let hidden = t.carol.message(&m.id).await.unwrap_err();
    assert_eq!(missing.to_string(), hidden.to_string());
    // Only the sender sees the status.
    assert_eq!(
        code(t.bob.message_status(&m.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
}

async fn growing_file_upload_resumes_from_acknowledged(t: Team) {
    let clip = std::fs::read(test_clip()).unwrap();
    let growing = t.dir.path().join("growing.mp4");
    let seen = Arc::new(Mutex::new(Vec::<UploadProgress>::new()));
    let seen2 = seen.clone();
    let mut up = BlobUpload::start(t.alice.clone(), BlobKind::Clip, "video/mp4")
        .await
        .unwrap()
        .with_chunk_bytes(4096)
        .with_progress(Arc::new(move |p: &UploadProgress| {
            seen2.lock().unwrap().push(p.clone())
        }));
    // The recorder announces fragments of a file that keeps growing.
    let third = clip.len() / 3;
    std::fs::write(&growing, &clip[..third]).unwrap();
    assert_eq!(
        up.send_file_until(&growing, third as u64).await.unwrap(),
        third as u64
    );
    // Announcing the same range again sends nothing.
    assert_eq!(
        up.send_file_until(&growing, third as u64).await.unwrap(),
        third as u64
    );
    std::fs::write(&growing, &clip[..2 * third]).unwrap();
    up.send_file_until(&growing, 2 * third as u64)
        .await
        .unwrap();
    assert!(seen.lock().unwrap().len() >= 2);

    // The app restarts: a fresh upload object asks the store where it stands.
    let id = up.id().clone();
    drop(up);
    let mut resumed = BlobUpload::resume(t.alice.clone(), id.clone())
        .await
        .unwrap();
    assert_eq!(resumed.acknowledged(), 2 * third as u64);
    // A chunk at the wrong offset is refused with advice to resume.
    let err = t
        .alice
        .append_blob(&id, 5, bytes::Bytes::from_static(b"xx"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::OffsetMismatch);

    std::fs::write(&growing, &clip).unwrap();
    let sealed = resumed.seal_file(&growing).await.unwrap();
    assert_eq!(sealed.size, clip.len() as u64);
    assert_eq!(sealed.sha256, sha256_hex(&clip));
    // Sealing again with the same values is a no-op; appending after seal is refused.
    assert_eq!(
        resumed
            .seal(sealed.size, sealed.sha256.clone())
            .await
            .unwrap(),
        sealed
    );
    let err = t
        .alice
        .append_blob(&id, sealed.size, bytes::Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::Conflict);
    let d = t
        .alice
        .download(&id, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(d, clip);
}

async fn seal_verifies_size_sha256_and_video(t: Team) {
    // Wrong sha256 and wrong size.
    let data = b"%PDF-1.7 not really".to_vec();
    let mut up = BlobUpload::start(t.alice.clone(), BlobKind::Attachment, "application/pdf")
        .await
        .unwrap();
    up.send_bytes(0, bytes::Bytes::from(data.clone()))
        .await
        .unwrap();
    let err = up
        .seal(data.len() as u64, sha256_hex(b"other"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::ChecksumMismatch);
    let err = up
        .seal(data.len() as u64 + 1, sha256_hex(&data))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::ChecksumMismatch);
    let err = up
        .seal(data.len() as u64, "not-hex".into())
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::Invalid);

    // A clip that is not a video.
    let mut up = BlobUpload::start(t.alice.clone(), BlobKind::Clip, "video/mp4")
        .await
        .unwrap();
    up.send_bytes(0, bytes::Bytes::from(data.clone()))
        .await
        .unwrap();
    let err = up
        .seal(data.len() as u64, sha256_hex(&data))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotVideo), "{err}");
    let not_video = up.id().clone();

    // An audio-only MP4 is not a video either.
    let audio = t.dir.path().join("audio.mp4");
    let ok = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=d=0.5",
            "-c:a",
            "aac",
            "-f",
            "mp4",
        ])
        .arg(&audio)
        .status()
        .unwrap();
    assert!(ok.success());
    let err = pigeon_store::upload_file(t.alice.clone(), &audio, BlobKind::Clip, "video/mp4", None)
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotVideo);

    // Unsealed and rejected blobs cannot be referenced.
    let m = message_with_clip_id(&not_video, "bob");
    assert_eq!(
        code(t.alice.commit_message(&m).await.unwrap_err()),
        ErrorCode::NotSealed
    );
    assert!(inbox_all(&t.bob, InboxOrder::Arrival).await.is_empty());
}

/// Uploads `bytes` as a poster blob of `content_type` and seals it.
async fn upload_poster(
    store: &Arc<dyn Store>,
    content_type: &str,
    bytes: &[u8],
) -> Result<pigeon_store::protocol::BlobRef, pigeon_store::StoreError> {
    let mut up = BlobUpload::start(store.clone(), BlobKind::Poster, content_type).await?;
    up.send_bytes(0, bytes::Bytes::from(bytes.to_vec())).await?;
    up.seal(bytes.len() as u64, sha256_hex(bytes)).await
}

async fn posters_are_small_sealed_images_only_participants_see(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend((0..20_000u32).map(|i| (i % 253) as u8));
    let poster = upload_poster(&t.alice, "image/jpeg", &jpeg).await.unwrap();
    assert_eq!(poster.kind, BlobKind::Poster);

    // Only an image type, only image bytes, only a small one.
    let err = BlobUpload::start(t.alice.clone(), BlobKind::Poster, "application/pdf")
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotImage);
    let err = upload_poster(&t.alice, "image/jpeg", b"%PDF-1.7 not an image")
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotImage);
    let limits = t.alice.limits().await.unwrap();
    let mut big = jpeg.clone();
    big.resize(limits.max_poster_bytes as usize + 1, 0);
    let err = upload_poster(&t.alice, "image/jpeg", &big)
        .await
        .unwrap_err();
    assert_eq!(
        err.api()
            .and_then(|a| a.limit.as_ref())
            .map(|l| l.limit.as_str()),
        Some("max_poster_bytes"),
        "{err}"
    );

    // A poster must be a sealed poster blob of the sender.
    let mut m = message(&clip, &["bob"], "with a still");
    m.poster = Some(clip.id.clone());
    assert_eq!(
        code(t.alice.commit_message(&m).await.unwrap_err()),
        ErrorCode::Invalid
    );
    let unsealed = BlobUpload::start(t.alice.clone(), BlobKind::Poster, "image/png")
        .await
        .unwrap();
    m.poster = Some(unsealed.id().clone());
    assert_eq!(
        code(t.alice.commit_message(&m).await.unwrap_err()),
        ErrorCode::NotSealed
    );
    let bobs = upload_poster(&t.bob, "image/jpeg", &jpeg).await.unwrap();
    m.poster = Some(bobs.id.clone());
    assert_eq!(
        code(t.alice.commit_message(&m).await.unwrap_err()),
        ErrorCode::NotFound
    );
    assert!(inbox_all(&t.bob, InboxOrder::Arrival).await.is_empty());

    m.poster = Some(poster.id.clone());
    let committed = t.alice.commit_message(&m).await.unwrap();
    assert_eq!(committed.poster.as_ref(), Some(&poster));
    assert_eq!(
        t.alice.commit_message(&m).await.unwrap(),
        committed,
        "idempotent"
    );
    let entries = inbox_all(&t.bob, InboxOrder::Arrival).await;
    assert_eq!(entries[0].message.poster.as_ref(), Some(&poster));
    let d = t.bob.download(&poster.id, None).await.unwrap();
    assert_eq!(d.content_type, "image/jpeg");
    assert_eq!(d.file_name, None);
    assert_eq!(d.bytes().await.unwrap(), jpeg);
    assert_eq!(
        code(t.carol.download(&poster.id, None).await.unwrap_err()),
        ErrorCode::NotFound,
        "not a participant"
    );
}

fn message_with_clip_id(
    id: &pigeon_store::protocol::BlobId,
    to: &str,
) -> pigeon_store::protocol::NewMessage {
    pigeon_store::protocol::NewMessage {
        id: new_id(),
        recipients: vec![user(to)],
        subject: "s".into(),
        text: None,
        clip: id.clone(),
        attachments: vec![],
        poster: None,
        duration_ms: None,
        respond_by: Utc::now() + chrono::Duration::hours(1),
        respond_by_tz: "UTC".into(),
        in_reply_to: None,
    }
}

async fn bad_messages_are_rejected_and_nothing_is_stored(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let limits = t.alice.limits().await.unwrap();

    let mut past = message(&clip, &["bob"], "late");
    past.respond_by = Utc::now() - chrono::Duration::minutes(1);
    assert_eq!(
        code(t.alice.commit_message(&past).await.unwrap_err()),
        ErrorCode::RespondByInPast
    );

    let unknown = message(&clip, &["bob", "mallory"], "who");
    let err = t.alice.commit_message(&unknown).await.unwrap_err();
    assert!(err.to_string().contains("mallory"), "{err}");
    assert_eq!(code(err), ErrorCode::UnknownRecipient);

    let long = message(
        &clip,
        &["bob"],
        &"x".repeat(limits.max_subject_chars as usize + 1),
    );
    let err = t.alice.commit_message(&long).await.unwrap_err();
    let l = err.api().unwrap().limit.clone().unwrap();
    assert_eq!(
        (l.limit.as_str(), l.max, l.actual),
        (
            "max_subject_chars",
            limits.max_subject_chars,
            limits.max_subject_chars + 1
        )
    );

    let many = message(&clip, &["bob", "carol", "alice", "bob"], "crowd");
    let err = t.alice.commit_message(&many).await.unwrap_err();
    assert_eq!(
        err.api().unwrap().limit.as_ref().unwrap().limit,
        "max_recipients"
    );

    let mut atts = message(&clip, &["bob"], "docs");
    let doc = upload_attachment(&t.alice, t.dir.path(), b"doc").await;
    for _ in 0..=limits.max_attachments {
        attach(&mut atts, &doc, "a.pdf");
    }
    let err = t.alice.commit_message(&atts).await.unwrap_err();
    assert_eq!(
        err.api().unwrap().limit.as_ref().unwrap().limit,
        "max_attachments"
    );

    let mut traversal = message(&clip, &["bob"], "names");
    attach(&mut traversal, &doc, "bad\u{0}name");
    assert_eq!(
        code(t.alice.commit_message(&traversal).await.unwrap_err()),
        ErrorCode::Invalid
    );

    // An attachment over the size limit is refused while uploading.
    let mut up = BlobUpload::start(t.alice.clone(), BlobKind::Attachment, "application/pdf")
        .await
        .unwrap();
    let big = vec![7u8; limits.max_attachment_bytes as usize + 1];
    let err = up.send_bytes(0, bytes::Bytes::from(big)).await.unwrap_err();
    let l = err.api().unwrap().limit.clone().unwrap();
    assert_eq!(l.limit, "max_attachment_bytes");
    assert_eq!(l.max, limits.max_attachment_bytes);

    // Someone else's blob cannot be used.
    let bob_doc = upload_attachment(&t.bob, t.dir.path(), b"bob's").await;
    let mut theft = message(&clip, &["carol"], "theft");
    attach(&mut theft, &bob_doc, "x.pdf");
    assert_eq!(
        code(t.alice.commit_message(&theft).await.unwrap_err()),
        ErrorCode::NotFound
    );

    for s in [&t.bob, &t.carol] {
        assert!(inbox_all(s, InboxOrder::Arrival).await.is_empty());
    }
}

async fn inbox_orders_cursors_and_wait(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let mut ids = Vec::new();
    // Respond-by order differs from arrival order.
    for (i, hours) in [5i64, 1, 4, 2, 3].iter().enumerate() {
        let mut m = message(&clip, &["bob"], &format!("m{i}"));
        m.respond_by = Utc::now() + chrono::Duration::hours(*hours);
        t.alice.commit_message(&m).await.unwrap();
        ids.push(m.id);
        // Distinct arrival timestamps for the folder store.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let subjects = |es: &[pigeon_store::protocol::InboxEntry]| {
        es.iter()
            .map(|e| e.message.subject.clone())
            .collect::<Vec<_>>()
    };
    // Arrival order, two at a time, following cursors.
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = t
            .bob
            .inbox(&InboxQuery {
                order: InboxOrder::Arrival,
                after: after.clone(),
                limit: 2,
            })
            .await
            .unwrap();
        seen.extend(subjects(&page.entries));
        after = page.next.clone();
        if !page.more {
            break;
        }
    }
    assert_eq!(seen, ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(
        subjects(&inbox_all(&t.bob, InboxOrder::Newest).await),
        ["m4", "m3", "m2", "m1", "m0"]
    );
    assert_eq!(
        subjects(&inbox_all(&t.bob, InboxOrder::RespondBy).await),
        ["m1", "m3", "m4", "m2", "m0"]
    );
    let page = t
        .bob
        .inbox(&InboxQuery {
            order: InboxOrder::RespondBy,
            after: None,
            limit: 2,
        })
        .await
        .unwrap();
    let page2 = t
        .bob
        .inbox(&InboxQuery {
            order: InboxOrder::RespondBy,
            after: page.next,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(subjects(&page2.entries), ["m4", "m2"]);
    // A cursor from another order is refused.
    let bad = t
        .bob
        .inbox(&InboxQuery {
            order: InboxOrder::Newest,
            after: after.clone(),
            limit: 2,
        })
        .await
        .unwrap_err();
    assert_eq!(code(bad), ErrorCode::Invalid);

    // Nothing new: waiting times out with an empty page.
    let started = Instant::now();
    let page = t
        .bob
        .wait_inbox(after.as_ref(), Duration::from_millis(400))
        .await
        .unwrap();
    assert!(page.entries.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(350));

    // A message sent while waiting wakes the waiter promptly.
    let alice = t.alice.clone();
    let late = message(&clip, &["bob"], "late news");
    let late_id = late.id.clone();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        alice.commit_message(&late).await.unwrap();
    });
    let started = Instant::now();
    let page = t
        .bob
        .wait_inbox(after.as_ref(), Duration::from_secs(20))
        .await
        .unwrap();
    sender.await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].message.id, late_id);
    assert!(started.elapsed() < Duration::from_secs(5));
}

async fn receipts_and_threads(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = message(&clip, &["bob", "carol"], "decide");
    t.alice.commit_message(&m).await.unwrap();
    let status = t.alice.message_status(&m.id).await.unwrap();
    assert!(status
        .receipts
        .iter()
        .all(|r| r.state() == RecipientState::Sent));

    t.bob.message(&m.id).await.unwrap();
    t.bob.mark_viewed(&m.id).await.unwrap();
    // Carol answers with a clip in the thread.
    let carol_clip = upload_clip(&t.carol).await;
    let mut reply = message(&carol_clip, &["alice"], "Re: decide");
    reply.in_reply_to = Some(m.id.clone());
    let reply_msg = t.carol.commit_message(&reply).await.unwrap();
    assert_eq!(reply_msg.thread, m.id);
    // The reply's recipient can read it and its clip.
    assert_eq!(
        t.alice
            .message(&reply.id)
            .await
            .unwrap()
            .in_reply_to
            .as_ref(),
        Some(&m.id)
    );

    let status = t.alice.message_status(&m.id).await.unwrap();
    let by = |n: &str| {
        status
            .receipts
            .iter()
            .find(|r| r.recipient.as_str() == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by("bob").state(), RecipientState::Viewed);
    assert_eq!(by("carol").state(), RecipientState::Responded);
    assert_eq!(
        by("carol").response,
        Some(Response::Reply {
            message: reply.id.clone()
        })
    );

    t.bob.mark_done(&m.id).await.unwrap();
    let status = t.alice.message_status(&m.id).await.unwrap();
    let bob = status
        .receipts
        .iter()
        .find(|r| r.recipient.as_str() == "bob")
        .unwrap();
    assert_eq!(bob.response, Some(Response::Done));
    assert!(bob.viewed_at.is_some());
    // Bob's own inbox shows his state.
    let entries = inbox_all(&t.bob, InboxOrder::Arrival).await;
    assert_eq!(entries[0].receipt.state(), RecipientState::Responded);

    // A reply to a message one cannot see is refused like a missing one.
    let mut sneaky = message(&carol_clip, &["alice"], "Re: ?");
    let private = message(&clip, &["bob"], "private");
    t.alice.commit_message(&private).await.unwrap();
    sneaky.in_reply_to = Some(private.id.clone());
    assert_eq!(
        code(t.carol.commit_message(&sneaky).await.unwrap_err()),
        ErrorCode::NotFound
    );
    // The sender cannot mark her own message viewed.
    assert_eq!(
        code(t.alice.mark_viewed(&m.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
}

async fn concurrent_commits_and_appends_make_one_of_each(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = message(&clip, &["bob"], "raced");
    // The same commit from 8 tasks at once (a retrying outbox on two devices).
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (alice, m) = (t.alice.clone(), m.clone());
        tasks.push(tokio::spawn(async move { alice.commit_message(&m).await }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().unwrap());
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(inbox_all(&t.bob, InboxOrder::Arrival).await.len(), 1);

    // The same chunk appended by 4 tasks at once: the blob ends up with it exactly once.
    let status = t
        .alice
        .create_blob(&pigeon_store::protocol::NewBlob {
            kind: BlobKind::Attachment,
            content_type: "application/pdf".into(),
        })
        .await
        .unwrap();
    let chunk = bytes::Bytes::from(vec![5u8; 100_000]);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (alice, id, chunk) = (t.alice.clone(), status.id.clone(), chunk.clone());
        tasks.push(tokio::spawn(async move {
            alice.append_blob(&id, 0, chunk).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(code(e), ErrorCode::OffsetMismatch),
        }
    }
    assert!(ok >= 1);
    assert_eq!(
        t.alice.blob_status(&status.id).await.unwrap().acknowledged,
        100_000
    );
    let sealed = t
        .alice
        .seal_blob(
            &status.id,
            &pigeon_store::protocol::SealBlob {
                size: 100_000,
                sha256: sha256_hex(&chunk),
            },
        )
        .await
        .unwrap();
    assert_eq!(sealed.size, 100_000);
}

/// Every field of a message is checked by the same rule on both stores: a refusal is
/// `Invalid` with a sentence that says what to change, and nothing is stored.
async fn every_field_is_validated_and_nothing_is_stored(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let doc = upload_attachment(&t.alice, t.dir.path(), b"doc").await;
    let refused = |what: &'static str, m: pigeon_store::protocol::NewMessage| {
        let alice = t.alice.clone();
        async move {
            let err = alice.commit_message(&m).await.unwrap_err();
            let api = err
                .api()
                .unwrap_or_else(|| panic!("{what}: expected a refusal, got {err}"))
                .clone();
            assert_eq!(api.code, ErrorCode::Invalid, "{what}: {}", api.message);
            assert!(
                api.message.contains(": "),
                "{what}: no advice in {:?}",
                api.message
            );
        }
    };

    // A zone of the right shape that does not exist.
    let mut m = message(&clip, &["bob"], "zone");
    m.respond_by_tz = "Mars/Olympus_Mons".into();
    refused("an unknown time zone", m).await;

    // Control characters in text: an escape sequence in the subject, a NUL and a
    // carriage return in the text.
    refused(
        "an escape in the subject",
        message(&clip, &["bob"], "red \u{1b}[31m alert"),
    )
    .await;
    for text in ["nul \u{0} byte", "carriage\rreturn", "bell\u{7}"] {
        let mut m = message(&clip, &["bob"], "text");
        m.text = Some(text.into());
        refused("a control character in the text", m).await;
    }

    // Nonsense numbers and references.
    let mut m = message(&clip, &["bob"], "length");
    m.duration_ms = Some(u64::MAX);
    refused("a clip length of 584 million years", m).await;
    let mut m = message(&clip, &["bob"], "far");
    m.respond_by = Utc::now() + chrono::Duration::days(365 * 100);
    refused("a respond-by a century away", m).await;
    let mut m = message(&clip, &["bob"], "itself");
    m.in_reply_to = Some(m.id.clone());
    refused("a message answering itself", m).await;
    let mut m = message(&clip, &["bob"], "twice");
    attach(&mut m, &doc, "a.pdf");
    attach(&mut m, &doc, "b.pdf");
    refused("one attachment listed twice", m).await;

    // A cursor no store ever made.
    let err = t
        .bob
        .inbox(&InboxQuery {
            order: InboxOrder::Arrival,
            after: Some(pigeon_store::protocol::InboxCursor(format!(
                "a{}",
                "9".repeat(300)
            ))),
            limit: 10,
        })
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::Invalid);

    // Newlines and tabs are text, not control: the same message with them is stored.
    let mut ok = message(&clip, &["bob"], "fine\tsubject");
    ok.text = Some("line one\n\tline two".into());
    ok.duration_ms = Some(61_000);
    t.alice.commit_message(&ok).await.unwrap();
    let entries = inbox_all(&t.bob, InboxOrder::Arrival).await;
    assert_eq!(entries.len(), 1, "only the valid message is stored");
    assert_eq!(entries[0].message.id, ok.id);
}

/// Users are checked alike too: the hub's `user add` and the folder store refuse an
/// unknown zone and a display name with control characters.
#[tokio::test]
async fn users_are_validated_alike_on_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("shared");
    pigeon_store::FolderStore::init(&root, test_limits())
        .await
        .unwrap();
    let hub_data = dir.path().join("hub");
    for (tz, display) in [
        ("Mars/Olympus_Mons", "Dave"),
        ("Europe/Berlin", "Dave\u{1b}[2J"),
    ] {
        let folder = pigeon_store::FolderStore::add_user(
            &root,
            &pigeon_store::protocol::User {
                name: user("dave"),
                display_name: display.into(),
                time_zone: tz.into(),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(code(folder), ErrorCode::Invalid, "{tz} {display:?}");
        let out = std::process::Command::new(HUB_BIN)
            .arg("--data")
            .arg(&hub_data)
            .args(["user", "add", "dave", "--tz", tz, "--display-name", display])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{tz} {display:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("time zone") || stderr.contains("display name"),
            "{stderr}"
        );
    }
    assert!(
        !root.join("users").join("dave.json").exists(),
        "nothing is stored"
    );
}

fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// An MP4 whose video check must walk 150 000 empty boxes before its moov. The seal
/// reads the store in windows instead of once per 8-byte box.
async fn a_clip_of_many_tiny_boxes_seals_with_few_reads(t: Team) {
    let mut clip = mp4_box(b"ftyp", b"isom\0\0\0\0isom");
    for _ in 0..150_000 {
        clip.extend(mp4_box(b"free", b""));
    }
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"vide");
    hdlr.extend_from_slice(&[0u8; 12]);
    clip.extend(mp4_box(
        b"moov",
        &mp4_box(b"trak", &mp4_box(b"mdia", &mp4_box(b"hdlr", &hdlr))),
    ));
    let mut up = BlobUpload::start(t.alice.clone(), BlobKind::Clip, "video/mp4")
        .await
        .unwrap();
    up.send_bytes(0, bytes::Bytes::from(clip.clone()))
        .await
        .unwrap();
    let started = Instant::now();
    let sealed = up.seal(clip.len() as u64, sha256_hex(&clip)).await.unwrap();
    let took = started.elapsed();
    assert_eq!(sealed.size, clip.len() as u64);
    // A read per box took minutes on the hub; windows take well under a second.
    assert!(took < Duration::from_secs(10), "the seal took {took:?}");
}
