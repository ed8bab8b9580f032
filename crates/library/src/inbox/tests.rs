//! The inbox sync's tests: posters at once and clips on demand or in the background,
//! a cancelled sync, a sync waiting for the database lock, safe attachment names.

use std::sync::atomic::{AtomicU64, Ordering};

use pigeon_store::protocol::{Limits, NewMessage};
use pigeon_store::FolderStore;

use super::*;
use crate::home::PigeonHome;
use crate::outbox::{Delivery, Outbox};
use crate::test_support::{queue_to, recorded_draft, user, FaultyStore};

/// Alice and Bob on one shared folder, each with a library.
struct Pair {
    _dir: tempfile::TempDir,
    alice: Outbox,
    alice_library: Arc<Library>,
    alice_store: SharedStore,
    bob_library: Arc<Library>,
    bob_store: SharedStore,
}

async fn pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    let alice_store: SharedStore = Arc::new(
        FolderStore::open_or_create(&shared, &user("alice"), Limits::default())
            .await
            .unwrap(),
    );
    let bob_store: SharedStore = Arc::new(
        FolderStore::open_or_create(&shared, &user("bob"), Limits::default())
            .await
            .unwrap(),
    );
    let alice_library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
    let bob_library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("bob"))).unwrap());
    Pair {
        _dir: dir,
        alice: Outbox::new(alice_library.clone(), alice_store.clone()),
        alice_library,
        alice_store,
        bob_library,
        bob_store,
    }
}

async fn send(p: &Pair) -> MessageId {
    let id = queue_to(&p.alice_library, recorded_draft(&p.alice_library), "bob");
    assert!(matches!(
        p.alice.deliver(&id).await.unwrap(),
        Delivery::Sent(_)
    ));
    id
}

#[tokio::test]
async fn a_sync_downloads_posters_at_once_and_clips_only_on_demand() {
    let p = pair().await;
    let with_poster = send(&p).await;
    // A message from a client that sends no poster still arrives and opens.
    let old_draft = p
        .alice_library
        .draft(&recorded_draft(&p.alice_library))
        .unwrap();
    let clip = pigeon_store::upload_file(
        p.alice_store.clone(),
        &old_draft.clip_path,
        pigeon_store::protocol::BlobKind::Clip,
        "video/mp4",
        None,
    )
    .await
    .unwrap();
    let without = MessageId::parse("0ld0c11e7000000000000000").unwrap();
    p.alice_store
        .commit_message(&NewMessage {
            id: without.clone(),
            recipients: vec![user("bob").name],
            subject: "From an older Pigeon".into(),
            text: None,
            clip: Some(clip.id),
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
        })
        .await
        .unwrap();

    let inbox = Inbox::new(p.bob_library.clone(), p.bob_store.clone(), false);
    let report = inbox.sync(Utc::now()).await.unwrap();
    assert_eq!(report.new_messages.len(), 2);
    assert_eq!(report.posters, vec![with_poster.clone()]);
    assert!(report.downloaded.is_empty(), "on demand by default");
    let received = p.bob_library.received(with_poster.as_str()).unwrap();
    let poster = received.poster_path.clone().expect("the poster is local");
    assert!(std::fs::read(&poster)
        .unwrap()
        .starts_with(&[0xFF, 0xD8, 0xFF]));
    assert!(poster.starts_with(p.bob_library.files_dir()));
    assert_eq!(received.clip_path, None, "the clip waits for a fetch");
    assert_eq!(received.downloaded_at, None);
    // A second sync has nothing left to download.
    assert!(inbox.sync(Utc::now()).await.unwrap().posters.is_empty());

    let old = p.bob_library.received(without.as_str()).unwrap();
    assert_eq!(old.poster_path, None);
    let fetched = inbox.fetch(&without, None, Utc::now()).await.unwrap();
    assert!(fetched.poster_path.is_some(), "made from the clip at fetch");
    assert!(fetched.viewed_at.is_some());
    // Fetching keeps the sender's poster rather than making another.
    let fetched = inbox.fetch(&with_poster, None, Utc::now()).await.unwrap();
    assert_eq!(fetched.poster_path, Some(poster));
    assert!(fetched.downloaded_at.is_some());
}

#[tokio::test]
async fn in_the_background_a_sync_downloads_clips_with_progress_without_marking_viewed() {
    let p = pair().await;
    let id = send(&p).await;
    let bytes = Arc::new(AtomicU64::new(0));
    let seen = bytes.clone();
    let inbox = Inbox::new(p.bob_library.clone(), p.bob_store.clone(), false)
        .with_downloads(DownloadPolicy::Background)
        .with_progress(Arc::new(move |progress: &UploadProgress| {
            seen.fetch_max(progress.acknowledged, Ordering::SeqCst);
        }));
    let report = inbox.sync(Utc::now()).await.unwrap();
    assert_eq!(report.downloaded, vec![id.clone()]);
    assert_eq!(report.deferred, None);
    let received = p.bob_library.received(id.as_str()).unwrap();
    assert!(received.downloaded_at.is_some());
    assert!(received.playable_path.as_deref().is_some_and(Path::is_file));
    assert_eq!(received.viewed_at, None, "downloading is not viewing");
    assert_eq!(
        bytes.load(Ordering::SeqCst),
        received.message.clip.as_ref().unwrap().size,
        "progress reached the clip's size"
    );
    // Nothing is downloaded twice; a fetch then only marks it viewed.
    assert!(inbox.sync(Utc::now()).await.unwrap().downloaded.is_empty());
    let fetched = inbox.fetch(&id, None, Utc::now()).await.unwrap();
    assert!(fetched.viewed_at.is_some());
    assert_eq!(fetched.clip_path, received.clip_path);
}

