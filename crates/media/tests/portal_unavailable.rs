//! Without an X server, the screen can be recorded only through a Wayland
//! session's portal: when the compositor or the portal is missing, the user
//! gets one sentence that says what is missing and what to choose instead.
//! One test: it changes this process's environment step by step.
#![allow(
    clippy::expect_used,
    reason = "test helpers outside #[test] functions: a panic is the test failing"
)]

mod common;
mod portal_session;

use pigeon_media::screen::{list_screens, open_screen, ScreenTarget};
use pigeon_media::MediaError;
use portal_session::WaylandSession;

/// The sentence open_screen and list_screens give; both must be the same
/// ScreenUnavailable sentence.
fn sentence() -> String {
    let opened = open_screen(&ScreenTarget::Screen, 30);
    let listed = list_screens();
    let text = match (opened, listed) {
        (Err(MediaError::ScreenUnavailable(a)), Err(MediaError::ScreenUnavailable(b))) => {
            assert_eq!(a, b);
            a
        }
        (opened, listed) => panic!(
            "expected ScreenUnavailable from both, got {:?} and {:?}",
            opened.err(),
            listed.err()
        ),
    };
    println!("the user is told: {text}");
    assert!(text.ends_with("record the camera instead."), "{text}");
    assert_eq!(text.matches(". ").count(), 0, "one sentence: {text}");
    text
}

#[test]
fn portal_missing_compositor_or_portal_is_one_clear_sentence() {
    common::init_logging();
    let runtime = tempfile::tempdir().expect("tempdir");

    // No X server, no Wayland session at all.
    std::env::remove_var("DISPLAY");
    std::env::remove_var("WAYLAND_DISPLAY");
    let text = sentence();
    assert!(text.contains("WAYLAND_DISPLAY is not set"), "{text}");

    // WAYLAND_DISPLAY names a socket where no compositor listens.
    std::env::set_var("XDG_RUNTIME_DIR", runtime.path());
    std::env::set_var("WAYLAND_DISPLAY", "wayland-nothing");
    let text = sentence();
    assert!(text.contains("no Wayland compositor answers"), "{text}");
    assert!(text.contains("wayland-nothing"), "{text}");

    // A real Wayland session whose bus has no portal.
    let Some(_session) = WaylandSession::start(&["--no-portal"]) else {
        return;
    };
    let text = sentence();
    assert!(text.contains("no screen-sharing portal answers"), "{text}");
    assert!(text.contains("install xdg-desktop-portal"), "{text}");
}
