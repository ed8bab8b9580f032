//! Profiles on both stores: my zone and working hours round trip, the people I write
//! to read them, bad ones are refused with nothing stored, and nobody changes
//! another's.

use chrono::NaiveDate;
use pigeon_store::protocol::hours::{DailySpan, Day, WorkingHours};
use pigeon_store::protocol::{ErrorCode, Profile, ProfileUpdate};

use super::*;

fn tokyo_hours() -> WorkingHours {
    WorkingHours::new(
        "Asia/Tokyo",
        Day::parse_set("mon-fri").unwrap(),
        DailySpan::parse_list("10:00-18:00").unwrap(),
        vec![NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()],
    )
}

fn update(tz: &str, hours: Option<WorkingHours>) -> ProfileUpdate {
    ProfileUpdate {
        time_zone: tz.into(),
        working_hours: hours,
    }
}

async fn profile_of(store: &Arc<dyn Store>, name: &str) -> Profile {
    store.profile(&user(name)).await.unwrap()
}

pub(crate) async fn a_profile_round_trips_and_the_others_read_it(t: Team) {
    let before = profile_of(&t.alice, "alice").await;
    assert_eq!(
        before.working_hours, None,
        "nobody has hours until they set them"
    );
    let set = t
        .alice
        .set_profile(&update("Asia/Tokyo", Some(tokyo_hours())))
        .await
        .unwrap();
    assert_eq!(set.user.name, user("alice"));
    assert_eq!(set.user.time_zone, "Asia/Tokyo");
    assert_eq!(set.working_hours, Some(tokyo_hours()));
    // Mine, as I and as the others read it.
    assert_eq!(profile_of(&t.alice, "alice").await, set);
    assert_eq!(profile_of(&t.bob, "alice").await, set);
    let listed = t.carol.profiles().await.unwrap();
    assert_eq!(
        listed.iter().find(|p| p.user.name == user("alice")),
        Some(&set)
    );
    // The zone is the user's zone everywhere.
    assert_eq!(t.alice.me().await.unwrap().time_zone, "Asia/Tokyo");
    let users = t.bob.users().await.unwrap();
    let alice = users.iter().find(|u| u.name == user("alice")).unwrap();
    assert_eq!(alice.time_zone, "Asia/Tokyo");
    // A change replaces the profile; leaving the hours out clears them.
    let cleared = t
        .alice
        .set_profile(&update("Europe/Berlin", None))
        .await
        .unwrap();
    assert_eq!(cleared.working_hours, None);
    assert_eq!(profile_of(&t.bob, "alice").await, cleared);
    assert_eq!(
        profile_of(&t.bob, "alice").await.user.time_zone,
        "Europe/Berlin"
    );
    // A name that is no user is not found.
    let missing = t.alice.profile(&user("zed")).await.unwrap_err();
    assert_eq!(code(missing), ErrorCode::NotFound);
}

pub(crate) async fn bad_profiles_are_refused_and_nothing_is_stored(t: Team) {
    let good = t
        .bob
        .set_profile(&update("Asia/Tokyo", Some(tokyo_hours())))
        .await
        .unwrap();
    let with = |f: &dyn Fn(&mut WorkingHours)| {
        let mut h = tokyo_hours();
        f(&mut h);
        update("Asia/Tokyo", Some(h))
    };
    let spans = |text: &str| DailySpan::parse_list(text).unwrap();
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let cases: Vec<(&str, ProfileUpdate, ErrorCode, &str)> = vec![
        (
            "unknown zone",
            update("Asia/Edo", None),
            ErrorCode::Invalid,
            "time_zone",
        ),
        (
            "unknown zone of the hours",
            with(&|h| h.time_zone = "Asia/Edo".into()),
            ErrorCode::Invalid,
            "working_hours.time_zone",
        ),
        (
            "hours in another zone",
            update("Europe/Berlin", Some(tokyo_hours())),
            ErrorCode::Invalid,
            "one zone",
        ),
        (
            "no days",
            with(&|h| h.days.clear()),
            ErrorCode::Invalid,
            "working_hours.days",
        ),
        (
            "no spans",
            with(&|h| h.spans.clear()),
            ErrorCode::Invalid,
            "working_hours.spans",
        ),
        (
            "an inverted span",
            with(&|h| h.spans = spans("18:00-10:00")),
            ErrorCode::Invalid,
            "ends before it starts",
        ),
        (
            "an empty span",
            with(&|h| h.spans = spans("10:00-10:00")),
            ErrorCode::Invalid,
            "ends before it starts",
        ),
        (
            "overlapping spans",
            with(&|h| h.spans = spans("09:00-13:00,12:00-18:00")),
            ErrorCode::Invalid,
            "overlap",
        ),
        (
            "too many days off",
            with(&|h| {
                h.days_off = (0..400).map(|i| first + chrono::Days::new(i)).collect();
            }),
            ErrorCode::LimitExceeded,
            "max_days_off",
        ),
    ];
    for (what, bad, expected, says) in cases {
        let refused = t.bob.set_profile(&bad).await.unwrap_err();
        let message = refused.to_string();
        assert_eq!(code(refused), expected, "{what}");
        assert!(message.contains(says), "{what}: {message}");
        assert_eq!(
            profile_of(&t.alice, "bob").await,
            good,
            "{what}: nothing stored"
        );
    }
    assert_eq!(t.bob.me().await.unwrap().time_zone, "Asia/Tokyo");
}

pub(crate) async fn nobody_changes_anothers_profile(t: Team) {
    let bob = t
        .bob
        .set_profile(&update("America/New_York", None))
        .await
        .unwrap();
    // Alice's change is hers alone: bob's and carol's stay as they were.
    let carol = profile_of(&t.carol, "carol").await;
    t.alice
        .set_profile(&update("Asia/Tokyo", Some(tokyo_hours())))
        .await
        .unwrap();
    assert_eq!(profile_of(&t.alice, "bob").await, bob);
    assert_eq!(profile_of(&t.bob, "bob").await, bob);
    assert_eq!(profile_of(&t.alice, "carol").await, carol);
    assert_eq!(
        profile_of(&t.carol, "alice").await.working_hours,
        Some(tokyo_hours())
    );
}
