//! What the app says about its versions and its hub's (Settings › About,
//! `pigeon --version` prints the release): one sentence about whether they can talk.

use pigeon_store::protocol::{HubVersion, PROTOCOL};

/// This build's release, e.g. `0.1.0`.
pub const RELEASE: &str = env!("CARGO_PKG_VERSION");

/// How the app and its hub get along, in one sentence.
pub fn hub_compatibility(hub: Option<&HubVersion>) -> String {
    let Some(hub) = hub else {
        return format!(
            "The hub is from before hubs named their version (Pigeon 0.1, protocol 1): this app ({RELEASE}, protocol {PROTOCOL}) uses what it supports."
        );
    };
    if hub.oldest_client_protocol > PROTOCOL {
        // A protocol newer than this build: its release is not known here.
        return format!(
            "The hub ({}) needs a newer Pigeon than this one (protocol {} or later; this app speaks {PROTOCOL}): update Pigeon to keep using it.",
            hub.hub, hub.oldest_client_protocol
        );
    }
    if hub.protocol < PROTOCOL {
        return format!(
            "The hub ({}, protocol {}) is older than this app (protocol {PROTOCOL}): what it lacks says so when you use it; ask whoever runs it to update it.",
            hub.hub, hub.protocol
        );
    }
    format!(
        "The hub runs Pigeon {} (protocol {}): this app ({RELEASE}, protocol {PROTOCOL}) speaks it.",
        hub.hub, hub.protocol
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(protocol: u32, oldest: u32) -> HubVersion {
        HubVersion {
            hub: "9.9.9".into(),
            protocol,
            oldest_client_protocol: oldest,
        }
    }

    #[test]
    fn each_case_is_one_sentence_saying_what_to_do() {
        assert!(hub_compatibility(Some(&hub(PROTOCOL, 1))).contains("speaks it"));
        assert!(hub_compatibility(Some(&hub(PROTOCOL + 1, PROTOCOL + 1)))
            .contains("needs a newer Pigeon than this one"));
        assert!(hub_compatibility(None).contains("before hubs named their version"));
        for text in [hub_compatibility(None), hub_compatibility(Some(&hub(1, 1)))] {
            assert_eq!(text.matches(". ").count(), 0, "{text}");
            assert!(text.ends_with('.'));
        }
    }
}
