//! Without an X server and without a Wayland session, every screen call says
//! in one sentence what is missing and what to choose instead. The check runs
//! in a child process of this test binary, started without DISPLAY and
//! WAYLAND_DISPLAY (changing the environment of a running test is unsound).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

use pigeon_media::screen::{list_screens, open_screen, thumbnail, ScreenTarget};
use pigeon_media::MediaError;

const CHILD: &str = "PIGEON_SCREEN_UNAVAILABLE_CHILD";

#[test]
fn screen_without_x_server_or_wayland_says_what_is_missing() {
    if std::env::var_os(CHILD).is_some() {
        let expected = "No screen can be recorded: there is no X server (DISPLAY is not set) \
                        and there is no Wayland session (WAYLAND_DISPLAY is not set); record the camera instead.";
        for result in [
            list_screens().map(|_| ()),
            open_screen(&ScreenTarget::Screen, 30).map(|_| ()),
            thumbnail(&ScreenTarget::Screen, 320).map(|_| ()),
        ] {
            match result {
                Err(MediaError::ScreenUnavailable(text)) => assert_eq!(text, expected),
                Err(other) => panic!("wrong error: {other}"),
                Ok(()) => panic!("a screen without a display"),
            }
        }
        println!("{expected}");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "screen_without_x_server_or_wayland_says_what_is_missing",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    println!("{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the check without a display failed");
    assert!(
        said.contains("record the camera instead"),
        "the child did not run the check"
    );
}

#[test]
fn screen_with_an_x_server_that_does_not_answer_says_so() {
    if std::env::var_os(CHILD).is_some() {
        match list_screens() {
            Err(MediaError::ScreenUnavailable(text)) => {
                assert!(
                    text.starts_with("No screen can be recorded: the X server :4087")
                        && text.ends_with("record the camera instead."),
                    "{text}"
                );
                println!("{text}");
            }
            other => panic!("wrong answer: {other:?}"),
        }
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "screen_with_an_x_server_that_does_not_answer_says_so",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("DISPLAY", ":4087")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    println!("{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the check with a silent display failed"
    );
    assert!(said.contains("record the camera instead"));
}
