//! The recording's tests: a stop that returns while the hub stalls, chapters marked
//! along an agenda or numbered, a screen recording's controls (synthetic sources).

use std::path::Path;

use pigeon_store::protocol::Limits;
use pigeon_store::{FolderStore, HubClient};

use super::*;
use crate::db::DraftState;
use crate::home::PigeonHome;
use crate::outbox::Delivery;
use crate::test_support::{queue_to, until_recorded, user};

/// A hub address that accepts connections and never answers: a hub stalling
/// mid-request.
fn stalling_hub() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_returns_in_seconds_while_the_hub_stalls_and_the_draft_is_sent_later() {
    let dir = tempfile::tempdir().unwrap();
    let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
    let (_listener, url) = stalling_hub();
    let hub = Outbox::new(
        library.clone(),
        Arc::new(HubClient::new(&url, "token").unwrap()),
    );
    let recording = Recording::start(
        library.clone(),
        Some(hub),
        &Sources::synthetic(),
        &RecordingOptions::default(),
    )
    .unwrap();
    // Stop once a fragment is on disk: there is something to upload.
    let id = recording.draft_id().to_owned();
    while library.draft(&id).unwrap().clip_announced == 0 {
        tokio::task::yield_now().await;
        std::thread::yield_now();
    }
    let started = std::time::Instant::now();
    let stopped = tokio::time::timeout(Duration::from_secs(60), recording.stop()).await;
    let took = started.elapsed();
    let recorded = stopped.expect("stop hung on the stalling hub").unwrap();
    assert!(
        took < STOP_WAITS_FOR_UPLOAD + Duration::from_secs(5),
        "stop took {took:?}"
    );
    let draft = recorded.draft;
    assert_eq!(draft.state, DraftState::Ready);
    assert!(draft.duration.is_some_and(|d| d > Duration::ZERO));
    assert!(draft.clip_path.is_file());

    // Later, with a store that answers, the draft is delivered whole.
    match delivered_to_bob(dir.path(), &library, &draft.id).await {
        Delivery::Sent(m) => {
            assert_eq!(
                m.clip.as_ref().unwrap().size,
                std::fs::metadata(&draft.clip_path).unwrap().len()
            )
        }
        other => panic!("the draft is delivered later: {other:?}"),
    }
}

