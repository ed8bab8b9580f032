//! Blob uploads, seals, posters.

use super::*;

pub(crate) async fn growing_file_upload_resumes_from_acknowledged(t: Team) {
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

pub(crate) async fn seal_verifies_size_sha256_and_video(t: Team) {
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
pub(crate) async fn upload_poster(
    store: &Arc<dyn Store>,
    content_type: &str,
    bytes: &[u8],
) -> Result<pigeon_store::protocol::BlobRef, pigeon_store::StoreError> {
    let mut up = BlobUpload::start(store.clone(), BlobKind::Poster, content_type).await?;
    up.send_bytes(0, bytes::Bytes::from(bytes.to_vec())).await?;
    up.seal(bytes.len() as u64, sha256_hex(bytes)).await
}

pub(crate) async fn posters_are_small_sealed_images_only_participants_see(t: Team) {
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

pub(crate) fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// An MP4 whose video check must walk 150 000 empty boxes before its moov. The seal
/// reads the store in windows instead of once per 8-byte box.
pub(crate) async fn a_clip_of_many_tiny_boxes_seals_with_few_reads(t: Team) {
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
