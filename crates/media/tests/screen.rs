//! The X11 screen source against a real X server (Xvfb of scripts/test-env):
//! run with `scripts/test-env cargo nextest run -p pigeon-media --test screen`.
//! The tests share one display; nextest's `display` group runs them one at a
//! time.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

mod screen_support;

use pigeon_media::screen::{list_screens, thumbnail, ScreenTarget};
use screen_support::*;

#[test]
fn screen_capture_matches_a_screenshot_of_the_display() {
    require_display();
    let _shown = ShownPicture::show("Agenda", 200, 150);
    // The cursor goes where nothing but the root's plain background is.
    move_pointer(1900, 1060);
    let capture = Capture::start(&ScreenTarget::Screen, 30);
    let mut notices = Vec::new();
    let frame = capture.fresh_frame(&mut notices);
    capture.stop();
    let shot = screenshot();
    assert_eq!((frame.width, frame.height), (shot.width, shot.height));
    let captured = Rgb::of_bgr0(&frame);
    let db = psnr(&captured, &shot);
    println!("PSNR of the captured screen against `import -window root`: {db:.2} dB");
    assert!(db >= 30.0, "PSNR {db:.2} dB is under 30 dB");
    assert!(notices.is_empty(), "unexpected notices: {notices:?}");
}

#[test]
fn screen_list_names_the_screen_its_monitor_and_a_window_with_a_title_and_thumbnails_keep_the_aspect(
) {
    require_display();
    let shown = ShownPicture::show("Quarterly plan", 300, 200);
    let choices = list_screens().expect("list screens");
    println!("{choices:#?}");
    let (w, h) = display_size();
    let screen = &choices[0];
    assert_eq!(screen.target, ScreenTarget::Screen);
    assert_eq!((screen.width, screen.height), (w, h));
    let monitors: Vec<_> = choices
        .iter()
        .filter(|c| matches!(c.target, ScreenTarget::Monitor(_)))
        .collect();
    assert!(!monitors.is_empty(), "no RandR monitor listed: {choices:?}");
    assert_eq!(monitors[0].target, ScreenTarget::Monitor(0));
    assert!(!monitors[0].name.is_empty());
    let window = choices
        .iter()
        .find(|c| c.name == "Quarterly plan")
        .expect("the test window is listed by its title");
    assert_eq!(window.target, ScreenTarget::Window(shown.window));
    assert_eq!((window.width, window.height), PICTURE_SIZE);
    // Windows without a title (ImageMagick's hidden helpers) are not listed.
    assert!(choices.iter().all(|c| !c.name.is_empty()));

    let thumb = thumbnail(&ScreenTarget::Screen, 320).expect("screen thumbnail");
    assert_eq!(thumb.width, 320);
    assert_eq!(thumb.height, (320 * h + w / 2) / w);
    assert_eq!(thumb.rgb.len(), (thumb.width * thumb.height * 3) as usize);
    let thumb = thumbnail(&window.target, 320).expect("window thumbnail");
    assert_eq!((thumb.width, thumb.height), (320, 200));
    // The red block (top left quarter of the picture) shows in the thumbnail.
    let at = ((40 * thumb.width + 60) * 3) as usize;
    assert!(
        close(&thumb.rgb[at..at + 3], &BLOCKS[0].4, 12),
        "thumbnail pixel {:?} is not the red block",
        &thumb.rgb[at..at + 3]
    );
    // Never scaled up.
    let thumb = thumbnail(&window.target, 4000).expect("window thumbnail");
    assert_eq!((thumb.width, thumb.height), PICTURE_SIZE);
}

