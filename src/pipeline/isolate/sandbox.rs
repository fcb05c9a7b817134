//! Confining a decoder process with Landlock before it reads any video: it may read files (its
//! input, shared libraries) but not write, create, rename or remove any (Linux ≥ 5.13), neither
//! connect nor bind TCP sockets (Linux ≥ 6.7), nor signal processes or reach abstract UNIX
//! sockets outside its sandbox (Linux ≥ 6.12). A decoder exploited by a hostile video can then
//! only send bytes back on its pipe, which the main process reads as frames.
//!
//! Best effort: on an older kernel the parts it lacks are left out, and [`confine`] says which
//! status the kernel gave.

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetError, RulesetStatus, Scope, ABI,
};

/// The newest Landlock ABI whose rights were reviewed for decoder processes.
const REVIEWED_ABI: ABI = ABI::V6;

/// Restricts this process (call it before starting any thread: the restriction covers the
/// calling thread and the threads it starts afterwards). Returns how much the kernel enforces.
pub fn confine() -> Result<RulesetStatus, RulesetError> {
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(REVIEWED_ABI))?
        .handle_access(AccessNet::from_all(REVIEWED_ABI))?
        .scope(Scope::from_all(REVIEWED_ABI))?
        .create()?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(REVIEWED_ABI)))?
        .restrict_self()?;
    Ok(status.ruleset)
}
