//! Profiles in the folder store: each change of a user's zone and working hours is a
//! new file `profiles/NAME/MS-ID.json` (a [`ProfileUpdate`]), written once under a
//! temporary name like every file here, and the latest by name is the profile. A user
//! who never set one has the zone of `users/NAME.json` and no working hours.
//!
//! Not here: who may see a profile (everyone in the folder may) or what the hours mean.

use std::path::PathBuf;

use pigeon_protocol::{check_profile_update, Profile, ProfileUpdate, User, UserName};

use super::files::{list_names, now, read_json, write_json_new};
use super::Folder;
use crate::StoreError;

impl Folder {
    fn profile_dir(&self, name: &UserName) -> PathBuf {
        self.root.join("profiles").join(name.as_str())
    }

    /// The latest profile change `name` made, if any.
    fn latest_profile_update(&self, name: &UserName) -> Result<Option<ProfileUpdate>, StoreError> {
        let dir = self.profile_dir(name);
        // Names start with the zero-padded time, so the greatest is the latest.
        let latest = list_names(&dir)?
            .into_iter()
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .max();
        match latest {
            Some(file) => read_json(&dir.join(file)),
            None => Ok(None),
        }
    }

    /// `user` with their latest profile change applied.
    pub(super) fn profile_of(&self, user: User) -> Result<Profile, StoreError> {
        let update = self.latest_profile_update(&user.name)?;
        let profile = Profile::of(user);
        Ok(match update {
            Some(update) => profile.updated(&update),
            None => profile,
        })
    }

    pub(super) fn profiles(&self) -> Result<Vec<Profile>, StoreError> {
        self.users()?
            .into_iter()
            .map(|user| self.profile_of(user))
            .collect()
    }

    /// Keeps a change of my own profile after checking it; a refused one writes nothing.
    pub(super) fn set_profile(&self, update: &ProfileUpdate) -> Result<Profile, StoreError> {
        check_profile_update(update)?;
        let me = &self.me.name;
        let file = format!(
            "{:016}-{}.json",
            now().timestamp_millis().max(0),
            uuid::Uuid::new_v4().simple()
        );
        write_json_new(&self.profile_dir(me).join(file), update)?;
        self.profile_of(self.me.clone())
    }
}
