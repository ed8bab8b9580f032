//! Posting, reading, idempotent commits, refusals, receipts and threads.

use super::*;

pub(crate) async fn post_receive_and_download(t: Team) {
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

        let d = store
            .download(&e.message.clip.as_ref().unwrap().id, None)
            .await
            .unwrap();
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

pub(crate) async fn commit_is_idempotent(t: Team) {
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

pub(crate) async fn invisible_until_committed_and_to_others(t: Team) {
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

pub(crate) fn message_with_clip_id(
    id: &pigeon_store::protocol::BlobId,
    to: &str,
) -> pigeon_store::protocol::NewMessage {
    pigeon_store::protocol::NewMessage {
        id: new_id(),
        recipients: vec![user(to)],
        subject: "s".into(),
        text: None,
        clip: Some(id.clone()),
        attachments: vec![],
        poster: None,
        duration_ms: None,
        respond_by: Utc::now() + chrono::Duration::hours(1),
        respond_by_tz: "UTC".into(),
        in_reply_to: None,
        at_ms: None,
        chapter: None,
        chapters: vec![],
        acknowledge_only: false,
        deadlines: vec![],
        working_hours_each: None,
    }
}

pub(crate) async fn bad_messages_are_rejected_and_nothing_is_stored(t: Team) {
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

pub(crate) async fn receipts_and_threads(t: Team) {
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

pub(crate) async fn concurrent_commits_and_appends_make_one_of_each(t: Team) {
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
