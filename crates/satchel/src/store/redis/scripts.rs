//! The Lua scripts the store runs (the files in `scripts/`; `index.lua`, the per-user index,
//! is put in front of each script that writes a record), and their SHA-1s for `EVALSHA`.

use redis::Script;

/// KEYS: lease, record, [new record]. ARGV: token, op, index prefix, now, [value, ttl ms].
const COMMIT: &str = concat!(
    include_str!("scripts/index.lua"),
    include_str!("scripts/commit.lua")
);

/// KEYS: record. ARGV: value, ttl ms, index prefix, now.
const CREATE: &str = concat!(
    include_str!("scripts/index.lua"),
    include_str!("scripts/create.lua")
);

/// KEYS: records. ARGV: index prefix.
const REVOKE: &str = concat!(
    include_str!("scripts/index.lua"),
    include_str!("scripts/revoke.lua")
);

/// KEYS: a user's set.
const REVOKE_USER: &str = include_str!("scripts/revoke_user.lua");

/// KEYS: lease. ARGV: token, ttl ms.
const RENEW: &str = include_str!("scripts/renew.lua");

const SWEEP: &str = concat!(
    include_str!("scripts/index.lua"),
    include_str!("scripts/sweep.lua")
);

/// KEYS: record. ARGV: wanted idle deadline (20 digits), now, longest TTL in ms, index prefix.
const TOUCH: &str = concat!(
    include_str!("scripts/index.lua"),
    include_str!("scripts/touch.lua")
);

/// The store's Lua scripts, each with its SHA-1.
pub(super) struct Scripts {
    pub(super) commit: Lua,
    pub(super) create: Lua,
    pub(super) renew: Lua,
    pub(super) touch: Lua,
    pub(super) revoke: Lua,
    pub(super) revoke_user: Lua,
    pub(super) sweep: Lua,
}

/// A script's source and its SHA-1 (what `EVALSHA` names it by).
pub(super) struct Lua {
    pub(super) source: &'static str,
    pub(super) hash: String,
}

impl Lua {
    pub(super) fn new(source: &'static str) -> Self {
        let hash = Script::new(source).get_hash().to_owned();
        Lua { source, hash }
    }
}

impl Scripts {
    /// Every script, hashed once per store.
    pub(super) fn new() -> Self {
        Scripts {
            commit: Lua::new(COMMIT),
            create: Lua::new(CREATE),
            renew: Lua::new(RENEW),
            touch: Lua::new(TOUCH),
            revoke: Lua::new(REVOKE),
            revoke_user: Lua::new(REVOKE_USER),
            sweep: Lua::new(SWEEP),
        }
    }
}