/// Queues `draft` from alice to bob, both on a folder under `dir`, and delivers it.
async fn delivered_to_bob(dir: &Path, library: &Arc<Library>, draft: &str) -> Delivery {
    let shared = dir.join("shared");
    let alice = FolderStore::open_or_create(&shared, &user("alice"), Limits::default())
        .await
        .unwrap();
    FolderStore::open_or_create(&shared, &user("bob"), Limits::default())
        .await
        .unwrap();
    let outbox = Outbox::new(library.clone(), Arc::new(alice));
    let message = queue_to(library, draft.to_owned(), "bob");
    outbox.deliver(&message).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn chapters_marked_along_the_agenda_are_in_the_draft_and_the_delivered_message() {
    let dir = tempfile::tempdir().unwrap();
    let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
    let agenda = crate::chapters::parse_agenda("Budget, Hiring,Q3");
    let recording = Recording::start(
        library.clone(),
        None,
        &Sources::synthetic(),
        &RecordingOptions::default(),
    )
    .unwrap()
    .with_agenda(agenda);
    let id = recording.draft_id().to_owned();
    let budget = Chapter {
        start_ms: 0,
        title: "Budget".into(),
    };
    assert_eq!(recording.chapters(), std::slice::from_ref(&budget));
    assert_eq!(library.draft(&id).unwrap().chapters, [budget]);

    until_recorded(&recording, 700).await;
    // Paused, the clip's time stands still: a second mark is at the same moment.
    recording.recorder().pause();
    let started = std::time::Instant::now();
    while !recording.recorder().is_paused() {
        assert!(started.elapsed() < Duration::from_secs(30), "no pause");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hiring = recording.next_chapter().unwrap();
    assert_eq!(hiring.title, "Hiring");
    assert!(hiring.start_ms >= 700, "{hiring:?}");
    let refused = recording.next_chapter().unwrap_err().to_string();
    assert!(
        refused.contains("chapter 2 (Hiring) began less than half a second ago"),
        "{refused}"
    );
    // Saved at once: a crash now keeps them.
    assert_eq!(library.draft(&id).unwrap().chapters, recording.chapters());
    recording.recorder().resume();

    until_recorded(&recording, hiring.start_ms + 600).await;
    let q3 = recording.next_chapter().unwrap();
    assert_eq!(q3.title, "Q3");
    until_recorded(&recording, q3.start_ms + 600).await;
    // Past the agenda: numbered items.
    assert_eq!(recording.next_chapter().unwrap().title, "Item 4");
    let marked = recording.chapters();
    let draft = recording.stop().await.unwrap().draft;
    assert_eq!(draft.chapters, marked);
    let titles: Vec<_> = draft.chapters.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Budget", "Hiring", "Q3", "Item 4"]);
    let length = draft.duration.unwrap().as_millis() as u64;
    assert!(crate::chapters::check(&draft.chapters, Some(length)).is_ok());

    match delivered_to_bob(dir.path(), &library, &draft.id).await {
        Delivery::Sent(m) => assert_eq!(m.chapters, marked),
        other => panic!("the draft is delivered: {other:?}"),
    }
    let refused = library.set_draft_chapters(&draft.id, &[]).unwrap_err();
    assert!(
        matches!(refused, LibraryError::AlreadyQueued { .. }),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_mark_without_an_agenda_makes_two_numbered_items() {
    let dir = tempfile::tempdir().unwrap();
    let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
    let recording = Recording::start(
        library.clone(),
        None,
        &Sources::synthetic(),
        &RecordingOptions::default(),
    )
    .unwrap();
    assert!(recording.chapters().is_empty());
    until_recorded(&recording, 600).await;
    let second = recording.next_chapter().unwrap();
    assert_eq!(second.title, "Item 2");
    let titles: Vec<_> = recording
        .chapters()
        .into_iter()
        .map(|c| (c.start_ms == 0, c.title))
        .collect();
    assert_eq!(
        titles,
        [(true, "Item 1".to_owned()), (false, "Item 2".to_owned())]
    );
    recording.discard().unwrap();
}

/// Under scripts/test-env: its virtual display and output.
#[tokio::test(flavor = "multi_thread")]
async fn a_screen_recording_with_a_bubble_and_computer_sound_hands_out_their_controls() {
    let dir = tempfile::tempdir().unwrap();
    let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
    let sources = Sources::Devices {
        video: VideoChoice::Screen {
            target: pigeon_media::screen::ScreenTarget::Screen,
            bubble: Some(Bubble {
                camera: Box::new(VideoChoice::TestPattern),
                style: Default::default(),
            }),
        },
        audio: AudioChoice::TestTone,
        computer_sound: true,
        levels: MixGains {
            microphone: 1.0,
            computer: 0.25,
        },
    };
    let options = RecordingOptions {
        quality: QualityPreset::Low,
        ..RecordingOptions::default()
    };
    let recording = Recording::start(library.clone(), None, &sources, &options).unwrap();
    let bubble = recording.bubble().expect("the bubble can be moved");
    bubble.set_corner(pigeon_media::composite::Corner::TopLeft);
    let levels = recording.mix_levels().expect("the mix has levels");
    assert_eq!(
        levels.computer(),
        0.25,
        "the mix starts at the chosen level"
    );
    levels.set_computer(0.5);
    assert_eq!(levels.computer(), 0.5);
    until_recorded(&recording, 1_000).await;
    let draft = recording.stop().await.unwrap().draft;
    let clip = pigeon_media::probe(&draft.clip_path).unwrap();
    let video = clip.video().unwrap();
    // The screen's quality, not the 480p asked for the camera.
    assert_eq!((video.width, video.height), (1920, 1080), "{clip:?}");
    assert!(clip.streams.len() == 2, "{clip:?}");

    let camera = Sources::synthetic();
    let recording = Recording::start(library, None, &camera, &options).unwrap();
    assert!(recording.bubble().is_none() && recording.mix_levels().is_none());
    recording.discard().unwrap();
}
