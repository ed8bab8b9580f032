//! The profile over the hub's raw HTTP, as a client of another version sees it:
//! `GET /v1/me` and `GET /v1/users` carry `working_hours` only when set, `PATCH /v1/me`
//! sets them and refuses bad ones with a 422 that stores nothing.
// Helpers of the tests below: a failed step stops the test at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pigeon_store::protocol::{routes, ApiError, ErrorCode};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn me_and_users_carry_working_hours_only_when_set() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start(&dir.path().join("hub"), 0);
    let token = hub.add_user("yuki");
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{}{path}", hub.url))
            .bearer_auth(&token)
            .send()
    };
    let me: Value = get(routes::ME).await.unwrap().json().await.unwrap();
    assert!(
        me.get("working_hours").is_none(),
        "left out when absent: {me}"
    );
    assert!(me.get("time_zone").is_some());

    let hours = json!({
        "time_zone": "Asia/Tokyo",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "spans": [{"start": "10:00", "end": "18:00"}],
    });
    let patch = |body: Value| {
        http.patch(format!("{}{}", hub.url, routes::ME))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let set = patch(json!({"time_zone": "Asia/Tokyo", "working_hours": hours}))
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let me: Value = get(routes::ME).await.unwrap().json().await.unwrap();
    assert_eq!(me["working_hours"], hours);
    assert_eq!(me["time_zone"], "Asia/Tokyo");
    let users: Value = get(routes::USERS).await.unwrap().json().await.unwrap();
    assert_eq!(users[0]["working_hours"], hours);

    for bad in [
        json!({"time_zone": "Asia/Tokyo", "working_hours": {"time_zone": "Asia/Tokyo", "days": [], "spans": [{"start": "10:00", "end": "18:00"}]}}),
        json!({"time_zone": "Asia/Tokyo", "working_hours": {"time_zone": "Asia/Tokyo", "days": ["mon"], "spans": [{"start": "10:00", "end": "25:00"}]}}),
        json!({"time_zone": "Asia/Edo"}),
        json!({"working_hours": hours}),
    ] {
        let resp = patch(bad.clone()).await.unwrap();
        let status = resp.status();
        let err: ApiError = resp.json().await.unwrap();
        assert_eq!(
            (status, err.code),
            (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid),
            "{bad}"
        );
        let after: Value = get(routes::ME).await.unwrap().json().await.unwrap();
        assert_eq!(after["working_hours"], hours, "nothing stored for {bad}");
    }
}
