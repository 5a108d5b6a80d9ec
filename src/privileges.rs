//! carbon.conf's `USER`: started as root, carbon binds its ports and then runs as that
//! user, so its files belong to the account the packaging made for it (`_graphite` on
//! Debian). Charcoal does the same: the user is looked up before anything is touched (a
//! name that does not exist is refused at once), the ports are bound, the few things
//! created as root (the storage directory if it was missing, its lock file, the pid file)
//! are handed to the user, and the whole process switches to it before the store opens.
//!
//! glibc's `setuid` and `setgid` apply to every thread of the process (the async runtime's
//! threads already exist), which is why this goes through `nix`'s libc calls rather than a
//! raw system call, which would switch the calling thread alone.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use nix::unistd::{Gid, Uid, User};

/// The account to run as.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl Account {
    /// Looks `name` up in the system's user database.
    pub(crate) fn lookup(name: &str) -> Result<Account> {
        match User::from_name(name) {
            Ok(Some(u)) => Ok(Account {
                name: u.name,
                uid: u.uid.as_raw(),
                gid: u.gid.as_raw(),
            }),
            Ok(None) => bail!("USER = {name} in carbon.conf: there is no such user"),
            Err(e) => Err(e).with_context(|| format!("cannot look up USER = {name}")),
        }
    }
}

/// Whether the process must switch to `account`: only root can, and a process already
/// running as it has nothing to do. A non-root process asked to switch to another user
/// goes on as itself, with a warning (as carbon does when its operator starts it by hand).
pub(crate) fn must_switch(account: &Account) -> bool {
    let me = Uid::current().as_raw();
    if me == account.uid {
        return false;
    }
    if me != 0 {
        tracing::warn!(
            user = %account.name,
            "USER in carbon.conf is ignored: only a server started as root can switch users"
        );
        return false;
    }
    true
}

/// Gives `paths` (which root may just have created) to `account`.
pub(crate) fn hand_over(paths: &[PathBuf], account: &Account) -> Result<()> {
    for p in paths {
        rustix::fs::chown(
            p.as_path(),
            Some(rustix::fs::Uid::from_raw(account.uid)),
            Some(rustix::fs::Gid::from_raw(account.gid)),
        )
        .with_context(|| format!("cannot give {} to USER {}", p.display(), account.name))?;
    }
    Ok(())
}

/// Runs the whole process as `account` from now on (groups, then group, then user: the
/// other order would leave no right to change the groups).
pub(crate) fn switch_to(account: &Account) -> Result<()> {
    let gid = Gid::from_raw(account.gid);
    let uid = Uid::from_raw(account.uid);
    let context = || format!("cannot switch to USER {}", account.name);
    nix::unistd::setgroups(&[gid]).with_context(context)?;
    nix::unistd::setgid(gid).with_context(context)?;
    nix::unistd::setuid(uid).with_context(context)?;
    if Uid::effective() != uid || Uid::current() != uid {
        bail!("{}: still running as uid {}", context(), Uid::effective());
    }
    Ok(())
}
