//! Inbox orders, cursors and the long-poll wait.

use super::*;

pub(crate) async fn inbox_orders_cursors_and_wait(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let mut ids = Vec::new();
    // Respond-by order differs from arrival order.
    for (i, hours) in [5i64, 1, 4, 2, 3].iter().enumerate() {
        let mut m = message(&clip, &["bob"], &format!("m{i}"));
        m.respond_by = Utc::now() + chrono::Duration::hours(*hours);
        t.alice.commit_message(&m).await.unwrap();
        ids.push(m.id);
        // Distinct arrival timestamps for the folder store.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let subjects = |es: &[pigeon_store::protocol::InboxEntry]| {
        es.iter()
            .map(|e| e.message.subject.clone())
            .collect::<Vec<_>>()
    };
    // Arrival order, two at a time, following cursors.
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = t
            .bob
            .inbox(&InboxQuery {
                order: InboxOrder::Arrival,
                after: after.clone(),
                limit: 2,
            })
            .await
            .unwrap();
        seen.extend(subjects(&page.entries));
        after = page.next.clone();
        if !page.more {
            break;
        }
    }
    assert_eq!(seen, ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(
        subjects(&inbox_all(&t.bob, InboxOrder::Newest).await),
        ["m4", "m3", "m2", "m1", "m0"]
    );
    assert_eq!(
        subjects(&inbox_all(&t.bob, InboxOrder::RespondBy).await),
        ["m1", "m3", "m4", "m2", "m0"]
    );
    let page = t
        .bob
        .inbox(&InboxQuery {
            order: InboxOrder::RespondBy,
            after: None,
            limit: 2,
        })
        .await
        .unwrap();
    let page2 = t
        .bob
        .inbox(&InboxQuery {
            order: InboxOrder::RespondBy,
            after: page.next,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(subjects(&page2.entries), ["m4", "m2"]);
    // A cursor from another order is refused.
    let bad = t
        .bob
        .inbox(&InboxQuery {
            order: InboxOrder::Newest,
            after: after.clone(),
            limit: 2,
        })
        .await
        .unwrap_err();
    assert_eq!(code(bad), ErrorCode::Invalid);

    // Nothing new: waiting times out with an empty page.
    let started = Instant::now();
    let page = t
        .bob
        .wait_inbox(after.as_ref(), Duration::from_millis(400))
        .await
        .unwrap();
    assert!(page.entries.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(350));

    // A message sent while waiting wakes the waiter promptly.
    let alice = t.alice.clone();
    let late = message(&clip, &["bob"], "late news");
    let late_id = late.id.clone();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        alice.commit_message(&late).await.unwrap();
    });
    let started = Instant::now();
    let page = t
        .bob
        .wait_inbox(after.as_ref(), Duration::from_secs(20))
        .await
        .unwrap();
    sender.await.unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0].message.id, late_id);
    assert!(started.elapsed() < Duration::from_secs(5));
}
