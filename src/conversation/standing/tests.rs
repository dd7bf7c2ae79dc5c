use super::*;

#[test]
fn deliveries_move_forward_only_and_keep_the_newest() {
    let mut s = Standing::default();
    for i in 0..=MAX_DELIVERIES {
        s.track(&format!("SM{i}"), i as u64);
    }
    assert_eq!(s.deliveries.len(), MAX_DELIVERIES);
    assert_eq!(s.deliveries[0].sid, "SM1");
    assert!(s.update("SM1", "sent", None, 10));
    assert!(s.update("SM1", "delivered", None, 11));
    assert!(
        !s.update("SM1", "sent", None, 12),
        "a late sent does not undo delivered"
    );
    assert!(
        !s.update("SM1", "delivered", None, 13),
        "a repeat changes nothing"
    );
    assert!(!s.update("SM0", "sent", None, 14), "a message not followed");
    assert!(s.update("SM2", "failed", Some(30008), 15));
    assert_eq!(s.deliveries[1].error_code, Some(30008));
    assert_eq!(s.deliveries[0].status, "delivered");
}