#[test]
fn screen_capture_draws_the_cursor_where_the_pointer_is() {
    require_display();
    let shown = ShownPicture::show("Cursor board", 100, 100);
    // Over the middle of the red block.
    let (bx, by, bw, bh, red) = BLOCKS[0];
    let (px, py) = (
        shown.x + (bx + bw / 2) as i32,
        shown.y + (by + bh / 2) as i32,
    );
    move_pointer(px, py);
    let capture = Capture::start(&ScreenTarget::Screen, 30);
    let mut notices = Vec::new();
    let picture = Rgb::of_bgr0(&capture.fresh_frame(&mut notices));
    capture.stop();
    let shot = screenshot();
    // Within 24 px of the pointer, the cursor covers red pixels the
    // screenshot (which has no cursor) shows as red.
    let near = |x: i32, y: i32| (x - px).abs() <= 24 && (y - py).abs() <= 24;
    let (mut covered, mut stray) = (0, 0);
    for y in (py - 60)..(py + 60) {
        for x in (px - 60)..(px + 60) {
            let (x, y) = (x as u32, y as u32);
            assert!(
                close(&shot.pixel(x, y), &red, 0),
                "the screenshot is red here"
            );
            if !close(&picture.pixel(x, y), &red, 2) {
                if near(x as i32, y as i32) {
                    covered += 1;
                } else {
                    stray += 1;
                }
            }
        }
    }
    println!("cursor pixels near the pointer: {covered}, elsewhere: {stray}");
    assert!(
        covered >= 20,
        "no cursor drawn at the pointer ({covered} pixels)"
    );
    assert_eq!(stray, 0, "pixels changed away from the pointer");

    // It follows the pointer: the old place is red again.
    move_pointer(px + 100, py);
    let capture = Capture::start(&ScreenTarget::Screen, 30);
    let picture = Rgb::of_bgr0(&capture.fresh_frame(&mut notices));
    capture.stop();
    assert!(close(&picture.pixel(px as u32, py as u32), &red, 2));
    assert!(!close(&picture.pixel(px as u32 + 100, py as u32), &red, 2));
}

#[test]
fn screen_window_target_shows_the_window_and_holds_its_last_picture_once_it_closes() {
    require_display();
    let mut shown = ShownPicture::show("Budget review", 420, 260);
    move_pointer(5, 5);
    let capture = Capture::start(&ScreenTarget::Window(shown.window), 30);
    let mut notices = Vec::new();
    let first = Rgb::of_bgr0(&capture.fresh_frame(&mut notices));
    assert_eq!((first.width, first.height), PICTURE_SIZE);
    let expected = screenshot().crop(
        shown.x as u32,
        shown.y as u32,
        PICTURE_SIZE.0,
        PICTURE_SIZE.1,
    );
    let db = psnr(&first, &expected);
    println!("PSNR of the captured window against the screenshot's crop: {db:.2} dB");
    assert!(db >= 30.0, "window PSNR {db:.2} dB");
    for (x, y, w, h, colour) in BLOCKS {
        assert!(close(&first.pixel(x + w / 2, y + h / 2), &colour, 2));
    }

    shown.close();
    // Frames go on, each the last picture, and one notice says why.
    let closed_at = capture.clock.now();
    let mut after = 0;
    while after < 30 {
        match capture.next() {
            Delivered::Notice(text) => notices.push(text),
            Delivered::Frame(frame) => {
                if frame.captured_at > closed_at {
                    after += 1;
                    assert_eq!((frame.width, frame.height), PICTURE_SIZE);
                }
                if !notices.is_empty() {
                    let held = Rgb::of_bgr0(&frame);
                    assert!(
                        psnr(&held, &first) >= 30.0,
                        "a held frame is not the last picture"
                    );
                }
            }
        }
    }
    capture.stop();
    println!("notices: {notices:?}");
    assert_eq!(notices.len(), 1, "exactly one notice: {notices:?}");
    assert!(
        notices[0].contains("Budget review") && notices[0].contains("closed"),
        "{}",
        notices[0]
    );
}

#[test]
fn screen_resized_mid_recording_gives_pictures_of_the_new_size_and_one_notice() {
    require_display();
    let size = ScreenSize::take();
    let (w, h) = size.original();
    let capture = Capture::start(&ScreenTarget::Screen, 30);
    let mut notices = Vec::new();
    let first = capture.fresh_frame(&mut notices);
    assert_eq!((first.width, first.height), (w, h));
    size.set(1280, 720);
    let mut frame = capture.fresh_frame(&mut notices);
    while (frame.width, frame.height) != (1280, 720) {
        frame = capture.fresh_frame(&mut notices);
    }
    assert_eq!(frame.data.len(), 1280 * 720 * 4);
    // The next picture or two bring the notice (it is sent before the picture).
    for _ in 0..3 {
        capture.next_frame(&mut notices);
    }
    println!("notices: {notices:?}");
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(
        notices[0],
        "The screen changed size to 1280x720; the recording goes on, scaled into the same frame."
    );
    let shot = screenshot();
    assert_eq!((shot.width, shot.height), (1280, 720));
    let db = psnr(&Rgb::of_bgr0(&capture.fresh_frame(&mut notices)), &shot);
    println!("PSNR at 1280x720: {db:.2} dB");
    assert!(db >= 30.0);
    drop(size);
    let back = capture.fresh_frame(&mut notices);
    let mut back = back;
    while (back.width, back.height) != (w, h) {
        back = capture.fresh_frame(&mut notices);
    }
    capture.stop();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices[1].contains(&format!("{w}x{h}")));
}
