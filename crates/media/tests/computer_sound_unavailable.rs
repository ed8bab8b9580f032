//! With no sound server, asking for computer sound says so in one sentence
//! instead of failing later or hanging.

use pigeon_media::computer_sound::ComputerSound;
use pigeon_media::MediaError;

#[test]
fn computer_sound_without_a_sound_server_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-server-here");
    // The only test in this binary, so changing the environment races nothing.
    std::env::set_var("PULSE_SERVER", format!("unix:{}", missing.display()));
    let started = std::time::Instant::now();
    let err = match ComputerSound::open(None) {
        Ok(_) => panic!("opened computer sound with no server"),
        Err(e) => e,
    };
    println!("{err} (after {:?})", started.elapsed());
    assert!(
        matches!(err, MediaError::ComputerSoundUnavailable(_)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Computer sound cannot be recorded: no PulseAudio or PipeWire sound server is running; record without computer sound, or start the sound server."
    );
}