#[tokio::test]
async fn a_cancelled_sync_leaves_what_it_stored_to_be_announced_once() {
    let p = pair().await;
    let id = send(&p).await;
    let bob = FolderStore::open_or_create(
        &p._dir.path().join("shared"),
        &user("bob"),
        Limits::default(),
    )
    .await
    .unwrap();
    let stalling = Arc::new(FaultyStore::new(bob));
    stalling.stall_downloads.store(true, Ordering::SeqCst);
    let inbox = Inbox::new(p.bob_library.clone(), stalling.clone(), false);
    // The sync stores the message, then stalls on its poster: it is cancelled there
    // (the future dropped), as the desktop loop does when it is woken.
    tokio::select! {
        report = inbox.sync(Utc::now()) => panic!("the poster download stalls: {report:?}"),
        () = stalling.download_reached.notified() => {}
    }
    let announced = p.bob_library.take_unannounced().unwrap();
    let ids: Vec<_> = announced.iter().map(|m| m.message.id.clone()).collect();
    assert_eq!(ids, vec![id]);
    assert!(p.bob_library.take_unannounced().unwrap().is_empty());
    // A later sync that finds it again announces nothing twice.
    let inbox = Inbox::new(p.bob_library.clone(), p.bob_store.clone(), false);
    inbox.sync(Utc::now()).await.unwrap();
    assert!(p.bob_library.take_unannounced().unwrap().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_sync_waiting_for_the_database_lock_leaves_the_runtime_free() {
    let p = pair().await;
    let id = send(&p).await;
    // Another process holds bob's write lock until told to let go.
    let (locked_tx, locked) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let path = p._dir.path().join("bob");
    let holder = std::thread::spawn(move || {
        let other = rusqlite::Connection::open(PigeonHome::at(path).database_file()).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        other.execute_batch("COMMIT").unwrap();
    });
    locked.recv().unwrap();
    let inbox = Inbox::new(p.bob_library.clone(), p.bob_store.clone(), false);
    let sync = tokio::spawn(async move { inbox.sync(Utc::now()).await });
    // The one runtime thread still runs other tasks while the sync waits to write.
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the runtime was held for {took:?}"
    );
    if sync.is_finished() {
        panic!("finished: {:?}", sync.await);
    }
    release.send(()).unwrap();
    holder.join().unwrap();
    let report = sync.await.unwrap().unwrap();
    assert_eq!(report.new_messages, vec![id]);
}

#[tokio::test]
async fn a_sync_counts_the_reaction_records_it_stores_a_taken_back_one_too() {
    let p = pair().await;
    let id = send(&p).await;
    let bob_inbox = Inbox::new(p.bob_library.clone(), p.bob_store.clone(), false);
    assert_eq!(bob_inbox.sync(Utc::now()).await.unwrap().new_reactions, 0);
    let bob = Outbox::new(p.bob_library.clone(), p.bob_store.clone());
    let alice_inbox = Inbox::new(p.alice_library.clone(), p.alice_store.clone(), false);
    for removed in [false, true] {
        p.bob_library
            .queue_reaction(&id, "👍", removed, &user("bob").name, Utc::now())
            .unwrap();
        assert_eq!(bob.share_records().await.unwrap(), 1);
        assert_eq!(
            alice_inbox.sync(Utc::now()).await.unwrap().new_reactions,
            1,
            "removed: {removed}"
        );
        // A folder is listed from the start each time: what is stored counts once.
        assert_eq!(alice_inbox.sync(Utc::now()).await.unwrap().new_reactions, 0);
        // Taking one back is no news: only the count says that what shows has changed.
        let news = p
            .alice_library
            .take_unannounced_reactions(&user("alice").name)
            .unwrap();
        assert_eq!(news.len(), usize::from(!removed), "{news:?}");
    }
    assert!(p.alice_library.reactions_of(&id).unwrap().is_empty());
}

#[test]
fn attachment_names_cannot_escape_the_folder() {
    assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
    assert_eq!(safe_file_name("agenda.pdf"), "agenda.pdf");
    assert_eq!(safe_file_name(".."), "attachment");
}

#[tokio::test]
async fn a_sync_counts_only_the_sent_messages_whose_receipts_changed() {
    let p = pair().await;
    send(&p).await;
    let alice = Inbox::new(p.alice_library.clone(), p.alice_store.clone(), true);
    let bob = Inbox::new(p.bob_library.clone(), p.bob_store.clone(), true);
    let now = Utc::now();
    alice.sync(now).await.unwrap();
    assert_eq!(
        alice.sync(now).await.unwrap().refreshed_sent,
        0,
        "nothing changed since the last sync"
    );
    bob.sync(now).await.unwrap();
    assert_eq!(
        alice.sync(now).await.unwrap().refreshed_sent,
        1,
        "bob's device fetched it"
    );
    assert_eq!(alice.sync(now).await.unwrap().refreshed_sent, 0);
}
