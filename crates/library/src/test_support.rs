//! Helpers shared by the library's unit tests: users, a recorded draft, a queued message.

use std::time::Duration;

use chrono::Utc;
use pigeon_media::synthetic::SyntheticVideo;
use pigeon_media::{Pacing, Recorder, RecorderConfig};
use pigeon_store::protocol::{MessageId, User, UserName};

use crate::db::{Library, NewOutgoing};

pub fn user(name: &str) -> User {
    User {
        name: UserName::parse(name).unwrap(),
        display_name: name.into(),
        time_zone: "UTC".into(),
    }
}

/// A ready draft with a 1 s synthetic clip (video only, recorded as fast as possible).
pub fn recorded_draft(library: &Library) -> String {
    let draft = library.create_draft(Utc::now()).unwrap();
    let mut config = RecorderConfig::new(&draft.clip_path);
    config.preview = None;
    let video = SyntheticVideo::new(
        320,
        240,
        30,
        Pacing::AsFastAsPossible,
        Some(Duration::from_secs(1)),
    )
    .unwrap();
    let outcome = Recorder::start(config, Box::new(video), None)
        .unwrap()
        .wait()
        .unwrap();
    library
        .finish_draft(&draft.id, outcome.duration, None, false)
        .unwrap();
    draft.id
}

/// Queues `draft` to `recipient`, due in 24 h.
pub fn queue_to(library: &Library, draft: String, recipient: &str) -> MessageId {
    library
        .queue(
            &NewOutgoing {
                draft_id: draft,
                recipients: vec![UserName::parse(recipient).unwrap()],
                subject: "Plan".into(),
                text: None,
                respond_by: Utc::now() + chrono::Duration::hours(24),
                respond_by_tz: "UTC".into(),
                in_reply_to: None,
                attachments: vec![],
            },
            Utc::now(),
        )
        .unwrap()
        .message_id
}
