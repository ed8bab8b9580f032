//! The conformance suite: every behaviour of the `Store` trait, run against BOTH the
//! hub (a real `pigeon-hub` process on a loopback port, through `HubClient`) and the
//! folder store.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blobs;
#[path = "../common/mod.rs"]
mod common;
mod conversation;
mod deadlines;
mod fields;
mod inbox;
mod messages;
mod profiles;
mod reactions;
mod records;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blobs::*;
use chrono::Utc;
use common::*;
use conversation::*;
use deadlines::*;
use fields::*;
use inbox::*;
use messages::*;
use pigeon_store::protocol::{
    BlobKind, ErrorCode, InboxOrder, InboxQuery, RecipientState, Response,
};
use pigeon_store::{BlobUpload, ByteRange, Store, UploadProgress};
use profiles::*;
use reactions::*;
use records::*;

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
    a_transcript_follows_its_message_to_the_recipients,
    only_the_sender_adds_a_transcript_of_their_own,
    a_malformed_transcript_never_seals,
    records_never_come_before_their_message,
    an_old_cursor_without_a_record_position_still_works,
    a_text_answer_needs_no_clip_and_responds,
    a_comment_at_a_moment_is_not_an_answer,
    chapters_round_trip,
    an_older_message_keeps_its_fingerprint,
    bad_answers_are_refused_and_nothing_is_stored,
    reactions_are_the_participants_own,
    a_check_on_an_acknowledge_only_message_is_a_response,
    one_sync_carries_the_reactions_to_what_one_sent,
    a_profile_round_trips_and_the_others_read_it,
    bad_profiles_are_refused_and_nothing_is_stored,
    nobody_changes_anothers_profile,
    each_recipient_has_their_own_deadline_and_more_time,
    deadlines_must_cover_exactly_the_recipients,
);

pub(crate) fn code(e: pigeon_store::StoreError) -> ErrorCode {
    e.code()
        .unwrap_or_else(|| panic!("expected a refusal, got {e}"))
}

pub(crate) async fn inbox_all(
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
