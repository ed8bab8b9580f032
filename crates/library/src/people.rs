//! People: user names as users type them, the recipients of a message, and whom
//! a user can send to.

use pigeon_store::protocol::{Message, User, UserName};

/// Why typed names were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeopleError {
    #[error("{text:?} is not a user name: {reason}")]
    NotAUserName { text: String, reason: String },
    #[error("no recipient was given: name at least one person to send to")]
    NoRecipients,
}

/// A user name as someone typed it: surrounding spaces dropped, case folded.
pub fn user_name(text: &str) -> Result<UserName, PeopleError> {
    UserName::parse(text.trim().to_lowercase()).map_err(|e| PeopleError::NotAUserName {
        text: text.to_owned(),
        reason: e.0,
    })
}

/// The recipients of a message from what was typed or picked: each item may itself be
/// a comma-separated list ("bob, carol"); empty pieces are skipped, a name given twice
/// counts once, the order is kept. At least one is required.
pub fn recipients<S: AsRef<str>>(items: &[S]) -> Result<Vec<UserName>, PeopleError> {
    let mut names: Vec<UserName> = Vec::new();
    for piece in items.iter().flat_map(|item| item.as_ref().split(',')) {
        if piece.trim().is_empty() {
            continue;
        }
        let name = user_name(piece.trim())?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(PeopleError::NoRecipients);
    }
    Ok(names)
}

/// Whom `me` can send to: every other user of the store, by name.
pub fn others(mut users: Vec<User>, me: &str) -> Vec<User> {
    users.retain(|u| u.name.as_str() != me);
    users.sort_by(|a, b| a.name.cmp(&b.name));
    users
}

/// Names as a sentence lists them: "bob", "bob and yuki", "bob, carol and yuki".
pub fn joined(names: &[UserName]) -> String {
    let names: Vec<&str> = names.iter().map(UserName::as_str).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Whom a reply goes to: the original's sender and its other recipients, without me,
/// each once, in that order.
pub fn reply_all(original: &Message, me: &UserName) -> Vec<UserName> {
    let mut names: Vec<UserName> = Vec::new();
    for name in std::iter::once(&original.sender).chain(&original.recipients) {
        if name != me && !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[UserName]) -> Vec<&str> {
        list.iter().map(UserName::as_str).collect()
    }

    #[test]
    fn names_are_trimmed_and_lowercased() {
        assert_eq!(user_name("  Bob ").unwrap().as_str(), "bob");
        let error = user_name("bob smith").unwrap_err();
        assert!(matches!(error, PeopleError::NotAUserName { .. }));
        assert!(
            error
                .to_string()
                .contains("\"bob smith\" is not a user name"),
            "{error}"
        );
        assert!(error.to_string().contains("lowercase letters"), "{error}");
    }

    #[test]
    fn a_recipient_list_is_split_deduplicated_and_required() {
        assert_eq!(
            names(&recipients(&["bob, Carol"]).unwrap()),
            ["bob", "carol"]
        );
        assert_eq!(
            names(&recipients(&["bob", " carol ", "BOB", ""]).unwrap()),
            ["bob", "carol"]
        );
        assert_eq!(recipients::<&str>(&[]), Err(PeopleError::NoRecipients));
        assert_eq!(recipients(&[" , "]), Err(PeopleError::NoRecipients));
        assert!(matches!(
            recipients(&["bob, no body"]),
            Err(PeopleError::NotAUserName { text, .. }) if text == "no body"
        ));
    }

    #[test]
    fn a_reply_goes_to_the_sender_and_the_other_recipients_once_without_me() {
        let mut original = crate::test_messages::message(
            "0123456789abcdef",
            "alice",
            &["bob", "carol"],
            chrono::Utc::now(),
        );
        let me = UserName::parse("bob").unwrap();
        assert_eq!(names(&reply_all(&original, &me)), ["alice", "carol"]);
        // My own message: the reply goes to its recipients.
        let alice = UserName::parse("alice").unwrap();
        assert_eq!(names(&reply_all(&original, &alice)), ["bob", "carol"]);
        original.recipients.push(UserName::parse("alice").unwrap());
        original.recipients.push(UserName::parse("carol").unwrap());
        assert_eq!(names(&reply_all(&original, &me)), ["alice", "carol"]);
    }

    #[test]
    fn others_leaves_me_out_sorted_by_name() {
        let user = |name: &str| User {
            name: UserName::parse(name).unwrap(),
            display_name: name.to_uppercase(),
            time_zone: "UTC".into(),
        };
        let listed = others(vec![user("carol"), user("alice"), user("bob")], "alice");
        let listed: Vec<_> = listed.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(listed, ["bob", "carol"]);
    }
}
